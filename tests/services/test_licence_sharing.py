"""Share links in the services: an unguessable token stored hashed, an expiry the holder chooses, withdrawal, and a
log of each use with coarse client facts only."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest
from sqlalchemy import select

from services.db import utcnow
from services.errors import NotFound, ValidationFailed
from services.identity.models import Account
from services.licences.models import ShareLink
from services.licences.sharing import (
    coarse_client,
    coarse_network,
    create_share_link,
    link_state,
    open_share_link,
    revoke_share_link,
    share_links_of,
)
from tests.services.test_credentials import issue_demo_licence

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.6778.81 Mobile Safari/537.36")


def account(db, local_part: str) -> Account:
    return db.scalar(select(Account).where(Account.email == f"{local_part}@demo.onewindow.test"))


@pytest.fixture
def licence(app, db):
    return issue_demo_licence(app, db, "resident")


def test_a_link_opens_the_licence_until_it_expires_and_logs_each_use(db, licence):
    holder = account(db, "resident")
    now = utcnow()
    link, token = create_share_link(db, holder, licence.number, days=7, note="银行", command_id=uuid.uuid4().hex,
                                    now=now)
    assert len(token) >= 43 and token not in link.token_sha256
    assert link.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert link.expires_at == now + dt.timedelta(days=7)

    opened = open_share_link(db, token, user_agent=ANDROID_CHROME, remote_addr="203.0.113.77",
                             now=now + dt.timedelta(days=6))
    assert opened.id == link.id and opened.licence.number == licence.number
    use = share_links_of(db, holder, licence)[0].uses[0]
    assert (use.client, use.network) == ("Chrome / Android", "203.0.113.0/24")
    assert open_share_link(db, token, now=now + dt.timedelta(days=7)) is None  # expired
    assert link_state(link, now + dt.timedelta(days=7)) == "expired"
    assert len(share_links_of(db, holder, licence)[0].uses) == 1


def test_a_withdrawn_link_opens_nothing(db, licence):
    holder = account(db, "resident")
    link, token = create_share_link(db, holder, licence.number, days=1, command_id=uuid.uuid4().hex)
    revoke_share_link(db, holder, licence.number, link.id)
    revoke_share_link(db, holder, licence.number, link.id)  # twice is fine
    assert link_state(link) == "revoked"
    assert open_share_link(db, token) is None
    for junk in ("", "x", token[:-1], token + "A", "../" * 10, "é" * 40):
        assert open_share_link(db, junk) is None


def test_same_command_makes_one_link_and_only_holders_share(db, licence):
    holder = account(db, "resident")
    command_id = uuid.uuid4().hex
    first, token = create_share_link(db, holder, licence.number, days=30, command_id=command_id)
    again, no_token = create_share_link(db, holder, licence.number, days=30, command_id=command_id)
    assert again.id == first.id and token and no_token is None
    assert db.scalar(select(ShareLink).where(ShareLink.command_id == command_id)).id == first.id
    with pytest.raises(ValidationFailed):
        create_share_link(db, holder, licence.number, days=365, command_id=uuid.uuid4().hex)
    with pytest.raises(NotFound):
        create_share_link(db, account(db, "resident2"), licence.number, days=1, command_id=uuid.uuid4().hex)
    with pytest.raises(NotFound):
        revoke_share_link(db, account(db, "resident2"), licence.number, first.id)
    assert link_state(first) == "active"


def test_client_facts_are_coarse():
    assert coarse_client(ANDROID_CHROME) == "Chrome / Android"
    assert coarse_client("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                         "Gecko) Mobile/15E148 MicroMessenger/8.0.47") == "WeChat / iOS"
    assert coarse_client("") == "unknown" and coarse_client(None) == "unknown"
    assert coarse_network("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert coarse_network("not an address") == "unknown" and coarse_network(None) == "unknown"
