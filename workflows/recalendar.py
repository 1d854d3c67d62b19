"""Moving stored deadlines when the working-day calendar changes.

Deadlines are stored as dates, computed when a command ran. A deadline that falls in a year the calendar only knew by
rule (``holidays-rule``: statutory days, no adjusted working weekends) is provisional: once the State Council's notice
for that year is loaded, a case's remaining working days may end on another date.

The recount keeps what the applicant and the agency were given: **the number of working days left after today**.
Every deadline after ``today`` is counted on the old calendar from today, and that many working days are added on the
new one. Days up to today are history and stay as counted. Deadlines on or before today do not move.

What moves, for running cases only: branch due dates and expected resumption dates, open tasks' due dates, the joint
limit, and the pending timers derived from them (deadline timers fire the day after their deadline; a warning timer
two working days before it). Each case whose dates move gets one ``deadlines_recalculated`` event listing the old and
new dates, so the applicant and the clerk see why. Running it again with the same calendars changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import case, insert, null, select, update
from sqlalchemy.orm import Session

from services.db import utcnow
from workflows.calendar import WorkingCalendar
from workflows.engine import WARNING_DAYS
from workflows.models import Branch, Event, Task, Timer, WorkflowInstance
from workflows.states import ENDED_INSTANCE_STATES, BranchState, EventKind, InstanceState, TaskState, TimerKind

__all__ = ["EVENT_KIND", "recount", "recompute_deadlines"]

EVENT_KIND = EventKind.DEADLINES_RECALCULATED
RUNNING_INSTANCE_STATES = tuple(state for state in InstanceState if state not in ENDED_INSTANCE_STATES)
DEADLINE_TIMERS = (TimerKind.ACCEPTANCE_DEADLINE, TimerKind.BRANCH_DEADLINE, TimerKind.JOINT_DEADLINE)
ONE_DAY = dt.timedelta(days=1)
CHUNK = 5000


def recount(old: WorkingCalendar, new: WorkingCalendar, today: dt.date, dates: Iterable[dt.date]) -> dict:
    """``{date: new date}`` for each of ``dates`` after ``today`` that the new calendar moves."""
    moved = {}
    for day in set(dates):
        if day is not None and day > today:
            again = new.add_working_days(today, old.working_days_between(today, day))
            if again != day:
                moved[day] = again
    return moved


def _timer_moves(old, new, today, timers: Iterable[tuple[TimerKind, dt.date]]) -> dict:
    """``{(kind, due): new due}``: a deadline timer follows its deadline, a warning stays two working days before."""
    moved = {}
    for kind, due in set(timers):
        if kind in DEADLINE_TIMERS:
            deadline = due - ONE_DAY
            again = (recount(old, new, today, [deadline]).get(deadline, deadline) + ONE_DAY) if deadline > today \
                else due
        elif due > today:
            deadline = old.add_working_days(due, WARNING_DAYS)
            again = new.add_working_days(recount(old, new, today, [deadline]).get(deadline, deadline), -WARNING_DAYS)
            again = max(again, today)
        else:
            again = due
        if again != due:
            moved[(kind, due)] = again
    return moved


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _dated():
    """What holds a deadline of a running case: (label for the event or None, date column, node column, instance
    column, conditions). A branch's open task carries its branch's due date and moves with it."""
    active = select(Branch.id).where(Branch.state == BranchState.ACTIVE)
    return (
        ("branch", Branch.due_on, Branch.node_id, Branch.instance_id, (Branch.state == BranchState.ACTIVE,)),
        ("resume", Branch.resume_expected_on, Branch.node_id, Branch.instance_id,
         (Branch.state == BranchState.PAUSED,)),
        ("task", Task.due_on, Task.node_id, Task.instance_id, (Task.state == TaskState.OPEN, Task.branch_id.is_(None))),
        (None, Task.due_on, Task.node_id, Task.instance_id, (Task.state == TaskState.OPEN, Task.branch_id.in_(active))),
        ("joint", WorkflowInstance.joint_due, None, WorkflowInstance.id,
         (WorkflowInstance.state.in_(RUNNING_INSTANCE_STATES),)),
    )


PENDING = (Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))


def _look(session: Session, old, new, today: dt.date):
    """The moves and the rows they touch: (date moves, timer moves, [(instance, label, node, old date)], cases)."""
    deadlines = set()
    for _label, column, _node, _instance, where in _dated():
        deadlines.update(session.scalars(select(column).where(*where, column > today).distinct()))
    timers = set(session.execute(select(Timer.kind, Timer.due_on).where(*PENDING, Timer.due_on > today)
                                 .distinct()).tuples())
    moved = recount(old, new, today, deadlines)
    timer_moves = _timer_moves(old, new, today, timers)
    rows, cases = [], set()
    for label, column, node, instance, where in _dated() if moved else ():
        found = session.execute(select(instance, node if node is not None else null(), column)
                                .where(*where, column.in_(sorted(moved)))).all()
        cases.update(row[0] for row in found)
        if label:
            rows += [(instance_id, label, node_id, day) for instance_id, node_id, day in found]
    for kind in {kind for kind, _due in timer_moves}:
        dues = sorted(due for k, due in timer_moves if k == kind)
        cases.update(session.scalars(select(Timer.instance_id).where(Timer.kind == kind, Timer.due_on.in_(dues),
                                                                     *PENDING)))
    return moved, timer_moves, rows, cases


def _lock_instances(session: Session, instance_ids: Iterable[int]) -> None:
    """Take each case's row lock in id order, as commands do first, so a command never waits on us half-way."""
    for chunk in _chunks(sorted(instance_ids)):
        session.execute(select(WorkflowInstance.id).where(WorkflowInstance.id.in_(chunk))
                        .order_by(WorkflowInstance.id).with_for_update()).all()


