"""Comments between agencies on a case: the clerks of every agency with a branch (or the acceptance task) in the
case talk to each other here. The applicant never sees them.

Who may read and write is decided here, in the service layer: a clerk whose agency has no task in the case gets
PermissionDenied, whatever page or API asks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from services.applications.models import Application
from services.db import Base, UTCDateTime, utcnow
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.identity.models import Account, Role
from workflows.models import Task

MAX_COMMENT = 2000


class CaseComment(Base):
    __tablename__ = "case_comments"
    __table_args__ = (Index("ix_case_comments_application", "application_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    agency_code: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The form's one-time command id: a double click or a retried request adds the comment once.
    command_id: Mapped[str] = mapped_column(String(64), unique=True)

    author: Mapped[Account] = relationship(lazy="joined")


def _require_party(session: Session, clerk: Account, application: Application, task: Task | None = None) -> None:
    """The clerk's agency has (or had) a task in this case: it is one of the agencies working on it. ``task``, when
    the caller already holds one of the agency's tasks of this case, spares the lookup."""
    if clerk.role != Role.CLERK or clerk.agency is None:
        raise PermissionDenied("clerks_only")
    if application is None:
        raise NotFound("case")
    if (task is not None and task.agency_code == clerk.agency.code
            and task.instance_id == application.workflow_instance_id):
        return
    party = session.scalar(select(Task.id).where(Task.instance_id == application.workflow_instance_id,
                                                 Task.agency_code == clerk.agency.code).limit(1))
    if party is None:
        raise PermissionDenied("not_a_party")


def comments_for(session: Session, clerk: Account, application: Application,
                 task: Task | None = None) -> list[CaseComment]:
    """The case's comments, oldest first, for a clerk of an agency working on it."""
    _require_party(session, clerk, application, task)
    return list(session.scalars(select(CaseComment).where(CaseComment.application_id == application.id)
                                .order_by(CaseComment.id)))


def post_comment(session: Session, clerk: Account, application: Application, *, body: str,
                 command_id: str) -> CaseComment:
    """Add a comment signed with the clerk's name and agency; the same ``command_id`` twice adds it once."""
    _require_party(session, clerk, application)
    if not command_id or len(command_id) > 64:
        raise ValidationFailed("command_id_required")
    existing = session.scalar(select(CaseComment).where(CaseComment.command_id == command_id))
    if existing is not None:
        if existing.author_id != clerk.id or existing.application_id != application.id:
            raise ValidationFailed("command_id_reused")
        return existing
    text = (body or "").strip()
    if not text:
        raise ValidationFailed("comment_required", field="body")
    if len(text) > MAX_COMMENT:
        raise ValidationFailed("comment_too_long", field="body")
    comment = CaseComment(application_id=application.id, agency_code=clerk.agency.code, author_id=clerk.id,
                          body=text, command_id=command_id, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(comment)
            session.flush()
    except IntegrityError:
        # The same form posted twice at the same instant: the other request stored it.
        existing = session.scalar(select(CaseComment).where(CaseComment.command_id == command_id))
        if existing is None:
            raise
        return existing
    return comment
