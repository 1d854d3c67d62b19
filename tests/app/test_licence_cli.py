"""`flask licence list`, `pdf`, `sweep` and `check` (`rotate-key`: tests/services/test_licence_keys.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from services.licences.models import LicenceStatus
from services.licences.signing import validate_signature
from tests.services.test_credentials import issue_demo_licence


def test_list_prints_number_holder_and_status_one_a_line(app, db):
    first = issue_demo_licence(app, db, "resident")
    second = issue_demo_licence(app, db, "resident2")
    result = app.test_cli_runner().invoke(args=["licence", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"{first.number}\t张三\tvalid" in lines
    assert f"{second.number}\t李四\tvalid" in lines
    assert all(len(line.split("\t")) == 3 for line in lines)


def test_pdf_writes_the_stored_signed_pdf(app, db, tmp_path):
    licence = issue_demo_licence(app, db, "resident")
    target = tmp_path / "licence.pdf"
    result = app.test_cli_runner().invoke(args=["licence", "pdf", licence.number.lower(), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == licence.pdf
    signature = validate_signature(target.read_bytes(), Path(app.config["KEY_DIR"]) / "police.cert.pem")
    assert signature["valid"] and signature["trusted"]


def test_pdf_of_an_unknown_licence_fails_clearly(app, db, tmp_path):
    target = tmp_path / "none.pdf"
    result = app.test_cli_runner().invoke(args=["licence", "pdf", "MARKET-2026-000042-Z", "-o", str(target)])
    assert result.exit_code == 1
    assert "no licence with the number 'MARKET-2026-000042-Z'" in result.output
    assert not target.exists()



def test_the_licence_sweep_is_periodic_and_does_each_thing_once(app, db):
    from services.jobs.periodic import PERIODIC, sweep_licences

    assert sweep_licences in [function for function, _queue, _interval in PERIODIC]
    licence = issue_demo_licence(app, db, "resident")
    month_before = (licence.valid_until - dt.timedelta(days=20)).isoformat()
    assert sweep_licences(month_before) == {"expired": 0, "reminded": 1}
    assert sweep_licences(month_before) == {"expired": 0, "reminded": 0}
    after = (licence.valid_until + dt.timedelta(days=1)).isoformat()
    assert sweep_licences(after) == {"expired": 1, "reminded": 0}
    assert sweep_licences(after) == {"expired": 0, "reminded": 0}
    db.refresh(licence)
    assert licence.status == LicenceStatus.EXPIRED


# Each command below runs once per test: the CLI's app context ends the test's shared session when it closes.
def test_licence_sweep_command(app, db):
    licence = issue_demo_licence(app, db, "resident")
    after = (licence.valid_until + dt.timedelta(days=1)).isoformat()
    result = app.test_cli_runner().invoke(args=["licence", "sweep", "--today", after])
    assert result.exit_code == 0 and "expired 1" in result.output


def test_licence_check_command(app, db):
    licence = issue_demo_licence(app, db, "resident")
    checked = app.test_cli_runner().invoke(args=["licence", "check", licence.number])
    assert checked.exit_code == 0 and "pdf signature: valid" in checked.output and "credential: valid" in checked.output
