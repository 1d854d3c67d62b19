"""The Administrative Licensing Law's rules as the engine applies them, one test per rule (issue 19, points 1-8).

Each test names the article it follows. Dates are working days on a Monday-to-Friday calendar from ``MONDAY``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.catalogue.definitions import ACTIONS
from services.errors import InvalidTransition
from tests.workflows.shipped import shipped_registry
from tests.workflows.test_clocks import CAL, NoticeHooks, branch_task, wd
from tests.workflows.test_engine import MONDAY, accept, open_tasks, start
from workflows.engine import Engine
from workflows.models import Branch, Event
from workflows.states import BranchState, EventKind, InstanceState, RequestState, TaskState
from workflows.timers import sweep


@pytest.fixture
def hooks():
    return NoticeHooks()


@pytest.fixture
def engine(hooks):
    return Engine(shipped_registry(actions=ACTIONS), CAL, hooks)


def events(db, instance, kind):
    return db.scalars(select(Event).where(Event.instance_id == instance.id, Event.kind == kind)
                      .order_by(Event.id)).all()


# -- acceptance (art. 32) ------------------------------------------------------------------------------------------

def test_art_32_5_after_a_complete_supplement_silence_counts_as_acceptance_on_the_day_it_came(db, database, engine):
    """Point 1. Art. 32(5): an application whose supplement is complete must be accepted. The hub gives the window
    5 working days again; when they pass, it counts as accepted on the day the complete supplement arrived."""
    instance = start(db, engine)
    (acceptance,) = open_tasks(db, instance)
    request = engine.request_supplement(db, acceptance.id, actor_id=1, items=["Lease signed by both parties"],
                                        note="", command_id="s", today=wd(2))
    engine.resubmit(db, request.id, actor_id=7, command_id="r", today=wd(8))
    assert acceptance.due_on == wd(13)
    db.flush()
    assert sweep(database, engine, wd(13))["fired"] == 0  # the fifth working day is still in time
    assert sweep(database, engine, wd(14))["fired"] == 1
    db.expire_all()
    assert acceptance.state == TaskState.COMPLETED and instance.accepted_on == wd(8)
    assert [e.detail["accepted_on"] for e in events(db, instance, EventKind.DEEMED_ACCEPTED)] == [wd(8).isoformat()]
    limits = {"market": 10, "fire": 10, "urban": 20, "env": 20}
    assert all(t.due_on == CAL.add_working_days(wd(8), limits[t.agency_code]) for t in open_tasks(db, instance))


def test_art_32_4_the_supplement_notice_at_acceptance_is_one_time(db, engine):
    """Point 2. Art. 32(4): every missing item is told at once (一次告知); a second notice is refused."""
    instance = start(db, engine)
    (acceptance,) = open_tasks(db, instance)
    request = engine.request_supplement(db, acceptance.id, actor_id=1, items=["Lease"], note="", command_id="s1",
                                        today=wd(1))
    engine.resubmit(db, request.id, actor_id=7, command_id="r1", today=wd(2))
    with pytest.raises(InvalidTransition) as refused:
        engine.request_supplement(db, acceptance.id, actor_id=1, items=["Floor plan"], note="", command_id="s2",
                                  today=wd(3))
    assert refused.value.code == "supplement_already_sent"
    assert acceptance.state == TaskState.OPEN and len(events(db, instance, EventKind.SUPPLEMENT_REQUESTED)) == 1


@pytest.mark.parametrize("sweep_first", [True, False])
def test_art_32_4_a_late_notice_cannot_undo_acceptance_on_arrival(db, database, engine, sweep_first):
    """Point 3. Art. 32(4): no notice within 5 working days means accepted as of receipt. A notice on the sixth day
    is refused, and the acceptance date is the day of arrival whether the sweep or the window records it first."""
    instance = start(db, engine)
    (acceptance,) = open_tasks(db, instance)
    db.flush()
    if sweep_first:
        sweep(database, engine, wd(6))
        db.expire_all()
        assert acceptance.state == TaskState.COMPLETED
    else:
        with pytest.raises(InvalidTransition) as late:
            engine.request_supplement(db, acceptance.id, actor_id=1, items=["Lease"], note="", command_id="late",
                                      today=wd(6))
        assert late.value.code == "acceptance_period_over"
        engine.complete_task(db, acceptance.id, actor_id=1, outcome="accept", command_id="acc", today=wd(7))
    assert instance.accepted_on == MONDAY and instance.joint_due == wd(45)
    assert events(db, instance, EventKind.SUPPLEMENT_REQUESTED) == []


# -- supplements during review (art. 45 as the hub reads it; one-time notice per branch) --------------------------

def test_overlapping_supplement_waits_move_the_joint_limit_by_their_union(db, engine):
    """Point 4. Time the applicant spends supplementing is not the agencies'; two agencies asking on the same day,
    answered together 10 working days later, stop the joint clock for 10 working days, not 20."""
    instance = start(db, engine)
    accept(db, engine, instance)
    market, env = branch_task(db, instance, "urban"), branch_task(db, instance, "env")
    asked = [engine.request_supplement(db, task.id, actor_id=3, items=["x"], note="", command_id=f"s-{task.id}",
                                       today=wd(5)) for task in (market, env)]
    assert instance.joint_paused_on == wd(5)
    engine.resubmit(db, asked[0].id, actor_id=7, command_id="r-market", today=wd(15))
    assert instance.joint_due == wd(45)  # env still waits: the joint clock is still stopped
    engine.resubmit(db, asked[1].id, actor_id=7, command_id="r-env", today=wd(15))
    assert instance.joint_due == wd(55) and instance.joint_paused_on is None


def test_partly_overlapping_waits_count_once(db, engine):
    """Point 4, staggered: market waits wd(5)-wd(15), env is paused for review wd(10)-wd(20): 15 days, not 20."""
    instance = start(db, engine)
    accept(db, engine, instance)
    market, env = branch_task(db, instance, "urban"), branch_task(db, instance, "env")
    request = engine.request_supplement(db, market.id, actor_id=3, items=["x"], note="", command_id="s",
                                        today=wd(5))
    engine.pause(db, env.id, actor_id=4, reason="Noise test", expected_days=10, command_id="p", today=wd(10))
    engine.resubmit(db, request.id, actor_id=7, command_id="r", today=wd(15))
    engine.resume(db, env.id, actor_id=4, command_id="go", today=wd(20))
    assert instance.joint_due == wd(60)


def test_a_branch_sends_one_supplement_notice(db, engine):
    """Point 5. The one-time notice holds per branch: after it was answered the agency cannot open a second round."""
    instance = start(db, engine)
    accept(db, engine, instance)
    market = branch_task(db, instance, "market")
    request = engine.request_supplement(db, market.id, actor_id=3, items=["Floor plan"], note="", command_id="s1",
                                        today=wd(1))
    engine.resubmit(db, request.id, actor_id=7, command_id="r1", today=wd(2))
    with pytest.raises(InvalidTransition) as refused:
        engine.request_supplement(db, market.id, actor_id=3, items=["Health certs"], note="", command_id="s2",
                                  today=wd(3))
    assert refused.value.code == "supplement_already_sent"
    assert market.branch.state == BranchState.ACTIVE
    env = branch_task(db, instance, "env")  # another agency still has its own one notice
    engine.request_supplement(db, env.id, actor_id=4, items=["Drainage plan"], note="", command_id="s3", today=wd(3))


def test_art_45_expert_review_does_not_count_toward_the_joint_limit(db, database, engine, hooks):
    """Point 6. Art. 45: expert review (and hearings, testing, inspection) is not counted in the time limits. A
    40-working-day review with every agency inside its own limit ends on time, not "joint limit overdue"."""
    instance = start(db, engine)
    accept(db, engine, instance)
    env = branch_task(db, instance, "env")
    for task in open_tasks(db, instance):
        if task.id != env.id:
            engine.complete_task(db, task.id, actor_id=3, outcome="approve", command_id=f"ok-{task.id}", today=wd(3))
    engine.pause(db, env.id, actor_id=4, reason="Expert review", expected_days=40, command_id="p", today=wd(5))
    db.flush()
    sweep(database, engine, wd(46))  # the original joint limit (wd 45) has passed while the review ran
    db.expire_all()
    assert not instance.joint_overdue
    engine.resume(db, env.id, actor_id=4, command_id="go", today=wd(45))
    assert instance.joint_due == wd(85)
    engine.complete_task(db, env.id, actor_id=4, outcome="approve", command_id="env-ok", today=wd(55))
    db.flush()
    sweep(database, engine, wd(90))
    db.expire_all()
    assert instance.state == InstanceState.APPROVED and not instance.joint_overdue
    assert "joint_overdue" not in hooks.notices


# -- extensions (art. 42) -------------------------------------------------------------------------------------------

def test_art_42_1_a_branch_extension_does_not_move_the_joint_limit(db, engine):
    """Point 7. Art. 42(1): the agency head's +10 working days are the branch's; the joint limit (art. 42(2)) moves
    only by the city's own decision."""
    instance = start(db, engine)
    accept(db, engine, instance)
    market = branch_task(db, instance, "urban")
    request = engine.request_extension(db, market.id, actor_id=3, reason="Lab results", command_id="x",
                                       today=wd(3))
    engine.decide_extension(db, request.id, actor_id=9, approve=True, command_id="ok", today=wd(4))
    assert market.branch.due_on == wd(30) and instance.joint_due == wd(45) and not instance.joint_extended


