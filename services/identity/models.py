"""People and organisations: residents, enterprises, clerks, supervisors and admins."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    RESIDENT = "resident"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Account(Base):
    """Anyone who signs in. Residents carry their identity number; clerks and supervisors belong to an agency."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role <> 'resident' OR id_number IS NOT NULL", name="resident_has_id_number"),
        CheckConstraint("role <> 'clerk' OR agency_id IS NOT NULL", name="clerk_has_agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, validate_strings=True))
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(11))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # An agency lead is a clerk who may also hand tasks from one clerk of the agency to another.
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The second factor (services.identity.second_factor): a TOTP secret once enrolled, and the last time step
    # accepted, so that a code seen over a shoulder cannot be used again.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    agency = relationship("Agency", lazy="joined")
    enterprises: Mapped[list[Enterprise]] = relationship(back_populates="legal_representative")

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.email} {self.role}>"


class Enterprise(Base):
    """A registered enterprise, identified by its unified social credit code, with one legal representative."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    address: Mapped[str | None] = mapped_column(String(200))
    legal_representative_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    legal_representative: Mapped[Account] = relationship(back_populates="enterprises")


class PasswordToken(Base):
    """A single-use link to set a password (an invitation) or reset one (by e-mail), valid for a short while.

    Only a hash of the token is kept; the token itself is HMAC(secret key, salt), so the e-mail job can rebuild the
    link while someone who reads the database alone cannot."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "invite" or "reset"
    salt: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A one-time code that stands in for the authenticator app; only its SHA-256 is kept (the codes are random and
    long, so a fast hash is enough)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
