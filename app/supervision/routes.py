"""Supervisors: extension requests of their own agency, granted or refused."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_percent
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from app import db_session
from app.forms import CommandForm, max_length
from app.i18n import _, _l, localized
from app.security import current_account, login_required
from app.verbs import attempt
from services import clock
from services.applications.decisions import decide_extension, extension_requests_for
from services.applications.joint_extension import is_city_supervisor, joint_extension_requests_for
from services.applications.service import engine
from services.errors import InvalidTransition
from services.filenames import content_disposition
from services.identity.models import Role
from services.supervision import dashboard as supervision_dashboard

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


def extension_page_rows(session, supervisor):
    rows = extension_requests_for(session, supervisor)
    return rows, {r.id: _form(r.id) for r, _a in rows}


@bp.route("/", methods=["GET"])
@login_required(Role.SUPERVISOR)
def index():
    from app.supervision.joint_extension import joint_form

    session, supervisor = db_session(), current_account()
    rows, forms = extension_page_rows(session, supervisor)
    # The city's supervisor also decides joint extensions (art. 42(2)); other supervisors see none.
    joint_rows = joint_extension_requests_for(session, supervisor) if is_city_supervisor(supervisor) else None
    return render_template("supervision/index.html", rows=rows, forms=forms, joint_rows=joint_rows,
                           joint_forms={r.id: joint_form(r.id) for r, _a in joint_rows or []})


@bp.route("/dashboard")
@login_required(Role.SUPERVISOR, Role.ADMIN)
def dashboard():
    session = db_session()
    board = supervision_dashboard(session, current_account(), engine(session).calendar)
    rated = [r for r in board.rows if r.on_time_rate is not None]
    ontime_bars = [(localized(r.agency, "name"), r.on_time_rate, format_percent(r.on_time_rate)) for r in rated]
    matter_bars = [(localized(r.matter, "title"), r.on_time_rate, format_percent(r.on_time_rate))
                   for r in board.matters if r.on_time_rate is not None]
    volume_bars = [(localized(r.agency, "name"), r.pending, str(r.pending)) for r in board.rows]
    # The follow-up of poor ratings is its own page (app/supervision/follow_ups.py), for supervisors.
    follow_ups_url = (url_for("supervision.follow_ups") if "supervision.follow_ups" in current_app.view_functions
                      and current_account().role == Role.SUPERVISOR else None)
    return render_template("supervision/dashboard.html", board=board, today=board.today, ontime_bars=ontime_bars,
                           matter_bars=matter_bars, volume_bars=volume_bars,
                           volume_max=max([r.pending for r in board.rows] or [0]) or 1, percent=format_percent,
                           matters={r.matter.code: r.matter for r in board.matters}, follow_ups_url=follow_ups_url)


@bp.route("/dashboard.csv")
@login_required(Role.SUPERVISOR, Role.ADMIN)
def dashboard_csv():
    session = db_session()
    board = supervision_dashboard(session, current_account(), engine(session).calendar)
    out = io.StringIO()
    writer = csv.writer(out)
    if request.args.get("by") == "matter":
        writer.writerow(["matter_code", "matter", "agency_code", "received", "decided", "pending",
                         "average_working_days", "p90_working_days", "on_time_rate"])
        for r in board.matters:
            writer.writerow([r.matter.code, localized(r.matter, "title"), r.agency.code, r.received, r.decided,
                             r.pending, "" if r.average_days is None else r.average_days,
                             "" if r.p90_days is None else r.p90_days,
                             "" if r.on_time_rate is None else round(r.on_time_rate, 4)])
        return _csv(out, "supervision-matters")
    writer.writerow(["agency_code", "agency", "received", "decided", "pending", "average_working_days",
                     "p90_working_days", "on_time_rate", "yellow_cards", "red_cards"])
    for r in board.rows:
        writer.writerow([r.agency.code, localized(r.agency, "name"), r.received, r.decided, r.pending,
                         "" if r.average_days is None else r.average_days, "" if r.p90_days is None else r.p90_days,
                         "" if r.on_time_rate is None else round(r.on_time_rate, 4), r.yellow, r.red])
    return _csv(out, "supervision")


def _csv(out: io.StringIO, name: str) -> Response:
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")  # BOM: Excel opens Chinese text correctly
    response.headers["Content-Disposition"] = content_disposition(f"{name}-{clock.today().isoformat()}.csv")
    return response


@bp.route("/extensions/<int:request_id>", methods=["POST"])
@login_required(Role.SUPERVISOR)
def decide(request_id: int):
    session, supervisor = db_session(), current_account()
    form = _form(request_id)
    rows = extension_requests_for(session, supervisor)
    if form.validate_on_submit():
        try:
            with attempt(session):
                decide_extension(session, supervisor, request_id, approve=form.decision.data == "grant",
                                 comment=(form.comment.data or "").strip(), command_id=form.command_id.data)
        except InvalidTransition as exc:
            if exc.code == "limit_passed":
                flash(_("The time limit has already ended, so it can no longer be extended. Refuse the request "
                        "instead. Nothing was changed."), "error")
            else:
                flash(_("This request was already decided. Nothing was changed."), "error")
        else:
            flash(_("Your decision on the extension was recorded."), "success")
        return redirect(url_for("supervision.index"))
    forms = {r.id: (form if r.id == request_id else _form(r.id)) for r, _a in rows}
    return render_template("supervision/index.html", rows=rows, forms=forms, errors_for=request_id,
                           joint_rows=None, joint_forms={}), 400
