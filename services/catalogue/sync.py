"""The database's catalogue tables, written from the service definitions (the definitions are the source).

Pages and queries join agencies, licence types, matters and bundles; the tables are kept as a projection so they
can. :func:`sync_catalogue` is idempotent: run twice it changes nothing the second time. It never deletes a row that
cases or licences may point at; a material item or eligibility question no longer defined is removed.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.catalogue.definitions import Catalogue, catalogue
from services.catalogue.definitions.model import Texts
from services.catalogue.models import (
    Agency,
    Audience,
    Bundle,
    BundleItem,
    EligibilityQuestion,
    LicenceType,
    MaterialItem,
    Matter,
)


def _texts(prefix: str, texts: Texts | None) -> dict:
    texts = texts or Texts("", "", "")
    return {f"{prefix}_zh": texts.zh, f"{prefix}_zh_hant": texts.zh_hant, f"{prefix}_en": texts.en}


def upsert(session: Session, model, key: dict, values: dict):
    """The row of ``model`` with ``key``, made or updated to ``values`` (a value already equal is left alone)."""
    row = session.scalar(select(model).filter_by(**key))
    if row is None:
        row = model(**key, **values)
        session.add(row)
    else:
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
    session.flush()
    return row


def sync_catalogue(session: Session, loaded: Catalogue | None = None) -> dict[str, int]:
    """Write the definitions' agencies, licence types, matters, services, eligibility questions and materials."""
    loaded = loaded or catalogue()
    agencies = {code: upsert(session, Agency, {"code": code}, {
        "name_zh": spec.name.zh, "name_zh_hant": spec.name.zh_hant, "name_en": spec.name.en,
        "is_lead_window": spec.lead_window, "uscc": spec.uscc}) for code, spec in loaded.agencies.items()}
    types = {code: upsert(session, LicenceType, {"code": code}, {
        "agency_id": agencies[spec.agency].id, "name_zh": spec.name.zh, "name_zh_hant": spec.name.zh_hant,
        "name_en": spec.name.en, "validity_years": spec.validity_years}) for code, spec in loaded.licence_types.items()}
    joint_days = {d.key: d.joint_limit_days for d in loaded.workflows}
    matters = 0
    for service in loaded.services.values():
        bundle = upsert(session, Bundle, {"code": service.code}, {
            "workflow_key": service.workflow, "audience": Audience(service.audience),
            "title_zh": service.title.zh, "title_zh_hant": service.title.zh_hant, "title_en": service.title.en,
            **_texts("summary", service.summary), "joint_days": joint_days[service.workflow]})
        for position, spec in enumerate(service.matters):
            matter = upsert(session, Matter, {"code": spec.code}, {
                "agency_id": agencies[spec.agency].id,
                "licence_type_id": types[spec.licence_type].id if spec.licence_type else None,
                **_texts("title", spec.title), **_texts("legal_basis", spec.legal_basis),
                "audience": Audience(spec.audience),
                "statutory_days": spec.statutory_days, "promised_days": spec.promised_days,
                "fee_yuan": spec.fee_yuan, "fully_online": spec.fully_online and service.online})
            upsert(session, BundleItem, {"bundle_id": bundle.id, "matter_id": matter.id},
                    {"position": position, **_texts("condition", spec.condition)})
            matters += 1
        _sync_applying(session, bundle, service, types)
    return {"agencies": len(agencies), "licence_types": len(types), "matters": matters,
            "services": len(loaded.services)}


def _sync_applying(session: Session, bundle: Bundle, service, types: dict[str, LicenceType]) -> None:
    for position, question in enumerate(service.eligibility):
        upsert(session, EligibilityQuestion, {"bundle_id": bundle.id, "code": question.code}, {
            "position": position, **_texts("question", question.question), **_texts("hint", question.hint),
            "eligible_answer": question.eligible_answer, **_texts("reason", question.reason),
            **_texts("advice", question.advice)})
    session.execute(delete(EligibilityQuestion).where(
        EligibilityQuestion.bundle_id == bundle.id,
        EligibilityQuestion.code.not_in([q.code for q in service.eligibility] or [""])))
    for position, item in enumerate(service.materials):
        upsert(session, MaterialItem, {"bundle_id": bundle.id, "code": item.code}, {
            "position": position, **_texts("title", item.title), **_texts("hint", item.hint),
            "required": item.required, "max_files": item.max_files,
            "accepts_licence_type_id": types[item.accepts_licence].id if item.accepts_licence else None,
            "applies_when": item.when.source if item.when else "", "renewal_only": item.renewal_only})
    session.execute(delete(MaterialItem).where(
        MaterialItem.bundle_id == bundle.id, MaterialItem.code.not_in([m.code for m in service.materials] or [""])))
