"""Materials: several files per item within its limits, types by content, SHA-256 kept, files only through authorised
views; e-licences the applicant holds are attached instead of uploads and shown to the clerk with their live status."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from services.applications.models import Application, Material
from services.identity.models import Account, Enterprise
from services.licences.demo import demo_answers, demo_case_licences
from services.licences.models import Licence, LicenceStatus
from tests.app.test_slice import open_task_id
from tests.apply_helpers import (
    PDF,
    PNG,
    RESIDENCE_PAGES,
    RESTAURANT_PAGES,
    answer_pages,
    apply_residence_permit,
    apply_restaurant,
    post_page,
    reference_of,
    start,
    upload,
)
from tests.conftest import hidden_fields

PERMIT_ANSWERS = demo_answers("residence_permit")


def draft_with_questions_done(client, bundle="residence_permit") -> int:
    draft_id = start(client, bundle)
    answer_pages(client, draft_id, RESIDENCE_PAGES)
    return draft_id


def files_of(db, draft_id, item=None):
    query = select(Material).where(Material.draft_id == draft_id)
    if item:
        query = query.where(Material.item_code == item)
    return db.scalars(query.order_by(Material.id)).all()


def test_several_files_per_item_with_type_by_content_and_sha256(client, db, sign_in_as):
    sign_in_as("resident2")
    draft_id = draft_with_questions_done(client)
    response = upload(client, draft_id, "residence_proof", [(PDF, "lease-1.pdf"), (PNG, "lease-2.png")])
    assert response.status_code == 302
    response = upload(client, draft_id, "residence_proof", [(PDF, "lease-3.pdf")])
    assert response.status_code == 302
    stored = files_of(db, draft_id, "residence_proof")
    assert [m.filename for m in stored] == ["lease-1.pdf", "lease-2.png", "lease-3.pdf"]
    assert [m.content_type for m in stored] == ["application/pdf", "image/png", "application/pdf"]
    assert stored[1].sha256 == hashlib.sha256(PNG).hexdigest() and stored[1].size == len(PNG)
    # Never a guessable path: a random key, nothing of the file's name.
    assert all(len(m.storage_key) == 32 and "lease" not in m.storage_key for m in stored)


@pytest.mark.parametrize("files, message", [
    ([(b"MZ\x90\x00 an executable pretending", "front.pdf")], "is not a PDF, JPEG or PNG file"),
    ([(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "huge.pdf")], "is larger than 10 MB"),
    ([(b"", "empty.pdf")], "is empty"),
    ([(PDF, "1.pdf"), (PDF, "2.pdf"), (PDF, "3.pdf")], "You can upload at most 2 files"),
    ([(PDF, "good.pdf"), (b"GIF89a", "bad.pdf")], "is not a PDF, JPEG or PNG file"),
])
def test_refused_uploads_store_nothing(app, client, db, sign_in_as, files, message):
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    draft_id = draft_with_questions_done(client)
    uploads = Path(app.config["UPLOAD_DIR"])
    before = sorted(uploads.rglob("*")) if uploads.exists() else []
    response = upload(client, draft_id, "id_card", files)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'href="#files"' in html and message in html
    assert files_of(db, draft_id) == []
    assert (sorted(uploads.rglob("*")) if uploads.exists() else []) == before


def test_a_required_item_cannot_be_skipped_and_an_optional_one_can(client, db, sign_in_as):
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    draft_id = draft_with_questions_done(client)
    skipped = upload(client, draft_id, "id_card", [])
    assert skipped.status_code == 400 and "Upload “Resident identity card (both sides)”" in skipped.get_data(
        as_text=True)
    # The current permit is asked for only when renewing: not an item of this new application.
    assert upload(client, draft_id, "current_permit", []).status_code == 404


def test_remove_a_file_and_files_are_only_for_their_owner(client, db, sign_in_as):
    sign_in_as("resident2")
    draft_id = draft_with_questions_done(client)
    upload(client, draft_id, "id_card", [(PDF, "front.pdf"), (PDF, "back.pdf")])
    front, back = files_of(db, draft_id, "id_card")
    download = client.get(f"/me/drafts/{draft_id}/files/{front.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    sign_in_as("resident")
    assert client.get(f"/me/drafts/{draft_id}/files/{front.id}").status_code == 404
    token = hidden_fields(client.get("/me/apply/residence_permit").get_data(as_text=True))["csrf_token"]
    assert client.post(f"/me/drafts/{draft_id}/files/{front.id}/remove",
                       data={"csrf_token": token}).status_code == 404
    sign_in_as("resident2")
    page = client.get(f"/me/drafts/{draft_id}/materials/id_card").get_data(as_text=True)
    removed = client.post(f"/me/drafts/{draft_id}/files/{front.id}/remove", data=hidden_fields(page))
    assert removed.status_code == 302
    assert [m.id for m in files_of(db, draft_id)] == [back.id]
    # Another draft's file id through this draft: 404.
    assert client.get(f"/me/drafts/{draft_id}/files/{front.id}").status_code == 404


def test_submitted_files_move_to_the_case_and_stay_behind_its_authorisation(client, db, sign_in_as):
    sign_in_as("resident2")
    response, _resend = apply_residence_permit(client)
    reference = reference_of(response)
    application = db.scalar(select(Application).where(Application.reference == reference))
    material = application.materials[0]
    assert material.draft_id is None
    assert client.get(f"/me/cases/{reference}/materials/{material.id}").data == PDF
    sign_in_as("resident")
    assert client.get(f"/me/cases/{reference}/materials/{material.id}").status_code == 404


@pytest.fixture
def zhang_permit(app, db):
    """张三's residence permit, issued through the real engine and signer."""
    (licence,) = demo_case_licences(db, "resident", "residence_permit", PERMIT_ANSWERS, for_enterprise=False,
                                    key_dir=Path(app.config["KEY_DIR"]), public_url=app.config["PUBLIC_URL"])
    return licence


