"""Rating the service once a case is decided: 5 levels, tags, an optional comment; once per case."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from app import db_session
from app.forms import BaseForm, max_length
from app.i18n import _, _l
from app.portal.routes import APPLICANT_ROLES, bp
from app.security import current_account, login_required
from app.verbs import attempt
from services.applications.service import case_for_applicant
from services.errors import InvalidTransition
from services.ratings import MAX_COMMENT, may_rate, rate_case, rating_of

SCORE_LABELS = {
    "5": _l("5 – Very good"),
    "4": _l("4 – Good"),
    "3": _l("3 – Acceptable"),
    "2": _l("2 – Poor"),
    "1": _l("1 – Very poor"),
}
TAG_LABELS = {
    "over_time_limit": _l("Over the time limit"),
    "extra_material": _l("Asked for material beyond the guide"),
    "extra_conditions": _l("Set conditions beyond the guide"),
    "unclear_guidance": _l("Unclear guidance"),
    "repeated_visits": _l("Had to come back or send things again"),
    "polite_helpful": _l("Polite and helpful"),
    "fast": _l("Faster than promised"),
    "easy_online": _l("Easy to do online"),
}


class RatingForm(BaseForm):
    score = RadioField(_l("How would you rate this service?"),
                       choices=[SelectChoice(value, label) for value, label in SCORE_LABELS.items()],
                       validators=[InputRequired(_l("Select a rating from 1 to 5."))],
                       invalid_choice_message=_l("Select a rating from 1 to 5."))
    tags = SelectMultipleField(_l("What describes your experience? (optional)"),
                               choices=[SelectChoice(code, label) for code, label in TAG_LABELS.items()],
                               widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                               invalid_choice_message=_l("Select only the descriptions listed."))
    comment = TextAreaField(_l("Anything else you want to tell us? (optional)"),
                            validators=[max_length(MAX_COMMENT)])


@bp.route("/cases/<reference>/rating", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def rate(reference: str):
    session, account = db_session(), current_account()
    application = case_for_applicant(session, account, reference)
    if not may_rate(application) or rating_of(session, application) is not None:
        flash(_("This case cannot be rated now: only a decided case can be rated, once."), "error")
        return redirect(url_for("portal.case", reference=application.reference))
    form = RatingForm()
    if form.validate_on_submit():
        try:
            with attempt(session):
                rate_case(session, account, application, score=int(form.score.data), tags=form.tags.data or [],
                          comment=form.comment.data or "")
        except InvalidTransition:
            flash(_("This case was already rated. Nothing was changed."), "error")
        else:
            flash(_("Thank you for rating this service."), "success")
        return redirect(url_for("portal.case", reference=application.reference))
    status = 400 if form.errors else 200
    return render_template("portal/ratings/rate.html", form=form, application=application), status
