"""Electronic licences (电子证照) as issued and stored."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from services.db import Base, UTCDateTime, utcnow


class LicenceStatus(enum.StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class Licence(Base):
    """One e-licence. ``branch_id`` is unique: a branch of a case grants at most one licence, however often the
    issuing job runs."""

    __tablename__ = "licences"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    licence_type_id: Mapped[int] = mapped_column(ForeignKey("licence_types.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("wf_branches.id"), unique=True)
    holder_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    holder_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_identifier: Mapped[str] = mapped_column(String(18))
    status: Mapped[LicenceStatus] = mapped_column(
        Enum(LicenceStatus, native_enum=False, length=20, validate_strings=True), default=LicenceStatus.VALID
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    # The licence as a W3C Verifiable Credential, a compact JWS signed with the agency's key (services.licences
    # .credentials); empty for licences issued before credentials existed.
    credential_jws: Mapped[str | None] = deferred(mapped_column(Text))
    # Why the licence was suspended, revoked or superseded, shown to the public next to the status.
    status_reason: Mapped[str | None] = mapped_column(Text)

    licence_type = relationship("LicenceType", lazy="joined")
    agency = relationship("Agency", lazy="joined")
    application = relationship("Application")
