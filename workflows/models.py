"""Relational state of running processes: instances, branches, tasks and the append-only event log.

The engine knows nothing of who the actors are or what the subject is: ``subject_id`` and ``actor_id`` are plain
integers that the calling services interpret.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db import Base, UTCDateTime, utcnow
from workflows.states import BranchState, InstanceState, RequestKind, RequestState, TaskState, TimerKind


def _enum(cls):
    return Enum(cls, native_enum=False, length=24, validate_strings=True)


class WorkflowInstance(Base):
    __tablename__ = "wf_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_key: Mapped[str] = mapped_column(String(60))
    definition_version: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[InstanceState] = mapped_column(_enum(InstanceState))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    received_on: Mapped[dt.date] = mapped_column(Date)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    joint_due: Mapped[dt.date | None] = mapped_column(Date)
    joint_extended: Mapped[bool] = mapped_column(Boolean, default=False)
    joint_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    # The day the first of the branches whose clocks are stopped stopped (art. 45); None while every clock runs.
    joint_paused_on: Mapped[dt.date | None] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    branches: Mapped[list[Branch]] = relationship(back_populates="instance", order_by="Branch.id")
    tasks: Mapped[list[Task]] = relationship(back_populates="instance", order_by="Task.id")


class Branch(Base):
    """One agency's branch of a parallel approval, tracked by identity (node id) so that a join can never count the
    same branch twice."""

    __tablename__ = "wf_branches"
    # The pages' indexes (active and stopped clocks by agency) live with the queue (services.applications.tallies);
    # figures by state and handling days come from the tallies, not from indexes over every branch (migration 0012).
    __table_args__ = (UniqueConstraint("instance_id", "node_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instances.id"), index=True)
    node_id: Mapped[str] = mapped_column(String(60))
    agency_code: Mapped[str] = mapped_column(String(20))
    matter_code: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[BranchState] = mapped_column(_enum(BranchState))
    started_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    # While the clock is paused (supplement, expert review) the working days left are kept here.
    remaining_days: Mapped[int | None] = mapped_column(Integer)
    paused_on: Mapped[dt.date | None] = mapped_column(Date)
    resume_expected_on: Mapped[dt.date | None] = mapped_column(Date)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    # Kept as the branch moves so that supervision figures are sums and averages over rows, not recomputation.
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    handling_days: Mapped[int | None] = mapped_column(Integer)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    opinion: Mapped[str] = mapped_column(Text, default="")

    instance: Mapped[WorkflowInstance] = relationship(back_populates="branches")


class Task(Base):
    """A piece of human work in one agency's queue."""

    __tablename__ = "wf_tasks"
    # The queue's indexes live with the queue (services.applications.tallies, migration 0008).

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instances.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("wf_branches.id"), index=True)
    node_id: Mapped[str] = mapped_column(String(60))
    agency_code: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    state: Mapped[TaskState] = mapped_column(_enum(TaskState))
    due_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(20))
    # The clerk who claimed the task; None while it sits unclaimed in the agency queue.
    assignee_id: Mapped[int | None] = mapped_column(Integer)  # indexed while open: ix_wf_tasks_open_assignee
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    instance: Mapped[WorkflowInstance] = relationship(back_populates="tasks")
    branch: Mapped[Branch | None] = relationship()


class Event(Base):
    """Append-only case history: who did what, when and why. ``command_id`` makes every command idempotent."""

    __tablename__ = "wf_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instances.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    node_id: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    command_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class Request(Base):
    """Something asked of a person: a one-time supplement notice to the applicant (every missing material at once),
    or an extension waiting for a supervisor."""

    __tablename__ = "wf_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instances.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("wf_branches.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("wf_tasks.id"))
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind))
    state: Mapped[RequestState] = mapped_column(_enum(RequestState))
    items: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    # The applicant's written answers to items that ask a question, by item number ("1", "2", ...).
    response: Mapped[dict | None] = mapped_column(JSON)
    agency_code: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def notice_items(self) -> list[dict]:
        """The items as ``{"number", "text", "kind", "answer"}``: a plain text item is a document to send; a question
        carries the applicant's written answer once they gave it."""
        answers = self.response or {}
        result = []
        for number, item in enumerate(self.items or [], start=1):
            text, kind = (item.get("text", ""), item.get("kind", "document")) if isinstance(item, dict) \
                else (str(item), "document")
            result.append({"number": number, "text": text, "kind": kind, "answer": answers.get(str(number))})
        return result


class Timer(Base):
    """A deadline as a row: swept by a periodic job, so a stopped worker delays a timer and never drops it."""

    __tablename__ = "wf_timers"
    # Only pending timers are ever looked for by date (the sweep); fired and cancelled ones stay out of the index, so
    # cancelling a timer removes one entry instead of moving it (migration 0012).
    __table_args__ = (Index("ix_wf_timers_pending", "due_on", "id",
                            postgresql_where=text("fired_at IS NULL AND cancelled_at IS NULL"),
                            sqlite_where=text("fired_at IS NULL AND cancelled_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instances.id"), index=True)
    # Found through the instance (ix_wf_timers_instance_id): a branch's timers are cancelled by instance and branch.
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("wf_branches.id"))
    kind: Mapped[TimerKind] = mapped_column(_enum(TimerKind))
    due_on: Mapped[dt.date] = mapped_column(Date)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    branch: Mapped[Branch | None] = relationship()


class CalendarNotice(Base):
    """A State Council holiday notice as it was loaded, and the one the running cases' deadlines were recounted for:
    loading the same notice again (on another host, say) recounts nothing (services/calendar_notices.py)."""

    __tablename__ = "wf_calendar_notices"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64))
    holidays: Mapped[list] = mapped_column(JSON)
    workdays: Mapped[list] = mapped_column(JSON)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
