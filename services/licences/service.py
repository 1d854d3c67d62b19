"""Issuing e-licences and finding them for their holders and for the public."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.applications.models import Application
from services.applications.service import next_serial
from services.catalogue.models import Matter
from services.errors import NotFound
from services.identity.identifiers import make_licence_number, mask_resident_id
from services.identity.models import Account, Enterprise
from services.licences.models import Licence, LicenceStatus
from services.notifications.service import notify
from workflows.models import Branch, WorkflowInstance
from workflows.states import BranchState


def issue_licence(session: Session, *, branch_id: int, key_dir: Path, public_url: str,
                  today: dt.date | None = None) -> Licence:
    """Issue the licence an approved branch grants, exactly once: a second call returns the first licence."""
    # Imported here: WeasyPrint and pyHanko are heavy, and only workers issue licences.
    from services.licences.credentials import credential_for, sign_credential
    from services.licences.pdf import render_licence_html, render_pdf
    from services.licences.qr import qr_png_data_uri
    from services.licences.signing import ensure_agency_key, sign_pdf

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
    today = today or dt.date.today()
    agency = licence_type.agency
    number = make_licence_number(agency.code.upper(), today.year,
                                 next_serial(session, f"licence:{agency.code}:{today.year}"))
    if application.enterprise_id:
        enterprise = session.get(Enterprise, application.enterprise_id)
        holder_name, holder_identifier, holder_shown = enterprise.name, enterprise.uscc, enterprise.uscc
    else:
        person = session.get(Account, application.applicant_id)
        holder_name, holder_identifier = person.name, person.id_number
        holder_shown = mask_resident_id(person.id_number)
    valid_until = (dt.date(today.year + licence_type.validity_years, today.month, min(today.day, 28))
                   if licence_type.validity_years else None)
    scope_zh = branch.opinion or ""
    verify_url = f"{public_url.rstrip('/')}/verify/{number}"
    html = render_licence_html({
        "number": number, "type_name_zh": licence_type.name_zh, "type_name_en": licence_type.name_en,
        "holder_name": holder_name, "holder_id_masked": holder_shown, "issuer_name_zh": agency.name_zh,
        "issuer_name_en": agency.name_en, "issue_date": today, "valid_from": today, "valid_until": valid_until,
        "scope_zh": scope_zh, "scope_en": "", "case_reference": application.reference, "verify_url": verify_url,
        "qr_data_uri": qr_png_data_uri(verify_url),
    })
    key_path, cert_path = ensure_agency_key(key_dir, agency.code, agency.name_en)
    pdf = sign_pdf(render_pdf(html), key_path, cert_path, reason=f"{licence_type.name_en} {number}")
    licence = Licence(number=number, licence_type_id=licence_type.id, agency_id=agency.id,
                      application_id=application.id, branch_id=branch.id,
                      holder_account_id=None if application.enterprise_id else application.applicant_id,
                      holder_enterprise_id=application.enterprise_id, holder_name=holder_name,
                      holder_identifier=holder_identifier, status=LicenceStatus.VALID, scope=scope_zh,
                      valid_from=today, valid_until=valid_until, pdf=pdf,
                      pdf_sha256=hashlib.sha256(pdf).hexdigest(), licence_type=licence_type, agency=agency)
    # The same licence as a Verifiable Credential, signed with the same agency key as the PDF.
    licence.credential_jws = sign_credential(credential_for(licence, public_url), key_path)
    session.add(licence)
    session.flush()
    notify(session, application.applicant_id, "licence_issued", number=number, reference=application.reference)
    return licence


def _held_by(account: Account):
    owned = select(Enterprise.id).where(Enterprise.legal_representative_id == account.id)
    return or_(Licence.holder_account_id == account.id, Licence.holder_enterprise_id.in_(owned))


def licences_for(session: Session, account: Account) -> list[Licence]:
    """The wallet: the account's own licences and those of the enterprises it represents."""
    return list(session.scalars(select(Licence).where(_held_by(account)).order_by(Licence.issued_at.desc())))


def licences_of_case(session: Session, application_id: int) -> list[Licence]:
    return list(session.scalars(select(Licence).where(Licence.application_id == application_id)
                                .order_by(Licence.id)))


def licence_for_holder(session: Session, account: Account, number: str) -> Licence:
    """A licence the account holds (or its enterprise holds); NotFound for anyone else's."""
    licence = session.scalar(select(Licence).where(Licence.number == number.strip().upper(), _held_by(account)))
    if licence is None:
        raise NotFound("licence")
    return licence


def licence_by_number(session: Session, number: str) -> Licence | None:
    """Public look-up for verification."""
    return session.scalar(select(Licence).where(Licence.number == number.strip().upper()))
