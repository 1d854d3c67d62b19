"""What is wrong with a typed resident identity number, one message per kind of error (InvalidIdentifier codes), for
every field that takes one: the service forms' answers and the agent of a mandate."""

from __future__ import annotations

from app.i18n import _

_RESIDENT_ID = {
    "length": lambda label: _("“%(label)s” must be 18 characters: 17 digits, then a digit or X.", label=label),
    "charset": lambda label: _("“%(label)s” may contain digits only, and X only as the last character.",
                               label=label),
    "region": lambda label: _("The first two digits of “%(label)s” are not the code of a province, autonomous region "
                              "or municipality: check them.", label=label),
    "date": lambda label: _("Characters 7 to 14 of “%(label)s” are not a real date of birth: check them.",
                            label=label),
    "future": lambda label: _("Characters 7 to 14 of “%(label)s” are a date of birth in the future: check them.",
                              label=label),
    "check": lambda label: _("The last character of “%(label)s” does not match the others: check each digit.",
                             label=label),
}


def resident_id_problem(label: str, code: str | None) -> str:
    """The message for ``code``; a code without its own (an empty value, say) reads as the length message."""
    return _RESIDENT_ID.get(code or "", _RESIDENT_ID["length"])(label)
