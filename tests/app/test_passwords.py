"""Passwords through the real pages: reset by an e-mailed link (a real SMTP server on 127.0.0.1), the rules a new
password must meet, changing it while signed in, and an administrator's invitation."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from services.audit.models import AuditEntry
from services.identity import passwords
from services.identity.models import Account, PasswordToken, Role
from services.jobs import outbox
from services.notifications.mail import MailMessage
from tests.conftest import hidden_fields, sign_in
from tests.jobs import run_pending_jobs

NEW_PASSWORD = "correct horse battery staple"
LINK = re.compile(r"http://[^\s]+/auth/password/([A-Za-z0-9_-]+)")


def _ask_for_reset(client, email: str):
    data = hidden_fields(client.get("/auth/forgot-password").get_data(as_text=True))
    data["email"] = email
    return client.post("/auth/forgot-password?lang=en", data=data)


def _link_from(mailbox) -> str:
    match = LINK.search(mailbox.body())
    assert match, mailbox.body()
    return "/auth/password/" + match.group(1)


def _set(client, path: str, password: str, confirm: str | None = None, lang: str = "en"):
    data = hidden_fields(client.get(path).get_data(as_text=True))
    data.update(password=password, confirm=password if confirm is None else confirm)
    return client.post(f"{path}?lang={lang}", data=data)


def test_reset_by_email_link_works_once_and_the_old_password_stops(app, client, db, smtp_server):
    response = _ask_for_reset(client, "Owner@demo.onewindow.test")
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
    run_pending_jobs(app)
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["To"] == "owner@demo.onewindow.test"
    path = _link_from(smtp_server)
    # Only a hash is stored: neither the token nor the link is in the database.
    token = path.rsplit("/", 1)[1]
    stored = db.scalars(select(PasswordToken)).all()
    assert stored and all(token not in (row.token_hash, row.salt) for row in stored)
    assert all(token not in message.body for message in db.scalars(select(MailMessage)))

    too_short = _set(client, path, "short one")
    assert too_short.status_code == 400 and "at least 12 characters" in too_short.get_data(as_text=True)
    common = _set(client, path, "Password1234")
    assert common.status_code == 400 and "too common" in common.get_data(as_text=True)
    mismatch = _set(client, path, NEW_PASSWORD, "something else entirely")
    assert mismatch.status_code == 400 and "do not match" in mismatch.get_data(as_text=True)

    done = _set(client, path, NEW_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == "/auth/sign-in"
    again = client.get(path)
    assert again.status_code == 404  # single use
    sign_in(client, "owner@demo.onewindow.test", NEW_PASSWORD)
    kinds = db.scalars(select(AuditEntry.kind).order_by(AuditEntry.seq)).all()
    assert kinds[-3:] == ["password_reset_requested", "password_set", "sign_in"]


def test_unknown_address_gets_the_same_answer_and_no_mail(app, client, db, smtp_server):
    response = _ask_for_reset(client, "nobody@demo.onewindow.test")
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
    run_pending_jobs(app)
    assert smtp_server.messages == []
    bad = _ask_for_reset(client, "not an address")
    assert bad.status_code == 400 and 'href="#email"' in bad.get_data(as_text=True)


def test_link_expires_after_thirty_minutes_and_a_newer_link_cancels_the_older(app, client, db, smtp_server):
    _ask_for_reset(client, "owner@demo.onewindow.test")
    run_pending_jobs(app)
    first = _link_from(smtp_server)
    _ask_for_reset(client, "owner@demo.onewindow.test")
    run_pending_jobs(app)
    second = _link_from(smtp_server)
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    for row in db.scalars(select(PasswordToken)):  # 31 minutes later
        assert row.expires_at - row.created_at == dt.timedelta(minutes=30)
        row.created_at -= dt.timedelta(minutes=31)
        row.expires_at -= dt.timedelta(minutes=31)
    db.flush()
    response = client.get(second + "?lang=en")
    assert response.status_code == 404 and "expired or has already been used" in response.get_data(as_text=True)


def test_change_password_needs_the_current_one(client, db, sign_in_as):
    sign_in_as("resident")
    page = client.get("/auth/password/change")
    assert page.status_code == 200
    data = hidden_fields(page.get_data(as_text=True))
    data.update(current="wrong password here", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    refused = client.post("/auth/password/change?lang=en", data=data)
    assert refused.status_code == 400 and "current password is not correct" in refused.get_data(as_text=True)
    data.update(current="OneWindow-demo-2026")
    assert client.post("/auth/password/change", data=data).status_code == 302
    account = db.scalar(select(Account).where(Account.email == "resident@demo.onewindow.test"))
    from services.identity.service import verify_password

    assert verify_password(account, NEW_PASSWORD)
    assert client.get("/auth/password/change").status_code == 200


def test_the_demo_password_is_on_the_common_list():
    assert passwords.password_problem("OneWindow-demo-2026") == "password_too_common"
    assert passwords.password_problem("aaaaaaaaaaaaaaaa") == "password_too_common"
    assert passwords.password_problem(NEW_PASSWORD) is None


def test_invitation_sets_a_first_password(app, client, db, database, smtp_server):
    admin = db.scalar(select(Account).where(Account.email == "admin@demo.onewindow.test"))
    fire = db.scalar(select(Account).where(Account.email == "clerk.fire@demo.onewindow.test")).agency_id

    def compose(account):
        return "Welcome", "Set your password: {link}"

    account = passwords.invite(db, admin, app.config, email="new.clerk@demo.onewindow.test", name="New Clerk",
                               role=Role.CLERK, agency_id=fire, is_lead=False, compose=compose)
    db.flush()
    outbox.dispatch(database, outbox.take_pending(db), redis_url=app.config["REDIS_URL"],
                    prefix=app.config["RQ_QUEUE_PREFIX"])
    run_pending_jobs(app)
    path = _link_from(smtp_server)
    assert "Set your password" in client.get(path + "?lang=en").get_data(as_text=True)
    assert _set(client, path, NEW_PASSWORD).status_code == 302
    sign_in(client, "new.clerk@demo.onewindow.test", NEW_PASSWORD)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.kind == "admin_action",
                                               AuditEntry.subject_id == account.id))
    assert entry.actor_id == admin.id and entry.detail["action"] == "invite"
