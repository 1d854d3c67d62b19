"""Real concurrency on PostgreSQL: five agencies approving at the same instant, one decision posted twice at once,
one licence issued twice at once.

These tests commit for real from several threads, each with its own session and connection, so they cannot run
inside the ``db`` fixture's rolled-back transaction. They use a session factory of their own on the app's engine
and delete every row they created afterwards (the rest of the suite expects an otherwise empty database); the
``Ledger`` also checks that every table holds as many rows afterwards as before.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter as Tally
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services import clock
from services.applications.models import Application, Counter, Material
from services.applications.service import ApplicationHooks
from services.applications.tallies import recount
from services.audit.models import AuditEntry, AuditHead
from services.catalogue.models import Matter
from services.db import Base
from services.errors import InvalidTransition
from services.identity.models import Account, Enterprise
from services.jobs import outbox
from services.jobs.models import OutboxJob
from services.licences.models import Licence
from services.notifications.models import Notification
from workflows.calendar import WeekdayCalendar
from workflows.definitions import load_directory
from workflows.engine import Engine
from workflows.models import Branch, Event, Request, Task, Timer, WorkflowInstance
from workflows.states import BranchState, InstanceState, TaskState

pytestmark = pytest.mark.postgres

MONDAY = dt.date(2026, 11, 23)
CASES = 200
KEY = "five_agencies"
# Every agency with a matter of the demo catalogue; all but the environmental filing grant a licence.
BRANCH_MATTERS = {
    "market": "food_business_permit",
    "fire": "fire_safety_inspection",
    "urban": "outdoor_signboard",
    "env": "environmental_registration",
    "police": "residence_permit",
}
# The smallest PDF a parser opens (one blank page): uploads are parsed for active content.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
DEMO_DOMAIN = "demo.onewindow.test"


# -- committed rows, and deleting them again -------------------------------------------------------------------------

class Ledger:
    """Sessions that commit for real, and a record of what they created so that it can all be deleted afterwards."""

    def __init__(self, engine):
        self.engine = engine
        # Our own factory: the ``database`` fixture's one is re-bound to a test's connection by the ``db`` fixture.
        self.Session = sessionmaker(bind=engine, expire_on_commit=False)
        self.instances: set[int] = set()
        self.applications: set[int] = set()
        with self.Session() as session:
            self.counters = dict(session.execute(select(Counter.name, Counter.value)).all())
            self.outbox_floor = session.scalar(select(func.coalesce(func.max(OutboxJob.id), 0)))
            self.notification_floor = session.scalar(select(func.coalesce(func.max(Notification.id), 0)))
            self.audit_head = session.execute(select(AuditHead.seq, AuditHead.hash)).one()
        self.row_counts = self._row_counts()

    def _row_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}

    def cleanup(self) -> None:
        """Delete, in foreign-key order, exactly the rows that the test's instances and applications brought."""
        with self.Session.begin() as session:
            instances = set(self.instances)
            applications = set(self.applications)
            if instances:
                applications |= set(session.scalars(select(Application.id).where(
                    Application.workflow_instance_id.in_(instances))))
            if applications:
                instances |= {i for i in session.scalars(select(Application.workflow_instance_id).where(
                    Application.id.in_(applications))) if i is not None}
            branches = set(session.scalars(select(Branch.id).where(Branch.instance_id.in_(instances))))
            references = set(session.scalars(select(Application.reference).where(Application.id.in_(applications))))
            outbox_ids = [row.id for row in session.scalars(select(OutboxJob).where(OutboxJob.id > self.outbox_floor))
                          if (row.args or {}).get("branch_id") in branches]
            notification_ids = [note.id for note in session.scalars(
                select(Notification).where(Notification.id > self.notification_floor))
                if (note.params or {}).get("reference") in references]
            licences = select(Licence.id).where(Licence.branch_id.in_(branches)
                                                | Licence.application_id.in_(applications))
            for table in reversed(Base.metadata.sorted_tables):  # rows that hang off those licences (their history)
                for key in table.foreign_keys:
                    if key.column.table is Licence.__table__:
                        session.execute(table.delete().where(key.parent.in_(licences)))
            session.execute(delete(Licence).where(Licence.id.in_(licences)))
            for model in (Event, Timer, Request, Task, Branch):
                session.execute(delete(model).where(model.instance_id.in_(instances)))
            session.execute(delete(OutboxJob).where(OutboxJob.id.in_(outbox_ids)))
            session.execute(delete(Notification).where(Notification.id.in_(notification_ids)))
            session.execute(delete(Material).where(Material.application_id.in_(applications)))
            session.execute(delete(Application).where(Application.id.in_(applications)))
            session.execute(delete(WorkflowInstance).where(WorkflowInstance.id.in_(instances)))
            # The audit trail is append-only for the app; a test that committed rows cuts the chain back to where it
            # began (only the test's own appends come after that point, since tests run one at a time).
            seq, head_hash = self.audit_head
            session.execute(delete(AuditEntry).where(AuditEntry.seq > seq))
            session.execute(update(AuditHead).values(seq=seq, hash=head_hash))
            recount(session)  # the queue and branch tallies that the triggers appended to, likewise
            for counter in session.scalars(select(Counter)):
                if counter.name not in self.counters:
                    session.delete(counter)
                elif counter.value != self.counters[counter.name]:
                    counter.value = self.counters[counter.name]
        leaked = {t: (n, self.row_counts.get(t)) for t, n in self._row_counts().items() if n != self.row_counts.get(t)}
        assert not leaked, f"rows left behind (now, before): {leaked}"