def test_art_42_2_the_joint_extension_is_its_own_decision_once(db, engine, hooks):
    """Point 7. Art. 42(2): +15 working days to the joint limit, decided once, with reasons told to the applicant."""
    instance = start(db, engine)
    accept(db, engine, instance)
    request = engine.request_joint_extension(db, instance.id, actor_id=1, agency_code="hub",
                                             reason="Four agencies, hearing needed", command_id="jx", today=wd(30))
    assert request.state == RequestState.OPEN and instance.joint_due == wd(45)
    with pytest.raises(InvalidTransition):  # one request at a time, one extension per case
        engine.request_joint_extension(db, instance.id, actor_id=1, agency_code="hub", reason="again",
                                       command_id="jx2", today=wd(30))
    engine.decide_joint_extension(db, request.id, actor_id=9, approve=True, comment="Approved", command_id="jok",
                                  today=wd(31))
    assert request.state == RequestState.APPROVED and instance.joint_due == wd(60) and instance.joint_extended
    assert "joint_extension_granted" in hooks.notices
    with pytest.raises(InvalidTransition) as again:
        engine.request_joint_extension(db, instance.id, actor_id=1, agency_code="market", reason="more",
                                       command_id="jx3", today=wd(32))
    assert again.value.code == "already_extended"


