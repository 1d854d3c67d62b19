"""Supervision figures: volumes, handling time, on-time rate and the early-warning board (e-supervision cards).

Every figure is an aggregate: counts by the database over indexed columns, and handling time and on-time rates from
tallies maintained as branches are decided (``wf_handling_tallies``), never by loading cases into Python. A supervisor
of the lead window (the city's service-supervision office) sees every agency; an agency supervisor sees their own.
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
from workflows.models import Branch, HandlingTally, Request
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


def _handling_figures(session: Session, codes: list[str] | None) -> dict[str, tuple[float, int, float, int]]:
    """(average days, 90th-percentile days, on-time rate, decided) per agency, from the handling tallies: one query
    over at most a few hundred rows per agency, whatever the number of cases."""
    query = select(HandlingTally).order_by(HandlingTally.agency_code, HandlingTally.handling_days)
    if codes is not None:
        query = query.where(HandlingTally.agency_code.in_(codes))
    by_agency: dict[str, list[HandlingTally]] = {}
    for row in session.scalars(query):
        by_agency.setdefault(row.agency_code, []).append(row)
    figures = {}
    for code, rows in by_agency.items():
        decided = sum(r.decided for r in rows)
        if not decided:
            continue
        rank, seen, p90 = int(0.9 * (decided - 1)), 0, rows[-1].handling_days
        for row in rows:  # the tally is sorted by days: the 90th percentile is where the running count passes rank
            seen += row.decided
            if seen > rank:
                p90 = row.handling_days
                break
        average = sum(r.handling_days * r.decided for r in rows) / decided
        figures[code] = (round(average, 1), p90, sum(r.on_time for r in rows) / decided, decided)
    return figures


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
                    func.sum(case((active & (Branch.due_on >= today) & (Branch.due_on <= soon), 1), else_=0)),
                    func.sum(case((active & (Branch.due_on < today), 1), else_=0)))
             .group_by(Branch.agency_code))
    if codes is not None:
        query = query.where(Branch.agency_code.in_(codes))
    handling = _handling_figures(session, codes)
    rows = []
    for code, received, decided, pending, yellow, red in session.execute(query):
        if code not in agencies:
            continue
        average, p90, on_time_rate, _tallied = handling.get(code, (None, None, None, 0))
        rows.append(AgencyFigures(agency=agencies[code], received=received, decided=int(decided or 0),
                                  pending=int(pending or 0), average_days=average, p90_days=p90,
                                  on_time_rate=on_time_rate, yellow=int(yellow or 0), red=int(red or 0)))
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