@pytest.fixture
def postgres(database):
    if not database.is_postgresql:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...): these tests commit from several threads "
                    "at once and rely on SELECT ... FOR UPDATE")
    return database


@pytest.fixture
def ledger(postgres):
    ledger = Ledger(postgres.engine)
    try:
        yield ledger
    finally:
        ledger.cleanup()


# -- racing ----------------------------------------------------------------------------------------------------------

@contextmanager
def holding_instance_lock(engine, instance_id: int):
    """Hold the instance's row lock in a transaction of our own until the block ends."""
    with engine.connect() as conn:
        with conn.begin():
            conn.execute(text("SELECT id FROM wf_instances WHERE id = :id FOR UPDATE"), {"id": instance_id})
            yield


def wait_for_lock_waiters(engine, count: int, timeout: float = 10.0) -> bool:
    """Wait until ``count`` backends of this database are waiting for a lock (True), or give up (False)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(query).scalar_one() >= count:
                return True
            conn.rollback()
            time.sleep(0.005)
    return False


def race(ledger: Ledger, calls: list[Callable[[Session], object]], *, gate: int | None = None):
    """Run each call in its own thread and session, released together by a barrier; commit each.

    With ``gate`` (an instance id) the instance row is held locked until every thread waits for it, so all of them
    have done whatever the engine does before taking the lock: the tightest race there is.
    Returns ``(outcomes, gated)``: per call ``("ok", result)`` or ``("error", exception)``, and whether the gate saw
    every thread waiting.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, object] | None] = [None] * len(calls)

    def run(position, call):
        session = ledger.Session()
        try:
            barrier.wait(timeout=30)
            result = call(session)
            session.commit()
            outcomes[position] = ("ok", result)
        except Exception as exc:  # noqa: BLE001 - reported to the test, which decides
            session.rollback()
            outcomes[position] = ("error", exc)
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    gated = False
    if gate is None:
        for thread in threads:
            thread.start()
    else:
        with holding_instance_lock(ledger.engine, gate):
            for thread in threads:
                thread.start()
            gated = wait_for_lock_waiters(ledger.engine, len(calls))
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a racing thread hung"
    return outcomes, gated


# -- a five-branch definition run with the real services hooks --------------------------------------------------------

class CountingHooks(ApplicationHooks):
    """The services' hooks (the approval action records outbox jobs), counting each action run per instance."""

    def __init__(self):
        self._lock = threading.Lock()
        self.runs: Tally = Tally()

    def run_action(self, session, instance, action):
        with self._lock:
            self.runs[(instance.id, action)] += 1
        super().run_action(session, instance, action)


def five_branch_definition() -> dict:
    nodes = {
        "acceptance": {"type": "task", "acceptance": True, "agency": "hub", "role": "clerk", "limit_days": 5,
                       "next": "fan_out"},
        "fan_out": {"type": "split", "join": "all_approved", "branches": list(BRANCH_MATTERS)},
        "all_approved": {"type": "join", "next": "issue"},
        "issue": {"type": "action", "action": "issue_licences", "next": "approved"},
        "approved": {"type": "end", "outcome": "approved"},
    }
    for agency, matter in BRANCH_MATTERS.items():
        nodes[agency] = {"type": "task", "agency": agency, "role": "clerk", "limit_days": 20, "matter": matter,
                         "next": "all_approved"}
    return {"key": KEY, "version": 1, "start": "acceptance", "joint_limit_days": 45, "nodes": nodes}


