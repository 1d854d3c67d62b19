"""Agency work queues: which open tasks a clerk sees, filtered and paged by keyset so page 1,000 is as fast as page 1.

Every query is restricted to the clerk's own agency here, in the service layer. Each tab is one query that walks a
partial index of open tasks in (due date, id) order and stops after one page: branch tasks are inner-joined to their
branch (the branch's state decides the tab), the lead window's acceptance tasks have no branch. The tab counts are
maintained by the database (services/applications/tallies.py), never counted over the queue on each view.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, literal_column, or_, select, tuple_, update
from sqlalchemy.orm import Session, defaultload

from services import clock
from services.applications.models import Application
from services.applications.service import _require_clerk, task_for_clerk
from services.applications.tallies import queue_counts
from services.catalogue.models import Bundle, BundleItem, Matter
from services.db import lock_for_update, utcnow
from services.errors import InvalidTransition, PermissionDenied, ValidationFailed
from services.identity.models import Account, Enterprise, Role
from services.notifications import service as notifications
from services.notifications.service import NotificationKind
from workflows.calendar import WorkingCalendar
from workflows.models import Branch, Event, Request, Task, WorkflowInstance
from workflows.states import BranchState, EventKind, RequestKind, TaskState


class WorkQueue(enum.StrEnum):
    """The tabs of a clerk's workbench (``/work/?queue=``); app/clerk/routes.py labels them, in this order."""

    ACCEPTANCE = "acceptance"  # the lead window's applications waiting to be accepted
    UNCLAIMED = "unclaimed"
    MINE = "mine"
    WAITING_APPLICANT = "waiting_applicant"
    PAUSED = "paused"
    DUE_SOON = "due_soon"  # within 2 working days
    OVERDUE = "overdue"


QUEUES = tuple(WorkQueue)
PAGE_SIZE = 50
# Written as SQL literals, not parameters, so that PostgreSQL can match the partial indexes of migration 0008 even
# when a prepared statement gets a generic plan.
OPEN = literal_column("'OPEN'")
STOPPED_CLOCK = {WorkQueue.WAITING_APPLICANT: literal_column("'WAITING_APPLICANT'"),
                 WorkQueue.PAUSED: literal_column("'PAUSED'")}


@dataclass
class QueueFilter:
    queue: WorkQueue = WorkQueue.UNCLAIMED
    bundle: str | None = None
    due_before: dt.date | None = None
    search: str | None = None
    after: tuple[dt.date, int] | None = None  # keyset: (due_on, task id) of the last row of the previous page


@dataclass
class QueuePage:
    rows: list[tuple[Task, Application, Branch | None]]
    counts: dict[str, int] = field(default_factory=dict)
    next_after: tuple[dt.date, int] | None = None


def _waiting_for_supplement():
    return exists().where(Request.task_id == Task.id, Request.kind == RequestKind.SUPPLEMENT,
                          Request.state == literal_column("'OPEN'"))


def _branch_tab(name: WorkQueue, clerk: Account, today: dt.date, soon: dt.date):
    """The condition of a tab over branch tasks (joined to their branch); None when the tab holds none."""
    active = Branch.state == BranchState.ACTIVE
    return {
        WorkQueue.ACCEPTANCE: None,
        WorkQueue.UNCLAIMED: and_(Task.assignee_id.is_(None), active),
        WorkQueue.MINE: Task.assignee_id == clerk.id,
        WorkQueue.WAITING_APPLICANT: Branch.state == BranchState.WAITING_APPLICANT,
        WorkQueue.PAUSED: Branch.state == BranchState.PAUSED,
        WorkQueue.DUE_SOON: and_(active, Task.due_on >= today, Task.due_on <= soon),
        WorkQueue.OVERDUE: and_(active, Task.due_on < today),
    }[name]


def _acceptance_tab(name: WorkQueue, clerk: Account, today: dt.date, soon: dt.date):
    """The condition of a tab over the lead window's acceptance tasks (no branch: waiting means a supplement)."""
    ready = ~_waiting_for_supplement()
    return {
        WorkQueue.ACCEPTANCE: Task.id.is_not(None),
        WorkQueue.UNCLAIMED: and_(Task.assignee_id.is_(None), ready),
        WorkQueue.MINE: Task.assignee_id == clerk.id,
        WorkQueue.WAITING_APPLICANT: _waiting_for_supplement(),
        WorkQueue.PAUSED: None,
        WorkQueue.DUE_SOON: and_(ready, Task.due_on >= today, Task.due_on <= soon),
        WorkQueue.OVERDUE: and_(ready, Task.due_on < today),
    }[name]


