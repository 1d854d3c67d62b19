"""Validation and generation of the identifiers OneWindow handles.

* Resident identity numbers (GB 11643, check character ISO 7064 MOD 11-2).
* Unified social credit codes of enterprises and institutions (GB 32100).
* Mainland mobile numbers.
* Case reference numbers and licence numbers of our own, protected by an ISO 7064 MOD 37-2 check character.

Every validator normalises its input and returns the canonical form, or raises :class:`InvalidIdentifier` whose
``code`` the web layer turns into a translated message. Nothing here produces user-facing text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from services import clock

__all__ = [
    "ERROR_CODES",
    "InvalidIdentifier",
    "is_valid_licence_number",
    "is_valid_reference",
    "make_licence_number",
    "make_reference",
    "mask_resident_id",
    "mod37_2_check_char",
    "normalise_identifier",
    "resident_id_check_char",
    "uscc_check_char",
    "validate_licence_number",
    "validate_mobile",
    "validate_reference",
    "validate_resident_id",
    "validate_uscc",
]

#: ``format``: not a text, empty, or a wrong layout; ``length``: the wrong number of characters; ``charset``: a
#: character that cannot occur in this identifier (or not in that position); ``date``: an embedded date that does not
#: exist (or is before 1900); ``future``: a date of birth after today; ``check``: the check character does not match
#: (typically a mistyped character); ``region``: no province, autonomous region, municipality or special
#: administrative region of GB/T 2260 has that code; ``authority``: a USCC's registration authority or organisation
#: type that GB 32100 does not assign. Each has its own message where people type identifiers.
ERROR_CODES = frozenset({"format", "length", "charset", "date", "future", "check", "region", "authority"})


class InvalidIdentifier(ValueError):
    """An identifier failed validation.

    ``code`` is one of :data:`ERROR_CODES`; ``kind`` names the identifier (``resident_id``, ``uscc``, ``mobile``,
    ``reference``, ``licence_number``) so one handler can pick the right message for the field.
    """

    def __init__(self, code: str, kind: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown identifier error code {code!r}")
        super().__init__(code)
        self.code = code
        self.kind = kind

    def __repr__(self) -> str:
        return f"InvalidIdentifier({self.code!r}, kind={self.kind!r})"


def normalise_identifier(value: str) -> str:
    """The one normal form of a typed identifier: NFKC (full-width digits and letters, what a Chinese input method
    types, become ASCII; an ideographic space a space), every whitespace dropped, upper case. Every identifier field
    and every search by identifier goes through this, so "４４０１ ０６…x" and "440106…X" are the same number."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def _normalise(value: object, kind: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidIdentifier("format", kind)
    return normalise_identifier(value)


# --- Administrative divisions (GB/T 2260) --------------------------------------------------------------------------

#: The first two digits of a GB/T 2260 division code: the provinces, autonomous regions and municipalities (11-65),
#: Taiwan (71), Hong Kong (81) and Macao (82). 83 is not in GB/T 2260 but is the code the Ministry of Public Security
#: gives residence permits of Taiwan residents (港澳台居民居住证: 810000, 820000, 830000), which carry a citizen
#: identity number of the same form.
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15",  # Beijing, Tianjin, Hebei, Shanxi, Inner Mongolia
    "21", "22", "23",  # Liaoning, Jilin, Heilongjiang
    "31", "32", "33", "34", "35", "36", "37",  # Shanghai, Jiangsu, Zhejiang, Anhui, Fujian, Jiangxi, Shandong
    "41", "42", "43", "44", "45", "46",  # Henan, Hubei, Hunan, Guangdong, Guangxi, Hainan
    "50", "51", "52", "53", "54",  # Chongqing, Sichuan, Guizhou, Yunnan, Tibet
    "61", "62", "63", "64", "65",  # Shaanxi, Gansu, Qinghai, Ningxia, Xinjiang
    "71", "81", "82", "83",
})


# --- Resident identity number (GB 11643) --------------------------------------------------------------------------

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_DIGITS = frozenset("0123456789")


