"""Passwords: the rules a new one must meet, single-use links to set one (an invitation) or reset one (by e-mail),
and changing one while signed in.

A link's token is HMAC(secret key, salt) and only its SHA-256 is stored, so the database alone gives no working
link; the e-mail job rebuilds the link from the salt when it sends (``services.notifications.mail``). A link works
once, for 30 minutes (a reset) or 7 days (an invitation), and a new reset link cancels the older ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.audit.chain import AuditKind, record
from services.db import utcnow
from services.errors import PermissionDenied, ValidationFailed
from services.identity.models import Account, PasswordToken, Role
from services.identity.service import hash_password, verify_password
from services.notifications.mail import LINK_PLACEHOLDER, queue_mail

MIN_LENGTH = 12
MAX_LENGTH = 200
RESET_LIFETIME = dt.timedelta(minutes=30)
INVITE_LIFETIME = dt.timedelta(days=7)
RESETS_PER_HOUR = 3  # more requests in an hour send nothing more (the page says the same either way)
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why ``password`` may not be used (a message code), or None."""
    if len(password) < MIN_LENGTH:
        return "password_too_short"
    if len(password) > MAX_LENGTH:
        return "password_too_long"
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return "password_too_common"
    if email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        return "password_contains_email"
    return None


def _token_for(secret_key: str, salt: str) -> str:
    digest = hmac.new(secret_key.encode(), b"password-link:" + salt.encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).decode().rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(session: Session, account: Account, purpose: str, secret_key: str, lifetime: dt.timedelta
               ) -> tuple[PasswordToken, str]:
    salt = secrets.token_hex(16)
    token = _token_for(secret_key, salt)
    now = utcnow()
    row = PasswordToken(account_id=account.id, purpose=purpose, salt=salt, token_hash=_hash(token),
                        created_at=now, expires_at=now + lifetime)
    session.add(row)
    session.flush()
    return row, token


def link_for_token(session: Session, settings, token_id: int) -> str:
    row = session.get(PasswordToken, token_id)
    return f"{settings['PUBLIC_URL'].rstrip('/')}/auth/password/{_token_for(settings['SECRET_KEY'], row.salt)}"


Compose = Callable[[Account], tuple[str, str]]  # the account -> (subject, body with {link}), in the reader's language


def request_reset(session: Session, settings, email: str, compose: Compose) -> None:
    """E-mail a reset link to the active account with this address, if there is one. Says nothing either way, so the
    form cannot be used to find out who has an account."""
    account = session.scalar(select(Account).where(func.lower(Account.email) == email.strip().lower()))
    if account is None or not account.is_active:
        return
    recent = session.scalar(select(func.count(PasswordToken.id)).where(
        PasswordToken.account_id == account.id, PasswordToken.purpose == "reset",
        PasswordToken.created_at > utcnow() - dt.timedelta(hours=1)))
    if recent >= RESETS_PER_HOUR:
        return
    # Only the newest link works: an older one left in a mailbox is dead.
    session.execute(update(PasswordToken).where(PasswordToken.account_id == account.id,
                                                PasswordToken.used_at.is_(None)).values(used_at=utcnow()))
    row, _token = _new_token(session, account, "reset", settings["SECRET_KEY"], RESET_LIFETIME)
    subject, body = compose(account)
    if LINK_PLACEHOLDER not in body:
        raise ValueError("the reset e-mail's body must contain {link}")
    queue_mail(session, account.email, subject, body, password_token_id=row.id)
    record(session, AuditKind.PASSWORD_RESET_REQUESTED, subject_id=account.id)


def invite(session: Session, admin: Account, settings, *, email: str, name: str, role: Role,
           agency_id: int | None, is_lead: bool, compose: Compose) -> Account:
    """An administrator creates a staff account; the person sets their own password through an e-mailed link."""
    if admin.role != Role.ADMIN:
        raise PermissionDenied("admin_only")
    if role == Role.RESIDENT:
        raise ValidationFailed("invite_staff_only")
    if role == Role.CLERK and agency_id is None:
        raise ValidationFailed("agency_required")
    if session.scalar(select(Account.id).where(func.lower(Account.email) == email.strip().lower())):
        raise ValidationFailed("email_taken")
    # "!" is no argon2 hash: nobody can sign in with a password until the link sets one.
    account = Account(email=email.strip().lower(), password_hash="!", role=role, name=name.strip(),
                      agency_id=agency_id, is_lead=is_lead, is_active=True)
    session.add(account)
    session.flush()
    row, _token = _new_token(session, account, "invite", settings["SECRET_KEY"], INVITE_LIFETIME)
    subject, body = compose(account)
    queue_mail(session, account.email, subject, body, password_token_id=row.id)
    record(session, AuditKind.ADMIN_ACTION, actor_id=admin.id, subject_id=account.id, action="invite",
           role=str(role))
    return account


def token_row(session: Session, token: str) -> PasswordToken:
    """The unused, unexpired link for ``token``; refuses anything else with one message (never which it was)."""
    row = session.scalar(select(PasswordToken).where(PasswordToken.token_hash == _hash(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise ValidationFailed("link_not_valid")
    return row


def set_password_with_link(session: Session, token: str, new_password: str) -> Account:
    """Set the password through an invitation or reset link; the link (and any other open one) is then used up."""
    row = session.get(PasswordToken, token_row(session, token).id, with_for_update=True, populate_existing=True)
    if row.used_at is not None:  # a twin request used it while this one waited for the lock
        raise ValidationFailed("link_not_valid")
    account = session.get(Account, row.account_id)
    problem = password_problem(new_password, account.email)
    if problem:
        raise ValidationFailed(problem)
    account.password_hash = hash_password(new_password)
    session.execute(update(PasswordToken).where(PasswordToken.account_id == account.id,
                                                PasswordToken.used_at.is_(None)).values(used_at=utcnow()))
    record(session, AuditKind.PASSWORD_SET, actor_id=account.id, subject_id=account.id, via=row.purpose)
    return account


def change_password(session: Session, account: Account, *, current: str, new: str) -> None:
    """Change the signed-in person's password; the current one must be given."""
    if not verify_password(account, current):
        raise ValidationFailed("current_password_wrong")
    problem = password_problem(new, account.email)
    if problem:
        raise ValidationFailed(problem)
    account.password_hash = hash_password(new)
    record(session, AuditKind.PASSWORD_SET, actor_id=account.id, subject_id=account.id, via="change")
