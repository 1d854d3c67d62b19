"""The applicant's pages: their service page, the confirmation, a case, licence and material downloads (applying
is in app/portal/apply.py)."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.routing import BuildError

from app import db_session
from app.forms import CommandForm
from app.i18n import _
from app.portal.timeline import branch_timeline, page_helpers
from app.security import current_account, login_required
from app.verbs import attempt
from services import clock
from services.applications.decisions import withdraw_application
from services.applications.materials import materials_by_item
from services.applications.models import Material
from services.applications.service import (
    case_for_applicant,
    case_view,
    licences_being_issued,
    material_path,
)
from services.catalogue import definitions
from services.catalogue.answers import summary
from services.errors import InvalidTransition
from services.filenames import content_disposition
from services.identity.models import Role
from services.licences.service import licence_for_holder, licences_of_case
from services.ratings import may_rate, rating_of
from services.service_pages import RUNNING, ServicePage, page_number, resident_page

bp = Blueprint("portal", __name__, url_prefix="/me")
APPLICANT_ROLES = (Role.RESIDENT,)


@bp.route("/")
@login_required(*APPLICANT_ROLES)
def home():
    session, account = db_session(), current_account()
    if g.get("acting_for") is not None:  # acting for an enterprise: its page is this person's page for now
        return redirect(url_for("portal.enterprise_home", enterprise_id=g.acting_for.enterprise.id))
    page = resident_page(session, account, page_numbers())
    return render_template("portal/home.html", sp=page, timelines=timelines_of(page), drafts=drafts_of(account),
                           **page_links(), **page_helpers(page.agencies))


def page_numbers() -> dict[str, int]:
    """Each list's page number from the query string (anything malformed is page 1)."""
    return {name: page_number(request.args.get(name)) for name in ("cases", "licences", "messages", "access",
                                                                    "audit")}


def timelines_of(page: ServicePage) -> dict:
    """Timelines of the running parallel cases on the page (the ended ones list their agencies' decisions in a line;
    their timeline is on the case page)."""
    today = clock.today()
    running = {c.workflow_instance_id for c in page.cases.items if c.status in RUNNING}
    return {instance_id: branch_timeline(branches, today) for instance_id, branches in page.branches.items()
            if instance_id in running and len(branches) > 1}


def drafts_of(account, enterprise_id: int | None = None) -> list:
    """The account's unsent applications (services.applications.drafts, when that module is there): personal ones on
    the person's page, an enterprise's on that enterprise's page."""
    try:
        from services.applications.drafts import drafts_for
    except ImportError:
        return []
    return [d for d in drafts_for(db_session(), account) if getattr(d, "enterprise_id", None) == enterprise_id]


def _url_or_none(endpoint: str, **values) -> str | None:
    try:
        return url_for(endpoint, **values)
    except BuildError:  # that page is not (yet) part of this installation
        return None


def page_links() -> dict:
    """Links to pages other parts of the portal provide: renewing a licence (prefilled), sharing it, resuming a
    draft."""
    return {"renew_url": lambda licence: _url_or_none("portal.renew_licence", number=licence.number),
            "share_url": lambda licence: _url_or_none("portal.licence_sharing", number=licence.number),
            "resume_url": lambda draft: _url_or_none(getattr(draft, "resume_endpoint", "portal.resume_draft"),
                                                     draft_id=draft.id)}


def _sent(application, requests=()) -> dict:
    """What the applicant sent, for the confirmation and the case page: answers by section, files by item."""
    service = definitions.catalogue().services.get(application.bundle.code)
    answers = summary(service, application.answers or {}) if service else []
    return {"answers": answers, "groups": materials_by_item(application, service, list(requests))}


@bp.route("/cases/<reference>/submitted")
@login_required(*APPLICANT_ROLES)
def confirmation(reference: str):
    application = case_for_applicant(db_session(), current_account(), reference)
    return render_template("portal/confirmation.html", application=application, **_sent(application))


@bp.route("/cases/<reference>")
@login_required(*APPLICANT_ROLES)
def case(reference: str):
    session = db_session()
    application = case_for_applicant(session, current_account(), reference)
    view = case_view(session, application)
    licences = licences_of_case(session, application.id)
    return render_template("portal/case.html", view=view, **page_helpers(view.agencies), licences=licences,
                           being_issued=licences_being_issued(view, licences),
                           timeline=branch_timeline(view.branches), rating=rating_of(session, application),
                           may_rate=may_rate(application), **_sent(application, view.requests))


@bp.route("/cases/<reference>/withdraw", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def withdraw(reference: str):
    """Ask to confirm, then withdraw: a case cannot be withdrawn by one stray click."""
    session = db_session()
    application = case_for_applicant(session, current_account(), reference)
    form = CommandForm()
    if form.validate_on_submit():
        try:
            with attempt(session):
                withdraw_application(session, current_account(), reference, reason="",
                                     command_id=form.command_id.data)
        except InvalidTransition:
            flash(_("This case has already been decided, so it can no longer be withdrawn."), "error")
        else:
            flash(_("Your application %(reference)s was withdrawn.", reference=reference), "success")
        return redirect(url_for("portal.case", reference=reference))
    return render_template("portal/withdraw.html", application=application, form=form)


@bp.route("/cases/<reference>/materials/<int:material_id>")
@login_required(*APPLICANT_ROLES)
def material(reference: str, material_id: int):
    session = db_session()
    application = case_for_applicant(session, current_account(), reference)
    found = session.get(Material, material_id)
    if found is None or found.application_id != application.id:
        abort(404)
    return send_material(found)


@bp.route("/licences/<number>.pdf")
@login_required(*APPLICANT_ROLES)
def licence_pdf(number: str):
    licence = licence_for_holder(db_session(), current_account(), number)
    response = Response(licence.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(f"{licence.number}.pdf")
    return response


def send_material(found: Material, inline: bool = False):
    """The stored file, as a download or (for the browser's own PDF and image viewer) inline. Its type was checked
    by content at upload, and nosniff is set, so an inline file is never run as a page."""
    path = material_path(Path(current_app.config["UPLOAD_DIR"]), found)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=found.content_type)
    # Our own header, not send_file's: a name stored before names were cleaned may hold CR/LF, which werkzeug
    # refuses to put in a header (the file could then be downloaded by nobody).
    response.headers["Content-Disposition"] = content_disposition(found.filename or "", inline=inline)
    if inline:
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; object-src 'self'; sandbox"
    return response


@bp.route("/audit-proof.json")
@login_required()
def audit_proof():
    """Everything the audit trail holds about the signed-in person, each row with its path to the hub's signed daily
    root; checked offline with the script of /audit/proof_check.py (see the README)."""
    import json

    from flask import current_app

    from services.audit.chain import proof_for

    proof = proof_for(db_session(), current_account().id, Path(current_app.config["KEY_DIR"]))
    response = current_app.response_class(json.dumps(proof, ensure_ascii=False, indent=1),
                                          mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="onewindow-audit-proof.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
