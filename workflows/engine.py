"""The workflow engine: moves instances through a definition, one command at a time.

Every command (start, complete a task, ask for supplements, resubmit, pause, resume, extend, withdraw, fire a timer)
is idempotent by its command id, runs with the instance row locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
serialises writers at ``BEGIN IMMEDIATE``), and is recorded in the append-only event log. A join is recorded with a
command id derived from the instance and the join node, so the unique index on ``wf_events.command_id`` guarantees it
fires once even if two completions raced past the lock.

Clocks follow the Administrative Licensing Law: each branch has its own due date in working days; asking the
applicant for supplements or pausing for expert review stops that branch's clock and keeps the working days left;
resuming starts them again from the day of resumption. The engine calls back into the services only through
``Hooks``: it never knows what a licence or a citizen is.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.db import lock_for_update, utcnow
from services.errors import InvalidTransition, NotFound, ValidationFailed
from workflows.calendar import WorkingCalendar
from workflows.definitions import Definition, Node, Registry
from workflows.models import Branch, Event, HandlingTally, Request, Task, Timer, WorkflowInstance
from workflows.states import (
    ENDED_INSTANCE_STATES,
    RUNNING_BRANCH_STATES,
    BranchState,
    InstanceState,
    Outcome,
    RequestKind,
    RequestState,
    TaskState,
    TimerKind,
)

BRANCH_EXTENSION_DAYS = 10  # art. 42: the agency head may extend a decision by 10 working days
JOINT_EXTENSION_DAYS = 15  # art. 42: a joint (parallel) approval may be extended by 15 working days
WARNING_DAYS = 2  # "two working days left" early warning (yellow card)


class Hooks(Protocol):
    def run_action(self, session: Session, instance: WorkflowInstance, action: str) -> None:
        """Run an automatic step (typically: record an outbox job for after commit)."""

    def on_state_changed(self, session: Session, instance: WorkflowInstance) -> None:
        """The instance was accepted or ended; mirror it on the subject."""

    def on_notice(self, session: Session, instance: WorkflowInstance, kind: str, detail: dict) -> None:
        """Something people must be told: supplement asked, clock paused, extension, deadline warning, overdue."""


class NoHooks:
    def run_action(self, session, instance, action):
        pass

    def on_state_changed(self, session, instance):
        pass

    def on_notice(self, session, instance, kind, detail):
        pass


def tally(session: Session, agency_code: str, handling_days: int, on_time: bool, count: int = 1) -> None:
    """Add a decided branch to its agency's handling tally (an upsert, safe under concurrent decisions)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(HandlingTally).values(agency_code=agency_code, handling_days=handling_days, decided=count,
                                             on_time=count if on_time else 0)
    session.execute(statement.on_conflict_do_update(
        index_elements=["agency_code", "handling_days"],
        set_={"decided": HandlingTally.decided + count,
              "on_time": HandlingTally.on_time + (count if on_time else 0)}))


def rebuild_tallies(session: Session) -> None:
    """Recount every agency's handling tally from the decided branches (after bulk loads that bypass the engine)."""
    session.execute(HandlingTally.__table__.delete())
    session.execute(HandlingTally.__table__.insert().from_select(
        ["agency_code", "handling_days", "decided", "on_time"],
        select(Branch.agency_code, Branch.handling_days, func.count(),
               func.sum(case((Branch.on_time.is_(True), 1), else_=0)))
        .where(Branch.handling_days.is_not(None)).group_by(Branch.agency_code, Branch.handling_days)))


