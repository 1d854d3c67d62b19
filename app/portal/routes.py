"""The applicant's pages: their service page, applying, the confirmation, a case, licence and material downloads."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, send_file, url_for
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app import db_session
from app.forms import CommandForm
from app.i18n import _
from app.portal.forms import RestaurantForm, SupplementForm
from app.security import current_account, login_required
from services.applications.access import access_log_for
from services.applications.decisions import answer_supplement, withdraw_application
from services.applications.models import Material
from services.applications.service import (
    Upload,
    case_for_applicant,
    case_view,
    cases_for,
    material_path,
    submit_application,
)
from services.catalogue.models import Agency, Bundle
from services.errors import InvalidTransition, ValidationFailed
from services.identity.models import Role
from services.identity.service import enterprises_of
from services.licences.service import licence_for_holder, licences_for, licences_of_case
from services.notifications.service import inbox

bp = Blueprint("portal", __name__, url_prefix="/me")
APPLICANT_ROLES = (Role.RESIDENT,)


@bp.route("/")
@login_required(*APPLICANT_ROLES)
def home():
    session, account = db_session(), current_account()
    return render_template("portal/home.html", cases=cases_for(session, account),
                           licences=licences_for(session, account), notifications=inbox(session, account.id),
                           enterprises=enterprises_of(session, account), access_log=access_log_for(session, account),
                           agencies={a.code: a for a in session.scalars(select(Agency))})


@bp.route("/apply/<bundle_code>", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def apply(bundle_code: str):
    session, account = db_session(), current_account()
    bundle = session.scalar(select(Bundle).where(Bundle.code == bundle_code))
    if bundle is None or bundle.code != "open_restaurant":
        abort(404)
    enterprises = enterprises_of(session, account)
    if not enterprises:
        return render_template("portal/no_enterprise.html", bundle=bundle)
    form = RestaurantForm()
    form.enterprise.choices = [SelectChoice(str(e.id), f"{e.name} ({e.uscc})") for e in enterprises]
    if not form.is_submitted():
        form.submission_token.data = uuid.uuid4().hex
        if len(enterprises) == 1:
            form.enterprise.data = str(enterprises[0].id)
    if form.validate_on_submit():
        upload = form.premises_proof.data
        try:
            application = submit_application(
                session, account, bundle.code, answers=form.answers(), enterprise_id=int(form.enterprise.data),
                uploads=[Upload("premises_proof", upload.filename or "premises.pdf", upload.read())],
                submission_token=form.submission_token.data, storage_dir=Path(current_app.config["UPLOAD_DIR"]))
        except ValidationFailed as exc:
            form.premises_proof.errors.append(_("The file is too large or not a PDF, JPEG or PNG.")
                                              if exc.code in ("file_type", "file_too_large") else str(exc))
        else:
            return redirect(url_for("portal.confirmation", reference=application.reference))
    status = 400 if form.errors else 200
    return render_template("portal/apply_restaurant.html", form=form, bundle=bundle), status


@bp.route("/cases/<reference>/submitted")
@login_required(*APPLICANT_ROLES)
def confirmation(reference: str):
    application = case_for_applicant(db_session(), current_account(), reference)
    return render_template("portal/confirmation.html", application=application)


@bp.route("/cases/<reference>")
@login_required(*APPLICANT_ROLES)
def case(reference: str):
    return _case_page(reference, SupplementForm(), None)


def _case_page(reference: str, form: SupplementForm, answering: int | None, status: int = 200):
    session = db_session()
    application = case_for_applicant(session, current_account(), reference)
    return render_template("portal/case.html", view=case_view(session, application), form=form,
                           answering=answering, withdraw_form=CommandForm(),
                           licences=licences_of_case(session, application.id)), status


@bp.route("/cases/<reference>/withdraw", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def withdraw(reference: str):
    """Ask to confirm, then withdraw: a case cannot be withdrawn by one stray click."""
    session = db_session()
    application = case_for_applicant(session, current_account(), reference)
    form = CommandForm()
    if form.validate_on_submit():
        try:
            withdraw_application(session, current_account(), reference, reason="", command_id=form.command_id.data)
        except InvalidTransition:
            flash(_("This case has already been decided, so it can no longer be withdrawn."), "error")
        else:
            flash(_("Your application %(reference)s was withdrawn.", reference=reference), "success")
        return redirect(url_for("portal.case", reference=reference))
    return render_template("portal/withdraw.html", application=application, form=form)


@bp.route("/cases/<reference>/requests/<int:request_id>", methods=["POST"])
@login_required(*APPLICANT_ROLES)
def answer(reference: str, request_id: int):
    """Send the supplement: the files join the case and the branch that asked resumes its clock."""
    session = db_session()
    case_for_applicant(session, current_account(), reference)  # 404 before anything else for someone else's case
    form = SupplementForm()
    if form.validate_on_submit():
        uploads = [Upload("supplement", f.filename, f.read()) for f in form.files.data if f.filename]
        try:
            answer_supplement(session, current_account(), reference, request_id, uploads=uploads,
                              storage_dir=Path(current_app.config["UPLOAD_DIR"]), command_id=form.command_id.data)
        except InvalidTransition:
            flash(_("This request was already answered or the case has ended. Nothing was changed."), "error")
        else:
            flash(_("Thank you. Your supplement was sent and the agency's review has resumed."), "success")
        return redirect(url_for("portal.case", reference=reference))
    return _case_page(reference, form, request_id, status=400)


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
    response.headers["Content-Disposition"] = f'attachment; filename="{licence.number}.pdf"'
    return response


def send_material(found: Material, inline: bool = False):
    """The stored file, as a download or (for the browser's own PDF and image viewer) inline. Its type was checked
    by content at upload, and nosniff is set, so an inline file is never run as a page."""
    path = material_path(Path(current_app.config["UPLOAD_DIR"]), found)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=found.content_type, as_attachment=not inline, download_name=found.filename)
    if inline:
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; object-src 'self'; sandbox"
    return response
