"""The application form for opening a restaurant."""

from __future__ import annotations

import uuid

from flask_wtf.file import FileField, MultipleFileField
from wtforms import HiddenField, IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, ValidationError

from app.forms import BaseForm, CommandForm, max_length, required
from app.i18n import _l
from services.applications.service import MAX_UPLOAD_BYTES, sniff_content_type


class RestaurantForm(BaseForm):
    enterprise = RadioField(_l("Which enterprise is applying?"),
                            validators=[InputRequired(_l("Select the enterprise that is applying."))],
                            invalid_choice_message=_l("Select the enterprise that is applying."))
    shop_name = StringField(_l("Name of the restaurant"), validators=[
        required(_l("Enter the name of the restaurant.")), max_length(100)])
    address = StringField(_l("Address of the premises"), validators=[
        required(_l("Enter the address of the premises.")), max_length(200)])
    floor_area = IntegerField(_l("Floor area in square metres"),
                              invalid_value_message=_l("Enter the floor area as a whole number of square metres, "
                                                       "like 120."), validators=[
        InputRequired(_l("Enter the floor area as a whole number of square metres, like 120.")),
        NumberRange(min=1, max=100000, message=_l("Enter a floor area between 1 and 100,000 square metres."))])
    seats = IntegerField(_l("Number of seats"),
                         invalid_value_message=_l("Enter the number of seats as a whole number, like 40."), validators=[
        InputRequired(_l("Enter the number of seats as a whole number, like 40.")),
        NumberRange(min=0, max=10000, message=_l("Enter a number of seats between 0 and 10,000."))])
    signboard = RadioField(_l("Will you put up an outdoor signboard?"),
                           choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
                           validators=[InputRequired(_l("Select yes if you will put up an outdoor signboard."))],
                           invalid_choice_message=_l("Select yes if you will put up an outdoor signboard."))
    premises_proof = FileField(_l("Proof of premises (property certificate or lease)"))
    submission_token = HiddenField()

    def validate_submission_token(self, field):
        try:
            uuid.UUID(hex=field.data or "")
        except ValueError:
            raise ValidationError(_l("This form has expired. Reload the page and try again.")) from None

    def validate_premises_proof(self, field):
        upload = field.data
        if upload is None or not getattr(upload, "filename", ""):
            raise ValidationError(_l("Upload the proof of premises as a PDF, JPEG or PNG file."))
        check_upload(upload)

    def answers(self) -> dict:
        return {"shop_name": self.shop_name.data.strip(), "address": self.address.data.strip(),
                "floor_area": self.floor_area.data, "seats": self.seats.data,
                "signboard": self.signboard.data == "yes"}


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


class SupplementForm(CommandForm):
    files = MultipleFileField(_l("Files for the missing materials"))

    def validate_files(self, field):
        uploads = [f for f in (field.data or []) if getattr(f, "filename", "")]
        if not uploads:
            raise ValidationError(_l("Upload at least one file with the missing materials."))
        if len(uploads) > 10:
            raise ValidationError(_l("Upload 10 files or fewer at a time."))
        for upload in uploads:
            check_upload(upload)