@pytest.fixture
def five(tmp_path):
    (tmp_path / f"{KEY}.v1.yaml").write_text(yaml.safe_dump(five_branch_definition()), encoding="utf-8")
    hooks = CountingHooks()
    return Engine(load_directory(tmp_path, actions={"issue_licences"}), WeekdayCalendar(), hooks), hooks


def start_and_accept(ledger: Ledger, engine: Engine, label: str) -> tuple[int, dict[str, int]]:
    """A committed instance of the five-branch definition, accepted: (instance id, {agency: open task id})."""
    with ledger.Session() as session:  # two commands, two transactions
        instance = engine.start(session, KEY, subject_id=0, data={}, actor_id=1, command_id=f"{label}-start",
                                today=MONDAY)
        ledger.instances.add(instance.id)
        (acceptance,) = session.scalars(select(Task.id).where(Task.instance_id == instance.id,
                                                              Task.state == TaskState.OPEN))
        session.commit()
        engine.complete_task(session, acceptance, actor_id=1, outcome="accept", command_id=f"{label}-accept",
                             today=MONDAY)
        session.commit()
        tasks = dict(session.execute(select(Task.agency_code, Task.id).where(
            Task.instance_id == instance.id, Task.state == TaskState.OPEN)).all())
    assert set(tasks) == set(BRANCH_MATTERS)
    return instance.id, tasks


def deciding(engine: Engine, task_id: int, command_id: str, outcome: str = "approve", opinion: str = ""):
    def call(session):
        engine.complete_task(session, task_id, actor_id=2, outcome=outcome, opinion=opinion, command_id=command_id,
                             today=MONDAY)
        return command_id

    return call


def test_five_agencies_approving_at_the_same_instant_join_and_act_once(ledger, five):
    engine, hooks = five
    run = uuid.uuid4().hex[:10]
    with ledger.Session() as session:
        granting = {agency for agency, matter in BRANCH_MATTERS.items() if session.scalar(
            select(Matter.licence_type_id).where(Matter.code == matter)) is not None}
    assert granting == {"market", "fire", "urban", "police"}  # the demo catalogue, as the definition assumes
    outbox_seen, gated_cases = ledger.outbox_floor, 0
    for case in range(CASES):
        label = f"c{run}-{case}"
        instance_id, tasks = start_and_accept(ledger, engine, label)
        commands = {agency: f"{label}-{agency}" for agency in tasks}
        calls = [deciding(engine, tasks[agency], commands[agency]) for agency in tasks]
        # Half the cases hold the instance lock until all five threads wait for it; the others just race.
        outcomes, gated = race(ledger, calls, gate=instance_id if case % 2 == 0 else None)
        gated_cases += gated
        errors = [outcome for kind, outcome in outcomes if kind == "error"]
        assert not errors, f"case {case}: the engine raised under concurrent approvals: {errors!r}"

        with ledger.Session() as session:
            instance = session.get(WorkflowInstance, instance_id)
            events = session.execute(select(Event.kind, Event.node_id, Event.command_id).where(
                Event.instance_id == instance_id)).all()
            branches = session.scalars(select(Branch).where(Branch.instance_id == instance_id)).all()
            branch_tasks = session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                              Task.branch_id.is_not(None))).all()
            jobs = session.scalars(select(OutboxJob).where(OutboxJob.id > outbox_seen).order_by(OutboxJob.id)).all()
        kinds = Tally(kind for kind, _node, _command in events)
        assert instance.state == InstanceState.APPROVED, f"case {case}"
        assert (kinds["joined"], kinds["action"], kinds["ended"], kinds["task_approve"]) == (1, 1, 1, 5), \
            f"case {case}: {kinds}"
        assert {b.agency_code: b.state for b in branches} == dict.fromkeys(BRANCH_MATTERS, BranchState.APPROVED)
        assert sorted((t.agency_code, t.state, t.outcome) for t in branch_tasks) == sorted(
            (agency, TaskState.COMPLETED, "approve") for agency in BRANCH_MATTERS)
        approvals = sorted((node, command) for kind, node, command in events if kind == "task_approve")
        assert approvals == sorted(commands.items()), f"case {case}: each branch decided once, by its own command"
        assert hooks.runs[(instance_id, "issue_licences")] == 1, f"case {case}: the approval action ran again"

        # Exactly one issue_licence job per approved branch that grants a licence: no licence can be issued twice.
        agency_of = {b.id: b.agency_code for b in branches}
        mine = [job for job in jobs if job.args.get("branch_id") in agency_of]
        assert all(job.name == "issue_licence" for job in mine)
        assert sorted(agency_of[job.args["branch_id"]] for job in mine) == sorted(granting), f"case {case}"
        outbox_seen = max([outbox_seen, *(job.id for job in jobs)])
    # The gate only times out on a badly overloaded machine; it must have worked for most gated cases.
    assert gated_cases >= CASES // 4, f"only {gated_cases} cases had all five threads waiting on the lock"


