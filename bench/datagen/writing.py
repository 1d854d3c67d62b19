"""Writing the generated rows: the tables in foreign-key order, a bulk sink (binary COPY on PostgreSQL, executemany
on SQLite) and a writer that overlaps the server's inserts with the generator's Python on PostgreSQL."""
from __future__ import annotations

import json
import queue
import threading
from typing import TYPE_CHECKING

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.db import Database

if TYPE_CHECKING:
    from bench.datagen.generator import _Generator

# -- tables, in foreign-key order -------------------------------------------------------------------------------------

TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "email", "password_hash", "role", "name", "id_number", "mobile", "agency_id", "is_active",
                 "created_at"),
    "enterprises": ("id", "name", "uscc", "legal_representative_id", "created_at"),
    "wf_instances": ("id", "definition_key", "definition_version", "subject_id", "state", "data", "received_on",
                     "accepted_on", "joint_due", "joint_extended", "joint_overdue", "started_at", "ended_at"),
    "applications": ("id", "reference", "bundle_id", "applicant_id", "enterprise_id", "status", "answers",
                     "submission_token", "workflow_instance_id", "submitted_at", "decided_at"),
    "materials": ("id", "application_id", "item_code", "filename", "content_type", "size", "sha256", "storage_key",
                  "uploaded_at"),
    "wf_branches": ("id", "instance_id", "node_id", "agency_code", "matter_code", "state", "started_on", "due_on",
                    "remaining_days", "paused_on", "resume_expected_on", "extended", "overdue", "paused_days",
                    "handling_days", "on_time", "decided_at", "decided_by", "opinion"),
    "wf_tasks": ("id", "instance_id", "branch_id", "node_id", "agency_code", "role", "state", "due_on", "created_at",
                 "completed_at", "completed_by", "outcome", "assignee_id", "claimed_at"),
    "wf_events": ("id", "instance_id", "at", "actor_id", "kind", "node_id", "detail", "command_id"),
    "wf_requests": ("id", "instance_id", "branch_id", "task_id", "kind", "state", "items", "note", "agency_code",
                    "requested_by", "requested_at", "decided_by", "decided_at"),
    "wf_timers": ("id", "instance_id", "branch_id", "kind", "due_on", "fired_at", "cancelled_at"),
    "licences": ("id", "number", "licence_type_id", "agency_id", "application_id", "branch_id", "holder_account_id",
                 "holder_enterprise_id", "holder_name", "holder_identifier", "status", "scope", "issued_at",
                 "valid_from", "valid_until", "pdf", "pdf_sha256"),
    "notifications": ("id", "account_id", "kind", "params", "created_at", "read_at"),
    "access_records": ("id", "application_id", "account_id", "agency_code", "role", "purpose", "at"),
}


class Sink:
    """Bulk writer: binary COPY on PostgreSQL, executemany on SQLite.

    On PostgreSQL, JSON values are encoded here and sent as text (the server's json input parses them); when the
    role may, foreign-key triggers are switched off for the COPY of a chunk (``session_replication_role = replica``,
    local to the transaction and set back right after) since the ids are assigned consistently here: the tests check
    every foreign key of generated data on both databases.
    """

    def __init__(self, database: Database):
        self.database = database
        self.postgresql = database.is_postgresql
        self.tables = {}
        self.types: dict[str, list[str]] = {}
        self.replica = False
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        if not self.postgresql:
            import services.models  # noqa: F401
            from services.db import Base

            self.tables = Base.metadata.tables

    def prepare(self, session) -> None:
        if not self.postgresql:
            return
        found = {(t, c): udt for t, c, udt in session.execute(text(
            "SELECT table_name, column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(:tables)"), {"tables": list(TABLES)})}
        for table, columns in TABLES.items():
            self.types[table] = ["text" if found[(table, c)] in ("json", "jsonb") else found[(table, c)]
                                 for c in columns]
        self.replica = session.scalar(text("SELECT current_setting('is_superuser')")) == "on"

    def json(self, value):
        return self._encode(value) if self.postgresql else value

    def write(self, session, rows: dict[str, list[tuple]]) -> None:
        connection = session.connection()
        if self.postgresql:
            raw = connection.connection.driver_connection
            with raw.cursor() as cursor:
                if self.replica:
                    cursor.execute("SET LOCAL session_replication_role = replica")
                try:
                    for table, columns in TABLES.items():
                        batch = rows.get(table)
                        if batch:
                            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                                copy.set_types(self.types[table])
                                write_row = copy.write_row
                                for row in batch:
                                    write_row(row)
                finally:
                    if self.replica:
                        cursor.execute("SET LOCAL session_replication_role = origin")
            return
        for table, columns in TABLES.items():
            batch = rows.get(table)
            target = self.tables[table]
            for start in range(0, len(batch or ()), 5000):
                connection.execute(target.insert(), [dict(zip(columns, row, strict=True))
                                                     for row in batch[start:start + 5000]])


class Writer:
    """Writes chunks on PostgreSQL in a thread of its own, so that the server inserts one chunk while Python builds
    the next (the two cores both work); on SQLite it writes inline."""

    def __init__(self, generator: _Generator):
        self.generator = generator
        self.threaded = generator.database.is_postgresql
        self.error: BaseException | None = None
        self.written = 0
        if self.threaded:
            self.queue: queue.Queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="gen-data-writer", daemon=True)
            self.thread.start()

    def put(self, rows, counters, last_ids, units: int) -> None:
        if not self.threaded:
            self._write(rows, counters, last_ids, units)
            return
        while True:
            self._raise()
            try:
                self.queue.put((rows, counters, last_ids, units), timeout=1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self.threaded:
            self.queue.put(None)
            self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise RuntimeError("writing the generated data failed") from self.error

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                    self.error = exc

    def _write(self, rows, counters, last_ids, units) -> None:
        generator = self.generator
        with generator.database.transaction() as session:
            generator.sink.write(session, rows)
            if generator.database.is_postgresql:
                for table in (table for table, batch in rows.items() if batch):
                    session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :v)"),
                                    {"v": last_ids[table]})
            if counters:
                from services.applications.models import Counter

                dialect_insert = pg_insert if generator.database.is_postgresql else sqlite_insert
                statement = dialect_insert(Counter).values([{"name": name, "value": value}
                                                            for name, value in sorted(counters.items())])
                bigger = func.greatest if generator.database.is_postgresql else func.max
                session.execute(statement.on_conflict_do_update(
                    index_elements=["name"], set_={"value": bigger(Counter.value, statement.excluded.value)}))
        for table, batch in rows.items():
            generator.counts[table] += len(batch)
        self.written += units
