"""The clerk's workbench: the agency queue, a task with its case, and the decision."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from app import db_session
from app.forms import CommandForm, max_length
from app.i18n import _, _l
from app.portal.routes import send_material
from app.security import current_account, login_required
from services.applications.models import Material
from services.applications.service import (
    case_view,
    clerk_may_see_material,
    decide_task,
    open_tasks_for,
    task_for_clerk,
)
from services.errors import InvalidTransition, ValidationFailed
from services.identity.models import Role
from workflows.states import Outcome

bp = Blueprint("clerk", __name__, url_prefix="/work")


class DecisionForm(CommandForm):
    outcome = RadioField(_l("Decision"), validators=[InputRequired(_l("Select a decision."))],
                         invalid_choice_message=_l("Select a decision."))
    opinion = TextAreaField(_l("Opinion, conditions or reasons"), validators=[max_length(2000)])

    def validate_opinion(self, field):
        if self.outcome.data == Outcome.REJECT and not (field.data or "").strip():
            raise ValidationError(_l("Enter the reasons for the refusal. The applicant will see them."))


def _decision_form(task) -> DecisionForm:
    form = DecisionForm()
    if task.node_id and task.branch_id is None:
        form.outcome.choices = [SelectChoice(Outcome.ACCEPT.value, _("Accept the application"))]
    else:
        form.outcome.choices = [SelectChoice(Outcome.APPROVE.value, _("Approve")),
                                SelectChoice(Outcome.REJECT.value, _("Refuse"))]
    return form


@bp.route("/")
@login_required(Role.CLERK)
def queue():
    return render_template("clerk/queue.html", rows=open_tasks_for(db_session(), current_account()))


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required(Role.CLERK)
def task(task_id: int):
    session, clerk = db_session(), current_account()
    found, application = task_for_clerk(session, clerk, task_id)
    form = _decision_form(found)
    # A repeated command id (double click, retried request) is a no-op in the engine and lands on success below.
    if form.validate_on_submit():
        try:
            decide_task(session, clerk, found.id, outcome=form.outcome.data, opinion=form.opinion.data or "",
                        command_id=form.command_id.data)
        except ValidationFailed:
            form.opinion.errors.append(_("Enter the reasons for the refusal. The applicant will see them."))
        except InvalidTransition:
            flash(_("This task has already been decided or cancelled. Nothing was changed."), "error")
            return redirect(url_for("clerk.queue"))
        else:
            flash(_("Your decision on case %(reference)s was recorded.", reference=application.reference),
                  "success")
            return redirect(url_for("clerk.queue"))
    status = 400 if form.errors else 200
    return render_template("clerk/task.html", task=found, form=form,
                           view=case_view(session, application)), status


@bp.route("/tasks/<int:task_id>/materials/<int:material_id>")
@login_required(Role.CLERK)
def material(task_id: int, material_id: int):
    session, clerk = db_session(), current_account()
    _task, application = task_for_clerk(session, clerk, task_id)
    found = session.get(Material, material_id)
    if found is None or found.application_id != application.id or not clerk_may_see_material(session, clerk, found):
        abort(404)
    return send_material(found)
