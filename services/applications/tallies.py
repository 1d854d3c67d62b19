"""Maintained counts behind the clerk's queue tabs and the supervision figures, and the indexes the pages walk.

Counting 100,000 open tasks (or 2.7 million branches) on every page view cannot fit in 50 ms, so the database keeps
the counts itself: triggers on ``wf_tasks``, ``wf_branches`` and ``wf_requests`` (made by migration 0008, on
PostgreSQL and SQLite alike) append a row of +1/-1 to a tally whenever a task moves between queue tabs or a branch
changes state. Appending, never updating a shared counter row, means two clerks deciding at once never wait for
each other or deadlock on a counter; readers sum the rows of one agency (a few hundred after compaction), and
``compact`` folds the appended rows together from time to time. The engine (``workflows/``) knows nothing of this:
every change it makes goes through those tables, in the same transaction as the tally rows.

Bulk loads that bypass triggers (``bench/gen_data.py`` copies with ``session_replication_role = replica``) must call
``recount`` afterwards, as they rebuild the handling tallies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Boolean, Date, Index, Integer, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.db import Base
from services.identity.models import Account, Enterprise
from services.notifications.models import Notification
from workflows.models import Branch, Request, Task

# Queue buckets of an open task: ready and unclaimed, ready and claimed, waiting for the applicant, paused.
FREE, HELD, WAITING, PAUSED = "free", "held", "waiting", "paused"
COMPACT_AFTER = 2000  # appended rows beyond the distinct keys before a reader folds them


class QueueTally(Base):
    """+1/-1 rows: open tasks per agency, kind (acceptance or branch), queue bucket and due date."""

    __tablename__ = "queue_tallies"
    __table_args__ = (Index("ix_queue_tallies_agency", "agency_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(20))
    acceptance: Mapped[bool] = mapped_column(Boolean)
    bucket: Mapped[str] = mapped_column(String(12))
    due_on: Mapped[dt.date] = mapped_column(Date)
    delta: Mapped[int] = mapped_column(Integer)


class BranchTally(Base):
    """+1/-1 rows: branches per agency, matter, state, decision figures and (while active) due date."""

    __tablename__ = "branch_tallies"
    __table_args__ = (Index("ix_branch_tallies_agency", "agency_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(20))
    matter_code: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(24))
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    handling_days: Mapped[int | None] = mapped_column(Integer)
    due_on: Mapped[dt.date | None] = mapped_column(Date)  # only for active branches: the warning board's counts
    delta: Mapped[int] = mapped_column(Integer)


# Indexes of other modules' tables that the clerk and supervision pages need, declared here so that the models and
# migration 0008 agree. Each serves one page query in (due date, id) order, so keyset paging reads only one page.
_OPEN_TASK = text("state = 'OPEN'")
PAGE_INDEXES = [
    Index("ix_wf_tasks_open_queue", Task.agency_code, Task.due_on, Task.id,
          postgresql_where=_OPEN_TASK, sqlite_where=_OPEN_TASK),
    Index("ix_wf_tasks_unclaimed_queue", Task.agency_code, Task.due_on, Task.id,
          postgresql_where=text("state = 'OPEN' AND assignee_id IS NULL"),
          sqlite_where=text("state = 'OPEN' AND assignee_id IS NULL")),
    # Claimed open tasks only: "mine" always names the clerk (assignee_id = :me implies IS NOT NULL to both planners),
    # and a new or completed unclaimed task then writes no entry here (migration 0012).
    Index("ix_wf_tasks_open_assignee", Task.assignee_id, Task.agency_code, Task.due_on, Task.id,
          postgresql_where=text("state = 'OPEN' AND assignee_id IS NOT NULL"),
          sqlite_where=text("state = 'OPEN' AND assignee_id IS NOT NULL")),
    Index("ix_wf_branches_active_due", Branch.due_on, Branch.id, postgresql_include=["agency_code"],
          postgresql_where=text("state = 'ACTIVE'"), sqlite_where=text("state = 'ACTIVE'")),
    Index("ix_wf_branches_agency_active_due", Branch.agency_code, Branch.due_on, Branch.id,
          postgresql_where=text("state = 'ACTIVE'"), sqlite_where=text("state = 'ACTIVE'")),
    Index("ix_wf_branches_agency_clock_stopped", Branch.agency_code, Branch.state, Branch.due_on, Branch.id,
          postgresql_where=text("state IN ('WAITING_APPLICANT', 'PAUSED')"),
          sqlite_where=text("state IN ('WAITING_APPLICANT', 'PAUSED')")),
    Index("ix_wf_requests_open_task", Request.task_id,
          postgresql_where=text("state = 'OPEN'"), sqlite_where=text("state = 'OPEN'")),
    Index("ix_wf_requests_open_extension", Request.agency_code, Request.requested_at, Request.id,
          postgresql_where=text("kind = 'EXTENSION' AND state = 'OPEN'"),
          sqlite_where=text("kind = 'EXTENSION' AND state = 'OPEN'")),
    Index("ix_accounts_name", Account.name),
    Index("ix_enterprises_name", Enterprise.name),
    Index("ix_notifications_reassigned", Notification.account_id, Notification.id,
          postgresql_where=text("kind = 'task_reassigned'"), sqlite_where=text("kind = 'task_reassigned'")),
]

# ix_wf_tasks_queue (agency_code, state, due_on), made in 0001 for the queue, is superseded by ix_wf_tasks_open_queue
# and dropped by 0008: it lacks the id, yet the planner preferred it for the overdue tab and then sorted a whole
# day of tasks (28-97 ms against 1 ms measured on a million cases).


@dataclass
class TabCounts:
    acceptance: int
    unclaimed: int
    waiting_applicant: int
    paused: int
    due_soon: int
    overdue: int


def queue_counts(session: Session, agency_code: str, today: dt.date, soon: dt.date) -> TabCounts:
    """The agency's tab counts (all but "mine"), summed from its tally rows: a few hundred (bucket, due date) keys."""
    keys = (QueueTally.acceptance, QueueTally.bucket, QueueTally.due_on)
    rows = session.execute(select(*keys, func.sum(QueueTally.delta), func.count())
                           .where(QueueTally.agency_code == agency_code).group_by(*keys)).all()
    counts = TabCounts(0, 0, 0, 0, 0, 0)
    for acceptance, bucket, due_on, number, _appended in rows:
        number = int(number or 0)
        if acceptance:
            counts.acceptance += number
        if bucket == FREE:
            counts.unclaimed += number
        elif bucket == WAITING:
            counts.waiting_applicant += number
        elif bucket == PAUSED:
            counts.paused += number
        if bucket in (FREE, HELD) and due_on < today:
            counts.overdue += number
        elif bucket in (FREE, HELD) and due_on <= soon:
            counts.due_soon += number
    if sum(r[4] for r in rows) - len(rows) > COMPACT_AFTER:
        compact(session, QueueTally, agency_code)
    return counts


