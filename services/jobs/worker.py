"""What rq runs: one entry point that loads an outbox row and calls the registered job in one transaction.

Jobs are idempotent (a licence per branch is unique, a finished row is skipped), so rq's retries, a duplicated
dispatch or a worker killed half-way and restarted all end with the work done once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from services import runtime
from services.db import utcnow
from services.jobs.models import OutboxJob

log = logging.getLogger(__name__)
JOBS: dict[str, Callable] = {}
# Steps run before a job's transaction, in transactions of their own: ``fn(database, settings, **args)``.
BEFORE: dict[str, Callable] = {}


def job(name: str, before: Callable | None = None):
    """Register ``fn(session, settings, **args)`` as the job called ``name``; ``before``, if given, runs first with
    the database (not a session), for work that must commit on its own (see services.licences.jobs)."""

    def register(fn):
        JOBS[name] = fn
        if before is not None:
            BEFORE[name] = before
        return fn

    return register


def run_outbox_job(outbox_id: int) -> str:
    """Run the outbox job ``outbox_id`` once; return what happened (for rq's result and the logs)."""
    import services.licences.jobs  # noqa: F401  (registers the licence jobs in a fresh worker process)

    rt = runtime.current()
    for attempt in (1, 2):
        try:
            with rt.db.transaction() as session:
                row = session.get(OutboxJob, outbox_id)
                if row is None:
                    return "missing"
                if row.done_at is not None:
                    return "already done"
                name, args = row.name, dict(row.args)
            if name in BEFORE:
                BEFORE[name](rt.db, rt.settings, **args)
            with rt.db.transaction() as session:
                row = session.get(OutboxJob, outbox_id)
                if row.done_at is not None:
                    return "already done"
                JOBS[row.name](session, rt.settings, **row.args)
                row.done_at = utcnow()
            return "done"
        except IntegrityError:
            # A twin of this job (a duplicate dispatch) committed the same unique row first. The job is
            # idempotent, so running it once more finds that row and finishes without a second one.
            if attempt == 2:
                raise
            log.info("outbox job %s lost a race to its twin; running it again", outbox_id)
    return "done"
