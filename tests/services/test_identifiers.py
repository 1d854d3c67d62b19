import random
import string
from datetime import date

import pytest

from services.identity.identifiers import (
    InvalidIdentifier,
    is_valid_licence_number,
    is_valid_reference,
    make_licence_number,
    make_reference,
    mask_resident_id,
    mod37_2_check_char,
    resident_id_check_char,
    uscc_check_char,
    validate_licence_number,
    validate_mobile,
    validate_reference,
    validate_resident_id,
    validate_uscc,
)

DEMO_RESIDENT_IDS = ["440106198803151235", "440104199206074560", "440111200101010025"]
DEMO_USCC = "91440106MA5CN8QX19"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
TYPED_CHARS = string.digits + string.ascii_uppercase + "*-"


def resident_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def assert_code(code, func, *args, **kwargs):
    with pytest.raises(InvalidIdentifier) as excinfo:
        func(*args, **kwargs)
    assert excinfo.value.code == code
    return excinfo.value


# --- errors -----------------------------------------------------------------------------------------------------


def test_invalid_identifier_is_a_value_error_with_code_and_kind():
    error = assert_code("check", validate_uscc, DEMO_USCC[:-1] + "8")
    assert isinstance(error, ValueError)
    assert error.kind == "uscc"
    assert str(error) == "check"


def test_invalid_identifier_rejects_unknown_codes():
    with pytest.raises(ValueError):
        InvalidIdentifier("typo")


@pytest.mark.parametrize(
    "func", [validate_resident_id, validate_uscc, validate_mobile, validate_reference, validate_licence_number]
)
def test_non_strings_and_empty_values_are_format_errors(func):
    assert_code("format", func, None)
    assert_code("format", func, "")


# --- resident identity numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", DEMO_RESIDENT_IDS)
def test_demo_resident_ids_validate(value):
    assert validate_resident_id(value) == value
    assert resident_id_check_char(value[:17]) == value[17]


def test_resident_id_is_normalised():
    with_x = next(
        resident_id(f"44010619880315{n:03d}")
        for n in range(1000)
        if resident_id_check_char(f"44010619880315{n:03d}") == "X"
    )
    assert validate_resident_id(f"  {with_x[:6]} {with_x[6:14]} {with_x[14:-1]}x ") == with_x
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in DEMO_RESIDENT_IDS[0])
    assert validate_resident_id(full_width) == DEMO_RESIDENT_IDS[0]


def test_resident_id_check_character_covers_every_remainder():
    seen = {resident_id_check_char(f"4401061988031{n:04d}") for n in range(200)}
    assert seen == set("10X98765432")


@pytest.mark.parametrize(
    "value", ["44010619880315123A", "4401061988O3151235", "44010619880315-235", "44010X198803151235"]
)
def test_resident_id_charset(value):
    assert_code("charset", validate_resident_id, value)


@pytest.mark.parametrize("value", ["44010619880315123", "4401061988031512355", "440106880315123"])
def test_resident_id_length(value):
    assert_code("length", validate_resident_id, value)


@pytest.mark.parametrize("area", ["040106", "940106", "190101", "290101", "720101", "840101", "660101", "100101"])
def test_resident_id_first_two_digits_are_a_province_of_gb_t_2260(area):
    """GB 11643 / GB/T 2260: characters 1-2 are a province-level division; 19, 29, 72, 84... are none."""
    assert_code("region", validate_resident_id, resident_id(area + "19880315123"))


@pytest.mark.parametrize("area", ["110101", "650102", "710000", "810000", "820000", "830000", "460100"])
def test_every_province_and_the_special_regions_pass(area):
    value = resident_id(area + "19880315123")
    assert validate_resident_id(value) == value


@pytest.mark.parametrize("birth", ["19880230", "19881301", "19880001", "18991231"])
def test_resident_id_birth_date_impossible(birth):
    assert_code("date", validate_resident_id, resident_id(f"440106{birth}123"), today=date(2026, 11, 25))


def test_resident_id_birth_date_in_the_future_has_its_own_code():
    assert_code("future", validate_resident_id, resident_id("44010620261126123"), today=date(2026, 11, 25))


def test_resident_id_born_today_is_valid():
    value = resident_id("44010620261125123")
    assert validate_resident_id(value, today=date(2026, 11, 25)) == value


def test_resident_id_check():
    value = DEMO_RESIDENT_IDS[0]
    for i in range(17):
        for digit in "0123456789":
            if digit != value[i]:
                mistyped = value[:i] + digit + value[i + 1 :]
                with pytest.raises(InvalidIdentifier) as excinfo:
                    validate_resident_id(mistyped)
                # A wrong digit in the date or area code may be caught by those rules first.
                assert excinfo.value.code in {"check", "date", "future", "region"}
    assert_code("check", validate_resident_id, value[:-1] + "X")


