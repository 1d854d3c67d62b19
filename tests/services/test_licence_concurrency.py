"""Real concurrency on PostgreSQL for the licence lifecycle: one clerk command posted twice at the same instant
changes the licence once; two different commands at once leave one consistent result; two sweeps at once expire
a licence once. Rows are committed from several threads and deleted afterwards (tests/workflows/test_concurrency's
Ledger), so these skip on SQLite like the engine's concurrency tests."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import delete, func, select

from services import clock
from services.applications.service import submit_application
from services.errors import InvalidTransition
from services.identity.models import Account
from services.licences.demo import _decide_open_tasks, demo_answers
from services.licences.lifecycle import change_status, expire_due_licences
from services.licences.models import Licence, LicenceAction, LicenceEvent, LicenceStatus
from services.licences.service import issue_licence
from services.notifications.models import Notification
from tests.workflows.test_concurrency import ledger, postgres, race  # noqa: F401  (fixtures)
from workflows.models import Branch
from workflows.states import BranchState

PERMIT_ANSWERS = demo_answers("residence_permit")


def committed_licence(app, ledger) -> int:  # noqa: F811
    """A residence permit issued through the real services and committed; its case is the ledger's to delete."""
    with ledger.Session() as session:
        resident = session.scalar(select(Account).where(Account.email == "resident@demo.onewindow.test"))
        application = submit_application(session, resident, "residence_permit", answers=PERMIT_ANSWERS, uploads=[],
                                         submission_token=uuid.uuid4().hex,
                                         storage_dir=Path(app.config["UPLOAD_DIR"]))
        ledger.applications.add(application.id)
        session.commit()
        _decide_open_tasks(session, application.workflow_instance_id, clock.today())
        branch = session.scalar(select(Branch).where(Branch.instance_id == application.workflow_instance_id,
                                                     Branch.state == BranchState.APPROVED))
        licence = issue_licence(session, branch_id=branch.id, key_dir=Path(app.config["KEY_DIR"]),
                                public_url=app.config["PUBLIC_URL"])
        session.commit()
        return licence.id


def forget_lifecycle_notices(ledger) -> None:  # noqa: F811
    # The ledger removes notices that name a case reference; the lifecycle's name only the licence.
    with ledger.Session.begin() as session:
        session.execute(delete(Notification).where(Notification.id > ledger.notification_floor,
                                                   Notification.kind.like("licence\\_%", escape="\\"),
                                                   Notification.kind != "licence_issued"))


def clerk_id(ledger) -> int:  # noqa: F811
    with ledger.Session() as session:
        return session.scalar(select(Account.id).where(Account.email == "clerk.police@demo.onewindow.test"))


def suspend(clerk: int, licence_id: int, command_id: str):
    def call(session):
        return change_status(session, session.get(Account, clerk), licence_id, LicenceAction.SUSPEND,
                             reason="核查", command_id=command_id).status
    return call


def test_one_command_posted_twice_at_once_changes_the_licence_once(app, ledger):  # noqa: F811
    licence_id = committed_licence(app, ledger)
    try:
        command_id = uuid.uuid4().hex
        clerk = clerk_id(ledger)
        outcomes, _gated = race(ledger, [suspend(clerk, licence_id, command_id)] * 2)
        assert outcomes == [("ok", LicenceStatus.SUSPENDED)] * 2, outcomes
        with ledger.Session() as session:
            assert session.scalar(select(func.count()).select_from(LicenceEvent).where(
                LicenceEvent.command_id == command_id)) == 1
            assert session.scalar(select(func.count()).select_from(Notification).where(
                Notification.kind == "licence_suspended", Notification.id > ledger.notification_floor)) == 1

        # Two different suspensions of a valid licence at once: one suspends, the other finds it suspended.
        with ledger.Session() as session:
            change_status(session, session.get(Account, clerk), licence_id, LicenceAction.REINSTATE, reason="完毕",
                          command_id=uuid.uuid4().hex)
            session.commit()
        outcomes, _gated = race(ledger, [suspend(clerk, licence_id, uuid.uuid4().hex),
                                         suspend(clerk, licence_id, uuid.uuid4().hex)])
        assert sorted(kind for kind, _result in outcomes) == ["error", "ok"], outcomes
        assert all(isinstance(result, InvalidTransition) for kind, result in outcomes if kind == "error")
    finally:
        forget_lifecycle_notices(ledger)


def test_two_sweeps_at_once_expire_a_licence_once(app, ledger):  # noqa: F811
    licence_id = committed_licence(app, ledger)
    try:
        with ledger.Session() as session:
            after = session.get(Licence, licence_id).valid_until + dt.timedelta(days=1)
        outcomes, _gated = race(ledger, [lambda session: expire_due_licences(session, after)] * 2)
        assert sorted(outcomes) == [("ok", 0), ("ok", 1)], outcomes
        with ledger.Session() as session:
            assert session.get(Licence, licence_id).status == LicenceStatus.EXPIRED
            assert session.scalar(select(func.count()).select_from(LicenceEvent).where(
                LicenceEvent.licence_id == licence_id, LicenceEvent.action == LicenceAction.EXPIRE)) == 1
            assert session.scalar(select(func.count()).select_from(Notification).where(
                Notification.kind == "licence_expired", Notification.id > ledger.notification_floor)) == 1
    finally:
        forget_lifecycle_notices(ledger)
