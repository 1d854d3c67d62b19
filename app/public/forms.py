"""The public verification form: a licence number, checked before any look-up."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import ValidationError

from app.forms import BaseForm, max_length, required
from app.i18n import _, _l
from services.identity.identifiers import InvalidIdentifier, make_licence_number, validate_licence_number

EXAMPLE_NUMBER = make_licence_number("MARKET", 2026, 42)


def licence_number_problem(number: str, code: str) -> str:
    """What is wrong with a licence number, in words the reader can act on (``code`` from InvalidIdentifier)."""
    if code == "check":
        return _("The check character of %(number)s is wrong: the last character does not match the others. A "
                 "character was probably mistyped or two neighbours were swapped. Check the number and try again.",
                 number=number)
    return _("%(number)s is not a licence number. A licence number looks like %(example)s: the issuing agency, the "
             "year, six digits and a check character.", number=number, example=EXAMPLE_NUMBER)


class VerifyForm(BaseForm):
    number = StringField(_l("Licence number"), filters=[lambda value: value.strip() if value else value],
                         validators=[required(_l("Enter the licence number.")), max_length(40)])

    def validate_number(self, field):
        try:
            field.data = validate_licence_number(field.data)
        except InvalidIdentifier as exc:
            raise ValidationError(licence_number_problem(field.data, exc.code)) from None
