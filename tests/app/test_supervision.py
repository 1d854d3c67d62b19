"""Supervision figures: aggregates over the database, scoped to the supervisor's agency (or the whole city)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from services import clock
from services.identity.models import Account
from services.supervision import dashboard
from tests.app.test_clocks_through_pages import post_decision
from tests.app.test_slice import open_task_id
from tests.app.test_workbench import submit_cases
from workflows.calendar import WeekdayCalendar


def accept_all(client, sign_in_as, references):
    sign_in_as("clerk.hub")
    for reference in references:
        post_decision(client, open_task_id(client, reference), outcome="accept")


def test_figures_by_agency_and_the_early_warning_board(client, db, sign_in_as):
    references = submit_cases(client, sign_in_as, 3)
    accept_all(client, sign_in_as, references)
    sign_in_as("clerk.market")
    post_decision(client, open_task_id(client, references[0]), outcome="approve")
    post_decision(client, open_task_id(client, references[1]), outcome="reject", opinion="Kitchen too small")
    city = db.scalar(select(Account).where(Account.email == "supervisor@demo.onewindow.test"))
    board = dashboard(db, city, WeekdayCalendar())
    market = next(r for r in board.rows if r.agency.code == "market")
    assert (market.received, market.decided, market.pending) == (3, 2, 1)
    assert market.on_time_rate == 1.0 and market.average_days == 0 and market.p90_days == 0
    assert {r.agency.code for r in board.rows} >= {"market", "fire", "urban", "env"}
    import datetime as dt

    late = dashboard(db, city, WeekdayCalendar(), today=clock.today() + dt.timedelta(days=60))
    assert {card.colour for card in late.cards} == {"red"} and late.rows[0].red >= 1

    fire_supervisor = db.scalar(select(Account).where(Account.email == "supervisor.fire@demo.onewindow.test"))
    assert [r.agency.code for r in dashboard(db, fire_supervisor, WeekdayCalendar()).rows] == ["fire"]


def test_dashboard_page_chart_table_and_csv(client, db, sign_in_as):
    references = submit_cases(client, sign_in_as, 1)
    accept_all(client, sign_in_as, references)
    sign_in_as("clerk.env")
    post_decision(client, open_task_id(client, references[0]), outcome="approve")
    sign_in_as("supervisor")
    page = client.get("/supervision/dashboard?lang=en").get_data(as_text=True)
    assert '<svg role="img"' in page and "On-time rate by agency" in page and "Figures by agency" in page
    response = client.get("/supervision/dashboard.csv?lang=en")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    env = next(r for r in rows if r["agency_code"] == "env")
    assert env["decided"] == "1" and env["on_time_rate"] == "1.0"
    sign_in_as("clerk.env")
    assert client.get("/supervision/dashboard").status_code == 403
    sign_in_as("admin")
    assert client.get("/supervision/dashboard").status_code == 200
