"""Shared form plumbing: translated messages for the validators every form uses."""

from __future__ import annotations

import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length, ValidationError

from app.i18n import _l


class BaseForm(FlaskForm):
    """A form whose errors the error summary lists in field order."""

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
