"""Drafts kept for their applicant (drafts_for, what the service page lists) and renewals started from a licence."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import select, update

from services.applications.drafts import drafts_for
from services.applications.models import Application, ApplicationDraft
from services.identity.models import Account
from services.licences.demo import RESTAURANT_ANSWERS, demo_answers, demo_case_licences
from services.licences.models import Licence, LicenceStatus
from tests.apply_helpers import PDF, RESIDENCE_PAGES, answer_pages, reference_of, send, start, upload
from tests.conftest import hidden_fields

PERMIT_ANSWERS = demo_answers("residence_permit")


def account(db, local: str) -> Account:
    return db.scalar(select(Account).where(Account.email == f"{local}@demo.onewindow.test"))


def test_drafts_for_lists_the_accounts_own_drafts_newest_first(app, client, db, sign_in_as):
    sign_in_as("owner")
    restaurant = start(client, "open_restaurant")
    residence = start(client, "residence_permit")
    answer_pages(client, residence, {"address": RESIDENCE_PAGES["address"]})
    sign_in_as("resident2")
    start(client, "residence_permit")
    drafts = drafts_for(db, account(db, "owner"))
    assert [d.id for d in drafts] == [residence, restaurant]
    assert [d.bundle.code for d in drafts] == ["residence_permit", "open_restaurant"]
    assert all(d.updated_at is not None for d in drafts)
    with app.test_request_context():
        assert url_for(drafts[0].resume_endpoint, draft_id=drafts[0].id) == f"/me/drafts/{residence}"


def renew(client, number: str, method: str = "post"):
    page = client.get(f"/me/licences/{number}/renew")
    if method == "get":
        return page
    return client.post(f"/me/licences/{number}/renew", data=hidden_fields(page.get_data(as_text=True)))


@pytest.fixture
def keys(app):
    return {"key_dir": Path(app.config["KEY_DIR"]), "public_url": app.config["PUBLIC_URL"]}


def test_renewing_a_residence_permit(client, db, sign_in_as, keys):
    (permit,) = demo_case_licences(db, "resident", "residence_permit", PERMIT_ANSWERS, for_enterprise=False, **keys)
    sign_in_as("resident")
    client.set_cookie("lang", "en")
    page = renew(client, permit.number, "get")
    assert page.status_code == 200 and "Start the renewal" in page.get_data(as_text=True)
    started = renew(client, permit.number)
    draft_id = int(started.headers["Location"].split("/")[-1])
    draft = db.get(ApplicationDraft, draft_id)
    assert draft.renews_licence_id == permit.id
    assert f"renews licence {permit.number}" in client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    # Starting again finds the same draft.
    assert renew(client, permit.number).headers["Location"] == started.headers["Location"]
    answer_pages(client, draft_id, RESIDENCE_PAGES)
    for code in ("id_card", "residence_proof", "basis_proof"):
        upload(client, draft_id, code, [(PDF, f"{code}.pdf")])
    response, _resend = send(client, draft_id)
    application = db.scalar(select(Application).where(Application.reference == reference_of(response)))
    assert application.renews_licence_id == permit.id
    assert [m.licence_id for m in application.materials if m.licence_id] == [permit.id]
    # A renewal already on its way is not started twice.
    again = renew(client, permit.number, "get")
    assert again.status_code == 409 and "already been sent" in again.get_data(as_text=True)


def test_renewing_the_restaurant_prefills_the_answers(client, db, sign_in_as, keys, app):
    (permit,) = demo_case_licences(db, "owner", "open_restaurant", RESTAURANT_ANSWERS, for_enterprise=True,
                                   upload_dir=Path(app.config["UPLOAD_DIR"]), **keys)
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    started = renew(client, permit.number)
    draft = db.get(ApplicationDraft, int(started.headers["Location"].split("/")[-1]))
    assert draft.answers == RESTAURANT_ANSWERS and draft.enterprise_id == permit.holder_enterprise_id
    assert set(draft.completed) == {"enterprise", "name-and-address", "size", "food", "signboard"}
    tasks = client.get(f"/me/drafts/{draft.id}").get_data(as_text=True)
    assert "You have completed 2 of 4 sections." in tasks
    page = client.get(f"/me/drafts/{draft.id}/pages/name-and-address").get_data(as_text=True)
    assert 'value="示例小馆"' in page


def test_only_the_holder_renews_and_only_a_valid_licence(client, db, sign_in_as, keys):
    (permit,) = demo_case_licences(db, "resident", "residence_permit", PERMIT_ANSWERS, for_enterprise=False, **keys)
    sign_in_as("resident2")
    assert client.get(f"/me/licences/{permit.number}/renew").status_code == 404
    assert client.get("/me/licences/NO-SUCH-1/renew").status_code == 404
    sign_in_as("resident")
    db.execute(update(Licence).where(Licence.id == permit.id).values(status=LicenceStatus.REVOKED))
    db.expire_all()
    refused = client.get(f"/me/licences/{permit.number}/renew?lang=en")
    assert refused.status_code == 409 and "Only a valid licence can be renewed" in refused.get_data(as_text=True)
    assert db.scalar(select(ApplicationDraft)) is None


def test_an_existing_draft_is_never_overwritten_by_a_renewal(client, db, sign_in_as, keys):
    (permit,) = demo_case_licences(db, "resident", "residence_permit", PERMIT_ANSWERS, for_enterprise=False, **keys)
    sign_in_as("resident")
    client.set_cookie("lang", "en")
    draft_id = start(client, "residence_permit")
    answer_pages(client, draft_id, {"address": {"address": "我的草稿"}})
    refused = renew(client, permit.number)
    assert refused.status_code == 409 and f'href="/me/drafts/{draft_id}"' in refused.get_data(as_text=True)
    db.expire_all()
    assert db.get(ApplicationDraft, draft_id).answers == {"address": "我的草稿"}


def test_the_service_layer_refuses_other_peoples_drafts_enterprises_and_licences(app, db, keys):
    from services.applications.drafts import choose_enterprise, draft_for, renewable_licence, start_draft
    from services.applications.service import submit_application
    from services.catalogue.models import Bundle
    from services.errors import NotFound, PermissionDenied
    from services.identity.models import Enterprise

    owner, stranger = account(db, "owner"), account(db, "resident2")
    restaurant = db.scalar(select(Bundle).where(Bundle.code == "open_restaurant"))
    enterprise = db.scalar(select(Enterprise).where(Enterprise.legal_representative_id == owner.id))
    owners_draft, _ = start_draft(db, owner, restaurant)
    with pytest.raises(NotFound):
        draft_for(db, stranger, owners_draft.id)
    strangers_draft, _ = start_draft(db, stranger, restaurant)
    with pytest.raises(PermissionDenied):
        choose_enterprise(db, stranger, strangers_draft, enterprise.id, "enterprise")
    with pytest.raises(PermissionDenied):
        submit_application(db, stranger, "open_restaurant", answers={}, uploads=[], submission_token="f" * 32,
                           storage_dir=Path(app.config["UPLOAD_DIR"]), enterprise_id=enterprise.id)
    (permit,) = demo_case_licences(db, "resident", "residence_permit", PERMIT_ANSWERS, for_enterprise=False, **keys)
    with pytest.raises(NotFound):
        renewable_licence(db, stranger, permit.number)
    with pytest.raises(NotFound):  # nor by naming it as the licence renewed
        submit_application(db, stranger, "residence_permit", answers=PERMIT_ANSWERS, uploads=[],
                           submission_token="e" * 32, storage_dir=Path(app.config["UPLOAD_DIR"]),
                           renews_licence_id=permit.id)
