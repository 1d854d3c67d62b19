"""Supervisors: extension requests of their own agency, granted or refused."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from app import db_session
from app.forms import CommandForm, max_length
from app.i18n import _, _l
from app.security import current_account, login_required
from services.applications.decisions import decide_extension, extension_requests_for
from services.errors import InvalidTransition
from services.identity.models import Role

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


class ExtensionDecisionForm(CommandForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("grant", _l("Grant the extension")),
                                                   SelectChoice("refuse", _l("Refuse the extension"))],
                          validators=[InputRequired(_l("Select whether to grant the extension."))],
                          invalid_choice_message=_l("Select whether to grant the extension."))
    comment = TextAreaField(_l("Comment"), validators=[max_length(1000)])

    def validate_comment(self, field):
        if self.decision.data == "refuse" and not (field.data or "").strip():
            raise ValidationError(_l("Enter why you refuse the extension."))


def _form(request_id: int) -> ExtensionDecisionForm:
    # Several forms on one page need distinct field ids, hence the prefix; the app-wide CSRF check still applies,
    # with the token in a plain csrf_token input.
    return ExtensionDecisionForm(prefix=f"r{request_id}", meta={"csrf": False})


@bp.route("/", methods=["GET"])
@login_required(Role.SUPERVISOR)
def index():
    rows = extension_requests_for(db_session(), current_account())
    return render_template("supervision/index.html", rows=rows, forms={r.id: _form(r.id) for r, _a in rows})


@bp.route("/extensions/<int:request_id>", methods=["POST"])
@login_required(Role.SUPERVISOR)
def decide(request_id: int):
    session, supervisor = db_session(), current_account()
    form = _form(request_id)
    rows = extension_requests_for(session, supervisor)
    if form.validate_on_submit():
        try:
            decide_extension(session, supervisor, request_id, approve=form.decision.data == "grant",
                             comment=(form.comment.data or "").strip(), command_id=form.command_id.data)
        except InvalidTransition:
            flash(_("This request was already decided. Nothing was changed."), "error")
        else:
            flash(_("Your decision on the extension was recorded."), "success")
        return redirect(url_for("supervision.index"))
    forms = {r.id: (form if r.id == request_id else _form(r.id)) for r, _a in rows}
    return render_template("supervision/index.html", rows=rows, forms=forms, errors_for=request_id), 400