def test_a_held_e_licence_is_attached_instead_of_an_upload(client, db, sign_in_as, zhang_permit):
    sign_in_as("resident")
    client.set_cookie("lang", "en")
    # A new application does not ask for "the current permit (when renewing)": that item is for renewals only.
    fresh = start(client, "residence_permit")
    answer_pages(client, fresh, RESIDENCE_PAGES)
    assert client.get(f"/me/drafts/{fresh}/materials/current_permit").status_code == 404
    assert "/materials/current_permit" not in client.get(f"/me/drafts/{fresh}").get_data(as_text=True)
    delete = client.get(f"/me/drafts/{fresh}/delete").get_data(as_text=True)
    client.post(f"/me/drafts/{fresh}/delete", data=hidden_fields(delete))
    # Renewing it, the permit being renewed is attached for that item: nothing to upload.
    renewing = client.get(f"/me/licences/{zhang_permit.number}/renew").get_data(as_text=True)
    started = client.post(f"/me/licences/{zhang_permit.number}/renew", data=hidden_fields(renewing))
    draft_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/me/drafts/{draft_id}/materials/current_permit").get_data(as_text=True)
    assert zhang_permit.number in page and "there is nothing to upload" in page
    check_page = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    assert check_page.count("Completed") >= 2
    for code in ("id_card", "residence_proof", "basis_proof"):
        upload(client, draft_id, code, [(PDF, f"{code}.pdf")])
    check = client.get(f"/me/drafts/{draft_id}/check").get_data(as_text=True)
    assert f"e-licence {zhang_permit.number}, attached for you" in check
    response = client.post(f"/me/drafts/{draft_id}/check", data=hidden_fields(check))
    reference = reference_of(response)
    confirmation = client.get(response.headers["Location"])
    assert confirmation.status_code == 200
    assert f"e-licence {zhang_permit.number}" in confirmation.get_data(as_text=True)
    application = db.scalar(select(Application).where(Application.reference == reference))
    (attached,) = [m for m in application.materials if m.licence_id]
    assert attached.licence_id == zhang_permit.id and attached.item_code == "current_permit"
    assert attached.storage_key is None and attached.sha256 is None
    # There is no file to download: a 404, not an error.
    assert client.get(f"/me/cases/{reference}/materials/{attached.id}").status_code == 404

    # The clerk sees the licence under its item, with its live status and the public verification link.
    sign_in_as("clerk.hub")
    client.set_cookie("lang", "en")
    task_page = client.get(f"/work/tasks/{open_task_id(client, reference)}").get_data(as_text=True)
    assert "<dt>Current residence permit (when renewing)</dt>" in task_page
    assert f"e-licence {zhang_permit.number}" in task_page and "verified: valid" in task_page
    assert f'href="/verify/{zhang_permit.number}"' in task_page
    db.execute(update(Licence).where(Licence.id == zhang_permit.id).values(status=LicenceStatus.REVOKED))
    db.expire_all()
    task_page = client.get(f"/work/tasks/{open_task_id(client, reference)}").get_data(as_text=True)
    assert "verified: revoked" in task_page


