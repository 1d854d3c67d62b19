"""Statutory dates are days in China: one ``services.clock.today()``, and no other reading of the server's clock."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from services import clock

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("app", "services", "workflows")


def _named(node: ast.expr, name: str) -> bool:
    """``node`` is ``name`` or ``something.name`` (``date``, ``dt.date``, ``datetime.datetime``)."""
    return (isinstance(node, ast.Name) and node.id == name) or (isinstance(node, ast.Attribute) and node.attr == name)


def _server_clock_calls(source: str) -> list[tuple[int, str]]:
    """Calls that read the server's local date or a naive time: ``date.today()``, ``datetime.today()``,
    ``datetime.now()`` or ``datetime.fromtimestamp(t)`` without a time zone, ``datetime.utcnow()``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, owner = node.func.attr, node.func.value
        zoned = len(node.args) > (1 if method == "fromtimestamp" else 0) or any(k.arg == "tz" for k in node.keywords)
        if (method == "today" and (_named(owner, "date") or _named(owner, "datetime"))
                or method in ("now", "fromtimestamp") and _named(owner, "datetime") and not zoned
                or method in ("utcnow", "utcfromtimestamp") and _named(owner, "datetime")):
            found.append((node.lineno, ast.unparse(node)))
    return found


def _calls() -> list[str]:
    calls = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            calls += [f"{relative}:{line} {code}" for line, code in _server_clock_calls(path.read_text())]
    return calls


def test_the_scan_finds_server_clock_reads():
    source = ("import datetime as dt\nfrom datetime import date, datetime\n"
              "a = dt.date.today()\nb = date.today()\nc = dt.datetime.now()\nd = datetime.utcnow()\n"
              "e = dt.datetime.now(dt.UTC)\nf = clock.today()\ng = dt.datetime.now(tz=dt.UTC)\n"
              "h = dt.datetime.fromtimestamp(0)\ni = dt.datetime.fromtimestamp(0, dt.UTC)\n")
    assert [line for line, _code in _server_clock_calls(source)] == [3, 4, 5, 6, 10]


def test_no_module_reads_the_server_clock():
    calls = _calls()
    assert not calls, "use services.clock.today() (or utcnow() for a timestamp): " + "; ".join(calls)


def test_today_is_the_day_in_china():
    # 17:00 UTC on New Year's Eve is 01:00 on New Year's Day in Guangzhou.
    assert clock.today(at=dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)) == dt.date(2027, 1, 1)
    assert clock.today(at=dt.datetime(2026, 12, 31, 15, 59, 59, tzinfo=dt.UTC)) == dt.date(2026, 12, 31)
    # The same instant given in another zone is the same day in China.
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert clock.today(at=dt.datetime(2026, 12, 31, 12, 0, tzinfo=new_york)) == dt.date(2027, 1, 1)
    assert clock.day_of(dt.datetime(2027, 6, 30, 16, 0, tzinfo=dt.UTC)) == dt.date(2027, 7, 1)


def test_today_without_an_instant_is_now_in_china():
    before = dt.datetime.now(dt.UTC).astimezone(clock.CHINA_TZ).date()
    found = clock.today()
    after = dt.datetime.now(dt.UTC).astimezone(clock.CHINA_TZ).date()
    assert found in (before, after)
    assert clock.CHINA_TZ.utcoffset(dt.datetime(2026, 12, 31, 17, 0)) == dt.timedelta(hours=8)


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError):
        clock.today(at=dt.datetime(2026, 12, 31, 17, 0))
