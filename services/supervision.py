"""Supervision figures: volumes, handling time, on-time rates and the early-warning board (e-supervision cards).

Every figure comes from ``branch_tallies`` (services/applications/tallies.py), kept by the database as branches
start, pause, resume, are decided or cancelled: one query over a few hundred rows per agency, whatever the number of
cases. The warning cards are two index walks that stop after a page. Nothing loads cases into Python. A supervisor of
the lead window (the city's service-supervision office) and an administrator see every agency; an agency supervisor
sees their own.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from services import clock
from services.applications.models import Application
from services.applications.tallies import branch_groups
from services.catalogue.models import Agency, Matter
from services.errors import PermissionDenied
from services.identity.models import Account, Role
from workflows.calendar import WorkingCalendar
from workflows.models import Branch, Request
from workflows.states import BranchState

DECIDED = {BranchState.APPROVED.name, BranchState.REJECTED.name}
PENDING = {BranchState.ACTIVE.name, BranchState.WAITING_APPLICANT.name, BranchState.PAUSED.name}
ACTIVE = BranchState.ACTIVE.name


@dataclass
class Figures:
    """The figures of one agency or one matter."""

    received: int = 0
    decided: int = 0
    pending: int = 0
    on_time: int = 0
    yellow: int = 0  # active, 2 working days or fewer left
    red: int = 0  # active, over the time limit
    handling: dict[int, int] = field(default_factory=dict)  # working days -> branches decided after that many

    @property
    def on_time_rate(self) -> float | None:
        """Share of decided branches decided by their due date."""
        return self.on_time / self.decided if self.decided else None

    @property
    def average_days(self) -> float | None:
        total = sum(self.handling.values())
        return round(sum(d * n for d, n in self.handling.items()) / total, 1) if total else None

    @property
    def p90_days(self) -> int | None:
        """The 90th percentile of handling time (nearest rank): the fewest days within which 90 % of the decisions
        were made."""
        total = sum(self.handling.values())
        if not total:
            return None
        rank, seen = math.ceil(0.9 * total), 0
        for days in sorted(self.handling):
            seen += self.handling[days]
            if seen >= rank:
                return days
        return max(self.handling)


@dataclass
class AgencyFigures(Figures):
    agency: Agency | None = None


@dataclass
class MatterFigures(Figures):
    matter: Matter | None = None
    agency: Agency | None = None


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
    matters: list[MatterFigures]
    red_cards: list[WarningCard]
    yellow_cards: list[WarningCard]
    extensions_waiting: int
    today: dt.date
    soon: dt.date

    @property
    def cards(self) -> list[WarningCard]:
        return self.red_cards + self.yellow_cards

    @property
    def red(self) -> int:
        return sum(r.red for r in self.rows)

    @property
    def yellow(self) -> int:
        return sum(r.yellow for r in self.rows)


def _scope(supervisor: Account) -> list[str] | None:
    if supervisor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("supervisors_only")
    if supervisor.role == Role.ADMIN or (supervisor.agency and supervisor.agency.is_lead_window):
        return None
    if supervisor.agency is None:
        raise PermissionDenied("supervisors_only")
    return [supervisor.agency.code]


def _add(figures: Figures, state: str, on_time: bool | None, handling_days: int | None, due_on: dt.date | None,
         count: int, today: dt.date, soon: dt.date) -> None:
    figures.received += count
    if state in DECIDED:
        figures.decided += count
        figures.on_time += count if on_time else 0
        if handling_days is not None:
            figures.handling[handling_days] = figures.handling.get(handling_days, 0) + count
    elif state in PENDING:
        figures.pending += count
        if state == ACTIVE and due_on is not None and due_on < today:
            figures.red += count
        elif state == ACTIVE and due_on is not None and due_on <= soon:
            figures.yellow += count


def _cards(session: Session, codes: list[str] | None, agencies: dict[str, Agency], colour: str, today: dt.date,
           soon: dt.date, limit: int) -> list[WarningCard]:
    """Red cards, most overdue first, or yellow cards, soonest due first: one walk of the active-branch index."""
    # The state as a literal so that PostgreSQL matches the partial index on active branches.
    query = (select(Branch, Application.reference)
             .join(Application, Application.workflow_instance_id == Branch.instance_id)
             .where(Branch.state == literal_column("'ACTIVE'")))
    query = query.where(Branch.due_on < today) if colour == "red" else query.where(Branch.due_on >= today,
                                                                                  Branch.due_on <= soon)
    if codes is not None:
        query = query.where(Branch.agency_code.in_(codes))
    rows = session.execute(query.order_by(Branch.due_on, Branch.id).limit(limit)).all()
    return [WarningCard(colour, branch, reference, agencies[branch.agency_code]) for branch, reference in rows]


def dashboard(session: Session, supervisor: Account, calendar: WorkingCalendar, today: dt.date | None = None,
              card_limit: int = 25) -> Dashboard:
    today = today or clock.today()
    codes = _scope(supervisor)
    soon = calendar.add_working_days(today, 2)
    agencies = {a.code: a for a in session.scalars(select(Agency).order_by(Agency.id))}
    matters = {m.code: m for m in session.scalars(select(Matter).order_by(Matter.id))}
    by_agency: dict[str, AgencyFigures] = {}
    by_matter: dict[str, MatterFigures] = {}
    for group in branch_groups(session, codes):
        if group.agency_code not in agencies:
            continue
        agency = by_agency.setdefault(group.agency_code, AgencyFigures(agency=agencies[group.agency_code]))
        figures = [agency]
        if group.matter_code in matters:
            figures.append(by_matter.setdefault(group.matter_code, MatterFigures(
                matter=matters[group.matter_code], agency=agencies[group.agency_code])))
        for target in figures:
            _add(target, group.state, group.on_time, group.handling_days, group.due_on, group.count, today, soon)
    waiting = select(func.count()).select_from(Request).where(Request.kind == literal_column("'EXTENSION'"),
                                                               Request.state == literal_column("'OPEN'"))
    if codes is not None:
        waiting = waiting.where(Request.agency_code.in_(codes))
    return Dashboard(
        scope="city" if codes is None else codes[0],
        rows=sorted(by_agency.values(), key=lambda r: r.agency.id),
        matters=sorted(by_matter.values(), key=lambda r: r.matter.id),
        red_cards=_cards(session, codes, agencies, "red", today, soon, card_limit),
        yellow_cards=_cards(session, codes, agencies, "yellow", today, soon, card_limit),
        extensions_waiting=session.scalar(waiting), today=today, soon=soon)
