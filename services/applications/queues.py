"""Agency work queues: which open tasks a clerk sees, filtered and paged by keyset so page 500 is as fast as page 1.

Every query is restricted to the clerk's own agency here, in the service layer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from services.applications.models import Application
from services.applications.service import _require_clerk, task_for_clerk
from services.catalogue.models import Bundle
from services.db import utcnow
from services.errors import InvalidTransition
from services.identity.models import Account, Enterprise
from workflows.calendar import WorkingCalendar
from workflows.models import Branch, Request, Task
from workflows.states import BranchState, RequestKind, RequestState, TaskState

QUEUES = ("acceptance", "unclaimed", "mine", "waiting_applicant", "paused", "due_soon", "overdue")
PAGE_SIZE = 50


@dataclass
class QueueFilter:
    queue: str = "unclaimed"
    bundle: str | None = None
    due_before: dt.date | None = None
    search: str | None = None
    after: tuple[dt.date, int] | None = None  # keyset: (due_on, task id) of the last row of the previous page


@dataclass
class QueuePage:
    rows: list[tuple[Task, Application, Branch | None]]
    counts: dict[str, int] = field(default_factory=dict)
    next_after: tuple[dt.date, int] | None = None


def _waiting_acceptance_supplement():
    return exists().where(Request.task_id == Task.id, Request.kind == RequestKind.SUPPLEMENT,
                          Request.state == RequestState.OPEN)


def _queue_condition(name: str, clerk: Account, today: dt.date, soon: dt.date, branch):
    running = or_(and_(Task.branch_id.is_(None), ~_waiting_acceptance_supplement()),
                  branch.state == BranchState.ACTIVE)
    return {
        "acceptance": Task.branch_id.is_(None),
        "unclaimed": and_(Task.assignee_id.is_(None), running),
        "mine": Task.assignee_id == clerk.id,
        "waiting_applicant": or_(branch.state == BranchState.WAITING_APPLICANT,
                                 and_(Task.branch_id.is_(None), _waiting_acceptance_supplement())),
        "paused": branch.state == BranchState.PAUSED,
        "due_soon": and_(running, Task.due_on >= today, Task.due_on <= soon),
        "overdue": and_(running, Task.due_on < today),
    }[name]


def queue_page(session: Session, clerk: Account, flt: QueueFilter, calendar: WorkingCalendar,
               today: dt.date | None = None, page_size: int = PAGE_SIZE) -> QueuePage:
    """One page of the clerk's agency queue, soonest due first, with the count of every queue for the tabs."""
    _require_clerk(clerk)
    today = today or dt.date.today()
    soon = calendar.add_working_days(today, 2)
    branch = aliased(Branch)
    applicant = aliased(Account)
    base = (select(Task, Application, branch)
            .join(Application, Application.workflow_instance_id == Task.instance_id)
            .outerjoin(branch, branch.id == Task.branch_id)
            .where(Task.agency_code == clerk.agency.code, Task.state == TaskState.OPEN))
    query = base.where(_queue_condition(flt.queue, clerk, today, soon, branch))
    if flt.bundle:
        query = query.join(Bundle, Bundle.id == Application.bundle_id).where(Bundle.code == flt.bundle)
    if flt.due_before:
        query = query.where(Task.due_on <= flt.due_before)
    if flt.search:
        term = flt.search.strip()
        query = (query.join(applicant, applicant.id == Application.applicant_id)
                 .outerjoin(Enterprise, Enterprise.id == Application.enterprise_id)
                 .where(or_(Application.reference == term.upper(), applicant.name == term, Enterprise.name == term,
                            Application.reference.like(term.upper().replace("%", "") + "%"))))
    if flt.after:
        due, last_id = flt.after
        query = query.where(or_(Task.due_on > due, and_(Task.due_on == due, Task.id > last_id)))
    rows = [tuple(r) for r in session.execute(query.order_by(Task.due_on, Task.id).limit(page_size + 1))]
    next_after = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_after = (rows[-1][0].due_on, rows[-1][0].id)
    counts = {}
    for name in QUEUES:
        counted = (select(func.count()).select_from(Task).outerjoin(branch, branch.id == Task.branch_id)
                   .where(Task.agency_code == clerk.agency.code, Task.state == TaskState.OPEN,
                          _queue_condition(name, clerk, today, soon, branch)))
        counts[name] = session.scalar(counted)
    return QueuePage(rows=rows, counts=counts, next_after=next_after)


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