# -- the same decision posted twice at once ---------------------------------------------------------------------------

def test_one_decision_posted_twice_at_once_takes_effect_once(ledger, five):
    engine, _hooks = five
    label = f"d{uuid.uuid4().hex[:10]}"
    instance_id, tasks = start_and_accept(ledger, engine, label)
    command = f"{label}-twice"
    outcomes, gated = race(ledger, [deciding(engine, tasks["fire"], command)] * 2, gate=instance_id)
    assert gated, "both requests should have been waiting for the instance lock"

    assert [kind for kind, _ in outcomes].count("ok") >= 1
    for kind, outcome in outcomes:
        # The engine re-checks the command id after the lock, so a twin sees the first one's result (test below).
        if kind == "error":
            assert isinstance(outcome, InvalidTransition) and outcome.code == "task_closed", repr(outcome)
    with ledger.Session() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.command_id == command)) == 1
        task = session.get(Task, tasks["fire"])
        assert (task.state, task.outcome) == (TaskState.COMPLETED, "approve")
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.instance_id == instance_id, Event.kind == "task_approve")) == 1
        assert session.get(WorkflowInstance, instance_id).state == InstanceState.RUNNING
        assert session.scalar(select(func.count()).select_from(Task).where(
            Task.instance_id == instance_id, Task.state == TaskState.OPEN)) == 4


def test_one_decision_posted_twice_at_once_answers_both_alike(ledger, five):
    engine, _hooks = five
    label = f"e{uuid.uuid4().hex[:10]}"
    instance_id, tasks = start_and_accept(ledger, engine, label)
    outcomes, gated = race(ledger, [deciding(engine, tasks["env"], f"{label}-twice")] * 2, gate=instance_id)
    assert gated
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes


@pytest.mark.parametrize("first, second", [("approve", "approve"), ("approve", "reject")])
def test_two_different_decisions_on_one_task_at_once_one_wins(ledger, five, first, second):
    engine, _hooks = five
    label = f"f{uuid.uuid4().hex[:10]}"
    instance_id, tasks = start_and_accept(ledger, engine, label)
    calls = [deciding(engine, tasks["urban"], f"{label}-1", first, "ok"),
             deciding(engine, tasks["urban"], f"{label}-2", second, "signboard too large")]
    outcomes, gated = race(ledger, calls, gate=instance_id)
    assert gated

    winners = [result for kind, result in outcomes if kind == "ok"]
    losers = [error for kind, error in outcomes if kind == "error"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], InvalidTransition) and losers[0].code == "task_closed", repr(losers[0])
    outcome = {f"{label}-1": first, f"{label}-2": second}[winners[0]]
    with ledger.Session() as session:
        decisions = session.execute(select(Event.kind, Event.command_id).where(
            Event.instance_id == instance_id, Event.kind.in_(["task_approve", "task_reject"]))).all()
        assert decisions == [(f"task_{outcome}", winners[0])]
        task = session.get(Task, tasks["urban"])
        assert (task.state, task.outcome) == (TaskState.COMPLETED, outcome)
        branch = session.get(Branch, task.branch_id)
        instance = session.get(WorkflowInstance, instance_id)
        if outcome == "approve":
            assert (branch.state, instance.state) == (BranchState.APPROVED, InstanceState.RUNNING)
        else:
            assert (branch.state, instance.state) == (BranchState.REJECTED, InstanceState.REJECTED)
            assert session.scalar(select(func.count()).select_from(Task).where(
                Task.instance_id == instance_id, Task.state == TaskState.OPEN)) == 0


