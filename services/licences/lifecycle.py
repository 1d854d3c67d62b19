"""A licence after it is issued: the issuing agency suspends, reinstates, revokes or amends it; it expires on its
date; its holder is reminded 30 days before; a renewal or an amendment supersedes it.

Every change appends a :class:`LicenceEvent` (who, when, what, why) and tells the holder. A clerk's command carries a
command id: sent twice, it changes the licence once. Only clerks of the issuing agency may change a licence
(:class:`PermissionDenied` otherwise), whatever page or API called.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from services import clock
from services.audit.chain import AuditKind, record
from services.db import utcnow
from services.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from services.identity.identifiers import InvalidIdentifier, normalise_identifier, validate_licence_number
from services.identity.models import Account, Enterprise, Role
from services.jobs import queues
from services.jobs.outbox import enqueue
from services.licences.credentials import effective_status
from services.licences.models import Licence, LicenceAction, LicenceEvent, LicenceStatus
from services.notifications import service as notifications
from services.notifications.service import NotificationKind

log = logging.getLogger(__name__)


REASON_MAX = 2000
HOLDER_NAME_MAX = 200
SCOPE_MAX = 2000
REMINDER_DAYS = 30  # art. 50: the holder applies for renewal 30 days before expiry
SWEEP_BATCH = 500
SEARCH_LIMIT = 50

# action -> (statuses it applies to, status it leaves). Statuses are the effective ones: a licence past its last day
# counts as expired even before the sweep marks it.
TRANSITIONS = {
    LicenceAction.SUSPEND: ((LicenceStatus.VALID,), LicenceStatus.SUSPENDED),
    LicenceAction.REINSTATE: ((LicenceStatus.SUSPENDED,), LicenceStatus.VALID),
    LicenceAction.REVOKE: ((LicenceStatus.VALID, LicenceStatus.SUSPENDED, LicenceStatus.EXPIRED),
                           LicenceStatus.REVOKED),
}
NOTICE_OF = {LicenceAction.SUSPEND: NotificationKind.LICENCE_SUSPENDED,
             LicenceAction.REINSTATE: NotificationKind.LICENCE_REINSTATED,
             LicenceAction.REVOKE: NotificationKind.LICENCE_REVOKED}


# --- Who may act, and finding licences -------------------------------------------------------------------------


def require_issuing_clerk(clerk: Account | None, licence: Licence) -> None:
    if clerk is None or clerk.role != Role.CLERK or clerk.agency_id != licence.agency_id:
        raise PermissionDenied("not_issuing_agency")


def licence_for_clerk(session: Session, clerk: Account, number: str) -> Licence:
    """A licence by number for a clerk of its issuing agency: NotFound when there is none, PermissionDenied when
    another agency issued it."""
    try:
        number = validate_licence_number(number)
    except InvalidIdentifier:
        raise NotFound("licence") from None
    licence = session.scalar(select(Licence).where(Licence.number == number))
    if licence is None:
        raise NotFound("licence")
    require_issuing_clerk(clerk, licence)
    return licence


def search_agency_licences(session: Session, clerk: Account, query: str = "",
                           limit: int = SEARCH_LIMIT) -> list[Licence]:
    """The clerk's agency's licences, newest first, matching a licence number (exact), a holder's identifier
    (exact) or part of the holder's name."""
    if clerk is None or clerk.role != Role.CLERK or clerk.agency_id is None:
        raise PermissionDenied("not_a_clerk")
    statement = select(Licence).where(Licence.agency_id == clerk.agency_id)
    query = " ".join((query or "").split())[:100]
    if query:
        try:
            statement = statement.where(Licence.number == validate_licence_number(query))
        except InvalidIdentifier:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            # An identity number or credit code typed in full width, lower case or with spaces is the same number.
            statement = statement.where(or_(Licence.holder_identifier == normalise_identifier(query),
                                            Licence.holder_name.ilike(pattern, escape="\\")))
    return list(session.scalars(statement.order_by(Licence.issued_at.desc(), Licence.id.desc()).limit(limit)))


