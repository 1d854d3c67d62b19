"""The audit trail: one function appends (``record``), one walks the chain (``verify``), the hub signs each finished
day (``publish_roots``), and a resident gets a proof of their own rows (``proof_for``).

Appends happen inside the caller's transaction, so a row exists exactly when what it records was committed. The
head row is updated first: that takes the lock (PostgreSQL's row lock; SQLite's writer lock) that keeps two
transactions from chaining onto the same previous row.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services import clock
from services.audit import proof_check
from services.audit.models import AuditEntry, AuditHead, AuditRoot
from services.db import Database, utcnow

HEAD_ID = 1
HUB_AGENCY = "hub"  # the hub operator (政务服务数据管理局) signs the daily roots with its licence-signing key
HUB_NAME = "OneWindow hub 政务服务数据管理局"  # the certificate's CN (at most 64 bytes)


class AuditKind(enum.StrEnum):
    """What an audit row records; app/labels.py holds each one's label in three languages."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    CASE_OPENED = "case_opened"  # a clerk opened a case or one of its materials
    DECISION = "decision"  # a clerk approved or rejected a branch
    LICENCE_STATUS = "licence_status"  # suspended, reinstated, revoked, expired, superseded
    PASSWORD_SET = "password_set"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    SECOND_FACTOR_ENROLLED = "second_factor_enrolled"
    SECOND_FACTOR_FAILED = "second_factor_failed"
    ADMIN_ACTION = "admin_action"


def _fields(seq: int, at: dt.datetime, day: dt.date, kind: str, actor_id, subject_id, application_id, licence_id,
            detail: dict) -> dict:
    return {"seq": seq, "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"), "day": day.isoformat(),
            "kind": kind, "actor": actor_id, "subject": subject_id, "application": application_id,
            "licence": licence_id, "detail": detail}


def entry_fields(entry) -> dict:
    """The hashed fields of a row (an AuditEntry or a row with the same attribute names)."""
    return _fields(entry.seq, entry.at, entry.day, entry.kind, entry.actor_id, entry.subject_id,
                   entry.application_id, entry.licence_id, entry.detail or {})


def record(session: Session, kind: AuditKind, *, actor_id: int | None = None, subject_id: int | None = None,
           application_id: int | None = None, licence_id: int | None = None, **detail) -> AuditEntry:
    """Append one row to the audit trail in the caller's transaction (the only way rows are written)."""
    kind = AuditKind(kind)  # an unknown kind is a programming error, found here
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq + 1))
    seq, prev_hash = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)).one()
    at = utcnow()
    detail = {key: value for key, value in detail.items() if value is not None}
    fields = _fields(seq, at, clock.today(), str(kind), actor_id, subject_id, application_id, licence_id, detail)
    digest = proof_check.row_hash(prev_hash, fields)
    entry = AuditEntry(seq=seq, at=at, day=clock.today(), kind=str(kind), actor_id=actor_id, subject_id=subject_id,
                       application_id=application_id, licence_id=licence_id, detail=detail, prev_hash=prev_hash,
                       row_hash=digest)
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(hash=digest))
    return entry


# --- Checking the chain ----------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    rows: int
    first_problem: str | None  # e.g. "row #1234 was altered ..."; None when the chain is whole
    problem_seq: int | None = None
    roots_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.first_problem is None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "roots_checked": self.roots_checked,
                "first_problem": self.first_problem, "problem_seq": self.problem_seq}


_COLUMNS = (AuditEntry.seq, AuditEntry.at, AuditEntry.day, AuditEntry.kind, AuditEntry.actor_id,
            AuditEntry.subject_id, AuditEntry.application_id, AuditEntry.licence_id, AuditEntry.detail,
            AuditEntry.prev_hash, AuditEntry.row_hash)


def verify(session: Session, batch: int = 10_000) -> Verdict:
    """Walk every row in order and name the first one altered, missing or out of place; then check that each signed
    daily root still matches its day's rows (which catches a rewrite of the chain from some row onwards)."""
    roots = {root.day: root for root in session.scalars(select(AuditRoot))}
    day_hashes: dict[dt.date, list[tuple[int, str]]] = {}
    expected_seq, running = 1, proof_check.GENESIS
    count = 0
    result = session.execute(select(*_COLUMNS).order_by(AuditEntry.seq).execution_options(yield_per=batch))
    for row in result:
        count += 1
        if row.seq != expected_seq:
            if row.seq < expected_seq:
                return Verdict(count, f"row #{row.seq} appears twice or out of order", row.seq)
            missing = (f"row #{expected_seq} is missing" if row.seq == expected_seq + 1
                       else f"rows #{expected_seq} to #{row.seq - 1} are missing")
            return Verdict(count, f"{missing} (the chain jumps to #{row.seq})", expected_seq)
        if row.prev_hash != running:
            if proof_check.row_hash(row.prev_hash, entry_fields(row)) == row.row_hash:
                # This row is whole and still links to what the row before used to be: that one was rewritten.
                return Verdict(count, f"row #{row.seq - 1} was altered and its hash recomputed (row #{row.seq} "
                                      f"still links to its original hash)", row.seq - 1)
            return Verdict(count, f"row #{row.seq} was altered (it no longer links to row #{row.seq - 1})", row.seq)
        computed = proof_check.row_hash(running, entry_fields(row))
        if computed != row.row_hash:
            return Verdict(count, f"row #{row.seq} was altered (its contents no longer give its hash)", row.seq)
        if row.day in roots:
            day_hashes.setdefault(row.day, []).append((row.seq, row.row_hash))
        running, expected_seq = row.row_hash, expected_seq + 1
    result.close()
    head_seq, head_hash = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)).one()
    if head_seq >= expected_seq:
        gone = f"row #{expected_seq}" if head_seq == expected_seq else f"rows #{expected_seq} to #{head_seq}"
        return Verdict(count, f"{gone} missing from the end (the head says #{head_seq})", expected_seq)
    if head_hash != running:
        return Verdict(count, f"the head's hash does not match row #{expected_seq - 1}", expected_seq - 1)
    checked = 0
    for day, root in sorted(roots.items()):
        rows = day_hashes.get(day, [])
        if (not rows or rows[0][0] != root.first_seq or rows[-1][0] != root.last_seq or len(rows) != root.count
                or proof_check.merkle_root([h for _s, h in rows]) != root.merkle_root
                or rows[-1][1] != root.head_hash):
            return Verdict(count, f"the rows of {day.isoformat()} (#{root.first_seq} to #{root.last_seq}) no longer "
                                  f"match the root the hub signed for that day", root.first_seq, checked)
        checked += 1
    return Verdict(count, None, None, checked)


