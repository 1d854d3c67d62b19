"""A newborn (新生儿出生一件事) end to end: found in the catalogue, the eligibility check, the online journey with its
checks on the answers, the lead window's acceptance, four agencies at once, licences to the parent, a rejection."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from services import clock
from services.applications.models import Application, CaseStatus
from services.catalogue.search import search
from services.identity.models import Account
from services.licences.models import Licence
from tests.app.test_slice import decide, open_task_id
from tests.apply_helpers import (
    apply_newborn,
    fill_documents,
    newborn_pages,
    post_page,
    reference_of,
    send,
    start,
)
from tests.conftest import hidden_fields
from tests.jobs import run_pending_jobs
from workflows.models import Event, Task
from workflows.states import TaskState

BRANCH_AGENCIES = ("health", "police", "medical", "hrss")


def test_the_catalogue_shows_the_bundle_with_its_four_matters(client):
    client.set_cookie("lang", "en")
    assert "Register a newborn" in client.get("/services/").get_data(as_text=True)
    page = client.get("/services/newborn").get_data(as_text=True)
    for title in ("Birth medical certificate", "Household registration of a newborn",
                  "Medical insurance enrolment for urban and rural residents", "Social security card"):
        assert title in page
    assert 'href="/services/newborn/eligibility"' in page


@pytest.mark.parametrize("query", ["新生儿", "出生一件事", "新生兒", "xsecs", "newborn"])
def test_search_finds_the_bundle(db, query):
    bundles, _ = search(db, query)
    assert "newborn" in [b.code for b in bundles]


def test_eligibility_yes_and_no(client):
    client.set_cookie("lang", "en")
    yes = client.get("/services/newborn/eligibility?check=1&born_in_hospital=yes&parent_hukou=yes")
    assert yes.status_code == 200 and "You can apply" in yes.get_data(as_text=True)
    assert 'href="/me/apply/newborn"' in yes.get_data(as_text=True)
    no = client.get("/services/newborn/eligibility?check=1&born_in_hospital=yes&parent_hukou=no").get_data(
        as_text=True)
    assert "You cannot apply yet" in no and "/me/apply/newborn" not in no
    assert "where a parent&#39;s household is registered" in no or "where a parent's household is registered" in no


PARENT_NAMES = {"mother_name": "李四", "father_name": "张三"}


def test_the_journey_checks_each_answer_and_saves_for_later(client, db, sign_in_as):
    sign_in_as("resident")
    client.set_cookie("lang", "en")
    draft_id = start(client, "newborn")
    tasks = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    assert "You have completed 0 of 4 sections." in tasks and "About the baby" in tasks

    blank = post_page(client, draft_id, "name", {"child_name": "  "})
    assert blank.status_code == 400 and "Enter the baby&#39;s full name." in blank.get_data(as_text=True)
    assert post_page(client, draft_id, "sex", {"child_sex": "other"}).status_code == 400
    future = (clock.today() + dt.timedelta(days=1)).isoformat()
    too_late = post_page(client, draft_id, "birth", {"born_on": future, "birth_place": "医院"})
    assert too_late.status_code == 400 and "must be today or in the past" in too_late.get_data(as_text=True)
    older = (clock.today() - dt.timedelta(days=400)).isoformat()
    assert "under one year old" in post_page(client, draft_id, "birth", {"born_on": older, "birth_place": "医院"}
                                             ).get_data(as_text=True)
    not_a_date = post_page(client, draft_id, "birth", {"born_on": "15/03/2026", "birth_place": "医院"})
    assert not_a_date.status_code == 400 and 'href="#born_on"' in not_a_date.get_data(as_text=True)

    # GB 11643: the last character checks the other 17.
    wrong_check = post_page(client, draft_id, "parents", {**PARENT_NAMES, "mother_id": "440104199206074561",
                                                          "father_id": "440106198803151235"})
    html = wrong_check.get_data(as_text=True)
    assert wrong_check.status_code == 400 and 'href="#mother_id"' in html and "does not match the others" in html
    same = post_page(client, draft_id, "parents", {**PARENT_NAMES, "mother_id": "440106198803151235",
                                                   "father_id": "440106198803151235"})
    assert "must differ from the mother" in same.get_data(as_text=True)
    swapped = post_page(client, draft_id, "parents", {**PARENT_NAMES, "mother_id": "440106198803151235",
                                                      "father_id": "440104199206074560"})
    html = swapped.get_data(as_text=True)
    assert swapped.status_code == 400
    assert "a man&#39;s identity number" in html and "a woman&#39;s identity number" in html
    # The licences go to the parent who applies: 张三 cannot apply for two strangers' baby.
    strangers = post_page(client, draft_id, "parents", {**PARENT_NAMES, "mother_id": "440104199206074560",
                                                        "father_id": "440105199506124319"})
    assert strangers.status_code == 400 and "One of the parents must be you" in strangers.get_data(as_text=True)

    # Save and come back later.
    later = post_page(client, draft_id, "name", {"child_name": "张小宝"}, later=True)
    assert later.headers["Location"].endswith(f"/me/drafts/{draft_id}")
    assert start(client, "newborn") == draft_id
    assert 'value="张小宝"' in client.get(f"/me/drafts/{draft_id}/pages/name").get_data(as_text=True)
    pages = newborn_pages()
    pages["parents"] = {**PARENT_NAMES, "mother_id": "440104 19920607 4560", "father_id": "440106198803151235"}
    for slug, answers in pages.items():
        assert post_page(client, draft_id, slug, answers).status_code == 302, slug
    tasks = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    for code in ("birth_record", "parents_id_cards", "household_register", "marriage_certificate", "baby_photo"):
        assert f"/materials/{code}" in tasks
    assert client.get(f"/me/drafts/{draft_id}/check").status_code == 302  # not before the documents
    fill_documents(client, draft_id)
    check = client.get(f"/me/drafts/{draft_id}/check").get_data(as_text=True)
    assert "张小宝" in check and "440104199206074560" in check and "birth_record.pdf" in check
    response, resend = send(client, draft_id)
    assert response.status_code == 302
    assert resend().headers["Location"].endswith(f"/cases/{reference_of(response)}/submitted")
    application = db.scalar(select(Application).where(Application.reference == reference_of(response)))
    assert application.answers["mother_id"] == "440104199206074560"  # spaces removed
    assert application.answers["child_sex"] == "female" and application.enterprise_id is None
    assert db.scalar(select(func.count()).select_from(Application)) == 1


@pytest.fixture
def accepted_case(client, sign_in_as) -> str:
    """A newborn case sent by 张三 and accepted by the lead window."""
    sign_in_as("resident")
    response, _ = apply_newborn(client)
    reference = reference_of(response)
    sign_in_as("clerk.hub")
    accepted, _ = decide(client, open_task_id(client, reference), "accept")
    assert accepted.status_code == 302
    return reference


def _branch_tasks(client, sign_in_as, reference: str) -> dict[str, int]:
    task_ids = {}
    for agency in BRANCH_AGENCIES:
        sign_in_as(f"clerk.{agency}")
        task_ids[agency] = open_task_id(client, reference)
    return task_ids


def test_four_agencies_at_once_then_one_join_and_licences_for_the_parent(app, client, db, sign_in_as,
                                                                          accepted_case):
    task_ids = _branch_tasks(client, sign_in_as, accepted_case)
    assert len(set(task_ids.values())) == 4
    application = db.scalar(select(Application).where(Application.reference == accepted_case))
    assert application.status == CaseStatus.IN_REVIEW
    assert {t.agency_code for t in db.scalars(select(Task).where(
        Task.instance_id == application.workflow_instance_id, Task.state == TaskState.OPEN))} == set(BRANCH_AGENCIES)

    for agency, task_id in task_ids.items():
        sign_in_as(f"clerk.{agency}")
        decided, _ = decide(client, task_id, "approve")
        assert decided.status_code == 302
    run_pending_jobs(app)

    db.expire_all()
    application = db.scalar(select(Application).where(Application.reference == accepted_case))
    assert application.status == CaseStatus.APPROVED
    assert db.scalar(select(func.count()).select_from(Event).where(
        Event.instance_id == application.workflow_instance_id, Event.kind == "joined")) == 1
    parent = db.scalar(select(Account).where(Account.email == "resident@demo.onewindow.test"))
    licences = db.scalars(select(Licence).where(Licence.application_id == application.id)).all()
    # Household registration and medical insurance enrolment are registrations, not licences.
    assert sorted(lic.licence_type.code for lic in licences) == ["birth_medical_certificate", "social_security_card"]
    # Both name the child and are kept in the applying parent's wallet.
    assert {(lic.holder_account_id, lic.holder_enterprise_id, lic.holder_name) for lic in licences} == {
        (parent.id, None, "张小宝")}
    sign_in_as("resident")
    case_page = client.get(f"/me/cases/{accepted_case}").get_data(as_text=True)
    assert all(lic.number in case_page for lic in licences)


def test_one_rejection_ends_the_case_and_cancels_the_other_branches(app, client, db, sign_in_as, accepted_case):
    task_ids = _branch_tasks(client, sign_in_as, accepted_case)
    sign_in_as("clerk.medical")
    decided, _ = decide(client, task_ids["medical"], "approve")
    assert decided.status_code == 302
    sign_in_as("clerk.police")
    refused, _ = decide(client, task_ids["police"], "reject", opinion="No parent's household is registered here")
    assert refused.status_code == 302
    run_pending_jobs(app)

    db.expire_all()
    application = db.scalar(select(Application).where(Application.reference == accepted_case))
    assert application.status == CaseStatus.REJECTED
    assert db.get(Task, task_ids["health"]).state == TaskState.CANCELLED
    assert db.get(Task, task_ids["hrss"]).state == TaskState.CANCELLED
    assert db.scalar(select(func.count()).select_from(Licence).where(Licence.application_id == application.id)) == 0
    for agency in ("health", "hrss"):
        sign_in_as(f"clerk.{agency}")
        assert accepted_case not in client.get("/work/").get_data(as_text=True)


def test_a_clerk_of_one_new_agency_gets_403_on_anothers_task(client, db, sign_in_as, accepted_case):
    task_ids = _branch_tasks(client, sign_in_as, accepted_case)
    sign_in_as("clerk.health")
    form = hidden_fields(client.get(f"/work/tasks/{task_ids['health']}").get_data(as_text=True))
    for agency in ("hrss", "medical", "police"):
        assert client.get(f"/work/tasks/{task_ids[agency]}").status_code == 403
        form.update(outcome="approve", confirmed="yes")
        assert client.post(f"/work/tasks/{task_ids[agency]}", data=form).status_code == 403
        assert db.get(Task, task_ids[agency]).state == TaskState.OPEN
    sign_in_as("clerk.hrss")
    assert client.get(f"/work/tasks/{task_ids['health']}").status_code == 403
