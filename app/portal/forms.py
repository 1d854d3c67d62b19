"""The applicant's forms: one WTForms class per page of each online application, the journeys that order those pages
into sections, the material upload form and the supplement answer."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from flask_wtf.file import MultipleFileField
from wtforms import DateField, HiddenField, IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, ValidationError

from app.forms import BaseForm, CommandForm, max_length, required
from app.i18n import _l
from services.applications.service import MAX_UPLOAD_BYTES, sniff_content_type
from services.identity.identifiers import InvalidIdentifier, validate_mobile, validate_resident_id

YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]
RESIDENCE_MONTHS = 6


class PageForm(BaseForm):
    """One page of an application: its heading, the answers it holds, and how they read back on the check page."""

    heading = ""
    answer_fields: tuple[str, ...] = ()

    @classmethod
    def initial(cls, answers: dict) -> dict:
        """The form's data from saved answers (to show a page again, prefilled)."""
        return {name: answers[name] for name in cls.answer_fields if answers.get(name) is not None}

    def to_answers(self) -> dict:
        return {name: _clean(self[name].data) for name in self.answer_fields}

    def summary(self) -> list[tuple[str, str]]:
        """(question, answer as shown) for the check-your-answers page."""
        rows = []
        for name in self.answer_fields:
            field = self[name]
            value = field.data
            if isinstance(field, RadioField):
                value = next((str(c.label) for c in field.choices if str(c.value) == str(value)), "")
            rows.append((str(field.label.text), "" if value is None else str(value)))
        return rows


def _clean(value):
    return value.strip() if isinstance(value, str) else value


class EnterpriseForm(PageForm):
    heading = _l("Which enterprise is applying?")
    enterprise = RadioField(_l("Which enterprise is applying?"),
                            validators=[InputRequired(_l("Select the enterprise that is applying."))],
                            invalid_choice_message=_l("Select the enterprise that is applying."))


class RestaurantNameForm(PageForm):
    heading = _l("The restaurant's name and address")
    answer_fields = ("shop_name", "address")
    shop_name = StringField(_l("Name of the restaurant"), validators=[
        required(_l("Enter the name of the restaurant.")), max_length(100)])
    address = StringField(_l("Address of the premises"), validators=[
        required(_l("Enter the address of the premises.")), max_length(200)])


class RestaurantSizeForm(PageForm):
    heading = _l("The size of the restaurant")
    answer_fields = ("floor_area", "seats")
    floor_area = IntegerField(_l("Floor area in square metres"),
                              invalid_value_message=_l("Enter the floor area as a whole number of square metres, "
                                                       "like 120."), validators=[
        InputRequired(_l("Enter the floor area as a whole number of square metres, like 120.")),
        NumberRange(min=1, max=100000, message=_l("Enter a floor area between 1 and 100,000 square metres."))])
    seats = IntegerField(_l("Number of seats"),
                         invalid_value_message=_l("Enter the number of seats as a whole number, like 40."), validators=[
        InputRequired(_l("Enter the number of seats as a whole number, like 40.")),
        NumberRange(min=0, max=10000, message=_l("Enter a number of seats between 0 and 10,000."))])


class SignboardForm(PageForm):
    heading = _l("Will you put up an outdoor signboard?")
    answer_fields = ("signboard",)
    signboard = RadioField(_l("Will you put up an outdoor signboard?"), choices=YES_NO,
                           validators=[InputRequired(_l("Select yes if you will put up an outdoor signboard."))],
                           invalid_choice_message=_l("Select yes if you will put up an outdoor signboard."))

    @classmethod
    def initial(cls, answers: dict) -> dict:
        if answers.get("signboard") is None:
            return {}
        return {"signboard": "yes" if answers["signboard"] else "no"}

    def to_answers(self) -> dict:
        return {"signboard": self.signboard.data == "yes"}


