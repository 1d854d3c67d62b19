"""The Redis connection and rq queues.

With ``REDIS_URL`` set, jobs go to real Redis and run in `flask rq worker` processes. Without it (the embedded
default of `make run`), an in-process fakeredis stands in and jobs run synchronously right after commit, so a
fresh machine needs no Redis server.
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
    """The rq queue ``name``; synchronous when there is no Redis server configured."""
    return Queue(prefix + name, connection=redis_connection(url), is_async=bool(url))
