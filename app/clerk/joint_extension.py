"""A clerk asks the city for the joint time limit's extension (art. 42(2)); the city supervisor decides it on the
supervision page (app/supervision/joint_extension.py)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from wtforms import TextAreaField

from app import db_session
from app.clerk.routes import bp
from app.forms import CommandForm, max_length, required
from app.i18n import _, _l
from app.security import current_account, login_required
from app.verbs import attempt
from services.applications.joint_extension import request_joint_extension
from services.applications.service import task_for_clerk
from services.errors import InvalidTransition, PermissionDenied, ValidationFailed
from services.identity.models import Role


class JointExtensionForm(CommandForm):
    class Meta:
        csrf = False  # several forms on the task page: the app-wide CSRF check reads the page's plain csrf_token

    reason = TextAreaField(_l("Why the joint time limit is not enough"),
                           validators=[required(_l("Enter why the case needs more time.")), max_length(1000)])


JOINT_REFUSALS = {
    "already_extended": _l("The joint time limit of this case was already extended or its extension is waiting for "
                           "the city. It can be extended only once. Nothing was changed."),
    "limit_passed": _l("The joint time limit has already ended, so it can no longer be extended. Nothing was "
                       "changed."),
    "not_running": _l("This case is not in review any more. Nothing was changed."),
}


@bp.route("/tasks/<int:task_id>/joint-extension", methods=["POST"])
@login_required(Role.CLERK)
def joint_extension(task_id: int):
    session, clerk = db_session(), current_account()
    found, application = task_for_clerk(session, clerk, task_id)
    form = JointExtensionForm(prefix="joint")
    if not form.validate_on_submit():
        flash(_("Enter why the case needs more time, in 1000 characters or fewer. Nothing was sent."), "error")
        return redirect(url_for("clerk.task", task_id=found.id, _anchor="joint-extension"))
    try:
        with attempt(session):
            request_joint_extension(session, clerk, application.reference, reason=form.reason.data,
                                    command_id=form.command_id.data)
    except (InvalidTransition, PermissionDenied, ValidationFailed) as exc:
        message = JOINT_REFUSALS.get(getattr(exc, "code", ""))
        flash(message or _("You cannot ask for the joint extension of this case. Nothing was changed."), "error")
    else:
        flash(_("Your request to extend the joint time limit of case %(reference)s was sent to the city's "
                "supervisor.", reference=application.reference), "success")
    return redirect(url_for("clerk.task", task_id=found.id))
