"""Mandates: a legal representative lets another resident (an agent) act for the enterprise, for some services, until
a date. Nobody acts for an enterprise without being its legal representative or holding a valid mandate (granted,
not revoked, not expired, covering the service): every check is here, in the service layer.

A mandate names its agent as a person does on paper: by name and resident identity number, both of which must match
the account that uses it. The grant never looks like a resident look-up: whether or not someone with that name and
number has an account, the mandate is recorded and the representative is told the same thing. A mandate to a person
with an account is tied to it (``agent_id``); one to a person without one is kept by their number (``agent_id``
empty) and works once they sign in with an account in that name and number. A wrong name therefore grants nothing
to the holder of the number, and guessing reveals nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
import unicodedata
from dataclasses import dataclass

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from services import clock
from services.db import Base, UTCDateTime, utcnow
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.identity.identifiers import InvalidIdentifier, validate_resident_id
from services.identity.models import Account, Enterprise, Role
from workflows.states import EventKind

MAX_MANDATE_YEARS = 5
# The case events an enterprise's legal representative sees in the audit of what was done for the enterprise.
AUDITED_EVENTS = (EventKind.STARTED, EventKind.RESUBMITTED, EventKind.WITHDRAWN)


class Mandate(Base):
    __tablename__ = "mandates"
    __table_args__ = (Index("ix_mandates_agent_enterprise", "agent_id", "enterprise_id"),
                      Index("ix_mandates_agent_id_number", "agent_id_number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    # The agent's account when one with this name and number existed at the grant; empty until then.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    agent_id_number: Mapped[str | None] = mapped_column(String(18))
    agent_name: Mapped[str | None] = mapped_column(String(100))
    granted_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # Every service of the catalogue, or only the bundles listed (by code).
    all_services: Mapped[bool] = mapped_column(Boolean, default=False)
    bundle_codes: Mapped[list] = mapped_column(JSON, default=list)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    agent: Mapped[Account | None] = relationship(foreign_keys=[agent_id], lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def agent_display_name(self) -> str:
        return self.agent_name or (self.agent.name if self.agent else "")

    @property
    def agent_number(self) -> str:
        return self.agent_id_number or (self.agent.id_number if self.agent else "") or ""

    def names(self, account: Account) -> bool:
        """Whether the mandate is this account's: tied to it, or naming its identity number and its name."""
        if self.agent_id is not None:
            return self.agent_id == account.id
        return bool(account.id_number) and self.agent_id_number == account.id_number and same_name(
            self.agent_name or "", account.name)
    def is_valid(self, today: dt.date) -> bool:
        return self.revoked_at is None and self.expires_on >= today

    def covers(self, bundle_code: str | None) -> bool:
        return self.all_services or bundle_code is None or bundle_code in (self.bundle_codes or [])


def _valid(today: dt.date):
    return and_(Mandate.revoked_at.is_(None), Mandate.expires_on >= today)


def same_name(a: str, b: str) -> bool:
    """Names as people type them: spaces, full-width forms and case do not matter."""
    def normal(name: str) -> str:
        return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()

    return hmac.compare_digest(normal(a).encode(), normal(b).encode())


def _held_by(account: Account):
    """Mandates tied to the account, or kept by its identity number for a person who had no account at the grant
    (the name is compared afterwards, ``Mandate.names``). Both columns are indexed."""
    if not account.id_number:
        return Mandate.agent_id == account.id
    return or_(Mandate.agent_id == account.id,
               and_(Mandate.agent_id.is_(None), Mandate.agent_id_number == account.id_number))


@dataclass
class EnterpriseAccess:
    """What an account may do for one enterprise: everything (its legal representative) or what a mandate covers."""

    enterprise: Enterprise
    is_representative: bool
    mandate: Mandate | None

    @property
    def bundle_codes(self) -> list[str] | None:
        """The services this account may act on for the enterprise; None means all of them."""
        if self.is_representative or self.mandate.all_services:
            return None
        return list(self.mandate.bundle_codes or [])


