import json
import random
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from workflows.calendar import (
    RULE_CHINESECALENDAR,
    RULE_FIXED,
    RULE_HOLIDAYS,
    RULE_NOTICE,
    RULE_WEEKDAY,
    ChinaCalendar,
    FixedCalendar,
    InvalidNotice,
    WeekdayCalendar,
    WorkingCalendar,
    default_calendar,
)

D = date.fromisoformat


def days(first, last):
    d = D(first)
    while d <= D(last):
        yield d
        d += timedelta(days=1)


# A notice as an operator would load it. The dates are made up for the test (the real 2027 notice was not published
# when this was written) and deliberately differ from the holidays-rule so the override is visible.
MADE_UP_2027_HOLIDAYS = [*days("2027-01-01", "2027-01-03"), *days("2027-02-05", "2027-02-13")]
MADE_UP_2027_WORKDAYS = [D("2027-01-30"), D("2027-02-20")]


@pytest.fixture
def calendar():
    # A fresh instance per test, so a loaded notice never leaks into the shared default calendar.
    return ChinaCalendar()


def test_every_calendar_implements_the_protocol():
    for calendar in (ChinaCalendar(), WeekdayCalendar(), FixedCalendar(set(), set()), default_calendar()):
        assert isinstance(calendar, WorkingCalendar)


def test_default_calendar_is_a_singleton():
    assert isinstance(default_calendar(), ChinaCalendar)
    assert default_calendar() is default_calendar()


# --- 2026, from chinesecalendar (State Council notice of November 2025) -------------------------------------------


@pytest.mark.parametrize("day", list(days("2026-10-01", "2026-10-07")))
def test_national_day_2026_is_not_working(calendar, day):
    assert not calendar.is_working_day(day)
    assert calendar.rule_for(day) == RULE_CHINESECALENDAR


@pytest.mark.parametrize("day", list(days("2026-02-15", "2026-02-23")))
def test_spring_festival_2026_is_not_working(calendar, day):
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    # Adjusted working weekends: New Year (Sun 4 Jan), Spring Festival (Sat 14 and Sat 28 Feb), Labour Day
    # (Sat 9 May), National Day (Sun 20 Sep and Sat 10 Oct).
    ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
)
def test_adjusted_working_weekends_2026(calendar, day):
    assert D(day).weekday() >= 5
    assert calendar.is_working_day(D(day))


def test_ordinary_days_2026(calendar):
    assert calendar.is_working_day(D("2026-11-25"))  # a Wednesday
    assert not calendar.is_working_day(D("2026-11-28"))  # a Saturday
    assert not calendar.is_working_day(D("2026-01-02"))  # Friday given off for Sunday 4 January


def test_whole_of_2026_matches_chinesecalendar(calendar):
    for day in days("2026-01-01", "2026-12-31"):
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day)


# --- 2027, beyond chinesecalendar's horizon ---------------------------------------------------------------------


def test_chinesecalendar_still_stops_at_2026():
    # If this fails, the package learnt 2027: the fallback tests below then need a later year.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D("2027-01-01"))


def test_new_year_2027_from_the_holidays_rule(calendar):
    assert not calendar.is_working_day(D("2027-01-01"))
    assert calendar.rule_for(D("2027-01-01")) == RULE_HOLIDAYS
    assert calendar.is_working_day(D("2027-01-04"))  # Monday
    assert not calendar.is_working_day(D("2027-01-09"))  # Saturday


@pytest.mark.parametrize(
    "day",
    [
        "2027-02-05",
        "2027-02-08",
        "2027-02-09",
        "2027-02-10",
        "2027-04-05",
        "2027-05-03",
        "2027-06-09",
        "2027-09-15",
        "2027-10-01",
        "2027-10-04",
        "2027-10-05",
    ],
)
def test_statutory_holidays_2027_by_rule(calendar, day):
    # Spring Festival eve and days 1-3 (from 2025 eve is statutory), observed days, Qingming, Labour Day, Dragon
    # Boat, Mid-Autumn, National Day.
    assert not calendar.is_working_day(D(day))


