"""Periodic jobs, in one list: run by `flask rq cron` (rq's CronScheduler) in production, and by a background thread
of the development server when there is no Redis."""

from __future__ import annotations

import datetime as dt
import logging

from services import clock, runtime
from services.jobs import queues
from services.jobs.outbox import dispatch, stale_ids

log = logging.getLogger(__name__)
OUTBOX_LEASE = dt.timedelta(minutes=10)  # a dispatched job not done by then is dispatched again (idempotent jobs)


def sweep_timers(today: str | None = None) -> dict:
    """Fire the workflow timers that are due (deadlines, warnings, deemed acceptance)."""
    from services.applications.service import engine
    from workflows.timers import sweep

    day = dt.date.fromisoformat(today) if today else clock.today()
    return sweep(runtime.current().db, engine(), day)


def redispatch_outbox(lease_seconds: int | None = None) -> int:
    """Dispatch outbox jobs never dispatched (Redis was down) or dispatched but never finished (a worker died)."""
    rt = runtime.current()
    lease = OUTBOX_LEASE if lease_seconds is None else dt.timedelta(seconds=lease_seconds)
    with rt.db.transaction() as session:
        ids = stale_ids(session, lease)
    return dispatch(rt.db, ids, redis_url=rt.settings["REDIS_URL"], prefix=rt.settings["RQ_QUEUE_PREFIX"],
                    force=True)


def sweep_licences(today: str | None = None) -> dict:
    """Mark licences past their last day expired and send the 30-day renewal reminders (each once per licence)."""
    from services.licences.lifecycle import expire_due_licences, send_renewal_reminders

    day = dt.date.fromisoformat(today) if today else None
    with runtime.current().db.transaction() as session:
        expired = expire_due_licences(session, day)
        reminded = send_renewal_reminders(session, day)
    return {"expired": expired, "reminded": reminded}


def publish_audit_roots() -> int:
    """Sign the audit trail's root for every finished day that has none yet (services.audit.chain)."""
    from pathlib import Path

    from services.audit.chain import publish_roots_job

    rt = runtime.current()
    return publish_roots_job(rt.db, Path(rt.settings["KEY_DIR"]))
def sweep_sessions() -> int:
    """Delete sessions past their idle or absolute end (they open nothing already; this keeps the table small)."""
    from services.identity.sessions import sweep_expired

    with runtime.current().db.transaction() as session:
        return sweep_expired(session)


# (function, queue, interval in seconds)
PERIODIC = [
    (sweep_timers, queues.DEFAULT, 300),
    (redispatch_outbox, queues.DEFAULT, 60),
    # Licence dates are whole days: hourly is soon enough after midnight, and a sweep with nothing due is one
    # indexed query (ix_licences_status_valid_until).
    (sweep_licences, queues.DEFAULT, 3600),
    # A day's root is signed within the hour after midnight in China.
    (publish_audit_roots, queues.DEFAULT, 3600),
    (sweep_sessions, queues.DEFAULT, 900),
]
