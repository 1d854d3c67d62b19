"""Running queued jobs in tests: a real rq worker on Redis when REDIS_URL is set; otherwise the app's own in-process
worker thread (services/jobs/local.py), which holds the jobs under the test configuration until this asks for them."""

from __future__ import annotations

from rq import SimpleWorker

from services.jobs.connection import redis_connection
from services.jobs.local import local_worker
from services.jobs.queues import ALL_QUEUES


def run_pending_jobs(app, timeout: float = 300) -> None:
    """Run every job dispatched so far, and return once they are done. A failed job fails the test."""
    url = app.config["REDIS_URL"]
    if not url:
        failures = local_worker().drain(timeout)
        assert not failures, "in-process jobs failed: " + "; ".join(f"outbox {i}: {exc!r}" for i, exc in failures)
        return
    prefix = app.config["RQ_QUEUE_PREFIX"]
    # SimpleWorker runs jobs in this process, so they join the test's transaction instead of a forked child's.
    worker = SimpleWorker([prefix + name for name in ALL_QUEUES], connection=redis_connection(url))
    worker.work(burst=True)
