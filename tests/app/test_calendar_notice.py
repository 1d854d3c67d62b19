"""`flask calendar load-notice`: a State Council notice moves running cases' deadlines, on the real app and database."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from services import clock
from services.applications.service import calendar_notices, engine
from services.calendar_notices import install_notice
from tests.app.test_workbench_tallies import accept, account, assert_tallies_agree, new_case
from workflows.calendar import ChinaCalendar
from workflows.models import CalendarNotice, Event, WorkflowInstance
from workflows.recalendar import EVENT_KIND


def notice_like(calendar, year: int, extra_holiday: dt.date | None) -> dict:
    """The year as ``calendar`` sees it, plus one more day off: a notice that differs from it in one day only."""
    days = [dt.date(year, 1, 1) + dt.timedelta(days=n) for n in range(366)]
    days = [d for d in days if d.year == year]
    return {"year": year, "source": "test notice",
            "holidays": sorted({d.isoformat() for d in days if d.weekday() < 5 and not calendar.is_working_day(d)}
                               | ({extra_holiday.isoformat()} if extra_holiday else set())),
            "workdays": [d.isoformat() for d in days if d.weekday() >= 5 and calendar.is_working_day(d)]}


@pytest.fixture
def notices(app):
    yield calendar_notices()
    calendar_notices().reset()  # the test's notice went with its rolled-back transaction: the calendar forgets it


def load_notice(app, db, *args: str):
    """``flask calendar load-notice ARGS``. What the test made is committed first (into the test's outer transaction,
    rolled back at its end): the command's app context ends by closing this thread's session, which would roll back
    the session's open savepoint, and with it the command's own work nested inside it."""
    db.commit()
    return app.test_cli_runner().invoke(args=["calendar", "load-notice", *args])


def recorded(db, year: int) -> CalendarNotice | None:
    db.expire_all()
    return db.get(CalendarNotice, year)


def test_a_notice_moves_the_joint_limit_and_is_logged_on_the_case(app, db, client, sign_in_as, notices, tmp_path):
    application = new_case(app, db)
    accept(db, application)
    instance = db.get(WorkflowInstance, application.workflow_instance_id)
    old_joint, today = instance.joint_due, clock.today()
    calendar = engine(db).calendar
    notice = notice_like(calendar, old_joint.year, old_joint)
    source = tmp_path / "notice.json"
    source.write_text(json.dumps(notice), encoding="utf-8")
    expected = ChinaCalendar()
    expected.load_notice_file(source)
    new_joint = expected.add_working_days(today, calendar.working_days_between(today, old_joint))
    assert new_joint > old_joint

    dry = load_notice(app, db, str(source), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would move 1 deadline(s) in 1 running case(s)" in dry.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance.id).joint_due == old_joint and recorded(db, old_joint.year) is None

    result = load_notice(app, db, str(source))
    assert result.exit_code == 0, result.output
    assert "moved 1 deadline(s) in 1 running case(s) and 1 timer(s); told 1 applicant(s)" in result.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance.id).joint_due == new_joint
    stored = recorded(db, old_joint.year)  # the notice itself, in the database every host reads
    assert (stored.holidays, stored.workdays) == (notice["holidays"], notice["workdays"])
    event = db.scalars(select(Event).where(Event.instance_id == instance.id, Event.kind == EVENT_KIND)).one()
    assert event.detail["changes"] == [{"what": "joint", "node": None, "from": old_joint.isoformat(),
                                        "to": new_joint.isoformat()}]
    # This process looks again at once (the others within CALENDAR_REFRESH_SECONDS), without a restart.
    assert engine(db).calendar.rule_for(old_joint) == "loaded-notice"
    assert not engine(db).calendar.is_working_day(old_joint)
    assert_tallies_agree(db, [account(db, "clerk.market"), account(db, "clerk.hub")], today)

    sign_in_as("owner")
    page = client.get(f"/me/cases/{application.reference}?lang=en")
    assert "Time limits recounted for the State Council" in page.get_data(as_text=True)
    assert "Joint time limit:" in page.get_data(as_text=True)
    page_zh = client.get(f"/me/cases/{application.reference}?lang=zh_Hans_CN").get_data(as_text=True)
    assert f"联合办理时限：原为{old_joint.isoformat()}，现为{new_joint.isoformat()}" in page_zh
    inbox = client.get("/me/?lang=en").get_data(as_text=True)
    assert f"Case {application.reference}: the State Council published the {old_joint.year} public holidays" in inbox
    assert f"国务院已公布{old_joint.year}年节假日安排" in client.get("/me/?lang=zh_Hans_CN").get_data(as_text=True)

    # The same notice again, here or on another host (the database remembers): nothing moves twice.
    again = load_notice(app, db, str(source))
    assert again.exit_code == 0 and "this notice was loaded before" in again.output, again.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance.id).joint_due == new_joint
    assert len(db.scalars(select(Event).where(Event.instance_id == instance.id, Event.kind == EVENT_KIND)).all()) == 1


def test_a_broken_notice_changes_nothing(app, db, notices, tmp_path):
    application = new_case(app, db)
    accept(db, application)
    instance_id = application.workflow_instance_id
    joint = db.get(WorkflowInstance, instance_id).joint_due
    source = tmp_path / "notice.json"
    source.write_text(json.dumps({"year": joint.year, "holidays": [f"{joint.year + 1}-01-01"]}), encoding="utf-8")

    result = load_notice(app, db, str(source))

    assert result.exit_code != 0
    assert "is not a holiday notice" in result.output and "nothing was changed" in result.output
    assert recorded(db, joint.year) is None
    db.expire_all()
    assert db.get(WorkflowInstance, instance_id).joint_due == joint


def test_a_corrected_notice_is_recounted_from_the_one_loaded_before(app, db, notices, tmp_path):
    application = new_case(app, db)
    accept(db, application)
    instance_id = application.workflow_instance_id
    joint = db.get(WorkflowInstance, instance_id).joint_due
    calendar = engine(db).calendar
    first, corrected = tmp_path / "first.json", tmp_path / "corrected.json"
    first.write_text(json.dumps(notice_like(calendar, joint.year, joint)), encoding="utf-8")
    corrected.write_text(json.dumps(notice_like(calendar, joint.year, None)), encoding="utf-8")
    loaded = load_notice(app, db, str(first))
    assert loaded.exit_code == 0 and "moved 1 deadline(s)" in loaded.output, loaded.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance_id).joint_due > joint
    # The database says which notice the dates were counted on, whichever host loads the correction.
    result = load_notice(app, db, str(corrected))

    assert result.exit_code == 0 and "moved 1 deadline(s) in 1 running case(s)" in result.output, result.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance_id).joint_due == joint  # the day off was withdrawn: back where it was
    assert recorded(db, joint.year).holidays == notice_like(calendar, joint.year, None)["holidays"]
    assert engine(db).calendar.is_working_day(joint)


# A process on another host: its own instance folder (empty: no notice file anywhere), the same database. It prints
# the rule deciding DAY, waits for a line on stdin, then looks until the notice reaches it (or 30 s pass).
OTHER_HOST = """
import datetime as dt, sys, time
from app import create_app
from services.applications.service import engine
database = create_app("test").extensions["onewindow_db"]
day = dt.date.fromisoformat(sys.argv[1])
def rule():
    with database.transaction() as session:
        return engine(session).calendar.rule_for(day)
