"""Accounts: password hashing (argon2id), sign-in, and who may act for which enterprise."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.identity.models import Account, Enterprise

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Verifying against a fixed hash when the email is unknown keeps sign-in time the same for known and unknown emails.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """The active account with this email and password, or None."""
    account = session.scalar(select(Account).where(func.lower(Account.email) == email.strip().lower()))
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or not account.is_active:
        return None
    return account


def enterprises_of(session: Session, account: Account, bundle_code: str | None = None) -> list[Enterprise]:
    """Enterprises this account may act for now: those it is the legal representative of, and those whose valid
    mandate (not revoked, not expired) it holds; with ``bundle_code``, only mandates that cover that service."""
    from services.identity.mandates import enterprise_access

    return [access.enterprise for access in enterprise_access(session, account)
            if access.is_representative or access.mandate.covers(bundle_code)]