def resident_id_check_char(first17: str) -> str:
    """Return the GB 11643 check character (ISO 7064 MOD 11-2) for the first 17 digits of a resident ID."""
    if not isinstance(first17, str) or len(first17) != 17:
        raise InvalidIdentifier("format", "resident_id")
    if not _DIGITS.issuperset(first17):
        raise InvalidIdentifier("charset", "resident_id")
    total = sum(int(ch) * weight for ch, weight in zip(first17, _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11]


def validate_resident_id(value: str, *, today: date | None = None) -> str:
    """Validate an 18-character resident identity number and return it normalised (spaces removed, ``x`` → ``X``).

    Checks, each with its own code: 17 digits plus a digit or ``X`` (``charset``), 18 characters (``length``); a
    first two digits that are a province of GB/T 2260 (``region``); a birth date (characters 7–14) that exists and is
    not before 1900 (``date``) and not after ``today`` (``future``); the MOD 11-2 check character (``check``).
    """
    kind = "resident_id"
    normalised = _normalise(value, kind)
    if not _DIGITS.union("X").issuperset(normalised):
        raise InvalidIdentifier("charset", kind)
    if len(normalised) != 18:
        raise InvalidIdentifier("length", kind)
    if "X" in normalised[:17]:
        raise InvalidIdentifier("charset", kind)
    if normalised[:2] not in PROVINCE_CODES:
        raise InvalidIdentifier("region", kind)
    try:
        birth = date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))
    except ValueError:
        raise InvalidIdentifier("date", kind) from None
    if birth.year < 1900:
        raise InvalidIdentifier("date", kind)
    if birth > (today or clock.today()):
        raise InvalidIdentifier("future", kind)
    if resident_id_check_char(normalised[:17]) != normalised[17]:
        raise InvalidIdentifier("check", kind)
    return normalised


def mask_resident_id(value: str) -> str:
    """Return the ID with only the first 3 and last 4 characters visible (``440***********1235``).

    Works on any stored value without validating it, because masking runs when displaying data and must never fail;
    a value of 7 characters or fewer is masked completely since showing 3 + 4 of it would show all of it.
    """
    if value is None:
        return ""
    compact = "".join(str(value).split()).upper()
    if len(compact) <= 7:
        return "*" * len(compact)
    return compact[:3] + "*" * (len(compact) - 7) + compact[-4:]


