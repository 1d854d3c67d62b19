"""Materials of an application: the items a bundle needs, the upload rules (count and size per item, type by content),
and the e-licences that satisfy an item so nothing is uploaded ("documents the government issued need not be
submitted again").

Callers pass a draft they have already authorised (services.applications.drafts.draft_for).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from services import clock
from services.applications.models import Application, ApplicationDraft, Material
from services.applications.service import (
    MAX_UPLOAD_BYTES,
    Upload,
    material_path,
    refuse_active_pdf,
    sniff_content_type,
    store_upload,
)
from services.catalogue.models import Agency, Bundle, MaterialItem
from services.errors import NotFound, ValidationFailed
from services.licences.models import Licence, LicenceStatus
from workflows.conditions import ConditionError, parse_condition

log = logging.getLogger(__name__)
MAX_FILES_PER_UPLOAD = 10  # one form post; an item's own max_files is the limit over all its posts


def material_items(session: Session, bundle: Bundle) -> list[MaterialItem]:
    return list(session.scalars(select(MaterialItem).where(MaterialItem.bundle_id == bundle.id)
                                .order_by(MaterialItem.position, MaterialItem.id)))


def items_needed(items: list[MaterialItem], answers: dict, *, renewal: bool = False) -> list[MaterialItem]:
    """The items these answers call for (``applies_when`` met, or no condition); an item only for renewals (the
    current permit) only when the application renews a licence."""
    needed = []
    for item in items:
        if item.renewal_only and not renewal:
            continue
        if not item.applies_when:
            needed.append(item)
            continue
        try:
            if parse_condition(item.applies_when).evaluate(answers):
                needed.append(item)
        except ConditionError:
            # A catalogue typo must not hide a material: ask for it.
            log.warning("material item %s has an unparsable condition %r", item.code, item.applies_when)
            needed.append(item)
    return needed


def licence_is_valid(licence: Licence, today: dt.date | None = None) -> bool:
    today = today or clock.today()
    return (licence.status == LicenceStatus.VALID and licence.valid_from <= today
            and (licence.valid_until is None or licence.valid_until >= today))


def held_licences(session: Session, applicant_id: int, enterprise_id: int | None, items: list[MaterialItem],
                  today: dt.date | None = None) -> dict[str, Licence]:
    """For each item that accepts an e-licence type: a valid licence of that type held by the applicant or by the
    enterprise applying (the one valid longest if there are several). One query."""
    wanted = {item.accepts_licence_type_id for item in items if item.accepts_licence_type_id}
    if not wanted:
        return {}
    holders = [Licence.holder_account_id == applicant_id]
    if enterprise_id is not None:
        holders.append(Licence.holder_enterprise_id == enterprise_id)
    candidates = session.scalars(select(Licence).where(Licence.licence_type_id.in_(wanted),
                                                       Licence.status == LicenceStatus.VALID, or_(*holders))
                                 .order_by(Licence.id)).all()
    best: dict[int, Licence] = {}
    for licence in candidates:
        if not licence_is_valid(licence, today):
            continue
        current = best.get(licence.licence_type_id)
        if current is None or (current.valid_until or dt.date.max) < (licence.valid_until or dt.date.max):
            best[licence.licence_type_id] = licence
    return {item.code: best[item.accepts_licence_type_id] for item in items
            if item.accepts_licence_type_id in best}


@dataclass
class ItemStatus:
    """One needed item of a draft: the files uploaded for it and the e-licence that satisfies it, if any."""

    item: MaterialItem
    files: list[Material] = field(default_factory=list)
    licence: Licence | None = None

    @property
    def satisfied(self) -> bool:
        return self.licence is not None or bool(self.files) or not self.item.required

    @property
    def room(self) -> int:
        return max(self.item.max_files - len(self.files), 0)


def draft_files(session: Session, draft: ApplicationDraft) -> dict[str, list[Material]]:
    files: dict[str, list[Material]] = {}
    for material in session.scalars(select(Material).where(Material.draft_id == draft.id).order_by(Material.id)):
        files.setdefault(material.item_code, []).append(material)
    return files


def item_statuses(session: Session, draft: ApplicationDraft, today: dt.date | None = None) -> list[ItemStatus]:
    """Every item the draft's answers call for, with its files and any e-licence that satisfies it."""
    needed = items_needed(material_items(session, draft.bundle), draft.answers or {},
                          renewal=draft.renews_licence_id is not None)
    files = draft_files(session, draft)
    licences = held_licences(session, draft.applicant_id, draft.enterprise_id, needed, today)
    renewed = draft.renews_licence
    for item in needed:
        # The permit being renewed is the one attached for "the current permit", not another of its type.
        if (item.renewal_only and renewed is not None and item.accepts_licence_type_id == renewed.licence_type_id
                and licence_is_valid(renewed, today)):
            licences[item.code] = renewed
    return [ItemStatus(item, files.get(item.code, []), licences.get(item.code)) for item in needed]