def licence_history(session: Session, licence: Licence) -> list[LicenceEvent]:
    return list(session.scalars(select(LicenceEvent).where(LicenceEvent.licence_id == licence.id)
                                .order_by(LicenceEvent.at, LicenceEvent.id)))


def pending_amendment(session: Session, licence: Licence) -> LicenceEvent | None:
    """An amendment asked for whose new version is not issued yet (its job is queued or running)."""
    if licence.status == LicenceStatus.SUPERSEDED:
        return None
    latest = session.scalar(select(LicenceEvent).where(LicenceEvent.licence_id == licence.id,
                                                       LicenceEvent.action == LicenceAction.AMEND)
                            .order_by(LicenceEvent.id.desc()).limit(1))
    return None if latest is None or latest.details.get("dropped") else latest


# --- Telling the holder ----------------------------------------------------------------------------------------------


def holder_account_id(session: Session, licence: Licence) -> int | None:
    """Who hears about the licence: the resident holder, or the holding enterprise's legal representative."""
    if licence.holder_account_id is not None:
        return licence.holder_account_id
    return session.scalar(select(Enterprise.legal_representative_id)
                          .where(Enterprise.id == licence.holder_enterprise_id))


def _notify_holder(session: Session, licence: Licence, kind: str, **params) -> None:
    account_id = holder_account_id(session, licence)
    if account_id is not None:
        notifications.notify(session, account_id, kind, number=licence.number, **params)


# --- Suspend, reinstate, revoke --------------------------------------------------------------------------------------


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required")
    if len(reason) > REASON_MAX:
        raise ValidationFailed("reason_too_long")
    return reason


def _replayed(session: Session, command_id: str, licence_id: int, action: LicenceAction) -> bool:
    """Whether this command already ran. A command id reused for another licence or action is refused."""
    if not command_id or len(command_id) > 64:
        raise ValidationFailed("command_id")
    done = session.scalar(select(LicenceEvent).where(LicenceEvent.command_id == command_id))
    if done is None:
        return False
    if done.licence_id != licence_id or done.action != action:
        raise InvalidTransition("command_reused")
    return True


def change_status(session: Session, clerk: Account, licence_id: int, action: LicenceAction, *, reason: str,
                  command_id: str, today: dt.date | None = None) -> Licence:
    """Suspend, reinstate or revoke a licence on behalf of a clerk of its issuing agency; return the licence."""
    if action not in TRANSITIONS:
        raise ValidationFailed("action")
    reason = _clean_reason(reason)
    # The row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers anyway) comes before the replay check,
    # so a double submission waits for its twin and then finds its history row.
    licence = session.get(Licence, licence_id, with_for_update={"of": Licence}, populate_existing=True)
    if licence is None:
        raise NotFound("licence")
    require_issuing_clerk(clerk, licence)
    if _replayed(session, command_id, licence.id, action):
        return licence
    allowed, target = TRANSITIONS[action]
    current = effective_status(licence, today or clock.today())
    if current not in allowed:
        raise InvalidTransition(f"status_{current.value}")
    licence.status = target
    licence.status_reason = None if target == LicenceStatus.VALID else reason
    session.add(LicenceEvent(licence_id=licence.id, action=action, from_status=current, to_status=target,
                             reason=reason, actor_id=clerk.id, command_id=command_id, details={}, at=utcnow()))
    record(session, AuditKind.LICENCE_STATUS, actor_id=clerk.id, subject_id=holder_account_id(session, licence),
           licence_id=licence.id, action=str(action), status=str(target))
    _notify_holder(session, licence, NOTICE_OF[action], reason=reason)
    session.flush()
    return licence


# --- Supersession and amendment --------------------------------------------------------------------------------------


