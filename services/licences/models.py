"""Electronic licences (电子证照) as issued and stored."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, LargeBinary, String, Text
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
    issuing job runs. An amended version has no branch of its own (it comes from a clerk's amendment, not a case
    decision); ``supersedes_id`` is unique, so a licence is superseded by at most one newer version whatever the
    retries."""

    __tablename__ = "licences"
    # The expiry sweep and the renewal reminders look for valid licences by last day; a clerk's licence list is the
    # agency's newest first.
    __table_args__ = (Index("ix_licences_status_valid_until", "status", "valid_until"),
                      Index("ix_licences_agency_id_issued_at", "agency_id", "issued_at"),
                      Index("ix_licences_licence_type_id_subject_key", "licence_type_id", "subject_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    licence_type_id: Mapped[int] = mapped_column(ForeignKey("licence_types.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("wf_branches.id"), unique=True)
    holder_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    holder_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_identifier: Mapped[str] = mapped_column(String(18))
    status: Mapped[LicenceStatus] = mapped_column(
        Enum(LicenceStatus, native_enum=False, length=20, validate_strings=True), default=LicenceStatus.VALID
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    # What the licence carries, as its service defines it (services.licences.content): {"scope": {zh, zh_hant, en},
    # "lines": [{"label": {...}, "value": {...}}]}; None on licences issued before services were definitions.
    details: Mapped[dict | None] = mapped_column(JSON)
    # The approving clerk's conditions (附加条件): printed only when there are any, never as the scope.
    conditions: Mapped[str | None] = mapped_column(Text)
    # What makes two licences of one type and holder the same thing (the premises): a new one supersedes the old.
    subject_key: Mapped[str | None] = mapped_column(String(200))
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
    # The older licence this one replaces (a renewal or an amendment); that one is then superseded.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("licences.id"), unique=True)
    # The RFC 7638 thumbprint of the agency key that signed the PDF and the credential: after a key rotation it
    # names the (archived) certificate that validates this licence.
    key_id: Mapped[str | None] = mapped_column(String(64))
    # Set when the 30-day renewal reminder went out, so that it goes out once.
    renewal_reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    licence_type = relationship("LicenceType", lazy="joined")
    agency = relationship("Agency", lazy="joined")
    application = relationship("Application", foreign_keys="Licence.application_id")
    supersedes = relationship("Licence", remote_side="Licence.id", foreign_keys="Licence.supersedes_id")


class LicenceAction(enum.StrEnum):
    ISSUE = "issue"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    EXPIRE = "expire"
    SUPERSEDE = "supersede"
    AMEND = "amend"  # a clerk asked for an amended version; the new version is issued by a job


class LicenceEvent(Base):
    """The licence's history, append-only: who did what, when and why. ``command_id`` makes a clerk's command
    idempotent: the same command sent twice (a double click, a retried request) finds its row and changes nothing."""

    __tablename__ = "licence_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licences.id"), index=True)
    action: Mapped[LicenceAction] = mapped_column(
        Enum(LicenceAction, native_enum=False, length=20, validate_strings=True))
    from_status: Mapped[LicenceStatus | None] = mapped_column(
        Enum(LicenceStatus, native_enum=False, length=20, validate_strings=True))
    to_status: Mapped[LicenceStatus | None] = mapped_column(
        Enum(LicenceStatus, native_enum=False, length=20, validate_strings=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    # None: the system (the expiry sweep, an issuing job).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    command_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Parameters of the command (an amendment's new holder name and scope, the superseding licence's number).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("Account", lazy="joined")


class ShareLink(Base):
    """A holder's link to one licence for a third party. Only the SHA-256 of the token is stored: the link is shown
    to the holder once, and a copy of the database does not give anyone a working link."""

    __tablename__ = "licence_share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licences.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    command_id: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    licence = relationship("Licence", lazy="joined")
    uses: Mapped[list[ShareLinkUse]] = relationship(back_populates="link", order_by="ShareLinkUse.id.desc()")


class ShareLinkUse(Base):
    """One opening of a share link, with coarse client facts only (browser and system family, the network's first
    bytes): enough for a holder to recognise a use, too little to track the person who opened it."""

    __tablename__ = "licence_share_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("licence_share_links.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    client: Mapped[str] = mapped_column(String(80), default="")
    network: Mapped[str] = mapped_column(String(50), default="")

    link: Mapped[ShareLink] = relationship(back_populates="uses")


class LicenceNumberReservation(Base):
    """The number a branch's licence will carry, taken in a short transaction of its own before the issuing job
    renders and signs (services.licences.service.reserve_branch_number). The agency's counter row is then locked only
    for that short transaction, not for the seconds of rendering, so one agency's licences are issued in parallel;
    and a job killed half-way finds its number here when it runs again, so the numbers still have no gaps."""

    __tablename__ = "licence_number_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("wf_branches.id", ondelete="CASCADE"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    reserved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
