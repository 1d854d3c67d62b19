"""Applications (cases) and the materials uploaded with them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services import clock
from services.db import Base, UTCDateTime, utcnow


class CaseStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # waiting for the lead window's acceptance
    IN_REVIEW = "in_review"  # accepted; the agencies' branches are running
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Application(Base):
    """One application: the applicant's answers, their materials and the workflow instance that decides it."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(
        Enum(CaseStatus, native_enum=False, length=20, validate_strings=True), default=CaseStatus.SUBMITTED
    )
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # The form's one-time token: a second POST of the same form finds this row instead of creating another case.
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)
    workflow_instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instances.id"), unique=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The licence this application renews: issuing its licence supersedes that one (services.licences.service).
    # use_alter: licences point at applications too, and the cycle is broken by adding this key last.
    renews_licence_id: Mapped[int | None] = mapped_column(ForeignKey("licences.id", use_alter=True), index=True)
    # The draft this case was sent from (the draft row is gone): the draft's old addresses lead here.
    source_draft_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The enterprise this case founded (start a business): its licences name it, while the case stays the founder's.
    registered_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))

    bundle = relationship("Bundle", lazy="joined")
    applicant = relationship("Account", lazy="joined")
    enterprise = relationship("Enterprise", lazy="joined", foreign_keys="Application.enterprise_id")
    materials: Mapped[list[Material]] = relationship(back_populates="application", order_by="Material.id")


class Material(Base):
    """One material of a case or a draft: an uploaded file, stored under a random key (never at a guessable path)
    with its SHA-256, or an e-licence the applicant already holds (``licence_id``; no file: the government issued it,
    so it is not submitted again). A material belongs to a draft until the draft is submitted, then to the case."""

    __tablename__ = "materials"
    __table_args__ = (
        CheckConstraint("storage_key IS NOT NULL OR licence_id IS NOT NULL", name="file_or_licence"),
        CheckConstraint("application_id IS NOT NULL OR draft_id IS NOT NULL", name="case_or_draft"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("application_drafts.id"), index=True)
    licence_id: Mapped[int | None] = mapped_column(ForeignKey("licences.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(60))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application | None] = relationship(back_populates="materials")
    licence = relationship("Licence", lazy="joined")

    @property
    def licence_state(self):
        """The live state of an e-licence material (what the clerk sees now, not at submission): the licence's
        status, or expired once its validity has passed even before a sweep marks it."""
        from services.licences.models import LicenceStatus

        licence = self.licence
        if licence is None:
            return None
        if licence.status == LicenceStatus.VALID and licence.valid_until is not None and (
                licence.valid_until < clock.today()):
            return LicenceStatus.EXPIRED
        return licence.status


class ApplicationDraft(Base):
    """An application being filled in: one per applicant and service, saved page by page until it is submitted
    (then it becomes an Application and the draft row goes) or deleted. ``submission_token`` becomes the case's, so
    the same draft sent twice makes one case."""

    __tablename__ = "application_drafts"
    __table_args__ = (UniqueConstraint("applicant_id", "bundle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    renews_licence_id: Mapped[int | None] = mapped_column(ForeignKey("licences.id"), index=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # The pages the applicant has saved, in the order they saved them (the task list's statuses come from this).
    completed: Mapped[list] = mapped_column(JSON, default=list)
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    bundle = relationship("Bundle", lazy="joined")
    enterprise = relationship("Enterprise", lazy="joined")
    renews_licence = relationship("Licence", lazy="joined")

    # Where the applicant picks the draft up again: url_for(draft.resume_endpoint, draft_id=draft.id).
    resume_endpoint = "portal.resume_draft"


class Counter(Base):
    """Named counters for human-readable serial numbers (case references per day, licence numbers per agency-year)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
