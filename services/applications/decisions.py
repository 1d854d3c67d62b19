"""What clerks, supervisors and applicants do to a running case besides approving: supplements, pauses, extensions.

Every verb checks who may do it here, in the service layer: a clerk acts only on their agency's tasks, a supervisor
decides only their own agency's extension requests, an applicant answers only their own case's supplement notices.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.applications.models import Application
from services.applications.service import Upload, case_for_applicant, engine, store_upload, task_to_act_on
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.identity.models import Account, Role
from workflows.models import Request
from workflows.states import RequestKind, RequestState


def request_supplement(session: Session, clerk: Account, task_id: int, *, items: list[str], note: str,
                       command_id: str, today: dt.date | None = None) -> Request | None:
    """The one-time supplement notice: every missing item at once."""
    task, _application = task_to_act_on(session, clerk, task_id)
    return engine().request_supplement(session, task.id, actor_id=clerk.id, items=items, note=note,
                                       command_id=command_id, today=today or clock.today())


def supplement_sent(session: Session, task) -> bool:
    """Whether the one-time supplement notice (art. 32) was already sent for this task's branch, or at acceptance."""
    where = Request.branch_id == task.branch_id if task.branch_id is not None else Request.task_id == task.id
    return session.scalar(select(Request.id).where(where, Request.kind == RequestKind.SUPPLEMENT,
                                                   Request.state != RequestState.CANCELLED).limit(1)) is not None


def extension_days_of(task) -> int:
    """The working days a granted extension would add to this task's branch: its matter's (0: the law that sets the
    limit allows none)."""
    from workflows.extensions import BRANCH_EXTENSION_DAYS

    instance = task.instance
    days = engine().registry.get(instance.definition_key, instance.definition_version).node(task.node_id).extension_days
    return BRANCH_EXTENSION_DAYS if days is None else days


def pause_for_review(session: Session, clerk: Account, task_id: int, *, reason: str, expected_days: int,
                     command_id: str, today: dt.date | None = None):
    task, _application = task_to_act_on(session, clerk, task_id)
    return engine().pause(session, task.id, actor_id=clerk.id, reason=reason, expected_days=expected_days,
                          command_id=command_id, today=today or clock.today())


def resume_review(session: Session, clerk: Account, task_id: int, *, command_id: str, today: dt.date | None = None):
    task, _application = task_to_act_on(session, clerk, task_id)
    return engine().resume(session, task.id, actor_id=clerk.id, command_id=command_id,
                           today=today or clock.today())


def request_extension(session: Session, clerk: Account, task_id: int, *, reason: str, command_id: str,
                      today: dt.date | None = None):
    """Ask the agency's supervisor for the branch's +10 working days (art. 42(1)), before the branch's limit ends."""
    task, _application = task_to_act_on(session, clerk, task_id)
    return engine().request_extension(session, task.id, actor_id=clerk.id, reason=reason, command_id=command_id,
                                      today=today or clock.today())


def _require_supervisor(account: Account) -> None:
    if account.role != Role.SUPERVISOR or account.agency is None:
        raise PermissionDenied("supervisors_only")


def extension_requests_for(session: Session, supervisor: Account) -> list[tuple[Request, Application]]:
    """Open extension requests of the supervisor's own agency, oldest first."""
    _require_supervisor(supervisor)
    rows = session.execute(
        select(Request, Application).join(Application, Application.workflow_instance_id == Request.instance_id)
        .where(Request.kind == RequestKind.EXTENSION, Request.state == RequestState.OPEN,
               Request.agency_code == supervisor.agency.code).order_by(Request.requested_at, Request.id)).all()
    return [(request, application) for request, application in rows]


def decide_extension(session: Session, supervisor: Account, request_id: int, *, approve: bool, comment: str,
                     command_id: str, today: dt.date | None = None) -> Request:
    """Grant or refuse an extension of the supervisor's own agency; another agency's request is PermissionDenied."""
    _require_supervisor(supervisor)
    request = session.get(Request, request_id)
    if request is None or request.kind != RequestKind.EXTENSION:
        raise NotFound("request")
    if request.agency_code != supervisor.agency.code:
        raise PermissionDenied("other_agency")
    was_open = request.state == RequestState.OPEN
    decided = engine().decide_extension(session, request.id, actor_id=supervisor.id, approve=approve,
                                        command_id=command_id, today=today or clock.today(), comment=comment)
    if was_open and decided.state != RequestState.OPEN:  # not for a repeated command
        from services.audit.chain import AuditKind, record

        application = session.scalar(select(Application).where(
            Application.workflow_instance_id == request.instance_id))
        record(session, AuditKind.DECISION, actor_id=supervisor.id,
               subject_id=application.applicant_id if application else None,
               application_id=application.id if application else None, extension="granted" if approve else "refused")
    return decided


