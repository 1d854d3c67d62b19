"""Drafts: an application saved page by page, so the applicant can stop and come back, then check and submit it.

One draft per applicant and service. Only its applicant ever sees a draft: any other account asking for it gets
NotFound, as if it did not exist. A submitted draft becomes an Application (with the draft's submission token, so
sending the same draft twice makes one case) and the draft row goes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import delete, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import clock
from services.applications.materials import (
    attach_licences,
    delete_draft_materials,
    item_statuses,
    licence_is_valid,
)
from services.applications.models import Application, ApplicationDraft, CaseStatus, Material
from services.applications.service import submit_application
from services.catalogue import definitions
from services.catalogue.answers import applicable_answers
from services.catalogue.models import Audience, Bundle, LicenceType
from services.db import utcnow
from services.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from services.identity.models import Account, Role
from services.identity.service import enterprises_of
from services.licences.models import Licence, LicenceStatus

ENDED = (CaseStatus.REJECTED, CaseStatus.WITHDRAWN)


def _require_resident(account: Account) -> None:
    if account.role != Role.RESIDENT:
        raise PermissionDenied("residents_only")


def drafts_for(session: Session, account: Account) -> list[ApplicationDraft]:
    """The account's drafts, most recently saved first. Each has ``bundle``, ``updated_at`` and is resumed at
    ``url_for(draft.resume_endpoint, draft_id=draft.id)`` (``portal.resume_draft``)."""
    return list(session.scalars(select(ApplicationDraft).where(ApplicationDraft.applicant_id == account.id)
                                .order_by(ApplicationDraft.updated_at.desc(), ApplicationDraft.id.desc())))


def draft_for(session: Session, account: Account, draft_id: int, *, lock: bool = False) -> ApplicationDraft:
    """The account's own draft; NotFound for a missing draft and for anyone else's."""
    query = select(ApplicationDraft).where(ApplicationDraft.id == draft_id, ApplicationDraft.applicant_id == account.id)
    if lock:
        query = query.with_for_update(of=ApplicationDraft).execution_options(populate_existing=True)
    draft = session.scalar(query)
    if draft is None:
        raise NotFound("draft")
    return draft


def case_sent_from(session: Session, account: Account, draft_id: int) -> Application | None:
    """The account's case that draft ``draft_id`` was sent as (the draft row is gone once sent)."""
    return session.scalar(select(Application).where(Application.source_draft_id == draft_id,
                                                    Application.applicant_id == account.id))


def draft_of_bundle(session: Session, account: Account, bundle: Bundle) -> ApplicationDraft | None:
    return session.scalar(select(ApplicationDraft).where(ApplicationDraft.applicant_id == account.id,
                                                         ApplicationDraft.bundle_id == bundle.id))


def start_draft(session: Session, account: Account, bundle: Bundle, *, answers: dict | None = None,
                completed: list[str] | None = None, enterprise_id: int | None = None,
                renews_licence_id: int | None = None) -> tuple[ApplicationDraft, bool]:
    """The account's draft for this service, made if there is none; returns (draft, created). Two starts at the same
    instant make one draft (the unique applicant+service key decides)."""
    _require_resident(account)
    existing = draft_of_bundle(session, account, bundle)
    if existing is not None:
        return existing, False
    draft = ApplicationDraft(applicant_id=account.id, bundle_id=bundle.id, answers=answers or {},
                             completed=completed or [], enterprise_id=enterprise_id,
                             renews_licence_id=renews_licence_id, submission_token=uuid.uuid4().hex, bundle=bundle)
    try:
        with session.begin_nested():
            session.add(draft)
            session.flush()
    except IntegrityError:
        existing = draft_of_bundle(session, account, bundle)
        if existing is None:
            raise
        return existing, False
    return draft, True


def _mark_saved(draft: ApplicationDraft, page: str) -> None:
    if page not in (draft.completed or []):
        draft.completed = [*(draft.completed or []), page]
    draft.updated_at = utcnow()


def save_page(session: Session, account: Account, draft: ApplicationDraft, page: str, answers: dict) -> None:
    """Keep one page's (validated) answers and count the page as done."""
    if draft.applicant_id != account.id:
        raise NotFound("draft")
    draft.answers = {**(draft.answers or {}), **answers}
    _mark_saved(draft, page)
    session.flush()


