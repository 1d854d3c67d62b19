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

A command on a task reads what it decides on in one statement (``workflows.loading``; callers still get live ORM
objects), writes the rows it changes with the prebuilt statements of ``workflows.store``, and collects the rows it
adds in a ``Batch`` written at its end (``_finish``): about 7 statements per task completion instead of 17, no
unit-of-work flush on the way, and the hot statements run on the DBAPI cursor (``store.Prepared``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from services.db import lock_for_update, utcnow
from services.errors import InvalidTransition, NotFound, ValidationFailed
from workflows import store
from workflows.calendar import WorkingCalendar
from workflows.definitions import Definition, Node, Registry
from workflows.extensions import ExtensionCommands
from workflows.loading import TaskContext, load_open_task, previous_event_id, previous_instance_id, unsettled_members
from workflows.models import Branch, Event, Request, Task, Timer, WorkflowInstance
from workflows.states import (
    ENDED_INSTANCE_STATES,
    RUNNING_BRANCH_STATES,
    TASK_EVENT,
    BranchState,
    EventKind,
    InstanceState,
    Outcome,
    RequestKind,
    RequestState,
    TaskState,
    TimerKind,
)
from workflows.store import Batch

__all__ = ["Engine", "Hooks", "NoHooks"]

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


def _no_refresh(session: Session) -> None:
    pass


class Engine(ExtensionCommands):
    def __init__(self, registry: Registry, calendar: WorkingCalendar, hooks: Hooks | None = None, *,
                 refresh_calendar: Callable[[Session], None] | None = None):
        """``refresh_calendar(session)``, if given, runs first in every command, in the command's transaction: the
        calendar may change while the process runs (a holiday notice loaded on another host) and this is where the
        services bring it up to date. It must be cheap: it runs on every command."""
        self.registry = registry
        self.calendar = calendar
        self.hooks = hooks or NoHooks()
        self.refresh_calendar = refresh_calendar or _no_refresh

    # -- commands: the life of an instance ------------------------------------------------------------------------

    def start(self, session: Session, key: str, *, subject_id: int, data: dict, actor_id: int | None,
              command_id: str, today: dt.date) -> WorkflowInstance:
        """Start an instance of the latest version of ``key`` and run it to its first wait state."""
        self.refresh_calendar(session)
        session.flush()
        batch = Batch(session)
        previous = previous_instance_id(batch, command_id)
        if previous is not None:
            return session.get(WorkflowInstance, previous)
        definition = self.registry.get(key)
        values = {"definition_key": key, "definition_version": definition.version, "subject_id": subject_id,
                  "state": InstanceState.RUNNING, "data": dict(data), "received_on": today, "accepted_on": None,
                  "joint_due": None, "joint_extended": False, "joint_overdue": False, "joint_paused_on": None,
                  "started_at": utcnow(),
                  "ended_at": None}
        instance_id = store.insert_instance(batch, values)
        # The row is written; the object joins the session as if just loaded (no second INSERT, no SELECT).
        instance = WorkflowInstance(id=instance_id, **values)
        make_transient_to_detached(instance)
        session.add(instance)
        batch.event(instance_id, actor_id, EventKind.STARTED, None, {"version": definition.version}, command_id)
        self._enter(batch, definition, instance, definition.start, today)
        self._finish(batch, instance)
        return instance

    def complete_task(self, session: Session, task_id: int, *, actor_id: int | None, outcome: str, command_id: str,
                      today: dt.date, opinion: str = "") -> Task:
        """Complete a human task with ``outcome``: accept (the lead window), approve or reject (a branch)."""
        self.refresh_calendar(session)
        batch = Batch(session)
        context = self._open_task_for_command(batch, task_id, command_id)
        if context.repeated:
            return context.task  # a repeated command: nothing to do
        task, instance, branch = context.task, context.instance, context.branch
        definition = self.definition_of(instance)
        node = definition.node(task.node_id)
        allowed = {Outcome.ACCEPT} if node.acceptance else {Outcome.APPROVE, Outcome.REJECT}
        if outcome not in allowed:
            raise InvalidTransition("outcome_not_allowed", outcome=outcome)
        if outcome == Outcome.REJECT and not opinion.strip():
            raise ValidationFailed("reasons_required")
        self._require_running_clock(context)
        self._close_task(batch, task, outcome, actor_id)
        batch.event(instance.id, actor_id, TASK_EVENT[outcome], node.id, {"opinion": opinion}, command_id)
        if node.acceptance:
            # Art. 32(4): past the 5 working days the application counts as accepted on arrival, whoever records it.
            accepted_on = today if today <= task.due_on else self._deemed_accepted_on(batch, instance, task, node)
            self._accept(batch, definition, instance, node, accepted_on=accepted_on)
        elif branch is not None:
            self._decide_branch(batch, definition, context, outcome, opinion, actor_id, today)
        else:
            self._enter(batch, definition, instance, node.next, today)
        self._finish(batch, instance)
        return task

    def withdraw(self, session: Session, instance_id: int, *, actor_id: int, command_id: str, reason: str = ""):
        """The applicant withdraws before a decision: every open task, branch, request and timer is cancelled."""
        self.refresh_calendar(session)
        if previous_event_id(session, command_id) is not None:
            return session.get(WorkflowInstance, instance_id)
        instance = self._lock(session, instance_id)
        if previous_event_id(session, command_id) is not None:
            return instance
        if instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("already_decided")
        batch = Batch(session)
        batch.event(instance.id, actor_id, EventKind.WITHDRAWN, None, {"reason": reason}, command_id)
        self._cancel_open(batch, instance)
        self._end(batch, instance, InstanceState.WITHDRAWN)
        self._finish(batch, instance)
        return instance

    # -- commands: clocks -----------------------------------------------------------------------------------------

    def request_supplement(self, session: Session, task_id: int, *, actor_id: int, items: list, note: str,
                           command_id: str, today: dt.date) -> Request | None:
        """The one-time supplement notice (一次性告知): every missing item at once; the branch's clock pauses.

        An item is a text (a material to send) or ``{"text": ..., "kind": "document" | "question"}`` (a question
        is answered in writing). At acceptance it also keeps the application from counting as accepted when the 5
        days run out.

        The notice is one-time (art. 32(4)): one per acceptance task and one per branch, refused the second time
        ("supplement_already_sent"). At acceptance it must come within the 5 working days: a later notice cannot
        undo the acceptance the law already deems made on arrival ("acceptance_period_over")."""
        self.refresh_calendar(session)
        batch = Batch(session)
        context = self._open_task_for_command(batch, task_id, command_id)
        if context.repeated:
            return session.scalar(select(Request).where(Request.task_id == task_id).order_by(Request.id.desc()))
        task, instance, branch = context.task, context.instance, context.branch
        items = [item for item in (_notice_item(raw) for raw in items) if item is not None]
        if not items:
            raise ValidationFailed("supplement_items_required")
        self._require_running_clock(context)
        asked_before = select(Request.id).where(Request.kind == RequestKind.SUPPLEMENT,
                                                Request.state != RequestState.CANCELLED).limit(1)
        if branch is not None:
            if session.scalar(asked_before.where(Request.branch_id == branch.id)) is not None:
                raise InvalidTransition("supplement_already_sent")
            self._stop_clock(batch, instance, branch, BranchState.WAITING_APPLICANT, today)
        else:
            if session.scalar(asked_before.where(Request.task_id == task.id)) is not None:
                raise InvalidTransition("supplement_already_sent")
            if today > task.due_on:
                raise InvalidTransition("acceptance_period_over")
            self._cancel_timers(batch, instance.id, kinds={TimerKind.ACCEPTANCE_DEADLINE})
        request = self._new_request(session, task, branch, RequestKind.SUPPLEMENT, actor_id, items=items, note=note)
        detail = {"request_id": request.id, "items": items, "note": note}
        batch.event(instance.id, actor_id, EventKind.SUPPLEMENT_REQUESTED, task.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, EventKind.SUPPLEMENT_REQUESTED, detail)
        self._finish(batch, instance)
        return request

    def resubmit(self, session: Session, request_id: int, *, actor_id: int, command_id: str, today: dt.date):
        """The applicant answered a supplement notice: that same branch resumes with the working days it had left."""
        self.refresh_calendar(session)
        request, instance = self._open_request(session, request_id, RequestKind.SUPPLEMENT, command_id)
        if instance is None:
            return request  # this command was carried out already
        request.state, request.decided_at = RequestState.ANSWERED, utcnow()
        task = session.get(Task, request.task_id)
        batch = Batch(session)
        if request.branch_id is not None:
            branch = session.get(Branch, request.branch_id)
            self._restart_clock(batch, instance, branch, today)
        else:
            # Art. 32(5): a complete supplement must be accepted. The hub gives the window the same 5 working days
            # as at arrival; when they pass, the application counts as accepted on the day the supplement came.
            definition = self.definition_of(instance)
            task.due_on = self.calendar.add_working_days(today, definition.node(task.node_id).limit_days)
            batch.timer(instance.id, TimerKind.ACCEPTANCE_DEADLINE, task.due_on + dt.timedelta(days=1), None)
        batch.event(instance.id, actor_id, EventKind.RESUBMITTED, task.node_id,
                    {"request_id": request.id, "on": today.isoformat()}, command_id)
        self._finish(batch, instance)
        return request

    def pause(self, session: Session, task_id: int, *, actor_id: int, reason: str, expected_days: int,
              command_id: str, today: dt.date) -> Branch | None:
        """Stop a branch's clock for expert review, testing or a hearing (art. 45); the applicant is told how long."""
        self.refresh_calendar(session)
        batch = Batch(session)
        context = self._open_task_for_command(batch, task_id, command_id)
        if context.repeated:
            return None
        instance, branch = context.instance, context.branch
        if branch is None:
            raise InvalidTransition("not_a_branch")
        if not reason.strip() or not isinstance(expected_days, int) or not 0 < expected_days <= 250:
            raise ValidationFailed("pause_reason_and_length_required")
        self._require_running_clock(context)
        self._stop_clock(batch, instance, branch, BranchState.PAUSED, today)
        branch.resume_expected_on = self.calendar.add_working_days(today, expected_days)
        detail = {"reason": reason, "expected_days": expected_days,
                  "resume_expected_on": branch.resume_expected_on.isoformat()}
        batch.event(instance.id, actor_id, EventKind.PAUSED, branch.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, EventKind.PAUSED, detail)
        self._finish(batch, instance)
        return branch

    def resume(self, session: Session, task_id: int, *, actor_id: int, command_id: str, today: dt.date):
        """Restart a paused branch's clock with the working days it had left."""
        self.refresh_calendar(session)
        if previous_event_id(session, command_id) is not None:
            return session.get(Task, task_id).branch
        task = self._task(session, task_id)
        instance = self._lock(session, task.instance_id)
        if previous_event_id(session, command_id) is not None:
            return task.branch
        branch = task.branch
        if branch is None or branch.state != BranchState.PAUSED or instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("not_paused")
        batch = Batch(session)
        self._restart_clock(batch, instance, branch, today)
        batch.event(instance.id, actor_id, EventKind.RESUMED, branch.node_id, {"due_on": branch.due_on.isoformat()},
                    command_id)
        self._finish(batch, instance)
        return branch

    # -- timers ---------------------------------------------------------------------------------------------------

    def fire_timer(self, session: Session, timer_id: int, today: dt.date) -> bool:
        """Act on a due timer once; a timer already fired, cancelled or no longer relevant does nothing."""
        self.refresh_calendar(session)
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
        batch = Batch(session)
        acted = self._act_on_timer(batch, instance, timer, today)
        self._finish(batch, instance)
        return acted

    def _act_on_timer(self, batch: Batch, instance, timer: Timer, today: dt.date) -> bool:
        session = batch.session
        command_id = f"timer:{timer.id}"
        if timer.kind == TimerKind.ACCEPTANCE_DEADLINE:
            return self._deemed_acceptance(batch, instance, command_id)
        if timer.kind == TimerKind.JOINT_DEADLINE:
            # While a branch's clock is stopped the joint clock is too (art. 45); its restart schedules a new timer.
            if instance.joint_due is None or instance.joint_due >= today or instance.joint_paused_on is not None:
                return False
            instance.joint_overdue = True
            detail = {"joint_due": instance.joint_due.isoformat()}
            batch.event(instance.id, None, EventKind.JOINT_OVERDUE, None, detail, command_id)
            self.hooks.on_notice(session, instance, EventKind.JOINT_OVERDUE, detail)
            return True
        branch = session.get(Branch, timer.branch_id)
        if branch is None or branch.state != BranchState.ACTIVE:
            return False
        detail = {"agency": branch.agency_code, "due_on": branch.due_on.isoformat(), "branch_id": branch.id}
        if timer.kind == TimerKind.BRANCH_WARNING:
            batch.event(instance.id, None, EventKind.DEADLINE_WARNING, branch.node_id, detail, command_id)
            self.hooks.on_notice(session, instance, EventKind.DEADLINE_WARNING, detail)
            return True
        if branch.due_on >= today:
            return False
        branch.overdue = True
        batch.event(instance.id, None, EventKind.OVERDUE, branch.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, EventKind.OVERDUE, detail)
        return True

    # -- versions -------------------------------------------------------------------------------------------------

    def migrate_to_version(self, session: Session, instance_id: int, version: int, *, actor_id: int | None,
                           command_id: str, mapping: dict[str, str] | None = None) -> WorkflowInstance:
        """Move an instance waiting at a join to another version whose branches map one to one onto its own.

        ``mapping`` renames branch nodes (old id -> new id); unnamed branches keep their id. Each mapped branch must
        be a branch of the same split in the new version, handled by the same agency. Nothing changes otherwise.
        """
        self.refresh_calendar(session)
        if previous_event_id(session, command_id) is not None:
            return session.get(WorkflowInstance, instance_id)
        instance = self._lock(session, instance_id)
        if previous_event_id(session, command_id) is not None:
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
        batch = Batch(session)
        batch.event(instance.id, actor_id, EventKind.MIGRATED, None,
                    {"from": old_version, "to": version, "mapping": new_ids}, command_id)
        self._finish(batch, instance)
        return instance

    # -- queries --------------------------------------------------------------------------------------------------

    def definition_of(self, instance: WorkflowInstance) -> Definition:
        return self.registry.get(instance.definition_key, instance.definition_version)

    # -- internals: commands --------------------------------------------------------------------------------------

    @staticmethod
    def _finish(batch: Batch, instance: WorkflowInstance) -> None:
        """Write what the command changed: the instance row, the new rows, then the ORM's own pending changes."""
        store.store_instance(batch, instance)
        batch.write()
        batch.session.flush()

    def _task(self, session: Session, task_id: int) -> Task:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound("task")
        return task

    def _open_task_for_command(self, batch: Batch, task_id: int, command_id: str) -> TaskContext:
        """The task, its locked instance and its branch for a command on an open task (``repeated`` for a repeat)."""
        context = load_open_task(batch, task_id, command_id)
        if context.repeated:
            return context
        if context.task.state != TaskState.OPEN or context.instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("task_closed")
        return context

    @staticmethod
    def _require_running_clock(context: TaskContext) -> None:
        """Decisions and new requests need the clock running: not while the applicant or an expert has the case."""
        if context.branch is not None:
            if context.branch.state != BranchState.ACTIVE:
                raise InvalidTransition("clock_paused", state=context.branch.state.value)
            return
        if context.waiting_supplement:
            raise InvalidTransition("waiting_for_applicant")

    def _lock(self, session: Session, instance_id: int) -> WorkflowInstance:
        query = select(WorkflowInstance).where(WorkflowInstance.id == instance_id)
        instance = session.scalar(lock_for_update(query, session).execution_options(populate_existing=True))
        if instance is None:
            raise NotFound("instance")
        return instance

    @staticmethod
    def _new_request(session: Session, task: Task, branch: Branch | None, kind: RequestKind, actor_id: int, *,
                     items: list[str], note: str) -> Request:
        """An open request (supplement notice or extension) about ``task``, flushed so that its id can be cited."""
        request = Request(instance_id=task.instance_id, branch_id=branch.id if branch is not None else None,
                          task_id=task.id, kind=kind, state=RequestState.OPEN, items=items, note=note,
                          agency_code=branch.agency_code if branch is not None else task.agency_code,
                          requested_by=actor_id, requested_at=utcnow())
        session.add(request)
        session.flush()
        return request

    @staticmethod
    def _close_task(batch: Batch, task: Task, outcome: str, actor_id: int | None) -> None:
        store.store(batch, task, state=TaskState.COMPLETED, outcome=outcome, completed_at=utcnow(),
                    completed_by=actor_id)

    # -- internals: moving through the definition -----------------------------------------------------------------

    def _enter(self, batch: Batch, definition: Definition, instance: WorkflowInstance, node_id: str,
               today: dt.date) -> None:
        """Run automatic nodes from ``node_id`` until the instance waits for people or ends."""
        session = batch.session
        while node_id is not None:
            node = definition.node(node_id)
            if node.type == "task":
                self._open_task(batch, instance, node, today, branch=None)
                return
            if node.type == "split":
                if self._fan_out(batch, definition, instance, node, today):
                    return
                node_id = node.join  # no branch applies: nothing to wait for
            elif node.type == "join":
                batch.event(instance.id, None, EventKind.JOINED, node.id, {}, f"join:{instance.id}:{node.id}")
                node_id = node.next
            elif node.type == "choice":
                node_id = next((nxt for cond, nxt in node.cases if cond.evaluate(instance.data)), node.default)
                batch.event(instance.id, None, EventKind.CHOSE, node.id, {"next": node_id}, None)
            elif node.type == "action":
                batch.write()  # the action may read what this command has done so far
                self.hooks.run_action(session, instance, node.action)
                batch.event(instance.id, None, EventKind.ACTION, node.id, {"action": node.action}, None)
                node_id = node.next
            elif node.type == "end":
                self._end(batch, instance, InstanceState(node.outcome))
                return
            else:  # the loader rejects unknown types
                raise AssertionError(f"unhandled node type {node.type}")

    def _open_task(self, batch: Batch, instance, node: Node, today, branch: dict | None) -> None:
        due = branch["due_on"] if branch else self.calendar.add_working_days(today, node.limit_days)
        batch.task(instance.id, node, due, branch["node_id"] if branch else None)
        if node.acceptance:  # the last day is still in time: the deadline fires the day after
            batch.timer(instance.id, TimerKind.ACCEPTANCE_DEADLINE, due + dt.timedelta(days=1), None)

    def _accept(self, batch: Batch, definition, instance, node: Node, accepted_on: dt.date) -> None:
        instance.accepted_on = accepted_on
        instance.joint_due = self.calendar.add_working_days(accepted_on, definition.joint_limit_days)
        # One UPDATE for both: the acceptance deadline is over, and the joint deadline is replaced just below.
        self._cancel_timers(batch, instance.id, kinds={TimerKind.ACCEPTANCE_DEADLINE, TimerKind.JOINT_DEADLINE})
        batch.timer(instance.id, TimerKind.JOINT_DEADLINE, instance.joint_due + dt.timedelta(days=1), None)
        self.hooks.on_state_changed(batch.session, instance)
        self._enter(batch, definition, instance, node.next, accepted_on)

    def _deemed_acceptance(self, batch: Batch, instance, command_id: str) -> bool:
        """Art. 32(4): not accepted and no supplement notice within 5 working days counts as accepted on arrival;
        after a complete supplement (art. 32(5)), as accepted on the day it came (see ``resubmit``)."""
        session = batch.session
        definition = self.definition_of(instance)
        tasks = session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == TaskState.OPEN,
                                                   Task.branch_id.is_(None))).all()
        acceptance = next((t for t in tasks if definition.node(t.node_id).acceptance), None)
        if acceptance is None:
            return False
        waiting = session.scalar(select(Request.id).where(Request.task_id == acceptance.id,
                                                          Request.kind == RequestKind.SUPPLEMENT,
                                                          Request.state == RequestState.OPEN))
        if waiting is not None:  # the notice came in time and the applicant has not answered: nothing runs
            return False
        node = definition.node(acceptance.node_id)
        accepted_on = self._deemed_accepted_on(batch, instance, acceptance, node)
        self._close_task(batch, acceptance, Outcome.ACCEPT, None)
        batch.event(instance.id, None, EventKind.DEEMED_ACCEPTED, acceptance.node_id,
                    {"accepted_on": accepted_on.isoformat()}, command_id)
        self._accept(batch, definition, instance, node, accepted_on=accepted_on)
        return True

    def _deemed_accepted_on(self, batch: Batch, instance, task: Task, node: Node) -> dt.date:
        """The day an application counts as accepted once the window's 5 working days passed: the day it arrived
        (art. 32(4)), or the day its complete supplement arrived (art. 32(5), the hub's reading)."""
        answered = batch.session.scalar(select(Event.detail).where(
            Event.instance_id == instance.id, Event.kind == EventKind.RESUBMITTED, Event.node_id == task.node_id)
            .order_by(Event.id.desc()).limit(1))
        if answered is None:
            return instance.received_on
        if answered.get("on"):
            return dt.date.fromisoformat(answered["on"])
        return self.calendar.add_working_days(task.due_on, -node.limit_days)  # an event from before "on" was kept

    def _fan_out(self, batch: Batch, definition, instance, split: Node, today) -> bool:
        """Start every branch whose condition holds, all at once, each with its own clock."""
        started = []
        for branch_id in split.branches:
            node = definition.node(branch_id)
            if node.when is not None and not node.when.evaluate(instance.data):
                batch.event(instance.id, None, EventKind.BRANCH_SKIPPED, node.id, {"condition": node.when.source}, None)
                continue
            branch = batch.branch(instance_id=instance.id, node_id=node.id, agency_code=node.agency,
                                  matter_code=node.matter, state=BranchState.ACTIVE, started_on=today,
                                  due_on=self.calendar.add_working_days(today, node.limit_days), paused_days=0)
            self._open_task(batch, instance, node, today, branch)
            self._schedule_branch_timers(batch, instance.id, branch, today, fresh=True)
            started.append(node.id)
        batch.event(instance.id, None, EventKind.FANNED_OUT, split.id, {"branches": started}, None)
        return bool(started)

    def _decide_branch(self, batch: Batch, definition, context: TaskContext, outcome, opinion, actor_id, today):
        session, instance, branch = batch.session, context.instance, context.branch
        worked = self.calendar.working_days_between(branch.started_on, today) - (branch.paused_days or 0)
        # Once overdue, always overdue: a clock stopped or extended afterwards does not make the decision timely.
        handling_days, on_time = max(worked, 0), today <= branch.due_on and not branch.overdue
        rejected = outcome == Outcome.REJECT
        store.store(batch, branch, decided_at=utcnow(), decided_by=actor_id, opinion=opinion,
                    handling_days=handling_days, on_time=on_time,
                    state=BranchState.REJECTED if rejected else BranchState.APPROVED)
        self._cancel_timers(batch, instance.id, branch=branch)
        if rejected:
            # The first rejection ends the case; every other branch, task, request and timer is cancelled.
            self._cancel_open(batch, instance)
            self._end(batch, instance, InstanceState.REJECTED)
            return
        join = definition.node(branch.node_id).next
        if context.unsettled_siblings and len(definition.split_of_join) > 1:
            # Other branches are still open, but perhaps of another split: count only this join's members.
            members = definition.node(definition.split_of_join[join]).branches
            joined = not unsettled_members(session, instance.id, members)
        else:  # every branch of the instance belongs to the one split; the loaded count is exact under the lock
            joined = not context.unsettled_siblings
        if joined:
            self._enter(batch, definition, instance, join, today)

    def _cancel_open(self, batch: Batch, instance) -> None:
        session = batch.session
        batch.write()
        now = utcnow()
        session.execute(update(Task).where(Task.instance_id == instance.id, Task.state == TaskState.OPEN)
                        .values(state=TaskState.CANCELLED, completed_at=now))
        session.execute(update(Branch).where(Branch.instance_id == instance.id,
                                             Branch.state.in_(RUNNING_BRANCH_STATES))
                        .values(state=BranchState.CANCELLED))
        session.execute(update(Request).where(Request.instance_id == instance.id, Request.state == RequestState.OPEN)
                        .values(state=RequestState.CANCELLED, decided_at=now))
        self._cancel_timers(batch, instance.id)
        store.store_instance(batch, instance)  # expire_all below must not drop the instance's pending changes
        session.expire_all()

    def _end(self, batch: Batch, instance, state: InstanceState) -> None:
        instance.state = state
        instance.ended_at = utcnow()
        self._cancel_timers(batch, instance.id)
        batch.event(instance.id, None, EventKind.ENDED, None, {"state": state.value}, None)
        self.hooks.on_state_changed(batch.session, instance)

    # -- internals: clocks and timers ----------------------------------------------------------------------------

    def _stop_clock(self, batch: Batch, instance, branch: Branch, state: BranchState, today: dt.date) -> None:
        """Stop a branch's clock, and the joint clock with it if it is the first to stop (art. 45)."""
        if today > branch.due_on:
            branch.overdue = True  # stopped after its limit ended: it stays overdue (the sweep may not have run)
        if instance.joint_due is not None and instance.joint_paused_on is None:
            instance.joint_paused_on = today
        branch.remaining_days = max(self.calendar.working_days_between(today, branch.due_on), 0)
        branch.paused_on = today
        branch.state = state
        self._cancel_timers(batch, branch.instance_id, branch=branch)

    def _restart_clock(self, batch: Batch, instance, branch: Branch, today: dt.date) -> None:
        """Restart a branch's clock with the days it had left; the joint clock restarts with the last stopped branch,
        its limit moved by the working days during which any branch was stopped (their union, not their sum)."""
        branch.paused_days = (branch.paused_days or 0) + max(self.calendar.working_days_between(branch.paused_on,
                                                                                              today), 0)
        branch.due_on = self.calendar.add_working_days(today, branch.remaining_days or 0)
        branch.state = BranchState.ACTIVE
        branch.remaining_days = branch.paused_on = branch.resume_expected_on = None
        self._sync_branch_task(batch.session, branch)
        self._schedule_branch_timers(batch, branch.instance_id, branch, today)
        if instance.joint_paused_on is not None:
            batch.session.flush()
            still_stopped = batch.session.scalar(select(Branch.id).where(
                Branch.instance_id == instance.id, Branch.id != branch.id,
                Branch.state.in_([BranchState.WAITING_APPLICANT, BranchState.PAUSED])).limit(1))
            if still_stopped is None:
                stopped = max(self.calendar.working_days_between(instance.joint_paused_on, today), 0)
                instance.joint_due = self.calendar.add_working_days(instance.joint_due, stopped)
                instance.joint_paused_on = None
                self._reschedule_joint(batch, instance)

    def _sync_branch_task(self, session, branch: Branch) -> None:
        session.execute(update(Task).where(Task.branch_id == branch.id, Task.state == TaskState.OPEN)
                        .values(due_on=branch.due_on).execution_options(synchronize_session="fetch"))

    def _schedule_branch_timers(self, batch: Batch, instance_id: int, branch, today: dt.date,
                                fresh: bool = False) -> None:
        """A branch's warning and deadline timers; ``branch`` is a loaded Branch or a new one's row in the batch."""
        node_id, due_on = (branch["node_id"], branch["due_on"]) if fresh else (branch.node_id, branch.due_on)
        if not fresh:  # a brand-new branch has no timers to cancel
            self._cancel_timers(batch, instance_id, branch=branch)
        warning = self.calendar.add_working_days(due_on, -WARNING_DAYS)
        if warning >= today:
            batch.timer(instance_id, TimerKind.BRANCH_WARNING, warning, node_id)
        # Overdue means the day after the due date has come without a decision.
        batch.timer(instance_id, TimerKind.BRANCH_DEADLINE, due_on + dt.timedelta(days=1), node_id)

    def _reschedule_joint(self, batch: Batch, instance) -> None:
        self._cancel_timers(batch, instance.id, kinds={TimerKind.JOINT_DEADLINE})
        if instance.joint_due is not None:
            batch.timer(instance.id, TimerKind.JOINT_DEADLINE, instance.joint_due + dt.timedelta(days=1), None)

    @staticmethod
    def _cancel_timers(batch: Batch, instance_id: int, *, branch: Branch | None = None, kinds=None) -> None:
        now = utcnow()
        batch.cancel_timers(instance_id, branch.node_id if branch is not None else None, kinds, now)
        params = {"timer_instance_id": instance_id, "cancelled_at": now}
        if branch is not None:
            params["timer_branch_id"] = branch.id
            batch.run(store.CANCEL_TIMERS["branch"], params)
        elif kinds:
            batch.run(store.cancel_timers_of_kinds(kinds), params)
        else:
            batch.run(store.CANCEL_TIMERS["all"], params)


NOTICE_ITEM_KINDS = ("document", "question")


def _notice_item(raw):
    """One item of a supplement notice, stripped; a plain text stays a text (a document to send)."""
    if isinstance(raw, dict):
        text, kind = str(raw.get("text") or "").strip(), raw.get("kind", "document")
        if kind not in NOTICE_ITEM_KINDS:
            raise ValidationFailed("supplement_item_kind")
        return {"text": text, "kind": kind} if text else None
    text = str(raw or "").strip()
    return text or None