def open_supplements(session: Session, application: Application) -> list[Request]:
    return list(session.scalars(select(Request).where(
        Request.instance_id == application.workflow_instance_id, Request.kind == RequestKind.SUPPLEMENT,
        Request.state == RequestState.OPEN).order_by(Request.id)))


SUPPLEMENT_FILES_PER_ITEM = 10
WRITTEN_ANSWER_MAX = 2000


def answer_supplement(session: Session, applicant: Account, reference: str, request_id: int, *,
                      uploads: list[Upload], storage_dir: Path, command_id: str, written: dict[int, str] | None = None,
                      today: dt.date | None = None) -> Request:
    """The applicant answers a supplement notice in full: at least one file for every material asked for (uploads
    carry the item code ``supplement-<request>-<number>``) and a written answer to every question. A partial answer
    changes nothing (ValidationFailed "supplement_incomplete" naming the items); a complete one adds the files to
    the case and the branch that asked resumes its clock. Files are checked as every upload is (type by content,
    size, count); a refused file is named in ``files`` by item number."""
    from services.applications.materials import check_uploads

    application = case_for_applicant(session, applicant, reference)
    request = session.get(Request, request_id)
    if (request is None or request.kind != RequestKind.SUPPLEMENT
            or request.instance_id != application.workflow_instance_id):
        raise NotFound("request")
    if request.state != RequestState.OPEN:
        # Already answered (a double click finds its own answer) or the case has ended: the engine decides.
        return engine().resubmit(session, request.id, actor_id=applicant.id, command_id=command_id,
                                 today=today or clock.today())
    written = {int(k): (v or "").strip() for k, v in (written or {}).items()}
    by_item: dict[int, list[Upload]] = {}
    for upload in uploads:
        number = _item_number(request, upload.item_code)
        by_item.setdefault(number, []).append(upload)
    missing, too_long = [], []
    for item in request.notice_items:
        number = item["number"]
        if item["kind"] == "question":
            if not written.get(number):
                missing.append(number)
            elif len(written[number]) > WRITTEN_ANSWER_MAX:
                too_long.append(number)
        elif not by_item.get(number):
            missing.append(number)
    refused = {}
    for number, files in by_item.items():
        try:
            check_uploads(_SupplementItem(supplement_item_code(request.id, number)), files, 0)
        except ValidationFailed as exc:
            refused[number] = {"code": exc.code, **exc.params}
    if missing or too_long or refused:
        # Every problem at once, so the applicant mends the whole page in one go.
        raise ValidationFailed("supplement_incomplete", items=missing, too_long=too_long, files=refused)
    stored = []
    try:
        with session.begin_nested():  # a resumption refused below leaves no material row behind
            for files in by_item.values():
                for upload in files:
                    material = store_upload(storage_dir, upload)
                    material.application_id = application.id
                    session.add(material)
                    stored.append(material)
            request.response = {str(n): text for n, text in written.items()
                                if any(i["number"] == n and i["kind"] == "question" for i in request.notice_items)}
            session.flush()
            return engine().resubmit(session, request.id, actor_id=applicant.id, command_id=command_id,
                                     today=today or clock.today())
    except Exception:
        from services.applications.materials import delete_stored_files

        delete_stored_files(storage_dir, stored)
        raise


def supplement_item_code(request_id: int, number: int) -> str:
    """The item code of the files answering item ``number`` of supplement notice ``request_id``."""
    return f"supplement-{request_id}-{number}"


def _item_number(request: Request, item_code: str) -> int:
    prefix = f"supplement-{request.id}-"
    if not item_code.startswith(prefix) or not item_code[len(prefix):].isdigit():
        raise ValidationFailed("supplement_item_unknown")
    number = int(item_code[len(prefix):])
    if not 1 <= number <= len(request.items or []):
        raise ValidationFailed("supplement_item_unknown")
    return number


class _SupplementItem:
    """The upload rules of one item of a notice (a catalogue item has its own in MaterialItem)."""

    def __init__(self, code: str):
        self.code, self.max_files = code, SUPPLEMENT_FILES_PER_ITEM


def withdraw_application(session: Session, applicant: Account, reference: str, *, reason: str,
                         command_id: str) -> Application:
    """The applicant withdraws before a decision; every agency's open work on it is cancelled."""
    application = case_for_applicant(session, applicant, reference)
    engine().withdraw(session, application.workflow_instance_id, actor_id=applicant.id, command_id=command_id,
                      reason=reason)
    return application
