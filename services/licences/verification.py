"""What public verification tells about a licence, and the holder check ("does this name and identity number match?").

Licence numbers count up per agency and year with a public check character, so anyone can walk them. Rather than
make the numbers unguessable (they are printed, read aloud and typed by people, and the GB/T 36904 identifier is
sequential too), the design makes walking them pointless: looked up by number, a person's licence says only what a
relying party needs to know about the document — its type, issuer, status and validity — and nothing about the
person (no name, no identity number, not even masked, no scope such as a residence permit's district, and no
credential, which carries the masked holder). Whoever walks every number learns how many licences of each type an
agency issued, which the agencies publish anyway (art. 40 grants are public).

Who has a reason to know more gets it another way:
- the holder shares a link (``services.licences.sharing``), which shows the licence's details;
- a relying party with the holder in front of them (a landlord, a bank) enters the holder's name and identity number
  and learns only "matches" or "does not match" (``holder_matches``). The app limits these checks per client address
  and per licence (``app.public.holder_check``), so guessing an identity number for a known licence number —
  about a thousand sequence numbers once area and birth date are guessed, and the name on top — takes years.

An enterprise's licence is public information (it hangs on the premises' wall and the enterprise register publishes
the name and credit code): it keeps its holder and its details.
"""

from __future__ import annotations

import datetime as dt
import hmac
import unicodedata

from services.errors import ValidationFailed
from services.identity.identifiers import InvalidIdentifier, validate_resident_id
from services.licences.credentials import effective_status, public_holder
from services.licences.models import Licence


def is_enterprise_licence(licence: Licence) -> bool:
    return licence.holder_enterprise_id is not None


def public_facts(licence: Licence, public_url: str, *, shared: bool = False, today: dt.date | None = None) -> dict:
    """The verification facts as JSON-ready data. For a person's licence looked up by number (``shared`` False):
    type, issuer, status and validity only; the holder is ``{"kind": "person"}``."""
    licence_type, agency = licence.licence_type, licence.agency
    base = public_url.rstrip("/")
    facts = {
        "number": licence.number,
        "status": effective_status(licence, today).value,
        "status_reason": licence.status_reason or None,
        "type": {"code": licence_type.code, "name_zh": licence_type.name_zh,
                 "name_zh_hant": licence_type.name_zh_hant, "name_en": licence_type.name_en},
        "issuer": {"code": agency.code, "name_zh": agency.name_zh, "name_zh_hant": agency.name_zh_hant,
                   "name_en": agency.name_en},
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "issued_at": licence.issued_at.isoformat(),
        "verification_url": f"{base}/verify/{licence.number}",
        "jwks_url": f"{base}/.well-known/jwks.json",
    }
    if is_enterprise_licence(licence) or shared:
        holder_name, holder_identifier = public_holder(licence)
        facts["holder"] = {"name": holder_name, "identifier": holder_identifier,
                           "kind": "enterprise" if is_enterprise_licence(licence) else "person"}
        facts["scope"] = licence.scope or ""
        facts["credential"] = licence.credential_jws
    else:
        facts["holder"] = {"kind": "person"}
        facts["holder_check"] = bool(licence.holder_identifier)
    return facts


def _same_name(a: str, b: str) -> bool:
    # People type names with stray spaces, full-width forms or another case ("Zhang San"): compare what they mean.
    def normal(name: str) -> str:
        return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()

    return hmac.compare_digest(normal(a).encode(), normal(b).encode())


def holder_matches(licence: Licence, *, name: str, identity_number: str) -> bool:
    """Whether ``name`` and ``identity_number`` are both the person's the licence was issued to.

    Refuses (ValidationFailed) a malformed identity number, so a typo is not answered "does not match", and a
    licence whose holder has no identity number on record (a newborn's) or that an enterprise holds (its holder is
    public). Says nothing else: not which of the two differs."""
    if is_enterprise_licence(licence):
        raise ValidationFailed("holder_is_enterprise")
    if not licence.holder_identifier:
        raise ValidationFailed("holder_has_no_identifier")
    if not (name or "").strip():
        raise ValidationFailed("holder_name_missing", field="name")
    try:
        number = validate_resident_id(identity_number or "")
    except InvalidIdentifier as exc:
        raise ValidationFailed("holder_identifier_invalid", field="identity_number", reason=exc.code) from None
    same_number = hmac.compare_digest(number.encode(), licence.holder_identifier.upper().encode())
    return _same_name(name, licence.holder_name) and same_number
