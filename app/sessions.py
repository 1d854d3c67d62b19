"""Flask's ``session`` kept on the server (services/identity/sessions.py); the cookie carries only a random token.

Reading happens through the request's database session (one primary-key look-up, before any view runs). Writing
happens in a transaction of its own when the response is saved: that is after the request's own commit, and it also
covers error pages (a form shown again with status 400 still needs its CSRF token kept).
"""

from __future__ import annotations

from flask import g
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from services.identity import sessions as store
from services.identity.models import Account


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, token: str | None = None, created_at=None, last_seen_at=None):
        def on_update(_self):
            _self.modified = True
            _self.accessed = True

        super().__init__(initial, on_update)
        self.token = token
        self.created_at = created_at
        self.last_seen_at = last_seen_at
        self.new = token is None
        self.modified = False
        self.accessed = False
        self.ended_tokens: list[str] = []

    def regenerate(self) -> None:
        """Give this session a new token and end the old one, so a token seen before is worth nothing after (sign-in,
        sign-out, switching whom one acts for)."""
        if self.token:
            self.ended_tokens.append(self.token)
        self.token = None
        self.created_at = None
        self.modified = True


class _StaticSession(ServerSession):
    """Static files never need a session: no look-up, nothing saved."""


class ServerSessionInterface(SessionInterface):
    def open_session(self, app, request):
        if request.path.startswith((app.static_url_path or "/static") + "/"):
            return _StaticSession()
        from app import db_session

        token = request.cookies.get(self.get_cookie_name(app))
        row = store.live_session(db_session(), token)
        if row is None:
            return ServerSession()
        return ServerSession(dict(row.data or {}), token=token, created_at=row.created_at,
                             last_seen_at=row.last_seen_at)

    def is_null_session(self, obj) -> bool:
        return isinstance(obj, _StaticSession)

    def save_session(self, app, session: ServerSession, response) -> None:
        from flask import request

        name, domain, path = self.get_cookie_name(app), self.get_cookie_domain(app), self.get_cookie_path(app)
        to_end = list(session.ended_tokens)
        if not session:
            # Emptied (signed out) or never used: nothing to keep, and no cookie to send.
            if session.token:
                to_end.append(session.token)
            if to_end:
                with app.extensions["onewindow_db"].transaction() as db:
                    for token in to_end:
                        store.end(db, token)
                response.delete_cookie(name, domain=domain, path=path)
            return
        writing = session.token is None or session.modified
        if not writing and not store.touch_due(session.last_seen_at):
            return  # the common case: a page read inside the minute, no write at all
        with app.extensions["onewindow_db"].transaction() as db:
            for token in to_end:
                store.end(db, token)
            role = self._role(db, session.get("account_id"))
            if not writing:
                store.touch(db, session.token, role)
                return
            existing = session.token is not None
            if not existing:
                session.token = store.new_token()
            row = store.store(db, session.token, dict(session), role=role, existing=existing,
                              user_agent=request.headers.get("User-Agent", ""), created_at=session.created_at)
            if row is None:  # ended while this request ran: it stays ended
                response.delete_cookie(name, domain=domain, path=path)
                return
            created_at = row.created_at
        # A browser-session cookie that also lapses at the absolute end; the server decides the real end.
        response.set_cookie(name, session.token, expires=created_at + store.ABSOLUTE_LIFETIME,
                            httponly=self.get_cookie_httponly(app), domain=domain, path=path,
                            secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app))
        response.vary.add("Cookie")

    @staticmethod
    def _role(db, account_id):
        if account_id is None:
            return None
        account = g.get("account")
        if account is not None and account.id == account_id:
            return account.role
        found = db.get(Account, account_id)
        return found.role if found is not None else None
