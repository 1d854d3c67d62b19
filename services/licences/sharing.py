"""Share links: a holder lets a third party (a bank, a landlord) see one licence's verification page for a while.

The token is 256 random bits; only its SHA-256 is stored, so the link is shown to the holder once and a copy of the
database opens nothing. Each opening is logged with coarse client facts that the holder sees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.db import utcnow
from services.errors import InvalidTransition, NotFound, ValidationFailed
from services.identity.models import Account
from services.licences.models import Licence, ShareLink, ShareLinkUse
from services.licences.service import licence_for_holder

DURATIONS_DAYS = (1, 7, 30)
NOTE_MAX = 100
TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def create_share_link(session: Session, holder: Account, number: str, *, days: int, note: str = "",
                      command_id: str, now: dt.datetime | None = None) -> tuple[ShareLink, str | None]:
    """Create a link to a licence the account holds; return ``(link, token)``.

    The token is returned only when the link is made: the same command sent again returns the existing link and
    None (its token cannot be recovered from the stored hash)."""
    licence = licence_for_holder(session, holder, number)
    if days not in DURATIONS_DAYS:
        raise ValidationFailed("share_duration")
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX:
        raise ValidationFailed("note_too_long")
    if not command_id or len(command_id) > 64:
        raise ValidationFailed("command_id")
    existing = session.scalar(select(ShareLink).where(ShareLink.command_id == command_id))
    if existing is not None:
        if existing.created_by_id != holder.id or existing.licence_id != licence.id:
            raise InvalidTransition("command_reused")
        return existing, None
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink(licence_id=licence.id, created_by_id=holder.id, token_sha256=_digest(token),
                     command_id=command_id, note=note, created_at=now, expires_at=now + dt.timedelta(days=days))
    session.add(link)
    session.flush()
    return link, token


def share_links_of(session: Session, holder: Account, licence: Licence) -> list[ShareLink]:
    """Every link to ``licence`` (which the caller got through :func:`licence_for_holder`), newest first, with its
    uses."""
    return list(session.scalars(select(ShareLink).where(ShareLink.licence_id == licence.id)
                                .options(selectinload(ShareLink.uses)).order_by(ShareLink.id.desc())))


def revoke_share_link(session: Session, holder: Account, number: str, link_id: int,
                      now: dt.datetime | None = None) -> ShareLink:
    """Withdraw a link to a licence the account holds; revoking twice changes nothing."""
    licence = licence_for_holder(session, holder, number)
    link = session.get(ShareLink, link_id)
    if link is None or link.licence_id != licence.id:
        raise NotFound("share_link")
    if link.revoked_at is None:
        link.revoked_at = now or utcnow()
        session.flush()
    return link


def link_state(link: ShareLink, now: dt.datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= (now or utcnow()) else "active"


def open_share_link(session: Session, token: str, *, user_agent: str = "", remote_addr: str | None = None,
                    now: dt.datetime | None = None) -> ShareLink | None:
    """The link a token opens, its use logged; None for an unknown, expired or withdrawn link (all three look
    the same to the visitor, so a token cannot be probed)."""
    if not token or not _TOKEN_SHAPE.match(token):
        return None
    now = now or utcnow()
    link = session.scalar(select(ShareLink).where(ShareLink.token_sha256 == _digest(token)))
    if link is None or link_state(link, now) != "active":
        return None
    session.add(ShareLinkUse(link_id=link.id, at=now, client=coarse_client(user_agent),
                             network=coarse_network(remote_addr)))
    session.flush()
    return link


# --- Coarse client facts -----------------------------------------------------------------------------------------

# Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", WeChat's browser says both.
_BROWSERS = (("MicroMessenger", "WeChat"), ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"), ("python-requests", "Python"))
_SYSTEMS = (("HarmonyOS", "HarmonyOS"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def coarse_client(user_agent: str | None) -> str:
    """``Chrome on Android``: the browser and system families, never versions or device names."""
    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in agent), "")
    if browser and system:
        return f"{browser} / {system}"
    return browser or system or "unknown"


def coarse_network(address: str | None) -> str:
    """The network, not the machine: an IPv4 address's first three bytes (/24), an IPv6 address's /48."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
