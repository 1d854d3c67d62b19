"""Issue 19, point 11: a mistyped identity number is told what is wrong with it, one message per kind of error, in
the three languages; the forms' examples are valid numbers of the right sex."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask_babel import force_locale

from app.portal.journey import error_message
from services.catalogue.answers import AnswerError, clean
from services.catalogue.definitions import catalogue
from services.identity.identifiers import resident_id_check_char, validate_resident_id

TODAY = dt.date(2026, 12, 4)


def number(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


WRONG = {  # one number per kind of error (GB 11643 with GB/T 2260)
    "length": "44010619900101122",
    "charset": "4401061990010112A7",
    "region": number("72010619900101122"),
    "date": number("44010619900230122"),
    "future": number("44010620270101122"),
    "check": "440106199001011228",
}


def test_each_kind_of_error_has_its_own_message_in_three_languages(app):
    service = catalogue().services["newborn"]
    page = service.field_page("mother_id")
    spec = next(f for f in page.fields if f.name == "mother_id")
    with app.test_request_context("/"):
        for language in ("zh_Hans_CN", "zh_Hant_HK", "en"):
            with force_locale(language):
                messages = {}
                for kind, typed in WRONG.items():
                    _value, code, params = clean(spec, typed, TODAY)
                    assert code == "invalid_id" and params["reason"] == kind, (kind, params)
                    messages[kind] = error_message(service, page, AnswerError("mother_id", code, params, page.slug))
            assert len(set(messages.values())) == len(WRONG), (language, messages)  # no two kinds read the same
            if language == "en":
                assert "province" in messages["region"] and "future" in messages["future"]


@pytest.mark.parametrize("field", ["mother_id", "father_id"])
def test_the_examples_in_the_hints_are_valid_numbers_of_the_right_sex(field):
    spec = catalogue().services["newborn"].fields[field]
    for language in ("zh", "zh_hant", "en"):
        example = re.search(r"\d{17}[\dX]", getattr(spec.hint, language)).group(0)
        assert validate_resident_id(example, today=TODAY) == example
        assert clean(spec, example, TODAY)[1] is None  # a woman's number for the mother, a man's for the father


def test_full_width_lower_case_and_spaces_are_the_same_number():
    spec = catalogue().services["newborn"].fields["mother_id"]
    typed = "４４０１０６ １９９００１０１ １２２７"
    assert clean(spec, typed, TODAY)[0] == "440106199001011227"