class Engine:
    def __init__(self, registry: Registry, calendar: WorkingCalendar, hooks: Hooks | None = None):
        self.registry = registry
        self.calendar = calendar
        self.hooks = hooks or NoHooks()

    # -- commands: the life of an instance ------------------------------------------------------------------------

    def start(self, session: Session, key: str, *, subject_id: int, data: dict, actor_id: int | None,
              command_id: str, today: dt.date) -> WorkflowInstance:
        """Start an instance of the latest version of ``key`` and run it to its first wait state."""
        previous = self._previous(session, command_id)
        if previous is not None:
            return session.get(WorkflowInstance, previous.instance_id)
        definition = self.registry.get(key)
        instance = WorkflowInstance(definition_key=key, definition_version=definition.version, subject_id=subject_id,
                                    state=InstanceState.RUNNING, data=dict(data), received_on=today, revision=0)
        session.add(instance)
        session.flush()
        self._event(session, instance, actor_id, "started", None, {"version": definition.version}, command_id)
        self._enter(session, definition, instance, definition.start, today)
        session.flush()
        return instance

    def complete_task(self, session: Session, task_id: int, *, actor_id: int | None, outcome: str, command_id: str,
                      today: dt.date, opinion: str = "") -> Task:
        """Complete a human task with ``outcome``: accept (the lead window), approve or reject (a branch)."""
        task, instance = self._open_task_for_command(session, task_id, command_id)
        if task is None:
            return instance  # a repeated command: nothing to do
        definition = self.definition_of(instance)
        node = definition.node(task.node_id)
        allowed = {Outcome.ACCEPT} if node.acceptance else {Outcome.APPROVE, Outcome.REJECT}
        if outcome not in allowed:
            raise InvalidTransition("outcome_not_allowed", outcome=outcome)
        if outcome == Outcome.REJECT and not opinion.strip():
            raise ValidationFailed("reasons_required")
        self._require_running_clock(session, task)
        self._close_task(task, outcome, actor_id)
        self._event(session, instance, actor_id, f"task_{outcome}", node.id, {"opinion": opinion}, command_id)
        if node.acceptance:
            self._accept(session, definition, instance, node, accepted_on=today)
        elif task.branch is not None:
            self._decide_branch(session, definition, instance, task.branch, outcome, opinion, actor_id, today)
        else:
            self._enter(session, definition, instance, node.next, today)
        session.flush()
        return task

    def withdraw(self, session: Session, instance_id: int, *, actor_id: int, command_id: str, reason: str = ""):
        """The applicant withdraws before a decision: every open task, branch, request and timer is cancelled."""
        if self._previous(session, command_id) is not None:
            return session.get(WorkflowInstance, instance_id)
        instance = self._lock(session, instance_id)
        if self._previous(session, command_id) is not None:
            return instance
        if instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("already_decided")
        self._event(session, instance, actor_id, "withdrawn", None, {"reason": reason}, command_id)
        self._cancel_open(session, instance)
        self._end(session, instance, InstanceState.WITHDRAWN)
        session.flush()
        return instance

    # -- commands: clocks -----------------------------------------------------------------------------------------

    def request_supplement(self, session: Session, task_id: int, *, actor_id: int, items: list[str], note: str,
                           command_id: str, today: dt.date) -> Request | None:
        """The one-time supplement notice (一次性告知): every missing item at once; the branch's clock pauses.

        At acceptance it also keeps the application from counting as accepted when the 5 days run out."""
        task, instance = self._open_task_for_command(session, task_id, command_id)
        if task is None:
            return session.scalar(select(Request).where(Request.task_id == task_id).order_by(Request.id.desc()))
        items = [item.strip() for item in items if item and item.strip()]
        if not items:
            raise ValidationFailed("supplement_items_required")
        self._require_running_clock(session, task)
        branch = task.branch
        if branch is not None:
            self._stop_clock(session, branch, BranchState.WAITING_APPLICANT, today)
        else:
            self._cancel_timers(session, instance, kinds={TimerKind.ACCEPTANCE_DEADLINE})
        request = Request(instance_id=instance.id, branch_id=branch.id if branch else None, task_id=task.id,
                          kind=RequestKind.SUPPLEMENT, state=RequestState.OPEN, items=items, note=note,
                          agency_code=task.agency_code, requested_by=actor_id, requested_at=utcnow())
        session.add(request)
        session.flush()
        detail = {"request_id": request.id, "items": items, "note": note}
        self._event(session, instance, actor_id, "supplement_requested", task.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, "supplement_requested", detail)
        session.flush()
        return request

    def resubmit(self, session: Session, request_id: int, *, actor_id: int, command_id: str, today: dt.date):
        """The applicant answered a supplement notice: that same branch resumes with the working days it had left."""
        request = session.get(Request, request_id)
        if request is None or request.kind != RequestKind.SUPPLEMENT:
            raise NotFound("request")
        if self._previous(session, command_id) is not None:
            return request
        instance = self._lock(session, request.instance_id)
        if self._previous(session, command_id) is not None:
            return request
        session.refresh(request)
        if request.state != RequestState.OPEN or instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("request_closed")
        request.state, request.decided_at = RequestState.ANSWERED, utcnow()
        task = session.get(Task, request.task_id)
        if request.branch_id is not None:
            branch = session.get(Branch, request.branch_id)
            waited = max(self.calendar.working_days_between(branch.paused_on, today), 0)
            self._restart_clock(session, branch, today)
            if instance.joint_due is not None and waited:
                # Time the applicant spends supplementing is not the agencies' (art. 45): the joint limit moves too.
                instance.joint_due = self.calendar.add_working_days(instance.joint_due, waited)
                self._reschedule_joint(session, instance)
        else:
            definition = self.definition_of(instance)
            task.due_on = self.calendar.add_working_days(today, definition.node(task.node_id).limit_days)
            self._schedule(session, instance, TimerKind.ACCEPTANCE_DEADLINE, task.due_on + dt.timedelta(days=1))
        self._event(session, instance, actor_id, "resubmitted", task.node_id, {"request_id": request.id}, command_id)
        instance.revision += 1
        session.flush()
        return request

    def pause(self, session: Session, task_id: int, *, actor_id: int, reason: str, expected_days: int,
              command_id: str, today: dt.date) -> Branch | None:
        """Stop a branch's clock for expert review, testing or a hearing (art. 45); the applicant is told how long."""
        task, instance = self._open_task_for_command(session, task_id, command_id)
        if task is None:
            return None
        if task.branch is None:
            raise InvalidTransition("not_a_branch")
        if not reason.strip() or not isinstance(expected_days, int) or not 0 < expected_days <= 250:
            raise ValidationFailed("pause_reason_and_length_required")
        self._require_running_clock(session, task)
        branch = task.branch
        self._stop_clock(session, branch, BranchState.PAUSED, today)
        branch.resume_expected_on = self.calendar.add_working_days(today, expected_days)
        detail = {"reason": reason, "expected_days": expected_days,
                  "resume_expected_on": branch.resume_expected_on.isoformat()}
        self._event(session, instance, actor_id, "paused", branch.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, "paused", detail)
        session.flush()
        return branch

    def resume(self, session: Session, task_id: int, *, actor_id: int, command_id: str, today: dt.date):
        """Restart a paused branch's clock with the working days it had left."""
        if self._previous(session, command_id) is not None:
            return session.get(Task, task_id).branch
        task = self._task(session, task_id)
        instance = self._lock(session, task.instance_id)
        if self._previous(session, command_id) is not None:
            return task.branch
        branch = task.branch
        if branch is None or branch.state != BranchState.PAUSED or instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("not_paused")
        self._restart_clock(session, branch, today)
        self._event(session, instance, actor_id, "resumed", branch.node_id, {"due_on": branch.due_on.isoformat()},
                    command_id)
        session.flush()
        return branch

    def request_extension(self, session: Session, task_id: int, *, actor_id: int, reason: str,
                          command_id: str) -> Request | None:
        """Ask for the statutory extension; it takes effect only when a supervisor approves it."""
        task, instance = self._open_task_for_command(session, task_id, command_id)
        if task is None:
            return session.scalar(select(Request).where(Request.task_id == task_id,
                                                        Request.kind == RequestKind.EXTENSION))
        if task.branch is None:
            raise InvalidTransition("not_a_branch")
        if not reason.strip():
            raise ValidationFailed("extension_reason_required")
        branch = task.branch
        pending = session.scalar(select(Request.id).where(Request.branch_id == branch.id,
                                                          Request.kind == RequestKind.EXTENSION,
                                                          Request.state.in_([RequestState.OPEN,
                                                                             RequestState.APPROVED])))
        if branch.extended or pending is not None:
            raise InvalidTransition("already_extended")
        request = Request(instance_id=instance.id, branch_id=branch.id, task_id=task.id, kind=RequestKind.EXTENSION,
                          state=RequestState.OPEN, items=[], note=reason, agency_code=branch.agency_code,
                          requested_by=actor_id, requested_at=utcnow())
        session.add(request)
        session.flush()
        self._event(session, instance, actor_id, "extension_requested", branch.node_id,
                    {"request_id": request.id, "reason": reason}, command_id)
        session.flush()
        return request

    def decide_extension(self, session: Session, request_id: int, *, actor_id: int, approve: bool, command_id: str,
                         today: dt.date, comment: str = "") -> Request:
        """A supervisor grants (+10 working days to the branch, +15 once to the joint limit) or refuses."""
        request = session.get(Request, request_id)
        if request is None or request.kind != RequestKind.EXTENSION:
            raise NotFound("request")
        if self._previous(session, command_id) is not None:
            return request
        instance = self._lock(session, request.instance_id)
        if self._previous(session, command_id) is not None:
            return request
        session.refresh(request)
        if request.state != RequestState.OPEN or instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("request_closed")
        request.decided_by, request.decided_at = actor_id, utcnow()
        branch = session.get(Branch, request.branch_id)
        if not approve or branch.state not in RUNNING_BRANCH_STATES:
            request.state = RequestState.REFUSED
            self._event(session, instance, actor_id, "extension_refused", branch.node_id,
                        {"request_id": request.id, "comment": comment}, command_id)
            session.flush()
            return request
        request.state = RequestState.APPROVED
        branch.extended = True
        if branch.state == BranchState.ACTIVE:
            branch.due_on = self.calendar.add_working_days(branch.due_on, BRANCH_EXTENSION_DAYS)
            branch.overdue = branch.due_on < today
            self._sync_branch_task(session, branch)
            self._schedule_branch_timers(session, instance, branch, today)
        else:
            branch.remaining_days = (branch.remaining_days or 0) + BRANCH_EXTENSION_DAYS
        if not instance.joint_extended and instance.joint_due is not None:
            instance.joint_extended = True
            instance.joint_due = self.calendar.add_working_days(instance.joint_due, JOINT_EXTENSION_DAYS)
            instance.joint_overdue = instance.joint_due < today
            self._reschedule_joint(session, instance)
        detail = {"request_id": request.id, "reason": request.note, "due_on": branch.due_on.isoformat(),
                  "agency": branch.agency_code}
        self._event(session, instance, actor_id, "extension_granted", branch.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, "extension_granted", detail)
        session.flush()
        return request

    # -- timers ---------------------------------------------------------------------------------------------------

    def fire_timer(self, session: Session, timer_id: int, today: dt.date) -> bool:
        """Act on a due timer once; a timer already fired, cancelled or no longer relevant does nothing."""
        timer = session.get(Timer, timer_id)
        if timer is None:
            return False
        instance = self._lock(session, timer.instance_id)
        session.refresh(timer)
        if timer.fired_at is not None or timer.cancelled_at is not None or timer.due_on > today:
            return False
        timer.fired_at = utcnow()
        if instance.state in ENDED_INSTANCE_STATES:
            return False
        command_id = f"timer:{timer.id}"
        if timer.kind == TimerKind.ACCEPTANCE_DEADLINE:
            return self._deemed_acceptance(session, instance, command_id)
        if timer.kind == TimerKind.JOINT_DEADLINE:
            if instance.joint_due is None or instance.joint_due >= today:
                return False
            instance.joint_overdue = True
            detail = {"joint_due": instance.joint_due.isoformat()}
            self._event(session, instance, None, "joint_overdue", None, detail, command_id)
            self.hooks.on_notice(session, instance, "joint_overdue", detail)
            return True
        branch = session.get(Branch, timer.branch_id)
        if branch is None or branch.state != BranchState.ACTIVE:
            return False
        detail = {"agency": branch.agency_code, "due_on": branch.due_on.isoformat(), "branch_id": branch.id}
        if timer.kind == TimerKind.BRANCH_WARNING:
            self._event(session, instance, None, "deadline_warning", branch.node_id, detail, command_id)
            self.hooks.on_notice(session, instance, "deadline_warning", detail)
            return True
        if branch.due_on >= today:
            return False
        branch.overdue = True
        self._event(session, instance, None, "overdue", branch.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, "overdue", detail)
        return True

    # -- versions -------------------------------------------------------------------------------------------------

    def migrate_to_version(self, session: Session, instance_id: int, version: int, *, actor_id: int | None,
                           command_id: str, mapping: dict[str, str] | None = None) -> WorkflowInstance:
        """Move an instance waiting at a join to another version whose branches map one to one onto its own.

        ``mapping`` renames branch nodes (old id -> new id); unnamed branches keep their id. Each mapped branch must
        be a branch of the same split in the new version, handled by the same agency. Nothing changes otherwise.
        """
        if self._previous(session, command_id) is not None:
            return session.get(WorkflowInstance, instance_id)
        instance = self._lock(session, instance_id)
        if self._previous(session, command_id) is not None:
            return instance
        mapping = mapping or {}
        if instance.state != InstanceState.RUNNING:
            raise InvalidTransition("not_running")
        target = self.registry.get(instance.definition_key, version)
        branches = session.scalars(select(Branch).where(Branch.instance_id == instance.id)).all()
        if not branches:
            raise InvalidTransition("not_at_join")
        new_ids = {b.node_id: mapping.get(b.node_id, b.node_id) for b in branches}
        if len(set(new_ids.values())) != len(new_ids):
            raise InvalidTransition("mapping_not_one_to_one")
        splits = {s.id: s for s in target.nodes.values() if s.type == "split"}
        homes = set()
        for branch in branches:
            node = target.nodes.get(new_ids[branch.node_id])
            home = next((s.id for s in splits.values() if node is not None and node.id in s.branches), None)
            if node is None or home is None or node.agency != branch.agency_code:
                raise InvalidTransition("branch_does_not_map", branch=branch.node_id)
            homes.add(home)
        if len(homes) != 1:
            raise InvalidTransition("branches_in_different_splits")
        old_version = instance.definition_version
        for branch in branches:
            if new_ids[branch.node_id] != branch.node_id:
                session.execute(update(Task).where(Task.branch_id == branch.id).values(node_id=new_ids[branch.node_id]))
                branch.node_id = new_ids[branch.node_id]
        instance.definition_version = version
        instance.revision += 1
        self._event(session, instance, actor_id, "migrated", None,
                    {"from": old_version, "to": version, "mapping": new_ids}, command_id)
        session.flush()
        return instance

    # -- queries --------------------------------------------------------------------------------------------------

    def definition_of(self, instance: WorkflowInstance) -> Definition:
        return self.registry.get(instance.definition_key, instance.definition_version)

    # -- internals: commands --------------------------------------------------------------------------------------

    def _previous(self, session: Session, command_id: str) -> Event | None:
        if not command_id:
            raise ValidationFailed("command_id_required")
        return session.scalar(select(Event).where(Event.command_id == command_id))

    def _task(self, session: Session, task_id: int) -> Task:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound("task")
        return task

    def _open_task_for_command(self, session, task_id, command_id):
        """(task, locked instance) for a command on an open task, or (None, task) for a repeated command."""
        task = self._task(session, task_id)
        if self._previous(session, command_id) is not None:
            return None, task
        instance = self._lock(session, task.instance_id)
        # A twin of this command may have committed while we waited for the lock: then it is a repeat, not an error.
        if self._previous(session, command_id) is not None:
            return None, task
        session.refresh(task)
        if task.state != TaskState.OPEN or instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("task_closed")
        instance.revision += 1
        return task, instance

    def _require_running_clock(self, session, task: Task) -> None:
        """Decisions and new requests need the clock running: not while the applicant or an expert has the case."""
        if task.branch is not None:
            if task.branch.state != BranchState.ACTIVE:
                raise InvalidTransition("clock_paused", state=task.branch.state.value)
            return
        waiting = session.scalar(select(Request.id).where(Request.task_id == task.id,
                                                          Request.kind == RequestKind.SUPPLEMENT,
                                                          Request.state == RequestState.OPEN))
        if waiting is not None:
            raise InvalidTransition("waiting_for_applicant")

    def _lock(self, session: Session, instance_id: int) -> WorkflowInstance:
        query = select(WorkflowInstance).where(WorkflowInstance.id == instance_id)
        instance = session.scalar(lock_for_update(query, session).execution_options(populate_existing=True))
        if instance is None:
            raise NotFound("instance")
        return instance

    def _event(self, session, instance, actor_id, kind, node_id, detail, command_id=None) -> Event:
        event = Event(instance_id=instance.id, actor_id=actor_id, kind=kind, node_id=node_id, detail=detail,
                      command_id=command_id, at=utcnow())
        session.add(event)
        return event

    @staticmethod
    def _close_task(task: Task, outcome: str, actor_id: int | None) -> None:
        task.state, task.outcome = TaskState.COMPLETED, outcome
        task.completed_at, task.completed_by = utcnow(), actor_id

    # -- internals: moving through the definition -----------------------------------------------------------------

    def _enter(self, session: Session, definition: Definition, instance: WorkflowInstance, node_id: str,
               today: dt.date) -> None:
        """Run automatic nodes from ``node_id`` until the instance waits for people or ends."""
        while node_id is not None:
            node = definition.node(node_id)
            if node.type == "task":
                self._open_task(session, instance, node, today, branch=None)
                return
            if node.type == "split":
                if self._fan_out(session, definition, instance, node, today):
                    return
                node_id = node.join  # no branch applies: nothing to wait for
            elif node.type == "join":
                self._event(session, instance, None, "joined", node.id, {}, command_id=f"join:{instance.id}:{node.id}")
                node_id = node.next
            elif node.type == "choice":
                node_id = next((nxt for cond, nxt in node.cases if cond.evaluate(instance.data)), node.default)
                self._event(session, instance, None, "chose", node.id, {"next": node_id})
            elif node.type == "action":
                self.hooks.run_action(session, instance, node.action)
                self._event(session, instance, None, "action", node.id, {"action": node.action})
                node_id = node.next
            elif node.type == "end":
                self._end(session, instance, InstanceState(node.outcome))
                return
            else:  # the loader rejects unknown types
                raise AssertionError(f"unhandled node type {node.type}")

    def _open_task(self, session, instance, node: Node, today, branch: Branch | None) -> Task:
        due = branch.due_on if branch else self.calendar.add_working_days(today, node.limit_days)
        task = Task(instance_id=instance.id, branch=branch, node_id=node.id,
                    agency_code=node.agency, role=node.role, state=TaskState.OPEN, due_on=due, created_at=utcnow())
        session.add(task)
        if node.acceptance:  # the last day is still in time: the deadline fires the day after
            self._schedule(session, instance, TimerKind.ACCEPTANCE_DEADLINE, due + dt.timedelta(days=1))
        return task

    def _accept(self, session, definition, instance, node: Node, accepted_on: dt.date) -> None:
        instance.accepted_on = accepted_on
        instance.joint_due = self.calendar.add_working_days(accepted_on, definition.joint_limit_days)
        self._cancel_timers(session, instance, kinds={TimerKind.ACCEPTANCE_DEADLINE})
        self._reschedule_joint(session, instance)
        self.hooks.on_state_changed(session, instance)
        self._enter(session, definition, instance, node.next, accepted_on)

    def _deemed_acceptance(self, session, instance, command_id: str) -> bool:
        """Art. 32: not accepted and no supplement notice within 5 working days counts as accepted on arrival."""
        definition = self.definition_of(instance)
        tasks = session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == TaskState.OPEN,
                                                   Task.branch_id.is_(None))).all()
        acceptance = next((t for t in tasks if definition.node(t.node_id).acceptance), None)
        if acceptance is None:
            return False
        asked = session.scalar(select(Request.id).where(Request.task_id == acceptance.id,
                                                        Request.kind == RequestKind.SUPPLEMENT))
        if asked is not None:
            return False
        self._close_task(acceptance, Outcome.ACCEPT, None)
        self._event(session, instance, None, "deemed_accepted", acceptance.node_id,
                    {"accepted_on": instance.received_on.isoformat()}, command_id)
        self._accept(session, definition, instance, definition.node(acceptance.node_id),
                     accepted_on=instance.received_on)
        return True

    def _fan_out(self, session, definition, instance, split: Node, today) -> bool:
        """Start every branch whose condition holds, all at once, each with its own clock."""
        started = []
        for branch_id in split.branches:
            node = definition.node(branch_id)
            if node.when is not None and not node.when.evaluate(instance.data):
                self._event(session, instance, None, "branch_skipped", node.id, {"condition": node.when.source})
                continue
            branch = Branch(instance_id=instance.id, node_id=node.id, agency_code=node.agency,
                            matter_code=node.matter, state=BranchState.ACTIVE, started_on=today,
                            due_on=self.calendar.add_working_days(today, node.limit_days), paused_days=0)
            session.add(branch)
            # Linked by relationship, not by id: one flush later inserts all branches, tasks and timers in batches.
            self._open_task(session, instance, node, today, branch)
            self._schedule_branch_timers(session, instance, branch, today, fresh=True)
            started.append(node.id)
        self._event(session, instance, None, "fanned_out", split.id, {"branches": started})
        return bool(started)

    def _decide_branch(self, session, definition, instance, branch: Branch, outcome, opinion, actor_id, today):
        branch.decided_at, branch.decided_by, branch.opinion = utcnow(), actor_id, opinion
        worked = self.calendar.working_days_between(branch.started_on, today) - (branch.paused_days or 0)
        branch.handling_days, branch.on_time = max(worked, 0), today <= branch.due_on
        tally(session, branch.agency_code, branch.handling_days, branch.on_time)
        self._cancel_timers(session, instance, branch=branch)
        if outcome == Outcome.REJECT:
            # The first rejection ends the case; every other branch, task, request and timer is cancelled.
            branch.state = BranchState.REJECTED
            self._cancel_open(session, instance)
            self._end(session, instance, InstanceState.REJECTED)
            return
        branch.state = BranchState.APPROVED
        session.flush()
        node = definition.node(branch.node_id)
        siblings = session.scalars(select(Branch).where(Branch.instance_id == instance.id)).all()
        members = set(definition.node(definition.split_of_join[node.next]).branches)
        if all(b.state == BranchState.APPROVED for b in siblings if b.node_id in members):
            self._enter(session, definition, instance, node.next, today)

    def _cancel_open(self, session, instance) -> None:
        now = utcnow()
        session.execute(update(Task).where(Task.instance_id == instance.id, Task.state == TaskState.OPEN)
                        .values(state=TaskState.CANCELLED, completed_at=now))
        session.execute(update(Branch).where(Branch.instance_id == instance.id,
                                             Branch.state.in_(RUNNING_BRANCH_STATES))
                        .values(state=BranchState.CANCELLED))
        session.execute(update(Request).where(Request.instance_id == instance.id, Request.state == RequestState.OPEN)
                        .values(state=RequestState.CANCELLED, decided_at=now))
        self._cancel_timers(session, instance)
        session.expire_all()

    def _end(self, session, instance, state: InstanceState) -> None:
        instance.state = state
        instance.ended_at = utcnow()
        self._cancel_timers(session, instance)
        self._event(session, instance, None, "ended", None, {"state": state.value})
        self.hooks.on_state_changed(session, instance)

    # -- internals: clocks and timers ----------------------------------------------------------------------------

    def _stop_clock(self, session, branch: Branch, state: BranchState, today: dt.date) -> None:
        branch.remaining_days = max(self.calendar.working_days_between(today, branch.due_on), 0)
        branch.paused_on = today
        branch.state = state
        self._cancel_timers(session, branch.instance, branch=branch)

    def _restart_clock(self, session, branch: Branch, today: dt.date) -> None:
        branch.paused_days = (branch.paused_days or 0) + max(self.calendar.working_days_between(branch.paused_on,
                                                                                              today), 0)
        branch.due_on = self.calendar.add_working_days(today, branch.remaining_days or 0)
        branch.state = BranchState.ACTIVE
        branch.remaining_days = branch.paused_on = branch.resume_expected_on = None
        branch.overdue = False
        self._sync_branch_task(session, branch)
        self._schedule_branch_timers(session, branch.instance, branch, today)

    def _sync_branch_task(self, session, branch: Branch) -> None:
        session.execute(update(Task).where(Task.branch_id == branch.id, Task.state == TaskState.OPEN)
                        .values(due_on=branch.due_on).execution_options(synchronize_session="fetch"))

    def _schedule(self, session, instance, kind: TimerKind, due_on: dt.date, branch: Branch | None = None) -> None:
        session.add(Timer(instance_id=instance.id, branch=branch, kind=kind, due_on=due_on))

    def _schedule_branch_timers(self, session, instance, branch: Branch, today: dt.date, fresh: bool = False) -> None:
        if not fresh:  # a brand-new branch has no timers to cancel
            self._cancel_timers(session, instance, branch=branch)
        warning = self.calendar.add_working_days(branch.due_on, -WARNING_DAYS)
        if warning >= today:
            self._schedule(session, instance, TimerKind.BRANCH_WARNING, warning, branch)
        # Overdue means the day after the due date has come without a decision.
        self._schedule(session, instance, TimerKind.BRANCH_DEADLINE, branch.due_on + dt.timedelta(days=1), branch)

    def _reschedule_joint(self, session, instance) -> None:
        self._cancel_timers(session, instance, kinds={TimerKind.JOINT_DEADLINE})
        if instance.joint_due is not None:
            self._schedule(session, instance, TimerKind.JOINT_DEADLINE, instance.joint_due + dt.timedelta(days=1))

    def _cancel_timers(self, session, instance, *, branch: Branch | None = None, kinds=None) -> None:
        query = update(Timer).where(Timer.instance_id == instance.id, Timer.fired_at.is_(None),
                                    Timer.cancelled_at.is_(None))
        if branch is not None:
            query = query.where(Timer.branch_id == branch.id)
        if kinds:
            query = query.where(Timer.kind.in_(kinds))
        session.flush()
        session.execute(query.values(cancelled_at=utcnow()).execution_options(synchronize_session=False))