def test_a_refused_joint_extension_changes_no_date(db, engine, hooks):
    instance = start(db, engine)
    accept(db, engine, instance)
    request = engine.request_joint_extension(db, instance.id, actor_id=3, agency_code="market", reason="Busy",
                                             command_id="jx", today=wd(30))
    engine.decide_joint_extension(db, request.id, actor_id=9, approve=False, comment="No", command_id="no",
                                  today=wd(31))
    assert request.state == RequestState.REFUSED and instance.joint_due == wd(45) and not instance.joint_extended
    assert "joint_extension_granted" not in hooks.notices


def test_art_42_an_extension_after_the_limit_is_refused_and_overdue_stays(db, database, engine):
    """Point 8. Art. 42: the extension is decided within the limit. A grant after the due date is refused, the
    overdue mark stays, and a decision after the original deadline is not counted as on time."""
    instance = start(db, engine)
    accept(db, engine, instance)
    market = branch_task(db, instance, "urban")
    request = engine.request_extension(db, market.id, actor_id=3, reason="Lab results", command_id="x",
                                       today=wd(19))
    db.flush()
    sweep(database, engine, wd(21))
    db.expire_all()
    assert market.branch.overdue
    with pytest.raises(InvalidTransition) as late:
        engine.decide_extension(db, request.id, actor_id=9, approve=True, command_id="ok", today=wd(21))
    assert late.value.code == "limit_passed"
    engine.decide_extension(db, request.id, actor_id=9, approve=False, command_id="no", today=wd(21))
    with pytest.raises(InvalidTransition) as again:
        engine.request_extension(db, market.id, actor_id=3, reason="Still", command_id="x2", today=wd(21))
    assert again.value.code == "limit_passed"
    engine.complete_task(db, market.id, actor_id=3, outcome="approve", command_id="m-ok", today=wd(22))
    branch = db.scalar(select(Branch).where(Branch.instance_id == instance.id, Branch.agency_code == "urban"))
    assert branch.overdue and branch.on_time is False