def enterprise_access(session: Session, account: Account, today: dt.date | None = None) -> list[EnterpriseAccess]:
    """Every enterprise the account may act for now, by name: two indexed look-ups, whatever the table sizes."""
    today = today or clock.today()
    if account.role != Role.RESIDENT:
        return []
    found: dict[int, EnterpriseAccess] = {}
    for enterprise in session.scalars(select(Enterprise).where(Enterprise.legal_representative_id == account.id)):
        found[enterprise.id] = EnterpriseAccess(enterprise, True, None)
    for mandate in session.scalars(select(Mandate).where(_held_by(account), _valid(today))
                                   .order_by(Mandate.id)):
        if mandate.enterprise_id not in found and mandate.names(account):
            found[mandate.enterprise_id] = EnterpriseAccess(mandate.enterprise, False, mandate)
    return sorted(found.values(), key=lambda a: (a.enterprise.name, a.enterprise.id))


def access_to(session: Session, account: Account, enterprise_id: int, today: dt.date | None = None
              ) -> EnterpriseAccess:
    """The account's access to one enterprise; NotFound when it has none (the enterprise's existence is not shown).
    One primary-key look-up for the representative, one more (the mandate) for an agent."""
    enterprise = session.get(Enterprise, enterprise_id) if account.role == Role.RESIDENT else None
    if enterprise is None:
        raise NotFound("enterprise")
    if enterprise.legal_representative_id == account.id:
        return EnterpriseAccess(enterprise, True, None)
    mandate = next((m for m in session.scalars(
        select(Mandate).where(_held_by(account), Mandate.enterprise_id == enterprise_id, _valid(today or clock.today()))
        .order_by(Mandate.all_services.desc(), Mandate.id.desc())) if m.names(account)), None)
    if mandate is None:
        raise NotFound("enterprise")
    return EnterpriseAccess(enterprise, False, mandate)


