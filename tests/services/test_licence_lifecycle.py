"""The licence lifecycle in the services: suspend, reinstate, revoke (issuing agency only, idempotent, history,
holder told), expiry and renewal reminders (periodic, once), renewal and amendment superseding the old licence."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services import clock
from services.applications.service import submit_application
from services.errors import InvalidTransition, PermissionDenied, ValidationFailed
from services.identity.models import Account
from services.jobs.models import OutboxJob
from services.licences.credentials import jwks, verify_credential
from services.licences.demo import _decide_open_tasks, demo_answers
from services.licences.lifecycle import (
    change_status,
    expire_due_licences,
    issue_amended_version,
    licence_for_clerk,
    licence_history,
    request_amendment,
    search_agency_licences,
    send_renewal_reminders,
)
from services.licences.models import Licence, LicenceAction, LicenceEvent, LicenceStatus
from services.licences.service import issue_licence, licences_expiring_within
from services.licences.signing import validate_licence_signature
from services.notifications.models import Notification
from tests.services.test_credentials import issue_demo_licence
from workflows.models import Branch
from workflows.states import BranchState

PERMIT_ANSWERS = demo_answers("residence_permit")


def account(db, local_part: str) -> Account:
    return db.scalar(select(Account).where(Account.email == f"{local_part}@demo.onewindow.test"))


def notices(db, account_id: int, kind: str) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.account_id == account_id,
                                                      Notification.kind == kind)))


@pytest.fixture
def licence(app, db):
    return issue_demo_licence(app, db, "resident")


def cmd() -> str:
    return uuid.uuid4().hex


def test_suspend_reinstate_revoke_with_history_and_notices(db, licence):
    police, resident = account(db, "clerk.police"), account(db, "resident")
    change_status(db, police, licence.id, LicenceAction.SUSPEND, reason="核查中", command_id=cmd())
    assert licence.status == LicenceStatus.SUSPENDED and licence.status_reason == "核查中"
    change_status(db, police, licence.id, LicenceAction.REINSTATE, reason="核查完毕", command_id=cmd())
    assert licence.status == LicenceStatus.VALID and licence.status_reason is None
    change_status(db, police, licence.id, LicenceAction.REVOKE, reason="以欺骗手段取得", command_id=cmd())
    assert licence.status == LicenceStatus.REVOKED and licence.status_reason == "以欺骗手段取得"

    history = licence_history(db, licence)
    assert [e.action for e in history] == [LicenceAction.ISSUE, LicenceAction.SUSPEND, LicenceAction.REINSTATE,
                                           LicenceAction.REVOKE]
    revoke = history[-1]
    assert (revoke.actor_id, revoke.from_status, revoke.to_status, revoke.reason) == (
        police.id, LicenceStatus.VALID, LicenceStatus.REVOKED, "以欺骗手段取得")
    assert revoke.at is not None and history[0].actor_id is None
    assert len(notices(db, resident.id, "licence_suspended")) == 1
    assert notices(db, resident.id, "licence_revoked")[0].params == {"number": licence.number,
                                                                     "reason": "以欺骗手段取得"}
    # A revoked licence stays revoked.
    for action in (LicenceAction.REINSTATE, LicenceAction.SUSPEND, LicenceAction.REVOKE):
        with pytest.raises(InvalidTransition):
            change_status(db, police, licence.id, action, reason="x", command_id=cmd())


def test_the_same_command_twice_changes_the_licence_once(db, licence):
    police = account(db, "clerk.police")
    command_id = cmd()
    for _ in range(2):
        change_status(db, police, licence.id, LicenceAction.SUSPEND, reason="核查中", command_id=command_id)
    assert db.scalar(select(func.count()).select_from(LicenceEvent).where(
        LicenceEvent.licence_id == licence.id, LicenceEvent.action == LicenceAction.SUSPEND)) == 1
    assert len(notices(db, account(db, "resident").id, "licence_suspended")) == 1
    # The same id for another change is refused rather than silently ignored.
    with pytest.raises(InvalidTransition):
        change_status(db, police, licence.id, LicenceAction.REINSTATE, reason="x", command_id=command_id)


def test_only_the_issuing_agencys_clerks_may_change_a_licence(db, licence):
    for who in ("clerk.market", "clerk.hub", "resident", "supervisor", "admin"):
        with pytest.raises(PermissionDenied):
            change_status(db, account(db, who), licence.id, LicenceAction.REVOKE, reason="x", command_id=cmd())
        with pytest.raises(PermissionDenied):
            request_amendment(db, account(db, who), licence.id, holder_name="王八", scope="", reason="x",
                              command_id=cmd())
    with pytest.raises(PermissionDenied):
        licence_for_clerk(db, account(db, "clerk.market"), licence.number)
    assert licence_for_clerk(db, account(db, "clerk.police"), licence.number.lower()).id == licence.id
    assert licence.status == LicenceStatus.VALID


def test_a_reason_is_required(db, licence):
    police = account(db, "clerk.police")
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(ValidationFailed):
            change_status(db, police, licence.id, LicenceAction.SUSPEND, reason=reason, command_id=cmd())
    assert licence.status == LicenceStatus.VALID


def test_a_clerk_finds_their_agencys_licences_by_number_holder_or_identifier(db, licence):
    police, market = account(db, "clerk.police"), account(db, "clerk.market")
    assert licence in search_agency_licences(db, police, licence.number.lower())
    assert licence in search_agency_licences(db, police, "张")
    assert licence in search_agency_licences(db, police, "440106198803151235")
    # Issue 19, point 11: typed with spaces or in full width, the identifier is the same (one normal form).
    assert licence in search_agency_licences(db, police, "440106 19880315 1235")
    assert licence in search_agency_licences(db, police, "４４０１０６１９８８０３１５１２３５")
    full_width_number = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in licence.number)
    assert licence in search_agency_licences(db, police, full_width_number)
    assert licence in search_agency_licences(db, police, "")
    assert licence not in search_agency_licences(db, police, "李四")
    assert licence not in search_agency_licences(db, market, licence.number)
    assert search_agency_licences(db, police, "%_\\") == []  # LIKE wildcards are taken literally
    with pytest.raises(PermissionDenied):
        search_agency_licences(db, account(db, "resident"), "")


def test_expiry_sweep_marks_once_with_history_and_a_notice(db, licence):
    last_day = licence.valid_until
    assert expire_due_licences(db, last_day) == 0  # valid through its last day
    assert expire_due_licences(db, last_day + dt.timedelta(days=1)) == 1
    assert expire_due_licences(db, last_day + dt.timedelta(days=2)) == 0
    db.refresh(licence)
    assert licence.status == LicenceStatus.EXPIRED
    assert [e.action for e in licence_history(db, licence)][-1] == LicenceAction.EXPIRE
    assert notices(db, account(db, "resident").id, "licence_expired")[0].params["valid_until"] == \
        last_day.isoformat()
    # Expired licences can still be revoked, not suspended.
    police = account(db, "clerk.police")
    with pytest.raises(InvalidTransition):
        change_status(db, police, licence.id, LicenceAction.SUSPEND, reason="x", command_id=cmd())
    change_status(db, police, licence.id, LicenceAction.REVOKE, reason="违法", command_id=cmd(),
                  today=last_day + dt.timedelta(days=2))


def test_renewal_reminder_goes_out_once_30_days_before(db, licence):
    resident = account(db, "resident")
    last_day = licence.valid_until
    assert send_renewal_reminders(db, last_day - dt.timedelta(days=31)) == 0
    assert licences_expiring_within(db, resident, today=last_day - dt.timedelta(days=31)) == []
    assert licences_expiring_within(db, resident, today=last_day - dt.timedelta(days=30)) == [licence]
    assert send_renewal_reminders(db, last_day - dt.timedelta(days=30)) == 1
    assert send_renewal_reminders(db, last_day - dt.timedelta(days=29)) == 0
    assert send_renewal_reminders(db, last_day) == 0
    assert len(notices(db, resident.id, "licence_renewal_due")) == 1
    db.refresh(licence)
    assert licence.renewal_reminder_sent_at is not None
    assert licences_expiring_within(db, account(db, "resident2"), today=last_day - dt.timedelta(days=3)) == []


def _approve_renewal(app, db, old: Licence) -> Licence:
    resident = account(db, "resident")
    application = submit_application(db, resident, "residence_permit", answers=PERMIT_ANSWERS, uploads=[],
                                     submission_token=uuid.uuid4().hex, storage_dir=Path(app.config["UPLOAD_DIR"]),
                                     renews_licence_id=old.id)
    assert application.renews_licence_id == old.id
    assert licences_expiring_within(db, resident, today=old.valid_until - dt.timedelta(days=5)) == []
    _decide_open_tasks(db, application.workflow_instance_id, clock.today())
    branch = db.scalar(select(Branch).where(Branch.instance_id == application.workflow_instance_id,
                                            Branch.state == BranchState.APPROVED))
    return issue_licence(db, branch_id=branch.id, key_dir=Path(app.config["KEY_DIR"]),
                         public_url=app.config["PUBLIC_URL"])


def test_a_renewed_licence_supersedes_the_old_one(app, db, licence):
    new = _approve_renewal(app, db, licence)
    db.refresh(licence)
    assert new.number != licence.number and new.supersedes_id == licence.id
    assert licence.status == LicenceStatus.SUPERSEDED and new.number in licence.status_reason
    assert new.status == LicenceStatus.VALID
    assert notices(db, account(db, "resident").id, "licence_superseded")[0].params["new_number"] == new.number
    # Issuing again (a retried job) changes nothing.
    again = issue_licence(db, branch_id=new.branch_id, key_dir=Path(app.config["KEY_DIR"]),
                          public_url=app.config["PUBLIC_URL"])
    assert again.id == new.id


def test_an_amendment_issues_a_new_signed_version_that_supersedes(app, db, licence):
    police = account(db, "clerk.police")
    command_id = cmd()
    with pytest.raises(ValidationFailed):  # nothing would change
        request_amendment(db, police, licence.id, holder_name=licence.holder_name, scope=licence.scope,
                          reason="更正", command_id=cmd())
    event = request_amendment(db, police, licence.id, holder_name="张三丰", scope="居住地：广州市越秀区",
                              reason="姓名更正", command_id=command_id)
    assert request_amendment(db, police, licence.id, holder_name="张三丰", scope="居住地：广州市越秀区",
                             reason="姓名更正", command_id=command_id).id == event.id
    with pytest.raises(InvalidTransition):  # one amendment at a time
        request_amendment(db, police, licence.id, holder_name="张三风", scope="", reason="x", command_id=cmd())
    assert db.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.name == "amend_licence")) >= 1

    key_dir = Path(app.config["KEY_DIR"])
    new = issue_amended_version(db, event_id=event.id, key_dir=key_dir, public_url=app.config["PUBLIC_URL"])
    assert issue_amended_version(db, event_id=event.id, key_dir=key_dir,
                                 public_url=app.config["PUBLIC_URL"]).id == new.id
    db.refresh(licence)
    assert licence.status == LicenceStatus.SUPERSEDED and new.number in licence.status_reason
    assert (new.holder_name, new.scope, new.supersedes_id, new.branch_id) == (
        "张三丰", "居住地：广州市越秀区", licence.id, None)
    assert (new.valid_from, new.valid_until) == (licence.valid_from, licence.valid_until)
    assert new.pdf != licence.pdf and new.key_id
    assert validate_licence_signature(new.pdf, key_dir, "police", new.key_id)["valid"]
    credential = verify_credential(new.credential_jws, jwks(key_dir, ["police"]))
    assert credential["credentialSubject"]["licenceNumber"] == new.number
    assert credential["credentialSubject"]["name"] == "张*丰"


def test_an_amendment_waiting_for_its_job_is_dropped_if_the_licence_is_revoked_meanwhile(app, db, licence):
    police = account(db, "clerk.police")
    event = request_amendment(db, police, licence.id, holder_name="张三丰", scope="", reason="更正",
                              command_id=cmd())
    change_status(db, police, licence.id, LicenceAction.REVOKE, reason="违法", command_id=cmd())
    assert issue_amended_version(db, event_id=event.id, key_dir=Path(app.config["KEY_DIR"]),
                                 public_url=app.config["PUBLIC_URL"]) is None
    assert db.scalar(select(Licence).where(Licence.supersedes_id == licence.id)) is None


def test_a_dropped_amendment_does_not_block_the_next_one(app, db, licence):
    police = account(db, "clerk.police")
    event = request_amendment(db, police, licence.id, holder_name="张三丰", scope="", reason="更正",
                              command_id=cmd())
    change_status(db, police, licence.id, LicenceAction.SUSPEND, reason="核查", command_id=cmd())
    assert issue_amended_version(db, event_id=event.id, key_dir=Path(app.config["KEY_DIR"]),
                                 public_url=app.config["PUBLIC_URL"]) is None
    change_status(db, police, licence.id, LicenceAction.REINSTATE, reason="核查完毕", command_id=cmd())
    again = request_amendment(db, police, licence.id, holder_name="张三丰", scope="", reason="更正",
                              command_id=cmd())
    assert again.id != event.id