def supersede(session: Session, old: Licence, new: Licence, *, why: str) -> None:
    """``new`` replaces ``old`` (``why``: "renewal" or "amendment"); ``new.supersedes_id`` is already set."""
    previous = old.status
    old.status = LicenceStatus.SUPERSEDED
    # Shown to the public next to the status in every language: the number is what a verifier needs.
    old.status_reason = f"由 {new.number} 取代 / superseded by {new.number}"
    session.add(LicenceEvent(licence_id=old.id, action=LicenceAction.SUPERSEDE, from_status=previous,
                             to_status=LicenceStatus.SUPERSEDED, reason=why, details={"by": new.number},
                             at=utcnow()))
    record(session, AuditKind.LICENCE_STATUS, subject_id=holder_account_id(session, old), licence_id=old.id,
           action=str(LicenceAction.SUPERSEDE), status=str(LicenceStatus.SUPERSEDED), by=new.number)
    _notify_holder(session, old, NotificationKind.LICENCE_SUPERSEDED, new_number=new.number, why=why)
    session.flush()


def request_amendment(session: Session, clerk: Account, licence_id: int, *, holder_name: str, scope: str,
                      reason: str, command_id: str, today: dt.date | None = None) -> LicenceEvent:
    """Record a clerk's amendment of a valid licence and queue the issuing of its new version (new number, new
    signed PDF and credential, same validity dates), which supersedes it. Returns the amendment's history row."""
    reason = _clean_reason(reason)
    holder_name, scope = " ".join((holder_name or "").split()), (scope or "").strip()
    if not holder_name:
        raise ValidationFailed("holder_name_required")
    if len(holder_name) > HOLDER_NAME_MAX or len(scope) > SCOPE_MAX:
        raise ValidationFailed("too_long")
    licence = session.get(Licence, licence_id, with_for_update={"of": Licence}, populate_existing=True)
    if licence is None:
        raise NotFound("licence")
    require_issuing_clerk(clerk, licence)
    if _replayed(session, command_id, licence.id, LicenceAction.AMEND):
        return session.scalar(select(LicenceEvent).where(LicenceEvent.command_id == command_id))
    current = effective_status(licence, today or clock.today())
    if current != LicenceStatus.VALID:
        raise InvalidTransition(f"status_{current.value}")
    if pending_amendment(session, licence) is not None:
        raise InvalidTransition("amendment_pending")
    if holder_name == licence.holder_name and scope == (licence.scope or ""):
        raise ValidationFailed("nothing_changed")
    event = LicenceEvent(licence_id=licence.id, action=LicenceAction.AMEND, from_status=current, to_status=None,
                         reason=reason, actor_id=clerk.id, command_id=command_id,
                         details={"holder_name": holder_name, "scope": scope}, at=utcnow())
    session.add(event)
    session.flush()
    enqueue(session, queues.LICENCES, "amend_licence", event_id=event.id)
    return event


def issue_amended_version(session: Session, *, event_id: int, key_dir: Path, public_url: str,
                          today: dt.date | None = None) -> Licence | None:
    """The amendment job: issue the new version once (``supersedes_id`` is unique) through the same code as every
    licence. A licence suspended or revoked while the job waited is left alone (returns None)."""
    from services.licences.service import issue_version, superseding

    event = session.get(LicenceEvent, event_id)
    if event is None or event.action != LicenceAction.AMEND:
        raise NotFound("amendment")
    old = session.get(Licence, event.licence_id, with_for_update={"of": Licence}, populate_existing=True)
    existing = superseding(session, old)
    if existing is not None:
        return existing
    today = today or clock.today()
    if effective_status(old, today) != LicenceStatus.VALID:
        log.info("amendment %s of %s not issued: the licence is %s now", event.id, old.number, old.status.value)
        # Marked, so that a licence reinstated later can be amended again.
        event.details = {**event.details, "dropped": True}
        session.flush()
        return None
    scope = event.details["scope"]
    details = dict(old.details or {"lines": []})
    if scope != (old.scope or ""):  # the clerk rewrote the scope (in Chinese): it replaces the old one everywhere
        details["scope"] = {"zh": scope, "zh_hant": scope, "en": ""} if scope else None
    new = issue_version(
        session, licence_type=old.licence_type, application=old.application, branch_id=None,
        holder_account_id=old.holder_account_id, holder_enterprise_id=old.holder_enterprise_id,
        holder_name=event.details["holder_name"], holder_identifier=old.holder_identifier,
        scope=scope, valid_from=old.valid_from, valid_until=old.valid_until, key_dir=key_dir,
        public_url=public_url, today=today, supersedes=old, details=details, conditions=old.conditions,
        subject_key=old.subject_key)
    supersede(session, old, new, why="amendment")
    return new


