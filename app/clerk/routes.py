"""The clerk's workbench: the agency queue, a task with its case, and the decision."""

from __future__ import annotations

import datetime as dt
import enum

import click
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from sqlalchemy import literal, select
from sqlalchemy.orm import lazyload
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from app import db_session
from app.forms import BaseForm, BlankableIntegerField, CommandForm, max_length, required
from app.i18n import _, _l, localized
from app.portal.routes import send_material
from app.security import current_account, login_required
from app.verbs import attempt
from services import clock
from services.applications.access import record_access
from services.applications.comments import MAX_COMMENT, comments_for, post_comment
from services.applications.decisions import (
    extension_days_of,
    pause_for_review,
    request_extension,
    request_supplement,
    resume_review,
    supplement_sent,
)
from services.applications.joint_extension import joint_extension_of, may_ask_for_joint_extension
from services.applications.materials import materials_by_item
from services.applications.models import Material
from services.applications.queues import (
    MAX_REASON,
    QueueFilter,
    WorkQueue,
    agency_clerks,
    claim_task,
    queue_page,
    reassign_task,
    release_task,
)
from services.applications.service import (
    case_view,
    clerk_may_see_material,
    decide_task,
    engine,
    task_for_clerk,
)
from services.applications.tallies import recount
from services.catalogue import definitions
from services.catalogue.answers import clerk_view
from services.catalogue.models import Bundle
from services.errors import InvalidTransition, ValidationFailed
from services.identity.models import Role
from services.notifications.models import Notification
from services.notifications.service import NotificationKind
from workflows.states import Outcome

bp = Blueprint("clerk", __name__, url_prefix="/work")


class Decision(enum.StrEnum):
    """What a clerk may decide on a task: one of the engine's outcomes (workflows.states.Outcome), or a step that
    stops the branch's clock or asks for more time and leaves the task open."""

    ACCEPT = Outcome.ACCEPT.value
    APPROVE = Outcome.APPROVE.value
    REJECT = Outcome.REJECT.value
    SUPPLEMENT = "supplement"
    PAUSE = "pause"
    EXTEND = "extend"


DECISION_LABELS = {
    Decision.ACCEPT: _l("Accept the application"),
    Decision.APPROVE: _l("Approve"),
    Decision.REJECT: _l("Refuse"),
    Decision.SUPPLEMENT: _l("Ask for supplements (one-time notice)"),
    Decision.PAUSE: _l("Pause for expert review, testing or a hearing"),
    Decision.EXTEND: _l("Ask a supervisor to extend the time limit (once, by the matter's own extension)"),
}


class DecisionForm(CommandForm):
    confirmed = HiddenField()
    outcome = RadioField(_l("Decision"), validators=[InputRequired(_l("Select a decision."))],
                         invalid_choice_message=_l("Select a decision."))
    opinion = TextAreaField(_l("Opinion, conditions or reasons"), validators=[max_length(2000)])
    items = TextAreaField(_l("Missing materials, one per line"), validators=[max_length(4000)])
    questions = TextAreaField(_l("Questions the applicant must answer in writing, one per line"),
                              validators=[max_length(4000)])
    expected_days = BlankableIntegerField(_l("Expected length of the expert review in working days"),
                                 invalid_value_message=_l("Enter the expected length as a whole number of working "
                                                          "days, like 10."))

    def validate_opinion(self, field):
        text = (field.data or "").strip()
        if self.outcome.data == Decision.REJECT and not text:
            raise ValidationError(_l("Enter the reasons for the refusal. The applicant will see them."))
        if self.outcome.data in (Decision.PAUSE, Decision.EXTEND) and not text:
            raise ValidationError(_l("Enter the reason. The applicant will be told it."))

    def validate_items(self, field):
        if self.outcome.data == Decision.SUPPLEMENT and not self.item_list() and not self.question_list():
            raise ValidationError(_l("List every missing material (or question), one per line, so the applicant is "
                                     "told everything at once."))

    def validate_expected_days(self, field):
        if self.outcome.data != Decision.PAUSE:
            return
        if field.data is None:
            raise ValidationError(_l("Enter the expected length of the expert review in working days."))
        if not 1 <= field.data <= 250:
            raise ValidationError(_l("Enter a number of working days between 1 and 250."))

    def item_list(self) -> list[str]:
        return [line.strip() for line in (self.items.data or "").splitlines() if line.strip()]

    def question_list(self) -> list[str]:
        return [line.strip() for line in (self.questions.data or "").splitlines() if line.strip()]

    def notice_items(self) -> list:
        """The notice's items: documents as texts, questions marked so the applicant answers them in writing."""
        return [*self.item_list(), *({"text": q, "kind": "question"} for q in self.question_list())]


