"""The public service catalogue, and the short eligibility check before applying."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from app import db_session
from app.forms import BaseForm, max_length
from app.i18n import _, _l, localized
from app.portal.journey import applies_online, service_of
from services.applications.eligibility import assess, questions_for
from services.applications.materials import material_items
from services.catalogue.models import Agency, Bundle
from services.catalogue.search import browse

bp = Blueprint("catalogue", __name__, url_prefix="/services")


class SearchForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Search by name, pinyin or its initials"), validators=[max_length(100)])
    audience = SelectField(_l("Who it is for"), choices=[
        SelectChoice("", _l("Everyone")), SelectChoice("resident", _l("Residents")),
        SelectChoice("enterprise", _l("Enterprises"))], default="",
        validate_choice=True)
    agency = SelectField(_l("Agency"), default="", validate_choice=True)


@bp.route("/")
def index():
    """The catalogue: browse by audience, agency and life event, or search (the filters narrow a search too)."""
    session = db_session()
    form = SearchForm(request.args)
    form.agency.choices = [SelectChoice("", _("Every agency"))] + [
        SelectChoice(a.code, localized(a, "name")) for a in session.scalars(select(Agency).order_by(Agency.id))]
    form.agency.pre_validate = _choice_or_error(form.agency, _l("Choose an agency from the list."))
    form.audience.pre_validate = _choice_or_error(form.audience, _l("Choose who the service is for from the list."))
    valid = form.validate()
    query = (form.q.data or "").strip() if valid else ""
    audience = form.audience.data if valid else ""
    agency = form.agency.data if valid else ""
    bundles, matters = browse(session, query, audience=audience or "", agency_code=agency or "")
    return render_template("catalogue/index.html", bundles=bundles, matters=matters, form=form, query=query,
                           filtered=bool(audience or agency)), (200 if valid else 400)


def _choice_or_error(field, message):
    """WTForms' own message for a value not in the list is untranslated English; ours says what to do."""

    def pre_validate(_form):
        if field.data not in {str(choice.value) for choice in field.choices}:
            raise ValidationError(str(message))

    return pre_validate


def _bundle(code: str) -> Bundle:
    found = db_session().scalar(select(Bundle).where(Bundle.code == code))
    if found is None:
        abort(404)
    return found


@bp.route("/<code>")
def bundle(code: str):
    session = db_session()
    found = _bundle(code)
    return render_template("catalogue/bundle.html", bundle=found, online=applies_online(found),
                           items=material_items(session, found),
                           has_eligibility=bool(questions_for(session, found)))


def eligibility_form_class(questions) -> type[BaseForm]:
    """One yes/no radio group per catalogue question; the questions are data, so the form is built from them."""

    class EligibilityForm(BaseForm):
        class Meta:
            csrf = False  # a GET check changes nothing

    for question in questions:
        message = _("Select yes or no: %(question)s", question=localized(question, "question"))
        setattr(EligibilityForm, question.code, RadioField(
            localized(question, "question"), description=localized(question, "hint"),
            choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
            validators=[InputRequired(message)], invalid_choice_message=message))
    return EligibilityForm


@bp.route("/<code>/eligibility")
def eligibility(code: str):
    """The short check before applying: a few yes/no questions, then "you can apply" or "you cannot apply, because
    ..., what to do instead"."""
    session = db_session()
    found = _bundle(code)
    questions = questions_for(session, found)
    if not questions:
        abort(404)
    checking = "check" in request.args
    form = eligibility_form_class(questions)(formdata=request.args if checking else None)
    if checking and form.validate():
        verdict = assess(questions, {q.code: form[q.code].data for q in questions})
        service = service_of(found)
        see_also = {q.code: q.see_also for q in (service.eligibility if service else ()) if q.see_also}
        others = {b.code: b for b in session.scalars(select(Bundle).where(Bundle.code.in_(set(see_also.values()))))}
        return render_template("catalogue/eligibility_result.html", bundle=found, verdict=verdict,
                               online=applies_online(found),
                               see_also={code: others[target] for code, target in see_also.items() if target in others})
    return render_template("catalogue/eligibility.html", bundle=found, form=form), 400 if form.errors else 200
