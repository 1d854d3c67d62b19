"""Sessions kept on the server: the browser's cookie holds only a random token, the row holds the rest.

A copy of a cookie taken before sign-out must open nothing afterwards, and a session left open on a shared computer
must end by itself. So each session is a row that sign-out deletes, and it ends when idle too long (staff sooner than
residents: they open other people's data) or at the latest :data:`ABSOLUTE_LIFETIME` after it began.

The row's key is the SHA-256 of the token, not the token: someone who reads the table (a backup, a replica) cannot
use the rows to sign in as anyone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import JSON, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.db import Base, UTCDateTime, utcnow
from services.identity.models import Account, Role

ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
STAFF_IDLE = dt.timedelta(minutes=30)
RESIDENT_IDLE = dt.timedelta(hours=2)
ANONYMOUS_IDLE = dt.timedelta(hours=2)  # a visitor's session holds only a CSRF token and messages
# A session's last use is written at most this often: the idle timeout is exact to this, and a reader clicking
# through pages does not write a row on every click.
TOUCH_EVERY = dt.timedelta(seconds=60)
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{40,60}$")


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 (hex) of the cookie's token
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The earlier of the idle end and the absolute end, recomputed on every touch: one indexed comparison decides
    # whether a session is alive, and the sweep deletes by it.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    user_agent: Mapped[str | None] = mapped_column(String(200))


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str | None) -> bool:
    return bool(token) and _TOKEN_SHAPE.match(token) is not None


def idle_timeout(role: Role | None) -> dt.timedelta:
    if role is None:
        return ANONYMOUS_IDLE
    return RESIDENT_IDLE if role == Role.RESIDENT else STAFF_IDLE


def expiry(created_at: dt.datetime, last_seen_at: dt.datetime, role: Role | None) -> dt.datetime:
    return min(last_seen_at + idle_timeout(role), created_at + ABSOLUTE_LIFETIME)


def live_session(session: Session, token: str | None, now: dt.datetime | None = None) -> WebSession | None:
    """The session this cookie token opens, or None (unknown, malformed, signed out, idle too long or too old)."""
    if not well_formed(token):
        return None
    row = session.get(WebSession, token_id(token))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row


def store(session: Session, token: str, data: dict, *, role: Role | None, user_agent: str | None,
          created_at: dt.datetime | None = None, existing: bool = False) -> WebSession | None:
    """Write the session for ``token`` (new or changed), marking it used now.

    With ``existing``, only a row that is still there is written (None otherwise): a request that began before
    the session was ended (signed out in another tab, "sign out everywhere") must not bring it back.
    """
    now = utcnow()
    row = session.get(WebSession, token_id(token))
    if row is None and existing:
        return None
    if row is None:
        row = WebSession(id=token_id(token), created_at=created_at or now, user_agent=(user_agent or "")[:200])
        session.add(row)
    row.data = dict(data)
    row.account_id = data.get("account_id")
    row.last_seen_at = now
    row.expires_at = expiry(row.created_at, now, role)
    return row


def touch_due(last_seen_at: dt.datetime | None) -> bool:
    return last_seen_at is None or utcnow() - last_seen_at >= TOUCH_EVERY


def touch(session: Session, token: str, role: Role | None) -> None:
    """Mark an unchanged session used now, if it was last marked more than :data:`TOUCH_EVERY` ago."""
    row = session.get(WebSession, token_id(token))
    now = utcnow()
    if row is not None and touch_due(row.last_seen_at):
        row.last_seen_at = now
        row.expires_at = expiry(row.created_at, now, role)


def end(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == token_id(token)))


def active_sessions(session: Session, account: Account) -> list[WebSession]:
    """The account's own live sessions, newest use first (nobody can list another person's)."""
    return list(session.scalars(select(WebSession).where(WebSession.account_id == account.id,
                                                         WebSession.expires_at > utcnow())
                                .order_by(WebSession.last_seen_at.desc())))


def end_all_sessions(session: Session, account: Account) -> int:
    """End every session of ``account`` (on every device); returns how many were live."""
    live = len(active_sessions(session, account))
    session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    return live


def sweep_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Delete sessions past their end (they already open nothing; this only keeps the table small)."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))
    return result.rowcount or 0
