"""Pooled PostgreSQL connections are checked before use only after sitting idle (services.db._ping_after_idle)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from services import db as services_db

URL = os.environ.get("DATABASE_URL", "")
pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not URL.startswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)")]


@pytest.fixture
def engine():
    engine = services_db.make_engine(URL, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("select pg_backend_pid()")).scalar_one()


def test_a_connection_killed_while_idle_is_replaced_before_use(engine, monkeypatch):
    pid = backend_pid(engine)
    with services_db.make_engine(URL).connect() as admin:  # the server drops the pooled connection
        assert admin.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    monkeypatch.setattr(services_db, "PING_AFTER_IDLE_S", 0.0)  # it has now been idle "long enough"
    assert backend_pid(engine) != pid  # the ping failed, the pool opened a fresh connection, no error


def test_a_connection_used_a_moment_ago_is_not_pinged(engine, monkeypatch):
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(1) or real_ping(connection))
    first = backend_pid(engine)
    assert backend_pid(engine) == first and pings == []  # reused at once: no round trip for a ping
    monkeypatch.setattr(services_db, "PING_AFTER_IDLE_S", 0.0)
    assert backend_pid(engine) == first and pings == [1]  # idle "long enough": pinged, alive, kept