def _decision_form(task) -> DecisionForm:
    form = DecisionForm()
    # The supplement notice is one-time (art. 32): once sent for this task or branch it is no longer offered.
    # At acceptance it must come within the 5 working days (art. 32(4)): later the application counts as accepted.
    late = task.branch_id is None and clock.today() > task.due_on
    notice = [] if late or supplement_sent(db_session(), task) else [Decision.SUPPLEMENT]
    if task.branch_id is None:
        choices = [Decision.ACCEPT, *notice]
    else:
        choices = [Decision.APPROVE, Decision.REJECT, *notice, Decision.PAUSE]
        if not task.branch.extended and extension_days_of(task) > 0:  # fire inspection: the law allows none
            choices.append(Decision.EXTEND)
    form.outcome.choices = [SelectChoice(choice.value, DECISION_LABELS[choice]) for choice in choices]
    return form


def _carry_out(session, clerk, task, form) -> None:
    outcome, opinion, command_id = form.outcome.data, (form.opinion.data or "").strip(), form.command_id.data
    if outcome == Decision.SUPPLEMENT:
        request_supplement(session, clerk, task.id, items=form.notice_items(), note=opinion, command_id=command_id)
    elif outcome == Decision.PAUSE:
        pause_for_review(session, clerk, task.id, reason=opinion, expected_days=form.expected_days.data,
                         command_id=command_id)
    elif outcome == Decision.EXTEND:
        request_extension(session, clerk, task.id, reason=opinion, command_id=command_id)
    else:
        decide_task(session, clerk, task.id, outcome=outcome, opinion=opinion, command_id=command_id)


# Refusals the Administrative Licensing Law dictates (workflows/engine.py), each told as it is.
LAW_REFUSALS = {
    "supplement_already_sent": _l("A supplement notice was already sent for this task. The law allows one notice that "
                                  "lists everything at once (art. 32). Nothing was changed."),
    "acceptance_period_over": _l("The 5 working days for a supplement notice have passed, so the application counts "
                                 "as accepted on the day it arrived (art. 32). Accept it. Nothing was changed."),
    "limit_passed": _l("The time limit has already ended, so it can no longer be extended (art. 42). Nothing was "
                       "changed."),
    "no_extension": _l("The law that sets this matter's time limit allows no extension. Nothing was changed."),
    "already_extended": _l("This task's extension was already asked for or granted. It can be extended only once. "
                           "Nothing was changed."),
}


DONE_MESSAGES = {
    Decision.SUPPLEMENT: _l("The supplement notice for case %(reference)s was sent. The clock is paused until the "
                            "applicant answers."),
    Decision.PAUSE: _l("Case %(reference)s is paused for expert review. The applicant has been told."),
    Decision.EXTEND: _l("Your extension request for case %(reference)s was sent to a supervisor."),
}


QUEUE_LABELS = {  # the tabs, in this order
    WorkQueue.ACCEPTANCE: _l("Waiting for acceptance"),
    WorkQueue.UNCLAIMED: _l("Unclaimed"),
    WorkQueue.MINE: _l("Mine"),
    WorkQueue.WAITING_APPLICANT: _l("Waiting for the applicant"),
    WorkQueue.PAUSED: _l("Paused"),
    WorkQueue.DUE_SOON: _l("Due within 2 working days"),
    WorkQueue.OVERDUE: _l("Overdue"),
}


class QueueFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    queue = HiddenField()
    q = StringField(_l("Reference number or applicant name"), validators=[max_length(100)])
    bundle = SelectField(_l("Service"), validators=[Optional()], validate_choice=False)
    due_before = DateField(_l("Due on or before"), validators=[Optional()], format="%Y-%m-%d",
                           render_kw={"type": "date"})
    after = HiddenField()


def _keyset(value: str | None):
    """The "after" cursor, ``YYYY-MM-DD.id``; anything malformed starts from the first page."""
    try:
        day, task_id = (value or "").split(".")
        return dt.date.fromisoformat(day), int(task_id)
    except ValueError:
        return None


