"""Applying, following a case and deciding its tasks: the verbs behind the applicant's and the clerk's pages.

Authorisation lives here, not in the views: an applicant who asks for somebody else's case gets NotFound (the case's
existence is not revealed); a clerk who asks for another agency's task gets PermissionDenied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from services import clock, runtime
from services.applications.models import Application, CaseStatus, Counter, Material
from services.applications.pdf_safety import UnreadablePdf, active_content
from services.calendar_notices import DEFAULT_REFRESH_SECONDS, NoticeSync
from services.catalogue import definitions
from services.catalogue.answers import applicable_answers, problems
from services.catalogue.models import Agency, Bundle, LicenceType, Matter
from services.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from services.filenames import clean_filename
from services.identity.identifiers import make_reference, normalise_identifier
from services.identity.models import Account, Enterprise, Role
from services.identity.service import enterprises_of
from services.licences.models import Licence
from services.notifications.service import NotificationKind, notify
from services.private_files import private_directory, write_private_file
from workflows.calendar import RULE_HOLIDAYS, default_calendar
from workflows.definitions import Registry
from workflows.engine import Engine
from workflows.models import Branch, Event, Request, Task, WorkflowInstance
from workflows.states import BranchState, InstanceState, RequestKind, RequestState

APPLICANT_NOTICES = {NotificationKind.SUPPLEMENT_REQUESTED, NotificationKind.PAUSED, NotificationKind.EXTENSION_GRANTED,
                     NotificationKind.JOINT_EXTENSION_GRANTED}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class ApplicationHooks:
    """The engine's window into the services: approval actions and the case status mirror."""

    def run_action(self, session: Session, instance: WorkflowInstance, action: str) -> None:
        """An automatic step of the definition: the generic verb of that name (services.applications.actions)."""
        from services.applications.actions import ACTIONS

        application = session.scalar(select(Application).where(Application.workflow_instance_id == instance.id))
        service = definitions.service(application.bundle.code) if application is not None else None
        ACTIONS[action](session, instance, application, service)

    def on_state_changed(self, session: Session, instance: WorkflowInstance) -> None:
        application = session.scalar(select(Application).where(Application.workflow_instance_id == instance.id))
        if application is None:  # the instance is being started; submit() links it right after
            return
        status = {
            InstanceState.RUNNING: CaseStatus.IN_REVIEW,
            InstanceState.APPROVED: CaseStatus.APPROVED,
            InstanceState.REJECTED: CaseStatus.REJECTED,
            InstanceState.WITHDRAWN: CaseStatus.WITHDRAWN,
        }[instance.state]
        application.status = status
        if instance.state != InstanceState.RUNNING:
            application.decided_at = instance.ended_at
        notify(session, application.applicant_id, NotificationKind(f"case_{status.value}"),
               reference=application.reference)

    def on_notice(self, session: Session, instance: WorkflowInstance, kind: str, detail: dict) -> None:
        """Tell the applicant what is asked of them or why the clock moved; warn the agency of deadlines."""
        application = session.scalar(select(Application).where(Application.workflow_instance_id == instance.id))
        if application is None:
            return
        params = {"reference": application.reference, **{k: v for k, v in detail.items() if k != "items"}}
        rule = provisional_rule(self_calendar(), *(detail.get(k) for k in DATED_DETAILS))
        if rule is not None:  # told with the date: it may move when the State Council's notice is loaded
            params["provisional"] = rule
        kind = NotificationKind(kind)  # each notice the engine gives is a notification of the same name
        if kind in APPLICANT_NOTICES:
            notify(session, application.applicant_id, kind, **params)
            return
        agency = detail.get("agency")
        staff = select(Account.id).join(Agency, Account.agency_id == Agency.id).where(
            Account.role.in_([Role.CLERK, Role.SUPERVISOR]), Account.is_active.is_(True))
        staff = staff.where(Agency.code == agency) if agency else staff.where(Agency.is_lead_window.is_(True))
        for account_id in session.scalars(staff):
            notify(session, account_id, kind, **params)


# The dates a notice may carry (engine event details), each computed on the working-day calendar.
DATED_DETAILS = ("due_on", "joint_due", "resume_expected_on")


def self_calendar():
    """The engine's calendar (kept up to date by every command, which is where notices are given)."""
    return _engine().calendar