def test_holidays_rule_agrees_with_chinesecalendar_wherever_both_know():
    # The holidays package also carries the published substitutions; this checks we read its working weekends right,
    # which matters the day it knows a year that chinesecalendar does not.
    published = ChinaCalendar()
    by_rule = ChinaCalendar(use_chinesecalendar=False)
    for day in days("2004-01-01", "2026-12-31"):
        if day == D("2005-12-31"):
            # chinesecalendar 1.11.0 has this Saturday off, but the 2006 notice (国办发明电〔2005〕35号) says
            # "12月31日（星期六）上班", as the holidays package has it.
            assert by_rule.is_working_day(day)
            continue
        assert by_rule.is_working_day(day) == published.is_working_day(day), day
    assert by_rule.rule_for(D("2026-10-10")) == RULE_HOLIDAYS


def test_horizon_is_probed_once_per_year(monkeypatch):
    calls = []
    real = chinese_calendar.is_workday

    def counting(day):
        calls.append(day)
        return real(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", counting)
    calendar = ChinaCalendar()
    for day in days("2027-01-01", "2027-12-31"):
        calendar.is_working_day(day)
    calendar.add_working_days(D("2027-03-01"), 60)
    assert len(calls) == 1
    calendar.is_working_day(D("2026-06-01"))
    calendar.is_working_day(D("2026-06-02"))
    assert len(calls) == 1 + 365


# --- notices ----------------------------------------------------------------------------------------------------


def test_loaded_notice_overrides_the_holidays_rule(calendar):
    assert calendar.is_working_day(D("2027-02-11"))  # a plain Thursday by rule
    assert not calendar.is_working_day(D("2027-10-04"))  # observed holiday by rule
    calendar.load_notice(2027, MADE_UP_2027_HOLIDAYS, MADE_UP_2027_WORKDAYS)
    assert calendar.notice_years == [2027]
    assert calendar.rule_for(D("2027-07-01")) == RULE_NOTICE
    assert not calendar.is_working_day(D("2027-02-11"))
    assert calendar.is_working_day(D("2027-01-30"))  # Saturday made a working day
    assert calendar.is_working_day(D("2027-10-04"))  # the notice replaces the rule for the whole year
    assert not calendar.is_working_day(D("2027-01-01"))
    assert calendar.rule_for(D("2026-07-01")) == RULE_CHINESECALENDAR
    assert calendar.rule_for(D("2028-07-01")) == RULE_HOLIDAYS


def test_loaded_notice_overrides_chinesecalendar(calendar):
    calendar.load_notice(2026, [D("2026-01-01"), D("2026-11-26")], [D("2026-11-28")])
    assert calendar.rule_for(D("2026-10-05")) == RULE_NOTICE
    assert calendar.is_working_day(D("2026-10-05"))
    assert not calendar.is_working_day(D("2026-11-26"))
    assert calendar.is_working_day(D("2026-11-28"))


def test_loading_again_replaces_the_notice(calendar):
    calendar.load_notice(2027, MADE_UP_2027_HOLIDAYS, MADE_UP_2027_WORKDAYS)
    calendar.load_notice(2027, [D("2027-01-01")], [])
    assert calendar.is_working_day(D("2027-02-11"))
    assert not calendar.is_working_day(D("2027-01-30"))


@pytest.mark.parametrize(
    ("holidays", "workdays", "code"),
    [
        ([D("2027-01-01"), D("2026-12-31")], [], "year"),
        ([D("2027-01-01")], [D("2028-01-01")], "year"),
        ([], [D("2027-01-30")], "no-holidays"),
        ([D("2027-01-01"), D("2027-01-30")], [D("2027-01-30")], "overlap"),
        ([D("2027-01-01")], [D("2027-01-29")], "workday-not-weekend"),
        ([D("2027-01-01"), "2027-01-02"], [], "format"),
        ([datetime(2027, 1, 1, 0, 0)], [], "format"),
    ],
)
def test_bad_notices_are_rejected_and_change_nothing(calendar, holidays, workdays, code):
    with pytest.raises(InvalidNotice) as excinfo:
        calendar.load_notice(2027, holidays, workdays)
    assert excinfo.value.code == code
    assert calendar.notice_years == []
    assert calendar.rule_for(D("2027-01-01")) == RULE_HOLIDAYS


def test_load_notice_file(calendar, tmp_path):
    path = tmp_path / "notice-2027.json"
    path.write_text(
        json.dumps(
            {
                "year": 2027,
                "source": "https://www.gov.cn/",
                "holidays": [d.isoformat() for d in MADE_UP_2027_HOLIDAYS],
                "workdays": [d.isoformat() for d in MADE_UP_2027_WORKDAYS],
            }
        ),
        encoding="utf-8",
    )
    assert calendar.load_notice_file(path) == 2027
    assert calendar.rule_for(D("2027-02-11")) == RULE_NOTICE
    assert not calendar.is_working_day(D("2027-02-11"))
    assert calendar.is_working_day(D("2027-02-20"))


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("{not json", "format"),
        ('{"holidays": ["2027-01-01"]}', "format"),
        ('{"year": "2027", "holidays": ["2027-01-01"]}', "format"),
        ('{"year": 2027, "holidays": ["2027-13-01"]}', "format"),
        ('{"year": 2027, "holidays": ["2026-01-01"]}', "year"),
    ],
)
def test_bad_notice_files(calendar, tmp_path, content, code):
    path = tmp_path / "notice.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidNotice) as excinfo:
        calendar.load_notice_file(path)
    assert excinfo.value.code == code