def _move(session: Session, column, moved: dict, where) -> int:
    """One UPDATE with ``CASE column WHEN old THEN new ...``: each row is read once, so a row moved onto a date that is
    another entry's old date is not moved again, and the table is scanned once, not once per date."""
    if not moved:
        return 0
    statement = (update(column.class_).where(column.in_(sorted(moved)), *where)
                 .values({column.key: case(moved, value=column)}).execution_options(synchronize_session=False))
    return session.execute(statement).rowcount


def recompute_deadlines(session: Session, old: WorkingCalendar, new: WorkingCalendar, today: dt.date, *,
                        reason: dict | None = None, progress: Callable[[int], None] | None = None) -> dict:
    """Move the running cases' stored deadlines from ``old`` to ``new`` (see the module's docstring).

    Returns counts: ``cases`` (cases with a moved deadline: one event each), ``dates`` (rows moved), ``timers``.
    ``reason`` goes into each event's detail (the notice's year and file, say).
    """
    locked: set[int] = set()
    # On PostgreSQL a command may store a new date between the look-up and the lock: look again until nothing new.
    # SQLite's BEGIN IMMEDIATE holds the database's write lock for the whole transaction: one look is enough.
    concurrent = session.get_bind().dialect.name == "postgresql"
    while True:
        moved, timer_moves, rows, cases = _look(session, old, new, today)
        if not concurrent or not cases - locked:
            break
        _lock_instances(session, cases - locked)
        locked |= cases
    dates = sum(_move(session, column, moved, where) for _label, column, _node, _instance, where in _dated())
    timers = 0
    for kind in TimerKind:
        of_kind = {due: again for (k, due), again in timer_moves.items() if k == kind}
        timers += _move(session, Timer.due_on, of_kind, (Timer.kind == kind, *PENDING))
    events = _events(rows, moved, reason or {})
    for chunk in _chunks(events, 1000):
        session.execute(insert(Event), chunk)
        if progress:
            progress(len(chunk))
    return {"cases": len(events), "dates": dates, "timers": timers}


def _events(rows, moved: dict, reason: dict) -> list[dict]:
    changes: dict[int, list[dict]] = defaultdict(list)
    for instance_id, label, node_id, day in rows:
        changes[instance_id].append({"what": label, "node": node_id, "from": day.isoformat(),
                                     "to": moved[day].isoformat()})
    now = utcnow()
    return [{"instance_id": instance_id, "at": now, "actor_id": None, "kind": EVENT_KIND, "node_id": None,
             "detail": {**reason, "changes": sorted(items, key=lambda c: (c["what"], c["node"] or ""))},
             "command_id": None}
            for instance_id, items in sorted(changes.items())]
