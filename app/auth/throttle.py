"""Failed sign-ins slow down the next ones: per account and per client address, a growing lock.

Every wrong password costs the server one argon2id verification (64 MiB, about half a second), so a guesser is both
a threat to an account and a lever on the server. After a few free failures each further failure locks the account
name (and, counted separately, the address) for twice as long as the last time, up to a ceiling. While locked,
sign-in answers at once, without checking any password, with the time to try again.

The account is counted by the e-mail address as typed (normalised), whether or not an account has it: an unknown
address is throttled and answered exactly like a known one, so the answers say nothing about who has an account.
A successful sign-in clears the account's count but not the address's: otherwise a guesser could reset their
address's count by signing in to an account of their own between guesses.

The counters live in the app's flask-limiter storage (Redis when configured, so every process shares them; memory
otherwise). If Redis is down, sign-in goes on unthrottled, logged, as the verification limits do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import time
from dataclasses import dataclass

from flask import current_app

from app.ratelimit import current_limiter, key_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    kind: str
    free_failures: int  # failures before the first lock
    first_lock: int  # seconds
    longest_lock: int  # seconds
    window: int  # seconds a run of failures is remembered


ACCOUNT = Policy("account", free_failures=5, first_lock=30, longest_lock=15 * 60, window=24 * 3600)
ADDRESS = Policy("address", free_failures=20, first_lock=30, longest_lock=60 * 60, window=24 * 3600)


def lock_seconds(policy: Policy, failures: int) -> int:
    """How long the ``failures``-th failure in a row locks: nothing for the free ones, then doubling to a ceiling."""
    if failures < policy.free_failures:
        return 0
    return min(policy.first_lock * 2 ** (failures - policy.free_failures), policy.longest_lock)


def _subjects(email: str, address: str | None) -> list[tuple[Policy, str]]:
    # The address is hashed only to keep keys short; the e-mail so that Redis holds no list of addresses tried.
    account_key = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:32]
    return [(ACCOUNT, account_key), (ADDRESS, address or "unknown")]


def _key(policy: Policy, subject: str, what: str) -> str:
    return f"{key_prefix()}sign-in:{policy.kind}:{what}:{subject}"


def _switched_off() -> bool:
    return not current_app.config.get("SIGN_IN_THROTTLE", True)


def locked_until(email: str, address: str | None) -> dt.datetime | None:
    """When sign-in for this e-mail address from this client may be tried again, or None if it may be now."""
    if _switched_off():
        return None
    storage = current_limiter().storage
    latest = None
    try:
        for policy, subject in _subjects(email, address):
            key = _key(policy, subject, "lock")
            if storage.get(key) > 0:
                ends = storage.get_expiry(key)
                latest = ends if latest is None else max(latest, ends)
    except Exception:  # noqa: BLE001 - whatever the storage raises (Redis down), sign-in must still work
        log.warning("sign-in throttle not applied: rate-limit storage unavailable", exc_info=True)
        return None
    if latest is None or latest <= time.time():
        return None
    return dt.datetime.fromtimestamp(math.ceil(latest), dt.UTC)


def record_failure(email: str, address: str | None) -> None:
    """Count a failed sign-in against the account name and the address, and lock them when their turn comes."""
    if _switched_off():
        return
    storage = current_limiter().storage
    try:
        for policy, subject in _subjects(email, address):
            failures = storage.incr(_key(policy, subject, "failures"), policy.window)
            seconds = lock_seconds(policy, failures)
            if seconds:
                lock = _key(policy, subject, "lock")
                storage.clear(lock)
                storage.incr(lock, seconds)
    except Exception:  # noqa: BLE001
        log.warning("sign-in failure not counted: rate-limit storage unavailable", exc_info=True)


def record_success(email: str) -> None:
    if _switched_off():
        return
    try:
        policy, subject = _subjects(email, None)[0]
        current_limiter().storage.clear(_key(policy, subject, "failures"))
    except Exception:  # noqa: BLE001
        log.warning("sign-in count not cleared: rate-limit storage unavailable", exc_info=True)
