"""The clerk's workbench: queues, filters, search, keyset paging, claims, and the applicant's access log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from services.applications.queues import QueueFilter, claim_task, queue_page
from services.errors import InvalidTransition, PermissionDenied
from services.identity.models import Account
from tests.app.test_clocks_through_pages import post_decision
from tests.app.test_slice import apply_for_restaurant, open_task_id
from tests.conftest import hidden_fields
from workflows.calendar import WeekdayCalendar
from workflows.models import Task


def submit_cases(client, sign_in_as, count: int) -> list[str]:
    sign_in_as("owner")
    references = []
    for _ in range(count):
        response, _form = apply_for_restaurant(client)
        references.append(response.headers["Location"].split("/cases/")[1].split("/")[0])
    return references


def account(db, local: str) -> Account:
    return db.scalar(select(Account).where(Account.email == f"{local}@demo.onewindow.test"))


def test_keyset_pages_walk_the_whole_queue_once(client, db, sign_in_as):
    references = submit_cases(client, sign_in_as, 5)
    clerk = account(db, "clerk.hub")
    seen, flt = [], QueueFilter(queue="acceptance")
    while True:
        page = queue_page(db, clerk, flt, WeekdayCalendar(), page_size=2)
        seen += [application.reference for _t, application, _b in page.rows]
        if page.next_after is None:
            break
        flt.after = page.next_after
    assert sorted(seen) == sorted(references) and page.counts["acceptance"] == 5


def test_search_and_filters_through_the_page(client, sign_in_as):
    first, second = submit_cases(client, sign_in_as, 2)
    sign_in_as("clerk.hub")
    client.set_cookie("lang", "en")
    found = client.get(f"/work/?queue=acceptance&q={second}").get_data(as_text=True)
    assert second in found and first not in found
    by_name = client.get("/work/?queue=acceptance&q=广州示例餐饮有限公司").get_data(as_text=True)
    assert first in by_name and second in by_name
    nothing = client.get("/work/?queue=acceptance&due_before=2000-01-01").get_data(as_text=True)
    assert "There are no tasks in this queue." in nothing
    bad_date = client.get("/work/?queue=acceptance&due_before=yesterday")
    assert bad_date.status_code == 400 and 'href="#due_before"' in bad_date.get_data(as_text=True)
    assert client.get("/work/?queue=everything").status_code == 404
    assert client.get("/work/?queue=acceptance&after=garbage").status_code == 200


def test_claims_keep_other_clerks_from_deciding(client, db, sign_in_as):
    (reference,) = submit_cases(client, sign_in_as, 1)
    sign_in_as("clerk.hub")
    task_id = open_task_id(client, reference)
    hub_clerk = account(db, "clerk.hub")
    claim_task(db, hub_clerk, task_id)
    db.flush()
    other = Account(email="clerk.hub2@demo.onewindow.test", password_hash="x", role="clerk", name="第二窗口",
                    agency_id=hub_clerk.agency_id)
    db.add(other)
    db.flush()
    with pytest.raises(InvalidTransition):
        claim_task(db, other, task_id)
    from services.applications.service import decide_task

    with pytest.raises(InvalidTransition):
        decide_task(db, other, task_id, outcome="accept", opinion="", command_id="not-mine")
    with pytest.raises(PermissionDenied):
        claim_task(db, account(db, "clerk.fire"), task_id)
    assert db.get(Task, task_id).state == "open"
    page = client.get(f"/work/tasks/{task_id}?lang=en").get_data(as_text=True)
    assert "You have claimed this task." in page
    response = client.post(f"/work/tasks/{task_id}/release", data=hidden_fields(page))
    assert response.status_code == 302 and db.get(Task, task_id).assignee_id is None


def test_every_clerk_view_is_in_the_applicants_access_log(client, sign_in_as):
    (reference,) = submit_cases(client, sign_in_as, 1)
    sign_in_as("clerk.hub")
    task_id = open_task_id(client, reference)
    client.get(f"/work/tasks/{task_id}")
    post_decision(client, task_id, outcome="accept")
    sign_in_as("owner")
    page = client.get("/me/?lang=en").get_data(as_text=True)
    enterprise_page = re.search(r'href="(/me/enterprises/\d+/)"', page)
    if enterprise_page:  # the case is the enterprise's: its access log is on the enterprise's service page
        page = client.get(enterprise_page.group(1) + "?lang=en").get_data(as_text=True)
    assert "accessed" in page and reference in page and "Reviewing the case" in page
    sign_in_as("resident")
    assert reference not in client.get("/me/").get_data(as_text=True)


def test_due_soon_and_overdue_queues(client, db, sign_in_as):
    (reference,) = submit_cases(client, sign_in_as, 1)
    clerk = account(db, "clerk.hub")
    task = db.scalar(select(Task).where(Task.agency_code == "hub", Task.state == "open"))
    today = task.due_on
    assert [a.reference for _t, a, _b in queue_page(db, clerk, QueueFilter(queue="due_soon"), WeekdayCalendar(),
                                                     today=today).rows] == [reference]
    overdue = queue_page(db, clerk, QueueFilter(queue="overdue"), WeekdayCalendar(), today=today + dt.timedelta(3))
    assert [a.reference for _t, a, _b in overdue.rows] == [reference]


def test_clerk_views_a_material_inline_or_downloads_it(client, sign_in_as):
    (reference,) = submit_cases(client, sign_in_as, 1)
    sign_in_as("clerk.hub")
    task_id = open_task_id(client, reference)
    page = client.get(f"/work/tasks/{task_id}").get_data(as_text=True)
    view = re.search(r'href="(/work/tasks/\d+/materials/\d+\?view=1)"', page).group(1)
    inline = client.get(view)
    assert inline.data.startswith(b"%PDF") and inline.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in inline.headers["Content-Security-Policy"]
    download = client.get(view.split("?")[0])
    assert download.headers["Content-Disposition"].startswith("attachment")
