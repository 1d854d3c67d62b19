"""What a licence says, read from the case as its service defines it: who holds it, its lines and its scope.

The service's ``licences:`` section (services/catalogue/definitions/<service>/service.yaml) names the holder (the
applicant, the enterprise, or a person named in the answers such as the child), the lines the licence carries and
its scope. The approving clerk's opinion is the licence's conditions (附加条件), never its scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.applications.models import Application
from services.catalogue.answers import applicable_answers, shown
from services.catalogue.definitions import catalogue
from services.catalogue.definitions.model import LicenceSpec, Service, Texts
from services.errors import InvalidTransition
from services.identity.models import Account, Enterprise


@dataclass
class LicenceContent:
    holder_name: str
    holder_identifier: str  # a resident identity number or a USCC; empty for a newborn who has none yet
    holder_account_id: int | None  # whose wallet keeps it (a resident holder, or the parent of a child holder)
    holder_enterprise_id: int | None
    details: dict  # {"scope": {zh, zh_hant, en} | None, "lines": [{"label": {...}, "value": {...}}]}
    conditions: str | None
    subject_key: str | None

    @property
    def scope_zh(self) -> str:
        scope = self.details.get("scope")
        return scope["zh"] if scope else ""


def _texts_dict(texts: Texts) -> dict:
    return {"zh": texts.zh, "zh_hant": texts.zh_hant, "en": texts.en}


def _source_value(source: str, service: Service, answers: dict, applicant: Account,
                  enterprise: Enterprise | None, application: Application, masked: bool) -> Texts:
    same = {"applicant.name": applicant.name, "case.reference": application.reference,
            "enterprise.name": enterprise.name if enterprise else "", "enterprise.uscc": enterprise.uscc if enterprise
            else ""}
    if source in same:
        return Texts(same[source], same[source], same[source])
    return shown(service.fields[source], answers.get(source), masked=masked)


def subject_key(spec: LicenceSpec, answers: dict) -> str | None:
    """The answers that make two licences the same thing (``unique_by``), compared without spaces or case; for a
    licence a holder has one of (``one_per_holder``), the same key for all."""
    if spec.one_per_holder:
        return "*"
    if not spec.unique_by:
        return None
    parts = ["".join(str(answers.get(name) or "").split()).upper() for name in spec.unique_by]
    return "|".join(parts)[:200] if any(parts) else None


def licence_content(session, application: Application, licence_type_code: str, opinion: str | None
                    ) -> LicenceContent:
    """The content of the licence of ``licence_type_code`` granted on ``application`` (see the module docstring)."""
    service = catalogue().service(application.bundle.code)
    spec = service.licences[licence_type_code]
    answers = applicable_answers(service, application.answers or {})
    applicant = session.get(Account, application.applicant_id)
    # The enterprise that applied, or the one the case registered (start a business).
    enterprise_id = application.enterprise_id or application.registered_enterprise_id
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
    holder = spec.holder
    if holder.kind == "enterprise":
        if enterprise is None:
            raise InvalidTransition("no_enterprise")  # the registering action has not run: a definition error
        name, identifier, account_id, enterprise_id = enterprise.name, enterprise.uscc, None, enterprise.id
    elif holder.kind == "person":
        name = str(answers.get(holder.name) or "")
        identifier = str(answers.get(holder.identifier) or "") if holder.identifier else ""
        account_id, enterprise_id = applicant.id, None
    else:
        name, identifier, account_id, enterprise_id = applicant.name, applicant.id_number or "", applicant.id, None
    lines = []
    for line in spec.fields:
        value = _source_value(line.source, service, answers, applicant, enterprise, application,
                              masked=line.show == "masked")
        if not value.zh:
            continue  # an answer the case does not have (a page it skipped): no empty line on a legal document
        if line.suffix is not None:  # a unit: written straight after the number in Chinese, after a space in English
            value = Texts(f"{value.zh}{line.suffix.zh}", f"{value.zh_hant}{line.suffix.zh_hant}",
                          f"{value.en} {line.suffix.en}")
        lines.append({"label": _texts_dict(line.label), "value": _texts_dict(value)})
    scope = None
    if spec.scope is not None:
        values = {name: _texts_dict(shown(field, answers.get(name))) for name, field in service.fields.items()}
        scope = _texts_dict(spec.scope.format(**values))
    details = {"scope": scope, "lines": lines}
    if spec.scope_label is not None:
        details["scope_label"] = _texts_dict(spec.scope_label)
    return LicenceContent(holder_name=name, holder_identifier=identifier, holder_account_id=account_id,
                          holder_enterprise_id=enterprise_id, details=details,
                          conditions=(opinion or "").strip() or None, subject_key=subject_key(spec, answers))
