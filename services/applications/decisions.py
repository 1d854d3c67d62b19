"""What clerks, supervisors and applicants do to a running case besides approving: supplements, pauses, extensions.

Every verb checks who may do it here, in the service layer: a clerk acts only on their agency's tasks, a supervisor
decides only their own agency's extension requests, an applicant answers only their own case's supplement notices.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

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
                                       command_id=command_id, today=today or dt.date.today())


def pause_for_review(session: Session, clerk: Account, task_id: int, *, reason: str, expected_days: int,
                     command_id: str, today: dt.date | None = None):
    task, _application = task_to_act_on(session, clerk, task_id)
    return engine().pause(session, task.id, actor_id=clerk.id, reason=reason, expected_days=expected_days,
                          command_id=command_id, today=today or dt.date.today())


def resume_review(session: Session, clerk: Account, task_id: int, *, command_id: str, today: dt.date | None = None):
    task, _application = task_to_act_on(session, clerk, task_id)
    return engine().resume(session, task.id, actor_id=clerk.id, command_id=command_id,
                           today=today or dt.date.today())


def request_extension(session: Session, clerk: Account, task_id: int, *, reason: str, command_id: str):
    task, _application = task_to_act_on(session, clerk, task_id)
    return engine().request_extension(session, task.id, actor_id=clerk.id, reason=reason, command_id=command_id)


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
    return engine().decide_extension(session, request.id, actor_id=supervisor.id, approve=approve,
                                     command_id=command_id, today=today or dt.date.today(), comment=comment)


def open_supplements(session: Session, application: Application) -> list[Request]:
    return list(session.scalars(select(Request).where(
        Request.instance_id == application.workflow_instance_id, Request.kind == RequestKind.SUPPLEMENT,
        Request.state == RequestState.OPEN).order_by(Request.id)))


def answer_supplement(session: Session, applicant: Account, reference: str, request_id: int, *,
                      uploads: list[Upload], storage_dir: Path, command_id: str,
                      today: dt.date | None = None) -> Request:
    """The applicant sends the supplement: the files are added to the case and that same branch resumes."""
    application = case_for_applicant(session, applicant, reference)
    request = session.get(Request, request_id)
    if (request is None or request.kind != RequestKind.SUPPLEMENT
            or request.instance_id != application.workflow_instance_id):
        raise NotFound("request")
    if not uploads and request.state == RequestState.OPEN:
        raise ValidationFailed("supplement_files_required")
    if request.state == RequestState.OPEN:
        for upload in uploads:
            material = store_upload(storage_dir, upload)
            material.application_id = application.id
            session.add(material)
    return engine().resubmit(session, request.id, actor_id=applicant.id, command_id=command_id,
                             today=today or dt.date.today())


def withdraw_application(session: Session, applicant: Account, reference: str, *, reason: str,
                         command_id: str) -> Application:
    """The applicant withdraws before a decision; every agency's open work on it is cancelled."""
    application = case_for_applicant(session, applicant, reference)
    engine().withdraw(session, application.workflow_instance_id, actor_id=applicant.id, command_id=command_id,
                      reason=reason)
    return application
