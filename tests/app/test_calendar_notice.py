"""`flask calendar load-notice`: a State Council notice moves running cases' deadlines, on the real app and database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from services import clock
from services.applications.service import engine, notices_directory
from tests.app.test_workbench_tallies import accept, account, assert_tallies_agree, new_case
from workflows.calendar import ChinaCalendar
from workflows.models import Event, WorkflowInstance
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
def notice_dir(app):
    with app.app_context():
        directory = notices_directory()
    yield directory
    for path in directory.glob("*.json"):
        path.unlink()
    with app.app_context():
        engine()  # the process's calendar forgets the test's notice


def test_a_notice_moves_the_joint_limit_and_is_logged_on_the_case(app, db, client, sign_in_as, notice_dir, tmp_path):
    application = new_case(app, db)
    accept(db, application)
    instance = db.get(WorkflowInstance, application.workflow_instance_id)
    old_joint, today = instance.joint_due, clock.today()
    calendar = engine().calendar
    notice = notice_like(calendar, old_joint.year, old_joint)
    source = tmp_path / "notice.json"
    source.write_text(json.dumps(notice), encoding="utf-8")
    expected = ChinaCalendar()
    expected.load_notice_file(source)
    new_joint = expected.add_working_days(today, calendar.working_days_between(today, old_joint))
    assert new_joint > old_joint

    dry = app.test_cli_runner().invoke(args=["calendar", "load-notice", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would move 1 deadline(s) in 1 running case(s)" in dry.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance.id).joint_due == old_joint and not list(notice_dir.glob("*.json"))

    result = app.test_cli_runner().invoke(args=["calendar", "load-notice", str(source)])
    assert result.exit_code == 0, result.output
    assert "moved 1 deadline(s) in 1 running case(s) and 1 timer(s); told 1 applicant(s)" in result.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance.id).joint_due == new_joint
    assert json.loads((notice_dir / f"{old_joint.year}.json").read_text(encoding="utf-8")) == notice
    event = db.scalars(select(Event).where(Event.instance_id == instance.id, Event.kind == EVENT_KIND)).one()
    assert event.detail["changes"] == [{"what": "joint", "node": None, "from": old_joint.isoformat(),
                                        "to": new_joint.isoformat()}]
    # Every process picks the notice up on its next use of the engine, without a restart.
    assert engine().calendar.rule_for(old_joint) == "loaded-notice"
    assert not engine().calendar.is_working_day(old_joint)
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

    # The same notice again, on a host without the file (the database remembers): nothing moves twice.
    (notice_dir / f"{old_joint.year}.json").unlink()
    again = app.test_cli_runner().invoke(args=["calendar", "load-notice", str(source)])
    assert again.exit_code == 0 and "this notice was loaded before" in again.output, again.output
    assert (notice_dir / f"{old_joint.year}.json").exists()
    db.expire_all()
    assert db.get(WorkflowInstance, instance.id).joint_due == new_joint
    assert len(db.scalars(select(Event).where(Event.instance_id == instance.id, Event.kind == EVENT_KIND)).all()) == 1


def test_a_broken_notice_changes_nothing(app, db, notice_dir, tmp_path):
    application = new_case(app, db)
    accept(db, application)
    joint = db.get(WorkflowInstance, application.workflow_instance_id).joint_due
    source = tmp_path / "notice.json"
    source.write_text(json.dumps({"year": joint.year, "holidays": [f"{joint.year + 1}-01-01"]}), encoding="utf-8")

    result = app.test_cli_runner().invoke(args=["calendar", "load-notice", str(source)])

    assert result.exit_code != 0
    assert "is not a holiday notice" in result.output and "nothing was changed" in result.output
    assert not list(Path(notice_dir).glob("*.json"))
    db.expire_all()
    assert db.get(WorkflowInstance, application.workflow_instance_id).joint_due == joint


def test_a_corrected_notice_is_recounted_from_the_one_loaded_before(app, db, notice_dir, tmp_path):
    application = new_case(app, db)
    accept(db, application)
    instance_id = application.workflow_instance_id
    joint = db.get(WorkflowInstance, instance_id).joint_due
    calendar = engine().calendar
    first, corrected = tmp_path / "first.json", tmp_path / "corrected.json"
    first.write_text(json.dumps(notice_like(calendar, joint.year, joint)), encoding="utf-8")
    corrected.write_text(json.dumps(notice_like(calendar, joint.year, None)), encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["calendar", "load-notice", str(first)]).exit_code == 0
    db.expire_all()
    assert db.get(WorkflowInstance, instance_id).joint_due > joint
    # On a host that never had the first file: the database says which notice the dates were counted on.
    (notice_dir / f"{joint.year}.json").unlink()

    result = app.test_cli_runner().invoke(args=["calendar", "load-notice", str(corrected)])

    assert result.exit_code == 0 and "moved 1 deadline(s) in 1 running case(s)" in result.output, result.output
    db.expire_all()
    assert db.get(WorkflowInstance, instance_id).joint_due == joint  # the day off was withdrawn: back where it was
