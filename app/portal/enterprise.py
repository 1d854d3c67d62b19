"""An enterprise's page, for its legal representative and for agents with a valid mandate; granting and revoking
mandates; and switching between acting for oneself and acting for an enterprise ("acting as", kept in the session).

Every check of who may act for which enterprise is in services.identity.mandates; this module only keeps the choice
in the session and shows it in the header.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import lazyload
from wtforms import DateField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app import db_session
from app.forms import BaseForm, CommandForm, max_length, required
from app.i18n import _, _l, localized
from app.identifier_messages import resident_id_problem
from app.portal.routes import APPLICANT_ROLES, bp, drafts_of, page_links, page_numbers, timelines_of
from app.portal.timeline import page_helpers
from app.ratelimit import hit
from app.security import current_account, login_required
from app.verbs import attempt
from services import clock
from services.catalogue.models import Audience, Bundle
from services.errors import NotFound, ValidationFailed
from services.identity.identifiers import mask_resident_id
from services.identity.mandates import (
    MAX_MANDATE_YEARS,
    access_to,
    enterprise_access,
    grant_mandate,
    mandates_of,
    revoke_mandate,
)
from services.service_pages import enterprise_activity, enterprise_page, page_number
from workflows.states import EventKind

ACTING_FOR = "acting_for"
MANDATE_ERRORS = {
    "agent_identifier": _l("Enter the agent's 18-character resident identity number, as it is on their identity "
                           "card."),
    "agent_name_missing": _l("Enter the agent's name as it is on their identity card."),
    "agent_is_self": _l("You are the legal representative already: enter someone else."),
    "agent_has_mandate": _l("This person already holds a valid mandate for this enterprise. Revoke it first to "
                            "change it."),
    "expiry_past": _l("Enter an expiry date in the future."),
    "expiry_too_far": _l("A mandate can last at most %(years)d years.", years=MAX_MANDATE_YEARS),
    "no_scope": _l("Select at least one service, or every service."),
}


@bp.before_app_request
def load_acting_for():
    """Who the signed-in resident is acting for, checked again on every request: a revoked or expired mandate ends
    the switch at once."""
    g.acting_for = None
    enterprise_id = session.get(ACTING_FOR)
    account = g.get("account")
    if enterprise_id is None or account is None:
        return
    try:
        g.acting_for = access_to(db_session(), account, int(enterprise_id))
    except (NotFound, TypeError, ValueError):
        session.pop(ACTING_FOR, None)


@bp.app_context_processor
def acting_for_in_templates():
    return {"acting_for": g.get("acting_for")}


class ActingAsForm(CommandForm):
    act_as = RadioField(_l("Who are you acting for?"),
                        validators=[InputRequired(_l("Select yourself or an enterprise."))],
                        invalid_choice_message=_l("Select yourself or an enterprise."))


@bp.route("/acting-as", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def acting_as():
    account = current_account()
    accesses = enterprise_access(db_session(), account)
    form = ActingAsForm()
    form.act_as.choices = [SelectChoice("self", _("Myself (%(name)s)", name=account.name))] + [
        SelectChoice(str(a.enterprise.id), a.enterprise.name) for a in accesses]
    if not form.is_submitted():
        form.act_as.data = str(g.acting_for.enterprise.id) if g.acting_for else "self"
    if form.validate_on_submit():
        session.regenerate()  # a new session token whenever whom one acts for changes
        if form.act_as.data == "self":
            session.pop(ACTING_FOR, None)
            flash(_("You are acting for yourself."), "success")
            return redirect(url_for("portal.home"))
        chosen = next(a for a in accesses if str(a.enterprise.id) == form.act_as.data)
        session[ACTING_FOR] = chosen.enterprise.id
        flash(_("You are acting for %(name)s.", name=chosen.enterprise.name), "success")
        return redirect(url_for("portal.enterprise_home", enterprise_id=chosen.enterprise.id))
    return render_template("portal/enterprise/acting_as.html", form=form), 400 if form.errors else 200


AUDIT_LABELS = {  # one for each of services.identity.mandates.AUDITED_EVENTS
    EventKind.STARTED: _l("Submitted the application"),
    EventKind.RESUBMITTED: _l("Sent the supplement asked for"),
    EventKind.WITHDRAWN: _l("Withdrew the application"),
}


@bp.route("/enterprises/<int:enterprise_id>/")
@login_required(*APPLICANT_ROLES)
def enterprise_home(enterprise_id: int):
    db = db_session()
    page = enterprise_page(db, current_account(), enterprise_id, page_numbers())
    titles = {}
    if page.access.is_representative:  # the mandates table: one small query, whatever the number of mandates
        titles = {b.code: localized(b, "title") for b in db.scalars(select(Bundle).options(lazyload(Bundle.items)))}
    return render_template("portal/enterprise/home.html", sp=page, timelines=timelines_of(page),
                           drafts=drafts_of(current_account(), enterprise_id), today=clock.today(),
                           bundle_titles=lambda codes: ", ".join(titles.get(c, c) for c in codes),
                           **page_links(), **page_helpers(page.agencies))


class DayField(DateField):
    """A date typed as YYYY-MM-DD, with a translated message when it is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter the last day of the mandate as year-month-day, like 2027-06-30.")) from None


