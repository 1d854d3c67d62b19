"""The State Council's holiday notices: loading one, and keeping every process's calendar in step with the database.

The database is the only place a notice lives (``wf_calendar_notices``: the year, the holidays and adjusted working
days, and a digest). :func:`install_notice` is the way in (``flask calendar load-notice FILE``): it checks the notice,
moves the deadlines of running cases that the new calendar changes (``workflows.recalendar``) and records the notice,
in one database transaction. Every process (web server, rq worker, command) builds its calendar from those rows and
looks at them again at most every ``CALENDAR_REFRESH_SECONDS`` (:class:`NoticeSync`), so a notice loaded on one host
reaches all of them without a restart and without shared storage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from services.db import utcnow
from workflows.calendar import ChinaCalendar, InvalidNotice
from workflows.models import CalendarNotice, Event

__all__ = ["DEFAULT_REFRESH_SECONDS", "InvalidNotice", "NoticeSync", "install_notice"]

log = logging.getLogger(__name__)

# Why a time limit and not a look per command: a command (a clerk's decision, a timer) must not pay a query to learn
# that nothing changed, which is true all year but a day or two. Why a short one: a process that has not looked yet
# still counts new deadlines on the old calendar, so the window in which a command can store a date the recount will
# never see is this long. A look is one indexed read of a handful of rows, so every 5 seconds costs nothing.
DEFAULT_REFRESH_SECONDS = 5.0


class NoticeSync:
    """Keeps ``calendar``'s loaded notices equal to the rows of ``wf_calendar_notices``, looking at most every
    ``interval`` seconds (always on the first call, and on the next call after :meth:`invalidate`).

    :meth:`__call__` reads through the session it is given, i.e. inside the caller's transaction: on SQLite a read on
    another connection would wait for the write lock the caller's ``BEGIN IMMEDIATE`` already holds.
    """

    def __init__(self, calendar: ChinaCalendar, interval: float = DEFAULT_REFRESH_SECONDS):
        self.calendar = calendar
        self.interval = interval
        self._digests: dict[int, str] = {}  # year -> sha256 of the notice loaded into the calendar from the database
        self._checked: float | None = None  # time.monotonic() of the last look
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Look again on the next call (this process has just changed the notices)."""
        self._checked = None

    def reset(self) -> None:
        """Forget every notice loaded from the database, as if a look had just found none (tests: a notice recorded
        in a transaction that was rolled back is gone from the database, not from this process's calendar)."""
        with self._lock:
            for year in self._digests:
                self.calendar.forget_notice(year)
            self._digests, self._checked = {}, time.monotonic()

    def __call__(self, session: Session) -> None:
        checked = self._checked
        if checked is not None and time.monotonic() - checked < self.interval:
            return
        with self._lock:
            if self._checked is not None and time.monotonic() - self._checked < self.interval:
                return  # another thread looked while this one waited
            self.load(session)

    def load(self, session: Session) -> list[int]:
        """Look now: load the notices new or changed since the last look, forget those no longer recorded; return
        the years loaded from the database."""
        digests = dict(session.execute(select(CalendarNotice.year, CalendarNotice.sha256)).tuples().all())
        changed = [year for year, digest in digests.items() if self._digests.get(year) != digest]
        if changed:
            for notice in session.scalars(select(CalendarNotice).where(CalendarNotice.year.in_(changed))):
                try:
                    self.calendar.load_notice(notice.year, *_dates(notice.holidays, notice.workdays))
                except InvalidNotice:  # checked before it was recorded; a hand-edited row must not stop the engine
                    log.exception("holiday notice for %s in wf_calendar_notices is invalid; not loaded", notice.year)
                    digests.pop(notice.year)
        for year in set(self._digests) - set(digests):
            self.calendar.forget_notice(year)
        self._digests, self._checked = digests, time.monotonic()
        return sorted(digests)