# --- Daily roots -----------------------------------------------------------------------------------------------------


def hub_key_paths(key_dir: Path) -> tuple[Path, Path]:
    from services.licences.signing import ensure_agency_key

    return ensure_agency_key(Path(key_dir), HUB_AGENCY, HUB_NAME)


def _sign(key_dir: Path, message: bytes) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_path, _cert = hub_key_paths(key_dir)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return base64.b64encode(key.sign(message, ec.ECDSA(hashes.SHA256()))).decode()


def root_dict(root: AuditRoot) -> dict:
    return {"day": root.day.isoformat(), "first_seq": root.first_seq, "last_seq": root.last_seq,
            "count": root.count, "merkle_root": root.merkle_root, "head_hash": root.head_hash,
            "signature": root.signature}


def publish_roots(session: Session, key_dir: Path, today: dt.date | None = None) -> list[AuditRoot]:
    """Sign a root for every finished day (before ``today``, China time) with rows and no root yet."""
    today = today or clock.today()
    done = set(session.scalars(select(AuditRoot.day)))
    days = [day for day in session.scalars(select(AuditEntry.day).where(AuditEntry.day < today).distinct())
            if day not in done]
    published = []
    for day in sorted(days):
        rows = session.execute(select(AuditEntry.seq, AuditEntry.row_hash).where(AuditEntry.day == day)
                               .order_by(AuditEntry.seq)).all()
        root = AuditRoot(day=day, first_seq=rows[0].seq, last_seq=rows[-1].seq, count=len(rows),
                         merkle_root=proof_check.merkle_root([r.row_hash for r in rows]),
                         head_hash=rows[-1].row_hash, signature="", signed_at=utcnow())
        root.signature = _sign(key_dir, proof_check.root_message(root_dict(root)))
        session.add(root)
        published.append(root)
    session.flush()
    return published


def publish_roots_job(database: Database, key_dir: Path) -> int:
    with database.transaction() as session:
        return len(publish_roots(session, key_dir))


def published_roots(session: Session, limit: int = 60) -> list[AuditRoot]:
    return list(session.scalars(select(AuditRoot).order_by(AuditRoot.day.desc()).limit(limit)))


# --- A resident's proof ----------------------------------------------------------------------------------------------


def proof_for(session: Session, account_id: int, key_dir: Path) -> dict:
    """Every audit row about ``account_id``, each with its Merkle path to its day's signed root; rows of days not yet
    signed are listed under "pending" (the proof can be downloaded again tomorrow)."""
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.subject_id == account_id)
                                   .order_by(AuditEntry.seq)))
    roots = {root.day: root for root in session.scalars(
        select(AuditRoot).where(AuditRoot.day.in_({entry.day for entry in entries})))}
    proved, pending = [], []
    for day in sorted({entry.day for entry in entries}):
        mine = [entry for entry in entries if entry.day == day]
        root = roots.get(day)
        # A row written after its day's root was signed (a server clock behind the others) waits, like today's.
        late = [e for e in mine if root is None or e.seq > root.last_seq]
        pending.extend({"fields": entry_fields(e), "prev_hash": e.prev_hash, "row_hash": e.row_hash} for e in late)
        mine = [e for e in mine if e not in late]
        if not mine:
            continue
        rows = session.execute(select(AuditEntry.seq, AuditEntry.row_hash).where(
            AuditEntry.day == day, AuditEntry.seq.between(root.first_seq, root.last_seq))
            .order_by(AuditEntry.seq)).all()
        position = {seq: index for index, (seq, _hash) in enumerate(rows)}
        levels = proof_check.merkle_levels([row_hash for _seq, row_hash in rows])
        for entry in mine:
            index = position[entry.seq]
            proved.append({"fields": entry_fields(entry), "prev_hash": entry.prev_hash, "row_hash": entry.row_hash,
                           "path": proof_check.merkle_path(levels, index)})
    _key, cert_path = hub_key_paths(key_dir)
    return {"format": "onewindow-audit-proof/1", "account": account_id, "entries": proved, "pending": pending,
            "roots": [root_dict(root) for root in sorted(roots.values(), key=lambda r: r.day)],
            "certificate": cert_path.read_text()}
