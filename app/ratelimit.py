"""Rate limits per client address with flask-limiter: counters in Redis when ``REDIS_URL`` is set (shared by every
process), in this process's memory otherwise (the embedded default, one process).

Public verification and share links need no sign-in, so they are what a scraper would hammer; sign-in is what a
password guesser would. A Redis outage lets requests through (logged by flask-limiter): staying up matters more
than the limit.

Keys carry the app's own prefix (``RATELIMIT_PREFIX``, by default the rq queue prefix), read on every request, so that
several apps can share one Redis (test runs in parallel, staging next to production).

Behind a reverse proxy ``request.remote_addr`` would be the proxy's address and every client would share one budget:
set ``TRUSTED_PROXIES`` to the number of proxies in front of the app and ``create_app`` wraps it in werkzeug's
``ProxyFix``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, jsonify, make_response, render_template, request
from flask_limiter import Limiter
from limits import RateLimitItemPerSecond

from app.i18n import _

log = logging.getLogger(__name__)
DEFAULT_LIMIT = 60  # verification requests per minute and client
DEFAULT_SIGN_IN_LIMIT = "30/minute"  # sign-in posts per client address: a flood guard; app/auth/throttle.py does more


def key_prefix() -> str:
    config = current_app.config
    return config.get("RATELIMIT_PREFIX") or config.get("RQ_QUEUE_PREFIX", "")


def client_address() -> str:
    return f"{key_prefix()}{request.remote_addr or 'unknown'}"


def init_rate_limits(app) -> None:
    """Give ``app`` its own limiter (a test run builds several apps, each with its own storage) and put the limits
    that views asked for with :func:`rate_limited` on its view functions."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # Not flask-limiter's X-RateLimit-* headers: they would put the window's Retry-After on every answer, over the
    # sign-in lock's own (app/auth/throttle.py); a refusal sets its Retry-After itself.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "onewindow")
    limiter = Limiter(key_func=client_address, strategy="fixed-window")
    limiter.init_app(app)
    app.extensions["onewindow_limiter"] = limiter
    for endpoint, view in list(app.view_functions.items()):
        for spec in getattr(view, "rate_limits", ()):
            limited = limiter.shared_limit(spec.limit, scope=spec.scope, methods=spec.methods,
                                           on_breach=_refusal(spec.json),
                                           exempt_when=spec.exempt_when)
            app.view_functions[endpoint] = view = wraps(view)(limited(view))


def current_limiter() -> Limiter:
    return current_app.extensions["onewindow_limiter"]


def too_many_requests_message() -> str:
    return _("Too many requests, try again in a minute.")


def _verify_limit() -> str:
    return f"{int(current_app.config.get('VERIFY_RATE_LIMIT', DEFAULT_LIMIT))}/minute"


def _verify_switched_off() -> bool:
    return int(current_app.config.get("VERIFY_RATE_LIMIT", DEFAULT_LIMIT)) <= 0


def _sign_in_limit() -> str:
    return str(current_app.config.get("SIGN_IN_RATE_LIMIT", DEFAULT_SIGN_IN_LIMIT))


def _refusal(as_json: bool):
    """The answer over a limit: the error page, or JSON for a JSON view, with ``Retry-After`` (the window's end)."""

    def on_breach(request_limit):
        if as_json:
            response = jsonify(error="too_many_requests", message=too_many_requests_message())
        else:
            response = make_response(render_template("errors/429.html", status=429))
        response.status_code = 429
        response.headers["Retry-After"] = str(max(1, math.ceil(request_limit.window[0] - time.time())))
        return response

    return on_breach


@dataclass(frozen=True)
class LimitSpec:
    scope: str
    limit: Callable[[], str]
    json: bool = False
    methods: tuple[str, ...] | None = None
    exempt_when: Callable[[], bool] | None = None


def _mark(view, spec: LimitSpec):
    view.rate_limits = (*getattr(view, "rate_limits", ()), spec)
    return view


def rate_limited(scope: str, *, json: bool = False):
    """Limit a view to ``VERIFY_RATE_LIMIT`` requests a minute per client address, shared by every view of ``scope``.

    Over the limit, an HTML view answers 429 with the error page (``app.errors``); a JSON view answers in JSON. Both
    carry ``Retry-After``. The limit itself is put on by :func:`init_rate_limits`, for each app.
    """
    return lambda view: _mark(view, LimitSpec(scope, _verify_limit, json=json, exempt_when=_verify_switched_off))


def sign_in_rate_limited(view):
    """``SIGN_IN_RATE_LIMIT`` sign-in posts per client address (a flood guard in front of app/auth/throttle.py)."""
    return _mark(view, LimitSpec("sign-in", _sign_in_limit, methods=("POST",)))


def hit(scope: str, *, limit: int | None = None, window_seconds: int = 60, subject: str | None = None) -> int | None:
    """Count this request against ``scope`` by hand (for a limit a decorator cannot express: a per-licence budget,
    a limit on one outcome of a form); return the seconds until the window ends if over the limit, else None.

    By default the budget is ``VERIFY_RATE_LIMIT`` a minute per client address; ``subject`` counts against something
    else instead (a licence number, so that many addresses together cannot exceed it either). The counters live in
    the app's limiter storage (Redis when configured). A storage outage lets requests through (logged).
    """
    if limit is None:
        limit = int(current_app.config.get("VERIFY_RATE_LIMIT", DEFAULT_LIMIT))
    if limit <= 0:
        return None
    item = RateLimitItemPerSecond(limit, window_seconds)
    who = subject if subject is not None else request.remote_addr or "unknown"
    strategy = current_limiter().limiter
    try:
        if strategy.hit(item, key_prefix(), scope, who):
            return None
        reset, _remaining = strategy.get_window_stats(item, key_prefix(), scope, who)
    except Exception:  # noqa: BLE001 - staying up matters more than the limit
        log.warning("rate limit %s not applied: storage unavailable", scope, exc_info=True)
        return None
    return max(1, math.ceil(reset - time.time()))
