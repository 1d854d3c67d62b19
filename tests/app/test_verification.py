"""Public verification: the form, the verification page, the HTML rendering, the JSON, the JWKS and the rate limit."""

from __future__ import annotations

import re
import uuid

import pytest

from services.licences.credentials import verify_credential
from services.licences.models import Licence, LicenceStatus
from tests.conftest import hidden_fields
from tests.services.test_credentials import issue_demo_licence


@pytest.fixture(autouse=True)
def own_rate_limit_budget(app, monkeypatch):
    """Every test counts requests under its own key prefix, so earlier tests never use up its budget."""
    monkeypatch.setitem(app.config, "RATELIMIT_PREFIX", f"test-{uuid.uuid4().hex[:8]}-")


@pytest.fixture
def licence(app, db):
    return issue_demo_licence(app, db, "resident")


def _says_nothing_of_the_holder(text: str) -> None:
    # Not the name, not its masked form, no part of the identity number, not the district of residence.
    for fragment in ("张", "440", "1235", "越秀", "示例街"):
        assert fragment not in text, fragment


def test_the_verification_page_shows_the_facts_and_nothing_of_a_person_holding_it(client, licence):
    """Weakness 6: walking the numbers used to collect every holder's masked name and identity number."""
    response = client.get(f"/verify/{licence.number}?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    html = response.get_data(as_text=True)
    assert f"Licence {licence.number} is valid." in html
    assert "Residence Permit" in html and "Public Security Bureau" in html
    assert "A person (not shown)" in html
    _says_nothing_of_the_holder(html.split("<main", 1)[1])
    assert f'href="/verify/{licence.number}/holder"' in html
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
    assert html.count('<th scope="row">') >= 8
    assert "A person (not shown)" in html
    _says_nothing_of_the_holder(html.split("<main", 1)[1].split("<img", 1)[0])
    assert re.search(r'<img [^>]*src="data:image/png;base64,[^"]+"[^>]*alt="QR code', html)


def test_the_json_by_number_says_what_a_relying_party_needs_and_nothing_of_the_person(client, licence):
    response = client.get(f"/verify/{licence.number}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    facts = response.get_json()
    assert facts["number"] == licence.number and facts["status"] == "valid" and facts["status_reason"] is None
    assert facts["type"]["code"] == "residence_permit" and facts["type"]["name_en"] == "Residence Permit"
    assert facts["issuer"]["code"] == "police" and facts["issuer"]["name_zh"] == "公安局"
    assert facts["holder"] == {"kind": "person"} and facts["holder_check"] is True
    assert "credential" not in facts and "scope" not in facts  # the credential carries the masked holder
    assert facts["valid_from"] == licence.valid_from.isoformat()
    assert facts["valid_until"] == licence.valid_until.isoformat()
    assert facts["issued_at"] == licence.issued_at.isoformat()
    _says_nothing_of_the_holder(response.get_data(as_text=True))


def test_an_enterprise_licence_keeps_its_public_holder_and_credential(app, client, db):
    permit = issue_demo_licence(app, db, "owner")
    facts = client.get(f"/verify/{permit.number}.json").get_json()
    assert facts["holder"]["kind"] == "enterprise" and facts["holder"]["identifier"] == permit.holder_identifier
    key_set = client.get("/.well-known/jwks.json").get_json()
    credential = verify_credential(facts["credential"], key_set)
    assert credential["credentialSubject"]["name"] == facts["holder"]["name"]
    assert credential["credentialStatus"]["id"].endswith(f"/verify/{permit.number}.json")


def test_the_published_keys_and_issuers(client, licence):
    key_set = client.get("/.well-known/jwks.json").get_json()
    assert key_set["keys"] and all(set(key) >= {"kty", "crv", "x", "y", "kid"} for key in key_set["keys"])
    assert not any("d" in key for key in key_set["keys"])
    credential = verify_credential(licence.credential_jws, key_set)

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


def _check(client, number: str, name: str, identity_number: str, lang: str = "en", address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    page = client.get(f"/verify/{number}/holder?lang={lang}", environ_base=environ)
    assert page.status_code == 200
    data = hidden_fields(page.get_data(as_text=True))
    data.update(name=name, identity_number=identity_number)
    return client.post(f"/verify/{number}/holder?lang={lang}", data=data, environ_base=environ)


def test_the_holder_check_answers_matches_or_does_not_match_and_nothing_else(client, licence):
    matches = _check(client, licence.number, " 张三 ", "440106198803151235")
    assert matches.status_code == 200 and matches.headers["Cache-Control"] == "no-store"
    assert "The name and identity number match the holder of this licence." in matches.get_data(as_text=True)
    for name, number in (("李四", "440106198803151235"), ("张三", "440104199206074560"),
                         ("张四", "440104199206074560")):
        response = _check(client, licence.number, name, number)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "do not match the holder of this licence" in html
        # Which of the two differs is not said, and the holder's own details appear only where they were typed.
        outside_the_form = html.split("<form", 1)[0] + html.split("</form>", 1)[1]
        assert "440106198803151235" not in outside_the_form and "张三" not in outside_the_form
    malformed = _check(client, licence.number, "张三", "440106198803151234")
    assert malformed.status_code == 400
    html = malformed.get_data(as_text=True)
    assert "<title>Error:" in html and "does not match the others: check each digit" in html  # the check character
    assert "match the holder of this licence" not in html  # a typo is not answered "does not match"
    empty = _check(client, licence.number, "", "", lang="zh_Hans_CN")
    assert empty.status_code == 400 and "error-summary" in empty.get_data(as_text=True)


def test_holder_checks_are_limited_per_address_and_per_licence(app, client, licence, monkeypatch):
    monkeypatch.setitem(app.config, "HOLDER_CHECK_LIMIT", 3)
    monkeypatch.setitem(app.config, "HOLDER_CHECK_LICENCE_LIMIT", 5)
    for _ in range(3):
        assert _check(client, licence.number, "张三", "440104199206074560").status_code == 200
    refused = _check(client, licence.number, "张三", "440106198803151235")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    html = refused.get_data(as_text=True)
    assert "Too many checks" in html and "match the holder" not in html  # the right answer is not given either
    # Other addresses share the licence's daily budget: two more checks, then none from anywhere.
    for address in ("10.0.0.1", "10.0.0.2"):
        assert _check(app.test_client(), licence.number, "张三", "440104199206074560",
                      address=address).status_code == 200
    assert _check(app.test_client(), licence.number, "张三", "440106198803151235",
                  address="10.9.8.7").status_code == 429


def test_an_enterprise_licence_has_no_holder_check(app, client, db):
    permit = issue_demo_licence(app, db, "owner")
    page = client.get(f"/verify/{permit.number}/holder?lang=en")
    assert page.status_code == 200 and "<form" not in page.get_data(as_text=True).split("<main", 1)[1]
    assert permit.holder_name in client.get(f"/verify/{permit.number}").get_data(as_text=True)
