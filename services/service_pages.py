"""What a person's and an enterprise's service pages show, each list one page at a time, in a fixed number of
statements whatever the number of cases, licences or messages (tests/app/test_query_counts.py).

Every query is narrowed by one indexed equality (the applicant, the enterprise, the holder) rather than by an
``OR ... IN (subquery)``, which no index serves (bench/PAGES.md, F1: 2.6 s on a million cases).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, joinedload, lazyload

from services import clock
from services.applications.access import AccessRecord
from services.applications.models import Application, CaseStatus
from services.catalogue.models import Agency, Bundle
from services.errors import NotFound
from services.identity.mandates import AUDITED_EVENTS, EnterpriseAccess, Mandate, access_to, enterprise_access
from services.identity.models import Account
from services.licences.models import Licence, LicenceStatus
from services.licences.service import expiring_licences
from services.notifications.models import Notification
from services.ratings import Rating
from services.recommendations import Recommendation, recommend
from workflows.models import Branch, Event, Request
from workflows.states import RequestKind, RequestState

PER_PAGE = 10
EXPIRY_DAYS = 30
RUNNING = (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW)


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_number(value) -> int:
    """A page number from the query string: anything that is not a sensible positive number is page 1."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 10_000 else 1


def _page(session: Session, query, number: int, per_page: int = PER_PAGE, scalars: bool = True) -> Page:
    query = query.offset((number - 1) * per_page).limit(per_page + 1)
    rows = list(session.scalars(query) if scalars else session.execute(query).all())
    return Page(rows[:per_page], number, len(rows) > per_page)


@dataclass
class ServicePage:
    cases: Page
    branches: dict[int, list[Branch]]  # by workflow instance id
    ratings: dict[int, Rating]  # by application id, for the cases on this page
    supplements: list[tuple[Request, Application]]
    expiring: list[Licence]
    licences: Page
    access_log: Page  # (AccessRecord, reference)
    recommendations: list[Recommendation]
    agencies: dict[str, Agency]
    acting_for: list[EnterpriseAccess] = field(default_factory=list)
    enterprises: list = field(default_factory=list)  # EnterpriseWork of each, on a person's own page
    notifications: Page | None = None
    access: EnterpriseAccess | None = None
    mandates: list[Mandate] = field(default_factory=list)


def _cases_and_todos(session: Session, cases_where, licences_where, pages: dict[str, int], today: dt.date) -> dict:
    rows = _page(session, select(Application, Rating).outerjoin(Rating, Rating.application_id == Application.id)
                 .where(cases_where).options(joinedload(Application.bundle).options(lazyload(Bundle.items)),
                                             lazyload(Rating.application))
                 .order_by(Application.submitted_at.desc(), Application.id.desc()), pages.get("cases", 1),
                 scalars=False)
    cases = Page([application for application, _rating in rows.items], rows.number, rows.has_next)
    ratings = {application.id: rating for application, rating in rows.items if rating is not None}
    instance_ids = [c.workflow_instance_id for c in cases.items if c.workflow_instance_id]
    branches: dict[int, list[Branch]] = {i: [] for i in instance_ids}
    for branch in session.scalars(select(Branch).where(Branch.instance_id.in_(instance_ids))
                                  .order_by(Branch.instance_id, Branch.id)):
        branches[branch.instance_id].append(branch)
    supplements = [(request, application) for request, application in session.execute(
        select(Request, Application).join(Application, Application.workflow_instance_id == Request.instance_id)
        .options(lazyload(Application.bundle), lazyload(Application.applicant), lazyload(Application.enterprise))
        .where(cases_where, Request.kind == RequestKind.SUPPLEMENT, Request.state == RequestState.OPEN)
        .order_by(Request.requested_at, Request.id).limit(50))]
    valid = and_(licences_where, Licence.status == LicenceStatus.VALID)
    expiring = expiring_licences(session, licences_where, today, EXPIRY_DAYS)
    licences = _page(session, select(Licence).where(licences_where)
                     .order_by(Licence.issued_at.desc(), Licence.id.desc()), pages.get("licences", 1))
    access_log = _page(session, select(AccessRecord, Application.reference)
                       .join(Application, Application.id == AccessRecord.application_id).where(cases_where)
                       .order_by(AccessRecord.at.desc(), AccessRecord.id.desc()), pages.get("access", 1),
                       scalars=False)
    return {"cases": cases, "branches": branches, "ratings": ratings, "supplements": supplements,
            "expiring": expiring, "licences": licences, "access_log": access_log,
            "recommendations": recommend(
                session, held_types=select(Licence.licence_type_id).where(valid),
                running_bundles=select(Application.bundle_id).where(cases_where, Application.status.in_(RUNNING)),
                expiring=expiring),
            "agencies": {a.code: a for a in session.scalars(select(Agency))}}


@dataclass
class EnterpriseWork:
    """What waits at one enterprise the person acts for, on their own page: its cases under way, the material
    agencies asked for, and its licences about to expire (for an agent, only the services the mandate covers)."""

    access: EnterpriseAccess
    running: int = 0
    supplements: list[tuple[Request, str]] = field(default_factory=list)  # (notice, case reference)
    expiring: list[Licence] = field(default_factory=list)

    @property
    def has_work(self) -> bool:
        return bool(self.running or self.supplements or self.expiring)