def _search_condition(session: Session, term: str):
    """Applications whose reference is (or starts with) the term, or whose applicant or enterprise is so named.
    The names are resolved to ids first so that each part is an index lookup, not a scan under an OR."""
    term = term.strip()
    upper = term.upper()
    people = list(session.scalars(select(Account.id).where(Account.name == term).limit(500)))
    firms = list(session.scalars(select(Enterprise.id).where(Enterprise.name == term).limit(500)))
    matches = [Application.reference == upper]
    if len(upper) >= 4 and upper.isascii() and upper.isalnum():
        # A prefix as a range (references are upper-case letters and digits), which the unique index serves.
        matches.append(and_(Application.reference >= upper,
                            Application.reference < upper[:-1] + chr(ord(upper[-1]) + 1)))
    if people:
        matches.append(Application.applicant_id.in_(people))
    if firms:
        matches.append(Application.enterprise_id.in_(firms))
    return or_(*matches)


def _handles_bundle(session: Session, clerk: Account, bundle_code: str) -> Bundle | None:
    """The bundle, if the clerk's agency has work in it (the lead window accepts every bundle)."""
    bundle = session.scalar(select(Bundle).where(Bundle.code == bundle_code))
    if bundle is None or clerk.agency.is_lead_window:
        return bundle
    involved = session.scalar(select(BundleItem.id).join(Matter, Matter.id == BundleItem.matter_id)
                              .where(BundleItem.bundle_id == bundle.id, Matter.agency_id == clerk.agency_id).limit(1))
    return bundle if involved is not None else None


def queue_page(session: Session, clerk: Account, flt: QueueFilter, calendar: WorkingCalendar,
               today: dt.date | None = None, page_size: int = PAGE_SIZE) -> QueuePage:
    """One page of the clerk's agency queue, soonest due first, with the count of every queue for the tabs."""
    _require_clerk(clerk)
    today = today or clock.today()
    soon = calendar.add_working_days(today, 2)
    code = clerk.agency.code
    # The lead window holds the acceptance tasks (no branch); every other agency holds branch tasks.
    acceptance = clerk.agency.is_lead_window
    condition = (_acceptance_tab if acceptance else _branch_tab)(flt.queue, clerk, today, soon)
    rows: list[tuple[Task, Application, Branch | None]] = []
    bundle = _handles_bundle(session, clerk, flt.bundle) if flt.bundle else None
    # A stopped clock (waiting for the applicant, paused) is a small share of an agency's open tasks: those tabs walk
    # the branches in that state instead (their task is due when the branch is), keyed by the branch's id.
    by_branch = not acceptance and flt.queue in STOPPED_CLOCK
    key = (Branch.due_on, Branch.id) if by_branch else (Task.due_on, Task.id)
    if condition is not None and (bundle is not None or not flt.bundle):
        if flt.queue == WorkQueue.MINE and bundle is None and not (flt.search and flt.search.strip()):
            # The clerk's own tasks need no branch to choose them: pick one page of ids from the clerk's index first,
            # so that only those rows are joined (joining all of a clerk's hundreds of tasks before sorting read
            # every one of them from disk, 105 ms measured). Filters on the application keep the plain condition.
            mine = (select(Task.id).where(Task.assignee_id == clerk.id, Task.agency_code == code, Task.state == OPEN)
                    .order_by(Task.due_on, Task.id).limit(page_size + 1))
            if flt.due_before:
                mine = mine.where(Task.due_on <= flt.due_before)
            if flt.after:
                mine = mine.where(tuple_(Task.due_on, Task.id) > tuple_(*flt.after))
            condition = Task.id.in_(mine.scalar_subquery())
        if acceptance:
            query = select(Task, Application).where(Task.branch_id.is_(None), Task.agency_code == code)
        elif by_branch:
            query = (select(Task, Application, Branch).select_from(Branch)
                     .join(Task, and_(Task.branch_id == Branch.id, Task.state == OPEN))
                     .where(Branch.agency_code == code, Branch.state == STOPPED_CLOCK[flt.queue]))
        else:
            query = (select(Task, Application, Branch).join(Branch, Branch.id == Task.branch_id)
                     .where(Task.agency_code == code))
        query = (query.join(Application, Application.workflow_instance_id == Task.instance_id)
                 .where(Task.state == OPEN, condition))
        if bundle is not None:
            query = query.where(Application.bundle_id == bundle.id)
        if flt.due_before:
            query = query.where(key[0] <= flt.due_before)
        if flt.search and flt.search.strip():
            query = query.where(_search_condition(session, flt.search))
        if flt.after:
            query = query.where(tuple_(*key) > tuple_(*flt.after))
        # The rows show the bundle's title only: its items (a selectin relationship) would be one more statement.
        query = query.options(defaultload(Application.bundle).lazyload(Bundle.items))
        found = session.execute(query.order_by(*key).limit(page_size + 1)).all()
        rows = [(r[0], r[1], None if acceptance else r[2]) for r in found]
    next_after = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1][2] if by_branch else rows[-1][0]
        next_after = (last.due_on, last.id)
    return QueuePage(rows=rows, counts=tab_counts(session, clerk, today, soon), next_after=next_after)


