"""The engine's semantics, one by one, on the real database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from services.catalogue.definitions import ACTIONS
from services.errors import InvalidTransition, ValidationFailed
from tests.workflows.shipped import shipped_registry
from workflows.calendar import WeekdayCalendar
from workflows.definitions import load_directory
from workflows.engine import Engine
from workflows.models import Branch, Event, Task
from workflows.states import BranchState, InstanceState, TaskState

MONDAY = dt.date(2026, 11, 23)


class RecordingHooks:
    def __init__(self):
        self.actions, self.changes = [], []

    def run_action(self, session, instance, action):
        self.actions.append((instance.id, action))

    def on_state_changed(self, session, instance):
        self.changes.append((instance.id, instance.state))


@pytest.fixture
def hooks():
    return RecordingHooks()


@pytest.fixture
def engine(hooks):
    return Engine(shipped_registry(actions=ACTIONS), WeekdayCalendar(), hooks)


def start(db, engine, data=None, command="c-start"):
    data = {"floor_area": 120, "signboard": True} if data is None else data
    return engine.start(db, "open_restaurant", subject_id=1, data=data, actor_id=7, command_id=command, today=MONDAY)


def open_tasks(db, instance):
    return db.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == TaskState.OPEN)
                      .order_by(Task.id)).all()


def accept(db, engine, instance):
    (task,) = open_tasks(db, instance)
    engine.complete_task(db, task.id, actor_id=1, outcome="accept", command_id=f"acc-{instance.id}", today=MONDAY)


def test_acceptance_then_fan_out_with_a_clock_per_branch(db, engine):
    instance = start(db, engine)
    (acceptance,) = open_tasks(db, instance)
    assert acceptance.agency_code == "hub" and acceptance.due_on == dt.date(2026, 11, 30)  # 5 working days
    accept(db, engine, instance)
    tasks = open_tasks(db, instance)
    assert {t.agency_code for t in tasks} == {"market", "fire", "urban", "env"}
    due = {t.agency_code: t.due_on for t in tasks}  # each matter's own limit, Mon-Fri calendar
    assert due == {"market": dt.date(2026, 12, 7), "fire": dt.date(2026, 12, 7),  # 10 working days (food, fire)
                   "urban": dt.date(2026, 12, 21), "env": dt.date(2026, 12, 21)}  # 20 (art. 42(1))
    assert instance.joint_due == dt.date(2027, 1, 25)  # 45 working days


def test_conditions_on_case_data_skip_branches(db, engine):
    instance = start(db, engine, data={"floor_area": 30, "signboard": False})
    accept(db, engine, instance)
    assert {t.agency_code for t in open_tasks(db, instance)} == {"market", "env"}


def test_all_approvals_join_exactly_once_and_run_the_action(db, engine, hooks):
    instance = start(db, engine)
    accept(db, engine, instance)
    for task in open_tasks(db, instance):
        engine.complete_task(db, task.id, actor_id=2, outcome="approve", command_id=f"ok-{task.id}", today=MONDAY)
    assert instance.state == InstanceState.APPROVED
    assert hooks.actions == [(instance.id, "issue_licences")]
    joined = db.scalar(select(func.count()).select_from(Event).where(Event.instance_id == instance.id,
                                                                      Event.kind == "joined"))
    assert joined == 1


def test_first_rejection_ends_the_case_and_cancels_the_rest(db, engine, hooks):
    instance = start(db, engine)
    accept(db, engine, instance)
    first, *others = open_tasks(db, instance)
    engine.complete_task(db, first.id, actor_id=2, outcome="reject", opinion="Kitchen layout unsafe",
                         command_id="no-1", today=MONDAY)
    assert instance.state == InstanceState.REJECTED
    assert all(t.state == TaskState.CANCELLED for t in others)
    states = {b.node_id: b.state for b in db.scalars(select(Branch).where(Branch.instance_id == instance.id))}
    assert list(states.values()).count(BranchState.REJECTED) == 1
    assert list(states.values()).count(BranchState.CANCELLED) == 3
    with pytest.raises(InvalidTransition):
        engine.complete_task(db, others[0].id, actor_id=2, outcome="approve", command_id="late", today=MONDAY)
    assert hooks.actions == []


def test_rejection_needs_reasons(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    task = open_tasks(db, instance)[0]
    with pytest.raises(ValidationFailed):
        engine.complete_task(db, task.id, actor_id=2, outcome="reject", opinion=" ", command_id="r", today=MONDAY)


def test_commands_are_idempotent(db, engine):
    instance = start(db, engine)
    assert start(db, engine).id == instance.id  # same command id: the same instance
    accept(db, engine, instance)
    task = open_tasks(db, instance)[0]
    for _ in range(2):
        engine.complete_task(db, task.id, actor_id=2, outcome="approve", command_id="twice", today=MONDAY)
    assert db.scalar(select(func.count()).select_from(Event).where(Event.command_id == "twice")) == 1
    with pytest.raises(InvalidTransition):  # a different command on a closed task is refused
        engine.complete_task(db, task.id, actor_id=2, outcome="approve", command_id="other", today=MONDAY)


def test_withdraw_before_decision_cancels_everything(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    engine.withdraw(db, instance.id, actor_id=7, command_id="wd")
    assert instance.state == InstanceState.WITHDRAWN and open_tasks(db, instance) == []
    with pytest.raises(InvalidTransition):
        engine.withdraw(db, instance.id, actor_id=7, command_id="wd-again")


def test_exclusive_choice_routes_on_case_data(db, tmp_path, hooks):
    (tmp_path / "permit.v1.yaml").write_text("""
key: permit
version: 1
start: route
nodes:
  route: {type: choice, cases: [{when: "seats > 75", next: full_review}], default: quick_review}
  full_review: {type: task, agency: market, role: clerk, limit_days: 20, next: done}
  quick_review: {type: task, agency: market, role: clerk, limit_days: 5, next: done}
  done: {type: end, outcome: approved}
""", encoding="utf-8")
    engine = Engine(load_directory(tmp_path), WeekdayCalendar(), hooks)
    big = engine.start(db, "permit", subject_id=1, data={"seats": 120}, actor_id=1, command_id="b", today=MONDAY)
    small = engine.start(db, "permit", subject_id=2, data={"seats": 20}, actor_id=1, command_id="s", today=MONDAY)
    assert [t.node_id for t in open_tasks(db, big)] == ["full_review"]
    assert [t.node_id for t in open_tasks(db, small)] == ["quick_review"]