def test_resident_id_check_char_rejects_bad_input():
    assert_code("format", resident_id_check_char, "1234")
    assert_code("charset", resident_id_check_char, "4401061988031512A")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("440106198803151235", "440***********1235"),
        (" 44010619920607456x ", "440***********456X"),
        ("1234567", "*******"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_resident_id(value, masked):
    assert mask_resident_id(value) == masked


# --- unified social credit codes --------------------------------------------------------------------------------


def test_demo_uscc_validates():
    assert validate_uscc(DEMO_USCC) == DEMO_USCC
    assert validate_uscc(" 91440106ma5cn8qx19 ") == DEMO_USCC
    assert uscc_check_char(DEMO_USCC[:17]) == "9"


def test_uscc_check_31_means_0():
    rng = random.Random(32100)
    for _ in range(10_000):
        first17 = "91440106" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
        if sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, weights, strict=True)) % 31 == 0:
            assert uscc_check_char(first17) == "0"
            assert validate_uscc(first17 + "0") == first17 + "0"
            return
    pytest.fail("no sample with sum divisible by 31")


@pytest.mark.parametrize("letter", "IOSVZ")
def test_uscc_charset_excludes_ambiguous_letters(letter):
    assert_code("charset", validate_uscc, DEMO_USCC[:8] + letter + DEMO_USCC[9:])


def test_uscc_length_and_check():
    assert_code("length", validate_uscc, DEMO_USCC[:-1])
    assert_code("length", validate_uscc, DEMO_USCC + "0")
    for i in range(18):
        for char in USCC_ALPHABET:
            if char != DEMO_USCC[i]:
                with pytest.raises(InvalidIdentifier) as excinfo:
                    validate_uscc(DEMO_USCC[:i] + char + DEMO_USCC[i + 1 :])
                # A wrong authority, type or division character may be caught by those rules first.
                assert excinfo.value.code in ({"check", "authority", "region"} if i < 8 else {"check"})


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


@pytest.mark.parametrize("start", ["0", "B", "C", "X", "W"])
def test_uscc_registration_authority_must_be_assigned_by_gb_32100(start):
    """GB 32100 assigns registration authorities 1-9, A, N and Y; 0, B and the rest are none."""
    assert_code("authority", validate_uscc, uscc(start + "1440106MA5CN8QX1"))


@pytest.mark.parametrize("pair", ["94", "90", "54", "Y2", "23"])
def test_uscc_organisation_type_must_belong_to_its_authority(pair):
    assert_code("authority", validate_uscc, uscc(pair + "440106MA5CN8QX1"))


@pytest.mark.parametrize("pair", ["91", "92", "93", "11", "12", "51", "53", "N2", "Y1", "31"])
def test_uscc_assigned_authority_and_type_pass(pair):
    value = uscc(pair + "440106MA5CN8QX1")
    assert validate_uscc(value) == value


@pytest.mark.parametrize("division", ["4401A6", "A40106", "190106", "720106", "000000"])
def test_uscc_division_positions_3_to_8_are_a_gb_t_2260_division(division):
    assert_code("region", validate_uscc, uscc("91" + division + "MA5CN8QX1"))


def test_uscc_central_registration_division_100000_passes():
    value = uscc("11100000MA5CN8QX1")
    assert validate_uscc(value) == value


@pytest.mark.parametrize("typed", ["９１４４０１０６ＭＡ５ＣＮ８ＱＸ１９", "9144 0106 ma5c n8qx 19",
                                   "\u300091440106MA5CN8QX19"])
def test_uscc_full_width_lower_case_and_spaces_are_normalised(typed):
    assert validate_uscc(typed) == DEMO_USCC


# --- mobile numbers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13800138000",
        " 138 0013 8000 ",
        "138-0013-8000",
        "+8613800138000",
        "+86 138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_mobile_numbers_are_normalised(value):
    assert validate_mobile(value) == "13800138000"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1380013800", "format"),
        ("138001380001", "format"),
        ("23800138000", "format"),
        ("008613800138000", "format"),
        ("1380013800a", "charset"),
        ("(138)00138000", "charset"),
        ("+85213800138000", "charset"),
    ],
)
def test_mobile_numbers_invalid(value, code):
    assert_code(code, validate_mobile, value)


# --- MOD 37-2, references and licence numbers -----------------------------------------------------------------


def test_mod37_2_matches_the_standard_example():
    assert mod37_2_check_char("G123489654321") == "Y"


def test_make_reference():
    reference = make_reference("gz", date(2026, 11, 25), 123)
    assert reference.startswith("GZ-20261125-000123-")
    assert validate_reference(reference) == reference
    assert validate_reference(f"  {reference.lower()}\n") == reference
    assert is_valid_reference(reference)
    assert make_reference("GZ", date(2026, 11, 25), 1_234_567).startswith("GZ-20261125-1234567-")


