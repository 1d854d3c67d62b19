"""Weakness 2: sessions live on the server, sign-out ends them, and they end by themselves when idle or old."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from services.identity.models import Account
from services.identity.sessions import WebSession, sweep_expired, token_id
from tests.conftest import hidden_fields, sign_in

COOKIE = "session"


def _token(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def _with_cookie(app, token: str):
    other = app.test_client()
    other.set_cookie(COOKIE, token)
    return other


def _signed_in(client) -> bool:
    return client.get("/auth/sessions").status_code == 200


def _time_passes(db, token: str, **delta) -> None:
    """Move one session's clock back, as if ``delta`` had passed since it was last used."""
    shift = dt.timedelta(**delta)
    row = db.get(WebSession, token_id(token), populate_existing=True)
    db.execute(update(WebSession).where(WebSession.id == row.id).values(
        created_at=row.created_at - shift, last_seen_at=row.last_seen_at - shift, expires_at=row.expires_at - shift))


def test_the_cookie_carries_only_a_random_token(client, db):
    sign_in(client, "owner@demo.onewindow.test")
    token = _token(client)
    assert len(token) == 43 and "." not in token  # no signed payload, no account number
    row = db.get(WebSession, token_id(token))
    owner = db.scalar(select(Account).where(Account.email == "owner@demo.onewindow.test"))
    assert row.account_id == owner.id and row.data["account_id"] == owner.id
    assert db.get(WebSession, token) is None  # the table holds the token's hash, not the token


def test_a_cookie_copied_before_sign_out_opens_nothing_after(app, client, db):
    sign_in(client, "owner@demo.onewindow.test")
    copied = _token(client)
    assert _signed_in(_with_cookie(app, copied))
    client.post("/auth/sign-out", data=hidden_fields(client.get("/me/").get_data(as_text=True)))
    assert db.get(WebSession, token_id(copied)) is None
    thief = _with_cookie(app, copied)
    assert thief.get("/me/").status_code == 302
    assert not _signed_in(thief)


def test_sign_in_gives_a_new_token_and_ends_the_visitors_one(client, db):
    client.get("/auth/sign-in")  # a visitor's session (its CSRF token)
    before = _token(client)
    assert before and db.get(WebSession, token_id(before)) is not None
    sign_in(client, "resident@demo.onewindow.test")
    after = _token(client)
    assert after != before
    assert db.get(WebSession, token_id(before)) is None  # a planted token is worth nothing after sign-in


def test_switching_whom_one_acts_for_gives_a_new_token(app, client, db):
    sign_in(client, "owner@demo.onewindow.test")
    before = _token(client)
    page = client.get("/me/acting-as")
    form = hidden_fields(page.get_data(as_text=True))
    enterprise_choice = [value for value in page.get_data(as_text=True).split('value="')[1:]
                         if value.split('"')[0].isdigit()][0].split('"')[0]
    form["act_as"] = enterprise_choice
    assert client.post("/me/acting-as", data=form).status_code == 302
    after = _token(client)
    assert after != before and db.get(WebSession, token_id(before)) is None
    assert not _signed_in(_with_cookie(app, before))
    assert _signed_in(client)


def test_staff_sessions_end_after_30_idle_minutes_and_residents_after_2_hours(app, client, db):
    sign_in(client, "clerk.fire@demo.onewindow.test")
    clerk = _token(client)
    resident_client = app.test_client()
    sign_in(resident_client, "resident@demo.onewindow.test")
    resident = _token(resident_client)

    _time_passes(db, clerk, minutes=29)
    assert _signed_in(client)  # 29 idle minutes: still in, and this use starts the idle clock again
    _time_passes(db, clerk, minutes=31)
    assert not _signed_in(client)

    _time_passes(db, resident, minutes=31)
    assert _signed_in(resident_client)
    _time_passes(db, resident, hours=2, minutes=1)
    assert not _signed_in(resident_client)