# --- Expiry and renewal reminders (periodic, idempotent) ------------------------------------------------------------


def _holders_of(session: Session, licence_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Licence.id, Licence.holder_account_id, Enterprise.legal_representative_id)
        .outerjoin(Enterprise, Enterprise.id == Licence.holder_enterprise_id).where(Licence.id.in_(licence_ids)))
    return {licence_id: person or representative for licence_id, person, representative in rows
            if (person or representative) is not None}


def expire_due_licences(session: Session, today: dt.date | None = None, batch: int = SWEEP_BATCH) -> int:
    """Mark valid licences past their last day expired, with a history row and a notice each; return how many.

    The conditional UPDATE ... RETURNING changes each licence once, however many sweeps run at the same time."""
    today = today or clock.today()
    total = 0
    while True:
        due = select(Licence.id).where(Licence.status == LicenceStatus.VALID, Licence.valid_until < today) \
            .order_by(Licence.id).limit(batch)
        changed = session.execute(
            update(Licence).where(Licence.id.in_(due.scalar_subquery()), Licence.status == LicenceStatus.VALID)
            .values(status=LicenceStatus.EXPIRED).returning(Licence.id, Licence.number, Licence.valid_until)
            .execution_options(synchronize_session=False)).all()
        if not changed:
            return total
        now = utcnow()
        session.execute(insert(LicenceEvent), [
            {"licence_id": licence_id, "action": LicenceAction.EXPIRE, "from_status": LicenceStatus.VALID,
             "to_status": LicenceStatus.EXPIRED, "reason": "", "details": {"valid_until": last_day.isoformat()},
             "at": now} for licence_id, _number, last_day in changed])
        holders = _holders_of(session, [row[0] for row in changed])
        for licence_id, number, last_day in changed:
            record(session, AuditKind.LICENCE_STATUS, subject_id=holders.get(licence_id), licence_id=licence_id,
                   action=str(LicenceAction.EXPIRE), status=str(LicenceStatus.EXPIRED))
            if licence_id in holders:
                notifications.notify(session, holders[licence_id], NotificationKind.LICENCE_EXPIRED, number=number,
                                     valid_until=last_day.isoformat())
        session.flush()
        total += len(changed)


def send_renewal_reminders(session: Session, today: dt.date | None = None, days: int = REMINDER_DAYS,
                           batch: int = SWEEP_BATCH) -> int:
    """Remind holders whose valid licence ends within ``days`` to apply for renewal, once per licence (the
    ``renewal_reminder_sent_at`` marker is set by the same conditional UPDATE that picks the licence)."""
    from services.licences.service import renewal_under_way

    today = today or clock.today()
    total = 0
    while True:
        due = select(Licence.id).where(
            Licence.status == LicenceStatus.VALID, Licence.renewal_reminder_sent_at.is_(None),
            Licence.valid_until >= today, Licence.valid_until <= today + dt.timedelta(days=days),
            ~renewal_under_way()).order_by(Licence.id).limit(batch)
        picked = session.execute(
            update(Licence).where(Licence.id.in_(due.scalar_subquery()), Licence.renewal_reminder_sent_at.is_(None))
            .values(renewal_reminder_sent_at=utcnow()).returning(Licence.id, Licence.number, Licence.valid_until)
            .execution_options(synchronize_session=False)).all()
        if not picked:
            return total
        holders = _holders_of(session, [row[0] for row in picked])
        for licence_id, number, last_day in picked:
            if licence_id in holders:
                notifications.notify(session, holders[licence_id], NotificationKind.LICENCE_RENEWAL_DUE, number=number,
                                     valid_until=last_day.isoformat())
        session.flush()
        total += len(picked)