print(rule(), flush=True)
sys.stdin.readline()
started = time.monotonic()
while (seen := rule()) != "loaded-notice" and time.monotonic() - started < 30:
    time.sleep(0.1)
print(seen, round(time.monotonic() - started, 2), flush=True)
"""


def test_a_process_elsewhere_with_no_notice_files_picks_the_notice_up_without_a_restart(app, database, tmp_path):
    """Loaded by this process, committed for real; another process, started before the load with a fresh instance
    folder, sees it within its refresh interval, and one started afterwards sees it at once."""
    year = 2031  # a year only the rule-based fallback knows: no running case has a deadline in it
    calendar = ChinaCalendar()
    day = next(dt.date(year, 3, 3) + dt.timedelta(days=n) for n in range(7)
               if calendar.is_working_day(dt.date(year, 3, 3) + dt.timedelta(days=n)))
    source = tmp_path / "notice.json"
    source.write_text(json.dumps(notice_like(calendar, year, day)), encoding="utf-8")
    other_instance = tmp_path / "other-host"
    other_instance.mkdir()
    env = {**os.environ, "ONEWINDOW_ENV": "test", "ONEWINDOW_INSTANCE": str(other_instance),
           "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": "", "ONEWINDOW_CALENDAR_REFRESH_SECONDS": "1"}
    command = [sys.executable, "-c", OTHER_HOST, day.isoformat()]
    running = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
    try:
        assert running.stdout.readline().split() == ["holidays-rule"]
        assert install_notice(database, source, clock.today())["already"] is False

        running.stdin.write("loaded\n")
        running.stdin.flush()
        seen, after = running.stdout.readline().split()
        assert seen == "loaded-notice" and float(after) <= 1.5, (seen, after)
        started_after = subprocess.run([*command[:3], day.isoformat()], env=env, input="\n", capture_output=True,
                                       text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
        assert started_after.stdout.split()[:2] == ["loaded-notice", "loaded-notice"], started_after.stderr
        # No file was written on the other host's disk (its private, empty upload folder is made at start).
        assert not [path for path in other_instance.rglob("*") if path.is_file()]
    finally:
        running.kill()
        running.wait()
        with database.transaction() as session:
            session.execute(delete(CalendarNotice).where(CalendarNotice.year == year))
        calendar_notices().reset()
