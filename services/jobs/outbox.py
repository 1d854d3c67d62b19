"""Recording jobs in the outbox (inside the caller's transaction) and dispatching them after commit: to rq on Redis,
or to the process's own worker thread on the embedded default (no ``REDIS_URL``, ``services.jobs.local``)."""

from __future__ import annotations

import datetime as dt
import logging

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from services.db import Database, utcnow
from services.jobs.connection import get_queue
from services.jobs.local import RETRY_INTERVALS, local_worker
from services.jobs.models import OutboxJob

log = logging.getLogger(__name__)
PENDING_KEY = "onewindow.outbox_pending"


def enqueue(session: Session, queue: str, name: str, **args) -> OutboxJob:
    """Record the job ``name`` (one of services/jobs/registry.py, on its queue) to run once the current transaction
    commits."""
    from services.jobs.registry import BY_NAME  # not at the top: the registry imports the jobs, which import this

    registered = BY_NAME.get(name)
    if registered is None or registered.queue != queue:
        # Found here rather than by a worker that cannot run it, after the change that asked for it committed.
        raise ValueError(f"job {name!r} on queue {queue!r} is not in services/jobs/registry.py")
    job = OutboxJob(queue=queue, name=name, args=args, created_at=utcnow())
    session.add(job)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


def take_pending(session: Session) -> list[int]:
    """The outbox ids recorded through ``session`` since it last committed (call after commit)."""
    return session.info.pop(PENDING_KEY, [])


def pending_count(session: Session) -> int:
    """How many outbox ids ``session`` holds for dispatch after commit (a mark for :func:`forget_pending`)."""
    return len(session.info.get(PENDING_KEY, ()))


def forget_pending(session: Session, *, keep: int) -> None:
    """Forget the ids recorded after the first ``keep``: their rows were rolled back with a savepoint."""
    del session.info.get(PENDING_KEY, [])[keep:]


def dispatch(db: Database, job_ids: list[int], *, redis_url: str, prefix: str = "", force: bool = False) -> int:
    """Hand outbox rows to rq, or without Redis to this process's worker thread (``services.jobs.local``). A Redis
    outage leaves them undispatched for the sweep; nothing is lost.

    ``force`` dispatches rows again that were dispatched but never finished (a worker killed mid-job). The rows are
    marked in one transaction before any is handed on: the in-process worker starts on the first at once, and on
    SQLite its transactions would otherwise make each further mark wait."""
    if not job_ids:
        return 0
    with db.transaction() as session:
        rows = session.scalars(select(OutboxJob).where(OutboxJob.id.in_(job_ids)).order_by(OutboxJob.id)).all()
        chosen = [(row.id, row.queue, row.name) for row in rows
                  if row.done_at is None and (row.dispatched_at is None or force)]
        if chosen:
            session.execute(update(OutboxJob).where(OutboxJob.id.in_([job_id for job_id, _q, _n in chosen]))
                            .values(dispatched_at=utcnow()))
    if not redis_url:
        worker = local_worker()
        for job_id, _queue, _name in chosen:
            worker.submit(job_id)
        return len(chosen)
    sent = 0
    for job_id, queue, name in chosen:
        try:
            get_queue(queue, redis_url, prefix).enqueue(
                "services.jobs.worker.run_outbox_job", job_id, retry=Retry(max=3, interval=list(RETRY_INTERVALS)),
                description=f"{name} (outbox {job_id})", job_id=f"{prefix}outbox-{job_id}",
            )
            sent += 1
        except RedisError:
            log.exception("Redis unavailable; outbox job %s stays pending for the sweep", job_id)
            with db.transaction() as session:
                session.execute(update(OutboxJob).where(OutboxJob.id == job_id).values(dispatched_at=None))
    return sent


def stale_ids(session: Session, lease: dt.timedelta, limit: int = 1000) -> list[int]:
    """Jobs never dispatched, or dispatched longer than ``lease`` ago and still not done."""
    cutoff = utcnow() - lease
    return list(session.scalars(select(OutboxJob.id).where(
        OutboxJob.done_at.is_(None),
        or_(OutboxJob.dispatched_at.is_(None), OutboxJob.dispatched_at < cutoff)).order_by(OutboxJob.id).limit(limit)))
