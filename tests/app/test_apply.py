"""Applying online through the pages: start, one topic per page, the task list, check your answers with change links,
send once however often it is posted, the confirmation and its notification; every online bundle of the catalogue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.portal.journey import applies_online
from services import clock
from services.applications.models import Application, ApplicationDraft, Material
from services.catalogue.models import Bundle
from services.notifications.models import Notification
from tests.apply_helpers import (
    RESIDENCE_PAGES,
    apply_residence_permit,
    apply_restaurant,
    fill_documents,
    post_page,
    reference_of,
    send,
    start,
)
from tests.conftest import hidden_fields


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_every_online_bundle_of_the_catalogue_has_a_journey(db):
    bundles = db.scalars(select(Bundle)).all()
    online = {b.code for b in bundles if applies_online(b)}
    assert {"open_restaurant", "residence_permit"} <= online
    assert online == {"open_restaurant", "residence_permit", "newborn", "start_business"}


def test_restaurant_journey_with_task_list_statuses(client, db, sign_in_as):
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    start_page = client.get("/me/apply/open_restaurant").get_data(as_text=True)
    assert "Proof of premises" in start_page and "Start now" in start_page
    draft_id = start(client, "open_restaurant")
    assert count(db, ApplicationDraft) == 1
    # Starting again finds the same draft.
    assert start(client, "open_restaurant") == draft_id
    tasks = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    assert "You have completed 0 of 4 sections." in tasks
    assert "Not started" in tasks and "Cannot start yet" in tasks

    enterprise = re.search(r'name="enterprise" value="(\d+)"',
                           client.get(f"/me/drafts/{draft_id}/pages/enterprise").get_data(as_text=True)).group(1)
    post_page(client, draft_id, "enterprise", {"enterprise": enterprise})
    saved = post_page(client, draft_id, "name-and-address", {"shop_name": "小馆", "address": "广州"})
    # The next page of the same section follows.
    assert saved.headers["Location"].endswith(f"/me/drafts/{draft_id}/pages/size")
    tasks = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    assert "You have completed 1 of 4 sections." in tasks and "In progress" in tasks
    post_page(client, draft_id, "size", {"floor_area": "30", "seats": "10"})
    post_page(client, draft_id, "food", {"categories": ["hot_food"]})
    last = post_page(client, draft_id, "signboard", {"signboard": "no"})
    assert last.headers["Location"].endswith(f"/me/drafts/{draft_id}")
    tasks = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    # A small counter needs no fire-safety drawings.
    assert "/materials/premises_proof" in tasks and "/materials/fire_layout" not in tasks
    assert client.get(f"/me/drafts/{draft_id}/check").status_code == 302  # not before the documents
    fill_documents(client, draft_id)
    check = client.get(f"/me/drafts/{draft_id}/check").get_data(as_text=True)
    assert "小馆" in check and "30" in check and "premises_proof.pdf" in check
    assert f'href="/me/drafts/{draft_id}/pages/size?return=check"' in check
    # Change a page from the check page: saving it goes back to the check page.
    changed = post_page(client, draft_id, "size", {"floor_area": "80", "seats": "10"}, query="?return=check")
    assert changed.headers["Location"].endswith(f"/me/drafts/{draft_id}/check")
    # 80 m² now needs the fire-safety drawings: the check page is not reachable until they are there.
    assert client.get(f"/me/drafts/{draft_id}/check").status_code == 302
    fill_documents(client, draft_id)
    response, _resend = send(client, draft_id)
    assert response.status_code == 302
    application = db.scalar(select(Application).where(Application.reference == reference_of(response)))
    assert application.answers == {"shop_name": "小馆", "address": "广州", "floor_area": 80, "seats": 10,
                                   "categories": ["hot_food"], "signboard": False}
    assert application.enterprise_id == int(enterprise)
    assert {m.item_code for m in application.materials} >= {"premises_proof", "kitchen_plan", "fire_layout"}
    assert count(db, ApplicationDraft) == 0


def test_confirmation_shows_the_reference_and_next_steps_and_a_notification_is_sent(client, db, sign_in_as):
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    response, _resend = apply_restaurant(client)
    reference = reference_of(response)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert reference in page and "What happens next" in page
    owner = db.scalar(select(Application).where(Application.reference == reference)).applicant_id
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.account_id == owner, Notification.kind == "case_submitted")) == 1


def test_sending_twice_creates_one_application(client, db, sign_in_as):
    sign_in_as("owner")
    first, resend = apply_restaurant(client)
    again, third = resend(), resend()
    assert first.headers["Location"] == again.headers["Location"] == third.headers["Location"]
    assert count(db, Application) == 1


def test_residence_permit_journey(client, db, sign_in_as):
    sign_in_as("resident2")
    response, _resend = apply_residence_permit(client)
    assert response.status_code == 302
    application = db.scalar(select(Application).where(Application.reference == reference_of(response)))
    assert application.enterprise_id is None
    assert application.answers["moved_in"] == "2024-01-15" and application.answers["basis"] == "work"
    assert sorted(m.item_code for m in application.materials) == ["basis_proof", "id_card", "residence_proof"]


def test_a_page_with_errors_lists_them_on_top_and_keeps_the_draft(client, db, sign_in_as):
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    draft_id = start(client, "residence_permit")
    post_page(client, draft_id, "address", RESIDENCE_PAGES["address"])
    for answers, field, message in [
        ({"moved_in": "2024-13-45"}, "moved_in", "Enter a real date"),
        ({"moved_in": "2999-01-01"}, "moved_in", "must be today or in the past"),
        ({"moved_in": ""}, "moved_in", "Enter the date you started living in Guangzhou"),
    ]:
        bad = post_page(client, draft_id, "moved-in", answers)
        html = bad.get_data(as_text=True)
        assert bad.status_code == 400 and f'href="#{field}"' in html and message in html, html[:2000]
    recent = post_page(client, draft_id, "moved-in", {"moved_in": clock.today().isoformat()})
    assert recent.status_code == 400 and "once you have lived in Guangzhou for 6 months" in recent.get_data(
        as_text=True)
    bad = post_page(client, draft_id, "basis", {"basis": "work", "basis_detail": " "})
    assert bad.status_code == 400 and "Enter the name of your employer" in bad.get_data(as_text=True)
    bad = post_page(client, draft_id, "contact", {"mobile": "12345"})
    assert bad.status_code == 400 and "11 digits" in bad.get_data(as_text=True)
    db.expire_all()
    draft = db.get(ApplicationDraft, draft_id)
    assert draft.answers == {"address": RESIDENCE_PAGES["address"]["address"]} and draft.completed == ["address"]


def test_save_and_come_back_later(client, db, sign_in_as):
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    draft_id = start(client, "residence_permit")
    later = post_page(client, draft_id, "address", {"address": "广州市越秀区1号"}, later=True)
    assert later.headers["Location"].endswith(f"/me/drafts/{draft_id}")
    assert "Your answers are saved" in client.get(later.headers["Location"]).get_data(as_text=True)
    # Coming back, the page shows what was saved.
    assert 'value="广州市越秀区1号"' in client.get(f"/me/drafts/{draft_id}/pages/address").get_data(as_text=True)
    # The contact page starts with the mobile number the account has.
    assert 'value="13900139000"' in client.get(f"/me/drafts/{draft_id}/pages/contact").get_data(as_text=True)


def test_delete_a_draft_with_its_files(app, client, db, sign_in_as):
    sign_in_as("resident2")
    draft_id = start(client, "residence_permit")
    from tests.apply_helpers import PDF, upload

    for slug, answers in RESIDENCE_PAGES.items():
        post_page(client, draft_id, slug, answers)
    upload(client, draft_id, "id_card", [(PDF, "front.pdf")])
    material = db.scalar(select(Material).where(Material.draft_id == draft_id))
    from pathlib import Path

    from services.applications.service import material_path

    path = material_path(Path(app.config["UPLOAD_DIR"]), material)
    assert path.is_file()
    ask = client.get(f"/me/drafts/{draft_id}/delete")
    assert ask.status_code == 200
    deleted = client.post(f"/me/drafts/{draft_id}/delete", data=hidden_fields(ask.get_data(as_text=True)))
    assert deleted.status_code == 302
    assert count(db, ApplicationDraft) == 0 and count(db, Material) == 0 and not path.exists()


@pytest.mark.parametrize("path", ["", "/pages/address", "/materials/id_card", "/check", "/delete"])
def test_someone_elses_draft_is_404(client, db, sign_in_as, path):
    sign_in_as("resident2")
    draft_id = start(client, "residence_permit")
    sign_in_as("resident")
    assert client.get(f"/me/drafts/{draft_id}{path}").status_code == 404
    token = hidden_fields(client.get("/me/apply/residence_permit").get_data(as_text=True))["csrf_token"]
    assert client.post(f"/me/drafts/{draft_id}{path or '/delete'}", data={"csrf_token": token}).status_code == 404
    assert count(db, ApplicationDraft) == 1


def test_unknown_pages_and_services_are_404(client, sign_in_as):
    sign_in_as("resident2")
    draft_id = start(client, "residence_permit")
    assert client.get(f"/me/drafts/{draft_id}/pages/enterprise").status_code == 404  # not for residents' services
    assert client.get(f"/me/drafts/{draft_id}/pages/nope").status_code == 404
    assert client.get(f"/me/drafts/{draft_id}/materials/business_licence").status_code == 404
    assert client.get("/me/apply/no_such_service").status_code == 404
    assert client.get("/me/drafts/999999").status_code == 404


def test_a_resident_without_an_enterprise_is_told_the_restaurant_is_for_enterprises(client, db, sign_in_as):
    sign_in_as("resident")
    client.set_cookie("lang", "en")
    page = client.get("/me/apply/open_restaurant")
    assert page.status_code == 200 and "This service is for enterprises" in page.get_data(as_text=True)
    assert count(db, ApplicationDraft) == 0


def test_a_forged_enterprise_is_refused(client, db, sign_in_as):
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    draft_id = start(client, "open_restaurant")
    forged = post_page(client, draft_id, "enterprise", {"enterprise": "999999"})
    assert forged.status_code == 400 and "Select the enterprise that is applying." in forged.get_data(as_text=True)
    assert db.get(ApplicationDraft, draft_id).enterprise_id is None


def test_a_stale_submission_token_sends_nothing(client, db, sign_in_as):
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    draft_id = start(client, "residence_permit")
    for slug, answers in RESIDENCE_PAGES.items():
        post_page(client, draft_id, slug, answers)
    fill_documents(client, draft_id)
    form = hidden_fields(client.get(f"/me/drafts/{draft_id}/check").get_data(as_text=True))
    for token in ("not-a-token", "0" * 32):
        response = client.post(f"/me/drafts/{draft_id}/check", data={**form, "submission_token": token})
        assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    assert count(db, Application) == 0


def _grant(db, scope: list[str]):
    import datetime as dt

    from services.identity.mandates import grant_mandate
    from services.identity.models import Account, Enterprise

    owner = db.scalar(select(Account).where(Account.email == "owner@demo.onewindow.test"))
    enterprise = db.scalar(select(Enterprise).where(Enterprise.legal_representative_id == owner.id))
    grant_mandate(db, owner, enterprise.id, agent_name="张三", agent_id_number="440106198803151235",
                  bundle_codes=scope,
                  all_services=False, expires_on=clock.today() + dt.timedelta(days=90))
    db.flush()
    return enterprise


def test_an_agent_with_a_mandate_applies_for_the_enterprise(client, db, sign_in_as):
    enterprise = _grant(db, ["open_restaurant"])
    sign_in_as("resident")
    response, _resend = apply_restaurant(client, enterprise=str(enterprise.id))
    application = db.scalar(select(Application).where(Application.reference == reference_of(response)))
    assert application.enterprise_id == enterprise.id


def test_a_mandate_for_another_service_does_not_let_the_agent_apply(client, db, sign_in_as):
    enterprise = _grant(db, ["residence_permit"])
    sign_in_as("resident")
    client.set_cookie("lang", "en")
    page = client.get("/me/apply/open_restaurant")
    assert "This service is for enterprises" in page.get_data(as_text=True)
    # Nor through a draft of the service with the enterprise's id forged in.
    sign_in_as("owner")
    draft_id = start(client, "open_restaurant")
    sign_in_as("resident")
    assert client.get(f"/me/drafts/{draft_id}/pages/enterprise").status_code == 404
    assert db.scalar(select(func.count()).select_from(ApplicationDraft).where(
        ApplicationDraft.enterprise_id == enterprise.id)) == 0
