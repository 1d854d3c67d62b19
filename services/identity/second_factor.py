"""The staff second factor: a TOTP authenticator (RFC 6238, pyotp) with ten one-time recovery codes.

Clerks (leads are clerks), supervisors and administrators must use it when ``SECOND_FACTOR_REQUIRED`` is on (the
default in production; off for the demo so that the demo accounts sign in with a password alone). Anyone who has
enrolled is asked for a code whatever the setting. An administrator can remove a person's second factor (a lost
phone); that is audited, and the person enrols again at their next sign-in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.audit.chain import AuditKind, record
from services.audit.models import AuditEntry
from services.db import utcnow
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.identity.models import Account, RecoveryCode, Role

STAFF_ROLES = frozenset({Role.CLERK, Role.SUPERVISOR, Role.ADMIN})
RECOVERY_CODES = 10
MAX_FAILURES = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
ISSUER = "OneWindow"


def required_for(account: Account, settings) -> bool:
    return bool(settings.get("SECOND_FACTOR_REQUIRED")) and account.role in STAFF_ROLES


def asks_for_code(account: Account, settings) -> bool:
    """Whether sign-in needs a second step for ``account`` (a code, or enrolment first)."""
    return account.totp_secret is not None or required_for(account, settings)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(account: Account, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=ISSUER)


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (this one or the one before or after, for a slow typist or a clock a little off) whose code
    is ``code``, or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def enrol(session: Session, account: Account, *, secret: str, code: str) -> list[str]:
    """Confirm enrolment with a code from the app; return the recovery codes (shown once, stored hashed)."""
    if account.totp_secret is not None:
        raise ValidationFailed("already_enrolled")
    step = _matching_step(secret, code)
    if step is None:
        raise ValidationFailed("code_wrong")
    account.totp_secret = secret
    account.totp_last_step = step
    codes = ["-".join(secrets.token_hex(2) for _ in range(3)) for _ in range(RECOVERY_CODES)]
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    session.add_all(RecoveryCode(account_id=account.id, code_hash=_code_hash(c)) for c in codes)
    record(session, AuditKind.SECOND_FACTOR_ENROLLED, actor_id=account.id, subject_id=account.id)
    return codes


def recent_failures(session: Session, account: Account) -> int:
    """Wrong codes for ``account`` in the last LOCK_WINDOW, counted from the audit trail (on the server, so a copy of
    an older cookie cannot reset the count)."""
    return session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.subject_id == account.id, AuditEntry.kind == AuditKind.SECOND_FACTOR_FAILED.value,
        AuditEntry.at > utcnow() - LOCK_WINDOW))


def check(session: Session, account: Account, code: str) -> bool:
    """Whether ``code`` (from the app, or an unused recovery code) proves the second factor. An app code is
    accepted once; a failure is audited. After MAX_FAILURES wrong codes in LOCK_WINDOW no code is checked until the
    window has passed (a six-digit code must not be guessable by trying): raises PermissionDenied("codes_locked")."""
    # "of": the account row only (PostgreSQL refuses FOR UPDATE on the outer-joined agency).
    account = session.get(Account, account.id, with_for_update={"of": Account}, populate_existing=True)
    if recent_failures(session, account) >= MAX_FAILURES:
        raise PermissionDenied("codes_locked")
    if account.totp_secret is not None:
        step = _matching_step(account.totp_secret, code)
        if step is not None and (account.totp_last_step is None or step > account.totp_last_step):
            account.totp_last_step = step
            return True
        recovery = session.scalar(select(RecoveryCode).where(
            RecoveryCode.account_id == account.id, RecoveryCode.code_hash == _code_hash(code),
            RecoveryCode.used_at.is_(None)))
        if recovery is not None:
            recovery.used_at = utcnow()
            return True
    record(session, AuditKind.SECOND_FACTOR_FAILED, subject_id=account.id)
    return False


def recovery_codes_left(session: Session, account: Account) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(RecoveryCode.account_id == account.id,
                                                             RecoveryCode.used_at.is_(None))).all())


def reset(session: Session, admin: Account, account_id: int, *, reason: str) -> Account:
    """An administrator removes a person's second factor (lost phone); audited with the reason."""
    if admin.role != Role.ADMIN:
        raise PermissionDenied("admin_only")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required")
    if len(reason) > 500:
        raise ValidationFailed("reason_too_long")
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account")
    account.totp_secret = None
    account.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    record(session, AuditKind.ADMIN_ACTION, actor_id=admin.id, subject_id=account.id,
           action="reset_second_factor", reason=reason)
    return account


def staff_accounts(session: Session, admin: Account) -> list[Account]:
    if admin.role != Role.ADMIN:
        raise PermissionDenied("admin_only")
    return list(session.scalars(select(Account).where(Account.role.in_(STAFF_ROLES)).order_by(Account.email)))
