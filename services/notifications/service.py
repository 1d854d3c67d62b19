"""Notifying people. A notification is stored as a kind with parameters and rendered in the reader's language;
delivery by SMS or email is a job that later issues add behind the same verb."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db import utcnow
from services.notifications.models import Notification

KINDS = {"case_submitted", "case_in_review", "case_approved", "case_rejected", "case_withdrawn", "licence_issued",
         "supplement_requested", "paused", "extension_granted", "deadline_warning", "overdue", "joint_overdue",
         # the licence lifecycle (services.licences.lifecycle)
         "licence_suspended", "licence_reinstated", "licence_revoked", "licence_expired", "licence_renewal_due",
         "licence_superseded",
         # the agency lead moved a clerk's task (services.applications.queues; shown on the clerk's queue page)
         "task_reassigned",
         # a State Council holiday notice moved the case's dates (services.calendar_notices, written in bulk)
         "deadlines_recalculated",
         # a case registered the enterprise it founds (services.applications.actions)
         "enterprise_registered"}


def notify(session: Session, account_id: int, kind: str, **params) -> Notification:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind}")
    note = Notification(account_id=account_id, kind=kind, params=params, created_at=utcnow())
    session.add(note)
    return note


def inbox(session: Session, account_id: int, limit: int = 20) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.account_id == account_id)
                                .order_by(Notification.id.desc()).limit(limit)))