@dataclass
class BranchGroup:
    agency_code: str
    matter_code: str | None
    state: str
    on_time: bool | None
    handling_days: int | None
    due_on: dt.date | None
    count: int


def branch_groups(session: Session, codes: list[str] | None) -> list[BranchGroup]:
    """Every (agency, matter, state, on time, handling days, active due date) group with its number of branches."""
    keys = (BranchTally.agency_code, BranchTally.matter_code, BranchTally.state, BranchTally.on_time,
            BranchTally.handling_days, BranchTally.due_on)
    query = select(*keys, func.sum(BranchTally.delta), func.count()).group_by(*keys)
    if codes is not None:
        query = query.where(BranchTally.agency_code.in_(codes))
    rows = session.execute(query).all()
    agencies = {r[0] for r in rows}
    if sum(r[7] for r in rows) - len(rows) > COMPACT_AFTER * max(len(agencies), 1):
        for code in agencies:
            compact(session, BranchTally, code)
    return [BranchGroup(*r[:6], count=int(r[6])) for r in rows if r[6]]


def compact(session: Session, model, agency_code: str) -> None:
    """Fold one agency's appended rows into one row per key. On PostgreSQL the delete and the re-insert are one
    statement: a row another compaction already took is skipped, so no delta is counted twice."""
    table = model.__table__
    keys = [c.name for c in table.columns if c.name not in ("id", "delta")]
    columns = ", ".join(keys)
    grouped = ", ".join(k for k in keys if k != "agency_code")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(
            f"WITH gone AS (DELETE FROM {table.name} WHERE agency_code = :code RETURNING {columns}, delta) "
            f"INSERT INTO {table.name} ({columns}, delta) SELECT {columns}, sum(delta) FROM gone "
            f"GROUP BY agency_code, {grouped} HAVING sum(delta) <> 0"), {"code": agency_code})
        return
    # SQLite: this transaction holds the database's write lock from the first statement, so nothing moves between.
    last = session.scalar(text(f"SELECT max(id) FROM {table.name} WHERE agency_code = :code"), {"code": agency_code})
    if last is None:
        return
    session.execute(text(
        f"INSERT INTO {table.name} ({columns}, delta) SELECT {columns}, sum(delta) FROM {table.name} "
        f"WHERE agency_code = :code AND id <= :last GROUP BY {columns} HAVING sum(delta) <> 0"),
        {"code": agency_code, "last": last})
    session.execute(text(f"DELETE FROM {table.name} WHERE agency_code = :code AND id <= :last"),
                    {"code": agency_code, "last": last})


def recount(session: Session) -> None:
    """Rebuild both tallies from the tasks and branches (after a bulk load that bypassed the triggers)."""
    for statement in RECOUNT:
        session.execute(text(statement))


RECOUNT = [
    "DELETE FROM queue_tallies",
    "DELETE FROM branch_tallies",
    f"""INSERT INTO queue_tallies (agency_code, acceptance, bucket, due_on, delta)
        SELECT t.agency_code, t.branch_id IS NULL,
               CASE WHEN t.branch_id IS NULL AND s.task_id IS NOT NULL THEN '{WAITING}'
                    WHEN t.branch_id IS NULL OR b.state = 'ACTIVE'
                         THEN CASE WHEN t.assignee_id IS NULL THEN '{FREE}' ELSE '{HELD}' END
                    WHEN b.state = 'WAITING_APPLICANT' THEN '{WAITING}'
                    WHEN b.state = 'PAUSED' THEN '{PAUSED}' END AS bucket,
               t.due_on, count(*)
        FROM wf_tasks t
        LEFT JOIN wf_branches b ON b.id = t.branch_id
        LEFT JOIN (SELECT DISTINCT task_id FROM wf_requests
                   WHERE kind = 'SUPPLEMENT' AND state = 'OPEN' AND task_id IS NOT NULL) s ON s.task_id = t.id
        WHERE t.state = 'OPEN' AND (t.branch_id IS NULL OR b.state IN ('ACTIVE', 'WAITING_APPLICANT', 'PAUSED'))
        GROUP BY 1, 2, 3, 4""",
    """INSERT INTO branch_tallies (agency_code, matter_code, state, on_time, handling_days, due_on, delta)
        SELECT agency_code, matter_code, state, on_time, handling_days,
               CASE WHEN state = 'ACTIVE' THEN due_on END, count(*)
        FROM wf_branches GROUP BY 1, 2, 3, 4, 5, 6""",
]
