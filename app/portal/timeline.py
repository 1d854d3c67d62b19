"""The geometry of a case's branch timeline: one bar per agency from the day its branch started to the day it was
decided (or today while it runs), with a mark at its due date. The template draws it as SVG and lists the same facts
as text, so nothing is only in the picture."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services import clock
from workflows.models import Branch
from workflows.states import BranchState

LABEL_WIDTH = 300
PLOT_WIDTH = 400
ROW_HEIGHT = 30
TOP = 26  # room for the axis dates
# Fill colours with at least 3:1 contrast against white (WCAG 1.4.11 non-text contrast).
FILL = {
    BranchState.ACTIVE: "#1a4fa0",
    BranchState.WAITING_APPLICANT: "#8a5a00",
    BranchState.PAUSED: "#8a5a00",
    BranchState.APPROVED: "#00703c",
    BranchState.REJECTED: "#b4141a",
    BranchState.CANCELLED: "#6f777b",
}


@dataclass
class Bar:
    branch: Branch
    y: int
    x: float
    width: float
    due_x: float
    ended_on: dt.date | None
    fill: str


@dataclass
class Timeline:
    bars: list[Bar]
    start: dt.date
    end: dt.date
    today_x: float | None
    width: int
    height: int
    label_width: int = LABEL_WIDTH


def branch_timeline(branches: list[Branch], today: dt.date | None = None) -> Timeline | None:
    """The timeline of these branches, or None when there is none to draw."""
    if not branches:
        return None
    today = today or clock.today()

    def ended(branch: Branch) -> dt.date | None:
        return clock.day_of(branch.decided_at) if branch.decided_at else None

    start = min(b.started_on for b in branches)
    end = max([b.due_on for b in branches] + [ended(b) or today for b in branches])
    span = max((end - start).days, 1)

    def x(day: dt.date) -> float:
        return round(LABEL_WIDTH + (min(max(day, start), end) - start).days / span * PLOT_WIDTH, 1)

    bars = []
    for row, branch in enumerate(branches):
        stop = ended(branch) or (today if branch.state != BranchState.CANCELLED else branch.started_on)
        left = x(branch.started_on)
        bars.append(Bar(branch, TOP + row * ROW_HEIGHT, left, max(round(x(stop) - left, 1), 3.0), x(branch.due_on),
                        ended(branch), FILL.get(branch.state, "#1a4fa0")))
    today_x = x(today) if start <= today <= end else None
    return Timeline(bars, start, end, today_x, LABEL_WIDTH + PLOT_WIDTH + 20, TOP + len(bars) * ROW_HEIGHT + 6)


def page_helpers(agencies: dict) -> dict:
    """What the service pages' templates use many times per page, prepared once per request: agency names in the
    reader's language, the timeline's fixed wording, and dates formatted once each (Babel's date formatting and
    gettext dominated the page's rendering time with ten timelines)."""
    from app.i18n import _, format_day, localized

    days: dict = {}

    def day(value) -> str:
        if value not in days:
            days[value] = format_day(value)
        return days[value]

    return {
        "format_day": day,
        "agency_names": {code: localized(agency, "name") for code, agency in agencies.items()},
        "tl_text": {
            "title": _("Timeline of each agency's work on this case"), "agency": _("Agency"), "matter": _("Matter"),
            "status": _("Status"), "started": _("Started"), "due": _("Due by"), "decided": _("Decided"),
            "overdue": _("Over the time limit"),
        },
    }