def enterprise_work(session: Session, accesses: list[EnterpriseAccess], today: dt.date) -> list[EnterpriseWork]:
    """Each enterprise's work in three statements for all of them together (a person acts for a few)."""
    work = {a.enterprise.id: EnterpriseWork(a) for a in accesses}
    if not work:
        return []
    ids = list(work)
    codes = {b.id: b.code for b in session.scalars(select(Bundle).options(lazyload(Bundle.items)))}

    def covered(enterprise_id: int, bundle_id: int) -> bool:
        allowed = work[enterprise_id].access.bundle_codes
        return allowed is None or codes.get(bundle_id) in allowed

    for enterprise_id, bundle_id, count in session.execute(
            select(Application.enterprise_id, Application.bundle_id, func.count())
            .where(Application.enterprise_id.in_(ids), Application.status.in_(RUNNING))
            .group_by(Application.enterprise_id, Application.bundle_id)):
        if covered(enterprise_id, bundle_id):
            work[enterprise_id].running += count
    for request, reference, enterprise_id, bundle_id in session.execute(
            select(Request, Application.reference, Application.enterprise_id, Application.bundle_id)
            .join(Application, Application.workflow_instance_id == Request.instance_id)
            .where(Application.enterprise_id.in_(ids), Request.kind == RequestKind.SUPPLEMENT,
                   Request.state == RequestState.OPEN).order_by(Request.requested_at, Request.id).limit(50)):
        if covered(enterprise_id, bundle_id):
            work[enterprise_id].supplements.append((request, reference))
    for licence in expiring_licences(session, Licence.holder_enterprise_id.in_(ids), today, EXPIRY_DAYS, limit=50):
        application_bundle = licence.application.bundle_id if licence.application else None
        if application_bundle is None or covered(licence.holder_enterprise_id, application_bundle):
            work[licence.holder_enterprise_id].expiring.append(licence)
    return [work[a.enterprise.id] for a in accesses]


def resident_page(session: Session, account: Account, pages: dict[str, int] | None = None,
                  today: dt.date | None = None) -> ServicePage:
    """The person's own page: their personal cases (not those made for an enterprise), licences, to-dos, messages,
    who opened their cases, and the enterprises they may act for."""
    today, pages = today or clock.today(), pages or {}
    own = and_(Application.applicant_id == account.id, Application.enterprise_id.is_(None))
    parts = _cases_and_todos(session, own, Licence.holder_account_id == account.id, pages, today)
    notifications = _page(session, select(Notification).where(Notification.account_id == account.id)
                          .order_by(Notification.id.desc()), pages.get("messages", 1))
    acting_for = enterprise_access(session, account, today)
    return ServicePage(**parts, notifications=notifications, acting_for=acting_for,
                       enterprises=enterprise_work(session, acting_for, today))


def enterprise_page(session: Session, account: Account, enterprise_id: int, pages: dict[str, int] | None = None,
                    today: dt.date | None = None) -> ServicePage:
    """An enterprise's page for its legal representative or an agent with a valid mandate (NotFound otherwise).
    An agent sees the cases of the services the mandate covers; only the representative sees the mandates and the
    audit of what was done for the enterprise."""
    today, pages = today or clock.today(), pages or {}
    access = access_to(session, account, enterprise_id, today)
    cases_where = Application.enterprise_id == enterprise_id
    licences_where = Licence.holder_enterprise_id == enterprise_id
    if access.bundle_codes is not None:
        covered = select(Bundle.id).where(Bundle.code.in_(access.bundle_codes or [""])).scalar_subquery()
        cases_where = and_(cases_where, Application.bundle_id.in_(covered))
        # An agent sees the licences granted by the services the mandate covers, and through them the expiry
        # to-dos and the renewals recommended; a licence from any other service is none of theirs.
        licences_where = and_(licences_where, Licence.application_id.in_(
            select(Application.id).where(Application.enterprise_id == enterprise_id,
                                         Application.bundle_id.in_(covered)).scalar_subquery()))
    parts = _cases_and_todos(session, cases_where, licences_where, pages, today)
    if access.bundle_codes is not None:  # next steps: only services the agent may apply for
        parts["recommendations"] = [r for r in parts["recommendations"]
                                    if r.kind == "renew" or r.bundle.code in access.bundle_codes]
    mandates = []
    if access.is_representative:
        mandates = list(session.scalars(select(Mandate).where(Mandate.enterprise_id == enterprise_id)
                                        .order_by(Mandate.granted_at.desc(), Mandate.id.desc()).limit(100)))
    return ServicePage(**parts, access=access, mandates=mandates)


def enterprise_activity(session: Session, account: Account, enterprise_id: int, number: int = 1
                        ) -> tuple[EnterpriseAccess, Page]:
    """What was done for the enterprise and by whom (applications submitted, supplements sent, withdrawals), newest
    first: the legal representative's view of what agents did. Anyone else gets NotFound, agents included."""
    access = access_to(session, account, enterprise_id)
    if not access.is_representative:
        raise NotFound("enterprise")
    return access, _page(session, select(Event, Application.reference, Account.name)
                         .join(Application, Application.workflow_instance_id == Event.instance_id)
                         .join(Account, Account.id == Event.actor_id)
                         .where(Application.enterprise_id == enterprise_id, Event.kind.in_(AUDITED_EVENTS))
                         .order_by(Event.at.desc(), Event.id.desc()), number, per_page=20, scalars=False)