class IsoDateField(DateField):
    """A date typed as YYYY-MM-DD (what a date input sends), with a translated message for anything else."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a real date, like 2025-03-15.")) from None


class ResidenceAddressForm(PageForm):
    heading = _l("Where you live in Guangzhou")
    answer_fields = ("address",)
    address = StringField(_l("Your address in Guangzhou"), validators=[
        required(_l("Enter your address in Guangzhou.")), max_length(200)])


class MovedInForm(PageForm):
    heading = _l("When you moved to Guangzhou")
    answer_fields = ("moved_in",)
    moved_in = IsoDateField(_l("The date you started living in Guangzhou"), format="%Y-%m-%d",
                         validators=[InputRequired(_l("Enter the date you started living in Guangzhou, like "
                                                      "2025-03-15."))])

    @classmethod
    def initial(cls, answers: dict) -> dict:
        try:
            return {"moved_in": dt.date.fromisoformat(answers["moved_in"])}
        except (KeyError, TypeError, ValueError):
            return {}

    def validate_moved_in(self, field):
        today = dt.date.today()
        if field.data is None:
            return
        if field.data > today:
            raise ValidationError(_l("The date you started living in Guangzhou must be today or in the past."))
        if field.data < dt.date(1900, 1, 1):
            raise ValidationError(_l("Enter a date after 1 January 1900."))
        earliest = _months_after(field.data, RESIDENCE_MONTHS)
        if earliest > today:
            raise ValidationError(_l("You can apply once you have lived in Guangzhou for 6 months: from "
                                     "%(date)s.", date=earliest.isoformat()))

    def to_answers(self) -> dict:
        return {"moved_in": self.moved_in.data.isoformat()}


def _months_after(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


class ResidenceBasisForm(PageForm):
    heading = _l("Why you live in Guangzhou")
    answer_fields = ("basis", "basis_detail")
    basis = RadioField(_l("Why do you live in Guangzhou?"), choices=[
        SelectChoice("work", _l("I work here")), SelectChoice("business", _l("I run a business here")),
        SelectChoice("study", _l("I study here full time")),
        SelectChoice("home", _l("I own or rent a stable home here"))],
        validators=[InputRequired(_l("Select why you live in Guangzhou."))],
        invalid_choice_message=_l("Select why you live in Guangzhou."))
    basis_detail = StringField(_l("Name of your employer, business or school"),
                               validators=[max_length(200)])

    def validate_basis_detail(self, field):
        if self.basis.data in ("work", "business", "study") and not (field.data or "").strip():
            raise ValidationError(_l("Enter the name of your employer, business or school."))

    def to_answers(self) -> dict:
        detail = (self.basis_detail.data or "").strip()
        return {"basis": self.basis.data, "basis_detail": detail if self.basis.data != "home" else ""}


class ContactForm(PageForm):
    heading = _l("How we contact you")
    answer_fields = ("mobile",)
    mobile = StringField(_l("Mobile number"), validators=[
        required(_l("Enter your mobile number, like 13800138000.")), max_length(20)])

    def validate_mobile(self, field):
        try:
            field.data = validate_mobile(field.data or "")
        except InvalidIdentifier:
            raise ValidationError(_l("Enter a mobile number of 11 digits starting with 1, like 13800138000.")) from None


# -- a newborn (新生儿出生一件事) -------------------------------------------------------------------------------------

NEWBORN_MAX_AGE_DAYS = 365  # an older child's birth is registered at the police station, not through this bundle
ID_HINT = _l("18 characters, as printed on the resident identity card.")


class ChildNameForm(PageForm):
    heading = _l("The baby's name")
    answer_fields = ("child_name",)
    child_name = StringField(_l("The baby's full name"), validators=[
        required(_l("Enter the baby's full name.")), max_length(50)])


class ChildSexForm(PageForm):
    heading = _l("The baby's sex")
    answer_fields = ("child_sex",)
    child_sex = RadioField(_l("The baby's sex"), choices=[
        SelectChoice("female", _l("Female")), SelectChoice("male", _l("Male"))],
        validators=[InputRequired(_l("Select the baby's sex."))],
        invalid_choice_message=_l("Select the baby's sex."))


class BirthForm(PageForm):
    heading = _l("When and where the baby was born")
    answer_fields = ("born_on", "birth_place")
    born_on = IsoDateField(_l("Date of birth"), format="%Y-%m-%d",
                           validators=[InputRequired(_l("Enter the baby's date of birth, like 2026-03-15."))])
    birth_place = StringField(_l("Hospital or clinic where the baby was born"), validators=[
        required(_l("Enter the name of the hospital or clinic where the baby was born.")), max_length(200)])

    @classmethod
    def initial(cls, answers: dict) -> dict:
        data = {"birth_place": answers["birth_place"]} if answers.get("birth_place") else {}
        try:
            data["born_on"] = dt.date.fromisoformat(answers["born_on"])
        except (KeyError, TypeError, ValueError):
            pass
        return data

    def validate_born_on(self, field):
        if field.data is None:
            return
        today = dt.date.today()
        if field.data > today:
            raise ValidationError(_l("The date of birth must be today or in the past."))
        if (today - field.data).days > NEWBORN_MAX_AGE_DAYS:
            raise ValidationError(_l("This service is for babies under one year old. For an older child, apply at "
                                     "the police station where the household is registered."))

    def to_answers(self) -> dict:
        return {"born_on": self.born_on.data.isoformat(), "birth_place": (self.birth_place.data or "").strip()}


def _resident_id_or_error(value: str, message) -> str:
    try:
        return validate_resident_id(value or "")
    except InvalidIdentifier:
        raise ValidationError(message) from None


class ParentsForm(PageForm):
    heading = _l("The parents' identity numbers")
    answer_fields = ("mother_id", "father_id")
    mother_id = StringField(_l("The mother's resident identity number"), description=ID_HINT, validators=[
        required(_l("Enter the mother's 18-character resident identity number.")), max_length(30)])
    father_id = StringField(_l("The father's resident identity number"), description=ID_HINT, validators=[
        required(_l("Enter the father's 18-character resident identity number.")), max_length(30)])

    def validate_mother_id(self, field):
        field.data = _resident_id_or_error(field.data, _l(
            "Enter the mother's resident identity number as 18 characters, checked against its last character, "
            "like 440106199001011235."))
        # GB 11643: the 17th digit is odd for men and even for women. Catches the two numbers entered swapped.
        if int(field.data[16]) % 2:
            raise ValidationError(_l("This is a man's identity number (its 17th digit is odd). Check it, or whether "
                                     "the mother's and the father's numbers were swapped."))

    def validate_father_id(self, field):
        field.data = _resident_id_or_error(field.data, _l(
            "Enter the father's resident identity number as 18 characters, checked against its last character, "
            "like 440106199001011235."))
        if field.data == self.mother_id.data:
            raise ValidationError(_l("The father's identity number must differ from the mother's."))
        if not int(field.data[16]) % 2:
            raise ValidationError(_l("This is a woman's identity number (its 17th digit is even). Check it, or "
                                     "whether the mother's and the father's numbers were swapped."))

    def validate(self, extra_validators=None) -> bool:
        """The certificate and the card are issued to the parent who applies, so the applicant is one of them."""
        from app.security import current_account

        if not super().validate(extra_validators):
            return False
        account = current_account()
        if account is not None and account.id_number not in (self.mother_id.data, self.father_id.data):
            self.mother_id.errors.append(_l("One of the parents must be you: enter your own identity number as the "
                                            "mother's or the father's."))
            return False
        return True


class HouseholdForm(PageForm):
    heading = _l("Where the baby's household is registered")
    answer_fields = ("household_address",)
    household_address = StringField(
        _l("Address of the household registration the baby joins"),
        description=_l("The baby joins the household of the mother or the father: give the address in that "
                       "household register."),
        validators=[required(_l("Enter the address of the household registration the baby joins.")),
                    max_length(200)])


@dataclass(frozen=True)
class Page:
    slug: str
    form: type[PageForm]


@dataclass(frozen=True)
class Section:
    slug: str
    title: object  # a lazy string
    pages: tuple[Page, ...]


# The online application of each bundle: its question sections, in order. The materials section (from the
# catalogue's material items) and "check your answers and send" follow every journey.
JOURNEYS: dict[str, tuple[Section, ...]] = {
    "open_restaurant": (
        Section("applicant", _l("Who is applying"), (Page("enterprise", EnterpriseForm),)),
        Section("restaurant", _l("About the restaurant"), (
            Page("name-and-address", RestaurantNameForm), Page("size", RestaurantSizeForm),
            Page("signboard", SignboardForm))),
    ),
    "residence_permit": (
        Section("you", _l("About you"), (
            Page("address", ResidenceAddressForm), Page("moved-in", MovedInForm), Page("basis", ResidenceBasisForm),
            Page("contact", ContactForm))),
    ),
    "newborn": (
        Section("baby", _l("About the baby"), (
            Page("name", ChildNameForm), Page("sex", ChildSexForm), Page("birth", BirthForm))),
        Section("family", _l("About the family"), (
            Page("parents", ParentsForm), Page("household", HouseholdForm), Page("contact", ContactForm))),
    ),
}


def applies_online(bundle) -> bool:
    """A bundle can be applied for online when it has a journey here and every matter in it is fully online."""
    return bundle.code in JOURNEYS and all(item.matter.fully_online for item in bundle.items)


def pages_answered(bundle_code: str, answers: dict) -> list[str]:
    """The question pages whose answers are all in ``answers`` (a renewal's prefill counts them as done)."""
    done = []
    for section in JOURNEYS.get(bundle_code, ()):
        for page in section.pages:
            if page.form.answer_fields and all(answers.get(name) is not None for name in page.form.answer_fields):
                done.append(page.slug)
    return done


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


def supplement_form_class(item_count: int) -> type[CommandForm]:
    """The answer to a supplement notice: one file field per item asked for (several files each)."""
    fields = {f"item_{index}": MultipleFileField() for index in range(1, item_count + 1)}
    return type("ItemisedSupplementForm", (CommandForm,), fields)
