"""The thin slice through the real pages: apply, accept, parallel approvals, exactly one join, licences issued."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from accessibility.pdfua import check_pdfua
from services.applications.models import Application, CaseStatus
from services.licences.models import Licence
from tests.apply_helpers import PDF, apply_restaurant  # noqa: F401  (PDF: imported from here by other tests)
from tests.conftest import hidden_fields
from tests.jobs import run_pending_jobs
from workflows.models import Event, Task
from workflows.states import TaskState


def apply_for_restaurant(client, *, floor_area="120", signboard="yes", data=None):
    """The owner's restaurant application through the real journey (tests.apply_helpers); (send response, resend)."""
    return apply_restaurant(client, floor_area=floor_area, signboard=signboard, data=data)


def open_task_id(client, reference: str) -> int:
    queue = client.get("/work/").get_data(as_text=True)
    match = re.search(r'href="/work/tasks/(\d+)">' + re.escape(reference), queue)
    assert match, f"{reference} not in queue"
    return int(match.group(1))


def decide(client, task_id: int, outcome: str, opinion: str = ""):
    page = client.get(f"/work/tasks/{task_id}")
    assert page.status_code == 200
    form = hidden_fields(page.get_data(as_text=True))
    form.update(outcome=outcome, opinion=opinion, confirmed="yes")
    return client.post(f"/work/tasks/{task_id}", data=form), form


def test_restaurant_from_application_to_licence(app, client, db, sign_in_as):
    sign_in_as("owner")
    response, resend = apply_for_restaurant(client)
    assert response.status_code == 302
    reference = response.headers["Location"].split("/cases/")[1].split("/")[0]
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    assert reference in confirmation

    # The same form posted again (double click, back button) creates no second application.
    again = resend()
    assert again.headers["Location"].endswith(f"/cases/{reference}/submitted")
    assert db.scalar(select(func.count()).select_from(Application)) == 1

    sign_in_as("clerk.hub")
    accepted, _ = decide(client, open_task_id(client, reference), "accept")
    assert accepted.status_code == 302

    # Fan-out: every agency concerned has its task at the same time, before anyone decides.
    task_ids = {}
    for agency in ("market", "fire", "urban", "env"):
        sign_in_as(f"clerk.{agency}")
        task_ids[agency] = open_task_id(client, reference)
    application = db.scalar(select(Application).where(Application.reference == reference))
    assert application.status == CaseStatus.IN_REVIEW

    for agency, task_id in task_ids.items():
        sign_in_as(f"clerk.{agency}")
        decided, _ = decide(client, task_id, "approve", opinion="")
        assert decided.status_code == 302

    run_pending_jobs(app)

    db.expire_all()
    application = db.scalar(select(Application).where(Application.reference == reference))
    assert application.status == CaseStatus.APPROVED
    joins = db.scalar(select(func.count()).select_from(Event).where(
        Event.instance_id == application.workflow_instance_id, Event.kind == "joined"))
    assert joins == 1
    assert db.scalar(select(func.count()).select_from(Task).where(
        Task.instance_id == application.workflow_instance_id, Task.state == TaskState.OPEN)) == 0
    licences = db.scalars(select(Licence).where(Licence.application_id == application.id)).all()
    # Market (food permit), fire (area >= 50 m²) and urban (signboard) grant licences; environment is a filing.
    assert sorted(lic.licence_type.code for lic in licences) == [
        "fire_safety_certificate", "food_business_permit", "signboard_permit"]

    sign_in_as("owner")
    case_page = client.get(f"/me/cases/{reference}").get_data(as_text=True)
    for licence in licences:
        assert licence.number in case_page
    download = client.get(f"/me/licences/{licences[0].number}.pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert check_pdfua(download.data) == []

    verify = client.get(f"/verify/{licences[0].number}").get_data(as_text=True)
    assert "广州示例餐饮有限公司" in verify


def test_small_counter_without_signboard_gets_fewer_branches(client, db, sign_in_as):
    sign_in_as("owner")
    response, _ = apply_for_restaurant(client, floor_area="30", signboard="no")
    reference = response.headers["Location"].split("/cases/")[1].split("/")[0]
    sign_in_as("clerk.hub")
    decide(client, open_task_id(client, reference), "accept")
    for agency in ("fire", "urban"):
        sign_in_as(f"clerk.{agency}")
        assert reference not in client.get("/work/").get_data(as_text=True)
    for agency in ("market", "env"):
        sign_in_as(f"clerk.{agency}")
        assert reference in client.get("/work/").get_data(as_text=True)