def _calendar_with(stored) -> ChinaCalendar:
    """A calendar with the notices the database says the deadlines were counted on."""
    calendar = ChinaCalendar()
    for notice in stored:
        calendar.load_notice(notice.year, *_dates(notice.holidays, notice.workdays))
    return calendar


def _dates(holidays: list[str], workdays: list[str]) -> tuple[list[dt.date], list[dt.date]]:
    return [dt.date.fromisoformat(d) for d in holidays], [dt.date.fromisoformat(d) for d in workdays]


def _notify_applicants(session, floor: int, year: int) -> int:
    """Tell each applicant whose case's dates moved (the recount's events after ``floor``) where to see them."""
    from services.applications.models import Application
    from services.notifications.models import Notification
    from workflows.recalendar import EVENT_KIND

    moved = (select(Application.applicant_id, Application.reference)
             .join(Event, Event.instance_id == Application.workflow_instance_id)
             .where(Event.id > floor, Event.kind == EVENT_KIND).order_by(Event.id))
    rows, now = session.execute(moved).all(), utcnow()
    for start in range(0, len(rows), 1000):
        session.execute(insert(Notification), [
            {"account_id": applicant_id, "kind": EVENT_KIND, "params": {"reference": reference, "year": year},
             "created_at": now} for applicant_id, reference in rows[start:start + 1000]])
    return len(rows)


def _read(source: Path) -> tuple[int, dict, str]:
    """The notice in ``source``, checked by the calendar's own parser (:class:`InvalidNotice`): (year, the content
    with its dates sorted, sha256 of the content)."""
    year = ChinaCalendar().load_notice_file(source)
    parsed = json.loads(source.read_bytes())
    content = {"year": year, "holidays": sorted({dt.date.fromisoformat(d).isoformat() for d in parsed["holidays"]}),
               "workdays": sorted({dt.date.fromisoformat(d).isoformat() for d in parsed.get("workdays", [])})}
    return year, content, hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def install_notice(database, source: Path, today: dt.date, *, dry_run: bool = False,
                   progress: Callable[[int], None] | None = None) -> dict:
    """Load the notice in ``source`` for its year: move the running cases' deadlines it changes and record it.

    The database keeps the notice the deadlines were last recounted for (``wf_calendar_notices``), and every process
    reads its calendar from there (:class:`NoticeSync`): loading the same notice again, here or on another host,
    recounts nothing; a corrected notice for the same year is recounted from the one recorded before. Raises
    :class:`InvalidNotice` (nothing changed) when the file is not a valid notice. ``dry_run`` counts what would move
    and changes nothing. Returns the year, whether it was recorded before (``already``), the counts of
    :func:`workflows.recalendar.recompute_deadlines` and how many applicants were notified (``notified``).
    """
    from services.db import lock_for_update
    from workflows.recalendar import recompute_deadlines  # the engine: not needed by NoticeSync

    year, content, digest = _read(source)  # checks it before anything is touched
    with database.transaction() as session:
        this_year = session.scalar(lock_for_update(select(CalendarNotice).where(CalendarNotice.year == year),
                                                   session))
        already = this_year is not None and this_year.sha256 == digest
        counts = {"cases": 0, "dates": 0, "timers": 0, "notified": 0}
        if not already:
            stored = session.scalars(select(CalendarNotice)).all()
            old, new = _calendar_with(stored), _calendar_with(stored)
            new.load_notice(year, *_dates(content["holidays"], content["workdays"]))
            floor = session.scalar(select(func.coalesce(func.max(Event.id), 0)))
            counts = recompute_deadlines(session, old, new, today, progress=progress,
                                         reason={"year": year, "rule": "loaded-notice"})
            counts["notified"] = _notify_applicants(session, floor, year)
            if this_year is None:
                this_year = CalendarNotice(year=year)
                session.add(this_year)
            this_year.sha256, this_year.loaded_at = digest, utcnow()
            this_year.holidays, this_year.workdays = content["holidays"], content["workdays"]
        if dry_run:
            session.rollback()
    return {"year": year, "dry_run": dry_run, "already": already, **counts}
