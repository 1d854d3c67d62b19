"""The clerk's workbench: the agency queue, a task with its case, and the decision."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from app import db_session
from app.forms import BlankableIntegerField, CommandForm, max_length
from app.i18n import _, _l
from app.portal.routes import send_material
from app.security import current_account, login_required
from services.applications.decisions import pause_for_review, request_extension, request_supplement, resume_review
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


SUPPLEMENT = "supplement"
PAUSE = "pause"
EXTEND = "extend"


class DecisionForm(CommandForm):
    outcome = RadioField(_l("Decision"), validators=[InputRequired(_l("Select a decision."))],
                         invalid_choice_message=_l("Select a decision."))
    opinion = TextAreaField(_l("Opinion, conditions or reasons"), validators=[max_length(2000)])
    items = TextAreaField(_l("Missing materials, one per line"), validators=[max_length(4000)])
    expected_days = BlankableIntegerField(_l("Expected length of the expert review in working days"),
                                 invalid_value_message=_l("Enter the expected length as a whole number of working "
                                                          "days, like 10."))

    def validate_opinion(self, field):
        text = (field.data or "").strip()
        if self.outcome.data == Outcome.REJECT and not text:
            raise ValidationError(_l("Enter the reasons for the refusal. The applicant will see them."))
        if self.outcome.data in (PAUSE, EXTEND) and not text:
            raise ValidationError(_l("Enter the reason. The applicant will be told it."))

    def validate_items(self, field):
        if self.outcome.data == SUPPLEMENT and not self.item_list():
            raise ValidationError(_l("List every missing material, one per line, so the applicant is told "
                                     "everything at once."))

    def validate_expected_days(self, field):
        if self.outcome.data != PAUSE:
            return
        if field.data is None:
            raise ValidationError(_l("Enter the expected length of the expert review in working days."))
        if not 1 <= field.data <= 250:
            raise ValidationError(_l("Enter a number of working days between 1 and 250."))

    def item_list(self) -> list[str]:
        return [line.strip() for line in (self.items.data or "").splitlines() if line.strip()]


def _decision_form(task) -> DecisionForm:
    form = DecisionForm()
    if task.branch_id is None:
        form.outcome.choices = [SelectChoice(Outcome.ACCEPT.value, _("Accept the application")),
                                SelectChoice(SUPPLEMENT, _("Ask for supplements (one-time notice)"))]
    else:
        form.outcome.choices = [SelectChoice(Outcome.APPROVE.value, _("Approve")),
                                SelectChoice(Outcome.REJECT.value, _("Refuse")),
                                SelectChoice(SUPPLEMENT, _("Ask for supplements (one-time notice)")),
                                SelectChoice(PAUSE, _("Pause for expert review, testing or a hearing"))]
        if not task.branch.extended:
            form.outcome.choices.append(SelectChoice(EXTEND, _("Ask a supervisor for a 10-working-day extension")))
    return form


def _carry_out(session, clerk, task, form) -> None:
    outcome, opinion, command_id = form.outcome.data, (form.opinion.data or "").strip(), form.command_id.data
    if outcome == SUPPLEMENT:
        request_supplement(session, clerk, task.id, items=form.item_list(), note=opinion, command_id=command_id)
    elif outcome == PAUSE:
        pause_for_review(session, clerk, task.id, reason=opinion, expected_days=form.expected_days.data,
                         command_id=command_id)
    elif outcome == EXTEND:
        request_extension(session, clerk, task.id, reason=opinion, command_id=command_id)
    else:
        decide_task(session, clerk, task.id, outcome=outcome, opinion=opinion, command_id=command_id)


DONE_MESSAGES = {
    SUPPLEMENT: _l("The supplement notice for case %(reference)s was sent. The clock is paused until the applicant "
                   "answers."),
    PAUSE: _l("Case %(reference)s is paused for expert review. The applicant has been told."),
    EXTEND: _l("Your extension request for case %(reference)s was sent to a supervisor."),
}


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
            _carry_out(session, clerk, found, form)
        except ValidationFailed as exc:
            # The form checks these first; the service checks again because other callers (the API) exist.
            target = form.items if exc.code == "supplement_items_required" else form.opinion
            target.errors.append(_("Check this answer: it is missing or not in the expected form."))
        except InvalidTransition as exc:
            flash(_("The case is waiting for the applicant or an expert, or was already decided. Nothing was "
                    "changed.") if exc.code in ("clock_paused", "waiting_for_applicant") else
                  _("This task has already been decided or cancelled. Nothing was changed."), "error")
            return redirect(url_for("clerk.task", task_id=found.id))
        else:
            message = DONE_MESSAGES.get(form.outcome.data)
            flash(message % {"reference": application.reference} if message else
                  _("Your decision on case %(reference)s was recorded.", reference=application.reference), "success")
            return redirect(url_for("clerk.queue"))
    status = 400 if form.errors else 200
    return render_template("clerk/task.html", task=found, form=form, resume_form=CommandForm(),
                           view=case_view(session, application)), status


@bp.route("/tasks/<int:task_id>/resume", methods=["POST"])
@login_required(Role.CLERK)
def resume(task_id: int):
    session, clerk = db_session(), current_account()
    found, application = task_for_clerk(session, clerk, task_id)
    form = CommandForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        resume_review(session, clerk, found.id, command_id=form.command_id.data)
    except InvalidTransition:
        flash(_("This review is not paused. Nothing was changed."), "error")
    else:
        flash(_("The review of case %(reference)s has resumed; its clock runs again.",
                reference=application.reference), "success")
    return redirect(url_for("clerk.task", task_id=found.id))


@bp.route("/tasks/<int:task_id>/materials/<int:material_id>")
@login_required(Role.CLERK)
def material(task_id: int, material_id: int):
    session, clerk = db_session(), current_account()
    _task, application = task_for_clerk(session, clerk, task_id)
    found = session.get(Material, material_id)
    if found is None or found.application_id != application.id or not clerk_may_see_material(session, clerk, found):
        abort(404)
    return send_material(found)
