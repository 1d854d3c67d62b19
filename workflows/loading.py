"""The engine's reads for a command on a task, in as few statements as the locking allows.

A command on a task needs: the task, its instance (locked), its branch, whether the command id was already used,
whether a supplement notice is waiting for the applicant, and (for the join) how many sibling branches are not yet
approved. On SQLite the transaction already holds the database's write lock (``BEGIN IMMEDIATE``), so one SELECT
reads all of it. On PostgreSQL the instance row is locked first (``FOR UPDATE``, nothing else), and the same SELECT
then runs after the lock is granted: in READ COMMITTED every statement takes a fresh snapshot, so it sees whatever a
command that held the lock before us committed (a twin with the same command id, a sibling's approval).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, case, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from services.errors import NotFound, ValidationFailed
from workflows.models import Branch, Event, Request, Task, WorkflowInstance
from workflows.states import BranchState, RequestKind, RequestState
from workflows.store import Batch, Prepared, stored


@dataclass(slots=True)
class TaskContext:
    task: Task
    instance: WorkflowInstance
    branch: Branch | None
    repeated: bool  # the command id is already in the event log: the command was done before
    waiting_supplement: bool  # an acceptance task whose supplement notice the applicant has not answered
    unsettled_siblings: int  # the instance's other branches that are not approved (at the time of reading)


_tasks, _instances, _branches = Task.__table__, WorkflowInstance.__table__, Branch.__table__
_sibling = _branches.alias("sibling")
_previous = select(Event.id).where(Event.command_id == bindparam("command_id")).scalar_subquery()


_waiting = (select(Request.id).where(Request.task_id == _tasks.c.id, Request.state == stored(RequestState.OPEN),
                                     Request.kind == stored(RequestKind.SUPPLEMENT)).limit(1).scalar_subquery())
_unsettled = (select(func.count(_sibling.c.id)).where(_sibling.c.instance_id == _tasks.c.instance_id,
                                                      _sibling.c.id != _tasks.c.branch_id,
                                                      _sibling.c.state != BranchState.APPROVED).scalar_subquery())
# The columns commands decide on (an attribute not read here loads on first use). Fewer columns matter: on SQLite
# every date is parsed from text in Python, and the row costs more to process than the query takes to run.
LOADED = {
    Task: ("id", "instance_id", "branch_id", "node_id", "state", "agency_code", "due_on"),
    WorkflowInstance: ("id", "definition_key", "definition_version", "state", "data"),
    Branch: ("id", "instance_id", "node_id", "agency_code", "state", "started_on", "due_on", "paused_days",
             "extended", "overdue"),
}
# A Core statement: the three rows become ORM objects in ``_materialise``, cheaper than through the ORM's loader.
LOAD_TASK = Prepared(select(*(cls.__table__.c[key] for cls, keys in LOADED.items() for key in keys), _previous,
                    case((_tasks.c.branch_id.is_(None), _waiting), else_=None),
                    case((_tasks.c.branch_id.is_not(None), _unsettled), else_=0))
             .select_from(_tasks.join(_instances, _instances.c.id == _tasks.c.instance_id)
                          .outerjoin(_branches, _branches.c.id == _tasks.c.branch_id))
             .where(_tasks.c.id == bindparam("task_id")))


def _layout():
    """(mapper, attribute names, first and past-last position) of each table's columns in LOAD_TASK's row."""
    layout, first = [], 0
    for cls, keys in LOADED.items():
        mapper = inspect(cls)
        unloaded = [attr.key for attr in mapper.column_attrs if attr.key not in keys]
        layout.append((mapper, keys, unloaded, first, first + len(keys)))
        first += len(keys)
    return layout


_LAYOUT = _layout()
LOCK_INSTANCE_OF_TASK = Prepared(select(WorkflowInstance.id)
                                 .where(WorkflowInstance.id == select(Task.instance_id)
                                        .where(Task.id == bindparam("task_id")).scalar_subquery())
                                 .with_for_update())
PREVIOUS_EVENT = Prepared(select(Event.id, Event.instance_id).where(Event.command_id == bindparam("command_id")))
UNSETTLED_MEMBERS = (select(func.count(Branch.id))
                     .where(Branch.instance_id == bindparam("instance_id"),
                            Branch.node_id.in_(bindparam("members", expanding=True)),
                            Branch.state != BranchState.APPROVED))


def _require_command_id(command_id: str) -> None:
    if not command_id:
        raise ValidationFailed("command_id_required")


def previous_event_id(session: Session, command_id: str) -> int | None:
    """The event recorded under ``command_id``, if the command was done before."""
    _require_command_id(command_id)
    row = Batch(session).first(PREVIOUS_EVENT, {"command_id": command_id})
    return row[0] if row is not None else None


def previous_instance_id(batch: Batch, command_id: str) -> int | None:
    """The instance of the event recorded under ``command_id``, if the command was done before."""
    _require_command_id(command_id)
    row = batch.first(PREVIOUS_EVENT, {"command_id": command_id})
    return row[1] if row is not None else None


def load_open_task(batch: Batch, task_id: int, command_id: str) -> TaskContext:
    """Lock the task's instance and read everything a command on the task decides on (see the module docstring)."""
    _require_command_id(command_id)
    session = batch.session
    session.flush()  # the statements below bypass autoflush
    if batch.connection.dialect.name == "postgresql":
        if batch.first(LOCK_INSTANCE_OF_TASK, {"task_id": task_id}) is None:
            raise NotFound("task")
    row = batch.first(LOAD_TASK, {"task_id": task_id, "command_id": command_id})
    if row is None:
        raise NotFound("task")
    task, instance, branch = (_materialise(session, mapper, keys, unloaded, row[first:last])
                              for mapper, keys, unloaded, first, last in _LAYOUT)
    previous, waiting, unsettled = row[_LAYOUT[-1][-1]:]
    return TaskContext(task=task, instance=instance, branch=branch, repeated=previous is not None,
                       waiting_supplement=waiting is not None, unsettled_siblings=unsettled or 0)


def _materialise(session: Session, mapper, keys, unloaded: list[str], values):
    """The session's object for a row just read, as fresh as ``populate_existing`` would leave it."""
    if values[0] is None:  # the outer-joined branch of a task that has none
        return None
    key = mapper.identity_key_from_primary_key((values[0],))
    obj = session.identity_map.get(key)
    if obj is not None:
        for key, value in zip(keys, values, strict=True):
            set_committed_value(obj, key, value)
        session.expire(obj, unloaded)  # not read now: read again on first use rather than trusted
        return obj
    # What make_transient_to_detached() and Session.add() do for an object with nothing but these columns loaded,
    # without their general cost (walking every attribute and the save-update cascade: about 30 µs per object).
    obj = mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.dict.update(zip(keys, values, strict=True))
    state.key = key
    state.expired_attributes.update(unloaded)  # not read now: they load on first use
    session._update_impl(state)
    return obj


def unsettled_members(session: Session, instance_id: int, members) -> int:
    """How many of the branches named ``members`` are not approved."""
    return session.execute(UNSETTLED_MEMBERS, {"instance_id": instance_id, "members": list(members)}).scalar_one()
