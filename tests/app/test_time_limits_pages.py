"""Each matter's time limit with its legal basis on the service guide and the case page (issue 19, point 9), and
deadlines computed by the fallback rule marked provisional on the case page, the clerk's task page and in
notifications until the State Council's notice for their year is loaded (point 10)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.applications.service import engine, provisional_rule
from services.notifications.models import Notification
from tests.app.test_clocks_through_pages import accepted_case, branch_of, post_decision  # noqa: F401 - fixture
from tests.app.test_slice import open_task_id
from workflows.calendar import RULE_HOLIDAYS
from workflows.models import Branch, WorkflowInstance


def test_the_service_guide_gives_each_limit_its_basis(client):
    client.set_cookie("lang", "en")
    page = client.get("/services/open_restaurant").get_data(as_text=True)
    assert "Fire Protection Law of the PRC, article 15" in page and "not extendable" in page
    assert "Measures on Food Business Licensing and Filing (2023), article 26" in page
    assert "extendable once by 5 working days" in page
    client.set_cookie("lang", "zh_Hans_CN")
    assert "《中华人民共和国消防法》第十五条" in client.get("/services/open_restaurant").get_data(as_text=True)


def test_fallback_deadlines_are_marked_provisional_with_the_rule(client, db, sign_in_as, accepted_case):  # noqa: F811
    instance = db.scalar(select(WorkflowInstance).order_by(WorkflowInstance.id.desc()))
    calendar = engine(db).calendar
    # The joint limit lies 45 working days ahead; chinesecalendar knows 2026 only and no notice is loaded in tests.
    assert instance.joint_due.year >= 2027 and calendar.rule_for(instance.joint_due) == RULE_HOLIDAYS
    assert provisional_rule(calendar, instance.joint_due) == RULE_HOLIDAYS
    assert provisional_rule(calendar, dt.date(2026, 12, 1)) is None  # a published year is firm

    sign_in_as("owner")
    client.set_cookie("lang", "en")
    page = client.get(f"/me/cases/{accepted_case}").get_data(as_text=True)
    assert f"provisional: the State Council has not published the {instance.joint_due.year} holidays yet" in page
    assert "Basis: Fire Protection Law of the PRC, article 15" in page

    sign_in_as("clerk.env")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, accepted_case)
    env = db.scalar(select(Branch).where(Branch.instance_id == instance.id, Branch.agency_code == "env"))
    page = client.get(f"/work/tasks/{task_id}").get_data(as_text=True)
    if env.due_on.year >= 2027:  # the task's own due date is provisional too when it falls in the next year
        assert page.count("provisional: the State Council") >= 2
    else:
        assert "provisional: the State Council" in page  # the joint limit

    # A notice that tells a provisional date says so.
    assert post_decision(client, task_id, outcome="pause", opinion="Noise test", expected_days="60").status_code \
        == 302
    told = db.scalars(select(Notification).where(Notification.kind == "paused")).all()
    assert told and all(n.params.get("provisional") == RULE_HOLIDAYS for n in told)
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    assert "This date is provisional" in client.get("/me/").get_data(as_text=True)


def test_the_clerks_choices_follow_the_law(client, db, sign_in_as, accepted_case):  # noqa: F811
    """No extension is offered where the law setting the limit allows none (Fire Protection Law art. 15); the
    one-time supplement notice (art. 32) is offered, and sent it stops the branch's clock."""
    sign_in_as("clerk.fire")
    fire = client.get(f"/work/tasks/{open_task_id(client, accepted_case)}").get_data(as_text=True)
    assert 'value="extend"' not in fire and 'value="supplement"' in fire
    sign_in_as("clerk.market")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, accepted_case)
    assert 'value="extend"' in client.get(f"/work/tasks/{task_id}").get_data(as_text=True)
    sent = post_decision(client, task_id, outcome="supplement", items="Floor plan")
    assert sent.status_code == 302 and branch_of(db, task_id).state.value == "waiting_applicant"