def test_missing_notice_file(calendar, tmp_path):
    with pytest.raises(InvalidNotice) as excinfo:
        calendar.load_notice_file(tmp_path / "absent.json")
    assert excinfo.value.code == "format"


# --- arithmetic -------------------------------------------------------------------------------------------------


def test_add_working_days_around_national_day_2026(calendar):
    assert calendar.add_working_days(D("2026-09-30"), 1) == D("2026-10-08")
    assert calendar.add_working_days(D("2026-10-01"), 1) == D("2026-10-08")
    assert calendar.add_working_days(D("2026-10-09"), 1) == D("2026-10-10")  # working Saturday
    assert calendar.add_working_days(D("2026-09-18"), 1) == D("2026-09-20")  # working Sunday
    assert calendar.add_working_days(D("2026-10-08"), -1) == D("2026-09-30")
    assert calendar.add_working_days(D("2026-10-03"), 0) == D("2026-10-03")


def test_add_working_days_across_the_year_boundary(calendar):
    # 28-31 Dec are working days 1-4; 1 Jan 2027 is New Year's Day, 2-3 Jan a weekend.
    assert calendar.add_working_days(D("2026-12-25"), 5) == D("2027-01-04")
    # Art. 42: a decision within 20 working days of acceptance on 15 December 2026.
    assert calendar.add_working_days(D("2026-12-15"), 20) == D("2027-01-13")
    assert calendar.add_working_days(D("2027-01-04"), -1) == D("2026-12-31")
    assert calendar.working_days_between(D("2026-12-25"), D("2027-01-04")) == 5
    assert calendar.working_days_between(D("2027-01-04"), D("2026-12-25")) == -5


def test_add_working_days_across_the_boundary_with_a_notice(calendar):
    calendar.load_notice(2027, [D("2027-01-01"), D("2027-01-04")], [])
    assert calendar.add_working_days(D("2026-12-25"), 5) == D("2027-01-05")


def test_add_working_days_over_several_years(calendar):
    start = D("2025-06-01")
    end = calendar.add_working_days(start, 1000)
    assert end.year == 2029
    assert calendar.working_days_between(start, end) == 1000
    # start is a Sunday: counting 999 back from the 1000th lands on the 1st working day after it.
    assert calendar.add_working_days(end, -999) == calendar.add_working_days(start, 1)


def test_working_days_between_simple_cases(calendar):
    assert calendar.working_days_between(D("2026-10-01"), D("2026-10-01")) == 0
    assert calendar.working_days_between(D("2026-09-30"), D("2026-10-08")) == 1
    assert calendar.working_days_between(D("2026-09-30"), D("2026-10-07")) == 0


def _naive_count(calendar, start, end):
    count, d = 0, start
    while d < end:
        d += timedelta(days=1)
        count += calendar.is_working_day(d)
    return count


def test_working_days_between_inverts_add_working_days(calendar):
    rng = random.Random(20261125)
    first = D("2025-01-01").toordinal()
    for _ in range(400):
        start = date.fromordinal(first + rng.randrange(3 * 365))
        n = rng.randrange(0, 90)
        end = calendar.add_working_days(start, n)
        assert calendar.working_days_between(start, end) == n, (start, n)
        assert _naive_count(calendar, start, end) == n
        if n:
            assert calendar.is_working_day(end)
            assert calendar.working_days_between(start, end - timedelta(days=1)) == n - 1
            back = calendar.add_working_days(start, -n)
            assert calendar.is_working_day(back)
            assert calendar.working_days_between(start, back) == -(n - 1 + calendar.is_working_day(start))


