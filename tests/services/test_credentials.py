"""Licences as Verifiable Credentials: what they say, that they verify against the published keys, and that a
tampered one does not."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, OctKey

from services.licences.credentials import (
    CredentialError,
    credential_for,
    effective_status,
    jwks,
    mask_name,
    sign_credential,
    verify_credential,
)
from services.licences.demo import DEMO_CASES, demo_case_licences
from services.licences.models import LicenceStatus
from services.licences.signing import ensure_agency_key


def issue_demo_licence(app, db, local_part: str = "resident"):
    """Issue the licence of one demo holder's case through the real services (one PDF rendered)."""
    local, bundle, answers, for_enterprise = next(case for case in DEMO_CASES if case[0] == local_part)
    licences = demo_case_licences(db, local, bundle, answers, for_enterprise=for_enterprise,
                                  key_dir=Path(app.config["KEY_DIR"]), public_url=app.config["PUBLIC_URL"])
    assert len(licences) == 1
    return licences[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_issued_credential_says_what_the_licence_says(app, db):
    licence = issue_demo_licence(app, db)
    credential = verify_credential(licence.credential_jws, jwks(Path(app.config["KEY_DIR"]), ["police"]))
    public_url = app.config["PUBLIC_URL"].rstrip("/")
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["type"] == ["VerifiableCredential", "ResidencePermitLicence"]
    assert credential["id"] == f"urn:onewindow:licence:{licence.number}"
    assert credential["issuer"]["id"] == f"{public_url}/issuers/police"
    assert {"@value": "公安局", "@language": "zh-Hans"} in credential["issuer"]["name"]
    assert credential["validFrom"] == f"{licence.valid_from.isoformat()}T00:00:00+08:00"
    assert credential["validUntil"] == f"{licence.valid_until.isoformat()}T23:59:59+08:00"
    assert credential["credentialStatus"]["id"] == f"{public_url}/verify/{licence.number}.json"
    subject = credential["credentialSubject"]
    # The credential is public: a resident's name and identity number are masked in it, as on the verify page.
    assert subject["name"] == "张*" and subject["identifier"] == "440***********1235"
    assert "张三" not in json.dumps(credential, ensure_ascii=False)
    assert subject["licenceType"] == "residence_permit" and subject["scope"] == "广州市天河区体育西路8号"
    header = json.loads(_unb64(licence.credential_jws.split(".")[0]))
    assert header["alg"] == "ES256" and header["typ"] == "vc+jwt"
    assert header["kid"] == jwks(Path(app.config["KEY_DIR"]), ["police"])["keys"][0]["kid"]


def test_a_tampered_credential_does_not_verify(app, db):
    licence = issue_demo_licence(app, db)
    key_set = jwks(Path(app.config["KEY_DIR"]), None)
    header, payload, signature = licence.credential_jws.split(".")
    forged = json.loads(_unb64(payload))
    forged["validUntil"] = "2099-12-31T23:59:59+08:00"
    with pytest.raises(CredentialError):
        verify_credential(".".join([header, _b64(json.dumps(forged).encode()), signature]), key_set)
    with pytest.raises(CredentialError):
        other = "AAAA" if signature[-4:] != "AAAA" else "BBBB"
        verify_credential(".".join([header, payload, signature[:-4] + other]), key_set)
    with pytest.raises(CredentialError):
        verify_credential("not-a-jws", key_set)


def test_a_credential_signed_with_another_key_or_algorithm_is_refused(app, db, tmp_path):
    licence = issue_demo_licence(app, db)
    key_set = jwks(Path(app.config["KEY_DIR"]), None)
    credential = credential_for(licence, app.config["PUBLIC_URL"])
    stranger, _cert = ensure_agency_key(tmp_path, "police", "Not the police")
    with pytest.raises(CredentialError, match="no published key"):
        verify_credential(sign_credential(credential, stranger), key_set)
    # Whatever the header asks for, only ES256 with a published key is accepted (no "none", no HMAC tricks).
    secret = jws.serialize_compact({"alg": "HS256", "kid": key_set["keys"][0]["kid"]}, json.dumps(credential),
                                   OctKey.import_key(b"x" * 32), algorithms=["HS256"])
    with pytest.raises(CredentialError):
        verify_credential(secret, key_set)
    unsigned = _b64(json.dumps({"alg": "none"}).encode()) + "." + _b64(json.dumps(credential).encode()) + "."
    with pytest.raises(CredentialError):
        verify_credential(unsigned, key_set)


def test_a_rotated_out_key_still_verifies_what_it_signed(tmp_path):
    old_key, old_cert = ensure_agency_key(tmp_path, "market", "Market Supervision Administration")
    token = sign_credential({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x"}, old_key)
    old_key.rename(tmp_path / "market.2026-01-01.key.pem")
    old_cert.rename(tmp_path / "market.2026-01-01.cert.pem")
    new_key, _ = ensure_agency_key(tmp_path, "market", "Market Supervision Administration")
    key_set = jwks(tmp_path, ["market"])
    assert len(key_set["keys"]) == 2
    assert all("d" not in key for key in key_set["keys"])  # public keys only
    assert verify_credential(token, key_set)["id"] == "urn:x"
    assert verify_credential(sign_credential({"@context": ["https://www.w3.org/ns/credentials/v2"]}, new_key),
                             key_set)
    assert jwks(tmp_path, ["fire"]) == {"keys": []}
    kid = ECKey.import_key(new_key.read_bytes()).thumbprint()
    assert kid in {key["kid"] for key in key_set["keys"]}


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"), ("王小明", "王*明"), ("欧阳小明", "欧**明"), ("王", "*"), ("", ""), ("John  Smith", "J*** S****"),
])
def test_holder_names_are_partly_masked(name, masked):
    assert mask_name(name) == masked


def test_a_valid_licence_past_its_last_day_counts_as_expired(app, db):
    licence = issue_demo_licence(app, db)
    assert effective_status(licence, licence.valid_until) == LicenceStatus.VALID
    assert effective_status(licence, licence.valid_until + dt.timedelta(days=1)) == LicenceStatus.EXPIRED
    licence.status = LicenceStatus.REVOKED
    assert effective_status(licence, licence.valid_until + dt.timedelta(days=1)) == LicenceStatus.REVOKED


def test_a_damaged_certificate_file_is_skipped_not_fatal(tmp_path):
    ensure_agency_key(tmp_path, "market", "Market Supervision Administration")
    (tmp_path / "market.old.cert.pem").write_text("not a certificate")
    assert len(jwks(tmp_path, ["market"])["keys"]) == 1