@pytest.fixture
def founded(app, db):
    """The business licence of the company 王五 (owner) founded through "Start a business", issued to it."""
    (licence,) = demo_case_licences(db, "owner", "start_business", demo_answers("start_business"),
                                    for_enterprise=False, key_dir=Path(app.config["KEY_DIR"]),
                                    public_url=app.config["PUBLIC_URL"])
    return licence


def test_the_enterprises_business_licence_is_attached_for_the_restaurant(app, client, db, sign_in_as, founded):
    sign_in_as("owner")
    response, _resend = apply_restaurant(client, floor_area="30", enterprise=str(founded.holder_enterprise_id))
    application = db.scalar(select(Application).where(Application.reference == reference_of(response)))
    assert [(m.item_code, m.licence_id) for m in application.materials if m.licence_id] == [
        ("business_licence", founded.id)]
    owner = db.scalar(select(Account).where(Account.email == "owner@demo.onewindow.test"))
    assert db.scalar(select(func.count()).select_from(Licence).where(Licence.holder_account_id == owner.id)) == 0


def test_only_a_valid_licence_of_the_holder_is_attached(client, db, sign_in_as, founded):
    sign_in_as("owner")
    # The demo enterprise holds no business licence: the new company's is not attached for it.
    demo = str(db.scalar(select(Enterprise.id).where(Enterprise.uscc == "91440106MA5CN8QX19")))
    draft_id = start(client, "open_restaurant")
    answer_pages(client, draft_id, {"enterprise": {"enterprise": demo}})
    answer_pages(client, draft_id, {k: v for k, v in RESTAURANT_PAGES.items()})
    assert founded.number not in client.get(f"/me/drafts/{draft_id}/materials/business_licence").get_data(
        as_text=True)
    # A suspended licence is attached for nobody.
    db.execute(update(Licence).where(Licence.id == founded.id).values(status=LicenceStatus.SUSPENDED))
    answer_pages(client, draft_id, {"enterprise": {"enterprise": str(founded.holder_enterprise_id)}})
    assert founded.number not in client.get(f"/me/drafts/{draft_id}/materials/business_licence").get_data(
        as_text=True)


def test_items_follow_the_answers(client, db, sign_in_as):
    sign_in_as("resident2")
    draft_id = start(client, "residence_permit")
    answer_pages(client, draft_id, {**RESIDENCE_PAGES, "basis": {"basis": "home", "basis_detail": ""}})
    tasks = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    assert "/materials/basis_proof" not in tasks and "/materials/residence_proof" in tasks
    post_page(client, draft_id, "basis", {"basis": "study", "basis_detail": "广州大学"})
    assert "/materials/basis_proof" in client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