@bp.route("/enterprises/<int:enterprise_id>/activity")
@login_required(*APPLICANT_ROLES)
def activity(enterprise_id: int):
    """What was done for the enterprise, by whom: the representative's audit of the agents' actions."""
    access, page = enterprise_activity(db_session(), current_account(), enterprise_id,
                                       page_number(request.args.get("audit")))
    return render_template("portal/enterprise/activity.html", access=access, audit=page,
                           audit_label=lambda kind: AUDIT_LABELS.get(kind, kind))


MANDATE_GRANTS_PER_HOUR = 20  # per representative: enough to set up a firm, too few to probe people with


class MandateForm(BaseForm):
    agent_name = StringField(_l("The agent's name"), validators=[
        required(_l("Enter the agent's name as it is on their identity card.")), max_length(100)])
    agent_id_number = StringField(_l("The agent's resident identity number"), validators=[
        required(_l("Enter the agent's 18-character resident identity number, as it is on their identity card.")),
        max_length(40)])
    scope = RadioField(_l("What may the agent do for the enterprise?"),
                       choices=[SelectChoice("all", _l("Every service")),
                                SelectChoice("some", _l("Only the services I select"))],
                       validators=[InputRequired(_l("Select every service or only some."))],
                       invalid_choice_message=_l("Select every service or only some."))
    bundles = SelectMultipleField(_l("Services"), widget=ListWidget(prefix_label=False),
                                  option_widget=CheckboxInput(),
                                  invalid_choice_message=_l("Select only the services listed."))
    expires_on = DayField(_l("Valid until"), format="%Y-%m-%d", validators=[
        InputRequired(_l("Enter the last day of the mandate as year-month-day, like 2027-06-30."))])

    def validate_bundles(self, field):
        if self.scope.data == "some" and not field.data:
            raise ValidationError(_l("Select at least one service, or every service."))


def _mandate_form(enterprise_bundles: list[Bundle]) -> MandateForm:
    form = MandateForm()
    form.bundles.choices = [SelectChoice(b.code, localized(b, "title")) for b in enterprise_bundles]
    return form


@bp.route("/enterprises/<int:enterprise_id>/mandates/new", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def grant(enterprise_id: int):
    db, account = db_session(), current_account()
    mandates_of(db, account, enterprise_id)  # 404/403 before anything else for someone who is not the representative
    access = access_to(db, account, enterprise_id)
    bundles = list(db.scalars(select(Bundle).where(Bundle.audience.in_([Audience.ENTERPRISE, Audience.BOTH]))
                              .order_by(Bundle.id)))
    form = _mandate_form(bundles)
    throttled = False
    if form.validate_on_submit():
        if hit("mandate-grant", limit=int(current_app.config.get("MANDATE_GRANT_LIMIT", MANDATE_GRANTS_PER_HOUR)),
               window_seconds=3600, subject=f"account-{account.id}") is not None:
            throttled = True
            form.agent_id_number.errors = list(form.agent_id_number.errors) + [
                _("You have given many mandates in the last hour. Try again in an hour.")]
        else:
            try:
                with attempt(db):
                    mandate = grant_mandate(db, account, enterprise_id, agent_name=form.agent_name.data,
                                            agent_id_number=form.agent_id_number.data,
                                            bundle_codes=form.bundles.data or [],
                                            all_services=form.scope.data == "all", expires_on=form.expires_on.data)
            except ValidationFailed as exc:
                field = {"expires_on": form.expires_on, "scope": form.bundles, "agent_name": form.agent_name}.get(
                    exc.params.get("field"), form.agent_id_number)
                message = MANDATE_ERRORS.get(exc.code, exc.code)
                if exc.code == "agent_identifier" and exc.params.get("reason") not in (None, "format"):
                    message = resident_id_problem(form.agent_id_number.label.text, exc.params["reason"])
                field.errors = list(field.errors) + [str(message)]
            else:
                # The same words whether or not the person has an account: the form is no resident look-up.
                flash(_("The mandate for %(name)s (%(number)s) to act for %(enterprise)s until %(date)s is recorded. "
                        "It works when they sign in with an account in this name and identity number.",
                        name=mandate.agent_display_name, number=mask_resident_id(mandate.agent_number),
                        enterprise=access.enterprise.name, date=mandate.expires_on.isoformat()), "success")
                return redirect(url_for("portal.enterprise_home", enterprise_id=enterprise_id) + "#mandates-heading")
    return render_template("portal/enterprise/grant.html", form=form, access=access, bundles=bundles), \
        429 if throttled else 400 if form.errors else 200


@bp.route("/enterprises/<int:enterprise_id>/mandates/<int:mandate_id>/revoke", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def revoke(enterprise_id: int, mandate_id: int):
    """Ask to confirm, then revoke: the agent loses access at once."""
    db, account = db_session(), current_account()
    mandate = next((m for m in mandates_of(db, account, enterprise_id) if m.id == mandate_id), None)
    if mandate is None:
        raise NotFound("mandate")
    form = CommandForm()
    if form.validate_on_submit():
        revoke_mandate(db, account, enterprise_id, mandate_id)
        flash(_("The mandate of %(name)s was revoked.", name=mandate.agent_display_name), "success")
        return redirect(url_for("portal.enterprise_home", enterprise_id=enterprise_id) + "#mandates-heading")
    return render_template("portal/enterprise/revoke.html", form=form, mandate=mandate), 400 if form.errors else 200