def tab_counts(session: Session, clerk: Account, today: dt.date, soon: dt.date) -> dict[WorkQueue, int]:
    tallied = queue_counts(session, clerk.agency.code, today, soon)
    mine = session.scalar(select(func.count()).select_from(Task).where(Task.assignee_id == clerk.id,
                                                                       Task.state == OPEN))
    return {WorkQueue.ACCEPTANCE: tallied.acceptance, WorkQueue.UNCLAIMED: tallied.unclaimed, WorkQueue.MINE: mine,
            WorkQueue.WAITING_APPLICANT: tallied.waiting_applicant, WorkQueue.PAUSED: tallied.paused,
            WorkQueue.DUE_SOON: tallied.due_soon, WorkQueue.OVERDUE: tallied.overdue}


def claim_task(session: Session, clerk: Account, task_id: int) -> Task:
    """Take an unclaimed task of the clerk's agency; a task another clerk holds is refused."""
    task, _application = task_for_clerk(session, clerk, task_id)
    if task.state != TaskState.OPEN:
        raise InvalidTransition("task_closed")
    result = session.execute(update(Task).where(Task.id == task.id, Task.state == TaskState.OPEN,
                                                or_(Task.assignee_id.is_(None), Task.assignee_id == clerk.id))
                             .values(assignee_id=clerk.id, claimed_at=utcnow())
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidTransition("claimed_by_other")
    session.refresh(task)
    return task


def release_task(session: Session, clerk: Account, task_id: int) -> Task:
    """Give a claimed task back to the agency queue (only the clerk who holds it)."""
    task, _application = task_for_clerk(session, clerk, task_id)
    if task.assignee_id != clerk.id or task.state != TaskState.OPEN:
        raise InvalidTransition("not_yours")
    task.assignee_id, task.claimed_at = None, None
    return task


# -- the agency lead hands tasks from one clerk to another ----------------------------------------------------------

MAX_REASON = 1000


def _require_lead(account: Account) -> None:
    _require_clerk(account)
    if not account.is_lead:
        raise PermissionDenied("leads_only")


def agency_clerks(session: Session, lead: Account) -> list[Account]:
    """The active clerks of the lead's agency, whom a task may be given to."""
    _require_lead(lead)
    return list(session.scalars(select(Account).where(Account.agency_id == lead.agency_id, Account.role == Role.CLERK,
                                                      Account.is_active.is_(True)).order_by(Account.name, Account.id)))


def reassign_task(session: Session, lead: Account, task_id: int, *, to_clerk_id: int, reason: str,
                  command_id: str) -> Task:
    """Give an open task of the lead's agency to another clerk of the same agency.

    The reason goes into the case's event log; the clerk who had the task and the one who gets it are notified. The
    same ``command_id`` twice reassigns once; a non-lead, another agency's task or clerk is refused and changes
    nothing."""
    _require_lead(lead)
    task, application = task_for_clerk(session, lead, task_id)
    if not command_id or len(command_id) > 64:
        raise ValidationFailed("command_id_required")
    if session.scalar(select(Event.id).where(Event.command_id == command_id)) is not None:
        return task
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed("reason_too_long", field="reason")
    target = session.get(Account, to_clerk_id) if isinstance(to_clerk_id, int) else None
    if target is None or target.role != Role.CLERK or not target.is_active:
        raise ValidationFailed("assignee", field="to_clerk")
    if target.agency_id != lead.agency_id:
        raise PermissionDenied("other_agency")
    # The instance lock orders this against the engine's commands on the same case (a decision, a claim's check).
    instance = session.scalar(lock_for_update(select(WorkflowInstance).where(
        WorkflowInstance.id == task.instance_id), session).execution_options(populate_existing=True))
    if session.scalar(select(Event.id).where(Event.command_id == command_id)) is not None:
        return task  # a twin of this command committed while we waited for the lock
    session.refresh(task)
    if task.state != TaskState.OPEN:
        raise InvalidTransition("task_closed")
    previous = task.assignee_id
    if previous == target.id:
        raise InvalidTransition("already_assigned")
    task.assignee_id, task.claimed_at = target.id, utcnow()
    session.add(Event(instance_id=instance.id, actor_id=lead.id, kind=EventKind.TASK_REASSIGNED, node_id=task.node_id,
                      detail={"task_id": task.id, "from": previous, "to": target.id, "reason": reason},
                      command_id=command_id, at=utcnow()))
    params = {"reference": application.reference, "task_id": task.id, "reason": reason, "lead": lead.name}
    if previous is not None:
        notifications.notify(session, previous, NotificationKind.TASK_REASSIGNED, direction="away", **params)
    notifications.notify(session, target.id, NotificationKind.TASK_REASSIGNED, direction="to", **params)
    session.flush()
    return task
