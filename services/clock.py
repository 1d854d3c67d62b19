"""The one clock for statutory dates: today is the calendar day in China, whatever the server's own time zone.

Time limits, due dates, licence validity and mandates are counted in whole days as the law counts them, in China
Standard Time. A server on UTC (the usual container default) would otherwise still be on yesterday until 08:00 in
Guangzhou. Every "today" in app/ and services/ comes from :func:`today`; tests/test_clock.py finds any other.

The engine in workflows/ never reads the clock: its verbs take ``today`` from the caller, so it needs no copy of this.
Timestamps (``services.db.utcnow``) stay in UTC; only the day is local.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    CHINA_TZ: dt.tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # a slim image without the tz database (Debian's tzdata, or PyPI's tzdata)
    # Exact for every day we count: China has kept UTC+8 without daylight saving since 1991.
    CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def day_of(instant: dt.datetime) -> dt.date:
    """The calendar day in China at ``instant`` (an aware datetime, such as a stored UTC timestamp)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime given: pass an aware instant")
    return instant.astimezone(CHINA_TZ).date()


def today(at: dt.datetime | None = None) -> dt.date:
    """Today in China; ``at`` gives the instant to ask about instead of now (tests, replays)."""
    return day_of(at if at is not None else dt.datetime.now(dt.UTC))
