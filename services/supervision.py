"""Supervision figures: volumes, handling time, on-time rate and the early-warning board (e-supervision cards).

Every figure is an aggregate computed by the database over indexed columns maintained as branches move (handling
days and on-time are stored when a branch is decided), never by loading cases into Python. A supervisor of the lead
window (the city's service-supervision office) sees every agency; an agency supervisor sees their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.applications.models import Application
from services.catalogue.models import Agency
from services.errors import PermissionDenied
from services.identity.models import Account, Role
from workflows.calendar import WorkingCalendar
from workflows.models import Branch, Request
from workflows.states import BranchState, RequestKind, RequestState

DECIDED = (BranchState.APPROVED, BranchState.REJECTED)
PENDING = (BranchState.ACTIVE, BranchState.WAITING_APPLICANT, BranchState.PAUSED)


@dataclass
class AgencyFigures:
    agency: Agency
    received: int
    decided: int
    pending: int
    average_days: float | None
    p90_days: int | None
    on_time_rate: float | None  # share of decided branches decided by their due date
    yellow: int  # 2 working days or fewer left
    red: int  # over the time limit


@dataclass
class WarningCard:
    colour: str
    branch: Branch
    reference: str
    agency: Agency


@dataclass
class Dashboard:
    scope: str  # "city" or the agency code
    rows: list[AgencyFigures]
    cards: list[WarningCard]
    extensions_waiting: int


def _scope(supervisor: Account) -> list[str] | None:
    if supervisor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("supervisors_only")
    if supervisor.role == Role.ADMIN or (supervisor.agency and supervisor.agency.is_lead_window):
        return None
    return [supervisor.agency.code]


def _p90(session: Session, agency_code: str, decided: int) -> int | None:
    """The 90th percentile by offset into the (agency, handling_days) index: the same query on both databases."""
    if not decided:
        return None
    offset = int(0.9 * (decided - 1))
    return session.scalar(select(Branch.handling_days).where(Branch.agency_code == agency_code,
                                                             Branch.handling_days.is_not(None))
                          .order_by(Branch.handling_days).offset(offset).limit(1))


def dashboard(session: Session, supervisor: Account, calendar: WorkingCalendar, today: dt.date | None = None,
              card_limit: int = 50) -> Dashboard:
    today = today or dt.date.today()
    codes = _scope(supervisor)
    soon = calendar.add_working_days(today, 2)
    agencies = {a.code: a for a in session.scalars(select(Agency).order_by(Agency.id))}
    active = Branch.state == BranchState.ACTIVE
    query = (select(Branch.agency_code, func.count(),
                    func.sum(case((Branch.state.in_(DECIDED), 1), else_=0)),
                    func.sum(case((Branch.state.in_(PENDING), 1), else_=0)),
                    func.avg(Branch.handling_days),
                    func.sum(case((Branch.on_time.is_(True), 1), else_=0)),
                    func.sum(case((active & (Branch.due_on >= today) & (Branch.due_on <= soon), 1), else_=0)),
                    func.sum(case((active & (Branch.due_on < today), 1), else_=0)))
             .group_by(Branch.agency_code))
    if codes is not None:
        query = query.where(Branch.agency_code.in_(codes))
    rows = []
    for code, received, decided, pending, average, on_time, yellow, red in session.execute(query):
        if code not in agencies:
            continue
        decided = int(decided or 0)
        rows.append(AgencyFigures(agency=agencies[code], received=received, decided=decided, pending=int(pending or 0),
                                  average_days=round(float(average), 1) if average is not None else None,
                                  p90_days=_p90(session, code, decided),
                                  on_time_rate=(int(on_time or 0) / decided) if decided else None,
                                  yellow=int(yellow or 0), red=int(red or 0)))
    rows.sort(key=lambda r: r.agency.id)
    board = (select(Branch, Application.reference)
             .join(Application, Application.workflow_instance_id == Branch.instance_id)
             .where(active, Branch.due_on <= soon).order_by(Branch.due_on, Branch.id).limit(card_limit))
    if codes is not None:
        board = board.where(Branch.agency_code.in_(codes))
    cards = [WarningCard("red" if branch.due_on < today else "yellow", branch, reference, agencies[branch.agency_code])
             for branch, reference in session.execute(board)]
    waiting = select(func.count()).select_from(Request).where(Request.kind == RequestKind.EXTENSION,
                                                               Request.state == RequestState.OPEN)
    if codes is not None:
        waiting = waiting.where(Request.agency_code.in_(codes))
    return Dashboard(scope="city" if codes is None else codes[0], rows=rows, cards=cards,
                     extensions_waiting=session.scalar(waiting))