def test_art_42_a_grant_before_the_sweep_but_after_the_due_date_is_refused_too(db, engine):
    """Point 8 without the sweep: the due date decides, not whether the overdue mark was written yet."""
    instance = start(db, engine)
    accept(db, engine, instance)
    market = branch_task(db, instance, "urban")
    request = engine.request_extension(db, market.id, actor_id=3, reason="Lab results", command_id="x",
                                       today=wd(19))
    with pytest.raises(InvalidTransition):
        engine.decide_extension(db, request.id, actor_id=9, approve=True, command_id="ok", today=wd(21))
    assert market.branch.due_on == wd(20) and not market.branch.extended


def test_a_pause_after_the_limit_does_not_clear_the_overdue_mark(db, engine):
    """Point 8's kin: stopping a clock after its limit ended and restarting it leaves the decision late."""
    instance = start(db, engine)
    accept(db, engine, instance)
    env = branch_task(db, instance, "env")
    engine.pause(db, env.id, actor_id=4, reason="Noise test", expected_days=5, command_id="p", today=wd(22))
    engine.resume(db, env.id, actor_id=4, command_id="go", today=wd(25))
    engine.complete_task(db, env.id, actor_id=4, outcome="approve", command_id="ok", today=wd(25))
    branch = db.scalar(select(Branch).where(Branch.instance_id == instance.id, Branch.agency_code == "env"))
    assert branch.overdue and branch.on_time is False


# -- each matter's own time limit (issue 19, point 9) -------------------------------------------------------------

def test_specific_laws_set_their_own_limits_and_extensions(db, engine):
    """Fire Protection Law art. 15: the fire inspection within 10 working days, no extension; Measures on Food
    Business Licensing and Filing (2023) art. 26: 10 working days, extendable by 5; otherwise art. 42(1): 20 + 10."""
    instance = start(db, engine)
    accept(db, engine, instance)
    fire, market, urban = (branch_task(db, instance, agency) for agency in ("fire", "market", "urban"))
    assert (fire.due_on, market.due_on, urban.due_on) == (wd(10), wd(10), wd(20))
    with pytest.raises(InvalidTransition) as none:
        engine.request_extension(db, fire.id, actor_id=4, reason="Busy", command_id="fx", today=wd(3))
    assert none.value.code == "no_extension"
    request = engine.request_extension(db, market.id, actor_id=3, reason="On-site check", command_id="mx",
                                       today=wd(3))
    engine.decide_extension(db, request.id, actor_id=9, approve=True, command_id="mok", today=wd(4))
    assert market.branch.due_on == wd(15)
