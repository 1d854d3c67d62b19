"""The joint time limit's extension through the pages (art. 42(2) of the Administrative Licensing Law): asked by a
clerk on the case, decided by the city's supervisor only, once, the applicant told the reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.applications.joint_extension import decide_joint_extension, request_joint_extension
from services.errors import InvalidTransition, PermissionDenied
from services.notifications.models import Notification
from tests.app.test_clocks_through_pages import accepted_case  # noqa: F401 - the fixture
from tests.app.test_slice import open_task_id
from tests.app.test_workbench_tallies import account
from tests.conftest import hidden_fields
from workflows.models import Request, WorkflowInstance
from workflows.states import RequestKind, RequestState


def test_a_clerk_asks_and_the_city_supervisor_grants_once(client, db, sign_in_as, accepted_case):  # noqa: F811
    sign_in_as("clerk.market")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, accepted_case)
    page = client.get(f"/work/tasks/{task_id}").get_data(as_text=True)
    assert "Ask the city to extend the joint time limit" in page
    form = hidden_fields(page)
    empty = client.post(f"/work/tasks/{task_id}/joint-extension", data=form | {"joint-reason": " "})
    assert empty.status_code == 302
    assert db.scalar(select(Request.id).where(Request.kind == RequestKind.JOINT_EXTENSION)) is None
    asked = client.post(f"/work/tasks/{task_id}/joint-extension",
                        data=form | {"joint-reason": "A public hearing is needed"})
    assert asked.status_code == 302
    request = db.scalar(select(Request).where(Request.kind == RequestKind.JOINT_EXTENSION))
    assert request.state == RequestState.OPEN and request.agency_code == "market"
    instance = db.get(WorkflowInstance, request.instance_id)
    joint_due = instance.joint_due

    sign_in_as("supervisor.market")  # an agency supervisor does not decide for the city
    client.set_cookie("lang", "en")
    assert "Joint time limit extensions" not in client.get("/supervision/").get_data(as_text=True)
    with pytest.raises(PermissionDenied):
        decide_joint_extension(db, account(db, "supervisor.market"), request.id, approve=True, comment="",
                               command_id="not-mine")

    sign_in_as("supervisor")  # the hub's supervisor decides for the city
    client.set_cookie("lang", "en")
    page = client.get("/supervision/").get_data(as_text=True)
    assert "A public hearing is needed" in page
    form = hidden_fields(page)
    refused_blank = client.post(f"/supervision/joint-extensions/{request.id}",
                                data=form | {f"j{request.id}-decision": "refuse"})
    assert refused_blank.status_code == 400 and "Enter why you refuse" in refused_blank.get_data(as_text=True)
    granted = client.post(f"/supervision/joint-extensions/{request.id}",
                          data=form | {f"j{request.id}-decision": "grant"})
    assert granted.status_code == 302
    db.expire_all()
    assert request.state == RequestState.APPROVED and instance.joint_extended and instance.joint_due > joint_due
    told = db.scalars(select(Notification).where(Notification.kind == "joint_extension_granted")).all()
    assert [n.account_id for n in told] == [account(db, "owner").id]
    assert told[0].params["reason"] == "A public hearing is needed"
    with pytest.raises(InvalidTransition):
        request_joint_extension(db, account(db, "clerk.hub"), accepted_case, reason="More", command_id="again")

    sign_in_as("owner")
    client.set_cookie("lang", "en")
    assert "the city extended the joint time limit" in client.get("/me/").get_data(as_text=True)


def test_a_clerk_of_an_agency_not_on_the_case_cannot_ask(db, accepted_case):  # noqa: F811
    with pytest.raises(PermissionDenied):
        request_joint_extension(db, account(db, "clerk.police"), accepted_case, reason="x", command_id="c")


def test_a_case_one_agency_decides_offers_no_joint_extension(client, sign_in_as):
    """The joint limit binds agencies deciding in parallel (art. 42(2)): a residence permit, which the police alone
    decide after the lead window, offers none, and its clerk reads the branch waiting for the applicant's answer."""
    from tests.app.test_slice import decide
    from tests.apply_helpers import apply_residence_permit, reference_of

    sign_in_as("resident")
    reference = reference_of(apply_residence_permit(client)[0])
    sign_in_as("clerk.hub")
    decide(client, open_task_id(client, reference), "accept")
    sign_in_as("clerk.police")
    client.set_cookie("lang", "en")
    page = client.get(f"/work/tasks/{open_task_id(client, reference)}").get_data(as_text=True)
    assert "Joint time limit" not in page and "Ask the city to extend" not in page