def test_a_session_in_steady_use_still_ends_12_hours_after_sign_in(client, db):
    sign_in(client, "resident@demo.onewindow.test")
    token = _token(client)
    for _hour in range(11):
        _time_passes(db, token, hours=1)
        assert _signed_in(client)
    _time_passes(db, token, hours=1, minutes=1)
    assert not _signed_in(client)


def test_a_person_sees_their_sessions_and_ends_them_all(app, client, db):
    sign_in(client, "resident@demo.onewindow.test")
    laptop = app.test_client()
    sign_in(laptop, "resident@demo.onewindow.test")
    someone_else = app.test_client()
    sign_in(someone_else, "resident2@demo.onewindow.test")

    page = client.get("/auth/sessions?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert html.count("<tr>") == 3  # the header and this account's two sessions, not resident2's
    assert "(this session)" in html
    assert "您的会话" in client.get("/auth/sessions?lang=zh_Hans_CN").get_data(as_text=True)

    ended = client.post("/auth/sessions/end-all?lang=en", data=hidden_fields(html))
    assert ended.status_code == 302 and ended.headers["Location"] == "/auth/sign-in"
    assert "Every session of your account has ended" in client.get("/auth/sign-in?lang=en").get_data(as_text=True)
    assert not _signed_in(client) and not _signed_in(laptop)
    assert _signed_in(someone_else)


def test_ending_sessions_needs_the_form_token(client):
    sign_in(client, "resident@demo.onewindow.test")
    refused = client.post("/auth/sessions/end-all?lang=en", data={})
    assert refused.status_code in (302, 400)
    assert _signed_in(client)


def test_the_sweep_deletes_sessions_past_their_end(client, db):
    sign_in(client, "resident@demo.onewindow.test")
    token = _token(client)
    assert sweep_expired(db) == 0 or db.get(WebSession, token_id(token)) is not None
    _time_passes(db, token, hours=3)
    sweep_expired(db)
    assert db.get(WebSession, token_id(token)) is None


def test_static_files_neither_read_nor_write_a_session(client, db):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200 and _token(client) is None


def test_a_request_that_began_before_sign_out_does_not_bring_the_session_back(app, client, db):
    from flask import request

    sign_in(client, "resident@demo.onewindow.test")
    token = _token(client)
    with app.test_request_context("/", headers={"Cookie": f"{COOKIE}={token}"}):
        opened = app.session_interface.open_session(app, request)
        assert opened["account_id"]
        # Meanwhile, in another tab, the person signs out everywhere.
        client.post("/auth/sessions/end-all", data=hidden_fields(client.get("/auth/sessions").get_data(as_text=True)))
        opened["_flashes"] = [("success", "late")]  # the slow request changes the session, then saves it
        response = app.response_class()
        app.session_interface.save_session(app, opened, response)
    assert db.get(WebSession, token_id(token)) is None
    assert not _signed_in(_with_cookie(app, token))


def test_a_forged_signed_cookie_opens_nothing_whatever_key_signed_it(app, db):
    """Weakness 1's attack: a Flask session cookie carrying an administrator's account id, signed with the key this
    project once published (or even with the app's real key). The cookie is now only a token to look up."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    admin = db.scalar(select(Account.id).where(Account.email == "admin@demo.onewindow.test"))
    for key in ("dev-only-not-secret", app.config["SECRET_KEY"]):
        signer = Flask("forger")
        signer.secret_key = key
        forged = SecureCookieSessionInterface().get_signing_serializer(signer).dumps({"account_id": admin})
        attacker = _with_cookie(app, forged)
        assert attacker.get("/supervision/dashboard").status_code == 302  # sent to sign in
        assert attacker.get("/auth/sessions").status_code == 302
    for junk in ("x" * 5000, "../../etc", "ä€", ""):
        assert app.test_client().get("/", headers={"Cookie": f"{COOKIE}={junk}"}).status_code == 200