def representative_of(session: Session, account: Account, enterprise_id: int) -> Enterprise:
    """The enterprise, if the account is its legal representative: only they grant and revoke mandates."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound("enterprise")
    if enterprise.legal_representative_id != account.id:
        raise PermissionDenied("not_representative")
    return enterprise


def grant_mandate(session: Session, representative: Account, enterprise_id: int, *, agent_name: str,
                  agent_id_number: str, bundle_codes: list[str], all_services: bool, expires_on: dt.date,
                  today: dt.date | None = None) -> Mandate:
    """Grant a mandate to the person with this name and resident identity number.

    Refuses a malformed number, a missing name, the representative themselves, a person who already holds a valid
    mandate for the enterprise, and bad dates or scope; replaces a valid mandate for the same number under another
    name (a mistyped name). Never refuses for want of an account: the answer must not
    tell whether one exists (see the module's note)."""
    today = today or clock.today()
    enterprise = representative_of(session, representative, enterprise_id)
    name = " ".join((agent_name or "").split())
    if not name:
        raise ValidationFailed("agent_name_missing", field="agent_name")
    try:
        number = validate_resident_id(agent_id_number or "", today=today)
    except InvalidIdentifier as exc:
        raise ValidationFailed("agent_identifier", field="agent_id_number", reason=exc.code) from None
    if expires_on <= today:
        raise ValidationFailed("expiry_past", field="expires_on")
    if expires_on > today.replace(year=today.year + MAX_MANDATE_YEARS):
        raise ValidationFailed("expiry_too_far", field="expires_on")
    if not all_services and not bundle_codes:
        raise ValidationFailed("no_scope", field="scope")
    if number == representative.id_number:
        raise ValidationFailed("agent_is_self", field="agent_id_number")
    for held in session.scalars(select(Mandate).where(Mandate.enterprise_id == enterprise.id,
                                                      Mandate.agent_id_number == number, _valid(today))):
        if same_name(held.agent_name, name):
            raise ValidationFailed("agent_has_mandate", field="agent_id_number")
        # The same number under another name: the earlier grant's name was mistyped (it could never be used, as
        # the name must match too). This grant corrects it rather than asking the representative to find and
        # revoke the one that cannot work.
        held.revoked_at, held.revoked_by = utcnow(), representative.id
    account = session.scalar(select(Account).where(Account.id_number == number))
    agent = account if (account is not None and account.role == Role.RESIDENT and account.is_active
                        and same_name(account.name, name)) else None
    mandate = Mandate(enterprise_id=enterprise.id, agent_id=agent.id if agent else None, agent_id_number=number,
                      agent_name=name, granted_by=representative.id, all_services=all_services,
                      bundle_codes=[] if all_services else sorted(set(bundle_codes)), expires_on=expires_on,
                      granted_at=utcnow(), agent=agent, enterprise=enterprise)
    session.add(mandate)
    session.flush()
    return mandate


def revoke_mandate(session: Session, representative: Account, enterprise_id: int, mandate_id: int) -> Mandate:
    """Revoke at once; revoking twice changes nothing the second time."""
    enterprise = representative_of(session, representative, enterprise_id)
    mandate = session.get(Mandate, mandate_id)
    if mandate is None or mandate.enterprise_id != enterprise.id:
        raise NotFound("mandate")
    if mandate.revoked_at is None:
        mandate.revoked_at, mandate.revoked_by = utcnow(), representative.id
        session.flush()
    return mandate


def mandates_of(session: Session, representative: Account, enterprise_id: int) -> list[Mandate]:
    """Every mandate the enterprise ever granted, newest first (valid, expired and revoked alike)."""
    representative_of(session, representative, enterprise_id)
    return list(session.scalars(select(Mandate).where(Mandate.enterprise_id == enterprise_id)
                                .order_by(Mandate.granted_at.desc(), Mandate.id.desc())))


def may_see_case(session: Session, account: Account, application, today: dt.date | None = None) -> bool:
    """Whether the account may see (and act on) this case: its own personal case, a case of an enterprise it
    represents, or one of a service its valid mandate for that enterprise covers. At most one indexed look-up (for
    agents); the enterprise and the bundle come loaded with the application."""
    if application.enterprise_id is None:
        return application.applicant_id == account.id
    if application.enterprise.legal_representative_id == account.id:
        return True
    if account.role != Role.RESIDENT:
        return False
    mandates = session.scalars(select(Mandate).where(_held_by(account),
                                                     Mandate.enterprise_id == application.enterprise_id,
                                                     _valid(today or clock.today())))
    return any(m.names(account) and m.covers(application.bundle.code) for m in mandates)


def case_scope(session: Session, account: Account, today: dt.date | None = None):
    """The SQL condition on applications that this account may see: its own personal cases, every case of the
    enterprises it represents, and the cases of the services its mandates cover.

    The enterprise ids are looked up first and given to the planner as values: an ``IN (subquery)`` under ``OR``
    cannot use an index and scanned every application (bench/PAGES.md, F1)."""
    from services.applications.models import Application
    from services.catalogue.models import Bundle

    own = and_(Application.applicant_id == account.id, Application.enterprise_id.is_(None))
    access = enterprise_access(session, account, today)
    full = [a.enterprise.id for a in access if a.bundle_codes is None]
    scoped = [a for a in access if a.bundle_codes is not None]
    conditions = [own]
    if full:
        conditions.append(Application.enterprise_id.in_(full))
    if scoped:
        codes = sorted({code for a in scoped for code in a.bundle_codes})
        bundle_ids = dict(session.execute(select(Bundle.code, Bundle.id).where(Bundle.code.in_(codes))).all())
        for a in scoped:
            ids = [bundle_ids[c] for c in a.bundle_codes if c in bundle_ids]
            if ids:
                conditions.append(and_(Application.enterprise_id == a.enterprise.id, Application.bundle_id.in_(ids)))
    return or_(*conditions)
