"""The audit trail's tables: one append-only log whose rows are chained by hash, the chain's head, and the daily
roots the hub signs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, UTCDateTime


class AuditEntry(Base):
    """One thing that happened. ``row_hash`` covers every column below and ``prev_hash`` (the row before's hash), so
    editing, inserting or deleting a row breaks the chain from there on (``services.audit.chain.verify``)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_subject_seq", "subject_id", "seq"),
                      Index("ix_audit_entries_day_seq", "day", "seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, 3 ... with no gaps
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    day: Mapped[dt.date] = mapped_column(Date)  # the day in China: the daily root covers one day's rows
    kind: Mapped[str] = mapped_column(String(40))
    # Plain ids, not foreign keys: an audit row outlives what it names and must never block a deletion elsewhere.
    actor_id: Mapped[int | None] = mapped_column(Integer)  # who did it (None: the system, or an unknown email)
    subject_id: Mapped[int | None] = mapped_column(Integer)  # whose data it concerns (their proof lists it)
    application_id: Mapped[int | None] = mapped_column(Integer)
    licence_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A single row: the last sequence number handed out and its hash. Every append updates it first, which
    serialises appends (a row lock on PostgreSQL, the write lock on SQLite) and lets verify notice rows cut from
    the end."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditRoot(Base):
    """A day's rows summed up (their Merkle root and the chain's hash after the last), signed with the hub's key and
    published on /audit/roots. A resident's proof links their rows to one of these."""

    __tablename__ = "audit_roots"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    merkle_root: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # base64 ECDSA P-256 / SHA-256 over proof_check.root_message
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
