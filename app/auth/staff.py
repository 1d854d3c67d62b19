"""The administrator's staff pages: who has a second factor, removing one (a lost phone), and inviting a staff member
(who sets their own password through an e-mailed link). Every change is audited in the service it calls."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Regexp

from app import db_session
from app.auth.routes import bp
from app.forms import BaseForm, max_length, required
from app.i18n import _, _l, localized
from app.security import current_account, login_required
from app.verbs import attempt
from services.errors import ValidationFailed
from services.identity import second_factor
from services.identity.models import Account, Role


class ResetForm(BaseForm):
    reason = StringField(_l("Reason"), validators=[required(_l("Say why the second factor is removed.")),
                                                   max_length(500)])



@bp.route("/staff", endpoint="staff")
@login_required(Role.ADMIN)
def staff():
    """The administrator's list of staff accounts and whether each uses a second factor."""
    accounts = second_factor.staff_accounts(db_session(), current_account())
    return render_template("auth/staff.html", accounts=accounts,
                           required=current_app.config["SECOND_FACTOR_REQUIRED"])


@bp.route("/staff/<int:account_id>/second-factor", methods=["GET", "POST"], endpoint="reset_second_factor")
@login_required(Role.ADMIN)
def reset_second_factor(account_id: int):
    """Remove a person's second factor (a lost phone): they enrol again when they next sign in. Audited."""
    db, admin = db_session(), current_account()
    account = db.get(Account, account_id)
    if account is None or account.role not in second_factor.STAFF_ROLES or account.totp_secret is None:
        abort(404)
    form = ResetForm()
    if form.validate_on_submit():
        try:
            with attempt(db):
                second_factor.reset(db, admin, account_id, reason=form.reason.data)
        except ValidationFailed:
            form.reason.errors.append(_("Say why the second factor is removed."))
        else:
            flash(_("The second factor of %(email)s was removed. They set up a new one when they next sign in.",
                    email=account.email), "success")
            return redirect(url_for("auth.staff"))
    return render_template("auth/reset_second_factor.html", form=form, account=account), \
        (400 if form.errors else 200)


ROLE_CHOICES = [SelectChoice("clerk", _l("Clerk")), SelectChoice("lead", _l("Lead clerk (may reassign tasks)")),
                SelectChoice("supervisor", _l("Supervisor")), SelectChoice("admin", _l("Administrator"))]
ROLES = {choice.value for choice in ROLE_CHOICES}


class InviteForm(BaseForm):
    email = StringField(_l("Email address"), filters=[lambda value: value.strip() if value else value], validators=[
        required(_l("Enter the person's email address.")),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
               message=_l("Enter an email address in the correct format, like name@example.com.")),
        max_length(254)])
    name = StringField(_l("Name"), validators=[required(_l("Enter the person's name.")), max_length(100)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validate_choice=False)
    agency = SelectField(_l("Agency"), validate_choice=False)


INVITE_PROBLEMS = {
    "email_taken": ("email", _l("An account with this email address already exists.")),
    "agency_required": ("agency", _l("Choose the agency of a clerk.")),
}


def _invite_mail(account):
    subject = _("You are invited to OneWindow")
    body = _("An administrator has opened a OneWindow staff account for you (%(email)s).\n\n"
             "Open this link within 7 days to set your password:\n{link}\n\n"
             "Then sign in; you will also set up a code from an authenticator app.", email=account.email)
    return subject, body


def _chosen_from_lists(form: InviteForm, agencies: dict) -> bool:
    ok = True
    if form.role.data not in ROLES:
        form.role.errors = [*form.role.errors, _("Choose a role from the list.")]
        ok = False
    if form.agency.data and form.agency.data not in agencies:
        form.agency.errors = [*form.agency.errors, _("Choose an agency from the list.")]
        ok = False
    return ok


@bp.route("/staff/invite", methods=["GET", "POST"], endpoint="invite_staff")
@login_required(Role.ADMIN)
def invite_staff():
    """An administrator opens a staff account; the person sets the password through an e-mailed link."""
    from services.catalogue.models import Agency
    from services.identity.passwords import invite

    db, admin = db_session(), current_account()
    agencies = {agency.code: agency for agency in db.scalars(select(Agency).order_by(Agency.code))}
    form = InviteForm()
    form.agency.choices = [SelectChoice("", _("None (supervisors of the lead window, administrators)"))] + [
        SelectChoice(code, localized(agency, "name")) for code, agency in agencies.items()]
    # WTForms' own message for a value not in a list is untranslated English: these say what to do.
    if request.method == "POST" and form.validate_on_submit() & _chosen_from_lists(form, agencies):
        chosen = agencies.get(form.agency.data)
        role = Role.CLERK if form.role.data == "lead" else Role(form.role.data)
        try:
            with attempt(db):
                invite(db, admin, current_app.config, email=form.email.data, name=form.name.data, role=role,
                       agency_id=chosen.id if chosen else None, is_lead=form.role.data == "lead",
                       compose=_invite_mail)
        except ValidationFailed as refused:
            field, message = INVITE_PROBLEMS.get(refused.code, ("email", refused.code))
            form[field].errors.append(message)
        else:
            flash(_("An invitation was sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("auth.staff"))
    return render_template("auth/invite.html", form=form), (400 if form.errors else 200)
