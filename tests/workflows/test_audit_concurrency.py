"""Appends to the audit trail from many transactions at once (PostgreSQL, committed for real) keep one unbroken
chain: the head row's lock serialises them, so no two rows chain onto the same previous row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.audit.chain import AuditKind, record, verify
from services.audit.models import AuditEntry
from tests.workflows.test_concurrency import ledger, postgres, race  # noqa: F401  (fixtures)

pytestmark = pytest.mark.postgres
THREADS = 8


def test_concurrent_appends_make_one_chain(ledger):  # noqa: F811
    with ledger.Session() as session:
        before = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0

    def append(n):
        def call(session):
            for i in range(5):
                record(session, AuditKind.SIGN_IN_FAILED, email=f"thread{n}-{i}@example.test")

        return call

    outcomes, _gated = race(ledger, [append(n) for n in range(THREADS)])
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    with ledger.Session() as session:
        seqs = session.scalars(select(AuditEntry.seq).where(AuditEntry.seq > before).order_by(AuditEntry.seq)).all()
        assert seqs == list(range(before + 1, before + 1 + THREADS * 5))
        verdict = verify(session)
        assert verdict.ok, verdict.first_problem
