"""Public verification: the form, the verification page, the HTML rendering, the JSON, the JWKS and the rate limit."""

from __future__ import annotations

import re
import uuid

import pytest

from services.licences.credentials import verify_credential
from services.licences.models import Licence, LicenceStatus
from tests.services.test_credentials import issue_demo_licence


@pytest.fixture(autouse=True)
def own_rate_limit_budget(app, monkeypatch):
    """Every test counts requests under its own key prefix, so earlier tests never use up its budget."""
    monkeypatch.setitem(app.config, "RATELIMIT_PREFIX", f"test-{uuid.uuid4().hex[:8]}-")


@pytest.fixture
def licence(app, db):
    return issue_demo_licence(app, db, "resident")


def test_the_verification_page_shows_the_facts_with_the_holder_masked(client, licence):
    response = client.get(f"/verify/{licence.number}?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    html = response.get_data(as_text=True)
    assert f"Licence {licence.number} is valid." in html
    assert "Residence Permit" in html and "Public Security Bureau" in html
    assert "张*" in html and "440***********1235" in html
    assert "张三" not in html and "440106198803151235" not in html
    assert f'href="/verify/{licence.number}/licence"' in html
    assert f'href="/verify/{licence.number}.json"' in html
    # Lower case and surrounding spaces are what people type; the QR code's link is upper case.
    assert client.get(f"/verify/{licence.number.lower()}").status_code == 200


def test_the_html_rendering_of_the_licence(client, licence):
    response = client.get(f"/verify/{licence.number}/licence?lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"<h1>Electronic licence {licence.number}</h1>" in html
    assert '<span lang="zh-Hans">居住证</span>' in html and '<span lang="en">Residence Permit</span>' in html
    assert '<span lang="zh-Hans">公安局</span>' in html and '<span lang="en">Public Security Bureau</span>' in html
    assert html.count('<th scope="row">') >= 10
    assert "张*" in html and "张三" not in html and "440106198803151235" not in html
    assert re.search(r'<img [^>]*src="data:image/png;base64,[^"]+"[^>]*alt="QR code', html)


def test_the_json_says_the_same_and_its_credential_verifies_against_the_published_keys(client, licence):
    response = client.get(f"/verify/{licence.number}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    facts = response.get_json()
    assert facts["number"] == licence.number and facts["status"] == "valid" and facts["status_reason"] is None
    assert facts["type"]["code"] == "residence_permit" and facts["type"]["name_en"] == "Residence Permit"
    assert facts["issuer"]["code"] == "police" and facts["issuer"]["name_zh"] == "公安局"
    assert facts["holder"] == {"name": "张*", "identifier": "440***********1235", "kind": "person"}
    assert facts["valid_from"] == licence.valid_from.isoformat()
    assert facts["valid_until"] == licence.valid_until.isoformat()
    assert facts["issued_at"] == licence.issued_at.isoformat()

    key_set = client.get("/.well-known/jwks.json").get_json()
    assert key_set["keys"] and all(set(key) >= {"kty", "crv", "x", "y", "kid"} for key in key_set["keys"])
    assert not any("d" in key for key in key_set["keys"])
    credential = verify_credential(facts["credential"], key_set)
    assert credential["credentialSubject"]["name"] == facts["holder"]["name"]
    assert credential["credentialStatus"]["id"].endswith(f"/verify/{licence.number}.json")

    issuer = client.get("/issuers/police").get_json()
    assert issuer["id"] == credential["issuer"]["id"] and issuer["keys"]
    assert client.get("/issuers/nobody").status_code == 404


def test_a_status_change_shows_at_once(client, db, licence):
    assert client.get(f"/verify/{licence.number}.json").get_json()["status"] == "valid"
    # The request closed the shared session: load the licence again before changing it.
    licence = db.get(Licence, licence.id)
    licence.status = LicenceStatus.REVOKED
    licence.status_reason = "以欺骗手段取得"
    db.flush()
    facts = client.get(f"/verify/{licence.number}.json").get_json()
    assert facts["status"] == "revoked" and facts["status_reason"] == "以欺骗手段取得"
    html = client.get(f"/verify/{licence.number}?lang=en").get_data(as_text=True)
    assert f"Licence {licence.number} is revoked." in html and "Reason: 以欺骗手段取得" in html
    html = client.get(f"/verify/{licence.number}/licence?lang=zh_Hans_CN").get_data(as_text=True)
    assert "已吊销" in html and "以欺骗手段取得" in html


def test_a_licence_past_its_last_day_shows_as_expired(client, db, licence):
    licence.valid_from, licence.valid_until = licence.valid_from.replace(year=2020), licence.valid_until.replace(
        year=2021)
    db.flush()
    assert client.get(f"/verify/{licence.number}.json").get_json()["status"] == "expired"
    assert f"Licence {licence.number} is expired." in client.get(f"/verify/{licence.number}?lang=en").get_data(
        as_text=True)


def test_unknown_and_malformed_numbers(client, db):
    unknown = "MARKET-2026-000042-Z"  # well formed, never issued
    response = client.get(f"/verify/{unknown}?lang=en")
    assert response.status_code == 404
    assert f"No licence with the number {unknown} was issued through OneWindow" in response.get_data(as_text=True)
    response = client.get(f"/verify/{unknown}.json?lang=en")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"

    mistyped = "MARKET-2026-000042-Y"
    for path in (f"/verify/{mistyped}", f"/verify/{mistyped}/licence"):
        response = client.get(path + "?lang=en")
        assert response.status_code == 404
        assert "The check character of MARKET-2026-000042-Y is wrong" in response.get_data(as_text=True)
    body = client.get(f"/verify/{mistyped}.json?lang=en").get_json()
    assert body["error"] == "invalid_number" and body["problem"] == "check" and "check character" in body["message"]

    response = client.get("/verify/hello?lang=en")
    assert response.status_code == 404 and "hello is not a licence number" in response.get_data(as_text=True)


def test_the_verification_form(client, licence):
    page = client.get("/verify?lang=en")
    assert page.status_code == 200
    assert 'name="number"' in page.get_data(as_text=True)

    empty = client.get("/verify?number=&lang=en")
    assert empty.status_code == 400
    html = empty.get_data(as_text=True)
    assert "There is a problem" in html and "Enter the licence number." in html
    assert "<title>Error:" in html

    wrong = client.get("/verify?number=MARKET-2026-000042-Y&lang=zh_Hans_CN")
    assert wrong.status_code == 400 and "error-summary" in wrong.get_data(as_text=True)
    assert "The check character" not in wrong.get_data(as_text=True)  # translated

    found = client.get("/verify", query_string={"number": f"  {licence.number.lower()} "})
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/verify/{licence.number}")


def test_too_many_requests_are_refused_for_a_minute(app, client, licence, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", 3)
    for _ in range(3):
        assert client.get(f"/verify/{licence.number}").status_code == 200
    refused = client.get(f"/verify/{licence.number}?lang=en")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many requests, try again in a minute." in refused.get_data(as_text=True)
    as_json = client.get(f"/verify/{licence.number}.json?lang=en")
    assert as_json.status_code == 429
    assert as_json.get_json()["message"] == "Too many requests, try again in a minute."
    assert client.get("/verify?lang=en").status_code == 429
    # Other pages, and other apps sharing the Redis server (another key prefix), are not affected.
    assert client.get("/").status_code == 200
    monkeypatch.setitem(app.config, "RATELIMIT_PREFIX", f"other-{uuid.uuid4().hex[:8]}-")
    assert client.get(f"/verify/{licence.number}").status_code == 200
