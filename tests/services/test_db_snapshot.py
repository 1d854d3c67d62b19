"""Database.snapshot: a read-only unit of work that neither takes nor waits for SQLite's write lock."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import OperationalError

from services.catalogue.models import Agency
from services.db import Database, ReadOnlySnapshot, utcnow
from services.jobs.models import OutboxJob


@pytest.fixture
def own(app):
    """A Database of our own on the test database: committed rows, several real connections."""
    database = Database(app.config["DATABASE_URL"])
    yield database
    database.dispose()


def test_a_snapshot_reads_while_a_writer_holds_the_lock_and_writes_nothing(own):
    with own.transaction() as writer:  # on SQLite: BEGIN IMMEDIATE, the database's write lock until the block ends
        writer.execute(update(Agency).where(Agency.id == -1).values(name_en="nobody"))
        with own.snapshot() as snapshot:
            assert snapshot.scalar(select(func.count()).select_from(Agency)) > 0  # at once: no lock to wait for
            snapshot.add(OutboxJob(queue="default", name="never", args={}, created_at=utcnow()))
            with pytest.raises(ReadOnlySnapshot):
                snapshot.flush()
        if not own.is_postgresql:
            with own.snapshot() as snapshot, pytest.raises(OperationalError, match="readonly"):
                snapshot.execute(insert(OutboxJob).values(queue="default", name="never", args={},
                                                          created_at=utcnow()))
    # The snapshot's connection went back to the pool able to write again.
    for _ in range(3):
        with own.transaction() as session:
            session.execute(update(Agency).where(Agency.id == -1).values(name_en="nobody"))
    with own.transaction() as session:
        assert session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.name == "never")) == 0
