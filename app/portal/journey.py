"""A journey's question pages as forms, built from the service's definition: one WTForms form per page, its fields
rendered by type, its answers checked by the service layer (services.catalogue.answers) and every message taken
from the definition (the field's own, in the reader's language) or a general translated one."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from markupsafe import escape
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.forms import BaseForm
from app.i18n import _, current_language, text
from app.identifier_messages import resident_id_problem
from services.catalogue.answers import AnswerError, check_page
from services.catalogue.definitions import catalogue
from services.catalogue.definitions.model import Field, Page, Service, Texts


class LazyText:
    """A definition's text in the language of whoever reads it (labels are made once, read on every request)."""

    def __init__(self, texts: Texts):
        self.texts = texts

    def __str__(self) -> str:
        return self.texts.get(current_language())

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __bool__(self) -> bool:
        return True


def service_of(bundle) -> Service | None:
    """The definition of a bundle row, if the catalogue still defines it."""
    return catalogue().services.get(bundle.code)


def applies_online(bundle) -> bool:
    """A service can be applied for online when its definition says so and every one of its matters is online."""
    service = service_of(bundle)
    return service is not None and service.online and all(m.fully_online for m in service.matters)


def _wtforms_field(spec: Field):
    label, description = LazyText(spec.label), LazyText(spec.hint) if spec.hint else ""
    if spec.type == "textarea":
        return TextAreaField(label, description=description)
    if spec.type in ("yes_no", "choice"):
        choices = ([SelectChoice("yes", LazyText(Texts("是", "是", "Yes"))),
                    SelectChoice("no", LazyText(Texts("否", "否", "No")))] if spec.type == "yes_no"
                   else [SelectChoice(o.value, LazyText(o.label)) for o in spec.options])
        return RadioField(label, description=description, choices=choices, validate_choice=False)
    if spec.type == "choices":
        return SelectMultipleField(label, description=description, validate_choice=False,
                                   choices=[SelectChoice(o.value, LazyText(o.label)) for o in spec.options])
    return StringField(label, description=description)


@lru_cache(maxsize=256)
def page_form_class(service_code: str, slug: str) -> type[BaseForm]:
    """The form class of one question page (made once per process)."""
    page = catalogue().service(service_code).page(slug)
    attributes = {spec.name: _wtforms_field(spec) for spec in page.fields}
    attributes["specs"] = {spec.name: spec for spec in page.fields}
    return type(f"PageForm_{service_code}_{slug.replace('-', '_')}", (BaseForm,), attributes)


def _as_raw(spec: Field, value):
    """A stored answer as its form field holds it."""
    if value is None:
        return None
    if spec.type == "yes_no":
        return "yes" if value else "no"
    if spec.type == "choices":
        return list(value)
    return str(value)


def page_form(service: Service, page: Page, answers: dict, account=None):
    """The page's form: posted data on a POST, else the saved answers (a mobile number offered from the account)."""
    data = {}
    for spec in page.fields:
        value = answers.get(spec.name)
        if value is None and spec.prefill == "account.mobile" and account is not None:
            value = account.mobile
        raw = _as_raw(spec, value)
        if raw is not None:
            data[spec.name] = raw
    return page_form_class(service.code, page.slug)(data=data)


GENERAL_MESSAGES = {
    "too_long": lambda label, p: _("“%(label)s” must be %(max)d characters or fewer.", label=label, max=p["max"]),
    "not_a_number": lambda label, p: _("Enter “%(label)s” as a whole number, like 10.", label=label),
    "out_of_range": lambda label, p: _("“%(label)s” must be between %(min)s and %(max)s.", label=label,
                                       min=p.get("min") if p.get("min") is not None else "-",
                                       max=p.get("max") if p.get("max") is not None else "-"),
    "invalid_choice": lambda label, p: _("Select one of the answers listed for “%(label)s”.", label=label),
    "invalid_date": lambda label, p: _("Enter a real date, like 2025-03-15."),
    "in_future": lambda label, p: _("“%(label)s” must be today or in the past.", label=label),
    "too_early": lambda label, p: _("“%(label)s” must be on or after %(date)s.", label=label, date=p["date"]),
    "too_old": lambda label, p: _("“%(label)s” must be within the last %(days)d days.", label=label,
                                  days=p["days"]),
    "too_recent": lambda label, p: _("“%(label)s” must be at least %(months)d months ago: you can apply from "
                                     "%(date)s.", label=label, months=p["months"], date=p["date"]),
    "invalid_mobile": lambda label, p: _("Enter a mobile number of 11 digits starting with 1, like 13800138000."),
    "wrong_sex": lambda label, p: (_("“%(label)s” is a man's identity number (its 17th digit is odd).", label=label)
                                   if p.get("sex") == "female" else
                                   _("“%(label)s” is a woman's identity number (its 17th digit is even).",
                                     label=label)),
}
# GB 11643 mistakes, one message each, so that the person knows which part to look at again.
def error_message(service: Service, page: Page, error: AnswerError) -> str:
    """The message for one answer's error: the definition's own for this field (or page), else a general one."""
    spec = next((f for f in page.fields if f.name == error.field), None)
    code = error.code
    if code == "invalid_choice" and spec is not None and "invalid_choice" not in spec.messages:
        code = "required"  # a choice outside the list is answered like no choice (GOV.UK's radios do the same)
    texts = (spec.messages.get(code) if spec else None) or page.messages.get(code)
    if texts is not None:
        return texts.get(current_language()).format(**{k: v for k, v in error.params.items() if v is not None})
    label = text(spec.label).rstrip("？?") if spec else error.field
    if code == "required":
        if spec is not None and spec.type in ("yes_no", "choice", "choices"):
            return _("Select an answer for “%(label)s”.", label=label)
        return _("Enter “%(label)s”.", label=label)
    if error.code == "invalid_id":
        return resident_id_problem(label, error.params.get("reason"))
    if error.code == "same_as":
        other = service.fields.get(error.params.get("other"))
        return _("“%(label)s” must differ from “%(other)s”.", label=label,
                 other=text(other.label) if other else error.params.get("other"))
    general = GENERAL_MESSAGES.get(error.code)
    return general(label, error.params) if general else _("Check this answer: it is missing or not in the expected "
                                                          "form.")


def checked_answers(form, service: Service, page: Page, answers: dict, account, today: dt.date) -> dict | None:
    """The page's answers checked by the service layer; None, with every error on its field, when any is wrong."""
    raw = {spec.name: form[spec.name].data for spec in page.fields}
    values, errors = check_page(service, page, raw, answers=answers, account=account, today=today)
    for error in errors:
        form[error.field].errors = [*form[error.field].errors, error_message(service, page, error)]
    return None if errors else values