@pytest.mark.parametrize(
    ("prefix", "serial"), [("", 1), ("G-Z", 1), ("GZ_1", 1), ("1GZ", 1), ("ABCDEFGHIJK", 1), ("GZ", -1), (None, 1)]
)
def test_make_reference_rejects_bad_parts(prefix, serial):
    assert_code("format", make_reference, prefix, date(2026, 11, 25), serial)


def _single_substitutions(value):
    for i, original in enumerate(value):
        for char in TYPED_CHARS:
            if char != original:
                yield value[:i] + char + value[i + 1 :]


def _adjacent_transpositions(value):
    for i in range(len(value) - 1):
        if value[i] != value[i + 1]:
            yield value[:i] + value[i + 1] + value[i] + value[i + 2 :]


def _reference_with_check(check):
    return next(r for n in range(10_000) if (r := make_reference("GZ", date(2026, 11, 25), n)).endswith(check))


@pytest.mark.parametrize("check", ["0", "K", "*"])
def test_reference_single_substitutions_are_caught(check):
    sample = _reference_with_check(check)
    check_codes = 0
    for mistyped in _single_substitutions(sample):
        with pytest.raises(InvalidIdentifier) as excinfo:
            validate_reference(mistyped)
        # Substitutions that keep the layout and the date intact can only be caught by the check character.
        if excinfo.value.code == "check":
            check_codes += 1
        assert not is_valid_reference(mistyped)
    assert check_codes > 100


def test_reference_digit_substitutions_give_check_code():
    sample = make_reference("GZ", date(2026, 11, 25), 123)
    for i in range(12, 18):
        for digit in "0123456789":
            if digit != sample[i]:
                assert_code("check", validate_reference, sample[:i] + digit + sample[i + 1 :])


def test_reference_adjacent_transpositions_are_caught():
    rng = random.Random(7064)
    samples = [_reference_with_check("*")] + [
        make_reference(
            rng.choice(["GZ", "NS", "HZ1", "A", "ABCDEFGHIJ"]),
            date.fromordinal(date(2026, 1, 1).toordinal() + rng.randrange(730)),
            rng.randrange(1_000_000),
        )
        for _ in range(300)
    ]
    for sample in samples:
        for swapped in _adjacent_transpositions(sample):
            assert not is_valid_reference(swapped), (sample, swapped)


def test_reference_errors():
    good = make_reference("GZ", date(2026, 11, 25), 123)
    assert_code("format", validate_reference, good.replace("-", ""))
    assert_code("format", validate_reference, good[:-2])
    assert_code("format", validate_reference, "GZ-2026-000123-" + good[-1])
    assert_code("charset", validate_reference, good.replace("-", "_"))
    assert_code("charset", validate_reference, good.replace("-", "/"))
    body = "GZ2026023000012"
    assert_code("date", validate_reference, f"GZ-20260230-000012-{mod37_2_check_char(body)}")


def test_make_licence_number():
    number = make_licence_number("market", 2026, 42)
    assert number.startswith("MARKET-2026-000042-")
    assert validate_licence_number(f" {number.lower()} ") == number
    assert is_valid_licence_number(number)
    assert not is_valid_reference(number)
    assert not is_valid_licence_number(make_reference("GZ", date(2026, 11, 25), 1))


@pytest.mark.parametrize(
    ("agency", "year", "serial"),
    [
        ("MARKET_SUPERVISION", 2026, 1),
        ("M-S", 2026, 1),
        ("A" * 17, 2026, 1),
        ("MARKET", 999, 1),
        ("MARKET", 10_000, 1),
        ("MARKET", 2026, -1),
    ],
)
def test_make_licence_number_rejects_bad_parts(agency, year, serial):
    assert_code("format", make_licence_number, agency, year, serial)


def test_licence_number_single_substitutions_and_transpositions_are_caught():
    sample = make_licence_number("MARKET", 2026, 42)
    for mistyped in _single_substitutions(sample):
        assert not is_valid_licence_number(mistyped), mistyped
    for i in range(7, 11):
        for digit in "0123456789":
            if digit != sample[i]:
                assert_code("check", validate_licence_number, sample[:i] + digit + sample[i + 1 :])
    for swapped in _adjacent_transpositions(sample):
        assert not is_valid_licence_number(swapped), swapped


def test_is_valid_never_raises():
    good = make_reference("GZ", date(2026, 11, 25), 123)
    wrong_check = good[:-1] + ("1" if good[-1] == "0" else "0")
    for value in (None, 42, "", "???", wrong_check):
        assert is_valid_reference(value) is False
        assert is_valid_licence_number(value) is False
