"""Sign-in and sign-out through the real pages."""

from __future__ import annotations

from sqlalchemy import select

from services.identity.models import Account
from tests.conftest import hidden_fields


def _sign_in_form(client):
    return hidden_fields(client.get("/auth/sign-in").get_data(as_text=True))


def test_wrong_password_shows_error_summary_and_changes_nothing(client):
    data = _sign_in_form(client)
    data.update(email="owner@demo.onewindow.test", password="wrong")
    response = client.post("/auth/sign-in?lang=en", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html and 'href="#email"' in html
    assert "The email address or password is not correct" in html
    assert client.get("/me/").status_code == 302  # still signed out


def test_empty_form_lists_every_missing_field(client):
    response = client.post("/auth/sign-in?lang=en", data=_sign_in_form(client))
    html = response.get_data(as_text=True)
    assert 'href="#email"' in html and 'href="#password"' in html
    assert "Enter your email address." in html and "Enter your password." in html


def test_sign_in_takes_each_role_home_and_sign_out_ends_the_session(client):
    data = _sign_in_form(client)
    data.update(email="OWNER@demo.onewindow.test ", password="OneWindow-demo-2026")
    assert client.post("/auth/sign-in", data=data).headers["Location"] == "/me/"
    client.post("/auth/sign-out", data=hidden_fields(client.get("/me/").get_data(as_text=True)))
    assert client.get("/me/").status_code == 302
    data = _sign_in_form(client)
    data.update(email="clerk.fire@demo.onewindow.test", password="OneWindow-demo-2026")
    assert client.post("/auth/sign-in", data=data).headers["Location"] == "/work/"


def test_next_only_goes_to_this_site(client):
    data = _sign_in_form(client)
    data.update(email="owner@demo.onewindow.test", password="OneWindow-demo-2026")
    response = client.post("/auth/sign-in?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/me/"


def test_post_without_csrf_token_is_refused_in_the_readers_language(client):
    response = client.post("/auth/sign-in?lang=en", data={"email": "owner@demo.onewindow.test",
                                                         "password": "OneWindow-demo-2026"})
    assert response.status_code == 400
    assert "The form you sent has expired" in response.get_data(as_text=True)
    assert client.get("/me/").status_code == 302


def test_passwords_are_hashed_with_argon2id(db):
    account = db.scalar(select(Account).where(Account.email == "resident@demo.onewindow.test"))
    assert account.password_hash.startswith("$argon2id$")
