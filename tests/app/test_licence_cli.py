"""`flask licence list` and `flask licence pdf`."""

from __future__ import annotations

from pathlib import Path

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
