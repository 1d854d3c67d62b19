"""Applying online: start, a task list, one topic per page, materials, check your answers, submit; drafts saved page by
page; renewals prefilled from the licence being renewed; the itemised answer to a supplement notice.

Every draft and case is looked up through the services with the signed-in account, so someone else's draft or case
is a 404 whatever the id in the address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app import db_session
from app.i18n import _, localized
from app.portal.forms import ConfirmForm, EnterpriseForm, MaterialForm, SubmitForm, supplement_form_class
from app.portal.journey import applies_online, checked_answers, page_form, service_of, text
from app.portal.routes import APPLICANT_ROLES, bp, send_material
from app.security import current_account, login_required
from app.verbs import attempt
from services import clock
from services.applications import drafts as draft_service
from services.applications.decisions import WRITTEN_ANSWER_MAX, answer_supplement, supplement_item_code
from services.applications.eligibility import questions_for
from services.applications.materials import (
    MAX_FILES_PER_UPLOAD,
    ItemStatus,
    add_files,
    check_uploads,
    draft_file,
    item_statuses,
    material_items,
    remove_file,
)
from services.applications.models import ApplicationDraft
from services.applications.service import Upload, case_for_applicant
from services.catalogue.answers import page_complete, summary
from services.catalogue.definitions.model import Page, Section, Service
from services.catalogue.models import Audience, Bundle
from services.errors import InvalidTransition, NotFound, ValidationFailed
from services.identity.service import enterprises_of
from services.licences.service import licence_by_number
from workflows.models import Request
from workflows.states import RequestKind, RequestState

DOCUMENTS = "documents"
COMPLETED, IN_PROGRESS, NOT_STARTED, CANNOT_START = "completed", "in_progress", "not_started", "cannot_start"
OPTIONAL = "optional"  # a document the applicant may leave out: it never holds up sending


def _storage() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _online_bundle(code: str) -> Bundle:
    bundle = db_session().scalar(select(Bundle).where(Bundle.code == code))
    if bundle is None or not applies_online(bundle):
        abort(404)
    return bundle


def _my_draft(draft_id: int, *, lock: bool = False) -> ApplicationDraft:
    """The applicant's draft. A draft already sent has become a case: every address of it leads to the case page
    (the browser's Back button after sending, a bookmark), never to a "not found"."""
    session, account = db_session(), current_account()
    try:
        with attempt(session):
            draft = draft_service.draft_for(session, account, draft_id, lock=lock)
    except NotFound:
        sent = draft_service.case_sent_from(session, account, draft_id)
        if sent is None:
            raise
        flash(_("This application was sent as case %(reference)s. Here is where it stands.",
                reference=sent.reference), "success")
        abort(redirect(url_for("portal.case", reference=sent.reference)))
    if service_of(draft.bundle) is None:
        abort(404)
    return draft


def _service(draft: ApplicationDraft) -> Service:
    return service_of(draft.bundle)


# -- where the applicant is ---------------------------------------------------------------------------------------

@dataclass
class Task:
    label: str
    url: str
    status: str


@dataclass
class TaskSection:
    slug: str
    title: str
    status: str
    tasks: list[Task] = field(default_factory=list)


def _sections(draft: ApplicationDraft) -> list[tuple[Section, list[Page]]]:
    """The journey's sections with the pages the answers so far lead through (a page shown only for some answers,
    such as the signboard's details, appears once they call for it)."""
    answers = draft.answers or {}
    return [(section, [p for p in section.pages if p.applies(answers)]) for section in _service(draft).journey]


def _page_done(draft: ApplicationDraft, page: Page) -> bool:
    if page.kind == "enterprise":
        return draft.enterprise_id is not None and page.slug in (draft.completed or [])
    return page.slug in (draft.completed or [])


def _material_key(code: str) -> str:
    return f"material:{code}"


def _item_done(draft: ApplicationDraft, status: ItemStatus) -> bool:
    if status.licence is not None:
        return True
    return status.satisfied and (bool(status.files) or _material_key(status.item.code) in (draft.completed or []))


def _item_status(draft: ApplicationDraft, status: ItemStatus) -> str:
    if _item_done(draft, status):
        return COMPLETED
    return NOT_STARTED if status.item.required else OPTIONAL


def _section_status(done: list[bool]) -> str:
    if done and all(done):
        return COMPLETED
    return IN_PROGRESS if any(done) else NOT_STARTED


def task_list(draft: ApplicationDraft, statuses: list[ItemStatus]) -> list[TaskSection]:
    """The sections of the draft with their status: questions first, then documents (which depend on the answers,
    so they cannot start before the questions are done), then check and send."""
    result = []
    for section, pages in _sections(draft):
        tasks = [Task(text(page.heading), url_for("portal.draft_page", draft_id=draft.id, slug=page.slug),
                      COMPLETED if _page_done(draft, page) else NOT_STARTED) for page in pages]
        result.append(TaskSection(section.slug, text(section.title),
                                  _section_status([t.status == COMPLETED for t in tasks]), tasks))
    questions_done = all(s.status == COMPLETED for s in result)
    documents = [Task(_localized_item(status), url_for("portal.draft_material", draft_id=draft.id,
                                                       item_code=status.item.code),
                      _item_status(draft, status)) for status in statuses]
    documents_status = (_section_status([t.status in (COMPLETED, OPTIONAL) for t in documents]) if questions_done
                        else CANNOT_START)
    result.append(TaskSection(DOCUMENTS, _("Documents"), documents_status, documents if questions_done else []))
    all_done = all(s.status == COMPLETED for s in result)
    result.append(TaskSection("check", _("Check and send"), NOT_STARTED if all_done else CANNOT_START,
                              [Task(_("Check your answers and send the application"),
                                    url_for("portal.check_answers", draft_id=draft.id),
                                    NOT_STARTED if all_done else CANNOT_START)]))
    return result


def _localized_item(status: ItemStatus) -> str:
    return localized(status.item, "title")


def _ready_to_check(sections: list[TaskSection]) -> bool:
    return all(s.status == COMPLETED for s in sections if s.slug != "check")


def _next_url(draft: ApplicationDraft, current: str) -> str:
    """After saving a page: back to the check page if the applicant came from it, else the next page of the same
    section, else the task list."""
    if request.args.get("return") == "check":
        return url_for("portal.check_answers", draft_id=draft.id)
    for _section, pages in _sections(draft):
        slugs = [p.slug for p in pages]
        if current in slugs and slugs.index(current) + 1 < len(slugs):
            return url_for("portal.draft_page", draft_id=draft.id, slug=slugs[slugs.index(current) + 1])
    if current.startswith("material:"):
        codes = [s.item.code for s in item_statuses(db_session(), draft)]
        code = current.split(":", 1)[1]
        if code in codes and codes.index(code) + 1 < len(codes):
            return url_for("portal.draft_material", draft_id=draft.id, item_code=codes[codes.index(code) + 1])
    return url_for("portal.resume_draft", draft_id=draft.id)


def _after_save(draft: ApplicationDraft, current: str):
    if request.form.get("later"):
        flash(_("Your answers are saved. You can come back to this application from your service page."),
              "success")
        return redirect(url_for("portal.resume_draft", draft_id=draft.id))
    return redirect(_next_url(draft, current))


# -- starting -------------------------------------------------------------------------------------------------------

@bp.route("/apply/<bundle_code>", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def apply(bundle_code: str):
    """The start page: what the application needs; starting makes the draft (or finds the one already started)."""
    session, account = db_session(), current_account()
    bundle = _online_bundle(bundle_code)
    if bundle.audience == Audience.ENTERPRISE and not enterprises_of(session, account, bundle.code):
        return render_template("portal/no_enterprise.html", bundle=bundle)
    existing = draft_service.draft_of_bundle(session, account, bundle)
    if existing is not None:
        return redirect(url_for("portal.resume_draft", draft_id=existing.id))
    form = ConfirmForm()
    if form.validate_on_submit():
        draft, _created = draft_service.start_draft(session, account, bundle)
        return redirect(url_for("portal.resume_draft", draft_id=draft.id))
    return render_template("portal/apply/start.html", bundle=bundle, form=form,
                           items=material_items(session, bundle),
                           has_eligibility=bool(questions_for(session, bundle))), 400 if form.errors else 200


@bp.route("/drafts/<int:draft_id>")
@login_required(*APPLICANT_ROLES)
def resume_draft(draft_id: int):
    """The task list: every section with its status; the way back into a saved application."""
    draft = _my_draft(draft_id)
    sections = task_list(draft, item_statuses(db_session(), draft))
    done = sum(1 for s in sections if s.status == COMPLETED)
    return render_template("portal/apply/task_list.html", draft=draft, sections=sections, done=done,
                           total=len(sections))


# -- question pages -------------------------------------------------------------------------------------------------

def _find_page(draft: ApplicationDraft, slug: str) -> Page:
    page = _service(draft).page(slug)
    if page is None:
        abort(404)
    if not page.applies(draft.answers or {}):
        # A page the answers no longer call for (the signboard's details after answering "no"): back to the list.
        abort(redirect(url_for("portal.resume_draft", draft_id=draft.id)))
    return page


@bp.route("/drafts/<int:draft_id>/pages/<slug>", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def draft_page(draft_id: int, slug: str):
    session, account = db_session(), current_account()
    draft = _my_draft(draft_id)
    page = _find_page(draft, slug)
    if page.kind == "enterprise":
        return _enterprise_page(draft, page)
    service = _service(draft)
    form = page_form(service, page, draft.answers or {}, account)
    if form.validate_on_submit():
        values = checked_answers(form, service, page, draft.answers or {}, account, clock.today())
        held = values is not None and draft_service.held_for_page(session, account, draft, page, values)
        if held:
            name, licence = held
            form[name].errors = [*form[name].errors, _(
                "You already hold a valid %(licence)s for this, number %(number)s. Renew or amend that licence "
                "instead of applying for a second one.", number=licence.number,
                licence=localized(licence.licence_type, "name"))]
        elif values is not None:
            draft_service.save_page(session, account, draft, page.slug, values)
            return _after_save(draft, page.slug)
    return render_template("portal/apply/page.html", draft=draft, form=form, page=page, heading=text(page.heading),
                           back=_back_url(draft)), 400 if form.errors else 200


def _back_url(draft: ApplicationDraft) -> str:
    if request.args.get("return") == "check":
        return url_for("portal.check_answers", draft_id=draft.id)
    return url_for("portal.resume_draft", draft_id=draft.id)


def _enterprise_page(draft: ApplicationDraft, page: Page):
    session, account = db_session(), current_account()
    enterprises = enterprises_of(session, account, draft.bundle.code)
    form = EnterpriseForm(data={"enterprise": str(draft.enterprise_id)} if draft.enterprise_id else {})
    form.enterprise.choices = [SelectChoice(str(e.id), f"{e.name} ({e.uscc})") for e in enterprises]
    if not form.is_submitted() and draft.enterprise_id is None and len(enterprises) == 1:
        form.enterprise.data = str(enterprises[0].id)
    if form.validate_on_submit():
        try:
            with attempt(session):
                draft_service.choose_enterprise(session, account, draft, int(form.enterprise.data), page.slug)
        except ValidationFailed:
            form.enterprise.errors.append(_("This renewal is for the enterprise that holds the licence. Select "
                                            "that enterprise."))
        else:
            return _after_save(draft, page.slug)
    return render_template("portal/apply/page.html", draft=draft, form=form, page=page, heading=text(page.heading),
                           back=_back_url(draft)), 400 if form.errors else 200


# -- materials ------------------------------------------------------------------------------------------------------

def upload_error(exc: ValidationFailed, title: str) -> str:
    """The applicant's message for a refused upload (the service's code and parameters, translated)."""
    name = exc.params.get("filename", "")
    if exc.code == "too_many_files":
        return ngettext("You can upload at most %(num)d file for “%(item)s”; %(already)d already there. Remove it, "
                        "or choose fewer.",
                        "You can upload at most %(num)d files for “%(item)s”; %(already)d already there. Remove "
                        "some, or choose fewer.", exc.params.get("max", 0), item=title,
                        already=exc.params.get("already", 0))
    if exc.code == "file_too_large":
        return _("“%(name)s” is larger than 10 MB. Each file must be 10 MB or smaller.", name=name)
    if exc.code == "file_type":
        return _("“%(name)s” is not a PDF, JPEG or PNG file. Each file must be one of those.", name=name)
    if exc.code == "empty_file":
        return _("“%(name)s” is empty. Choose the file again.", name=name)
    if exc.code == "pdf_active":
        return _("“%(name)s” contains scripts, actions that run when it is opened, or files inside it, which "
                 "documents sent to an agency must not have. Print it to a new PDF (or scan it) and upload that.",
                 name=name)
    if exc.code == "pdf_unreadable":
        return _("“%(name)s” could not be read as a PDF: it may be damaged. Save or print it to a new PDF and "
                 "upload that.", name=name)
    return _("Upload “%(item)s” as PDF, JPEG or PNG files.", item=title)


def _read_uploads(form: MaterialForm, item_code: str) -> list[Upload]:
    return [Upload(item_code, f.filename or "upload", f.read(20 * 1024 * 1024)) for f in form.uploads()]


@bp.route("/drafts/<int:draft_id>/materials/<item_code>", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def draft_material(draft_id: int, item_code: str):
    """One material item: the files uploaded so far, the e-licence that satisfies it (nothing to upload), or the
    upload of several files at once."""
    session, account = db_session(), current_account()
    draft = _my_draft(draft_id)
    statuses = item_statuses(session, draft)
    status = next((s for s in statuses if s.item.code == item_code), None)
    if status is None:
        abort(404)
    title = _localized_item(status)
    form = MaterialForm()
    if form.validate_on_submit():
        uploads = _read_uploads(form, item_code)
        try:
            with attempt(session):
                if uploads:
                    add_files(session, draft, status.item, uploads, _storage())
                elif not status.satisfied:
                    check_uploads(status.item, [], len(status.files))
        except ValidationFailed as exc:
            form.files.errors.append(upload_error(exc, title))
        else:
            draft_service.mark_page_done(session, account, draft, _material_key(item_code))
            return _after_save(draft, _material_key(item_code))
    return render_template("portal/apply/material.html", draft=draft, form=form, status=status, title=title,
                           remove_form=ConfirmForm(), max_per_post=MAX_FILES_PER_UPLOAD,
                           back=_back_url(draft)), 400 if form.errors else 200


@bp.route("/drafts/<int:draft_id>/files/<int:material_id>")
@login_required(*APPLICANT_ROLES)
def draft_file_download(draft_id: int, material_id: int):
    draft = _my_draft(draft_id)
    return send_material(draft_file(db_session(), draft, material_id))


@bp.route("/drafts/<int:draft_id>/files/<int:material_id>/remove", methods=["POST"])
@login_required(*APPLICANT_ROLES)
def remove_draft_file(draft_id: int, material_id: int):
    draft = _my_draft(draft_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    removed = remove_file(db_session(), draft, material_id, _storage())
    flash(_("“%(name)s” was removed.", name=removed.filename), "success")
    return redirect(url_for("portal.draft_material", draft_id=draft.id, item_code=removed.item_code))


# -- check and send -------------------------------------------------------------------------------------------------

@dataclass
class SummarySection:
    title: str
    rows: list[tuple[str, str, str]]  # question, answer, change link


def _summary(draft: ApplicationDraft, statuses: list[ItemStatus]) -> list[SummarySection]:
    service = _service(draft)

    def change(slug: str) -> str:
        return url_for("portal.draft_page", draft_id=draft.id, slug=slug, **{"return": "check"})

    result = []
    for section, (title, lines) in zip(service.journey, summary(service, draft.answers or {}), strict=True):
        rows = []
        for page in section.pages:
            if page.kind == "enterprise":
                enterprise = draft.enterprise
                rows.append((text(page.heading), f"{enterprise.name} ({enterprise.uscc})" if enterprise else "",
                             change(page.slug)))
        rows += [(text(line.label), text(line.value), change(line.page)) for line in lines]
        result.append(SummarySection(text(title), rows))
    documents = []
    for status in statuses:
        change = url_for("portal.draft_material", draft_id=draft.id, item_code=status.item.code,
                         **{"return": "check"})
        if status.licence is not None and not status.files:
            shown = _("e-licence %(number)s, attached for you (nothing to upload)", number=status.licence.number)
        elif status.files:
            shown = ", ".join(f.filename for f in status.files)
        else:
            shown = _("Not provided")
        documents.append((_localized_item(status), shown, change))
    result.append(SummarySection(_("Documents"), documents))
    return result


@bp.route("/drafts/<int:draft_id>/check", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def check_answers(draft_id: int):
    """Check your answers, with a change link to each page, then send. The hidden submission token makes a second
    send (double click, back button, retry) find the case the first one made."""
    session, account = db_session(), current_account()
    form = SubmitForm()
    if form.is_submitted() and form.validate():
        try:
            with attempt(session):
                application = draft_service.submit_draft(session, account, draft_id,
                                                         submission_token=form.submission_token.data,
                                                         storage_dir=_storage())
        except ValidationFailed as exc:
            if exc.code == "licence_held":
                held = licence_by_number(session, exc.params.get("number", ""))
                flash(_("You already hold a valid %(licence)s for this, number %(number)s. Renew or amend that "
                        "licence instead of applying for a second one.", number=held.number,
                        licence=localized(held.licence_type, "name")), "error")
                return redirect(url_for("portal.resume_draft", draft_id=draft_id))
            if exc.code != "stale_form":
                flash(_("Some sections are not complete yet. Complete them, then check your answers again."),
                      "error")
                return redirect(url_for("portal.resume_draft", draft_id=draft_id))
            form.submission_token.errors.append(_("This form has expired. Reload the page and try again."))
        else:
            return redirect(url_for("portal.confirmation", reference=application.reference))
    draft = _my_draft(draft_id)
    statuses = item_statuses(session, draft)
    if not _ready_to_check(task_list(draft, statuses)):
        flash(_("Some sections are not complete yet. Complete them, then check your answers again."), "error")
        return redirect(url_for("portal.resume_draft", draft_id=draft.id))
    if not form.is_submitted() or form.submission_token.errors:
        form.submission_token.data = draft.submission_token
    return render_template("portal/apply/check.html", draft=draft, form=form,
                           summary=_summary(draft, statuses)), 400 if form.errors else 200


@bp.route("/drafts/<int:draft_id>/delete", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def delete_draft(draft_id: int):
    """Ask first, then delete the draft with its answers and files."""
    draft = _my_draft(draft_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        draft_service.delete_draft(db_session(), current_account(), draft.id, _storage())
        flash(_("Your draft application was deleted."), "success")
        return redirect(url_for("portal.home"))
    return render_template("portal/apply/delete.html", draft=draft, form=form), 400 if form.errors else 200


# -- renewal --------------------------------------------------------------------------------------------------------

@bp.route("/licences/<number>/renew", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def renew_licence(number: str):
    """Renew a licence: a draft of the same service, prefilled from the application that granted it. A POST here
    (the one-click renewal on the service page) starts it at once; a GET asks first."""
    session, account = db_session(), current_account()
    try:
        with attempt(session):
            licence = draft_service.renewable_licence(session, account, number)
    except InvalidTransition as exc:
        return render_template("portal/apply/cannot_renew.html", number=number.strip().upper(), reason=exc.code,
                               draft=None), 409
    bundle = licence.application.bundle
    if not applies_online(bundle):
        return render_template("portal/apply/cannot_renew.html", number=licence.number, reason="not_online",
                               draft=None), 409
    form = ConfirmForm()
    if form.validate_on_submit():
        service, answers = service_of(bundle), licence.application.answers or {}
        # The pages the renewed licence's answers still fill (a definition may have asked more since).
        completed = [p.slug for p in service.pages if p.kind == "questions"
                     and page_complete(service, p, answers, account=account, today=clock.today())]
        if licence.holder_enterprise_id is not None:
            completed += [p.slug for p in service.pages if p.kind == "enterprise"]  # the holder is renewing
        try:
            with attempt(session):
                draft = draft_service.start_renewal(session, account, licence, completed=completed)
        except InvalidTransition:
            return render_template("portal/apply/cannot_renew.html", number=licence.number, reason="draft_exists",
                                   draft=draft_service.draft_of_bundle(session, account, bundle)), 409
        flash(_("Your answers from your last application are filled in. Check each section, add the documents, "
                "then send."), "success")
        return redirect(url_for("portal.resume_draft", draft_id=draft.id))
    return render_template("portal/apply/renew.html", licence=licence, bundle=bundle,
                           form=form), 400 if form.errors else 200


# -- supplements ----------------------------------------------------------------------------------------------------

def _open_supplement(application, request_id: int) -> Request:
    found = db_session().get(Request, request_id)
    if (found is None or found.kind != RequestKind.SUPPLEMENT
            or found.instance_id != application.workflow_instance_id):
        abort(404)
    return found


@bp.route("/cases/<reference>/requests/<int:request_id>/answer", methods=["GET", "POST"])
@login_required(*APPLICANT_ROLES)
def answer_items(reference: str, request_id: int):
    """The supplement notice as one page: every item asked for, files for each material (several per item) and a
    written answer to each question, sent together; the branch that asked resumes its clock. A partial answer is
    refused with an error on each item left out, and changes nothing."""
    session, account = db_session(), current_account()
    application = case_for_applicant(session, account, reference)
    notice = _open_supplement(application, request_id)
    if notice.state != RequestState.OPEN:
        flash(_("This request was already answered or the case has ended. Nothing was changed."), "error")
        return redirect(url_for("portal.case", reference=application.reference))
    items = notice.notice_items
    form = supplement_form_class(items)()
    fields = [(form[f"item_{item['number']}"], item) for item in items]
    if form.validate_on_submit():
        uploads, written = [], {}
        for field_, item in fields:
            if item["kind"] == "question":
                written[item["number"]] = field_.data or ""
                continue
            code = supplement_item_code(notice.id, item["number"])
            uploads += [Upload(code, f.filename or "upload", f.read(20 * 1024 * 1024))
                        for f in (field_.data or []) if getattr(f, "filename", "")]
        try:
            with attempt(session):
                answer_supplement(session, account, application.reference, notice.id, uploads=uploads,
                                  written=written, storage_dir=_storage(), command_id=form.command_id.data)
        except ValidationFailed as exc:
            _supplement_errors(exc, fields)
        except InvalidTransition:
            flash(_("This request was already answered or the case has ended. Nothing was changed."), "error")
            return redirect(url_for("portal.case", reference=application.reference))
        else:
            flash(_("Thank you. Your supplement was sent and the agency's review has resumed."), "success")
            return redirect(url_for("portal.case", reference=application.reference))
    has_errors = any(f.errors for f, _item in fields) or bool(form.errors)
    return render_template("portal/apply/supplement.html", application=application, notice=notice, form=form,
                           fields=fields, has_errors=has_errors), 400 if has_errors else 200


def _supplement_errors(exc: ValidationFailed, fields) -> None:
    """Put the service's reasons on the items they concern."""
    by_number = {item["number"]: (field_, item) for field_, item in fields}
    for number in exc.params.get("items", []):
        field_, item = by_number[number]
        field_.errors = [*field_.errors, _("Answer “%(item)s” in writing.", item=item["text"])
                         if item["kind"] == "question" else
                         _("Upload at least one file for “%(item)s”.", item=item["text"])]
    for number in exc.params.get("too_long", []):
        field_, _item = by_number[number]
        field_.errors = [*field_.errors, _("Enter %(max)d characters or fewer.", max=WRITTEN_ANSWER_MAX)]
    for number, problem in sorted(exc.params.get("files", {}).items()):
        field_, item = by_number[number]
        refused = ValidationFailed(problem.get("code", ""), **{k: v for k, v in problem.items() if k != "code"})
        field_.errors = [*field_.errors, upload_error(refused, item["text"])]
