"""The person's service page and the case page through the real pages: cases with every agency's branch on a
timeline, to-dos, the licence wallet, recommendations, the data-access log, messages, paging and bad input."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from services import clock
from services.applications.access import AccessRecord
from services.applications.models import Application, CaseStatus
from services.applications.service import engine, next_serial
from services.catalogue.models import Bundle, LicenceType
from services.db import utcnow
from services.identity.identifiers import make_reference
from services.identity.models import Account, Enterprise
from services.licences.models import Licence, LicenceStatus
from services.recommendations import NextStep
from services.service_pages import resident_page
from tests.conftest import hidden_fields
from workflows.models import Branch, Task
from workflows.states import TaskState

RESTAURANT = {"shop_name": "示例小馆", "address": "广州市天河区示例路1号", "floor_area": 120, "seats": 40,
              "signboard": True}


def account(db, local: str) -> Account:
    return db.scalar(select(Account).where(Account.email == f"{local}@demo.onewindow.test"))


def demo_enterprise(db) -> Enterprise:
    return db.scalar(select(Enterprise).where(Enterprise.uscc == "91440106MA5CN8QX19"))


def make_case(db, applicant: Account, *, enterprise: Enterprise | None = None, bundle: str = "open_restaurant",
              answers: dict | None = None, outcome: str | None = None) -> Application:
    """A case started through the engine (as submitting does, without the files); with ``outcome`` the lead window
    accepts it and every agency decides that way."""
    today = clock.today()
    answers = dict(RESTAURANT if answers is None and bundle == "open_restaurant" else answers or {})
    row = db.scalar(select(Bundle).where(Bundle.code == bundle))
    token = uuid.uuid4().hex
    application = Application(reference=make_reference("GZ", today, next_serial(db, f"case:{today.isoformat()}")),
                              bundle_id=row.id, applicant_id=applicant.id,
                              enterprise_id=enterprise.id if enterprise else None, answers=answers,
                              submission_token=token, status=CaseStatus.SUBMITTED)
    db.add(application)
    db.flush()
    instance = engine().start(db, row.workflow_key, subject_id=application.id, data=answers, actor_id=applicant.id,
                              command_id=f"submit:{token}", today=today)
    application.workflow_instance_id = instance.id
    db.flush()
    if outcome:
        accept(db, application)
        decide_all(db, application, outcome)
    return application


def accept(db, application: Application) -> None:
    """The lead window accepts the case: the agencies' branches start."""
    task = db.scalar(select(Task).where(Task.instance_id == application.workflow_instance_id,
                                        Task.agency_code == "hub", Task.state == TaskState.OPEN))
    engine().complete_task(db, task.id, actor_id=account(db, "clerk.hub").id, outcome="accept",
                           command_id=uuid.uuid4().hex, today=clock.today())
    db.flush()


def decide_all(db, application: Application, outcome: str) -> None:
    """Every open branch task decides ``outcome`` (a rejection ends the case and cancels the others)."""
    tasks = db.scalars(select(Task.id).where(Task.instance_id == application.workflow_instance_id,
                                             Task.agency_code != "hub", Task.state == TaskState.OPEN)
                       .order_by(Task.id)).all()
    for task_id in tasks:
        if db.get(Task, task_id).state != TaskState.OPEN:
            continue  # cancelled by an earlier rejection
        engine().complete_task(db, task_id, actor_id=account(db, "clerk.market").id, outcome=outcome,
                               command_id=uuid.uuid4().hex, today=clock.today(),
                               opinion="Kitchen too small" if outcome == "reject" else "")
    db.flush()
    db.refresh(application)


def sign_in_id(client, db, account_id: int) -> None:
    """Sign in as this account (what sign-in stores in the session), after committing the test's rows to its
    savepoint: the end of the request closes the session, which would roll back anything only flushed."""
    db.commit()
    with client.session_transaction() as session:
        session.clear()
        session["account_id"] = account_id


def add_licence(db, holder: Account | None, type_code: str, valid_until: dt.date | None,
                enterprise: Enterprise | None = None, application: Application | None = None) -> Licence:
    licence_type = db.scalar(select(LicenceType).where(LicenceType.code == type_code))
    application = application or make_case(db, holder or db.get(Account, enterprise.legal_representative_id),
                                           enterprise=enterprise)
    number = f"T{uuid.uuid4().hex[:10].upper()}"
    licence = Licence(number=number, licence_type_id=licence_type.id, agency_id=licence_type.agency_id,
                      application_id=application.id, branch_id=None,
                      holder_account_id=None if enterprise else holder.id,
                      holder_enterprise_id=enterprise.id if enterprise else None,
                      holder_name=enterprise.name if enterprise else holder.name,
                      holder_identifier=enterprise.uscc if enterprise else holder.id_number, status=LicenceStatus.VALID,
                      valid_from=clock.today() - dt.timedelta(days=300), valid_until=valid_until, pdf=b"%PDF-1.4",
                      pdf_sha256="0" * 64, issued_at=utcnow())
    db.add(licence)
    db.flush()
    return licence


