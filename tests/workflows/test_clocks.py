"""Statutory clocks: supplements, pauses, extensions, deemed acceptance, warnings and overdue timers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from services.catalogue.definitions import ACTIONS
from services.errors import InvalidTransition, ValidationFailed
from tests.workflows.shipped import shipped_registry
from tests.workflows.test_engine import MONDAY, RecordingHooks, accept, open_tasks, start
from workflows.calendar import WeekdayCalendar
from workflows.engine import Engine
from workflows.models import Branch, Timer
from workflows.states import BranchState, RequestState, TaskState
from workflows.timers import sweep

CAL = WeekdayCalendar()


def wd(n: int) -> dt.date:
    return CAL.add_working_days(MONDAY, n)


class NoticeHooks(RecordingHooks):
    def __init__(self):
        super().__init__()
        self.notices = []

    def on_notice(self, session, instance, kind, detail):
        self.notices.append(kind)


@pytest.fixture
def hooks():
    return NoticeHooks()


@pytest.fixture
def engine(hooks):
    return Engine(shipped_registry(actions=ACTIONS), CAL, hooks)


def branch_task(db, instance, agency):
    return next(t for t in open_tasks(db, instance) if t.agency_code == agency)


def test_supplement_pauses_one_branch_and_resumes_with_the_days_left(db, engine, hooks):
    instance = start(db, engine)
    accept(db, engine, instance)
    market, fire = branch_task(db, instance, "env"), branch_task(db, instance, "fire")  # env: 20 working days
    assert market.branch.due_on == wd(20)
    request = engine.request_supplement(db, market.id, actor_id=3, items=["Floor plan with kitchen", "Health certs"],
                                        note="", command_id="sup-1", today=wd(5))
    assert market.branch.state == BranchState.WAITING_APPLICANT and market.branch.remaining_days == 15
    assert "supplement_requested" in hooks.notices
    with pytest.raises(InvalidTransition):  # no decision while the applicant has the case
        engine.complete_task(db, market.id, actor_id=3, outcome="approve", command_id="too-soon", today=wd(6))
    engine.complete_task(db, fire.id, actor_id=4, outcome="approve", command_id="fire-ok", today=wd(6))  # goes on
    engine.resubmit(db, request.id, actor_id=7, command_id="resub-1", today=wd(15))
    assert request.state == RequestState.ANSWERED
    assert market.branch.state == BranchState.ACTIVE and market.branch.due_on == wd(30)
    assert market.due_on == wd(30)
    assert instance.joint_due == wd(45 + 10)  # the applicant's 10 working days are not the agencies'


def test_supplement_needs_items_and_a_resubmission_answers_once(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    market = branch_task(db, instance, "market")
    with pytest.raises(ValidationFailed):
        engine.request_supplement(db, market.id, actor_id=3, items=[" "], note="", command_id="s0", today=wd(1))
    request = engine.request_supplement(db, market.id, actor_id=3, items=["x"], note="", command_id="s1",
                                        today=wd(1))
    engine.resubmit(db, request.id, actor_id=7, command_id="r1", today=wd(2))
    engine.resubmit(db, request.id, actor_id=7, command_id="r1", today=wd(2))  # the same command again: no-op
    with pytest.raises(InvalidTransition):
        engine.resubmit(db, request.id, actor_id=7, command_id="r2", today=wd(3))


def test_expert_review_pause_and_resume(db, engine, hooks):
    instance = start(db, engine)
    accept(db, engine, instance)
    fire = branch_task(db, instance, "fire")
    engine.pause(db, fire.id, actor_id=4, reason="On-site fire test", expected_days=8, command_id="p1", today=wd(4))
    assert fire.branch.state == BranchState.PAUSED and fire.branch.resume_expected_on == wd(12)
    assert "paused" in hooks.notices
    engine.resume(db, fire.id, actor_id=4, command_id="r1", today=wd(14))
    assert fire.branch.due_on == wd(14 + 6)  # the fire inspection's 10 working days (Fire Protection Law art. 15)


def test_extension_takes_effect_only_when_a_supervisor_approves(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    urban = branch_task(db, instance, "urban")
    request = engine.request_extension(db, urban.id, actor_id=5, reason="Signboard structure review",
                                       command_id="x1", today=wd(2))
    assert urban.branch.due_on == wd(20) and instance.joint_due == wd(45)
    with pytest.raises(InvalidTransition):  # only one extension per branch
        engine.request_extension(db, urban.id, actor_id=5, reason="again", command_id="x2", today=wd(2))
    engine.decide_extension(db, request.id, actor_id=9, approve=True, command_id="ok", today=wd(3))
    assert urban.branch.due_on == wd(30) and urban.due_on == wd(30) and urban.branch.extended
    assert instance.joint_due == wd(45) and not instance.joint_extended  # the city's decision (art. 42(2))


def test_refused_extension_changes_no_date(db, engine):
    instance = start(db, engine)
    accept(db, engine, instance)
    env = branch_task(db, instance, "env")
    request = engine.request_extension(db, env.id, actor_id=5, reason="Busy", command_id="x1", today=wd(2))
    engine.decide_extension(db, request.id, actor_id=9, approve=False, command_id="no", today=wd(3))
    assert request.state == RequestState.REFUSED and env.branch.due_on == wd(20) and not env.branch.extended


def test_no_answer_within_five_working_days_counts_as_accepted_on_arrival(db, database, engine):
    instance = start(db, engine)
    db.flush()
    assert sweep(database, engine, wd(5))["fired"] == 0  # the fifth working day is still in time
    result = sweep(database, engine, wd(6))
    db.expire_all()
    assert result["fired"] == 1
    assert instance.accepted_on == MONDAY
    tasks = open_tasks(db, instance)
    assert {t.agency_code for t in tasks} == {"market", "fire", "urban", "env"}
    limits = {"market": 10, "fire": 10, "urban": 20, "env": 20}  # each matter's own limit (the catalogue's)
    assert all(t.due_on == wd(limits[t.agency_code]) for t in tasks)  # the clocks run from the day it arrived
    assert sweep(database, engine, wd(6)) == {"fired": 0, "skipped": 0, "failed": 0}


def test_a_supplement_notice_at_acceptance_stops_deemed_acceptance(db, database, engine):
    instance = start(db, engine)
    (acceptance,) = open_tasks(db, instance)
    request = engine.request_supplement(db, acceptance.id, actor_id=1, items=["Lease signed by both parties"],
                                        note="", command_id="s", today=wd(2))
    db.flush()
    sweep(database, engine, wd(30))
    db.expire_all()
    assert acceptance.state == TaskState.OPEN and instance.accepted_on is None
    engine.resubmit(db, request.id, actor_id=7, command_id="r", today=wd(31))
    assert acceptance.due_on == wd(36)


def test_warning_then_overdue_each_fire_once_and_a_missed_sweep_catches_up(db, database, engine, hooks):
    instance = start(db, engine)
    accept(db, engine, instance)
    for task in open_tasks(db, instance):
        if task.agency_code != "env":
            engine.complete_task(db, task.id, actor_id=3, outcome="approve", command_id=f"a{task.id}", today=wd(1))
    db.flush()
    sweep(database, engine, wd(18))
    assert hooks.notices.count("deadline_warning") == 1 and "overdue" not in hooks.notices
    sweep(database, engine, wd(40))  # a long outage: everything due since is caught up at once
    sweep(database, engine, wd(41))
    db.expire_all()
    assert hooks.notices.count("deadline_warning") == 1 and hooks.notices.count("overdue") == 1
    env = db.scalar(select(Branch).where(Branch.instance_id == instance.id, Branch.agency_code == "env"))
    assert env.overdue
    pending = db.scalar(select(func.count()).select_from(Timer).where(
        Timer.instance_id == instance.id, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None)))
    assert pending == 1  # only the joint deadline is still ahead
