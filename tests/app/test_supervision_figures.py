"""The supervision views: figures by agency and by matter from the maintained tallies, red and yellow cards, the
extension approvals of the supervisor's own agency, CSV downloads, and who may see what."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from sqlalchemy import select

from services.applications.decisions import decide_extension, extension_requests_for, request_extension
from services.applications.service import decide_task
from services.errors import PermissionDenied
from services.supervision import dashboard
from tests.app.test_workbench_tallies import accept, account, new_case, open_task
from workflows.calendar import WeekdayCalendar
from workflows.models import Branch


@pytest.fixture
def decided_cases(app, db):
    """Three accepted cases; market approves one on time and one late, fire refuses one."""
    cases = [new_case(app, db) for _ in range(3)]
    for application in cases:
        accept(db, application)
    market, fire = account(db, "clerk.market"), account(db, "clerk.fire")
    late = open_task(db, cases[1], "market")
    decide_task(db, market, open_task(db, cases[0], "market").id, outcome="approve", opinion="",
                command_id=uuid.uuid4().hex)
    decide_task(db, market, late.id, outcome="approve", opinion="", command_id=uuid.uuid4().hex,
                today=late.due_on + dt.timedelta(days=7))
    decide_task(db, fire, open_task(db, cases[2], "fire").id, outcome="reject", opinion="通道太窄",
                command_id=uuid.uuid4().hex)
    db.flush()
    return cases


def test_figures_by_agency_and_by_matter(db, decided_cases):
    board = dashboard(db, account(db, "supervisor"), WeekdayCalendar())
    market = next(r for r in board.rows if r.agency.code == "market")
    matter = next(m for m in board.matters if m.matter.code == "food_business_permit")
    fire = next(m for m in board.matters if m.matter.code == "fire_safety_inspection")
    # The third case was refused by fire: its market branch is cancelled, received but neither decided nor pending.
    assert (market.received, market.decided, market.pending) == (3, 2, 0)
    assert market.on_time_rate == 0.5 and matter.on_time_rate == 0.5 and matter.agency.code == "market"
    days = sorted(db.scalars(select(Branch.handling_days).where(Branch.agency_code == "market",
                                                                Branch.handling_days.is_not(None))))
    assert days[0] < days[-1]  # one on time, one a week late
    assert market.p90_days == days[-1]  # nearest rank: 90 % of 2 decisions is the 2nd
    assert market.average_days == round(sum(days) / 2, 1) and matter.p90_days == market.p90_days
    assert (fire.decided, fire.on_time_rate, fire.pending) == (1, 1.0, 2)


def test_red_and_yellow_cards(db, decided_cases):
    city = account(db, "supervisor")
    due = db.scalar(select(Branch.due_on).where(Branch.state == "ACTIVE").order_by(Branch.due_on))
    calendar = WeekdayCalendar()
    yellow_day = calendar.add_working_days(due, -1)
    board = dashboard(db, city, calendar, today=yellow_day)
    assert board.yellow_cards and not board.red_cards and board.yellow == len(board.yellow_cards)
    assert {card.colour for card in board.yellow_cards} == {"yellow"}
    late = dashboard(db, city, calendar, today=due + dt.timedelta(days=1))
    assert late.red_cards and late.red >= len(late.red_cards) and late.red_cards[0].branch.due_on == due
    capped = dashboard(db, city, calendar, today=due + dt.timedelta(days=1), card_limit=1)
    assert len(capped.red_cards) == 1 and capped.red == late.red
    # Each matter has its own limit (fire and food 10 working days, environment 20): env's cards come with its own.
    env_due = db.scalar(select(Branch.due_on).where(Branch.state == "ACTIVE", Branch.agency_code == "env")
                        .order_by(Branch.due_on))
    env = dashboard(db, account(db, "supervisor.env"), calendar, today=env_due + dt.timedelta(days=1))
    assert {card.agency.code for card in env.cards} == {"env"} and [r.agency.code for r in env.rows] == ["env"]
    with pytest.raises(PermissionDenied):
        dashboard(db, account(db, "clerk.market"), calendar)


def test_extension_approvals_are_the_supervisors_own_agencys(db, decided_cases):
    task = open_task(db, decided_cases[0], "env")
    request = request_extension(db, account(db, "clerk.env"), task.id, reason="需要现场监测",
                                command_id=uuid.uuid4().hex)
    market_supervisor, env_supervisor = account(db, "supervisor.market"), account(db, "supervisor.env")
    assert extension_requests_for(db, market_supervisor) == []
    assert [r.id for r, _a in extension_requests_for(db, env_supervisor)] == [request.id]
    assert dashboard(db, env_supervisor, WeekdayCalendar()).extensions_waiting == 1
    assert dashboard(db, market_supervisor, WeekdayCalendar()).extensions_waiting == 0
    with pytest.raises(PermissionDenied):
        decide_extension(db, market_supervisor, request.id, approve=True, comment="", command_id=uuid.uuid4().hex)
    assert request.state == "open"


def test_dashboard_pages_and_csv_by_matter(db, client, sign_in_as, decided_cases):
    sign_in_as("supervisor")
    client.set_cookie("lang", "en")
    page = client.get("/supervision/dashboard").get_data(as_text=True)
    for text in ("On-time rate by matter", "Figures by matter", "Red cards", "Yellow cards", "Food business permit"):
        assert text in page, text
    assert page.count('<svg role="img"') == 3
    assert ('href="/supervision/follow-ups"' in page) == ("supervision.follow_ups" in client.application.view_functions)
    rows = list(csv.DictReader(io.StringIO(client.get("/supervision/dashboard.csv?by=matter").get_data(
        as_text=True).lstrip("\ufeff"))))
    food = next(r for r in rows if r["matter_code"] == "food_business_permit")
    assert food["decided"] == "2" and food["on_time_rate"] == "0.5" and food["agency_code"] == "market"
    sign_in_as("supervisor.market")
    own = client.get("/supervision/dashboard.csv").get_data(as_text=True)
    assert "market" in own and "fire" not in own
