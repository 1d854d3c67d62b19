"""The engine's writes, as prebuilt Core statements.

Every command changes a handful of rows, and on the hot path (a clerk completing a task) the ORM's unit of work and
statement construction cost more than the database itself. So the engine writes with statements built once at import:
updates of the rows it loaded (the ORM objects are then told the new values as committed, so nothing is written
twice), and new rows collected in a ``Batch`` and inserted with one executemany per table at the end of the command.
The statements are ``Prepared``: compiled once per dialect and run on the session's DBAPI cursor, in its transaction.

New tasks and timers name their branch by node id, not by primary key: ``(instance_id, node_id)`` is unique on
``wf_branches``, so a branch, its task and its timers go out in three executemany statements without reading ids back.
"""

from __future__ import annotations

import operator

from sqlalchemy import ColumnElement, bindparam, insert, literal_column, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from services.db import utcnow
from workflows.models import Branch, Event, Task, Timer, WorkflowInstance
from workflows.states import TaskState

_GIVEN, _CONSTANT, _CALLED = "given", "constant", "called"


class Prepared:
    """A Core statement compiled once per dialect and run straight on the DBAPI cursor.

    Executing even a cached Core statement costs about 50 to 70 µs of Python (execution context, parameter and result
    set-up), several times what SQLite takes to run it. The hot path's statements never change, so their SQL text,
    parameter order and type conversions are worked out once per dialect; an execution is then the conversions and
    one ``cursor.execute``. Listeners of ``before_cursor_execute`` (statement counts in tests and bench/) are still
    told, and driver errors are raised as SQLAlchemy's (``IntegrityError`` and the rest), as Core would.
    """

    __slots__ = ("statement", "column_keys", "_by_dialect")

    def __init__(self, statement, column_keys=None):
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._by_dialect: dict[str, tuple] = {}

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        processors = compiled._bind_processors
        names = list(compiled.positiontup) if compiled.positional else list(dict.fromkeys(compiled.bind_names.values()))
        defaults = {column.key: column.default for column in (*compiled.insert_prefetch, *compiled.update_prefetch)}
        spec = []
        for name in names:
            bind = compiled.binds[name]
            processor = processors.get(name)
            if name in defaults and name not in (self.column_keys or ()):
                default = defaults[name]
                if not default.is_scalar:  # a Python callable default (utcnow): computed per row, as Core does
                    spec.append((name, _CALLED, (default.arg, processor)))
                    continue
                value = default.arg
            elif bind.required or bind.callable is not None or name in (self.column_keys or ()):
                spec.append((name, _GIVEN, processor))
                continue
            else:  # a constant of the statement (``state != 'APPROVED'``)
                value = bind.effective_value
            spec.append((name, _CONSTANT, processor(value) if processor is not None and value is not None else value))
        escaped = compiled.escaped_bind_names or {}
        keys = [escaped.get(name, name) for name in names]
        if len(names) > 1 and all(kind is _GIVEN for _, kind, _ in spec):
            # Every parameter is the caller's: take them in one C call, then convert only where a type asks.
            spec = (operator.itemgetter(*names), [(i, p) for i, (_, _, p) in enumerate(spec) if p is not None])
        entry = (compiled.string, spec, None if compiled.positional else keys, compiled, [None])
        self._by_dialect[dialect.name] = entry
        return entry

    def _parameters(self, spec, keys, values: dict):
        if type(spec) is tuple:
            take, conversions = spec
            converted = list(take(values))
            for position, processor in conversions:
                if converted[position] is not None:
                    converted[position] = processor(converted[position])
            return converted if keys is None else dict(zip(keys, converted, strict=True))
        converted = []
        for name, kind, processor in spec:
            if kind is _GIVEN:
                value = values[name]
                converted.append(processor(value) if processor is not None and value is not None else value)
            elif kind is _CONSTANT:
                converted.append(processor)
            else:
                make, processor = processor
                value = make(None)
                converted.append(processor(value) if processor is not None else value)
        return converted if keys is None else dict(zip(keys, converted, strict=True))

    def execute(self, connection, cursor, values: dict, many: list[dict] | None = None):
        """Run with ``values`` (or once per row of ``many``); the cursor, for a statement that returns rows."""
        dialect = connection.dialect
        entry = self._by_dialect.get(dialect.name) or self._compile(dialect)
        sql, spec, keys = entry[0], entry[1], entry[2]
        parameters = ([self._parameters(spec, keys, row) for row in many] if many is not None
                      else self._parameters(spec, keys, values))
        if connection._has_events or connection.engine._has_events:
            listeners = connection.dispatch.before_cursor_execute
            if listeners:
                listeners(connection, cursor, sql, parameters, None, many is not None)
        try:
            if many is not None:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect) from error
        return cursor

    def first(self, connection, cursor, values: dict):
        """The first row, with each column converted as Core would (dates parsed from SQLite's text, enums...)."""
        self.execute(connection, cursor, values)
        row = cursor.fetchone()
        if row is None:
            return None
        entry = self._by_dialect[connection.dialect.name]
        processors = entry[4][0]
        if processors is None:
            dialect = connection.dialect
            processors = entry[4][0] = [column.type._cached_result_processor(dialect, description[1])
                                        for column, description in zip(entry[3]._result_columns, cursor.description,
                                                                       strict=True)]
        return tuple(value if processor is None or value is None else processor(value)
                     for processor, value in zip(processors, row, strict=True))