def held_for_page(session: Session, account: Account, draft: ApplicationDraft, page, values: dict
                  ) -> tuple[str, Licence] | None:
    """Told on the page that names the premises (or the child), not only at the final send: the field of ``page``
    whose answer, with the draft's other answers, is the subject of a valid licence the applicant already holds,
    and that licence."""
    service = definitions.service(draft.bundle.code)
    names = {spec.name for spec in page.fields}
    keyed = [name for spec in service.licences.values() for name in spec.unique_by if name in names]
    if not keyed:
        return None
    answers = applicable_answers(service, {**(draft.answers or {}), **values})
    held = licence_already_held(session, service, answers, account=account, enterprise_id=draft.enterprise_id,
                                renews_licence_id=draft.renews_licence_id)
    return (keyed[0], held) if held is not None else None


def mark_page_done(session: Session, account: Account, draft: ApplicationDraft, page: str) -> None:
    """A page with nothing to answer (a material item) was seen and continued from."""
    if draft.applicant_id != account.id:
        raise NotFound("draft")
    _mark_saved(draft, page)
    session.flush()


def choose_enterprise(session: Session, account: Account, draft: ApplicationDraft, enterprise_id: int,
                      page: str) -> None:
    """The enterprise applying: one the account may act for, for this service (its legal representative, or an
    agent with a valid mandate covering it)."""
    if draft.applicant_id != account.id:
        raise NotFound("draft")
    if enterprise_id not in {e.id for e in enterprises_of(session, account, draft.bundle.code)}:
        raise PermissionDenied("no_mandate")
    if draft.renews_licence_id is not None and draft.renews_licence.holder_enterprise_id not in (None, enterprise_id):
        raise ValidationFailed("renewal_holder")
    draft.enterprise_id = enterprise_id
    _mark_saved(draft, page)
    session.flush()


def delete_draft(session: Session, account: Account, draft_id: int, storage_dir: Path) -> ApplicationDraft:
    """Delete the draft, its answers and the files uploaded for it."""
    draft = draft_for(session, account, draft_id)
    delete_draft_materials(session, draft, storage_dir)
    session.delete(draft)
    session.flush()
    return draft


def submit_draft(session: Session, account: Account, draft_id: int, *, submission_token: str, storage_dir: Path,
                 today: dt.date | None = None) -> Application:
    """Submit the draft as an application: its answers start the approval, its files move to the case, and each
    e-licence that satisfies an item is attached. The same draft sent twice (double click, back button, retry after
    a lost response) yields the one application the first made."""
    try:
        draft = draft_for(session, account, draft_id, lock=True)
    except NotFound:
        # Already submitted by an earlier request (it deleted the draft): that case is the answer.
        existing = session.scalar(select(Application).where(Application.submission_token == submission_token,
                                                            Application.applicant_id == account.id))
        if existing is None:
            raise
        return existing
    if draft.submission_token != submission_token:
        raise ValidationFailed("stale_form")
    today = today or clock.today()
    service = definitions.service(draft.bundle.code)
    # Every material is checked here and every answer by submit_application, whoever calls: a page skipped, a
    # stale form, a changed definition.
    if draft.bundle.audience == Audience.ENTERPRISE and draft.enterprise_id is None:
        raise ValidationFailed("enterprise_missing")
    statuses = item_statuses(session, draft, today)
    missing = [status.item.code for status in statuses if not status.satisfied]
    if missing:
        raise ValidationFailed("materials_missing", items=missing)
    answers = applicable_answers(service, draft.answers or {})
    held = licence_already_held(session, service, answers, account=account, enterprise_id=draft.enterprise_id,
                                renews_licence_id=draft.renews_licence_id)
    if held is not None:
        raise ValidationFailed("licence_held", number=held.number)
    application = submit_application(
        session, account, draft.bundle.code, answers=answers, uploads=[],
        submission_token=submission_token, storage_dir=storage_dir, enterprise_id=draft.enterprise_id,
        renews_licence_id=draft.renews_licence_id, today=today)
    application.source_draft_id = draft.id
    needed = [status.item.code for status in statuses]
    session.execute(update(Material).where(Material.draft_id == draft.id, Material.item_code.in_(needed))
                    .values(application_id=application.id, draft_id=None))
    # Files for items the final answers no longer call for (a floor area changed below 50 m²) are not sent.
    delete_draft_materials(session, draft, storage_dir)
    attach_licences(session, application, statuses)
    session.execute(delete(ApplicationDraft).where(ApplicationDraft.id == draft.id))
    session.expire(application, ["materials"])
    return application


