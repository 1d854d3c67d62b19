"""Working days under PRC rules, behind one small interface.

Statutory time limits count working days (Administrative Licensing Law art. 82), and China moves working days around
its holidays (调休: some Saturdays and Sundays are working days). :class:`ChinaCalendar` decides each year from the
first source that knows it:

1. ``loaded-notice``: the State Council's holiday notice for that year, loaded by an operator (:meth:`load_notice`,
   :meth:`ChinaCalendar.load_notice_file`). It replaces the other sources for the whole year.
2. ``chinesecalendar``: the ``chinesecalendar`` package, which knows the published arrangements (1.11.0: 2004–2026)
   and raises ``NotImplementedError`` outside them.
3. ``holidays-rule``: Monday to Friday, minus the statutory holidays the ``holidays`` package computes by rule (lunar
   dates and observed days included), plus any adjusted working weekends it carries for published years.

A deadline that lands in a ``holidays-rule`` year is provisional: the notice usually moves a few days. When a notice
is loaded (``flask calendar load-notice``, services/calendar_notices.py), workflows/recalendar.py recounts the
running cases' stored deadlines.

Each year is computed once into a bitmap and a sorted tuple of working-day ordinals, so ``is_working_day`` is an index
and ``add_working_days``/``working_days_between`` are a bisect plus one step per year crossed.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from os import PathLike
from typing import Protocol, runtime_checkable

import chinese_calendar
import holidays as pyholidays

__all__ = [
    "RULE_CHINESECALENDAR",
    "RULE_FIXED",
    "RULE_HOLIDAYS",
    "RULE_NOTICE",
    "RULE_WEEKDAY",
    "ChinaCalendar",
    "FixedCalendar",
    "InvalidNotice",
    "WeekdayCalendar",
    "WorkingCalendar",
    "default_calendar",
]

RULE_CHINESECALENDAR = "chinesecalendar"
RULE_HOLIDAYS = "holidays-rule"
RULE_NOTICE = "loaded-notice"
RULE_WEEKDAY = "weekday"
RULE_FIXED = "fixed"


@runtime_checkable
class WorkingCalendar(Protocol):
    """What the workflow engine needs to know about working days."""

    def is_working_day(self, d: date) -> bool:
        """Return whether ``d`` is a working day."""
        ...

    def add_working_days(self, start: date, n: int) -> date:
        """Return the ``n``-th working day after ``start`` (``start`` itself not counted; ``n`` = 0 gives ``start``).

        A negative ``n`` counts backwards: the ``|n|``-th working day before ``start``.
        """
        ...

    def working_days_between(self, start: date, end: date) -> int:
        """Return the number of working days in ``(start, end]``, negated when ``end`` is before ``start``."""
        ...

    def rule_for(self, d: date) -> str:
        """Return which source decided whether ``d`` is a working day."""
        ...


class InvalidNotice(ValueError):
    """A holiday notice was rejected; ``code`` says why and ``detail`` names the offending value.

    Codes: ``format`` (unreadable file, or not a plain date), ``year`` (a date outside the notice's year),
    ``overlap`` (a date listed as both holiday and working day), ``workday-not-weekend`` (an adjusted working day is
    always a Saturday or Sunday), ``no-holidays`` (a notice always lists holidays; an empty list is a mistake that
    would make New Year's Day a working day).
    """

    def __init__(self, code: str, detail: object = None) -> None:
        super().__init__(code if detail is None else f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Year:
    first: int  # ordinal of 1 January
    mask: bytes  # 1 for a working day, indexed by ordinal - first
    work: tuple[int, ...]  # ordinals of the working days, ascending
    rule: str


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return [first + timedelta(days=i) for i in range(366 if leap else 365)]


def _make_year(year: int, is_working: Callable[[date], bool], rule: str) -> _Year:
    days = _days_of(year)
    flags = bytes(1 if is_working(d) else 0 for d in days)
    first = days[0].toordinal()
    return _Year(first, flags, tuple(first + i for i, flag in enumerate(flags) if flag), rule)


class _YearCachedCalendar:
    """Shared arithmetic; subclasses only say which days of a year are working days."""

    def __init__(self) -> None:
        self._years: dict[int, _Year] = {}
        # Workers may share a calendar across threads; building a year twice is harmless but a notice load racing a
        # build must not leave the stale year behind, so builds and invalidations take the same lock.
        self._lock = threading.RLock()

    def _build_year(self, year: int) -> _Year:
        raise NotImplementedError

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            with self._lock:
                cached = self._years.get(year)
                if cached is None:
                    cached = self._years[year] = self._build_year(year)
        return cached

    def is_working_day(self, d: date) -> bool:
        """Return whether ``d`` is a working day."""
        year = self._year(d.year)
        return year.mask[d.toordinal() - year.first] == 1

    def add_working_days(self, start: date, n: int) -> date:
        """Return the ``n``-th working day after ``start`` (``start`` not counted; ``n`` = 0 gives ``start``).

        A negative ``n`` gives the ``|n|``-th working day before ``start``.
        """
        if n == 0:
            return start
        ordinal = start.toordinal()
        calendar_year = start.year
        year = self._year(calendar_year)
        if n > 0:
            index = bisect_right(year.work, ordinal)
            while n > len(year.work) - index:
                n -= len(year.work) - index
                calendar_year += 1
                year, index = self._year(calendar_year), 0
            return date.fromordinal(year.work[index + n - 1])
        n = -n
        index = bisect_left(year.work, ordinal)
        while n > index:
            n -= index
            calendar_year -= 1
            year = self._year(calendar_year)
            index = len(year.work)
        return date.fromordinal(year.work[index - n])

    def working_days_between(self, start: date, end: date) -> int:
        """Return the number of working days in ``(start, end]``; negative when ``end`` is before ``start``."""
        if end < start:
            return -self.working_days_between(end, start)
        first = self._year(start.year)
        if start.year == end.year:
            return bisect_right(first.work, end.toordinal()) - bisect_right(first.work, start.toordinal())
        count = len(first.work) - bisect_right(first.work, start.toordinal())
        for calendar_year in range(start.year + 1, end.year):
            count += len(self._year(calendar_year).work)
        return count + bisect_right(self._year(end.year).work, end.toordinal())

    def rule_for(self, d: date) -> str:
        """Return which source decided whether ``d`` is a working day."""
        return self._year(d.year).rule


class WeekdayCalendar(_YearCachedCalendar):
    """Monday to Friday, every week: a predictable calendar for tests. ``rule_for`` says ``weekday``."""

    def _build_year(self, year: int) -> _Year:
        return _make_year(year, lambda d: d.weekday() < 5, RULE_WEEKDAY)


class FixedCalendar(_YearCachedCalendar):
    """Monday to Friday minus ``holidays`` plus ``workdays``, for tests. ``rule_for`` says ``fixed``."""

    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> None:
        super().__init__()
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)
        if self._holidays & self._workdays:
            raise InvalidNotice("overlap", min(self._holidays & self._workdays))

    def _build_year(self, year: int) -> _Year:
        return _make_year(
            year, lambda d: d in self._workdays or (d.weekday() < 5 and d not in self._holidays), RULE_FIXED
        )


def _holidays_package_workdays(year: int) -> frozenset[date]:
    """Adjusted working weekends for ``year`` from the ``holidays`` package's table of published substitutions.

    The package marks the weekday given off (e.g. "day off, substituted from 2026-01-04") as a holiday but exposes no
    workday category for China, so without the other half a year it knows would lose working days. The table is not
    public API: anything unexpected yields nothing rather than an error, and a test compares the result with
    ``chinesecalendar`` for every year both know.
    """
    try:
        from holidays.countries.china import ChinaStaticHolidays

        table = ChinaStaticHolidays.special_public_holidays
    except (ImportError, AttributeError):
        return frozenset()
    found = set()
    # An entry is (to_month, to_day, from_month, from_day[, from_year]); a working day in late December is listed
    # under the following year.
    for key in (year, year + 1):
        entries = table.get(key, ())
        if entries and isinstance(entries[0], int):
            entries = (entries,)
        for entry in entries:
            try:
                if len(entry) == 4 and all(isinstance(x, int) for x in entry):
                    workday = date(key, entry[2], entry[3])
                elif len(entry) == 5 and all(isinstance(x, int) for x in entry):
                    workday = date(entry[4], entry[2], entry[3])
                else:
                    continue
            except (TypeError, ValueError):
                continue
            if workday.year == year and workday.weekday() >= 5:
                found.add(workday)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class _Notice:
    holidays: frozenset[date]
    workdays: frozenset[date]


class ChinaCalendar(_YearCachedCalendar):
    """Working days in mainland China: loaded notice, else ``chinesecalendar``, else the ``holidays`` rule.

    ``use_chinesecalendar=False`` skips the package, which lets tests compare the rule-based fallback with the
    published arrangements.
    """

    def __init__(self, *, use_chinesecalendar: bool = True) -> None:
        super().__init__()
        self._use_chinesecalendar = use_chinesecalendar
        self._notices: dict[int, _Notice] = {}

    @property
    def notice_years(self) -> list[int]:
        """Years for which a State Council notice has been loaded."""
        return sorted(self._notices)

    def load_notice(self, year: int, holidays: Iterable[date], workdays: Iterable[date]) -> None:
        """Load the State Council's holiday arrangement for ``year``, replacing every other source for that year.

        ``holidays`` lists every day off in the holiday periods (weekend days included or not, as convenient) and
        ``workdays`` the adjusted working Saturdays and Sundays. Loading again replaces the earlier notice.
        Raises :class:`InvalidNotice` on a date outside ``year``, a date in both lists, a working day that is not a
        weekend day, or an empty holiday list.
        """
        notice = _Notice(frozenset(holidays), frozenset(workdays))
        for d in notice.holidays | notice.workdays:
            # A datetime never equals the date it falls on, so it would silently fail to match.
            if type(d) is not date:
                raise InvalidNotice("format", d)
        for d in sorted(notice.holidays | notice.workdays):
            if d.year != year:
                raise InvalidNotice("year", d)
        if not notice.holidays:
            raise InvalidNotice("no-holidays", year)
        if notice.holidays & notice.workdays:
            raise InvalidNotice("overlap", min(notice.holidays & notice.workdays))
        for d in sorted(notice.workdays):
            if d.weekday() < 5:
                raise InvalidNotice("workday-not-weekend", d)
        with self._lock:
            self._notices[year] = notice
            self._years.pop(year, None)

    def forget_notice(self, year: int) -> None:
        """Drop the notice loaded for ``year``: the year is decided by the other sources again."""
        with self._lock:
            self._notices.pop(year, None)
            self._years.pop(year, None)

    def load_notice_file(self, path: str | PathLike[str]) -> int:
        """Load a notice from JSON ``{"year": 2027, "holidays": ["2027-01-01", ...], "workdays": [...]}``.

        Other keys (a ``source`` URL, say) are ignored. Returns the year loaded.
        """
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            year = data["year"]
            if not isinstance(year, int) or isinstance(year, bool):
                raise InvalidNotice("format", year)
            holidays = [date.fromisoformat(s) for s in data["holidays"]]
            workdays = [date.fromisoformat(s) for s in data.get("workdays", [])]
        except InvalidNotice:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidNotice("format", exc) from exc
        self.load_notice(year, holidays, workdays)
        return year

    def _build_year(self, year: int) -> _Year:
        notice = self._notices.get(year)
        if notice is not None:
            return _make_year(
                year,
                lambda d: d in notice.workdays or (d.weekday() < 5 and d not in notice.holidays),
                RULE_NOTICE,
            )
        if self._use_chinesecalendar:
            try:
                return _make_year(year, chinese_calendar.is_workday, RULE_CHINESECALENDAR)
            except NotImplementedError:
                pass  # beyond the package's horizon; the year is cached, so this is probed once per year
        days_off = frozenset(d for d in pyholidays.China(years=year) if d.year == year)
        extra_workdays = _holidays_package_workdays(year)
        return _make_year(year, lambda d: d in extra_workdays or (d.weekday() < 5 and d not in days_off), RULE_HOLIDAYS)


_default_calendar = ChinaCalendar()


def default_calendar() -> ChinaCalendar:
    """Return the process-wide :class:`ChinaCalendar`; notices loaded into it apply everywhere."""
    return _default_calendar
