"""Services recommended on a person's or an enterprise's page, from what they hold and what they do.

Two sources: a licence that expires soon (renew it), and the catalogue's rule table of common next steps after a
granted licence (``next_steps``: holding a licence of type X, people often go on to apply for bundle Y). Bundles the
holder already has a running case for are left out. The rules are data, seeded with the catalogue; the page shows
at most a few.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from services.catalogue.models import Bundle, LicenceType
from services.db import Base
from services.licences.models import Licence

MAX_RECOMMENDATIONS = 4


class NextStep(Base):
    """A rule of the catalogue: after a licence of ``licence_type_code`` is granted, ``bundle_code`` often follows."""

    __tablename__ = "next_steps"
    __table_args__ = (UniqueConstraint("licence_type_code", "bundle_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_type_code: Mapped[str] = mapped_column(String(40), index=True)
    bundle_code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))

    bundle: Mapped[Bundle] = relationship(lazy="joined", innerjoin=True)


@dataclass
class Recommendation:
    kind: str  # "renew": a licence near expiry; "next_step": a rule of the catalogue
    bundle: Bundle | None = None
    licence: Licence | None = None
    because_of: LicenceType | None = None


def recommend(session: Session, *, held_types, running_bundles, expiring: list[Licence]) -> list[Recommendation]:
    """What to suggest next: renewals first, then the catalogue's next steps for the licence types held, leaving out
    bundles with a running case.

    ``held_types`` and ``running_bundles`` are subqueries (licence type ids held, bundle ids of running cases) so
    that the whole suggestion is one statement, whatever the data."""
    found = [Recommendation("renew", licence=licence) for licence in expiring]
    rows = session.execute(
        select(NextStep, LicenceType).join(LicenceType, LicenceType.code == NextStep.licence_type_code)
        .where(LicenceType.id.in_(held_types), NextStep.bundle_id.not_in(running_bundles))
        .order_by(NextStep.position, NextStep.id)).all()
    seen: set[int] = set()
    for step, licence_type in rows:
        if step.bundle_id not in seen:
            seen.add(step.bundle_id)
            found.append(Recommendation("next_step", bundle=step.bundle, because_of=licence_type))
    return found[:MAX_RECOMMENDATIONS]


def seed_next_steps(session: Session, rules: list[tuple[str, str]]) -> int:
    """Add the rules whose bundle exists (idempotent); return how many rules the table holds for them."""
    bundles = dict(session.execute(select(Bundle.code, Bundle.id)).all())
    existing = {(s.licence_type_code, s.bundle_code): s for s in session.scalars(select(NextStep))}
    count = 0
    for position, (type_code, bundle_code) in enumerate(rules):
        if bundle_code not in bundles:
            continue
        count += 1
        step = existing.get((type_code, bundle_code))
        if step is None:
            session.add(NextStep(licence_type_code=type_code, bundle_code=bundle_code, position=position,
                                 bundle_id=bundles[bundle_code]))
        else:
            step.position = position
    session.flush()
    return count
