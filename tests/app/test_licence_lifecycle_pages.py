"""The licence lifecycle through the real pages: a clerk of the issuing agency finds, suspends, reinstates, revokes
and amends a licence (confirm step, reason required, 403 for anyone else); the holder makes, sees and withdraws
share links; the public sees each change at once."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.licences.models import Licence, LicenceEvent, LicenceStatus, ShareLink
from services.notifications.models import Notification
from tests.conftest import hidden_fields
from tests.jobs import run_pending_jobs
from tests.services.test_credentials import issue_demo_licence


@pytest.fixture(autouse=True)
def own_rate_limit_budget(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_PREFIX", f"test-{uuid.uuid4().hex[:8]}-")


@pytest.fixture
def licence(app, db):
    return issue_demo_licence(app, db, "resident")


def _submit(client, path: str, data: dict):
    """Fill in a form page, then confirm on the check page; return the final response."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    form = hidden_fields(page.get_data(as_text=True)) | data
    check = client.post(path, data=form)
    assert check.status_code == 200, check.get_data(as_text=True)[:500]
    assert 'name="confirmed" value="yes"' in check.get_data(as_text=True)
    return client.post(path, data=hidden_fields(check.get_data(as_text=True)))


def test_clerk_suspends_and_the_public_sees_it_at_once(client, db, sign_in_as, licence):
    sign_in_as("clerk.police")
    found = client.get(f"/work/licences?q={licence.number}&lang=en")
    assert found.status_code == 200 and f'href="/work/licences/{licence.number}"' in found.get_data(as_text=True)
    by_name = client.get("/work/licences", query_string={"q": "张三", "lang": "en"}).get_data(as_text=True)
    assert licence.number in by_name

    detail = client.get(f"/work/licences/{licence.number}?lang=en").get_data(as_text=True)
    assert "Suspend it" in detail and "Revoke it" in detail and "Reinstate it" not in detail and "Issued" in detail

    done = _submit(client, f"/work/licences/{licence.number}/suspend?lang=en", {"reason": "正在核查居住地址"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/work/licences/{licence.number}")
    facts = client.get(f"/verify/{licence.number}.json").get_json()
    assert facts["status"] == "suspended" and facts["status_reason"] == "正在核查居住地址"
    html = client.get(f"/verify/{licence.number}?lang=en").get_data(as_text=True)
    assert f"Licence {licence.number} is suspended." in html and "正在核查居住地址" in html

    page = client.get(f"/work/licences/{licence.number}?lang=en").get_data(as_text=True)
    assert "Reinstate it" in page and "正在核查居住地址" in page and "Suspended" in page
    _submit(client, f"/work/licences/{licence.number}/reinstate", {"reason": "核查完毕"})
    assert client.get(f"/verify/{licence.number}.json").get_json()["status"] == "valid"
    _submit(client, f"/work/licences/{licence.number}/revoke", {"reason": "以欺骗手段取得"})
    facts = client.get(f"/verify/{licence.number}.json").get_json()
    assert facts["status"] == "revoked" and facts["status_reason"] == "以欺骗手段取得"

    kinds = set(db.scalars(select(Notification.kind).where(Notification.account_id == licence.holder_account_id)))
    assert {"licence_suspended", "licence_reinstated", "licence_revoked"} <= kinds
    sign_in_as("resident")
    home = client.get("/me/?lang=en").get_data(as_text=True)
    assert f"Licence {licence.number} was revoked by the issuing agency. Reason: 以欺骗手段取得" in home


def test_a_double_submitted_confirmation_changes_once(client, db, sign_in_as, licence):
    sign_in_as("clerk.police")
    path = f"/work/licences/{licence.number}/suspend"
    form = hidden_fields(client.get(path).get_data(as_text=True)) | {"reason": "核查"}
    confirm = hidden_fields(client.post(path, data=form).get_data(as_text=True))
    assert client.post(path, data=confirm).status_code == 302
    assert client.post(path, data=confirm).status_code == 302
    events = db.scalars(select(LicenceEvent).where(LicenceEvent.licence_id == licence.id,
                                                   LicenceEvent.action == "suspend")).all()
    assert len(events) == 1


def test_a_reason_is_required_and_the_error_summary_links_to_it(client, sign_in_as, licence):
    sign_in_as("clerk.police")
    path = f"/work/licences/{licence.number}/revoke?lang=en"
    form = hidden_fields(client.get(path).get_data(as_text=True)) | {"reason": "   "}
    response = client.post(path, data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and 'href="#reason"' in html and "Enter the reason." in html
    long = client.post(path, data=form | {"reason": "x" * 2001})
    assert long.status_code == 400 and "2000 characters or fewer" in long.get_data(as_text=True)
    assert client.get(f"/verify/{licence.number}.json").get_json()["status"] == "valid"


def test_other_agencies_and_residents_cannot_touch_the_licence(client, sign_in_as, licence):
    sign_in_as("clerk.market")
    assert client.get(f"/work/licences/{licence.number}").status_code == 403
    assert client.get(f"/work/licences/{licence.number}/revoke").status_code == 403
    assert client.post(f"/work/licences/{licence.number}/revoke", data={"reason": "x"}).status_code in (400, 403)
    assert client.get(f"/work/licences/{licence.number}/amend").status_code == 403
    assert f'href="/work/licences/{licence.number}"' not in client.get(
        f"/work/licences?q={licence.number}").get_data(as_text=True)
    sign_in_as("resident")
    assert client.get(f"/work/licences/{licence.number}").status_code == 403
    assert client.get("/work/licences").status_code == 403
    sign_in_as("clerk.police")
    assert client.get("/work/licences/MARKET-2026-000042-Z").status_code == 404
    assert client.get("/work/licences/nonsense").status_code == 404
    assert client.get("/work/licences/nonsense/suspend").status_code == 404
    assert client.get("/work/licences?q=" + "x" * 500).status_code == 400


def test_clerk_amends_a_licence_through_the_pages_and_the_new_version_supersedes_it(app, client, db, sign_in_as,
                                                                                    licence):
    sign_in_as("clerk.police")
    path = f"/work/licences/{licence.number}/amend?lang=en"
    page = client.get(path).get_data(as_text=True)
    assert 'value="张三"' in page
    unchanged = client.post(path, data=hidden_fields(page) | {"holder_name": "张三", "scope": licence.scope,
                                                              "reason": "更正"})
    assert unchanged.status_code == 400 and "must differ" in unchanged.get_data(as_text=True)

    done = _submit(client, path, {"holder_name": "张三丰", "scope": "居住地：广州市越秀区", "reason": "姓名更正"})
    assert done.status_code == 302
    run_pending_jobs(app)
    new = db.scalar(select(Licence).where(Licence.supersedes_id == licence.id))
    assert new is not None and new.holder_name == "张三丰"
    old = client.get(f"/verify/{licence.number}.json").get_json()
    assert old["status"] == "superseded" and old["superseded_by"] == new.number
    assert client.get(f"/verify/{new.number}.json").get_json()["supersedes"] == licence.number
    html = client.get(f"/verify/{licence.number}?lang=en").get_data(as_text=True)
    assert f'href="/verify/{new.number}"' in html
    detail = client.get(f"/work/licences/{new.number}?lang=en").get_data(as_text=True)
    assert "Replaces licence" in detail and licence.number in detail


def test_holder_shares_a_licence_and_sees_each_use(client, db, sign_in_as, licence):
    sign_in_as("resident")
    assert f'href="/me/licences/{licence.number}/share"' in client.get("/me/").get_data(as_text=True)
    path = f"/me/licences/{licence.number}/share?lang=en"
    page = client.get(path)
    assert page.status_code == 200 and "You have not shared this licence yet." in page.get_data(as_text=True)
    form = hidden_fields(page.get_data(as_text=True))
    missing = client.post(path, data=form)
    assert missing.status_code == 400 and 'href="#days"' in missing.get_data(as_text=True)
    bad = client.post(path, data=form | {"days": "365"})
    assert bad.status_code == 400
    created = client.post(path, data=form | {"days": "7", "note": "招商银行"})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    share_url = html.split('id="share-url" type="text" readonly value="')[1].split('"')[0]
    token_path = share_url.split("://", 1)[1].split("/", 1)[1]
    assert token_path.startswith("shared/")
    # The same form again (refresh, double click) makes no second link and does not show the address again.
    again = client.post(path, data=form | {"days": "7", "note": "招商银行"})
    assert again.status_code == 302 and db.scalar(select(ShareLink).where(
        ShareLink.command_id == form["command_id"])) is not None

    client.post("/auth/sign-out", data=hidden_fields(client.get("/").get_data(as_text=True)))
    shared = client.get("/" + token_path + "?lang=en", headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) "
                                                                              "Chrome/131.0 Safari/537.36"})
    assert shared.status_code == 200
    assert shared.headers["Cache-Control"] == "no-store" and shared.headers["Referrer-Policy"] == "no-referrer"
    text = shared.get_data(as_text=True)
    assert f"Licence {licence.number} is valid." in text and "The holder shared this licence with you" in text
    # Whoever holds the link sees who holds the licence (the holder chose to show it); the number stays masked.
    assert "张三 (440***********1235)" in text and "440106198803151235" not in text

    sign_in_as("resident")
    listing = client.get(path).get_data(as_text=True)
    assert "招商银行" in listing and "Opened 1 time" in listing and "Chrome / Windows" in listing
    link = db.scalar(select(ShareLink).where(ShareLink.command_id == form["command_id"]))
    withdraw = client.post(f"/me/licences/{licence.number}/share/{link.id}/withdraw",
                           data=hidden_fields(listing))
    assert withdraw.status_code == 302
    assert client.get("/" + token_path + "?lang=en").status_code == 404
    assert "Withdrawn" in client.get(path).get_data(as_text=True)


def test_nobody_else_reaches_a_holders_sharing_pages(client, db, sign_in_as, licence):
    sign_in_as("resident2")
    assert client.get(f"/me/licences/{licence.number}/share").status_code == 404
    assert client.get("/me/licences/nonsense/share").status_code == 404
    sign_in_as("clerk.police")
    assert client.get(f"/me/licences/{licence.number}/share").status_code == 403
    assert client.get("/shared/not-a-real-token-at-all-0000000000").status_code == 404
    assert client.get("/shared/%00").status_code == 404
    assert db.get(Licence, licence.id).status == LicenceStatus.VALID


def test_malformed_input_never_breaks_the_pages(client, sign_in_as, licence):
    sign_in_as("clerk.police")
    path = f"/work/licences/{licence.number}/suspend?lang=en"
    form = hidden_fields(client.get(path).get_data(as_text=True))
    expired = client.post(path, data=form | {"command_id": "not-a-uuid", "reason": "核查"})
    assert expired.status_code == 400 and "This form has expired" in expired.get_data(as_text=True)
    assert client.post(path, data={"reason": "核查"}).status_code == 400  # no CSRF token
    assert client.post(path, data=form | {"reason": "核查\x00\x07", "confirmed": "maybe"}).status_code == 200
    amend = f"/work/licences/{licence.number}/amend?lang=en"
    form = hidden_fields(client.get(amend).get_data(as_text=True))
    too_long = client.post(amend, data=form | {"holder_name": "张" * 201, "scope": "x" * 3000, "reason": "x"})
    assert too_long.status_code == 400 and 'href="#holder_name"' in too_long.get_data(as_text=True)
    assert client.get("/work/licences/%E2%82%AC/revoke").status_code == 404

    sign_in_as("resident")
    share = f"/me/licences/{licence.number}/share?lang=en"
    form = hidden_fields(client.get(share).get_data(as_text=True))
    for days in ("abc", "-1", "0", "1e9", ""):
        assert client.post(share, data=form | {"days": days}).status_code == 400
    long_note = client.post(share, data=form | {"days": "1", "note": "x" * 101})
    assert long_note.status_code == 400 and 'href="#note"' in long_note.get_data(as_text=True)
    assert client.post(share, data=form | {"days": "1", "command_id": "x" * 300}).status_code == 400
    withdraw = f"/me/licences/{licence.number}/share/999999/withdraw"
    assert client.post(withdraw, data=form).status_code == 404
    assert client.post(withdraw, data={}).status_code == 400
    assert client.get(f"/shared/{'A' * 300}").status_code == 404