def stored(member) -> ColumnElement:
    """An enum member written into the SQL as stored (its name), not bound: only then can the planner use a partial
    index such as ``ix_wf_requests_open_task ... WHERE state = 'OPEN'`` (with a bound value SQLite scanned the table,
    and built the scan's plan on every execution: about 50 µs even on an empty table)."""
    if not member.name.isidentifier():
        raise ValueError(member)
    return literal_column(f"'{member.name}'")


_branch_of_row = (select(Branch.id).where(Branch.instance_id == bindparam("instance_id"),
                                          Branch.node_id == bindparam("branch_node")).scalar_subquery())

_instances = WorkflowInstance.__table__
INSERT_TASKS = Prepared(insert(Task.__table__).values(
    instance_id=bindparam("instance_id"), branch_id=_branch_of_row, node_id=bindparam("node_id"),
    agency_code=bindparam("agency_code"), role=bindparam("role"), state=bindparam("state"),
    due_on=bindparam("due_on"), created_at=bindparam("created_at")))
INSERT_TIMERS = Prepared(insert(Timer.__table__).values(
    instance_id=bindparam("instance_id"), branch_id=_branch_of_row, kind=bindparam("kind"),
    due_on=bindparam("due_on"), cancelled_at=bindparam("cancelled_at")))

# Inserts and updates by primary key whose columns are the parameters' keys: one Prepared per set of columns.
_PREPARED_BY_COLUMNS: dict[tuple, Prepared] = {}


def _prepared(kind: str, table, columns: tuple) -> Prepared:
    prepared = _PREPARED_BY_COLUMNS.get((kind, table.name, columns))
    if prepared is None:
        statement = (insert(table) if kind == "insert"
                     else update(table).where(table.c.id == bindparam("row_id")))
        prepared = _PREPARED_BY_COLUMNS[(kind, table.name, columns)] = Prepared(statement, columns)
    return prepared


_INSTANCE_COLUMNS = frozenset(WorkflowInstance.__table__.c.keys())

_timers = Timer.__table__.c
_pending_timers = (_timers.instance_id == bindparam("timer_instance_id"), _timers.fired_at.is_(None),
                   _timers.cancelled_at.is_(None))
CANCEL_TIMERS = {
    "all": Prepared(update(Timer.__table__).where(*_pending_timers), ["cancelled_at"]),
    "branch": Prepared(update(Timer.__table__).where(*_pending_timers,
                                                     _timers.branch_id == bindparam("timer_branch_id")),
                       ["cancelled_at"]),
}


def cancel_timers_of_kinds(kinds) -> Prepared:
    """The UPDATE cancelling an instance's pending timers of ``kinds``: one Prepared per set of kinds, the kinds
    written into the SQL as stored (an expanding IN list cannot be compiled once)."""
    key = tuple(sorted(kind.name for kind in kinds))
    prepared = _PREPARED_BY_COLUMNS.get(("cancel-kinds", _timers.kind.table.name, key))
    if prepared is None:
        listed = [stored(kind) for kind in sorted(kinds, key=lambda kind: kind.name)]
        prepared = _PREPARED_BY_COLUMNS[("cancel-kinds", _timers.kind.table.name, key)] = Prepared(
            update(Timer.__table__).where(*_pending_timers, _timers.kind.in_(listed)), ["cancelled_at"])
    return prepared

