"""Poor ratings and their follow-up items: an agency's supervisors see their agency's, the city's office sees all;
they record what they did and close the item."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app import db_session
from app.forms import CommandForm, max_length, required
from app.i18n import _, _l
from app.portal.ratings import TAG_LABELS
from app.security import current_account, login_required
from app.supervision.routes import bp
from app.verbs import attempt
from services.errors import InvalidTransition
from services.identity.models import Role
from services.ratings import MAX_COMMENT, FollowUpState, follow_ups_for, record_follow_up
from services.service_pages import page_number


class FollowUpForm(CommandForm):
    note = TextAreaField(_l("What did you do?"), validators=[
        required(_l("Describe what you did about this rating.")), max_length(MAX_COMMENT)])
    outcome = RadioField(_l("Is the follow-up finished?"),
                         choices=[SelectChoice("keep", _l("No, keep it open")),
                                  SelectChoice("close", _l("Yes, close it"))],
                         validators=[InputRequired(_l("Select whether to close the follow-up."))],
                         invalid_choice_message=_l("Select whether to close the follow-up."))


def _form(item_id: int) -> FollowUpForm:
    # One form per item on the page: distinct field ids through the prefix; the app-wide CSRF check still applies.
    return FollowUpForm(prefix=f"f{item_id}", meta={"csrf": False})


def _state() -> FollowUpState:
    return FollowUpState.CLOSED if request.args.get("state") == "closed" else FollowUpState.OPEN


def _render(errors_for: int | None = None, form: FollowUpForm | None = None, status: int = 200):
    state, number = _state(), page_number(request.args.get("page"))
    page = follow_ups_for(db_session(), current_account(), state=state, page=number)
    forms = {item.id: (form if item.id == errors_for else _form(item.id)) for item in page.items}
    return render_template("supervision/follow_ups.html", page=page, forms=forms, state=state.value, number=number,
                           errors_for=errors_for, tag_label=lambda code: TAG_LABELS.get(code, code)), status


@bp.route("/follow-ups")
@login_required(Role.SUPERVISOR)
def follow_ups():
    return _render()


@bp.route("/follow-ups/<int:item_id>", methods=["POST"])
@login_required(Role.SUPERVISOR)
def follow_up(item_id: int):
    form = _form(item_id)
    if form.validate_on_submit():
        session = db_session()
        try:
            with attempt(session):
                item = record_follow_up(session, current_account(), item_id, note=form.note.data,
                                        close=form.outcome.data == "close", command_id=form.command_id.data)
        except InvalidTransition:
            flash(_("This follow-up is already closed. Nothing was changed."), "error")
        else:
            flash(_("The follow-up was closed.") if item.state == FollowUpState.CLOSED
                  else _("Your action was recorded."), "success")
        return redirect(url_for("supervision.follow_ups"))
    return _render(item_id, form, 400)
