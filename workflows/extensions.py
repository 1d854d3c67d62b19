"""The engine's extension commands (Administrative Licensing Law art. 42), mixed into ``workflows.engine.Engine``.

A branch's extension (art. 42(1)) is asked by its clerk and granted by its agency's supervisor: the matter's own
extension (a node's ``extension_days``, 10 by default, 0 where the law that sets the limit allows none), before the
branch's limit ends. The joint limit's extension (art. 42(2)) is its own request and decision, once per case, before
the joint limit ends. A late grant is refused ("limit_passed"): it would turn an overdue decision into one on time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db import utcnow
from services.errors import InvalidTransition, NotFound, ValidationFailed
from workflows.loading import previous_event_id
from workflows.models import Branch, Request, WorkflowInstance
from workflows.states import (
    ENDED_INSTANCE_STATES,
    RUNNING_BRANCH_STATES,
    BranchState,
    EventKind,
    RequestKind,
    RequestState,
)
from workflows.store import Batch

BRANCH_EXTENSION_DAYS = 10  # art. 42(1): the agency head may extend a decision by 10 working days (unless the law
# that sets a matter's own limit says otherwise: a node's ``extension_days``)
JOINT_EXTENSION_DAYS = 15  # art. 42(2): a joint (parallel) approval may be extended by 15 working days


class ExtensionCommands:
    """Needs the engine's ``calendar``, ``hooks``, ``refresh_calendar``, ``definition_of`` and its internals."""

    def request_extension(self, session: Session, task_id: int, *, actor_id: int, reason: str,
                          command_id: str, today: dt.date) -> Request | None:
        """Ask for the branch's statutory extension (art. 42(1)); it takes effect only when the agency's supervisor
        approves it, and only before the branch's limit ends ("limit_passed")."""
        self.refresh_calendar(session)
        batch = Batch(session)
        context = self._open_task_for_command(batch, task_id, command_id)
        if context.repeated:
            return session.scalar(select(Request).where(Request.task_id == task_id,
                                                        Request.kind == RequestKind.EXTENSION))
        task, instance, branch = context.task, context.instance, context.branch
        if branch is None:
            raise InvalidTransition("not_a_branch")
        if not reason.strip():
            raise ValidationFailed("extension_reason_required")
        pending = session.scalar(select(Request.id).where(Request.branch_id == branch.id,
                                                          Request.kind == RequestKind.EXTENSION,
                                                          Request.state.in_([RequestState.OPEN,
                                                                             RequestState.APPROVED])))
        if branch.extended or pending is not None:
            raise InvalidTransition("already_extended")
        if self._branch_limit_passed(branch, today):
            raise InvalidTransition("limit_passed")
        if self._extension_days(instance, branch) == 0:
            raise InvalidTransition("no_extension")  # the law that sets this matter's limit allows none
        request = self._new_request(session, task, branch, RequestKind.EXTENSION, actor_id, items=[], note=reason)
        batch.event(instance.id, actor_id, EventKind.EXTENSION_REQUESTED, branch.node_id,
                    {"request_id": request.id, "reason": reason}, command_id)
        self._finish(batch, instance)
        return request

    def decide_extension(self, session: Session, request_id: int, *, actor_id: int, approve: bool, command_id: str,
                         today: dt.date, comment: str = "") -> Request:
        """The agency's supervisor grants (+10 working days to the branch, art. 42(1)) or refuses. The joint limit
        does not move: that is the city's own decision (``decide_joint_extension``). A grant must come before the
        branch's limit ends ("limit_passed": a late grant would turn an overdue decision into one on time); a
        refusal may come at any time."""
        self.refresh_calendar(session)
        request, instance = self._open_request(session, request_id, RequestKind.EXTENSION, command_id)
        if instance is None:
            return request  # this command was carried out already
        branch = session.get(Branch, request.branch_id)
        if approve and branch.state in RUNNING_BRANCH_STATES and self._branch_limit_passed(branch, today):
            raise InvalidTransition("limit_passed")
        request.decided_by, request.decided_at = actor_id, utcnow()
        batch = Batch(session)
        if not approve or branch.state not in RUNNING_BRANCH_STATES:
            request.state = RequestState.REFUSED
            batch.event(instance.id, actor_id, EventKind.EXTENSION_REFUSED, branch.node_id,
                        {"request_id": request.id, "comment": comment}, command_id)
            self._finish(batch, instance)
            return request
        request.state = RequestState.APPROVED
        branch.extended = True
        days = self._extension_days(instance, branch)
        if branch.state == BranchState.ACTIVE:
            branch.due_on = self.calendar.add_working_days(branch.due_on, days)
            self._sync_branch_task(session, branch)
            self._schedule_branch_timers(batch, instance.id, branch, today)
        else:
            branch.remaining_days = (branch.remaining_days or 0) + days
        detail = {"request_id": request.id, "reason": request.note, "due_on": branch.due_on.isoformat(),
                  "agency": branch.agency_code}
        batch.event(instance.id, actor_id, EventKind.EXTENSION_GRANTED, branch.node_id, detail, command_id)
        self.hooks.on_notice(session, instance, EventKind.EXTENSION_GRANTED, detail)
        self._finish(batch, instance)
        return request

    def request_joint_extension(self, session: Session, instance_id: int, *, actor_id: int, agency_code: str,
                                reason: str, command_id: str, today: dt.date) -> Request:
        """Ask for the joint limit's extension (art. 42(2): +15 working days with the approval of the head of the
        people's government at that level). Once per case, before the joint limit ends, with reasons."""
        self.refresh_calendar(session)
        if previous_event_id(session, command_id) is not None:
            return session.scalar(select(Request).where(Request.instance_id == instance_id,
                                                        Request.kind == RequestKind.JOINT_EXTENSION)
                                  .order_by(Request.id.desc()))
        instance = self._lock(session, instance_id)
        if previous_event_id(session, command_id) is not None:
            return session.scalar(select(Request).where(Request.instance_id == instance_id,
                                                        Request.kind == RequestKind.JOINT_EXTENSION)
                                  .order_by(Request.id.desc()))
        if instance.state in ENDED_INSTANCE_STATES or instance.joint_due is None:
            raise InvalidTransition("not_running")
        if not reason.strip():
            raise ValidationFailed("extension_reason_required")
        asked = session.scalar(select(Request.id).where(
            Request.instance_id == instance.id, Request.kind == RequestKind.JOINT_EXTENSION,
            Request.state.in_([RequestState.OPEN, RequestState.APPROVED])))
        if instance.joint_extended or asked is not None:
            raise InvalidTransition("already_extended")
        if self._joint_limit_passed(instance, today):
            raise InvalidTransition("limit_passed")
        request = Request(instance_id=instance.id, branch_id=None, task_id=None, kind=RequestKind.JOINT_EXTENSION,
                          state=RequestState.OPEN, items=[], note=reason.strip(), agency_code=agency_code,
                          requested_by=actor_id, requested_at=utcnow())
        session.add(request)
        session.flush()
        batch = Batch(session)
        batch.event(instance.id, actor_id, EventKind.JOINT_EXTENSION_REQUESTED, None,
                    {"request_id": request.id, "reason": request.note, "agency": agency_code}, command_id)
        self._finish(batch, instance)
        return request

    def decide_joint_extension(self, session: Session, request_id: int, *, actor_id: int, approve: bool,
                               command_id: str, today: dt.date, comment: str = "") -> Request:
        """The city's decision on the joint extension: +15 working days to the joint limit, the applicant told why.
        Like a branch's, a grant must come before the joint limit ends ("limit_passed")."""
        self.refresh_calendar(session)
        request, instance = self._open_request(session, request_id, RequestKind.JOINT_EXTENSION, command_id)
        if instance is None:
            return request  # this command was carried out already
        if approve and self._joint_limit_passed(instance, today):
            raise InvalidTransition("limit_passed")
        request.decided_by, request.decided_at = actor_id, utcnow()
        batch = Batch(session)
        if not approve:
            request.state = RequestState.REFUSED
            batch.event(instance.id, actor_id, EventKind.JOINT_EXTENSION_REFUSED, None,
                        {"request_id": request.id, "comment": comment}, command_id)
            self._finish(batch, instance)
            return request
        request.state = RequestState.APPROVED
        instance.joint_extended = True
        instance.joint_due = self.calendar.add_working_days(instance.joint_due, JOINT_EXTENSION_DAYS)
        self._reschedule_joint(batch, instance)
        detail = {"request_id": request.id, "reason": request.note, "joint_due": instance.joint_due.isoformat(),
                  "comment": comment}
        batch.event(instance.id, actor_id, EventKind.JOINT_EXTENSION_GRANTED, None, detail, command_id)
        self.hooks.on_notice(session, instance, EventKind.JOINT_EXTENSION_GRANTED, detail)
        self._finish(batch, instance)
        return request

    def _extension_days(self, instance: WorkflowInstance, branch: Branch) -> int:
        """The working days the branch's extension adds: its node's (the matter's, per the catalogue) or art. 42(1)'s
        general 10."""
        days = self.definition_of(instance).node(branch.node_id).extension_days
        return BRANCH_EXTENSION_DAYS if days is None else days

    def _branch_limit_passed(self, branch: Branch, today: dt.date) -> bool:
        """Whether the branch's limit has ended: marked overdue, or running past its due date (sweep or not)."""
        return bool(branch.overdue) or (branch.state == BranchState.ACTIVE and today > branch.due_on)

    @staticmethod
    def _joint_limit_passed(instance: WorkflowInstance, today: dt.date) -> bool:
        """A stopped joint clock has not run out; a running one has the day after its due date."""
        if instance.joint_overdue:
            return True
        return instance.joint_paused_on is None and today > instance.joint_due

    def _open_request(self, session: Session, request_id: int, kind: RequestKind, command_id: str
                      ) -> tuple[Request, WorkflowInstance | None]:
        """The open request a decision is about, with its instance locked; ``(request, None)`` when this command was
        carried out already (a double click: the same answer again). Checked again after the lock: another
        decision may have closed it while this one waited."""
        request = session.get(Request, request_id)
        if request is None or request.kind != kind:
            raise NotFound("request")
        if previous_event_id(session, command_id) is not None:
            return request, None
        instance = self._lock(session, request.instance_id)
        if previous_event_id(session, command_id) is not None:
            return request, None
        session.refresh(request)
        if request.state != RequestState.OPEN or instance.state in ENDED_INSTANCE_STATES:
            raise InvalidTransition("request_closed")
        return request, instance
