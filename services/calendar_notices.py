"""The State Council's holiday notices: loading one, and keeping every process's calendar in step with the directory.

Notices live as ``<instance>/calendar/<year>.json``. :func:`install_notice` is the way in (``flask calendar
load-notice FILE``): it checks the notice, moves the deadlines of running cases that the new calendar changes
(``workflows.recalendar``) and puts the file in place, in one database transaction; if the transaction fails the
file is put back as it was. Web processes and workers see the directory change on their next use of the engine
(:func:`refresh_notices`, one ``stat`` per call) and load the notice without a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, insert, select

from services.db import utcnow
from workflows.calendar import ChinaCalendar, InvalidNotice
from workflows.models import Event

__all__ = ["InvalidNotice", "install_notice", "load_notices", "refresh_notices"]

_seen: dict[Path, int | None] = {}
_seen_lock = threading.Lock()


def load_notices(calendar: ChinaCalendar, notice_dir: Path) -> list[int]:
    """Load every ``*.json`` holiday notice in ``notice_dir`` into ``calendar`` and forget notices no longer there;
    return the years loaded."""
    years = [calendar.load_notice_file(path) for path in sorted(notice_dir.glob("*.json"))] \
        if notice_dir.is_dir() else []
    for year in set(calendar.notice_years) - set(years):
        calendar.forget_notice(year)
    return years


def _signature(notice_dir: Path) -> int | None:
    try:
        return notice_dir.stat().st_mtime_ns  # a file added, removed or replaced (renamed over) changes it
    except OSError:
        return None


def refresh_notices(calendar: ChinaCalendar, notice_dir: Path) -> None:
    """Reload ``calendar``'s notices when ``notice_dir`` has changed since this process last looked."""
    signature = _signature(notice_dir)
    if _seen.get(notice_dir, -1) == signature:
        return
    with _seen_lock:
        if _seen.get(notice_dir, -1) != signature:
            load_notices(calendar, notice_dir)
            _seen[notice_dir] = signature


def _calendar_with(notice_dir: Path, stored) -> ChinaCalendar:
    """This host's notices, overridden by those the database says the deadlines were recounted for."""
    calendar = ChinaCalendar()
    load_notices(calendar, notice_dir)
    for notice in stored:
        calendar.load_notice(notice.year, *_dates(notice.holidays, notice.workdays))
    return calendar


def _dates(holidays: list[str], workdays: list[str]) -> tuple[list[dt.date], list[dt.date]]:
    return [dt.date.fromisoformat(d) for d in holidays], [dt.date.fromisoformat(d) for d in workdays]


def _write(target: Path, data: bytes | None) -> None:
    """Replace ``target`` in one rename (readers see the old file or the new one), or remove it for ``None``."""
    if data is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".notice-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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


def _read(source: Path) -> tuple[int, bytes, dict, str]:
    """The notice in ``source``, checked by the calendar's own parser (:class:`InvalidNotice`): (year, the file's
    bytes, the content with its dates sorted, sha256 of the content)."""
    year = ChinaCalendar().load_notice_file(source)
    data = source.read_bytes()
    parsed = json.loads(data)
    content = {"year": year, "holidays": sorted({dt.date.fromisoformat(d).isoformat() for d in parsed["holidays"]}),
               "workdays": sorted({dt.date.fromisoformat(d).isoformat() for d in parsed.get("workdays", [])})}
    return year, data, content, hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def install_notice(database, notice_dir: Path, source: Path, today: dt.date, *, dry_run: bool = False,
                   progress: Callable[[int], None] | None = None) -> dict:
    """Load the notice in ``source`` for its year; move the running cases' deadlines it changes; keep the file.

    The database keeps the notice the deadlines were last recounted for (``wf_calendar_notices``): loading the same
    notice again, here or on another host, recounts nothing and only puts the file in place; a corrected notice for
    the same year is recounted from the one loaded before. Raises :class:`InvalidNotice` (nothing changed) when the
    file is not a valid notice. ``dry_run`` counts what would move and changes nothing. Returns the year, the file it
    was kept as, whether it was loaded before (``already``), the counts of
    :func:`workflows.recalendar.recompute_deadlines` and how many applicants were notified (``notified``).
    """
    from services.db import lock_for_update
    from workflows.models import CalendarNotice
    from workflows.recalendar import recompute_deadlines  # the engine: not needed by refresh_notices

    year, data, content, digest = _read(source)  # checks it before anything is touched
    target = notice_dir / f"{year}.json"
    previous = target.read_bytes() if target.exists() else None
    written = False
    try:
        with database.transaction() as session:
            this_year = session.scalar(lock_for_update(select(CalendarNotice).where(CalendarNotice.year == year),
                                                       session))
            already = this_year is not None and this_year.sha256 == digest
            counts = {"cases": 0, "dates": 0, "timers": 0, "notified": 0}
            if not already:
                stored = session.scalars(select(CalendarNotice)).all()
                old, new = _calendar_with(notice_dir, stored), _calendar_with(notice_dir, stored)
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
            elif data != previous:
                _write(target, data)  # last, so a failure before here leaves the directory untouched
                written = True
    except BaseException:
        if written:
            _write(target, previous)
        raise
    return {"year": year, "file": str(target), "dry_run": dry_run, "already": already, **counts}
