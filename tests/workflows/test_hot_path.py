"""The engine's write path (``workflows/store.py``, ``workflows/loading.py``): Core statements under ORM objects.

What the ORM used to guarantee for free is checked here: objects a caller holds see what a command wrote, rows a
command schedules and cancels within itself end up cancelled, and a decision costs a fixed, small number of
statements (a count, not a timing: speed is measured in bench/).
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from services.catalogue.definitions import ACTIONS
from tests.workflows.shipped import shipped_registry
from tests.workflows.test_engine import MONDAY, accept, open_tasks, start
from workflows.calendar import WeekdayCalendar
from workflows.definitions import load_directory
from workflows.engine import Engine
from workflows.loading import LOAD_TASK
from workflows.models import Branch, Event, Timer
from workflows.states import BranchState, InstanceState, TaskState, TimerKind
from workflows.store import Batch


@pytest.fixture
def engine():
    return Engine(shipped_registry(actions=ACTIONS), WeekdayCalendar())


class Statements:
    """Statements sent on the session's connection while the block runs (BEGIN and SAVEPOINTs left out)."""

    def __init__(self, session):
        self.connection = session.connection()
        self.sent: list[str] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            self.sent.append(statement.split(None, 3)[:3])

    def __enter__(self):
        event.listen(self.connection, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.connection, "before_cursor_execute", self._count)


def test_objects_the_caller_holds_see_the_decision(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    task = open_tasks(db, instance)[0]
    branch = db.get(Branch, task.branch_id)
    returned = engine.complete_task(db, task.id, actor_id=2, outcome="approve", command_id="seen", today=MONDAY)
    assert returned is task and task.state == TaskState.COMPLETED and task.completed_by == 2
    assert branch.state == BranchState.APPROVED and branch.handling_days == 0 and branch.on_time is True
    db.expire_all()  # and the database agrees
    assert (task.state, branch.state) == (TaskState.COMPLETED, BranchState.APPROVED)


def test_a_review_that_does_not_join_costs_five_statements(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    first, second, *_ = open_tasks(db, instance)
    engine.complete_task(db, first.id, actor_id=2, outcome="approve", command_id="warm", today=MONDAY)
    db.expunge_all()  # a fresh request's session: nothing loaded yet
    with Statements(db) as statements:
        engine.complete_task(db, second.id, actor_id=2, outcome="approve", command_id="counted", today=MONDAY)
    # read (task, instance, branch, command id, siblings) + task + branch + timers + event; the instance row is
    # not written (nothing of it changes)
    expected = 5 if db.get_bind().dialect.name == "sqlite" else 6  # PostgreSQL: the instance lock comes first
    assert len(statements.sent) == expected, statements.sent


def test_timers_scheduled_and_cancelled_in_one_command_stay_cancelled(db, tmp_path):
    (tmp_path / "quiet.v1.yaml").write_text("""
key: quiet
version: 1
start: intake
joint_limit_days: 45
nodes:
  intake: {type: task, acceptance: true, agency: hub, role: clerk, limit_days: 5, next: split}
  split: {type: split, join: join, branches: [fire]}
  fire: {type: task, agency: fire, role: clerk, limit_days: 20, when: "floor_area >= 50", next: join}
  join: {type: join, next: done}
  done: {type: end, outcome: approved}
""", encoding="utf-8")
    engine = Engine(load_directory(tmp_path), WeekdayCalendar())
    instance = engine.start(db, "quiet", subject_id=1, data={"floor_area": 10}, actor_id=1, command_id="q",
                            today=MONDAY)
    (intake,) = open_tasks(db, instance)
    # Accepting schedules the joint deadline; no branch applies, so the same command ends the case.
    engine.complete_task(db, intake.id, actor_id=1, outcome="accept", command_id="q-accept", today=MONDAY)
    assert instance.state == InstanceState.APPROVED
    timers = db.scalars(select(Timer).where(Timer.instance_id == instance.id)).all()
    assert {t.kind for t in timers} == {TimerKind.ACCEPTANCE_DEADLINE, TimerKind.JOINT_DEADLINE}
    assert all(t.cancelled_at is not None for t in timers)
    kinds = db.scalars(select(Event.kind).where(Event.instance_id == instance.id).order_by(Event.id)).all()
    assert kinds == ["started", "task_accept", "branch_skipped", "fanned_out", "joined", "ended"]


def test_a_new_branch_task_and_timers_point_at_their_branch(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    for task in open_tasks(db, instance):
        branch = db.get(Branch, task.branch_id)
        assert branch.instance_id == instance.id and branch.node_id == task.node_id
        kinds = set(db.scalars(select(Timer.kind).where(Timer.branch_id == branch.id)))
        assert kinds == {TimerKind.BRANCH_WARNING, TimerKind.BRANCH_DEADLINE}


def test_a_driver_error_on_the_prepared_path_is_sqlalchemys(db, engine):
    """Callers catch ``sqlalchemy.exc.IntegrityError`` (a command id raced in twice): the DBAPI path must raise it."""
    instance = start(db, engine)
    batch = Batch(db)
    batch.event(instance.id, None, "twice", None, {}, "same-command")
    batch.write()
    batch.event(instance.id, None, "twice", None, {}, "same-command")
    with pytest.raises(IntegrityError):
        batch.write()


def test_the_prepared_path_writes_what_core_would(db, engine):
    instance = start(db, engine)
    batch = Batch(db)
    batch.event(instance.id, 3, "noted", "intake", {"items": ["a", "b"], "n": 1}, "prepared-event")
    batch.write()
    db.expire_all()
    event_row = db.scalars(select(Event).where(Event.command_id == "prepared-event")).one()
    assert (event_row.actor_id, event_row.kind, event_row.node_id) == (3, "noted", "intake")
    assert event_row.detail == {"items": ["a", "b"], "n": 1}
    assert event_row.at.tzinfo is not None  # through UTCDateTime, like every other write


def test_the_supplement_lookup_can_use_the_partial_index(db):
    """With the state bound as a parameter SQLite scanned ``wf_requests``: the enum is written into the SQL."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    compiled = LOAD_TASK.statement.compile(dialect=db.get_bind().dialect)
    parameters = [None] * len(compiled.positiontup)
    plan = " ".join(row[-1] for row in db.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}",
                                                                       tuple(parameters)))
    assert "ix_wf_requests_open_task" in plan and "SCAN wf_requests" not in plan
