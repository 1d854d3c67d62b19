"""Running queued jobs in tests: a real rq worker on Redis when REDIS_URL is set; in-process otherwise (the jobs
already ran synchronously after the request committed)."""

from __future__ import annotations

from rq import SimpleWorker

from services.jobs.connection import redis_connection
from services.jobs.queues import ALL_QUEUES


def run_pending_jobs(app) -> None:
    url = app.config["REDIS_URL"]
    if not url:
        return
    prefix = app.config["RQ_QUEUE_PREFIX"]
    # SimpleWorker runs jobs in this process, so they join the test's transaction instead of a forked child's.
    worker = SimpleWorker([prefix + name for name in ALL_QUEUES], connection=redis_connection(url))
    worker.work(burst=True)