# -- one licence issued twice at once ---------------------------------------------------------------------------------

def account(session: Session, local_part: str) -> Account:
    return session.scalar(select(Account).where(Account.email == f"{local_part}@{DEMO_DOMAIN}"))


def approved_restaurant_case(ledger: Ledger, storage_dir: Path) -> tuple[int, dict[str, int], list[int]]:
    """Apply for a restaurant and have every agency approve it, each step its own committed transaction (as the
    pages do). Returns (application id, {agency: branch id}, ids of the outbox jobs the approval recorded)."""
    from services.applications.service import Upload, decide_task, submit_application
    from services.licences.demo import demo_answers

    token = uuid.uuid4().hex
    with ledger.Session() as session:
        owner = account(session, "owner")
        enterprise = session.scalar(select(Enterprise).where(Enterprise.legal_representative_id == owner.id))
        application = submit_application(
            session, owner, "open_restaurant", enterprise_id=enterprise.id, submission_token=token,
            answers=demo_answers("open_restaurant", shop_name="并发小馆", address=f"示例路{token[:6]}号",
                                 floor_area=120, seats=40, signboard=True, signboard_location="外墙",
                                 signboard_area=3),
            uploads=[Upload("premises_proof", "lease.pdf", PDF)], storage_dir=storage_dir)
        ledger.applications.add(application.id)
        ledger.instances.add(application.workflow_instance_id)
        session.commit()
        application_id, instance_id = application.id, application.workflow_instance_id

    def open_tasks():
        with ledger.Session() as session:
            return session.execute(select(Task.id, Task.agency_code).where(
                Task.instance_id == instance_id, Task.state == TaskState.OPEN).order_by(Task.id)).all()

    pending = []
    for outcome in ("accept", "approve"):  # the lead window accepts, then every agency's branch approves
        for task_id, agency in open_tasks():
            with ledger.Session() as session:
                decide_task(session, account(session, f"clerk.{agency}"), task_id, outcome=outcome, opinion="",
                            command_id=f"{token[:20]}-{outcome}-{task_id}")
                session.commit()
                pending += outbox.take_pending(session)
    with ledger.Session() as session:
        application = session.get(Application, application_id)
        assert application.status == "approved", application.status
        branches = dict(session.execute(select(Branch.agency_code, Branch.id).where(
            Branch.instance_id == instance_id)).all())
    return application_id, branches, pending


def test_one_licence_issued_twice_at_once_exists_once(app, ledger, tmp_path):
    from services.licences.service import issue_licence

    application_id, branches, pending = approved_restaurant_case(ledger, tmp_path)
    assert len(pending) == 3  # market, fire and urban grant licences; the environmental filing does not
    branch_id = branches["market"]

    def issuing(session):
        licence = issue_licence(session, branch_id=branch_id, key_dir=Path(app.config["KEY_DIR"]),
                                public_url=app.config["PUBLIC_URL"])
        return licence.id, licence.number

    outcomes, _ = race(ledger, [issuing, issuing])
    issued = [result for kind, result in outcomes if kind == "ok"]
    failed = [error for kind, error in outcomes if kind == "error"]
    print(f"issue_licence twice at once: {[kind for kind, _ in outcomes]}")
    assert issued, outcomes
    # The loser either found the first licence, or (when both looked before either committed) hit the unique
    # index on licences.branch_id and rolled back; a retry -- as rq and the outbox sweep do -- finds the licence.
    assert all(isinstance(error, IntegrityError) for error in failed), failed
    if failed:
        with ledger.Session() as session:
            issued.append(issuing(session))
            session.commit()
    assert len(set(issued)) == 1, issued
    with ledger.Session() as session:
        licences = session.scalars(select(Licence).where(Licence.branch_id == branch_id)).all()
        assert [(lic.id, lic.number) for lic in licences] == [issued[0]]
        reference = session.get(Application, application_id).reference
        notices = [n for n in session.scalars(select(Notification).where(Notification.kind == "licence_issued"))
                   if n.params.get("reference") == reference]
        assert len(notices) == 1
        # The loser's serial number was rolled back with it: the next licence of the agency takes the next number.
        year = clock.today().year
        serial = session.scalar(select(Counter.value).where(Counter.name == f"licence:market:{year}"))
        assert serial == ledger.counters.get(f"licence:market:{year}", 0) + 1
