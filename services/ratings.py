"""Rating the service after a decision, and the follow-up of poor ratings by the supervisors of the agencies involved.

An applicant (or whoever may see the case: its enterprise's representative or an agent) rates a completed case once:
a score from 1 to 5, tags from a fixed list and an optional comment. A score of 1 or 2 opens one follow-up item per
agency that handled the case; the agency's supervisors record what they did about it and close it. The city's
service-supervision office (the lead window's supervisors) sees every agency's items.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, Integer, String, Text, distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, lazyload, mapped_column, relationship

from services.applications.models import Application, CaseStatus
from services.db import Base, UTCDateTime, utcnow
from services.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from services.identity.models import Account, Role
from workflows.models import Branch

SCORES = (1, 2, 3, 4, 5)
POOR = 2  # this score or lower opens follow-up items
# Tag codes; their wording lives in the web layer, in three languages. The first three are what applicants in
# Guangdong complain about most (DOMAIN.md): over the time limit, conditions and materials beyond the guide.
TAGS = ("over_time_limit", "extra_material", "extra_conditions", "unclear_guidance", "repeated_visits",
        "polite_helpful", "fast", "easy_online")
RATEABLE = (CaseStatus.APPROVED, CaseStatus.REJECTED)
MAX_COMMENT = 1000


class FollowUpState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
                      Index("ix_ratings_score_at", "score", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)  # once per case
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(lazy="joined")


class FollowUp(Base):
    """One agency's item to follow up a poor rating."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_agency_state", "agency_code", "state", "id"),
                      Index("ix_follow_ups_state", "state", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"), index=True)
    agency_code: Mapped[str] = mapped_column(String(20))
    state: Mapped[FollowUpState] = mapped_column(Enum(FollowUpState, native_enum=False, length=20,
                                                      validate_strings=True), default=FollowUpState.OPEN)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    rating: Mapped[Rating] = relationship(lazy="joined")


class FollowUpAction(Base):
    """What a supervisor did about a follow-up item (a call to the applicant, a talk with the clerk, a fix)."""

    __tablename__ = "follow_up_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    note: Mapped[str] = mapped_column(Text)
    closed: Mapped[bool] = mapped_column(default=False)
    command_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # a double click records one action
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[Account] = relationship(lazy="joined")


def rating_of(session: Session, application: Application) -> Rating | None:
    # The application is at hand (its rating's lazy load is an identity-map hit): joining it again would load its
    # bundle's items a second time whenever the case has a rating.
    return session.scalar(select(Rating).where(Rating.application_id == application.id)
                          .options(lazyload(Rating.application)))


def may_rate(application: Application) -> bool:
    return application.status in RATEABLE


def agencies_involved(session: Session, application: Application) -> list[str]:
    """The agencies whose branches handled the case; the lead window when it ended before any branch started."""
    codes = sorted(session.scalars(select(distinct(Branch.agency_code)).where(
        Branch.instance_id == application.workflow_instance_id)))
    if not codes:
        from services.catalogue.models import Agency

        codes = list(session.scalars(select(Agency.code).where(Agency.is_lead_window.is_(True))))
    return codes


def rate_case(session: Session, account: Account, application: Application, *, score: int, tags: list[str],
              comment: str) -> Rating:
    """Record the rating of a decided case the account may see (the caller found it with case_for_applicant).
    A second rating of the same case is refused, also when two arrive at the same instant."""
    if not may_rate(application):
        raise InvalidTransition("not_decided")
    if score not in SCORES:
        raise ValidationFailed("score", field="score")
    unknown = [t for t in tags if t not in TAGS]
    if unknown:
        raise ValidationFailed("tags", field="tags")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed("comment_too_long", field="comment")
    if rating_of(session, application) is not None:
        raise InvalidTransition("already_rated")
    rating = Rating(application_id=application.id, account_id=account.id, score=score,
                    tags=[t for t in TAGS if t in tags], comment=comment, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(rating)
            session.flush()
    except IntegrityError:
        raise InvalidTransition("already_rated") from None
    if score <= POOR:
        for code in agencies_involved(session, application):
            session.add(FollowUp(rating_id=rating.id, agency_code=code, state=FollowUpState.OPEN,
                                 created_at=rating.created_at))
        session.flush()
    return rating


# -- supervisors ------------------------------------------------------------------------------------------------------

def _supervised_agency(supervisor: Account) -> str | None:
    """The agency whose items the supervisor sees; None for the city's office (the lead window): all of them."""
    if supervisor.role != Role.SUPERVISOR or supervisor.agency is None:
        raise PermissionDenied("supervisors_only")
    return None if supervisor.agency.is_lead_window else supervisor.agency.code


@dataclass
class FollowUpPage:
    items: list[FollowUp]
    actions: dict[int, list[FollowUpAction]]
    has_next: bool
    open_count: int


def follow_ups_for(session: Session, supervisor: Account, *, state: FollowUpState = FollowUpState.OPEN,
                   page: int = 1, per_page: int = 10) -> FollowUpPage:
    """The supervisor's agency's follow-up items in one state, newest first, with their recorded actions."""
    agency = _supervised_agency(supervisor)
    query = select(FollowUp).where(FollowUp.state == state)
    count = select(func.count()).select_from(FollowUp).where(FollowUp.state == FollowUpState.OPEN)
    if agency is not None:
        query, count = query.where(FollowUp.agency_code == agency), count.where(FollowUp.agency_code == agency)
    items = list(session.scalars(query.order_by(FollowUp.id.desc()).offset((page - 1) * per_page)
                                 .limit(per_page + 1)))
    has_next = len(items) > per_page
    items = items[:per_page]
    actions: dict[int, list[FollowUpAction]] = {item.id: [] for item in items}
    if items:
        for action in session.scalars(select(FollowUpAction).where(FollowUpAction.follow_up_id.in_(list(actions)))
                                      .order_by(FollowUpAction.id)):
            actions[action.follow_up_id].append(action)
    return FollowUpPage(items, actions, has_next, session.scalar(count))


def follow_up_for(session: Session, supervisor: Account, follow_up_id: int) -> FollowUp:
    agency = _supervised_agency(supervisor)
    item = session.get(FollowUp, follow_up_id)
    if item is None:
        raise NotFound("follow_up")
    if agency is not None and item.agency_code != agency:
        raise PermissionDenied("other_agency")
    return item


def record_follow_up(session: Session, supervisor: Account, follow_up_id: int, *, note: str,
                     close: bool, command_id: str | None = None) -> FollowUp:
    """Record what was done; optionally close the item. A closed item takes no more actions; the same command id
    twice records one action."""
    item = follow_up_for(session, supervisor, follow_up_id)
    if command_id and session.scalar(select(FollowUpAction.id).where(FollowUpAction.command_id == command_id)):
        return item
    if item.state == FollowUpState.CLOSED:
        raise InvalidTransition("closed")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("note_required", field="note")
    if len(note) > MAX_COMMENT:
        raise ValidationFailed("note_too_long", field="note")
    now = utcnow()
    session.add(FollowUpAction(follow_up_id=item.id, author_id=supervisor.id, note=note, closed=close, at=now,
                              command_id=command_id or None))
    if close:
        item.state, item.closed_at, item.closed_by = FollowUpState.CLOSED, now, supervisor.id
    session.flush()
    return item
