"""Supplements, pauses and extensions through the real pages, with authority checked in the service layer."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from services.applications.decisions import decide_extension
from services.errors import PermissionDenied
from services.identity.models import Account
from tests.app.test_slice import PDF, apply_for_restaurant, open_task_id
from tests.conftest import hidden_fields
from workflows.models import Branch, Request, Task
from workflows.states import BranchState, RequestState


@pytest.fixture
def accepted_case(client, sign_in_as):
    sign_in_as("owner")
    response, _ = apply_for_restaurant(client)
    reference = response.headers["Location"].split("/cases/")[1].split("/")[0]
    sign_in_as("clerk.hub")
    task_id = open_task_id(client, reference)
    form = hidden_fields(client.get(f"/work/tasks/{task_id}").get_data(as_text=True))
    client.post(f"/work/tasks/{task_id}", data=form | {"outcome": "accept", "confirmed": "yes"})
    return reference


def post_decision(client, task_id, **fields):
    form = hidden_fields(client.get(f"/work/tasks/{task_id}").get_data(as_text=True))
    return client.post(f"/work/tasks/{task_id}", data=form | {"confirmed": "yes"} | fields)


def branch_of(db, task_id) -> Branch:
    db.expire_all()
    return db.get(Task, task_id).branch


def test_supplement_loop(client, db, sign_in_as, accepted_case):
    sign_in_as("clerk.market")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, accepted_case)
    empty = post_decision(client, task_id, outcome="supplement", items="  ")
    assert empty.status_code == 400 and "List every missing material" in empty.get_data(as_text=True)
    sent = post_decision(client, task_id, outcome="supplement", items="Floor plan with kitchen layout\nHealth certs")
    assert sent.status_code == 302 and branch_of(db, task_id).state == BranchState.WAITING_APPLICANT

    sign_in_as("owner")
    client.set_cookie("lang", "en")
    page = client.get(f"/me/cases/{accepted_case}").get_data(as_text=True)
    assert "Floor plan with kitchen layout" in page and "Health certs" in page
    action = re.search(r'href="(/me/cases/[^"]+/requests/\d+/answer)"', page).group(1)
    form = hidden_fields(client.get(action).get_data(as_text=True))
    nothing = client.post(action, data=form, content_type="multipart/form-data")
    assert nothing.status_code == 400 and "Upload at least one file" in nothing.get_data(as_text=True)
    form["item_1"] = [(io.BytesIO(PDF), "plan.pdf")]
    form["item_2"] = [(io.BytesIO(PDF), "certs.pdf")]
    answered = client.post(action, data=form, content_type="multipart/form-data")
    assert answered.status_code == 302
    branch = branch_of(db, task_id)
    assert branch.state == BranchState.ACTIVE
    request = db.scalar(select(Request).where(Request.branch_id == branch.id))
    assert request.state == RequestState.ANSWERED
    assert len(db.get(Task, task_id).instance.branches) == 4
    sign_in_as("resident2")
    assert client.post(action, data=hidden_fields(client.get("/me/").get_data(as_text=True))).status_code == 404


def test_pause_and_resume(client, db, sign_in_as, accepted_case):
    sign_in_as("clerk.fire")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, accepted_case)
    missing = post_decision(client, task_id, outcome="pause", opinion="Fire load test")
    assert missing.status_code == 400 and 'href="#expected_days"' in missing.get_data(as_text=True)
    assert post_decision(client, task_id, outcome="pause", opinion="Fire load test", expected_days="8").status_code \
        == 302
    assert branch_of(db, task_id).state == BranchState.PAUSED
    page = client.get(f"/work/tasks/{task_id}").get_data(as_text=True)
    resume = hidden_fields(page)
    assert client.post(f"/work/tasks/{task_id}/resume", data=resume).status_code == 302
    assert branch_of(db, task_id).state == BranchState.ACTIVE


def test_extension_needs_a_supervisor_of_the_same_agency(client, db, sign_in_as, accepted_case):
    sign_in_as("clerk.urban")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, accepted_case)
    due_before = branch_of(db, task_id).due_on
    assert post_decision(client, task_id, outcome="extend", opinion="Structural review").status_code == 302
    assert branch_of(db, task_id).due_on == due_before  # not before a supervisor approves

    sign_in_as("supervisor.market")
    assert "Structural review" not in client.get("/supervision/").get_data(as_text=True)
    request = db.scalar(select(Request).where(Request.branch_id == branch_of(db, task_id).id))
    market_supervisor = db.scalar(select(Account).where(Account.email == "supervisor.market@demo.onewindow.test"))
    with pytest.raises(PermissionDenied):
        decide_extension(db, market_supervisor, request.id, approve=True, comment="", command_id="x")
    form = hidden_fields(client.get("/supervision/").get_data(as_text=True))
    assert client.post(f"/supervision/extensions/{request.id}", data=form | {
        f"r{request.id}-decision": "grant", f"r{request.id}-command_id": "0" * 32}).status_code == 403

    sign_in_as("supervisor.urban")
    client.set_cookie("lang", "en")
    page = client.get("/supervision/").get_data(as_text=True)
    assert "Structural review" in page
    form = {k: v for k, v in hidden_fields(page).items()}
    refused = client.post(f"/supervision/extensions/{request.id}", data=form | {f"r{request.id}-decision": "refuse"})
    assert refused.status_code == 400 and "Enter why you refuse" in refused.get_data(as_text=True)
    granted = client.post(f"/supervision/extensions/{request.id}", data=form | {f"r{request.id}-decision": "grant"})
    assert granted.status_code == 302
    branch = branch_of(db, task_id)
    assert branch.extended and branch.due_on > due_before
    # The supervisor's decision is in the audit trail (the refusal without a reason wrote nothing).
    from services.audit.models import AuditEntry

    urban = db.scalar(select(Account).where(Account.email == "supervisor.urban@demo.onewindow.test"))
    decisions = db.scalars(select(AuditEntry).where(AuditEntry.kind == "decision",
                                                    AuditEntry.actor_id == urban.id)).all()
    assert [entry.detail for entry in decisions] == [{"extension": "granted"}]


def test_a_blank_pause_length_is_ignored_when_approving(client, db, sign_in_as, accepted_case):
    """Browsers send every field; a blank number for an option not chosen must not block the decision."""
    sign_in_as("clerk.env")
    task_id = open_task_id(client, accepted_case)
    response = post_decision(client, task_id, outcome="approve", opinion="", items="", expected_days="")
    assert response.status_code == 302
    assert branch_of(db, task_id).state == BranchState.APPROVED
    # Opening the case and deciding it are both in the audit trail, about the applicant.
    from services.applications.models import Application
    from services.audit.models import AuditEntry

    application = db.scalar(select(Application).where(Application.reference == accepted_case))
    kinds = db.scalars(select(AuditEntry.kind).where(AuditEntry.application_id == application.id,
                                                     AuditEntry.subject_id == application.applicant_id)
                       .order_by(AuditEntry.seq)).all()
    assert "case_opened" in kinds and kinds[-1] == "decision"


def test_applicant_withdraws_before_a_decision(client, db, sign_in_as, accepted_case):
    sign_in_as("resident2")
    assert client.get(f"/me/cases/{accepted_case}/withdraw").status_code == 404
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    confirm = client.get(f"/me/cases/{accepted_case}/withdraw")
    assert "Yes, withdraw the application" in confirm.get_data(as_text=True)
    done = client.post(f"/me/cases/{accepted_case}/withdraw", data=hidden_fields(confirm.get_data(as_text=True)))
    assert done.status_code == 302
    page = client.get(f"/me/cases/{accepted_case}").get_data(as_text=True)
    assert "Withdrawn" in page and "Withdraw this application" not in page
    sign_in_as("clerk.market")
    assert accepted_case not in client.get("/work/").get_data(as_text=True)
