"""A resident sees only their own cases (others are 404); a clerk only their agency's tasks (others are 403)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.applications.models import Application
from services.applications.service import case_for_applicant, task_for_clerk
from services.errors import NotFound, PermissionDenied
from services.identity.models import Account
from tests.app.test_slice import apply_for_restaurant, open_task_id
from tests.conftest import hidden_fields
from workflows.models import Task
from workflows.states import TaskState


@pytest.fixture
def owners_case(client, sign_in_as):
    sign_in_as("owner")
    response, _ = apply_for_restaurant(client)
    return response.headers["Location"].split("/cases/")[1].split("/")[0]


def test_another_resident_gets_404_for_the_case_its_materials_and_confirmation(client, db, sign_in_as, owners_case):
    application = db.scalar(select(Application).where(Application.reference == owners_case))
    material_id = application.materials[0].id
    for intruder in ("resident", "resident2"):
        sign_in_as(intruder)
        assert client.get(f"/me/cases/{owners_case}").status_code == 404
        assert client.get(f"/me/cases/{owners_case}/submitted").status_code == 404
        assert client.get(f"/me/cases/{owners_case}/materials/{material_id}").status_code == 404
    sign_in_as("owner")
    assert client.get(f"/me/cases/{owners_case}").status_code == 200
    assert client.get(f"/me/cases/{owners_case}/materials/{material_id}").data.startswith(b"%PDF")


def test_the_service_layer_refuses_too(db, owners_case):
    stranger = db.scalar(select(Account).where(Account.email == "resident2@demo.onewindow.test"))
    with pytest.raises(NotFound):
        case_for_applicant(db, stranger, owners_case)
    fire_clerk = db.scalar(select(Account).where(Account.email == "clerk.fire@demo.onewindow.test"))
    acceptance = db.scalar(select(Task).where(Task.agency_code == "hub", Task.state == TaskState.OPEN))
    with pytest.raises(PermissionDenied):
        task_for_clerk(db, fire_clerk, acceptance.id)
    with pytest.raises(PermissionDenied):
        task_for_clerk(db, stranger, acceptance.id)


def test_clerk_of_another_agency_gets_403_and_changes_nothing(client, db, sign_in_as, owners_case):
    sign_in_as("clerk.hub")
    task_id = open_task_id(client, owners_case)
    form = hidden_fields(client.get(f"/work/tasks/{task_id}").get_data(as_text=True))
    sign_in_as("clerk.fire")
    assert client.get(f"/work/tasks/{task_id}").status_code == 403
    form.update(outcome="accept", csrf_token=hidden_fields(client.get("/work/").get_data(as_text=True))["csrf_token"])
    assert client.post(f"/work/tasks/{task_id}", data=form).status_code == 403
    assert db.get(Task, task_id).state == TaskState.OPEN
    assert owners_case not in client.get("/work/").get_data(as_text=True)


def test_roles_keep_to_their_own_pages(client, sign_in_as):
    sign_in_as("resident")
    assert client.get("/work/").status_code == 403
    sign_in_as("clerk.market")
    assert client.get("/me/").status_code == 403
    assert client.get("/work/tasks/999999").status_code == 404
