"""The holder's share links: make a link to one licence that works for 1, 7 or 30 days, see each use, withdraw it.

The link is shown once, on the page that answers the creating POST: only its hash is stored.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app import db_session
from app.forms import CommandForm, max_length
from app.i18n import _, _l
from app.portal.routes import APPLICANT_ROLES, bp
from app.security import current_account, login_required
from app.verbs import attempt
from services.errors import InvalidTransition, ValidationFailed
from services.licences.credentials import effective_status
from services.licences.service import licence_for_holder
from services.licences.sharing import DURATIONS_DAYS, create_share_link, link_state, revoke_share_link, share_links_of

DURATION_LABELS = {1: _l("1 day"), 7: _l("7 days"), 30: _l("30 days")}
STATE_LABELS = {"active": _l("Active"), "expired": _l("Expired"), "revoked": _l("Withdrawn")}


class ShareForm(CommandForm):
    days = RadioField(_l("How long should the link work?"), coerce=int,
                      validators=[InputRequired(_l("Choose how long the link should work."))],
                      invalid_choice_message=_l("Choose how long the link should work."))
    note = StringField(_l("Who is it for? (optional, only you see this)"), validators=[max_length(100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.days.choices = [SelectChoice(days, str(DURATION_LABELS[days])) for days in DURATIONS_DAYS]


def _sharing_page(number: str, form: ShareForm, status: int = 200):
    session, holder = db_session(), current_account()
    licence = licence_for_holder(session, holder, number)
    return render_template("portal/licences/sharing.html", licence=licence, form=form,
                           links=share_links_of(session, holder, licence), link_state=link_state,
                           state_labels=STATE_LABELS, status=effective_status(licence),
                           revoke_form=CommandForm()), status


@bp.route("/licences/<number>/share", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def licence_sharing(number: str):
    session, holder = db_session(), current_account()
    licence = licence_for_holder(session, holder, number)
    form = ShareForm()
    if not form.validate_on_submit():
        return _sharing_page(licence.number, form, 400 if form.errors else 200)
    try:
        with attempt(session):
            link, token = create_share_link(session, holder, licence.number, days=form.days.data,
                                            note=form.note.data or "", command_id=form.command_id.data)
    except (ValidationFailed, InvalidTransition):
        form.note.errors.append(_("This form has expired. Reload the page and try again."))
        return _sharing_page(licence.number, form, 400)
    if token is None:
        flash(_("This link was already made; its address was shown once. Make a new link if you need the address "
                "again."), "error")
        return redirect(url_for("portal.licence_sharing", number=licence.number))
    share_url = f"{current_app.config['PUBLIC_URL'].rstrip('/')}{url_for('public.shared', token=token)}"
    return render_template("portal/licences/shared.html", licence=licence, link=link, share_url=share_url)


@bp.route("/licences/<number>/share/<int:link_id>/withdraw", methods=["POST"])
@login_required(*APPLICANT_ROLES)
def withdraw_share_link(number: str, link_id: int):
    session, holder = db_session(), current_account()
    form = CommandForm()
    if not form.validate_on_submit():
        abort(400)
    link = revoke_share_link(session, holder, number, link_id)
    flash(_("The link is withdrawn: it no longer opens the licence."), "success")
    return redirect(url_for("portal.licence_sharing", number=link.licence.number))
