"""The applicant's fixed forms: the applying enterprise, materials, sending, confirmations and the supplement answer.
The question pages of a journey are built from the service's definition (app/portal/journey.py)."""

from __future__ import annotations

import uuid

from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import InputRequired, ValidationError

from app.forms import BaseForm, CommandForm, strip_control_characters
from app.i18n import _l
from services.applications.service import MAX_UPLOAD_BYTES, sniff_content_type


class EnterpriseForm(BaseForm):
    """The journey's page of kind ``enterprise``: which of the enterprises the applicant may act for applies."""

    enterprise = RadioField(_l("Which enterprise is applying?"),
                            validators=[InputRequired(_l("Select the enterprise that is applying."))],
                            invalid_choice_message=_l("Select the enterprise that is applying."))


class MaterialForm(BaseForm):
    files = MultipleFileField(_l("Choose files"))

    def uploads(self) -> list:
        return [f for f in (self.files.data or []) if getattr(f, "filename", "")]


class SubmitForm(BaseForm):
    submission_token = HiddenField()

    def validate_submission_token(self, field):
        try:
            uuid.UUID(hex=field.data or "")
        except ValueError:
            raise ValidationError(_l("This form has expired. Reload the page and try again.")) from None


class ConfirmForm(BaseForm):
    """A button that changes something (start, delete, remove a file): only the CSRF token."""


def check_upload(upload) -> None:
    """Size and type by content; raises ValidationError with a message the applicant can act on."""
    head = upload.stream.read(16)
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(_l("Each file must be 10 MB or smaller."))
    if sniff_content_type(head) is None:
        raise ValidationError(_l("Each file must be a PDF, JPEG or PNG."))


def supplement_form_class(items: list[dict]) -> type[CommandForm]:
    """The answer to a supplement notice: for each item, files (several) or, for a question, a written answer."""
    fields = {}
    for item in items:
        number = item["number"]
        fields[f"item_{number}"] = (TextAreaField(_l("Your answer"), filters=[strip_control_characters])
                                    if item["kind"] == "question" else MultipleFileField())
    return type("ItemisedSupplementForm", (CommandForm,), fields)
