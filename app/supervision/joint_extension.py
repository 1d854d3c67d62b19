"""The city supervisor decides the joint time limit's extension (art. 42(2)): +15 working days, once per case."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from app import db_session
from app.i18n import _
from app.security import current_account, login_required
from app.supervision.routes import ExtensionDecisionForm, bp, extension_page_rows
from app.verbs import attempt
from services.applications.joint_extension import decide_joint_extension, joint_extension_requests_for
from services.errors import InvalidTransition
from services.identity.models import Role


def joint_form(request_id: int) -> ExtensionDecisionForm:
    return ExtensionDecisionForm(prefix=f"j{request_id}", meta={"csrf": False})


@bp.route("/joint-extensions/<int:request_id>", methods=["POST"])
@login_required(Role.SUPERVISOR)
def decide_joint(request_id: int):
    session, supervisor = db_session(), current_account()
    joint_rows = joint_extension_requests_for(session, supervisor)  # PermissionDenied unless the city supervisor
    form = joint_form(request_id)
    if form.validate_on_submit():
        try:
            with attempt(session):
                decide_joint_extension(session, supervisor, request_id, approve=form.decision.data == "grant",
                                       comment=(form.comment.data or "").strip(), command_id=form.command_id.data)
        except InvalidTransition as exc:
            if exc.code == "limit_passed":
                flash(_("The joint time limit has already ended, so it can no longer be extended. Refuse the "
                        "request instead. Nothing was changed."), "error")
            else:
                flash(_("This request was already decided. Nothing was changed."), "error")
        else:
            flash(_("Your decision on the joint extension was recorded."), "success")
        return redirect(url_for("supervision.index"))
    rows, forms = extension_page_rows(session, supervisor)
    joint_forms = {r.id: (form if r.id == request_id else joint_form(r.id)) for r, _a in joint_rows}
    return render_template("supervision/index.html", rows=rows, forms=forms, joint_rows=joint_rows,
                           joint_forms=joint_forms, errors_for_joint=request_id), 400