def test_resident_page_shows_cases_todos_wallet_recommendations_and_access_log(client, db):
    person = account(db, "resident")
    running = make_case(db, person, bundle="residence_permit", answers={})
    accept(db, running)  # the police branch runs
    police = account(db, "clerk.police")
    db.add(AccessRecord(application_id=running.id, account_id=police.id, agency_code="police", role="clerk",
                        purpose="review", at=utcnow()))
    expiring = add_licence(db, person, "residence_permit", clock.today() + dt.timedelta(days=12), application=running)
    db.add(NextStep(licence_type_code="residence_permit", bundle_code="open_restaurant", position=9,
                    bundle_id=db.scalar(select(Bundle.id).where(Bundle.code == "open_restaurant"))))
    db.flush()
    sign_in_id(client, db, person.id)
    page = client.get("/me/?lang=en").get_data(as_text=True)
    assert running.reference in page and "Public Security Bureau" in page
    assert f"{expiring.number} expires on" in page  # the to-do, with its one-click prefilled renewal
    with client.application.test_request_context():
        from flask import url_for

        renew = url_for("portal.renew_licence", number=expiring.number)
    assert f'<form method="post" action="{renew}" class="inline-form">' in page
    clicked = client.post(renew, data=hidden_fields(page))  # the one click: a prefilled draft of the renewal
    assert clicked.status_code == 302 and "/me/drafts/" in clicked.headers["Location"], clicked.headers.get("Location")
    drafts = client.get("/me/?lang=en").get_data(as_text=True).split("Applications you have not sent yet")[1]
    assert f'href="{clicked.headers["Location"].split("localhost")[-1]}"' in drafts  # resumed from the page
    assert "Renew your Residence Permit" in page  # recommended
    assert "Open a restaurant" in page and "Often the next step after a Residence Permit" in page
    assert "Reviewing the case" in page  # who accessed my data
    assert "Acting as" in page and "Switch" in page


def test_a_parallel_case_shows_every_agency_on_a_timeline_with_a_table(client, db):
    owner = account(db, "owner")
    case = make_case(db, owner, enterprise=demo_enterprise(db), outcome="approve")
    other = make_case(db, owner, enterprise=demo_enterprise(db))
    accept(db, other)
    sign_in_id(client, db, owner.id)
    page = client.get(f"/me/cases/{other.reference}?lang=en").get_data(as_text=True)
    branches = db.scalars(select(Branch).where(Branch.instance_id == other.workflow_instance_id)).all()
    assert len(branches) == 4  # 120 m² and a signboard: market, fire, urban, environment
    assert page.count('<svg role="img"') == 1 and "Timeline of each agency" in page
    for name in ("Market Supervision Administration", "Fire and Rescue Detachment",
                 "Urban Management and Law Enforcement Bureau", "Ecology and Environment Bureau"):
        assert f'<th scope="row">{name}</th>' in page
    assert page.count("<rect ") == 4
    home = client.get(f"/me/enterprises/{demo_enterprise(db).id}/?lang=en").get_data(as_text=True)
    # The running case is drawn on the enterprise's page; the approved one lists its agencies' decisions in a line.
    assert f"Timeline of case {other.reference}" in home and f"Timeline of case {case.reference}" not in home
    assert "Market Supervision Administration: Approved; " in home


def test_lists_are_paged_and_bad_page_numbers_are_page_one(client, db):
    person = account(db, "resident2")
    cases = [make_case(db, person, bundle="residence_permit", answers={}) for _ in range(12)]
    sign_in_id(client, db, person.id)
    first = client.get("/me/?lang=en").get_data(as_text=True)
    second = client.get("/me/?cases=2&lang=en").get_data(as_text=True)
    newest_first = sorted(cases, key=lambda c: (c.submitted_at, c.id), reverse=True)
    assert all(c.reference in first for c in newest_first[:10]) and newest_first[10].reference not in first
    assert all(c.reference in second for c in newest_first[10:]) and newest_first[0].reference not in second
    assert "Next page" in first and "Previous page" in second
    for bad in ("0", "-1", "abc", "99999999999999999999", "1e3", "%00", "2.5"):
        assert client.get(f"/me/?cases={bad}&licences={bad}&messages={bad}&access={bad}").status_code == 200
    assert "There are no more cases." in client.get("/me/?cases=50&lang=en").get_data(as_text=True)
    # No query-string key other than the page numbers reaches the paging links.
    assert "evil://" not in client.get("/me/?cases=2&_external=1&_scheme=evil").get_data(as_text=True)


def test_the_service_layer_keeps_personal_and_enterprise_cases_apart(db):
    owner = account(db, "owner")
    personal = make_case(db, owner, bundle="residence_permit", answers={})
    business = make_case(db, owner, enterprise=demo_enterprise(db))
    page = resident_page(db, owner)
    references = {c.reference for c in page.cases.items}
    assert personal.reference in references and business.reference not in references
    assert [a.enterprise.id for a in page.acting_for] == [demo_enterprise(db).id]


@pytest.mark.parametrize("path", ["/me/", "/me/acting-as"])
def test_pages_need_a_resident(client, db, path):
    assert client.get(path).status_code == 302
    sign_in_id(client, db, account(db, "clerk.market").id)
    assert client.get(path).status_code == 403
