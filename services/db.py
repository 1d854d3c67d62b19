"""Database plumbing: the declarative base, engines and the session that requests and jobs share.

Services receive a ``Session`` and never commit on their own behalf: the request or job that called them commits
once (see ``app/__init__.py`` and ``services/jobs/worker.py``).
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

from services.private_files import private_sqlite_file

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on PostgreSQL and SQLite alike (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and write-locking transactions.

    pysqlite's own transaction handling starts transactions lazily and breaks SAVEPOINT; we switch it off and emit
    ``BEGIN IMMEDIATE`` ourselves so that two writers are serialised at BEGIN rather than failing at COMMIT (this is
    what makes the parallel join safe on the embedded database).
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        private_sqlite_file(engine.url.database)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Straight on the driver: Core's exec_driver_sql costs ~25 µs a transaction (bench/README.md), a few
            # per cent of a task completion; BEGIN is not a statement anyone counts or needs to see. A snapshot
            # (Database.snapshot) only reads: its deferred BEGIN takes no lock.
            deferred = conn.get_execution_options().get(SNAPSHOT_OPTION)
            conn.connection.driver_connection.execute("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_after_idle(engine)
    return engine


PING_AFTER_IDLE_S = 10.0
SNAPSHOT_OPTION = "onewindow_snapshot"


class ReadOnlySnapshot(RuntimeError):
    """Something tried to write through a :meth:`Database.snapshot` session."""


def _refuse_flush(session, _flush_context, _instances):
    raise ReadOnlySnapshot("a snapshot reads; it never writes")


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle for a while.

    ``pool_pre_ping`` costs a round trip on every checkout, i.e. on every request and every engine command (measured:
    about one statement in twelve of a task completion on PostgreSQL). Connections that go stale do so while idle
    (server restart, dropped by a firewall); one used a moment ago is alive. A failed ping raises
    ``DisconnectionError``, on which the pool throws the connection away and opens a fresh one.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the connection is unusable
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


class Database:
    """One engine and one thread-scoped session for an application (web process, worker or CLI)."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.session = scoped_session(self.session_factory)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def bind_to(self, connection) -> None:
        """Bind new sessions to one connection (tests wrap each test in a transaction that rolls back)."""
        self.session.remove()
        self.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")

    def unbind(self) -> None:
        self.session.remove()
        self.session_factory.configure(bind=self.engine, join_transaction_mode="conditional_savepoint")

    @contextmanager
    def snapshot(self):
        """A unit of work that only reads, may take seconds without making anyone wait, and is always rolled back.

        On SQLite every other transaction begins with ``BEGIN IMMEDIATE`` and so holds the database's one write lock
        from its first statement. A snapshot begins with a plain ``BEGIN`` and reads a WAL snapshot on a connection
        set to ``PRAGMA query_only``: it neither takes the write lock nor waits for it, and a write fails at once.
        On PostgreSQL it is an ordinary transaction. Either way a flush raises :class:`ReadOnlySnapshot`.
        """
        connection = None
        if isinstance(self.session_factory.kw.get("bind"), Connection):
            session = self.session_factory()  # tests: a savepoint inside the test's transaction
        else:
            connection = self.engine.connect().execution_options(**{SNAPSHOT_OPTION: True})
            if self.engine.dialect.name == "sqlite":
                connection.connection.driver_connection.execute("PRAGMA query_only = 1")
            session = Session(bind=connection)
        event.listen(session, "before_flush", _refuse_flush)
        try:
            yield session
        finally:
            session.close()
            if connection is not None:
                try:
                    connection.rollback()
                    if self.engine.dialect.name == "sqlite":
                        connection.connection.driver_connection.execute("PRAGMA query_only = 0")
                except Exception:  # noqa: BLE001 - a connection left read-only must never go back to the pool
                    connection.invalidate()
                connection.close()

    @contextmanager
    def transaction(self):
        """A unit of work for jobs and commands: commit on success, roll back on error, always close.

        It uses a session of its own, never the request's: a job run synchronously right after a request commits
        (the embedded default) must not share or close the request's session.
        """
        session = self.session_factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.session.remove()
        self.engine.dispose()


def lock_for_update(query, session: Session):
    """Row lock on PostgreSQL; SQLite already holds the database write lock from BEGIN IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update()
    return query
