"""Notifying people. A notification is stored as a kind with parameters and rendered in the reader's language;
delivery by SMS or email is a job that later issues add behind the same verb."""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db import utcnow
from services.notifications.models import Notification


class NotificationKind(enum.StrEnum):
    """What a notification says (``notifications.kind``); app/labels.py holds each one's text in three languages."""

    CASE_SUBMITTED = "case_submitted"
    CASE_IN_REVIEW = "case_in_review"
    CASE_APPROVED = "case_approved"
    CASE_REJECTED = "case_rejected"
    CASE_WITHDRAWN = "case_withdrawn"
    LICENCE_ISSUED = "licence_issued"
    # the engine's notices (services.applications.service.ApplicationHooks.on_notice)
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PAUSED = "paused"
    EXTENSION_GRANTED = "extension_granted"
    DEADLINE_WARNING = "deadline_warning"
    OVERDUE = "overdue"
    JOINT_OVERDUE = "joint_overdue"
    JOINT_EXTENSION_GRANTED = "joint_extension_granted"
    # the licence lifecycle (services.licences.lifecycle)
    LICENCE_SUSPENDED = "licence_suspended"
    LICENCE_REINSTATED = "licence_reinstated"
    LICENCE_REVOKED = "licence_revoked"
    LICENCE_EXPIRED = "licence_expired"
    LICENCE_RENEWAL_DUE = "licence_renewal_due"
    LICENCE_SUPERSEDED = "licence_superseded"
    # the agency lead moved a clerk's task (services.applications.queues; also listed on the clerk's queue page)
    TASK_REASSIGNED = "task_reassigned"
    # a State Council holiday notice moved the case's dates (services.calendar_notices, written in bulk)
    DEADLINES_RECALCULATED = "deadlines_recalculated"
    # a case registered the enterprise it founds (services.applications.actions)
    ENTERPRISE_REGISTERED = "enterprise_registered"


KINDS = frozenset(NotificationKind)


def notify(session: Session, account_id: int, kind: str, **params) -> Notification:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind}")
    note = Notification(account_id=account_id, kind=kind, params=params, created_at=utcnow())
    session.add(note)
    return note


def inbox(session: Session, account_id: int, limit: int = 20) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.account_id == account_id)
                                .order_by(Notification.id.desc()).limit(limit)))
