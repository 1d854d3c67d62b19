"""The issuing agency's licence pages: find a licence, see its history, suspend, reinstate, revoke or amend it.

Every change is shown back for confirmation before it is made, carries a command id (a double submission changes the
licence once), and is authorised in services.licences.lifecycle: a clerk of another agency gets 403.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import ValidationError

from app import db_session
from app.clerk.routes import bp
from app.forms import BaseForm, CommandForm, max_length, required
from app.i18n import _, _l
from app.security import current_account, login_required
from app.verbs import attempt
from services.errors import InvalidTransition, ValidationFailed
from services.identity.models import Role
from services.licences.credentials import effective_status
from services.licences.lifecycle import (
    TRANSITIONS,
    change_status,
    licence_for_clerk,
    licence_history,
    pending_amendment,
    request_amendment,
    search_agency_licences,
)
from services.licences.models import LicenceAction, LicenceStatus
from services.licences.service import superseding

ACTIONS = {
    "suspend": LicenceAction.SUSPEND,
    "reinstate": LicenceAction.REINSTATE,
    "revoke": LicenceAction.REVOKE,
}
ACTION_TITLES = {
    LicenceAction.SUSPEND: _l("Suspend licence %(number)s"),
    LicenceAction.REINSTATE: _l("Reinstate licence %(number)s"),
    LicenceAction.REVOKE: _l("Revoke licence %(number)s"),
}
ACTION_DONE = {
    LicenceAction.SUSPEND: _l("Licence %(number)s is suspended. The holder has been told, and the public "
                              "verification page shows it now."),
    LicenceAction.REINSTATE: _l("Licence %(number)s is valid again. The holder has been told."),
    LicenceAction.REVOKE: _l("Licence %(number)s is revoked. The holder has been told, and the public verification "
                             "page shows it now."),
}
HISTORY_LABELS = {
    LicenceAction.ISSUE: _l("Issued"),
    LicenceAction.SUSPEND: _l("Suspended"),
    LicenceAction.REINSTATE: _l("Reinstated"),
    LicenceAction.REVOKE: _l("Revoked"),
    LicenceAction.EXPIRE: _l("Expired"),
    LicenceAction.SUPERSEDE: _l("Superseded"),
    LicenceAction.AMEND: _l("Amendment requested"),
}
REFUSED = {
    "amendment_pending": _l("An amended version of this licence is already being issued. Nothing was changed."),
    "command_reused": _l("This form was already used for another change. Reload the page and try again."),
}


class LicenceSearchForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Licence number, holder name or identity number"), validators=[max_length(100)])


class StatusForm(CommandForm):
    confirmed = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[required(_l("Enter the reason. The holder and, for a suspension "
                                                                 "or revocation, the public will see it.")),
                                                     max_length(2000)])


class AmendForm(CommandForm):
    confirmed = HiddenField()
    holder_name = StringField(_l("Holder name"), validators=[required(_l("Enter the holder's name.")),
                                                             max_length(200)])
    scope = TextAreaField(_l("Scope and conditions"), validators=[max_length(2000)])
    reason = TextAreaField(_l("Reason for the amendment"), validators=[
        required(_l("Enter the reason for the amendment.")), max_length(2000)])

    def __init__(self, *args, licence=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.licence = licence

    def validate_scope(self, field):
        if (self.licence is not None and " ".join((self.holder_name.data or "").split()) == self.licence.holder_name
                and (field.data or "").strip() == (self.licence.scope or "")):
            raise ValidationError(_l("Change the holder name or the scope: the amended version must differ."))


def _refusal(exc: InvalidTransition) -> str:
    if exc.code in REFUSED:
        return str(REFUSED[exc.code])
    return _("The licence's status no longer allows this (someone may have changed it meanwhile). Nothing was "
             "changed.")


@bp.route("/licences")
@login_required(Role.CLERK)
def licences():
    session, clerk = db_session(), current_account()
    form = LicenceSearchForm(request.args)
    valid = form.validate()
    found = search_agency_licences(session, clerk, form.q.data if valid else "")
    return render_template("clerk/licences/index.html", form=form, licences=found, searched=bool(form.q.data),
                           effective_status=effective_status), (200 if valid else 400)


@bp.route("/licences/<number>")
@login_required(Role.CLERK)
def licence(number: str):
    session, clerk = db_session(), current_account()
    found = licence_for_clerk(session, clerk, number)
    status = effective_status(found)
    actions = [name for name, action in ACTIONS.items() if status in TRANSITIONS[action][0]]
    return render_template("clerk/licences/detail.html", licence=found, status=status, actions=actions,
                           history=licence_history(session, found), history_labels=HISTORY_LABELS,
                           superseded_by=superseding(session, found), amendment=pending_amendment(session, found),
                           may_amend=status == LicenceStatus.VALID)


@bp.route("/licences/<number>/<any(suspend, reinstate, revoke):action_name>", methods=["GET", "POST"])
@login_required(Role.CLERK)
def licence_status(number: str, action_name: str):
    session, clerk = db_session(), current_account()
    found = licence_for_clerk(session, clerk, number)
    action = ACTIONS[action_name]
    title = ACTION_TITLES[action] % {"number": found.number}
    if effective_status(found) not in TRANSITIONS[action][0] and request.method == "GET":
        flash(_("The licence's status does not allow this."), "error")
        return redirect(url_for("clerk.licence", number=found.number))
    form = StatusForm()
    if form.validate_on_submit():
        if form.confirmed.data != "yes":
            return render_template("clerk/licences/confirm.html", licence=found, form=form, title=title,
                                   action_name=action_name, fields=[(form.reason.label.text, form.reason.data)])
        try:
            with attempt(session):
                change_status(session, clerk, found.id, action, reason=form.reason.data,
                              command_id=form.command_id.data)
        except ValidationFailed:
            form.reason.errors.append(_("Enter the reason in 2000 characters or fewer."))
        except InvalidTransition as exc:
            flash(_refusal(exc), "error")
            return redirect(url_for("clerk.licence", number=found.number))
        else:
            flash(ACTION_DONE[action] % {"number": found.number}, "success")
            return redirect(url_for("clerk.licence", number=found.number))
    return render_template("clerk/licences/status.html", licence=found, form=form, title=title,
                           action_name=action_name), (400 if form.errors else 200)


@bp.route("/licences/<number>/amend", methods=["GET", "POST"])
@login_required(Role.CLERK)
def licence_amend(number: str):
    session, clerk = db_session(), current_account()
    found = licence_for_clerk(session, clerk, number)
    form = AmendForm(licence=found)
    if not form.is_submitted():
        form.holder_name.data, form.scope.data = found.holder_name, found.scope
    if form.validate_on_submit():
        if form.confirmed.data != "yes":
            return render_template("clerk/licences/confirm.html", licence=found, form=form, action_name="amend",
                                   title=_("Amend licence %(number)s", number=found.number),
                                   fields=[(form.holder_name.label.text, form.holder_name.data),
                                           (form.scope.label.text, form.scope.data or _("None stated")),
                                           (form.reason.label.text, form.reason.data)])
        try:
            with attempt(session):
                request_amendment(session, clerk, found.id, holder_name=form.holder_name.data, scope=form.scope.data,
                                  reason=form.reason.data, command_id=form.command_id.data)
        except ValidationFailed:
            form.holder_name.errors.append(_("Check the holder name, the scope and the reason: each must be filled "
                                             "in within its length, and something must change."))
        except InvalidTransition as exc:
            flash(_refusal(exc), "error")
            return redirect(url_for("clerk.licence", number=found.number))
        else:
            flash(_("The amended version of licence %(number)s is being issued with a new number; it replaces this "
                    "one. The holder will be told.", number=found.number), "success")
            return redirect(url_for("clerk.licence", number=found.number))
    return render_template("clerk/licences/amend.html", licence=found, form=form), (400 if form.errors else 200)
