"""The joint extension of a parallel approval (art. 42(2) of the Administrative Licensing Law): its own decision.

A joint approval must end within 45 working days of acceptance; "with the approval of the head of the people's
government at that level" it may be extended once by 15 working days, and the applicant is told why. In the hub the
lead window or any agency working on the case asks; the city's supervisor (the supervisor of the lead window's
bureau, which acts for the city government here) decides. An agency supervisor's grant of their own branch's +10
days (art. 42(1)) never moves the joint limit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.applications.models import Application
from services.applications.service import engine
from services.errors import NotFound, PermissionDenied
from services.identity.identifiers import normalise_identifier
from services.identity.models import Account, Role
from workflows.models import Request, Task
from workflows.states import RequestKind, RequestState, TaskState


def is_city_supervisor(account: Account) -> bool:
    return account.role == Role.SUPERVISOR and account.agency is not None and bool(account.agency.is_lead_window)


def _require_city_supervisor(account: Account) -> None:
    if not is_city_supervisor(account):
        raise PermissionDenied("city_supervisor_only")


def may_ask_for_joint_extension(session: Session, clerk: Account, application: Application) -> bool:
    """The lead window's clerks, and clerks of an agency with an open task on the case."""
    if clerk.role != Role.CLERK or clerk.agency is None:
        return False
    if clerk.agency.is_lead_window:
        return True
    return session.scalar(select(Task.id).where(Task.instance_id == application.workflow_instance_id,
                                                Task.agency_code == clerk.agency.code,
                                                Task.state == TaskState.OPEN).limit(1)) is not None


def request_joint_extension(session: Session, clerk: Account, reference: str, *, reason: str, command_id: str,
                            today: dt.date | None = None) -> Request:
    """Ask the city for the joint limit's +15 working days; refused once extended or asked, or past the limit."""
    application = session.scalar(select(Application).where(Application.reference == normalise_identifier(reference)))
    if application is None:
        raise NotFound("case")
    if not may_ask_for_joint_extension(session, clerk, application):
        raise PermissionDenied("not_on_case")
    return engine().request_joint_extension(session, application.workflow_instance_id, actor_id=clerk.id,
                                            agency_code=clerk.agency.code, reason=reason, command_id=command_id,
                                            today=today or clock.today())


def joint_extension_requests_for(session: Session, supervisor: Account) -> list[tuple[Request, Application]]:
    """The open joint extension requests, oldest first: the city supervisor's list."""
    _require_city_supervisor(supervisor)
    rows = session.execute(
        select(Request, Application).join(Application, Application.workflow_instance_id == Request.instance_id)
        .where(Request.kind == RequestKind.JOINT_EXTENSION, Request.state == RequestState.OPEN)
        .order_by(Request.requested_at, Request.id)).all()
    return [(request, application) for request, application in rows]


def joint_extension_of(session: Session, application: Application) -> Request | None:
    """The case's latest joint extension request, if any (for the case and task pages)."""
    return session.scalar(select(Request).where(Request.instance_id == application.workflow_instance_id,
                                                Request.kind == RequestKind.JOINT_EXTENSION)
                          .order_by(Request.id.desc()).limit(1))


def decide_joint_extension(session: Session, supervisor: Account, request_id: int, *, approve: bool, comment: str,
                           command_id: str, today: dt.date | None = None) -> Request:
    """The city supervisor grants (+15 working days, the applicant told the reason) or refuses."""
    _require_city_supervisor(supervisor)
    request = session.get(Request, request_id)
    if request is None or request.kind != RequestKind.JOINT_EXTENSION:
        raise NotFound("request")
    return engine().decide_joint_extension(session, request.id, actor_id=supervisor.id, approve=approve,
                                           comment=comment, command_id=command_id, today=today or clock.today())