# --- Unified social credit code (GB 32100) ------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_VALUES = {ch: i for i, ch in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a unified social credit code."""
    if not isinstance(first17, str) or len(first17) != 17:
        raise InvalidIdentifier("format", "uscc")
    first17 = first17.upper()
    if not set(first17) <= _USCC_VALUES.keys():
        raise InvalidIdentifier("charset", "uscc")
    total = sum(_USCC_VALUES[ch] * weight for ch, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


# GB 32100-2015 (and its later assignments): the registration authorities (character 1) and, for each, the
# organisation types it registers (character 2). 1 institutional staffing (机构编制), 2 foreign affairs, 3 justice,
# 4 culture, 5 civil affairs, 6 tourism, 7 religious affairs, 8 trade unions, 9 market supervision (工商), A the
# Central Military Commission's staffing office, N agriculture (rural collective economic organisations), Y others.
USCC_AUTHORITY_TYPES = {
    "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129", "7": "129", "8": "19",
    "9": "123", "A": "19", "N": "1239", "Y": "1",
}
# Characters 3-8: the registering authority's GB/T 2260 division; organisations registered centrally use 100000.
_USCC_CENTRAL = "10"


def validate_uscc(value: str) -> str:
    """Validate an 18-character unified social credit code and return it upper-cased without spaces.

    Checks, each with its own code: the GB 32100 alphabet (``charset``), 18 characters (``length``); a registration
    authority and organisation type GB 32100 assigns (``authority``); characters 3–8 a division code of six digits
    in a province of GB/T 2260, or 100000 for central registration (``region``); the check character (``check``).
    """
    kind = "uscc"
    normalised = _normalise(value, kind)
    if not set(normalised) <= _USCC_VALUES.keys():
        raise InvalidIdentifier("charset", kind)
    if len(normalised) != 18:
        raise InvalidIdentifier("length", kind)
    if normalised[1] not in USCC_AUTHORITY_TYPES.get(normalised[0], ""):
        raise InvalidIdentifier("authority", kind)
    division = normalised[2:8]
    if not _DIGITS.issuperset(division) or division[:2] not in PROVINCE_CODES | {_USCC_CENTRAL}:
        raise InvalidIdentifier("region", kind)
    if uscc_check_char(normalised[:17]) != normalised[17]:
        raise InvalidIdentifier("check", kind)
    return normalised


# Positions 9-17 of a USCC are the organisation's code (GB 11714): 8 characters and a check character.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUES = {ch: i for i, ch in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def organisation_code_check_char(first8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body (11 - weighted sum mod 11; 10 is X)."""
    total = sum(_ORG_VALUES[ch] * weight for ch, weight in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(authority: str, kind: str, division: str, serial: int) -> str:
    """A unified social credit code for a newly registered organisation: registration authority (``9``: market
    supervision), organisation type (``1``: enterprise), the 6-digit division, an organisation code from ``serial``
    with its GB 11714 check character, and the GB 32100 check character."""
    if len(division) != 6 or not division.isdigit() or not 0 <= serial < 10**8:
        raise ValueError("division must be 6 digits and serial fit 8 digits")
    body = f"{serial:08d}"
    first17 = f"{authority}{kind}{division}{body}{organisation_code_check_char(body)}"
    return first17 + uscc_check_char(first17)


# --- Mobile numbers ------------------------------------------------------------------------------------------------


def validate_mobile(value: str) -> str:
    """Validate a mainland mobile number and return its 11 digits.

    Spaces and hyphens are dropped and a leading ``+86`` is accepted, as people copy numbers in those forms.
    """
    kind = "mobile"
    normalised = _normalise(value, kind).replace("-", "")
    if normalised.startswith("+86"):
        normalised = normalised[3:]
    if not _DIGITS.issuperset(normalised):
        raise InvalidIdentifier("charset", kind)
    if len(normalised) != 11 or normalised[0] != "1":
        raise InvalidIdentifier("format", kind)
    return normalised


# --- Case reference numbers and licence numbers ---------------------------------------------------------------------
#
# Both are ours, so we chose the check: ISO 7064 MOD 37-2 over the alphanumerics (hyphens ignored). As a pure system
# with a prime modulus and weights 2^i mod 37 (all distinct for strings up to 36 characters), it catches every single
# substitution and every transposition of two adjacent characters. The hybrid MOD 37,36 would avoid the '*' check
# character, but it lets a few adjacent transpositions through, and catching those is the point of the check.

_MOD37_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_MOD37_VALUES = {ch: i for i, ch in enumerate(_MOD37_ALPHABET)}
_REFERENCE_CHARSET = frozenset(_MOD37_ALPHABET + "-")

_PREFIX_RE = re.compile(r"[A-Z][A-Z0-9]{0,9}")
_AGENCY_RE = re.compile(r"[A-Z][A-Z0-9]{0,15}")
_REFERENCE_RE = re.compile(r"([A-Z][A-Z0-9]{0,9})-(\d{8})-(\d{6,})-([0-9A-Z*])")
_LICENCE_RE = re.compile(r"([A-Z][A-Z0-9]{0,15})-(\d{4})-(\d{6,})-([0-9A-Z*])")


def _mod37_2_checksum(chars: str) -> int:
    total = 0
    for ch in chars:
        total = (2 * total + _MOD37_VALUES[ch]) % 37
    return total


def mod37_2_check_char(data: str) -> str:
    """Return the ISO 7064 MOD 37-2 check character (``0-9``, ``A-Z`` or ``*``) for ``data`` (``0-9A-Z`` only).

    A string with its check character appended has a checksum of 1, the ISO 7064 convention
    (``G123489654321`` → ``Y``, the standard's example).
    """
    if not data or not set(data) <= set(_MOD37_ALPHABET[:36]):
        raise InvalidIdentifier("charset")
    return _MOD37_ALPHABET[(1 - 2 * _mod37_2_checksum(data)) % 37]


def _check_and_normalise(value: object, pattern: re.Pattern[str], kind: str) -> tuple[str, re.Match[str]]:
    if not isinstance(value, str):
        raise InvalidIdentifier("format", kind)
    normalised = normalise_identifier(value)
    if not _REFERENCE_CHARSET.issuperset(normalised):
        raise InvalidIdentifier("charset", kind)
    match = pattern.fullmatch(normalised)
    if match is None:
        raise InvalidIdentifier("format", kind)
    return normalised, match


def _check_mod37(normalised: str, kind: str) -> None:
    if _mod37_2_checksum(normalised.replace("-", "")) != 1:
        raise InvalidIdentifier("check", kind)


def make_reference(prefix: str, day: date, serial: int) -> str:
    """Build a case reference ``PREFIX-YYYYMMDD-NNNNNN-C`` such as ``GZ-20261125-000123-K``.

    ``prefix`` is 1–10 letters or digits starting with a letter (upper-cased here), ``day`` the day the case was
    received and ``serial`` a non-negative counter, zero-padded to at least 6 digits. ``C`` is the MOD 37-2 check
    character over all the alphanumerics, so it may be ``*``.
    """
    prefix = prefix.upper() if isinstance(prefix, str) else ""
    if not _PREFIX_RE.fullmatch(prefix) or not isinstance(serial, int) or serial < 0:
        raise InvalidIdentifier("format", "reference")
    body = f"{prefix}-{day:%Y%m%d}-{serial:06d}"
    return f"{body}-{mod37_2_check_char(body.replace('-', ''))}"


def validate_reference(value: str) -> str:
    """Validate a case reference in any case with surrounding spaces and return it upper-cased and stripped.

    Raises ``format`` for a wrong layout, ``date`` for an impossible date and ``check`` when the check character does
    not match, which is what a single mistyped character or two swapped neighbours produce.
    """
    kind = "reference"
    normalised, match = _check_and_normalise(value, _REFERENCE_RE, kind)
    stamp = match.group(2)
    try:
        date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    except ValueError:
        raise InvalidIdentifier("date", kind) from None
    _check_mod37(normalised, kind)
    return normalised


def is_valid_reference(value: object) -> bool:
    """Return whether ``value`` is a valid case reference; never raises."""
    try:
        validate_reference(value)  # type: ignore[arg-type]
    except InvalidIdentifier:
        return False
    return True


def make_licence_number(agency_code: str, year: int, serial: int) -> str:
    """Build a licence number ``AGENCY-YYYY-NNNNNN-C`` such as ``MARKET-2026-000042-7``.

    ``agency_code`` is 1–16 letters or digits starting with a letter (upper-cased here; no underscores, which the
    check could not protect), ``year`` the year of issue, ``serial`` a non-negative counter per agency and year.
    ``C`` is the MOD 37-2 check character, as for case references.
    """
    agency_code = agency_code.upper() if isinstance(agency_code, str) else ""
    if (
        not _AGENCY_RE.fullmatch(agency_code)
        or not isinstance(year, int)
        or not 1000 <= year <= 9999
        or not isinstance(serial, int)
        or serial < 0
    ):
        raise InvalidIdentifier("format", "licence_number")
    body = f"{agency_code}-{year:04d}-{serial:06d}"
    return f"{body}-{mod37_2_check_char(body.replace('-', ''))}"


def validate_licence_number(value: str) -> str:
    """Validate a licence number in any case with surrounding spaces and return it upper-cased and stripped."""
    kind = "licence_number"
    normalised, _ = _check_and_normalise(value, _LICENCE_RE, kind)
    _check_mod37(normalised, kind)
    return normalised


def is_valid_licence_number(value: object) -> bool:
    """Return whether ``value`` is a valid licence number; never raises."""
    try:
        validate_licence_number(value)  # type: ignore[arg-type]
    except InvalidIdentifier:
        return False
    return True
