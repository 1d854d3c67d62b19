"""Weakness 3: wrong passwords were each checked without limit. Now failures per account and per address lock
sign-in for a growing time, and while locked no password is checked."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.auth.throttle import ACCOUNT, ADDRESS, lock_seconds
from tests.conftest import DEMO_PASSWORD, hidden_fields

RESIDENT = "resident@demo.onewindow.test"


@pytest.fixture
def verifications(monkeypatch):
    """How many argon2 verifications (password checks) the server runs: the real hasher, counted."""
    calls = []
    real = PasswordHasher.verify

    def counted(self, hash_, password):
        calls.append(1)
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return calls


def _attempt(client, email: str, password: str, address: str = "127.0.0.1", lang: str = "en"):
    page = client.get("/auth/sign-in", environ_base={"REMOTE_ADDR": address})
    data = hidden_fields(page.get_data(as_text=True))
    data.update(email=email, password=password)
    return client.post(f"/auth/sign-in?lang={lang}", data=data, environ_base={"REMOTE_ADDR": address})


def test_the_lock_grows_with_each_failure_to_a_ceiling():
    assert [lock_seconds(ACCOUNT, n) for n in range(1, 9)] == [0, 0, 0, 0, 30, 60, 120, 240]
    assert lock_seconds(ACCOUNT, 30) == 15 * 60
    assert lock_seconds(ADDRESS, 19) == 0 and lock_seconds(ADDRESS, 20) == 30 and lock_seconds(ADDRESS, 40) == 3600


def test_wrong_passwords_lock_the_account_and_are_then_not_checked(client, verifications):
    for _ in range(4):
        assert _attempt(client, RESIDENT, "wrong password").status_code == 400
    fifth = _attempt(client, RESIDENT, "wrong password")
    assert fifth.status_code == 400  # the fifth is still checked, and starts a 30-second lock
    checked = len(verifications)
    assert checked == 5
    for password in ("wrong again", DEMO_PASSWORD):  # locked: not even the right password is checked
        locked = _attempt(client, RESIDENT, password)
        assert locked.status_code == 429
        assert 25 <= int(locked.headers["Retry-After"]) <= 31
        html = locked.get_data(as_text=True)
        assert "Too many failed sign-ins. For your safety, sign-in is paused: try again in 1 minute (after" in html
        assert 'class="error-summary"' in html
    assert len(verifications) == checked
    assert client.get("/me/").status_code == 302  # still signed out
    # Chinese readers get the message in Chinese.
    assert "登录失败次数过多" in _attempt(client, RESIDENT, "x", lang="zh_Hans_CN").get_data(as_text=True)


def test_an_unknown_account_is_answered_exactly_like_a_known_one(client, verifications):
    answers = {}
    for email in (RESIDENT, "nobody-here@demo.onewindow.test"):
        for _ in range(5):
            _attempt(client, email, "wrong password")
        locked = _attempt(client, email, "wrong password")
        answers[email] = (locked.status_code, locked.get_data(as_text=True).replace(email, "EMAIL"))
    (known_status, known_html), (unknown_status, unknown_html) = answers.values()
    assert known_status == unknown_status == 429
    # The pages differ at most in the time to try again (a second may tick between them).
    assert known_html.split("try again in")[0] == unknown_html.split("try again in")[0]


def test_other_accounts_and_addresses_are_not_locked_by_one_accounts_failures(client, verifications):
    for _ in range(6):
        _attempt(client, RESIDENT, "wrong password", address="10.0.0.7")
    assert _attempt(client, "resident2@demo.onewindow.test", DEMO_PASSWORD, address="10.0.0.7").status_code == 302


def test_one_address_guessing_many_accounts_is_locked(client, verifications):
    for n in range(20):
        assert _attempt(client, f"guess{n}@demo.onewindow.test", "wrong", address="10.0.0.9").status_code == 400
    checked = len(verifications)
    locked = _attempt(client, "resident2@demo.onewindow.test", DEMO_PASSWORD, address="10.0.0.9")
    assert locked.status_code == 429 and len(verifications) == checked
    # The same account from another address signs in: the address was locked, not the account.
    assert _attempt(client, "resident2@demo.onewindow.test", DEMO_PASSWORD, address="10.0.0.10").status_code == 302


def test_a_successful_sign_in_clears_the_accounts_count(client, verifications):
    for _ in range(4):
        _attempt(client, RESIDENT, "wrong password")
    assert _attempt(client, RESIDENT, DEMO_PASSWORD).status_code == 302
    client.post("/auth/sign-out", data=hidden_fields(client.get("/me/").get_data(as_text=True)))
    for _ in range(4):
        assert _attempt(client, RESIDENT, "wrong password").status_code == 400  # four more free failures


def test_sign_in_posts_per_address_are_limited_by_flask_limiter(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "3/minute")
    for _ in range(3):
        assert _attempt(client, RESIDENT, "wrong", address="10.0.0.11").status_code == 400
    refused = _attempt(client, RESIDENT, DEMO_PASSWORD, address="10.0.0.11")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "Too many requests, try again in a minute." in refused.get_data(as_text=True)
    # Reading the sign-in page is not limited.
    assert client.get("/auth/sign-in", environ_base={"REMOTE_ADDR": "10.0.0.11"}).status_code == 200
