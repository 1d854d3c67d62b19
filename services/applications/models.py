"""Applications (cases) and the materials uploaded with them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

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

    bundle = relationship("Bundle", lazy="joined")
    applicant = relationship("Account", lazy="joined")
    enterprise = relationship("Enterprise", lazy="joined")
    materials: Mapped[list[Material]] = relationship(back_populates="application", order_by="Material.id")


class Material(Base):
    """An uploaded file. Stored under a random key, never at a guessable path, with its SHA-256."""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(back_populates="materials")


class Counter(Base):
    """Named counters for human-readable serial numbers (case references per day, licence numbers per agency-year)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