def check_uploads(item: MaterialItem, uploads: list[Upload], already: int) -> None:
    """Refuse the whole post (nothing stored) when any file is empty, too large, not a PDF/JPEG/PNG by content or a
    PDF with active content (``pdf_safety``), or when the item would hold more than its ``max_files``."""
    if not uploads:
        raise ValidationFailed("no_files", field=item.code)
    if len(uploads) > MAX_FILES_PER_UPLOAD or already + len(uploads) > item.max_files:
        raise ValidationFailed("too_many_files", field=item.code, max=item.max_files, already=already)
    for upload in uploads:
        if not upload.data:
            raise ValidationFailed("empty_file", field=item.code, filename=upload.filename)
        if len(upload.data) > MAX_UPLOAD_BYTES:
            raise ValidationFailed("file_too_large", field=item.code, filename=upload.filename)
        if sniff_content_type(upload.data[:16]) is None:
            raise ValidationFailed("file_type", field=item.code, filename=upload.filename)
        refuse_active_pdf(upload, field=item.code)


def add_files(session: Session, draft: ApplicationDraft, item: MaterialItem, uploads: list[Upload],
              storage_dir: Path) -> list[Material]:
    """Store the files for one item of the draft, after checking them all."""
    if item.bundle_id != draft.bundle_id:
        raise NotFound("material_item")
    already = len(draft_files(session, draft).get(item.code, []))
    check_uploads(item, uploads, already)
    stored = []
    for upload in uploads:
        material = store_upload(storage_dir, Upload(item.code, upload.filename, upload.data))
        material.draft_id = draft.id
        session.add(material)
        stored.append(material)
    session.flush()
    return stored


def remove_file(session: Session, draft: ApplicationDraft, material_id: int, storage_dir: Path) -> Material:
    material = session.get(Material, material_id)
    if material is None or material.draft_id != draft.id:
        raise NotFound("material")
    session.delete(material)
    session.flush()
    delete_stored_files(storage_dir, [material])
    return material


def draft_file(session: Session, draft: ApplicationDraft, material_id: int) -> Material:
    material = session.get(Material, material_id)
    if material is None or material.draft_id != draft.id or material.storage_key is None:
        raise NotFound("material")
    return material


def delete_draft_materials(session: Session, draft: ApplicationDraft, storage_dir: Path) -> int:
    materials = list(session.scalars(select(Material).where(Material.draft_id == draft.id)))
    session.execute(delete(Material).where(Material.draft_id == draft.id))
    delete_stored_files(storage_dir, materials)
    return len(materials)


def delete_stored_files(storage_dir: Path, materials: list[Material]) -> None:
    for material in materials:
        if material.storage_key:
            material_path(storage_dir, material).unlink(missing_ok=True)


def attach_licences(session: Session, application: Application, statuses: list[ItemStatus]) -> list[Material]:
    """Link each e-licence that satisfies an item to the case as a material (nothing was uploaded for it)."""
    attached = []
    for status in statuses:
        if status.licence is not None and not status.files:
            material = Material(application_id=application.id, item_code=status.item.code,
                                licence_id=status.licence.id, filename=status.licence.number)
            session.add(material)
            attached.append(material)
    session.flush()
    return attached



@dataclass
class MaterialGroup:
    """A case's files under what they answer: a material item of the service (``title``), or one item of a
    supplement notice (``notice`` and ``number``, with the written ``answer`` to a question)."""

    materials: list[Material]
    title: object = None  # the item's Texts
    notice: object = None  # the supplement Request
    number: int | None = None
    text: str = ""
    answer: str | None = None


def agency_may_open(service, agency: Agency | None, item_code: str, requests: list) -> bool:
    """Whether an agency's clerks may open a material of this item (``None``: the applicant, who may open all):
    the items its view in the service's definition lists (every item for the lead window and for a view that
    lists none); a supplement's files, the agency that asked for them and the lead window."""
    if agency is None or agency.is_lead_window:
        return True
    if item_code.startswith("supplement-"):
        return any(item_code.startswith(f"supplement-{r.id}-") and r.agency_code == agency.code for r in requests)
    visible = service.materials_for(agency.code) if service is not None else None
    return visible is None or item_code in visible


def materials_by_item(application: Application, service, requests: list, *, agency: Agency | None = None
                      ) -> list[MaterialGroup]:
    """Every file of the case under its item's title, in the service's order, then each supplement notice's items
    (files and written answers) in the notice's order, then anything else (items a definition no longer has). With
    ``agency``, only what that agency's clerks may open (:func:`agency_may_open`)."""
    remaining = [m for m in application.materials if agency_may_open(service, agency, m.item_code, requests)]

    def take(code: str) -> list[Material]:
        taken = [m for m in remaining if m.item_code == code]
        for material in taken:
            remaining.remove(material)
        return taken

    from services.applications.decisions import supplement_item_code

    groups = []
    for item in (service.materials if service is not None else ()):
        files = take(item.code)
        if files:
            groups.append(MaterialGroup(files, title=item.title))
    for notice in requests:
        if notice.kind.value != "supplement" or not agency_may_open(service, agency, f"supplement-{notice.id}-",
                                                                        requests):
            continue
        for item in notice.notice_items:
            files = take(supplement_item_code(notice.id, item["number"]))
            groups.append(MaterialGroup(files, notice=notice, number=item["number"], text=item["text"],
                                        answer=item["answer"]))
    if remaining:
        groups.append(MaterialGroup(remaining))
    return groups
