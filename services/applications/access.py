"""The data tracker: every time a clerk opens a case, a record the applicant can read ("who accessed my data")."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.applications.models import Application
from services.db import Base, UTCDateTime, utcnow
from services.identity.models import Account


class AccessRecord(Base):
    __tablename__ = "access_records"
    __table_args__ = (Index("ix_access_records_application_at", "application_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    agency_code: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def record_access(session: Session, clerk: Account, application: Application, purpose: str) -> AccessRecord:
    """Note that ``clerk`` opened ``application`` (for the applicant's "who accessed my data" and the audit trail)."""
    from services.audit.chain import AuditKind, record

    record(session, AuditKind.CASE_OPENED, actor_id=clerk.id, subject_id=application.applicant_id,
           application_id=application.id, purpose=purpose, agency=clerk.agency.code if clerk.agency else None)
    record = AccessRecord(application_id=application.id, account_id=clerk.id,
                          agency_code=clerk.agency.code if clerk.agency else "", role=clerk.role.value,
                          purpose=purpose, at=utcnow())
    session.add(record)
    return record

