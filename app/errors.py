"""Error pages in the reader's language; domain errors mapped to their status codes."""

from __future__ import annotations

import logging

from flask import g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from services.errors import DomainError

log = logging.getLogger(__name__)
PAGES = {400: "errors/400.html", 403: "errors/403.html", 404: "errors/404.html", 429: "errors/429.html",
         500: "errors/500.html"}


def _page(status: int, **context):
    g.rollback = True
    template = PAGES.get(status) or PAGES[400 if status < 500 else 500]
    return render_template(template, status=status, **context), status


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _page(400, csrf=True)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return _page(exc.status if exc.status in PAGES else 400)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code in (405, 413):
            return _page(400, too_large=exc.code == 413)
        if exc.code == 429:
            if exc.response is not None:  # a JSON view's own refusal (app/ratelimit.py)
                g.rollback = True
                return exc.response
            body, status = _page(429)
            retry_after = getattr(exc, "retry_after", None)
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return body, status, headers
        if exc.code in PAGES:
            return _page(exc.code)
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return _page(500)
