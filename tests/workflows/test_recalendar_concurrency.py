"""Recounting deadlines while commands run, on PostgreSQL with real threads (see test_concurrency.py)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import select

from tests.workflows.test_concurrency import (  # noqa: F401 - fixtures
    MONDAY,
    five,
    ledger,
    postgres,
    start_and_accept,
    wait_for_lock_waiters,
)
from workflows.calendar import FixedCalendar, WeekdayCalendar
from workflows.models import Branch
from workflows.recalendar import recompute_deadlines
from workflows.states import BranchState

pytestmark = pytest.mark.postgres

TUESDAY = MONDAY + dt.timedelta(days=1)


def test_a_deadline_committed_while_the_recount_waits_for_the_case_is_recounted_too(ledger, five):  # noqa: F811
    engine, _hooks = five
    label = f"r{uuid.uuid4().hex[:10]}"
    instance_id, tasks = start_and_accept(ledger, engine, label)
    with ledger.Session() as session:
        engine.pause(session, tasks["fire"], actor_id=2, reason="Lab test", expected_days=10,
                     command_id=f"{label}-pause", today=MONDAY)
        session.commit()
    resumed, failures = threading.Event(), []

    def resume_and_hold_the_case():
        """The clerk resumes the branch (a new due date, on the old calendar) and commits only once the recount is
        waiting for the case's lock, i.e. after the recount has looked for the dates to move."""
        session = ledger.Session()
        try:
            engine.resume(session, tasks["fire"], actor_id=2, command_id=f"{label}-resume", today=TUESDAY)
            resumed.set()
            if not wait_for_lock_waiters(ledger.engine, 1):
                failures.append("the recount never waited for the case")
            session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))
            resumed.set()
        finally:
            session.close()

    thread = threading.Thread(target=resume_and_hold_the_case, daemon=True)
    thread.start()
    assert resumed.wait(30)
    new = FixedCalendar(holidays={dt.date(2026, 12, 1)})
    with ledger.Session() as session:
        counts = recompute_deadlines(session, WeekdayCalendar(), new, TUESDAY)
        session.commit()
    thread.join(30)
    assert not failures and not thread.is_alive()

    with ledger.Session() as session:
        due = dict(session.execute(select(Branch.agency_code, Branch.due_on)
                                   .where(Branch.instance_id == instance_id)).all())
        fire = session.scalar(select(Branch).where(Branch.instance_id == instance_id, Branch.agency_code == "fire"))
    assert counts["cases"] == 1
    assert fire.state == BranchState.ACTIVE
    # Resumed on Tuesday with 20 working days left: 22 December on the old calendar, one later on the new one.
    assert due.pop("fire") == dt.date(2026, 12, 23)
    assert set(due.values()) == {dt.date(2026, 12, 22)}  # accepted on Monday: 21 December, moved one working day
