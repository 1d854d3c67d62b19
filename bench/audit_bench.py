#!/usr/bin/env python3
"""`flask audit verify` on a large audit trail, and what it reports after one row is edited in the database.

Builds an audit trail of ``--rows`` rows (default a million) spread over ``--days`` days, with the real chaining
function (services/audit/proof_check.row_hash) and the hub's signed daily roots, written straight into a database
made by the migrations. Then runs ``flask audit verify --json`` as a separate process (what an operator runs) three
times: on the intact trail, after one row in the middle is edited with plain SQL (the row's ``detail``, as someone
with database access would), and after that row's hash is recomputed too (an insider who knows the scheme), which
only the signed daily root catches.

The embedded default: a temporary SQLite file. With a PostgreSQL ``DATABASE_URL`` (whose public schema is DROPPED
first: use a scratch database) it runs there.

    .venv/bin/python bench/audit_bench.py --rows 1000000
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_sec3 .venv/bin/python bench/audit_bench.py

Prints one JSON object per step and a summary line (the core count and the load average before and after).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def build(database_url: str, instance: Path, rows: int, days: int) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import insert, text, update

    from app import create_app
    from services.audit import proof_check
    from services.audit.chain import _fields, publish_roots
    from services.audit.models import AuditEntry, AuditHead

    app = create_app("test", INSTANCE_DIR=str(instance), DATABASE_URL=database_url, REDIS_URL="",
                     KEY_DIR=str(instance / "keys"), UPLOAD_DIR=str(instance / "uploads"))
    database = app.extensions["onewindow_db"]
    if database.is_postgresql:
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    started = time.perf_counter()
    first_day = dt.date(2026, 1, 1)
    start = dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)  # midnight in China
    step = dt.timedelta(days=days) / rows
    kinds = ["sign_in", "case_opened", "sign_out", "decision", "sign_in_failed", "licence_status"]
    prev, batch = proof_check.GENESIS, []
    with database.transaction() as session:
        for seq in range(1, rows + 1):
            at = start + step * (seq - 1)
            day = first_day + dt.timedelta(days=int((seq - 1) * days / rows))
            kind = kinds[seq % len(kinds)]
            subject = 1000 + seq % 50_000
            detail = {"purpose": "review"} if kind == "case_opened" else {}
            fields = _fields(seq, at, day, kind, subject, subject, seq // 3 if kind == "case_opened" else None,
                             None, detail)
            digest = proof_check.row_hash(prev, fields)
            batch.append({"seq": seq, "at": at, "day": day, "kind": kind, "actor_id": subject,
                          "subject_id": subject, "application_id": fields["application"], "licence_id": None,
                          "detail": detail, "prev_hash": prev, "row_hash": digest})
            prev = digest
            if len(batch) == 20_000:
                session.execute(insert(AuditEntry), batch)
                batch = []
        if batch:
            session.execute(insert(AuditEntry), batch)
        session.execute(update(AuditHead).values(seq=rows, hash=prev))
    written = time.perf_counter() - started
    with database.transaction() as session:
        roots = len(publish_roots(session, instance / "keys", today=first_day + dt.timedelta(days=days)))
    database.dispose()
    return {"step": "build", "rows": rows, "days": days, "roots_signed": roots, "seconds": round(written, 1)}


def flask_verify(env: dict) -> dict:
    started = time.perf_counter()
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "audit", "verify", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    verdict = json.loads(run.stdout.strip().splitlines()[-1])
    return {**verdict, "exit_code": run.returncode, "wall_seconds": round(wall, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    load_before = os.getloadavg()
    instance = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'audit.db'}"
    emit(build(database_url, instance, args.rows, args.days))
    env = {**os.environ, "ONEWINDOW_ENV": "test", "DATABASE_URL": database_url, "ONEWINDOW_INSTANCE": str(instance),
           "REDIS_URL": ""}
    emit({"step": "verify intact", **flask_verify(env)})

    from sqlalchemy import create_engine, text

    from services.audit import proof_check
    from services.audit.chain import entry_fields

    target = args.rows // 2 + 7
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET detail = :d WHERE seq = :s"),
                     {"d": json.dumps({"purpose": "nothing happened"}), "s": target})
    emit({"step": f"verify after editing row #{target}'s detail with SQL", "edited_seq": target, **flask_verify(env)})
    with engine.begin() as conn:
        row = conn.execute(text("SELECT seq, at, day, kind, actor_id, subject_id, application_id, licence_id, "
                                "detail, prev_hash, row_hash FROM audit_entries WHERE seq = :s"),
                           {"s": target}).one()

        class Row:
            pass

        entry = Row()
        for key in row._mapping.keys():
            setattr(entry, key, row._mapping[key])
        if isinstance(entry.detail, str):
            entry.detail = json.loads(entry.detail)
        if isinstance(entry.at, str):
            entry.at = dt.datetime.fromisoformat(entry.at).replace(tzinfo=dt.UTC)
        if isinstance(entry.day, str):
            entry.day = dt.date.fromisoformat(entry.day)
        forged = proof_check.row_hash(entry.prev_hash, entry_fields(entry))
        conn.execute(text("UPDATE audit_entries SET row_hash = :h WHERE seq = :s"), {"h": forged, "s": target})
    emit({"step": f"verify after also recomputing row #{target}'s hash", "edited_seq": target, **flask_verify(env)})
    engine.dispose()
    emit({"summary": True, "nproc": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
          "loadavg_after": [round(x, 2) for x in os.getloadavg()]})


if __name__ == "__main__":
    main()
