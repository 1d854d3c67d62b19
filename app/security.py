"""Who is signed in, what they may open, and the security headers on every response."""

from __future__ import annotations

import re
from functools import wraps
from urllib.parse import quote, urlsplit

from flask import abort, g, redirect, request, session, url_for

from services.identity.models import Account, Role

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


def init_security(app) -> None:
    @app.before_request
    def load_current_account():
        from app import db_session

        g.account = None
        account_id = session.get("account_id")
        if account_id is not None:
            account = db_session().get(Account, account_id)
            if account is not None and account.is_active:
                g.account = account
            else:
                session.clear()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Pages for a signed-in person carry their data, and a download is someone's document: neither may stay in a
        # shared computer's cache or a proxy after the person has gone.
        if g.get("account") is not None or "Content-Disposition" in response.headers:
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    @app.context_processor
    def account_in_templates():
        return {"current_account": g.get("account")}


# Control characters (CR/LF would split the Location header), and the backslash, which browsers read as "/" (so
# "/\\evil.example" would leave the site).
_UNSAFE_IN_NEXT = re.compile("[\x00-\x1f\x7f-\x9f\\\\\u2028\u2029]")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, normalised: an attacker's link must not bounce a reader to another site, nor
    smuggle a header into the redirect; anything doubtful is refused (the caller falls back to a page of its own)."""
    if not target or len(target) > 2000 or _UNSAFE_IN_NEXT.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    # Percent-encode what a Location header may not carry as it is (spaces, Chinese text); the fragment is dropped.
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return path + (f"?{query}" if query else "")


def sign_in(account: Account) -> None:
    session.clear()
    session.regenerate()  # a new session token on sign-in: no session fixation
    session["account_id"] = account.id
    g.account = account


def sign_out() -> None:
    """End this session on the server: its token, and any copy of the cookie, opens nothing any more."""
    session.clear()
    # The old token's row is deleted when the response is saved (app/sessions.py); a message shown after sign-out
    # lives in a new visitor's session under a new token.
    session.regenerate()
    g.account = None


def current_account() -> Account | None:
    return g.get("account")


def login_required(*roles: Role):
    """Require a signed-in account (of one of ``roles`` when given); others are sent to sign in, or get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            account = current_account()
            if account is None:
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            if roles and account.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def home_for(account: Account) -> str:
    if account.role == Role.CLERK:
        return url_for("clerk.queue")
    if account.role == Role.SUPERVISOR:
        return url_for("supervision.index")
    if account.role == Role.ADMIN:
        return url_for("supervision.dashboard")
    return url_for("portal.home")