def licence_already_held(session: Session, service, answers: dict, *, account: Account, enterprise_id: int | None,
                         renews_licence_id: int | None) -> Licence | None:
    """A valid licence the applicant (or the enterprise) already holds for the same subject (the premises) that this
    application would grant again, unless the application renews that very licence: never two valid at once. A licence
    a holder has only one of (``one_per_holder``, a residence permit) is no reason to refuse: the person has moved, and
    the new one replaces the one in force when it is issued."""
    from services.licences.content import subject_key

    workflow = max((d for d in definitions.catalogue().workflows if d.key == service.workflow),
                   key=lambda d: d.version)
    running = {node.matter for node in workflow.nodes.values()
               if node.matter and (node.when is None or node.when.evaluate(answers))}
    for type_code, spec in service.licences.items():
        if not any(m.licence_type == type_code and m.code in running for m in service.matters):
            continue  # no branch of this application grants it (a fire inspection for a small counter)
        key = subject_key(spec, answers)
        if key is None or spec.one_per_holder:
            continue
        if spec.holder.kind == "enterprise" and enterprise_id:
            holder = Licence.holder_enterprise_id == enterprise_id
        elif spec.holder.kind == "person":
            holder = true()  # the child is the subject, in whichever parent's wallet the licence is
        else:
            holder = Licence.holder_account_id == account.id
        held = session.scalar(select(Licence).join(LicenceType, LicenceType.id == Licence.licence_type_id).where(
            LicenceType.code == type_code, Licence.subject_key == key, holder, Licence.status == LicenceStatus.VALID,
            Licence.id != (renews_licence_id or 0)).order_by(Licence.id).limit(1))
        if held is not None and licence_is_valid(held):
            return held
    return None


def renewable_licence(session: Session, account: Account, number: str, today: dt.date | None = None) -> Licence:
    """A licence the account may renew: held by the account, or by an enterprise it may act for (for the service that
    issued it). Anyone else's licence is NotFound; a licence that is no longer valid, or already being renewed, is
    InvalidTransition."""
    _require_resident(account)
    licence = session.scalar(select(Licence).where(Licence.number == number.strip().upper()))
    if licence is None or licence.application is None:
        raise NotFound("licence")
    bundle = licence.application.bundle
    if licence.holder_enterprise_id is not None:
        if licence.holder_enterprise_id not in {e.id for e in enterprises_of(session, account, bundle.code)}:
            raise NotFound("licence")
    elif licence.holder_account_id != account.id:
        raise NotFound("licence")
    if not licence_is_valid(licence, today):
        raise InvalidTransition("licence_not_valid")
    pending = session.scalar(select(Application.id).where(Application.renews_licence_id == licence.id,
                                                          Application.status.not_in(ENDED)).limit(1))
    if pending is not None:
        raise InvalidTransition("renewal_pending")
    return licence


def start_renewal(session: Session, account: Account, licence: Licence, *, completed: list[str]) -> ApplicationDraft:
    """A draft of the same service, prefilled from the renewed licence's application (``completed``: the pages those
    answers fill). The applicant's existing draft for that service is kept, never overwritten: if it renews this
    licence it is returned; otherwise InvalidTransition("draft_exists")."""
    bundle = licence.application.bundle
    existing = draft_of_bundle(session, account, bundle)
    if existing is not None:
        if existing.renews_licence_id == licence.id:
            return existing
        raise InvalidTransition("draft_exists")
    draft, _created = start_draft(session, account, bundle, answers=dict(licence.application.answers or {}),
                                  completed=completed, enterprise_id=licence.holder_enterprise_id,
                                  renews_licence_id=licence.id)
    return draft

