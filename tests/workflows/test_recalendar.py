"""A changed working-day calendar moves the running cases' stored deadlines, keeping the working days left."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from services.catalogue.definitions import ACTIONS
from tests.workflows.shipped import uniform_restaurant_registry
from tests.workflows.test_clocks import NoticeHooks
from tests.workflows.test_engine import MONDAY, open_tasks, start
from workflows.calendar import FixedCalendar, WeekdayCalendar
from workflows.engine import Engine
from workflows.models import Branch, Event, Timer
from workflows.recalendar import EVENT_KIND, recompute_deadlines
from workflows.states import BranchState, TaskState, TimerKind

OLD = WeekdayCalendar()
TUESDAY = MONDAY + dt.timedelta(days=1)
D = dt.date.fromisoformat


@pytest.fixture
def engine():
    return Engine(uniform_restaurant_registry(actions=ACTIONS), OLD, NoticeHooks())


def accepted_case(db, engine, command: str, day: dt.date):
    instance = start(db, engine, command=command)
    (task,) = open_tasks(db, instance)
    engine.complete_task(db, task.id, actor_id=1, outcome="accept", command_id=f"acc-{command}", today=day)
    return instance


def pending(db, instance, kind: TimerKind) -> list[dt.date]:
    return sorted(db.scalars(select(Timer.due_on).where(Timer.instance_id == instance.id, Timer.kind == kind,
                                                        Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))))


def branch_dues(db, instance) -> set[dt.date]:
    db.expire_all()
    return {b.due_on for b in db.scalars(select(Branch).where(Branch.instance_id == instance.id))}


def test_a_new_holiday_moves_deadlines_later_by_the_working_days_left(db, engine):
    first, second = accepted_case(db, engine, "c1", MONDAY), accepted_case(db, engine, "c2", TUESDAY)
    assert branch_dues(db, first) == {D("2026-12-21")} and branch_dues(db, second) == {D("2026-12-22")}
    old_joint = first.joint_due
    new = FixedCalendar(holidays={D("2026-12-01")})

    counts = recompute_deadlines(db, OLD, new, TUESDAY, reason={"year": 2026})

    # Each date moves once, though one case's new date is the other's old one.
    assert branch_dues(db, first) == {D("2026-12-22")} and branch_dues(db, second) == {D("2026-12-23")}
    assert {t.due_on for t in open_tasks(db, first)} == {D("2026-12-22")}
    assert first.joint_due == new.add_working_days(TUESDAY, OLD.working_days_between(TUESDAY, old_joint))
    assert first.joint_due == old_joint + dt.timedelta(days=1)
    assert set(pending(db, first, TimerKind.BRANCH_DEADLINE)) == {D("2026-12-23")}
    assert set(pending(db, first, TimerKind.BRANCH_WARNING)) == {D("2026-12-18")}  # two working days before
    assert pending(db, first, TimerKind.JOINT_DEADLINE) == [first.joint_due + dt.timedelta(days=1)]
    branches = len(first.branches) + len(second.branches)
    # Dates: each branch and its open task, and the joint limit; timers: a deadline and a warning per branch, a joint.
    assert counts == {"cases": 2, "dates": 2 * branches + 2, "timers": 2 * branches + 2}
    event = db.scalars(select(Event).where(Event.instance_id == first.id, Event.kind == EVENT_KIND)).one()
    assert event.detail["year"] == 2026
    assert {"what": "joint", "node": None, "from": old_joint.isoformat(),
            "to": first.joint_due.isoformat()} in event.detail["changes"]
    assert {c["node"] for c in event.detail["changes"] if c["what"] == "branch"} == {b.node_id for b in first.branches}

    logged = len(db.scalars(select(Event.id).where(Event.kind == EVENT_KIND)).all())
    again = recompute_deadlines(db, new, new, TUESDAY)  # the same calendar twice: nothing moves, nothing is logged
    assert again == {"cases": 0, "dates": 0, "timers": 0}
    assert len(db.scalars(select(Event.id).where(Event.kind == EVENT_KIND)).all()) == logged == 2


def test_an_adjusted_working_weekend_moves_deadlines_earlier(db, engine):
    first, second = accepted_case(db, engine, "c1", MONDAY), accepted_case(db, engine, "c2", TUESDAY)
    new = FixedCalendar(workdays={D("2026-11-28")})  # a working Saturday

    recompute_deadlines(db, OLD, new, TUESDAY)

    assert branch_dues(db, first) == {D("2026-12-18")} and branch_dues(db, second) == {D("2026-12-21")}


def test_only_future_deadlines_of_running_cases_move(db, engine):
    running = accepted_case(db, engine, "c1", MONDAY)
    ended = accepted_case(db, engine, "c2", MONDAY)
    engine.withdraw(db, ended.id, actor_id=7, command_id="w-2")
    before = branch_dues(db, ended)

    # A holiday already behind us changes nothing: the working days left are counted from today.
    assert recompute_deadlines(db, OLD, FixedCalendar(holidays={TUESDAY}), TUESDAY + dt.timedelta(days=1)) == {
        "cases": 0, "dates": 0, "timers": 0}
    recompute_deadlines(db, OLD, FixedCalendar(holidays={D("2026-12-01")}), TUESDAY)
    assert branch_dues(db, running) == {D("2026-12-22")}
    assert branch_dues(db, ended) == before


def test_acceptance_and_expected_resumption_move_too(db, engine):
    waiting = start(db, engine, command="c1")
    (acceptance,) = open_tasks(db, waiting)
    assert acceptance.due_on == D("2026-11-30")
    paused_case = accepted_case(db, engine, "c2", MONDAY)
    task = next(t for t in open_tasks(db, paused_case) if t.branch_id is not None)
    engine.pause(db, task.id, actor_id=3, reason="Kitchen inspection", expected_days=10, command_id="p-1",
                 today=MONDAY)
    assert task.branch.state == BranchState.PAUSED and task.branch.resume_expected_on == D("2026-12-07")

    recompute_deadlines(db, OLD, FixedCalendar(holidays={D("2026-11-27")}), TUESDAY)

    db.expire_all()
    assert db.get(type(acceptance), acceptance.id).due_on == D("2026-12-01")
    assert pending(db, waiting, TimerKind.ACCEPTANCE_DEADLINE) == [D("2026-12-02")]
    assert db.get(Branch, task.branch_id).resume_expected_on == D("2026-12-08")
    assert db.get(type(task), task.id).state == TaskState.OPEN
