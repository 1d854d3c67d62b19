"""Issuing e-licences and finding them for their holders and for the public."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from services import clock
from services.applications.models import Application
from services.applications.service import next_serial
from services.catalogue.models import Matter
from services.db import utcnow
from services.errors import NotFound
from services.identity.identifiers import make_licence_number, mask_resident_id
from services.identity.models import Account, Enterprise
from services.licences.content import licence_content
from services.licences.models import Licence, LicenceAction, LicenceEvent, LicenceNumberReservation, LicenceStatus
from services.notifications.service import notify
from workflows.models import Branch, WorkflowInstance
from workflows.states import BranchState


def issue_licence(session: Session, *, branch_id: int, key_dir: Path, public_url: str,
                  today: dt.date | None = None) -> Licence:
    """Issue the licence an approved branch grants, exactly once: a second call returns the first licence.

    When the branch's application renews a licence of the same type and holder, that licence is superseded by the
    new one (see :func:`_renewable`).
    """
    existing = session.scalar(select(Licence).where(Licence.branch_id == branch_id))
    if existing is not None:
        return existing
    branch = session.get(Branch, branch_id)
    if branch is None or branch.state != BranchState.APPROVED:
        raise NotFound("approved_branch")
    matter = session.scalar(select(Matter).where(Matter.code == branch.matter_code))
    licence_type = matter.licence_type
    instance = session.get(WorkflowInstance, branch.instance_id)
    application = session.scalar(select(Application).where(Application.workflow_instance_id == instance.id))
    today = today or clock.today()
    content = licence_content(session, application, licence_type.code, branch.opinion)
    valid_until = (dt.date(today.year + licence_type.validity_years, today.month, min(today.day, 28))
                   if licence_type.validity_years else None)
    replaced = _renewable(session, application.renews_licence_id, licence_type.id, content.holder_account_id,
                          content.holder_enterprise_id)
    why = "renewal"
    if replaced is None and content.subject_key is not None:
        # A second licence for the same premises: the new one replaces the one in force (never two valid at once).
        # Sending such an application is refused (services.applications.drafts); this covers a race with another.
        replaced, why = _same_subject(session, licence_type.id, content), "new_licence"
    licence = issue_version(
        session, licence_type=licence_type, application=application, branch_id=branch.id,
        number=reserve_branch_number(session, branch, licence_type.agency.code, today),
        holder_account_id=content.holder_account_id, holder_enterprise_id=content.holder_enterprise_id,
        holder_name=content.holder_name, holder_identifier=content.holder_identifier, scope=content.scope_zh,
        details=content.details, conditions=content.conditions, subject_key=content.subject_key,
        valid_from=today, valid_until=valid_until, key_dir=key_dir, public_url=public_url, today=today,
        supersedes=replaced)
    notify(session, application.applicant_id, "licence_issued", number=licence.number,
           reference=application.reference)
    if replaced is not None:
        from services.licences.lifecycle import supersede

        supersede(session, replaced, licence, why=why)
    return licence


def _same_subject(session: Session, licence_type_id: int, content) -> Licence | None:
    """The valid licence of this type that the holder holds for the same subject (premises), if any."""
    holder = (Licence.holder_enterprise_id == content.holder_enterprise_id if content.holder_enterprise_id
              else Licence.holder_account_id == content.holder_account_id)
    return session.scalar(select(Licence).where(
        Licence.licence_type_id == licence_type_id, Licence.subject_key == content.subject_key, holder,
        Licence.status == LicenceStatus.VALID).with_for_update(of=Licence).order_by(Licence.id).limit(1))


def issue_version(session: Session, *, licence_type, application: Application, branch_id: int | None,
                  holder_account_id: int | None, holder_enterprise_id: int | None, holder_name: str,
                  holder_identifier: str, scope: str, valid_from: dt.date, valid_until: dt.date | None,
                  key_dir: Path, public_url: str, today: dt.date, supersedes: Licence | None = None,
                  number: str | None = None, details: dict | None = None, conditions: str | None = None,
                  subject_key: str | None = None) -> Licence:
    """Number (unless ``number`` was reserved), render, sign (PDF and credential) and store one licence; the one code
    path for every issuance (a case's licence, a renewal, an amended version). Flushes; never commits."""
    # Imported here: WeasyPrint and pyHanko are heavy, and only workers issue licences.
    from services.licences.credentials import credential_for, key_id_of, sign_credential
    from services.licences.pdf import render_licence_html, render_pdf
    from services.licences.qr import qr_png_data_uri
    from services.licences.signing import ensure_agency_key, sign_pdf

    agency = licence_type.agency
    if number is None:
        # An amendment: the agency's counter row stays locked until this transaction commits, so a job killed
        # half-way gives its number back and the numbers have no gaps.
        number = _next_number(session, agency.code, today)
    holder_shown = holder_identifier if holder_enterprise_id else mask_resident_id(holder_identifier)
    verify_url = f"{public_url.rstrip('/')}/verify/{number}"
    details = details or {"scope": {"zh": scope, "zh_hant": scope, "en": ""} if scope else None, "lines": []}
    html = render_licence_html({
        "number": number, "type_name_zh": licence_type.name_zh, "type_name_en": licence_type.name_en,
        "holder_name": holder_name, "holder_id_masked": holder_shown, "issuer_name_zh": agency.name_zh,
        "holder_is_enterprise": holder_enterprise_id is not None,
        "issuer_name_en": agency.name_en, "issue_date": today, "valid_from": valid_from, "valid_until": valid_until,
        "scope_zh": (details.get("scope") or {}).get("zh", ""), "scope_en": (details.get("scope") or {}).get("en", ""),
        "lines": details.get("lines", []), "conditions": conditions or "",
        "scope_label": details.get("scope_label") or {"zh": "许可范围", "en": "Scope"},
        "case_reference": application.reference, "verify_url": verify_url,
        "qr_data_uri": qr_png_data_uri(verify_url),
    })
    key_path, cert_path = ensure_agency_key(key_dir, agency.code, agency.name_en)
    pdf = sign_pdf(render_pdf(html), key_path, cert_path, reason=f"{licence_type.name_en} {number}")
    licence = Licence(number=number, licence_type_id=licence_type.id, agency_id=agency.id,
                      application_id=application.id, branch_id=branch_id, holder_account_id=holder_account_id,
                      holder_enterprise_id=holder_enterprise_id, holder_name=holder_name,
                      holder_identifier=holder_identifier, status=LicenceStatus.VALID, scope=scope,
                      details=details, conditions=conditions, subject_key=subject_key,
                      valid_from=valid_from, valid_until=valid_until, pdf=pdf,
                      pdf_sha256=hashlib.sha256(pdf).hexdigest(), licence_type=licence_type, agency=agency,
                      supersedes_id=supersedes.id if supersedes is not None else None, key_id=key_id_of(key_path))
    # The same licence as a Verifiable Credential, signed with the same agency key as the PDF.
    licence.credential_jws = sign_credential(credential_for(licence, public_url), key_path)
    session.add(licence)
    session.flush()
    session.add(LicenceEvent(licence_id=licence.id, action=LicenceAction.ISSUE, to_status=LicenceStatus.VALID,
                             reason="", details={"supersedes": supersedes.number if supersedes else None},
                             at=utcnow()))
    return licence


def _next_number(session: Session, agency_code: str, today: dt.date) -> str:
    return make_licence_number(agency_code.upper(), today.year,
                               next_serial(session, f"licence:{agency_code}:{today.year}"))


def reserve_branch_number(session: Session, branch: Branch, agency_code: str, today: dt.date) -> str:
    """The number of the licence a branch grants: the one reserved for it before, or a new one reserved now."""
    reserved = session.scalar(select(LicenceNumberReservation.number)
                              .where(LicenceNumberReservation.branch_id == branch.id))
    if reserved is not None:
        return reserved
    number = _next_number(session, agency_code, today)
    session.add(LicenceNumberReservation(branch_id=branch.id, number=number, reserved_at=utcnow()))
    session.flush()
    return number


def reserve_number_for_job(database, branch_id: int, today: dt.date | None = None) -> None:
    """Run by the issuing job before its own transaction (services.licences.jobs): take the branch's number in a
    short transaction, so that the agency's counter is locked for milliseconds, not for the seconds the job spends
    rendering and signing while it holds its transaction open. Nothing to do when the licence exists already or the
    branch does not grant one; the job itself then says so."""
    with database.transaction() as session:
        if session.scalar(select(Licence.id).where(Licence.branch_id == branch_id)) is not None:
            return
        branch = session.get(Branch, branch_id)
        if branch is None or branch.state != BranchState.APPROVED:
            return
        matter = session.scalar(select(Matter).where(Matter.code == branch.matter_code))
        if matter is None or matter.licence_type is None:
            return
        reserve_branch_number(session, branch, matter.licence_type.agency.code, today or clock.today())


# What a renewal may replace: a licence still in force or run out, not one an agency took back.
RENEWABLE = (LicenceStatus.VALID, LicenceStatus.EXPIRED)


def _renewable(session: Session, licence_id: int | None, licence_type_id: int, holder_account_id: int | None,
               holder_enterprise_id: int | None) -> Licence | None:
    """The licence a renewal application names, if the new licence may supersede it: same type, same holder, still
    valid or expired (a renewal never takes back a suspension or revocation), not superseded already. Anything else
    is left as it is: the applicant-side form should have refused it."""
    if licence_id is None:
        return None
    old = session.get(Licence, licence_id, with_for_update={"of": Licence})
    if old is None or old.licence_type_id != licence_type_id or old.status not in RENEWABLE:
        return None
    if (old.holder_account_id, old.holder_enterprise_id) != (holder_account_id, holder_enterprise_id):
        return None
    if session.scalar(select(Licence.id).where(Licence.supersedes_id == old.id)) is not None:
        return None
    return old


def _held_by(session: Session, account: Account):
    """The account's own licences and those of the enterprises it represents. The enterprises are looked up first:
    ``holder_enterprise_id IN (subquery)`` OR-ed with the account made PostgreSQL scan every licence."""
    owned = list(session.scalars(select(Enterprise.id).where(Enterprise.legal_representative_id == account.id)))
    return or_(Licence.holder_account_id == account.id, Licence.holder_enterprise_id.in_(owned))


def licences_of_case(session: Session, application_id: int) -> list[Licence]:
    return list(session.scalars(select(Licence).where(Licence.application_id == application_id)
                                .order_by(Licence.id)))


def licence_for_holder(session: Session, account: Account, number: str) -> Licence:
    """A licence the account holds (or its enterprise holds); NotFound for anyone else's."""
    licence = session.scalar(select(Licence).where(Licence.number == number.strip().upper(),
                                                   _held_by(session, account)))
    if licence is None:
        raise NotFound("licence")
    return licence


def licence_by_number(session: Session, number: str) -> Licence | None:
    """Public look-up for verification."""
    return session.scalar(select(Licence).where(Licence.number == number.strip().upper()))


def licences_expiring_within(session: Session, account: Account, days: int = 30,
                             today: dt.date | None = None) -> list[Licence]:
    """The account's valid licences whose last day is within ``days`` from today (earliest first), leaving out
    those a submitted or running application already renews: the renewal to-dos."""
    from services.licences.credentials import CHINA_TZ

    return expiring_licences(session, _held_by(session, account), today or dt.datetime.now(CHINA_TZ).date(), days)


def renewal_under_way():
    """True for a licence that a submitted or running application renews. NOT EXISTS, not NOT IN: the planner turns
    NOT IN (subquery) into a hashed scan of every application as soon as one licence is near expiry (275 ms at the
    95th percentile on a million cases); this probes an index."""
    from services.applications.models import CaseStatus

    return exists().where(Application.renews_licence_id == Licence.id,
                          Application.status.in_((CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW)))


def expiring_licences(session: Session, held, today: dt.date, days: int = 30, limit: int = 20) -> list[Licence]:
    """Valid licences matching ``held`` that expire within ``days`` and that no running application renews yet."""
    return list(session.scalars(select(Licence).where(
        held, Licence.status == LicenceStatus.VALID, Licence.valid_until.is_not(None), Licence.valid_until >= today,
        Licence.valid_until <= today + dt.timedelta(days=days), ~renewal_under_way())
        .order_by(Licence.valid_until, Licence.id).limit(limit)))


def superseding(session: Session, licence: Licence) -> Licence | None:
    """The newer version that replaced ``licence``, if any."""
    return session.scalar(select(Licence).where(Licence.supersedes_id == licence.id))