@bp.route("/")
@login_required(Role.CLERK)
def queue():
    session, clerk = db_session(), current_account()
    form = QueueFilterForm(request.args)
    form.bundle.choices = [SelectChoice("", _("All services"))] + [
        SelectChoice(b.code, localized(b, "title"))
        for b in session.scalars(select(Bundle).options(lazyload(Bundle.items)).order_by(Bundle.id))]
    name = request.args.get("queue") or (WorkQueue.ACCEPTANCE if clerk.agency.is_lead_window else WorkQueue.UNCLAIMED)
    try:
        name = WorkQueue(name)
    except ValueError:
        abort(404)
    valid = form.validate()
    flt = QueueFilter(queue=name, after=_keyset(request.args.get("after")))
    if valid:
        flt.bundle, flt.due_before, flt.search = form.bundle.data or None, form.due_before.data, form.q.data or None
    page = queue_page(session, clerk, flt, engine(session).calendar)
    next_url = None
    if page.next_after:
        cursor = f"{page.next_after[0].isoformat()}.{page.next_after[1]}"
        args = request.args.to_dict() | {"queue": name, "after": cursor}
        next_url = url_for("clerk.queue", **args)
    # The kind as a literal, so that PostgreSQL matches the partial index of migration 0008 on any plan.
    reassigned = literal(NotificationKind.TASK_REASSIGNED.value, literal_execute=True)
    notices = session.scalars(select(Notification).where(Notification.account_id == clerk.id,
                                                         Notification.kind == reassigned)
                              .order_by(Notification.id.desc()).limit(5)).all()
    return render_template("clerk/queue.html", page=page, current=name, labels=QUEUE_LABELS, form=form,
                           next_url=next_url, filtered=bool(flt.bundle or flt.due_before or flt.search),
                           paging=flt.after is not None, notices=notices), (200 if valid else 400)


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required(Role.CLERK)
def claim(task_id: int):
    session = db_session()
    try:
        with attempt(session):
            claim_task(session, current_account(), task_id)
    except InvalidTransition:
        flash(_("Another clerk has already claimed this task. Nothing was changed."), "error")
    else:
        flash(_("The task is yours now. It is in your queue under Mine."), "success")
    return redirect(url_for("clerk.task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@login_required(Role.CLERK)
def release(task_id: int):
    session = db_session()
    try:
        with attempt(session):
            release_task(session, current_account(), task_id)
    except InvalidTransition:
        flash(_("Only the clerk who claimed this task can release it. Nothing was changed."), "error")
    else:
        flash(_("The task is back in the agency queue."), "success")
    return redirect(url_for("clerk.queue"))


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required(Role.CLERK)
def task(task_id: int):
    session, clerk = db_session(), current_account()
    found, application = task_for_clerk(session, clerk, task_id)
    if request.method == "GET":
        record_access(session, clerk, application, "review")
    form = _decision_form(found)
    # A repeated command id (double click, retried request) is a no-op in the engine and lands on success below.
    if form.validate_on_submit() and form.confirmed.data != "yes":
        # Every decision is shown back for confirmation before it is sent.
        chosen = next((c.label for c in form.outcome.choices if c.value == form.outcome.data), form.outcome.data)
        return render_template("clerk/confirm.html", task=found, form=form, application=application,
                               chosen=chosen)
    if form.validate_on_submit():
        try:
            with attempt(session):
                _carry_out(session, clerk, found, form)
        except ValidationFailed as exc:
            # The form checks these first; the service checks again because other callers (the API) exist.
            target = form.items if exc.code == "supplement_items_required" else form.opinion
            target.errors.append(_("Check this answer: it is missing or not in the expected form."))
        except InvalidTransition as exc:
            if exc.code == "claimed_by_other":
                flash(_("Another clerk has claimed this task, so only they can decide it. Nothing was changed."),
                      "error")
            elif exc.code in ("clock_paused", "waiting_for_applicant"):
                flash(_("The case is waiting for the applicant or an expert, or was already decided. Nothing was "
                        "changed."), "error")
            elif exc.code in LAW_REFUSALS:
                flash(LAW_REFUSALS[exc.code], "error")
            else:
                flash(_("This task has already been decided or cancelled. Nothing was changed."), "error")
            return redirect(url_for("clerk.task", task_id=found.id))
        else:
            message = DONE_MESSAGES.get(form.outcome.data)
            flash(message % {"reference": application.reference} if message else
                  _("Your decision on case %(reference)s was recorded.", reference=application.reference), "success")
            return redirect(url_for("clerk.queue"))
    status = 400 if form.errors else 200
    return _task_page(session, clerk, found, application, form, CommentForm(prefix="comment")), status


def _task_page(session, clerk, found, application, form, comment_form):
    view = case_view(session, application)
    service = definitions.catalogue().services.get(application.bundle.code)
    answers = clerk_view(service, found.agency_code, application.answers or {}) if service else []
    from app.clerk.joint_extension import JointExtensionForm

    joint = {"form": JointExtensionForm(prefix="joint"), "request": joint_extension_of(session, application),
             "may_ask": may_ask_for_joint_extension(session, clerk, application)}
    return render_template("clerk/task.html", task=found, form=form, resume_form=CommandForm(), view=view, joint=joint,
                           answers=answers,
                           groups=materials_by_item(application, service, view.requests, agency=clerk.agency),
                           comment_form=comment_form,
                           comments=comments_for(session, clerk, application, found),
                           comment_time=lambda at: format_datetime(at, "yyyy-MM-dd HH:mm"))


class CommentForm(CommandForm):
    class Meta:
        csrf = False  # several forms on the task page: the app-wide CSRF check reads the page's plain csrf_token

    body = TextAreaField(_l("Comment to the other agencies"),
                         validators=[required(_l("Enter your comment.")), max_length(MAX_COMMENT)])


@bp.route("/tasks/<int:task_id>/comments", methods=["POST"])
@login_required(Role.CLERK)
def comment(task_id: int):
    """A clerk of an agency working on the case writes to the other agencies; the applicant does not see it."""
    session, clerk = db_session(), current_account()
    found, application = task_for_clerk(session, clerk, task_id)
    form = CommentForm(prefix="comment")
    if form.validate_on_submit():
        try:
            with attempt(session):
                post_comment(session, clerk, application, body=form.body.data, command_id=form.command_id.data)
        except ValidationFailed:
            form.body.errors.append(_("Enter your comment in %(max)d characters or fewer.", max=MAX_COMMENT))
        else:
            flash(_("Your comment was added to case %(reference)s. The applicant does not see it.",
                    reference=application.reference), "success")
            return redirect(url_for("clerk.task", task_id=found.id, _anchor="comments-heading"))
    return _task_page(session, clerk, found, application, _decision_form(found), form), 400


class ReassignForm(CommandForm):
    to_clerk = RadioField(_l("Give the task to"), coerce=int, validators=[InputRequired(_l("Select a clerk."))],
                          invalid_choice_message=_l("Select a clerk."))
    reason = TextAreaField(_l("Reason"), validators=[required(_l("Enter the reason for the reassignment.")),
                                                     max_length(MAX_REASON)])


@bp.route("/tasks/<int:task_id>/reassign", methods=["GET", "POST"])
@login_required(Role.CLERK)
def reassign(task_id: int):
    """The agency lead gives a task to another clerk of the agency, with a reason for the case's history."""
    session, lead = db_session(), current_account()
    found, application = task_for_clerk(session, lead, task_id)
    clerks = agency_clerks(session, lead)  # PermissionDenied (403) for a clerk who is not a lead
    form = ReassignForm()
    form.to_clerk.choices = [SelectChoice(c.id, c.name + (" " + _("(has it now)") if c.id == found.assignee_id
                                                          else "")) for c in clerks]
    if form.validate_on_submit():
        try:
            with attempt(session):
                reassign_task(session, lead, found.id, to_clerk_id=form.to_clerk.data, reason=form.reason.data,
                              command_id=form.command_id.data)
        except InvalidTransition as exc:
            if exc.code == "already_assigned":
                form.to_clerk.errors.append(_("This clerk already has the task. Select another clerk."))
            else:
                flash(_("This task has already been decided or cancelled. Nothing was changed."), "error")
                return redirect(url_for("clerk.task", task_id=found.id))
        else:
            chosen = next(c for c in clerks if c.id == form.to_clerk.data)
            flash(_("Case %(reference)s is now with %(name)s, who has been told.", reference=application.reference,
                    name=chosen.name), "success")
            return redirect(url_for("clerk.task", task_id=found.id))
    holder = next((c for c in clerks if c.id == found.assignee_id), None)
    return render_template("clerk/reassign.html", task=found, application=application, form=form,
                           holder=holder), (400 if form.errors else 200)


@bp.route("/tasks/<int:task_id>/resume", methods=["POST"])
@login_required(Role.CLERK)
def resume(task_id: int):
    session, clerk = db_session(), current_account()
    found, application = task_for_clerk(session, clerk, task_id)
    form = CommandForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with attempt(session):
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
    record_access(session, clerk, application, "material")
    return send_material(found, inline=request.args.get("view") == "1")


@bp.cli.command("recount-tallies")
def recount_tallies_command():
    """Rebuild the queue and supervision tallies from the tasks and branches (after a bulk load that bypassed the
    database triggers, such as bench/gen_data.py on PostgreSQL as a superuser)."""
    with current_app.extensions["onewindow_db"].transaction() as session:
        recount(session)
    click.echo("queue_tallies and branch_tallies recounted")
