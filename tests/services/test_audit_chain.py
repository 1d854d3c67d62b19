"""The audit trail: what is appended, the hash chain that `flask audit verify` walks, the hub's signed daily roots,
and a resident's proof checked by the standalone script."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import delete, select, text, update

from services import clock
from services.audit import proof_check
from services.audit.chain import AuditKind, publish_roots, record, verify
from services.audit.models import AuditEntry, AuditHead, AuditRoot
from services.identity.models import Account
from tests.conftest import hidden_fields, sign_in


def _account(db, local: str) -> Account:
    return db.scalar(select(Account).where(Account.email == f"{local}@demo.onewindow.test"))


def _entries(db) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _some_rows(db, n: int = 6) -> list[AuditEntry]:
    owner, clerk = _account(db, "owner"), _account(db, "clerk.fire")
    for i in range(n):
        record(db, AuditKind.CASE_OPENED if i % 2 else AuditKind.SIGN_IN, actor_id=clerk.id if i % 2 else owner.id,
               subject_id=owner.id, application_id=i if i % 2 else None, purpose="review" if i % 2 else None)
    db.flush()
    return _entries(db)


def test_sign_in_failed_sign_in_and_sign_out_are_appended_even_though_the_failure_answers_400(client, db):
    data = hidden_fields(client.get("/auth/sign-in").get_data(as_text=True))
    data.update(email="owner@demo.onewindow.test", password="not the password")
    assert client.post("/auth/sign-in", data=data).status_code == 400
    sign_in(client, "owner@demo.onewindow.test")
    client.post("/auth/sign-out", data=hidden_fields(client.get("/me/").get_data(as_text=True)))
    owner = _account(db, "owner")
    rows = _entries(db)
    assert [row.kind for row in rows[-3:]] == ["sign_in_failed", "sign_in", "sign_out"]
    assert all(row.subject_id == owner.id for row in rows[-3:])
    assert rows[-3].detail == {"email": "owner@demo.onewindow.test"} and rows[-3].actor_id is None
    assert verify(db).ok


def test_rows_chain_and_verify_names_the_first_altered_row(db):
    rows = _some_rows(db)
    assert rows[0].prev_hash == proof_check.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    assert verify(db).as_dict() | {"roots_checked": 0} == {"ok": True, "rows": len(rows), "roots_checked": 0,
                                                           "first_problem": None, "problem_seq": None}
    # Someone with database access edits row #3 behind the application's back.
    db.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(detail={"purpose": "nothing to see"}))
    verdict = verify(db)
    assert not verdict.ok and verdict.problem_seq == 3
    assert verdict.first_problem == "row #3 was altered (its contents no longer give its hash)"


def test_verify_names_a_row_deleted_from_the_middle_or_the_end(db):
    _some_rows(db)
    db.execute(delete(AuditEntry).where(AuditEntry.seq == 6))
    verdict = verify(db)
    assert verdict.problem_seq == 6 and "row #6 missing from the end" in verdict.first_problem
    db.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    verdict = verify(db)
    assert verdict.problem_seq == 2 and verdict.first_problem == "row #2 is missing (the chain jumps to #3)"


def test_a_consistent_rewrite_is_caught_by_the_signed_root(app, db):
    rows = _some_rows(db)
    tomorrow = clock.today() + dt.timedelta(days=1)
    [root] = publish_roots(db, Path(app.config["KEY_DIR"]), today=tomorrow)
    assert (root.first_seq, root.last_seq, root.count) == (1, len(rows), len(rows))
    assert verify(db).ok and verify(db).roots_checked == 1
    # Rewrite the last row and recompute its hash and the head, as an insider with the code could.
    last = rows[-1]
    fields = {**proof_check_fields(last), "detail": {"purpose": "forged"}}
    forged = proof_check.row_hash(last.prev_hash, fields)
    db.execute(update(AuditEntry).where(AuditEntry.id == last.id).values(detail={"purpose": "forged"},
                                                                         row_hash=forged))
    db.execute(update(AuditHead).values(hash=forged))
    verdict = verify(db)
    assert not verdict.ok and "no longer match the root the hub signed" in verdict.first_problem


def test_a_row_rewritten_with_its_hash_is_named_by_the_next_rows_link(db):
    rows = _some_rows(db)
    third = rows[2]
    fields = {**proof_check_fields(third), "kind": "sign_out"}
    db.execute(update(AuditEntry).where(AuditEntry.id == third.id).values(
        kind="sign_out", row_hash=proof_check.row_hash(third.prev_hash, fields)))
    verdict = verify(db)
    assert verdict.problem_seq == 3 and verdict.first_problem.startswith("row #3 was altered and its hash recomputed")
    # and a row whose link itself was changed is named as it is
    db.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(prev_hash="f" * 64))
    assert verify(db).first_problem == "row #2 was altered (it no longer links to row #1)"


def proof_check_fields(entry):
    from services.audit.chain import entry_fields

    return entry_fields(entry)


def test_root_signature_checks_with_the_hub_certificate(app, db):
    _some_rows(db, 3)
    [root] = publish_roots(db, Path(app.config["KEY_DIR"]), today=clock.today() + dt.timedelta(days=1))
    from services.audit.chain import hub_key_paths, root_dict

    pem = hub_key_paths(Path(app.config["KEY_DIR"]))[1].read_bytes()
    assert proof_check.check_signature(root_dict(root), pem)
    assert not proof_check.check_signature({**root_dict(root), "count": root.count + 1}, pem)


def test_residents_proof_checks_with_the_script_and_fails_when_changed(app, client, db, sign_in_as, tmp_path):
    owner = _account(db, "owner")
    _some_rows(db, 5)
    record(db, AuditKind.SIGN_IN, actor_id=_account(db, "resident").id, subject_id=_account(db, "resident").id)
    db.flush()
    publish_roots(db, Path(app.config["KEY_DIR"]), today=clock.today() + dt.timedelta(days=1))
    sign_in_as("owner")
    home = client.get("/me/").get_data(as_text=True)
    assert 'href="/me/audit-proof.json"' in home
    response = client.get("/me/audit-proof.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    proof = response.get_json()
    # Only the owner's own rows: the resident's sign-in is not in it, and the sign-in just now waits for tonight.
    assert {entry["fields"]["subject"] for entry in proof["entries"]} == {owner.id}
    assert len(proof["entries"]) == 5
    assert [entry["fields"]["kind"] for entry in proof["pending"]] == ["sign_in"]
    certificate = tmp_path / "hub.pem"
    certificate.write_bytes(client.get("/audit/hub-certificate.pem").data)
    script = tmp_path / "proof_check.py"
    script.write_bytes(client.get("/audit/proof_check.py").data)
    good = tmp_path / "proof.json"
    good.write_text(json.dumps(proof))
    run = subprocess.run([sys.executable, str(script), str(good), str(certificate)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("OK: 5 entries")
    proof["entries"][1]["fields"]["detail"] = {"purpose": "material"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(proof))
    run = subprocess.run([sys.executable, str(script), str(bad), str(certificate)], capture_output=True, text=True)
    assert run.returncode == 1 and "entry #2: its contents do not give its hash" in run.stdout


def test_public_roots_page_lists_signed_days(app, client, db):
    assert "No day has been signed yet" in client.get("/audit/roots?lang=en").get_data(as_text=True)
    _some_rows(db, 2)
    [root] = publish_roots(db, Path(app.config["KEY_DIR"]), today=clock.today() + dt.timedelta(days=1))
    html = client.get("/audit/roots").get_data(as_text=True)
    assert root.merkle_root in html and root.signature in html
    # publishing again signs nothing twice
    assert publish_roots(db, Path(app.config["KEY_DIR"]), today=clock.today() + dt.timedelta(days=1)) == []
    assert db.scalar(select(AuditRoot.count)) == 2


def test_flask_audit_verify_command_exits_1_naming_the_row(app, db):
    _some_rows(db, 4)
    db.execute(text("UPDATE audit_entries SET kind = 'sign_out' WHERE seq = 2"))
    # One run per test: a command that exits with an error rolls back the app's scoped session, the test's too.
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--json"])
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    assert verdict["problem_seq"] == 2 and verdict["first_problem"].startswith("row #2 was altered")