# --- predictable calendars for tests ----------------------------------------------------------------------------


def test_weekday_calendar():
    calendar = WeekdayCalendar()
    assert calendar.is_working_day(D("2026-10-01"))
    assert not calendar.is_working_day(D("2026-09-20"))
    assert calendar.add_working_days(D("2026-11-27"), 5) == D("2026-12-04")
    assert calendar.working_days_between(D("2026-11-27"), D("2027-11-26")) == 260
    assert calendar.rule_for(D("2030-01-01")) == RULE_WEEKDAY


def test_fixed_calendar():
    calendar = FixedCalendar({D("2026-11-26")}, {D("2026-11-28")})
    assert not calendar.is_working_day(D("2026-11-26"))
    assert calendar.is_working_day(D("2026-11-28"))
    assert calendar.add_working_days(D("2026-11-25"), 2) == D("2026-11-28")
    assert calendar.rule_for(D("2026-11-26")) == RULE_FIXED
    with pytest.raises(InvalidNotice):
        FixedCalendar({D("2026-11-28")}, {D("2026-11-28")})


def _record(db, year: int, holidays: list[str], workdays: list[str]) -> None:
    """A notice row as `flask calendar load-notice` records it (without the recount)."""
    import hashlib
    import json

    from services.db import utcnow
    from workflows.models import CalendarNotice

    row = db.get(CalendarNotice, year) or CalendarNotice(year=year)
    row.sha256 = hashlib.sha256(json.dumps([year, holidays, workdays]).encode()).hexdigest()
    row.holidays, row.workdays, row.loaded_at = holidays, workdays, utcnow()
    db.add(row)
    db.flush()


def test_notices_recorded_in_the_database_are_loaded_changed_and_forgotten(db):
    """The database is the one place a notice lives: every process's calendar follows its rows."""
    from sqlalchemy import delete

    from services.calendar_notices import NoticeSync
    from workflows.calendar import ChinaCalendar
    from workflows.models import CalendarNotice

    calendar = ChinaCalendar()
    sync = NoticeSync(calendar, interval=3600)
    assert sync.load(db) == [] and calendar.notice_years == []
    _record(db, 2027, ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"], ["2027-02-07"])
    sync(db)
    assert calendar.notice_years == []  # looked less than an interval ago: nothing read, nothing known
    sync.invalidate()
    sync(db)
    assert calendar.rule_for(date(2027, 2, 7)) == "loaded-notice" and calendar.is_working_day(date(2027, 2, 7))
    assert not calendar.is_working_day(date(2027, 2, 8))

    _record(db, 2027, ["2027-01-01", "2027-01-04"], [])  # a corrected notice replaces the year
    sync.invalidate()
    sync(db)
    assert calendar.is_working_day(date(2027, 2, 8)) and not calendar.is_working_day(date(2027, 1, 4))

    db.execute(delete(CalendarNotice).where(CalendarNotice.year == 2027))
    sync.invalidate()
    assert sync.load(db) == [] and calendar.notice_years == []
    assert calendar.is_working_day(date(2027, 1, 4)) and calendar.rule_for(date(2027, 1, 4)) == "holidays-rule"


def test_a_look_at_the_notices_costs_no_statement_until_the_interval_has_passed(db, database):
    """Engine commands call the watch every time; it reads the database at most once per interval."""
    import time

    from services.calendar_notices import NoticeSync
    from tests.app.test_query_counts import counting
    from workflows.calendar import ChinaCalendar

    calendar = ChinaCalendar()
    sync = NoticeSync(calendar, interval=0.5)
    sync(db)
    _record(db, 2027, ["2027-01-01", "2027-01-04"], [])
    with counting(database) as statements:
        for _ in range(100):
            sync(db)
    assert statements == [] and calendar.notice_years == []
    time.sleep(0.6)
    with counting(database) as statements:
        sync(db)
        sync(db)
    assert len(statements) == 2  # the digests, then the one notice that changed
    assert calendar.notice_years == [2027] and not calendar.is_working_day(date(2027, 1, 4))
