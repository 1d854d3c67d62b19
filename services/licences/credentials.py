"""Licences as W3C Verifiable Credentials 2.0, secured as compact JWS (ES256) with the issuing agency's key.

The credential is the JSON-LD data model of VC 2.0; the JWS follows "Securing Verifiable Credentials using JOSE and
COSE": the payload is the credential itself, the header says ``typ: vc+jwt`` and names the key by its RFC 7638
thumbprint. The key is the same EC P-256 key that signs the licence PDF (``signing.ensure_agency_key``), and the
agencies' public keys are published as a JWKS so anyone can check a credential without asking us.

JOSE comes from joserfc, the library authlib's own ``authlib.jose`` is deprecated in favour of (and which authlib
installs as its dependency).

The credential is public (the verification JSON embeds it), so it carries only what the public verification page
shows: a resident's name and identity number masked, an enterprise's name and credit code in full (both are public
in the enterprise register).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from services import clock
from services.clock import CHINA_TZ  # a licence is valid from the start of its first day to the end of its last
from services.identity.identifiers import mask_resident_id
from services.licences.models import Licence, LicenceStatus

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ALGORITHM = "ES256"
MEDIA_TYPE = "vc+jwt"

_log = logging.getLogger(__name__)


class CredentialError(Exception):
    """A credential that does not verify: bad signature, unknown key, wrong algorithm or an unreadable token."""


# --- What the public may see ----------------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A person's name partly masked: the first character (the surname) and, from three characters, the last.

    ``张三`` → ``张*``, ``欧阳小明`` → ``欧**明``. Names written in words (``John Smith``) keep each word's initial.
    """
    name = " ".join((name or "").split())
    if " " in name:
        return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split(" "))
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def public_holder(licence: Licence) -> tuple[str, str]:
    """``(name, identifier)`` of the holder as the public sees them: masked for a resident, in full for an
    enterprise."""
    if licence.holder_enterprise_id is not None:
        return licence.holder_name, licence.holder_identifier
    return mask_name(licence.holder_name), mask_resident_id(licence.holder_identifier)


def effective_status(licence: Licence, today: dt.date | None = None) -> LicenceStatus:
    """The status as of ``today``: a valid licence past its last day is expired, whatever the stored status says
    (nothing has to run at midnight for a verifier to see it)."""
    today = today or clock.today()
    if licence.status == LicenceStatus.VALID and licence.valid_until is not None and licence.valid_until < today:
        return LicenceStatus.EXPIRED
    return licence.status


def status_url(public_url: str, number: str) -> str:
    """Where a verifier looks up the licence's current status (the credential's ``credentialStatus``)."""
    return f"{public_url.rstrip('/')}/verify/{number}.json"


def issuer_url(public_url: str, agency_code: str) -> str:
    """The issuer's id in credentials; it resolves to the agency's names and public keys (``/issuers/<code>``)."""
    return f"{public_url.rstrip('/')}/issuers/{agency_code}"


# --- The credential ---------------------------------------------------------------------------------------------------


def _type_name(code: str) -> str:
    """``food_business_permit`` → ``FoodBusinessPermitLicence``."""
    return "".join(part.capitalize() for part in code.split("_")) + "Licence"


def _names(zh: str, en: str) -> list[dict]:
    # JSON-LD language value objects: VC 2.0 allows a name in several languages this way.
    return [{"@value": zh, "@language": "zh-Hans"}] + ([{"@value": en, "@language": "en"}] if en else [])


def _day_start(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(0, 0), CHINA_TZ).isoformat()


def _day_end(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(23, 59, 59), CHINA_TZ).isoformat()


