"""Shared form plumbing: translated messages for the validators every form uses."""

from __future__ import annotations

import re
import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from app.i18n import _l

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control_characters(value):
    """Control characters (NUL and friends) are never meaningful in a form and would break the page echoing them."""
    return _CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


class BaseForm(FlaskForm):
    """A form whose errors the error summary lists in field order, and whose text never carries control characters."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters") or ())
            if issubclass(unbound_field.field_class, StringField):
                filters.insert(0, strip_control_characters)
            return unbound_field.bind(form=form, filters=filters, **options)

    def error_items(self) -> list[tuple[str, str]]:
        items = []
        for field in self:
            for error in field.errors:
                items.append((field.id, str(error)))
        return items


class CommandForm(BaseForm):
    """A form that changes something: its hidden command id makes a double submission change it once."""

    command_id = HiddenField(default=lambda: uuid.uuid4().hex)

    def validate_command_id(self, field):
        try:
            uuid.UUID(hex=field.data or "")
        except ValueError:
            raise ValidationError(_l("This form has expired. Reload the page and try again.")) from None


def required(message=None):
    return DataRequired(message=message or _l("This field is required."))


def max_length(n: int):
    return Length(max=n, message=_l("Enter %(max)d characters or fewer.", max=n))


class BlankableIntegerField(IntegerField):
    """A whole number that may be left blank (None) when the chosen option does not need it."""

    def process_formdata(self, valuelist):
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        super().process_formdata(valuelist)
