"""Deadlines as pages show them: marked provisional while the State Council's holiday notice for their year is not
loaded (issue 19, point 10), and each matter's time limit with the law that sets it (point 9)."""

from __future__ import annotations

import datetime as dt

from app import db_session
from app.i18n import _
from services.applications.service import engine, provisional_rule
from services.catalogue import definitions


def deadline_note(*days) -> str:
    """A translated note for a date computed by the fallback rule; empty for a firm one."""
    if provisional_rule(engine(db_session()).calendar, *days) is None:
        return ""
    years = sorted({(dt.date.fromisoformat(d) if isinstance(d, str) else d).year for d in days if d is not None})
    return _("provisional: the State Council has not published the %(year)s holidays yet, so this date was counted "
             "by rule (weekends and the statutory holidays) and may move when it does", year=years[-1])


def matter_limit(service_code: str, matter_code: str | None):
    """The matter's catalogue entry (its time limit, extension and their legal basis), or None."""
    service = definitions.catalogue().services.get(service_code)
    return service.matter(matter_code) if service is not None and matter_code else None


def provisional_notice_suffix(params: dict) -> str:
    """What a notification adds when the date it tells is provisional."""
    if not params.get("provisional"):
        return ""
    return " " + _("This date is provisional: it was counted by rule because that year's holidays are not published "
                   "yet, and may move when they are.")


def deadline_helpers() -> dict:
    return {"deadline_note": deadline_note, "matter_limit": matter_limit}