def credential_for(licence: Licence, public_url: str) -> dict:
    """The licence as an unsecured VC 2.0 credential (a dict ready for JSON)."""
    licence_type, agency = licence.licence_type, licence.agency
    holder_name, holder_identifier = public_holder(licence)
    credential = {
        "@context": [VC_CONTEXT],
        "id": f"urn:onewindow:licence:{licence.number}",
        "type": ["VerifiableCredential", _type_name(licence_type.code)],
        "name": _names(licence_type.name_zh, licence_type.name_en),
        "issuer": {"id": issuer_url(public_url, agency.code), "name": _names(agency.name_zh, agency.name_en)},
        "validFrom": _day_start(licence.valid_from),
        "credentialSubject": {
            "name": holder_name,
            "identifier": holder_identifier,
            "holderType": "Organization" if licence.holder_enterprise_id is not None else "Person",
            "licenceNumber": licence.number,
            "licenceType": licence_type.code,
            "scope": licence.scope or "",
        },
        "credentialStatus": {
            "id": status_url(public_url, licence.number),
            "type": "OneWindowLicenceStatus",
        },
    }
    if licence.valid_until is not None:
        credential["validUntil"] = _day_end(licence.valid_until)
    return credential


# --- Signing and verifying --------------------------------------------------------------------------------------------


def _public_jwk(public_key) -> dict:
    key = ECKey.import_key(public_key.public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return {**key.as_dict(private=False), "kid": key.thumbprint(), "use": "sig", "alg": ALGORITHM}


def key_id_of(key_path: Path) -> str:
    """The ``kid`` (RFC 7638 thumbprint) of the EC key at ``key_path`` (a private key or a certificate)."""
    data = Path(key_path).read_bytes()
    if b"BEGIN CERTIFICATE" in data:
        return _public_jwk(x509.load_pem_x509_certificate(data).public_key())["kid"]
    return ECKey.import_key(data).thumbprint()


def sign_credential(credential: dict, key_path: Path) -> str:
    """Sign ``credential`` with the EC P-256 private key at ``key_path``; return the compact JWS."""
    key = ECKey.import_key(Path(key_path).read_bytes())
    header = {"alg": ALGORITHM, "typ": MEDIA_TYPE, "cty": "vc", "kid": key.thumbprint()}
    payload = json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])


def jwks(key_dir: Path, agency_codes=None) -> dict:
    """The public keys of the agencies (all of them when ``agency_codes`` is None) as a JWK Set.

    Every certificate in ``key_dir`` counts, so a key rotated out (kept as ``<code>.<date>.cert.pem``) still verifies
    the credentials it signed. Each key carries its certificate (``x5c``) and its thumbprint as ``kid``.
    """
    codes = None if agency_codes is None else set(agency_codes)
    keys, seen = [], set()
    key_dir = Path(key_dir)
    for cert_path in sorted(key_dir.glob("*.cert.pem")) if key_dir.is_dir() else ():
        if codes is not None and cert_path.name.split(".", 1)[0] not in codes:
            continue
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            jwk = _public_jwk(cert.public_key())
        except (OSError, ValueError, JoseError):
            # One stray or damaged file must not take every agency's keys offline.
            _log.warning("skipping %s: not a readable EC certificate", cert_path, exc_info=True)
            continue
        if jwk["kid"] in seen:
            continue
        seen.add(jwk["kid"])
        jwk["x5c"] = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        keys.append(jwk)
    return {"keys": keys}


def verify_credential(token: str, key_set: dict) -> dict:
    """Check the JWS against the JWK Set ``key_set`` and return the credential; raise :class:`CredentialError`.

    Only ES256 is accepted, whatever the token's header asks for, and the key must be the one its ``kid`` names.
    """
    try:
        keys = KeySet.import_key_set({"keys": [k for k in key_set.get("keys", []) if k.get("kty") == "EC"]})
        header = jws.extract_compact(token.encode() if isinstance(token, str) else token).headers()
        if header.get("alg") != ALGORITHM or not header.get("kid"):
            raise CredentialError(f"unsupported header {header!r}: ES256 with a kid is required")
        if header["kid"] not in {key.kid for key in keys}:
            raise CredentialError(f"no published key with kid {header['kid']!r}")
        result = jws.deserialize_compact(token, keys, algorithms=[ALGORITHM])
        credential = json.loads(result.payload)
    except CredentialError:
        raise
    except (JoseError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CredentialError(f"the credential does not verify: {exc}") from exc
    if not isinstance(credential, dict) or VC_CONTEXT not in credential.get("@context", []):
        raise CredentialError("the payload is not a VC 2.0 credential")
    return credential