def provisional_rule(calendar, *days) -> str | None:
    """The fallback rule (``holidays-rule``) if any of ``days`` (dates or ISO texts; None skipped) falls in a year
    for which no State Council notice is loaded and chinesecalendar knows nothing: such a deadline is provisional
    (issue 19, point 10). None when every date is firm."""
    for day in days:
        if day is None:
            continue
        day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        if calendar.rule_for(day) == RULE_HOLIDAYS:
            return RULE_HOLIDAYS
    return None


@lru_cache(maxsize=1)
def calendar_notices() -> NoticeSync:
    """This process's watch on the holiday notices recorded in the database (services/calendar_notices.py)."""
    try:
        interval = runtime.current().settings.get("CALENDAR_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS)
    except RuntimeError:  # no app has configured this process (a bare script)
        interval = DEFAULT_REFRESH_SECONDS
    return NoticeSync(default_calendar(), float(interval))


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(Registry(definitions.catalogue().workflows), default_calendar(), ApplicationHooks(),
                  refresh_calendar=calendar_notices())


def engine(session: Session | None = None) -> Engine:
    """The engine with every definition loaded and validated (once per process), on the Chinese working-day
    calendar with the State Council holiday notices recorded in the database (they override the rule-based fallback
    for years past chinesecalendar's). Every engine command brings the calendar up to date in its own transaction,
    looking at the notices at most every ``CALENDAR_REFRESH_SECONDS``; pass the request's ``session`` when using
    ``engine(session).calendar`` outside a command (a page counting working days)."""
    built = _engine()
    if session is not None:
        calendar_notices()(session)
    return built


# -- serial numbers -------------------------------------------------------------------------------------------------

def next_serial(session: Session, name: str) -> int:
    """The next value of a named counter, safe under concurrent transactions on both databases."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(Counter).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))
    query = select(Counter).where(Counter.name == name).execution_options(populate_existing=True)
    if dialect == "postgresql":
        query = query.with_for_update()
    counter = session.scalar(query)
    counter.value += 1
    session.flush()
    return counter.value


# -- applying -------------------------------------------------------------------------------------------------------

@dataclass
class Upload:
    item_code: str
    filename: str
    data: bytes


def sniff_content_type(data: bytes) -> str | None:
    """PDF, JPEG or PNG by content, whatever the file's name or the browser claims."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def refuse_active_pdf(upload: Upload, *, field: str) -> None:
    """ValidationFailed for a PDF that JavaScript, an opening action, a launch or an embedded file could make do
    something (``pdf_active``, with what was found), or that cannot be parsed (``pdf_unreadable``)."""
    if sniff_content_type(upload.data[:16]) != "application/pdf":
        return
    try:
        found = active_content(upload.data)
    except UnreadablePdf:
        raise ValidationFailed("pdf_unreadable", field=field, filename=upload.filename) from None
    if found:
        raise ValidationFailed("pdf_active", field=field, filename=upload.filename, found=found)


def store_upload(storage_dir: Path, upload: Upload) -> Material:
    """Write the file under a random key (never a guessable path) and return its unsaved Material row.

    Applicants' files hold identity numbers and leases: the folders are made 0700 and the file 0600 (owner only),
    whatever the process's umask."""
    content_type = sniff_content_type(upload.data)
    if content_type is None:
        raise ValidationFailed("file_type", field=upload.item_code)
    if len(upload.data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed("file_too_large", field=upload.item_code)
    refuse_active_pdf(upload, field=upload.item_code)
    key = secrets.token_hex(16)
    path = storage_dir / key[:2] / key
    private_directory(path.parent)
    write_private_file(path, upload.data)
    return Material(item_code=upload.item_code, filename=clean_filename(upload.filename),
                    content_type=content_type, size=len(upload.data),
                    sha256=hashlib.sha256(upload.data).hexdigest(), storage_key=key)


def material_path(storage_dir: Path, material: Material) -> Path:
    """Where an uploaded material's file is. An e-licence material has no file (its licence is the proof)."""
    if not material.storage_key:
        raise NotFound("material_file")
    return storage_dir / material.storage_key[:2] / material.storage_key


def submit_application(session: Session, applicant: Account, bundle_code: str, *, answers: dict,
                       uploads: list[Upload], submission_token: str, storage_dir: Path,
                       enterprise_id: int | None = None, renews_licence_id: int | None = None,
                       today: dt.date | None = None) -> Application:
    """Submit an application and start its approval. The same ``submission_token`` twice yields one application.
    ``enterprise_id`` must be an enterprise the applicant may act for (for this service); ``renews_licence_id`` a
    licence held by the applicant or by that enterprise."""
    existing = session.scalar(select(Application).where(Application.submission_token == submission_token))
    if existing is not None:
        if existing.applicant_id != applicant.id:
            raise NotFound("application")
        return existing
    bundle = session.scalar(select(Bundle).where(Bundle.code == bundle_code))
    if bundle is None:
        raise NotFound("bundle")
    if enterprise_id is not None and enterprise_id not in {e.id for e in enterprises_of(session, applicant,
                                                                                        bundle_code)}:
        raise PermissionDenied("no_mandate")
    if renews_licence_id is not None:
        renewed = session.get(Licence, renews_licence_id)
        if renewed is None or not (renewed.holder_account_id == applicant.id or (
                enterprise_id is not None and renewed.holder_enterprise_id == enterprise_id)):
            raise NotFound("licence")
    today = today or clock.today()
    service = definitions.service(bundle_code)
    if service.audience == "enterprise" and enterprise_id is None:
        raise ValidationFailed("enterprise_missing")
    # The answers are checked here for every caller (pages, seeding, tests, later an API): none can start a case
    # on answers its service would refuse. The materials are the draft's (services.applications.drafts).
    wrong = problems(service, answers, account=applicant, today=today)
    if wrong:
        raise ValidationFailed("answers_incomplete", fields=[(e.page, e.field, e.code) for e in wrong])
    answers = applicable_answers(service, answers)
    reference = make_reference("GZ", today, next_serial(session, f"case:{today.isoformat()}"))
    application = Application(reference=reference, bundle_id=bundle.id, applicant_id=applicant.id,
                              enterprise_id=enterprise_id, answers=answers, submission_token=submission_token,
                              status=CaseStatus.SUBMITTED, renews_licence_id=renews_licence_id)
    application.materials = [store_upload(storage_dir, upload) for upload in uploads]
    try:
        with session.begin_nested():
            session.add(application)
            session.flush()
    except IntegrityError:
        # The same form, posted twice at the same instant: the other request created the case; show that one.
        existing = session.scalar(select(Application).where(Application.submission_token == submission_token))
        if existing is None or existing.applicant_id != applicant.id:
            raise
        return existing
    instance = engine().start(session, bundle.workflow_key, subject_id=application.id, data=answers,
                              actor_id=applicant.id, command_id=f"submit:{submission_token}", today=today)
    application.workflow_instance_id = instance.id
    notify(session, applicant.id, NotificationKind.CASE_SUBMITTED, reference=reference)
    session.flush()
    return application


# -- following a case -----------------------------------------------------------------------------------------------

def visible_to(account: Account, session: Session | None = None):
    """The condition on applications this account may see. With a session (as every page passes it): its personal
    cases, every case of the enterprises it represents and the cases its valid mandates cover, by indexed values
    (services.identity.mandates.case_scope). Without one, the older condition (own cases and represented
    enterprises' by subquery, no mandates), kept for callers that have no session."""
    if session is not None:
        from services.identity.mandates import case_scope

        return case_scope(session, account)
    owned = select(Enterprise.id).where(Enterprise.legal_representative_id == account.id)
    return or_(Application.applicant_id == account.id, Application.enterprise_id.in_(owned))


def cases_for(session: Session, account: Account) -> list[Application]:
    """Every case the account may see (see visible_to), newest first. The service pages list them a page at a time
    (services.service_pages)."""
    return list(session.scalars(select(Application).where(visible_to(account, session))
                                .order_by(Application.submitted_at.desc(), Application.id.desc())))


def case_for_applicant(session: Session, account: Account, reference: str) -> Application:
    """The case with this reference if the account may see it (its own, its enterprise's, or one its mandate
    covers); NotFound otherwise (even if it exists)."""
    from services.identity.mandates import may_see_case

    # Found by its unique reference, then checked in Python: the enterprise and the bundle come joined, so the
    # representative and the applicant cost no further query, an agent one (their mandate).
    application = session.scalar(select(Application).where(Application.reference == normalise_identifier(reference))
                                 .options(joinedload(Application.bundle).lazyload(Bundle.items)))
    if application is None or not may_see_case(session, account, application):
        raise NotFound("case")
    return application


@dataclass
class CaseView:
    application: Application
    instance: WorkflowInstance
    branches: list[Branch]
    tasks: list[Task]
    events: list[Event]
    matters: dict[str, Matter]
    agencies: dict[str, Agency]
    agency_of_node: dict[str, str]
    requests: list[Request]

    @property
    def open_supplements(self) -> list[Request]:
        return [r for r in self.requests if r.kind == RequestKind.SUPPLEMENT and r.state == RequestState.OPEN]


def case_view(session: Session, application: Application) -> CaseView:
    """Everything a case page shows, in a fixed number of queries."""
    instance = session.get(WorkflowInstance, application.workflow_instance_id)
    branches = list(session.scalars(select(Branch).where(Branch.instance_id == instance.id).order_by(Branch.id)))
    tasks = list(session.scalars(select(Task).where(Task.instance_id == instance.id).order_by(Task.id)))
    events = list(session.scalars(select(Event).where(Event.instance_id == instance.id).order_by(Event.id)))
    matters = {m.code: m for m in session.scalars(select(Matter).where(
        Matter.code.in_([b.matter_code for b in branches if b.matter_code])))}
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    definition = engine().definition_of(instance)
    agency_of_node = {node.id: node.agency for node in definition.nodes.values() if node.agency}
    requests = list(session.scalars(select(Request).where(Request.instance_id == instance.id).order_by(Request.id)))
    return CaseView(application, instance, branches, tasks, events, matters, agencies, agency_of_node, requests)


def licences_being_issued(view: CaseView, issued: list[Licence]) -> list[tuple[Branch, LicenceType]]:
    """The licences an approved case's branches grant that do not exist yet, with their type: the issuing jobs were
    recorded with the approval and run after it (seconds, or longer while workers are busy or a job is retried).
    Only an approved case is issued licences; no query beyond what the case page has loaded."""
    if view.application.status != CaseStatus.APPROVED:
        return []
    served = {licence.branch_id for licence in issued}
    return [(branch, view.matters[branch.matter_code].licence_type) for branch in view.branches
            if branch.state == BranchState.APPROVED and branch.id not in served and branch.matter_code in view.matters
            and view.matters[branch.matter_code].licence_type is not None]


# -- clerks -----------------------------------------------------------------------------------------------------------

def _require_clerk(account: Account) -> None:
    if account.role != Role.CLERK or account.agency is None:
        raise PermissionDenied("clerks_only")


def task_for_clerk(session: Session, clerk: Account, task_id: int) -> tuple[Task, Application]:
    """A task of the clerk's own agency. Another agency's task is PermissionDenied; a missing one NotFound."""
    _require_clerk(clerk)
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("task")
    if task.agency_code != clerk.agency.code:
        raise PermissionDenied("other_agency")
    application = session.scalar(select(Application).where(Application.workflow_instance_id == task.instance_id))
    return task, application


def task_to_act_on(session: Session, clerk: Account, task_id: int) -> tuple[Task, Application]:
    """A task the clerk may decide: of their agency, and not claimed by another clerk."""
    task, application = task_for_clerk(session, clerk, task_id)
    if task.assignee_id is not None and task.assignee_id != clerk.id:
        raise InvalidTransition("claimed_by_other")
    return task, application


def clerk_may_see_material(session: Session, clerk: Account, material: Material) -> bool:
    """A clerk sees the materials of cases that have (or had) a task in their agency, and of those the items their
    agency's view in the service's definition lists (services.applications.materials.agency_may_open)."""
    from services.applications.materials import agency_may_open

    _require_clerk(clerk)
    application = session.get(Application, material.application_id)
    if session.scalar(select(Task.id).where(Task.instance_id == application.workflow_instance_id,
                                            Task.agency_code == clerk.agency.code).limit(1)) is None:
        return False
    requests = list(session.scalars(select(Request).where(Request.instance_id == application.workflow_instance_id,
                                                          Request.kind == RequestKind.SUPPLEMENT)))
    service = definitions.catalogue().services.get(application.bundle.code)
    return agency_may_open(service, clerk.agency, material.item_code, requests)


def decide_task(session: Session, clerk: Account, task_id: int, *, outcome: str, opinion: str, command_id: str,
                today: dt.date | None = None) -> Task:
    """Accept, approve or reject a task of the clerk's agency (idempotent by ``command_id``)."""
    from services.audit.chain import AuditKind, record

    task, application = task_to_act_on(session, clerk, task_id)
    was_open = task.completed_at is None
    done = engine().complete_task(session, task.id, actor_id=clerk.id, outcome=outcome, opinion=opinion,
                                  command_id=command_id, today=today or clock.today())
    if was_open and done.completed_at is not None:  # not for a repeated command
        record(session, AuditKind.DECISION, actor_id=clerk.id, subject_id=application.applicant_id,
               application_id=application.id, task=task.node_id, outcome=outcome)
    return done
