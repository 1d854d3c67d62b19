"""The service catalogue: agencies, licence types, matters and life-event bundles.

Catalogue text is data in three languages (simplified Chinese, traditional Chinese, English); ``localized`` picks the
reader's.
"""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint, false
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
    uscc: Mapped[str | None] = mapped_column(String(18))


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
    legal_basis_zh_hant: Mapped[str] = mapped_column(Text, default="", server_default="")
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


class EligibilityQuestion(Base):
    """A yes/no question of the short check before applying (e.g. "Have you lived here for six months or more?").
    Answering anything but ``eligible_answer`` means the applicant cannot apply: ``reason`` says why and ``advice``
    what to do instead."""

    __tablename__ = "eligibility_questions"
    __table_args__ = (UniqueConstraint("bundle_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    question_zh: Mapped[str] = mapped_column(String(300))
    question_zh_hant: Mapped[str] = mapped_column(String(300))
    question_en: Mapped[str] = mapped_column(String(400))
    hint_zh: Mapped[str] = mapped_column(Text, default="")
    hint_zh_hant: Mapped[str] = mapped_column(Text, default="")
    hint_en: Mapped[str] = mapped_column(Text, default="")
    eligible_answer: Mapped[str] = mapped_column(String(3), default="yes")  # "yes" or "no"
    reason_zh: Mapped[str] = mapped_column(Text, default="")
    reason_zh_hant: Mapped[str] = mapped_column(Text, default="")
    reason_en: Mapped[str] = mapped_column(Text, default="")
    advice_zh: Mapped[str] = mapped_column(Text, default="")
    advice_zh_hant: Mapped[str] = mapped_column(Text, default="")
    advice_en: Mapped[str] = mapped_column(Text, default="")


class MaterialItem(Base):
    """One material a bundle's application needs: uploaded (up to ``max_files`` files), or satisfied by a valid
    e-licence of ``accepts_licence_type`` that the applicant or their enterprise holds. ``applies_when`` is a
    condition on the answers in the workflow's syntax (e.g. ``floor_area >= 50``); empty means always."""

    __tablename__ = "material_items"
    __table_args__ = (UniqueConstraint("bundle_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_zh_hant: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(250))
    hint_zh: Mapped[str] = mapped_column(Text, default="")
    hint_zh_hant: Mapped[str] = mapped_column(Text, default="")
    hint_en: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    max_files: Mapped[int] = mapped_column(Integer, default=5)
    accepts_licence_type_id: Mapped[int | None] = mapped_column(ForeignKey("licence_types.id"))
    applies_when: Mapped[str] = mapped_column(String(200), default="")
    # Asked for only when the application renews a licence (the current permit being renewed).
    renewal_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    accepts_licence_type: Mapped[LicenceType | None] = relationship(lazy="joined")


def localized(obj, field: str, locale: str) -> str:
    """The catalogue text of ``field`` in ``locale`` (zh_Hans_CN, zh_Hant_HK or en), falling back to Chinese."""
    if locale.startswith("en"):
        value = getattr(obj, f"{field}_en", "")
    elif locale.startswith("zh_Hant"):
        value = getattr(obj, f"{field}_zh_hant", "")
    else:
        value = getattr(obj, f"{field}_zh", "")
    return value or getattr(obj, f"{field}_zh")
