"""An agency lead hands tasks between the agency's clerks: the reason is in the case history, both clerks are told,
and nobody else can do it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from services.applications.queues import agency_clerks, reassign_task
from services.applications.service import decide_task
from services.errors import InvalidTransition, PermissionDenied, ValidationFailed
from services.notifications.models import Notification
from tests.app.test_workbench_tallies import accept, account, new_case, open_task
from tests.conftest import hidden_fields
from workflows.models import Event, Task


def market_task(app, db) -> Task:
    application = new_case(app, db)
    accept(db, application)
    db.flush()
    return open_task(db, application, "market")


def reassigned_events(db, task: Task) -> list[Event]:
    return db.scalars(select(Event).where(Event.instance_id == task.instance_id,
                                          Event.kind == "task_reassigned")).all()


def notices(db, local: str) -> list[dict]:
    return [n.params for n in db.scalars(select(Notification).where(
        Notification.account_id == account(db, local).id, Notification.kind == "task_reassigned"))]


def test_lead_gives_a_task_to_a_clerk_and_both_are_told(app, db):
    task = market_task(app, db)
    lead, clerk = account(db, "lead.market"), account(db, "clerk.market")
    command = uuid.uuid4().hex
    reassign_task(db, lead, task.id, to_clerk_id=clerk.id, reason="林市监熟悉这家企业", command_id=command)
    assert task.assignee_id == clerk.id
    # The same command again (a double click) changes nothing and records nothing more.
    reassign_task(db, lead, task.id, to_clerk_id=lead.id, reason="again", command_id=command)
    assert task.assignee_id == clerk.id
    (event,) = reassigned_events(db, task)
    assert event.actor_id == lead.id and event.detail["reason"] == "林市监熟悉这家企业"
    assert event.detail["from"] is None and event.detail["to"] == clerk.id
    assert [n["direction"] for n in notices(db, "clerk.market")] == ["to"]

    reassign_task(db, lead, task.id, to_clerk_id=lead.id, reason="林市监休假", command_id=uuid.uuid4().hex)
    assert task.assignee_id == lead.id
    assert sorted(n["direction"] for n in notices(db, "clerk.market")) == ["away", "to"]
    assert [n["direction"] for n in notices(db, "lead.market")] == ["to"]
    assert len(reassigned_events(db, task)) == 2
    # The new holder decides; the one who lost the task may not.
    with pytest.raises(InvalidTransition):
        decide_task(db, clerk, task.id, outcome="approve", opinion="", command_id=uuid.uuid4().hex)


def test_only_the_agencys_lead_may_reassign_and_only_to_its_clerks(app, db):
    task = market_task(app, db)
    lead, clerk = account(db, "lead.market"), account(db, "clerk.market")
    refused = [
        (PermissionDenied, account(db, "clerk.market"), clerk.id),  # a clerk who is not a lead
        (PermissionDenied, account(db, "lead.fire"), account(db, "clerk.fire").id),  # another agency's lead
        (PermissionDenied, lead, account(db, "clerk.fire").id),  # a clerk of another agency
        (ValidationFailed, lead, account(db, "supervisor.market").id),  # not a clerk
        (ValidationFailed, lead, 10 ** 9),  # nobody
    ]
    for error, who, target in refused:
        with pytest.raises(error):
            reassign_task(db, who, task.id, to_clerk_id=target, reason="理由", command_id=uuid.uuid4().hex)
    with pytest.raises(ValidationFailed):
        reassign_task(db, lead, task.id, to_clerk_id=clerk.id, reason="   ", command_id=uuid.uuid4().hex)
    with pytest.raises(PermissionDenied):
        agency_clerks(db, clerk)
    assert task.assignee_id is None and reassigned_events(db, task) == []
    decide_task(db, lead, task.id, outcome="approve", opinion="", command_id=uuid.uuid4().hex)
    with pytest.raises(InvalidTransition):
        reassign_task(db, lead, task.id, to_clerk_id=clerk.id, reason="太迟了", command_id=uuid.uuid4().hex)
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "task_reassigned")) == 0


def test_reassigning_through_the_pages(app, db, client, sign_in_as):
    task = market_task(app, db)
    clerk = account(db, "clerk.market")
    sign_in_as("clerk.market")
    assert client.get(f"/work/tasks/{task.id}/reassign").status_code == 403
    assert "Give this task to another clerk" not in client.get(f"/work/tasks/{task.id}?lang=en").get_data(True)
    sign_in_as("lead.market")
    client.set_cookie("lang", "en")
    assert "Give this task to another clerk" in client.get(f"/work/tasks/{task.id}").get_data(as_text=True)
    page = client.get(f"/work/tasks/{task.id}/reassign")
    assert page.status_code == 200 and clerk.name in page.get_data(as_text=True)
    form = hidden_fields(page.get_data(as_text=True))
    missing = client.post(f"/work/tasks/{task.id}/reassign", data=form)
    text = missing.get_data(as_text=True)
    assert missing.status_code == 400 and 'href="#to_clerk' in text and 'href="#reason"' in text
    assert client.post(f"/work/tasks/{task.id}/reassign",
                       data={**form, "to_clerk": "not-a-number", "reason": "x"}).status_code == 400
    done = client.post(f"/work/tasks/{task.id}/reassign", data={**form, "to_clerk": clerk.id, "reason": "请假"})
    assert done.status_code == 302 and db.get(Task, task.id).assignee_id == clerk.id
    history = client.get(f"/work/tasks/{task.id}").get_data(as_text=True)
    assert "Task handed to another clerk by the agency lead" in history
    sign_in_as("clerk.market")
    queue = client.get("/work/?queue=mine&lang=en").get_data(as_text=True)
    assert "was given to you by" in queue and "请假" in queue
    sign_in_as("lead.fire")
    assert client.get(f"/work/tasks/{task.id}/reassign").status_code == 403
