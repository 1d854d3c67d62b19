"""The workflow engine: moves instances through a definition, one command at a time.

Every command (start, complete a task, withdraw) is idempotent by its command id, runs with the instance row locked
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers at ``BEGIN IMMEDIATE``), and is recorded in the
append-only event log. A join is recorded with a command id derived from the instance and the join node, so the
unique index on ``wf_events.command_id`` guarantees it fires once even if two completions race past the lock.

The engine calls back into the services only through ``Hooks``: it never knows what a licence or a citizen is.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db import lock_for_update, utcnow
from services.errors import InvalidTransition, NotFound, ValidationFailed
from workflows.calendar import WorkingCalendar
from workflows.definitions import Definition, Node, Registry
from workflows.models import Branch, Event, Task, WorkflowInstance
from workflows.states import ENDED_INSTANCE_STATES, BranchState, InstanceState, Outcome, TaskState


class Hooks(Protocol):
    def run_action(self, session: Session, instance: WorkflowInstance, action: str) -> None:
        """Run an automatic step (typically: record an outbox job for after commit)."""

    def on_state_changed(self, session: Session, instance: WorkflowInstance) -> None:
        """The instance was accepted or ended; mirror it on the subject."""


class NoHooks:
    def run_action(self, session, instance, action):
        pass

    def on_state_changed(self, session, instance):
        pass


class Engine:
    def __init__(self, registry: Registry, calendar: WorkingCalendar, hooks: Hooks | None = None):
        self.registry = registry
        self.calendar = calendar
        self.hooks = hooks or NoHooks()

    # -- commands -------------------------------------------------------------------------------------------------

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
        self._enter(session, definition, instance, definition.start, today, branch=None)
        session.flush()
        return instance

    def complete_task(self, session: Session, task_id: int, *, actor_id: int, outcome: str, command_id: str,
                      today: dt.date, opinion: str = "") -> Task:
        """Complete a human task with ``outcome`` (accept, approve or reject)."""
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound("task")
        if self._previous(session, command_id) is not None:
            return task
        instance = self._lock(session, task.instance_id)
        session.refresh(task)
        if task.state != TaskState.OPEN or instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("task_closed")
        definition = self.definition_of(instance)
        node = definition.node(task.node_id)
        allowed = {Outcome.ACCEPT} if node.acceptance else {Outcome.APPROVE, Outcome.REJECT}
        if outcome not in allowed:
            raise InvalidTransition("outcome_not_allowed", outcome=outcome)
        if outcome == Outcome.REJECT and not opinion.strip():
            raise ValidationFailed("reasons_required")
        task.state, task.outcome = TaskState.COMPLETED, outcome
        task.completed_at, task.completed_by = utcnow(), actor_id
        self._event(session, instance, actor_id, f"task_{outcome}", node.id, {"opinion": opinion}, command_id)
        instance.revision += 1
        if node.acceptance:
            instance.accepted_on = today
            instance.joint_due = self.calendar.add_working_days(today, definition.joint_limit_days)
            self.hooks.on_state_changed(session, instance)
            self._enter(session, definition, instance, node.next, today, branch=None)
        elif task.branch is not None:
            self._decide_branch(session, definition, instance, task.branch, outcome, opinion, actor_id, today)
        else:
            self._enter(session, definition, instance, node.next, today, branch=None)
        session.flush()
        return task

    def withdraw(self, session: Session, instance_id: int, *, actor_id: int, command_id: str, reason: str = ""):
        """The applicant withdraws before a decision: every open task and branch is cancelled."""
        if self._previous(session, command_id) is not None:
            return session.get(WorkflowInstance, instance_id)
        instance = self._lock(session, instance_id)
        if instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("already_decided")
        self._cancel_open(session, instance)
        self._end(session, instance, InstanceState.WITHDRAWN)
        self._event(session, instance, actor_id, "withdrawn", None, {"reason": reason}, command_id)
        session.flush()
        return instance

    # -- queries --------------------------------------------------------------------------------------------------

    def definition_of(self, instance: WorkflowInstance) -> Definition:
        return self.registry.get(instance.definition_key, instance.definition_version)

    # -- internals ------------------------------------------------------------------------------------------------

    def _previous(self, session: Session, command_id: str) -> Event | None:
        if not command_id:
            raise ValidationFailed("command_id_required")
        return session.scalar(select(Event).where(Event.command_id == command_id))

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

    def _enter(self, session: Session, definition: Definition, instance: WorkflowInstance, node_id: str,
               today: dt.date, branch: Branch | None) -> None:
        """Run automatic nodes from ``node_id`` until the instance waits for people or ends."""
        while node_id is not None:
            node = definition.node(node_id)
            if node.type == "task":
                self._open_task(session, instance, node, today, branch)
                return
            if node.type == "split":
                if self._fan_out(session, definition, instance, node, today):
                    return
                node_id = node.join  # no branch applies: nothing to wait for
                continue
            if node.type == "join":
                self._event(session, instance, None, "joined", node.id, {},
                            command_id=f"join:{instance.id}:{node.id}")
                node_id = node.next
                continue
            if node.type == "action":
                self.hooks.run_action(session, instance, node.action)
                self._event(session, instance, None, "action", node.id, {"action": node.action})
                node_id = node.next
                continue
            if node.type == "end":
                self._end(session, instance, InstanceState(node.outcome))
                return
            raise AssertionError(f"unhandled node type {node.type}")  # the loader rejects unknown types

    def _open_task(self, session, instance, node: Node, today, branch: Branch | None) -> Task:
        due = branch.due_on if branch else self.calendar.add_working_days(today, node.limit_days)
        task = Task(instance_id=instance.id, branch_id=branch.id if branch else None, node_id=node.id,
                    agency_code=node.agency, role=node.role, state=TaskState.OPEN, due_on=due, created_at=utcnow())
        session.add(task)
        return task

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
                            due_on=self.calendar.add_working_days(today, node.limit_days))
            session.add(branch)
            session.flush()
            self._open_task(session, instance, node, today, branch)
            started.append(node.id)
        self._event(session, instance, None, "fanned_out", split.id, {"branches": started})
        return bool(started)

    def _decide_branch(self, session, definition, instance, branch: Branch, outcome, opinion, actor_id, today):
        if branch.state != BranchState.ACTIVE:
            raise InvalidTransition("branch_closed")
        branch.decided_at, branch.decided_by, branch.opinion = utcnow(), actor_id, opinion
        if outcome == Outcome.REJECT:
            # The first rejection ends the case; every other branch and task is cancelled.
            branch.state = BranchState.REJECTED
            self._cancel_open(session, instance)
            self._end(session, instance, InstanceState.REJECTED)
            return
        branch.state = BranchState.APPROVED
        session.flush()
        node = definition.node(branch.node_id)
        siblings = session.scalars(select(Branch).where(Branch.instance_id == instance.id)).all()
        split_id = definition.split_of_join[node.next]
        members = set(definition.node(split_id).branches)
        if all(b.state == BranchState.APPROVED for b in siblings if b.node_id in members):
            self._enter(session, definition, instance, node.next, today, branch=None)

    def _cancel_open(self, session, instance) -> None:
        for task in session.scalars(select(Task).where(Task.instance_id == instance.id,
                                                       Task.state == TaskState.OPEN)):
            task.state = TaskState.CANCELLED
            task.completed_at = utcnow()
        for branch in session.scalars(select(Branch).where(Branch.instance_id == instance.id,
                                                           Branch.state == BranchState.ACTIVE)):
            branch.state = BranchState.CANCELLED

    def _end(self, session, instance, state: InstanceState) -> None:
        instance.state = state
        instance.ended_at = utcnow()
        self._event(session, instance, None, "ended", None, {"state": state.value})
        self.hooks.on_state_changed(session, instance)