def insert_instance(batch: Batch, values: dict) -> int:
    """Insert an instance row; its id."""
    prepared = _PREPARED_BY_COLUMNS.get(("insert-returning", _instances.name, tuple(values)))
    if prepared is None:
        prepared = _PREPARED_BY_COLUMNS[("insert-returning", _instances.name, tuple(values))] = Prepared(
            insert(_instances).returning(_instances.c.id), tuple(values))
    return batch.first(prepared, values)[0]


def store(batch: Batch, obj, **values) -> None:
    """Write ``values`` to a loaded instance, branch or task row and record them on the object as committed."""
    batch.run(_prepared("update", type(obj).__table__, tuple(values)), {"row_id": obj.id, **values})
    # What set_committed_value() does for each plain column, at once: the new values are the loaded ones.
    state = instance_state(obj)
    state.dict.update(values)
    committed = state.committed_state
    for key in values:
        committed.pop(key, None)
    if state.expired_attributes:
        state.expired_attributes.difference_update(values)
    if state.modified and not committed:
        # Every change the object had is now written: take it off the unit of work's list, or the next flush walks
        # it for nothing (the ORM keeps an object "modified" once any attribute was set, even if set back).
        state._commit_all(state.dict, batch.session.identity_map)


def store_instance(batch: Batch, instance: WorkflowInstance) -> None:
    """Write the instance's changed attributes in one UPDATE (nothing when none changed)."""
    state = instance_state(instance)
    if state.modified:
        changed = {key: state.dict[key] for key in state.committed_state if key in _INSTANCE_COLUMNS}
        if changed:
            store(batch, instance, **changed)


class Batch:
    """The rows one command adds, written together by ``write`` (branches first: tasks and timers refer to them)."""

    __slots__ = ("session", "_connection", "_cursor", "branches", "tasks", "timers", "events")

    def __init__(self, session: Session):
        self.session = session
        self._connection = None
        self._cursor = None
        self.branches: list[dict] = []
        self.tasks: list[dict] = []
        self.timers: list[dict] = []
        self.events: list[dict] = []

    @property
    def connection(self):
        """The session's connection, asked for once per command (``Session.connection()`` is not free)."""
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    def run(self, prepared: Prepared, values: dict, many: list[dict] | None = None):
        """Execute a prepared statement on this command's DBAPI cursor (see ``Prepared``)."""
        if self._cursor is None:
            self._cursor = self.connection.connection.cursor()
        return prepared.execute(self.connection, self._cursor, values, many)

    def first(self, prepared: Prepared, values: dict):
        if self._cursor is None:
            self._cursor = self.connection.connection.cursor()
        return prepared.first(self.connection, self._cursor, values)

    def branch(self, **values) -> dict:
        self.branches.append(values)
        return values

    def task(self, instance_id: int, node, due_on, branch_node: str | None) -> None:
        self.tasks.append({"instance_id": instance_id, "branch_node": branch_node, "node_id": node.id,
                           "agency_code": node.agency, "role": node.role, "state": TaskState.OPEN,
                           "due_on": due_on, "created_at": utcnow()})

    def timer(self, instance_id: int, kind, due_on, branch_node: str | None) -> None:
        self.timers.append({"instance_id": instance_id, "branch_node": branch_node, "kind": kind, "due_on": due_on,
                            "cancelled_at": None})

    def event(self, instance_id: int, actor_id, kind: str, node_id, detail: dict, command_id) -> None:
        self.events.append({"instance_id": instance_id, "actor_id": actor_id, "kind": kind, "node_id": node_id,
                            "detail": detail, "command_id": command_id, "at": utcnow()})

    def cancel_timers(self, instance_id: int, branch_node: str | None, kinds, now) -> None:
        """Cancel timers this command scheduled and has not written yet (the database's are cancelled by UPDATE)."""
        for row in self.timers:
            if (row["instance_id"] == instance_id and row["cancelled_at"] is None
                    and (branch_node is None or row["branch_node"] == branch_node)
                    and (not kinds or row["kind"] in kinds)):
                row["cancelled_at"] = now

    def write(self) -> None:
        if not (self.branches or self.tasks or self.timers or self.events):
            return
        for table, rows in ((Branch.__table__, self.branches), (Task.__table__, self.tasks),
                            (Timer.__table__, self.timers), (Event.__table__, self.events)):
            if rows:
                prepared = (INSERT_TASKS if table is Task.__table__ else INSERT_TIMERS if table is Timer.__table__
                            else _prepared("insert", table, tuple(rows[0])))
                if len(rows) == 1:
                    self.run(prepared, rows[0])
                else:
                    self.run(prepared, {}, rows)
                rows.clear()
