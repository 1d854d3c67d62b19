"""The service catalogue: agencies, licence types, matters and life-event bundles.

Catalogue text is data in three languages (simplified Chinese, traditional Chinese, English); ``localized`` picks the
reader's.
"""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db import Base


class Audience(enum.StrEnum):
    RESIDENT = "resident"
    ENTERPRISE = "enterprise"
    BOTH = "both"


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_zh_hant: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(150))
    is_lead_window: Mapped[bool] = mapped_column(Boolean, default=False)


class LicenceType(Base):
    __tablename__ = "licence_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(150))
    name_zh_hant: Mapped[str] = mapped_column(String(150))
    name_en: Mapped[str] = mapped_column(String(200))
    validity_years: Mapped[int | None] = mapped_column(Integer)

    agency: Mapped[Agency] = relationship(lazy="joined")


class Matter(Base):
    """One licensing matter (事项) handled by one agency, with its legal basis and time limits."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    licence_type_id: Mapped[int | None] = mapped_column(ForeignKey("licence_types.id"))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_zh_hant: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(250))
    legal_basis_zh: Mapped[str] = mapped_column(Text, default="")
    legal_basis_en: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[Audience] = mapped_column(Enum(Audience, native_enum=False, length=20, validate_strings=True))
    statutory_days: Mapped[int] = mapped_column(Integer, default=20)
    promised_days: Mapped[int] = mapped_column(Integer, default=10)
    fee_yuan: Mapped[float] = mapped_column(Numeric(10, 2), default=0)
    fully_online: Mapped[bool] = mapped_column(Boolean, default=True)

    agency: Mapped[Agency] = relationship(lazy="joined")
    licence_type: Mapped[LicenceType | None] = relationship(lazy="joined")


class Bundle(Base):
    """A life-event bundle (一件事): several matters handled in parallel under one approval process."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    workflow_key: Mapped[str] = mapped_column(String(60))
    audience: Mapped[Audience] = mapped_column(Enum(Audience, native_enum=False, length=20, validate_strings=True))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_zh_hant: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(250))
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    summary_zh_hant: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    joint_days: Mapped[int] = mapped_column(Integer, default=45)

    items: Mapped[list[BundleItem]] = relationship(
        back_populates="bundle", order_by="BundleItem.position", lazy="selectin"
    )


class BundleItem(Base):
    __tablename__ = "bundle_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"), index=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    condition_zh: Mapped[str] = mapped_column(String(200), default="")
    condition_zh_hant: Mapped[str] = mapped_column(String(200), default="")
    condition_en: Mapped[str] = mapped_column(String(250), default="")

    bundle: Mapped[Bundle] = relationship(back_populates="items")
    matter: Mapped[Matter] = relationship(lazy="joined")


def localized(obj, field: str, locale: str) -> str:
    """The catalogue text of ``field`` in ``locale`` (zh_Hans_CN, zh_Hant_HK or en), falling back to Chinese."""
    if locale.startswith("en"):
        value = getattr(obj, f"{field}_en", "")
    elif locale.startswith("zh_Hant"):
        value = getattr(obj, f"{field}_zh_hant", "")
    else:
        value = getattr(obj, f"{field}_zh", "")
    return value or getattr(obj, f"{field}_zh")
