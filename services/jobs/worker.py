"""What rq runs: one entry point that loads an outbox row and calls its job (services/jobs/registry.py) in one
transaction.

Jobs are idempotent (a licence per branch is unique, a finished row is skipped), so rq's retries, a duplicated
dispatch or a worker killed half-way and restarted all end with the work done once.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from services import runtime
from services.db import utcnow
from services.jobs.models import OutboxJob
from services.jobs.registry import BY_NAME

log = logging.getLogger(__name__)


def run_outbox_job(outbox_id: int) -> str:
    """Run the outbox job ``outbox_id`` once; return what happened (for rq's result and the logs)."""
    rt = runtime.current()
    for attempt in (1, 2):
        try:
            with rt.db.transaction() as session:
                row = session.get(OutboxJob, outbox_id)
                if row is None:
                    return "missing"
                if row.done_at is not None:
                    return "already done"
                job, args = BY_NAME[row.name], dict(row.args)
            if job.before is not None:
                job.before(rt.db, rt.settings, **args)
            with rt.db.transaction() as session:
                row = session.get(OutboxJob, outbox_id)
                if row.done_at is not None:
                    return "already done"
                job.run(session, rt.settings, **row.args)
                row.done_at = utcnow()
            return "done"
        except IntegrityError:
            # A twin of this job (a duplicate dispatch) committed the same unique row first. The job is
            # idempotent, so running it once more finds that row and finishes without a second one.
            if attempt == 2:
                raise
            log.info("outbox job %s lost a race to its twin; running it again", outbox_id)
    return "done"
