"""Accounts: password hashing (argon2id), sign-in, and who may act for which enterprise."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.audit.chain import AuditKind, record
from services.identity.models import Account, Enterprise

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Verifying against a fixed hash when the email is unknown keeps sign-in time the same for known and unknown emails.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(account: Account, password: str) -> bool:
    try:
        return _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """The active account with this email and password, or None."""
    account = session.scalar(select(Account).where(func.lower(Account.email) == email.strip().lower()))
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
        ok = account is not None and account.is_active
    except (VerificationError, InvalidHashError):  # InvalidHashError: invited, no password set yet
        ok = False
    if not ok:
        # The address typed is kept (cut short) so that a run of failures against one account can be seen.
        record(session, AuditKind.SIGN_IN_FAILED, subject_id=account.id if account else None,
               email=email.strip().lower()[:254])
        return None
    return account


def signed_in(session: Session, account: Account, *, second_factor: bool) -> None:
    """Record a completed sign-in (after the second factor, where there is one)."""
    record(session, AuditKind.SIGN_IN, actor_id=account.id, subject_id=account.id,
           second_factor=second_factor or None)


def signed_out(session: Session, account: Account) -> None:
    record(session, AuditKind.SIGN_OUT, actor_id=account.id, subject_id=account.id)


def enterprises_of(session: Session, account: Account, bundle_code: str | None = None) -> list[Enterprise]:
    """Enterprises this account may act for now: those it is the legal representative of, and those whose valid
    mandate (not revoked, not expired) it holds; with ``bundle_code``, only mandates that cover that service."""
    from services.identity.mandates import enterprise_access

    return [access.enterprise for access in enterprise_access(session, account)
            if access.is_representative or access.mandate.covers(bundle_code)]
