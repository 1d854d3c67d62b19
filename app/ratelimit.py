"""A fixed-window rate limit per client address, counted in Redis (fakeredis without ``REDIS_URL``).

Public verification needs no sign-in, so it is what a scraper would hammer. A fixed window is crude (a client can
make twice the limit across a window boundary) but needs one INCR per request and no new dependency.

Behind a reverse proxy ``request.remote_addr`` would be the proxy's address and every client would share one budget:
set ``TRUSTED_PROXIES`` to the number of proxies in front of the app and ``create_app`` wraps it in werkzeug's
``ProxyFix``.
"""

from __future__ import annotations

import logging
import time
from functools import wraps

from flask import current_app, jsonify, request
from redis.exceptions import RedisError
from werkzeug.exceptions import TooManyRequests

from app.i18n import _
from services.jobs.connection import redis_connection

log = logging.getLogger(__name__)
DEFAULT_LIMIT = 60  # requests per window and client
WINDOW_SECONDS = 60


def _prefix() -> str:
    # Several apps may share one Redis (test runs in parallel, staging next to production): keys carry the app's own
    # prefix, which defaults to the queue prefix that already separates them.
    config = current_app.config
    return config.get("RATELIMIT_PREFIX") or config.get("RQ_QUEUE_PREFIX", "")


def hit(scope: str, *, limit: int | None = None, window_seconds: int = WINDOW_SECONDS,
        subject: str | None = None) -> int | None:
    """Count this request against ``scope``; return the seconds until the window ends if over the limit, else None.

    By default the budget is ``VERIFY_RATE_LIMIT`` a minute per client address; ``subject`` counts against something
    else instead (a licence number, so that many addresses together cannot exceed it either).
    A Redis outage lets requests through (logged): verification staying up matters more than the limit.
    """
    if limit is None:
        limit = int(current_app.config.get("VERIFY_RATE_LIMIT", DEFAULT_LIMIT))
    if limit <= 0:
        return None
    now = int(time.time())
    window = now // window_seconds
    who = subject if subject is not None else request.remote_addr or "unknown"
    key = f"{_prefix()}ratelimit:{scope}:{who}:{window}"
    try:
        connection = redis_connection(current_app.config.get("REDIS_URL", ""))
        pipe = connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, window_seconds + 5)
        count = pipe.execute()[0]
    except RedisError:
        log.warning("rate limit not applied: Redis unavailable", exc_info=True)
        return None
    if count > limit:
        return (window + 1) * window_seconds - now
    return None


def too_many_requests_message() -> str:
    return _("Too many requests, try again in a minute.")


def rate_limited(scope: str, *, json: bool = False):
    """Limit a view to ``VERIFY_RATE_LIMIT`` requests a minute per client address.

    Over the limit, an HTML view raises 429 (``app.errors`` renders the page); a JSON view answers in JSON. Both
    carry ``Retry-After``.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            retry_after = hit(scope)
            if retry_after is None:
                return view(*args, **kwargs)
            if json:
                response = jsonify(error="too_many_requests", message=too_many_requests_message())
                response.status_code = 429
                response.headers["Retry-After"] = str(retry_after)
                return response
            raise TooManyRequests(retry_after=retry_after)

        return wrapped

    return decorator
