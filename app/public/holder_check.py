"""The holder check: a relying party with the holder in front of them enters the holder's name and identity number
for a person's licence and learns only whether both match (``services.licences.verification``).

Each check is counted twice: per client address (``HOLDER_CHECK_LIMIT`` an hour) and per licence
(``HOLDER_CHECK_LICENCE_LIMIT`` a day, whoever asks), so spreading guesses over many addresses does not help either.
The price of the per-licence budget is that someone can use it up for a licence and make the check answer "try again
tomorrow" for it; the holder can still share a link.
"""

from __future__ import annotations

from flask import current_app, render_template
from wtforms import StringField

from app import db_session
from app.forms import BaseForm, max_length, required
from app.i18n import _l
from app.identifier_messages import resident_id_problem
from app.public.routes import _licence_or_404, bp
from app.ratelimit import hit, rate_limited
from app.verbs import attempt
from services.errors import ValidationFailed
from services.licences.verification import holder_matches, is_enterprise_licence

HOUR, DAY = 3600, 86400
DEFAULT_PER_ADDRESS = 10
DEFAULT_PER_LICENCE = 20
CHECK_ERRORS = {
    "holder_name_missing": _l("Enter the holder's name as it is on their identity card."),
    "holder_identifier_invalid": _l("Enter the holder's 18-character resident identity number, as it is on their "
                                    "identity card."),
}


class HolderCheckForm(BaseForm):
    name = StringField(_l("The holder's name"), validators=[
        required(_l("Enter the holder's name as it is on their identity card.")), max_length(100)])
    identity_number = StringField(_l("The holder's resident identity number"), validators=[
        required(_l("Enter the holder's 18-character resident identity number, as it is on their identity card.")),
        max_length(40)])


def _over_budget(number: str) -> int | None:
    config = current_app.config
    per_address = hit("holder-check", limit=int(config.get("HOLDER_CHECK_LIMIT", DEFAULT_PER_ADDRESS)),
                      window_seconds=HOUR)
    if per_address is not None:
        return per_address
    return hit("holder-check-licence", limit=int(config.get("HOLDER_CHECK_LICENCE_LIMIT", DEFAULT_PER_LICENCE)),
               window_seconds=DAY, subject=number)


@bp.route("/verify/<number>/holder", methods=["GET", "POST"])
@rate_limited("verify")
def holder_check(number: str):
    """Does this name and identity number belong to the licence's holder? "Matches" or "does not match", nothing
    else."""
    licence, not_found = _licence_or_404(number)
    if not_found:
        return not_found
    form = HolderCheckForm()
    available = not is_enterprise_licence(licence) and bool(licence.holder_identifier)
    result, retry_after, status = None, None, 200
    if available and form.validate_on_submit():
        retry_after = _over_budget(licence.number)
        if retry_after is None:
            try:
                with attempt(db_session()):
                    result = holder_matches(licence, name=form.name.data,
                                            identity_number=form.identity_number.data)
            except ValidationFailed as exc:
                field = form.name if exc.params.get("field") == "name" else form.identity_number
                message = CHECK_ERRORS.get(exc.code, exc.code)
                if exc.code == "holder_identifier_invalid" and exc.params.get("reason") not in (None, "format"):
                    message = resident_id_problem(field.label.text, exc.params["reason"])  # what is wrong with it
                field.errors = list(field.errors) + [str(message)]
    if form.errors:
        status = 400
    elif retry_after is not None:
        status = 429
    response = current_app.make_response((render_template(
        "public/holder_check.html", licence=licence, form=form, available=available, result=result,
        too_many=retry_after is not None, enterprise=is_enterprise_licence(licence)), status))
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    # What was typed (a name, an identity number) must not stay in any cache.
    response.headers["Cache-Control"] = "no-store"
    return response
