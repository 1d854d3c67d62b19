"""The Redis connection and rq queues.

With ``REDIS_URL`` set, jobs go to real Redis and run in `flask rq worker` processes. Without it (the embedded
default of `make run`) there is no queue to give them to: they run in a thread of the web process
(``services.jobs.local``), and an in-process fakeredis stands in for what else needs a Redis (the rate limiter).
"""

from __future__ import annotations

from functools import lru_cache

import fakeredis
from redis import Redis
from rq import Queue


@lru_cache(maxsize=4)
def redis_connection(url: str) -> Redis:
    if not url:
        return fakeredis.FakeRedis()
    return Redis.from_url(url)


def get_queue(name: str, url: str, prefix: str = "") -> Queue:
    """The rq queue ``name`` on the Redis server at ``url``."""
    if not url:
        raise ValueError("no REDIS_URL: jobs run in-process (services.jobs.local), not on an rq queue")
    return Queue(prefix + name, connection=redis_connection(url))
