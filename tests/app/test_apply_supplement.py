"""The supplement notice answered item by item: the full list once, several files per item with the same checks,
one send; the branch that asked resumes. Nobody else can answer it."""

from __future__ import annotations

import io

from sqlalchemy import select

from services.applications.models import Application, Material
from tests.app.test_clocks_through_pages import branch_of, post_decision
from tests.app.test_slice import open_task_id
from tests.apply_helpers import PDF, PNG, apply_residence_permit, reference_of
from tests.conftest import hidden_fields
from workflows.models import Request
from workflows.states import BranchState, RequestState


def supplement_asked(client, sign_in_as) -> tuple[str, int]:
    sign_in_as("resident2")
    response, _resend = apply_residence_permit(client)
    reference = reference_of(response)
    sign_in_as("clerk.hub")
    post_decision(client, open_task_id(client, reference), outcome="accept")
    sign_in_as("clerk.police")
    task_id = open_task_id(client, reference)
    post_decision(client, task_id, outcome="supplement", items="Lease with the landlord's stamp\nLabour contract")
    return reference, task_id


def test_each_item_gets_its_own_files_and_the_branch_resumes(client, db, sign_in_as):
    reference, task_id = supplement_asked(client, sign_in_as)
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    request = db.scalar(select(Request).where(Request.branch_id == branch_of(db, task_id).id))
    url = f"/me/cases/{reference}/requests/{request.id}/answer"
    page = client.get(url).get_data(as_text=True)
    assert "1. Lease with the landlord&#39;s stamp" in page and "2. Labour contract" in page
    form = hidden_fields(page)
    nothing = client.post(url, data=form, content_type="multipart/form-data")
    assert nothing.status_code == 400 and "Upload at least one file" in nothing.get_data(as_text=True)
    bad = client.post(url, data={**form, "item_2": [(io.BytesIO(b"<html>"), "contract.pdf")]},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and 'href="#item_2"' in bad.get_data(as_text=True)
    assert branch_of(db, task_id).state == BranchState.WAITING_APPLICANT
    sent = client.post(url, data={**form, "item_1": [(io.BytesIO(PDF), "lease-1.pdf"), (io.BytesIO(PNG), "stamp.png")],
                                  "item_2": [(io.BytesIO(PDF), "contract.pdf")]}, content_type="multipart/form-data")
    assert sent.status_code == 302
    assert branch_of(db, task_id).state == BranchState.ACTIVE
    application = db.scalar(select(Application).where(Application.reference == reference))
    supplement = db.scalars(select(Material).where(Material.application_id == application.id,
                                                   Material.item_code.like("supplement-%"))
                            .order_by(Material.id)).all()
    assert [(m.item_code, m.filename) for m in supplement] == [
        (f"supplement-{request.id}-1", "lease-1.pdf"), (f"supplement-{request.id}-1", "stamp.png"),
        (f"supplement-{request.id}-2", "contract.pdf")]
    db.expire_all()
    assert db.get(Request, request.id).state == RequestState.ANSWERED
    # Answered: the page says so instead of taking more files.
    assert client.get(url).status_code == 302


def test_nobody_else_answers_it(client, db, sign_in_as):
    reference, task_id = supplement_asked(client, sign_in_as)
    request = db.scalar(select(Request).where(Request.branch_id == branch_of(db, task_id).id))
    sign_in_as("resident")
    url = f"/me/cases/{reference}/requests/{request.id}/answer"
    assert client.get(url).status_code == 404
    sign_in_as("resident2")
    assert client.get(f"/me/cases/{reference}/requests/999999/answer").status_code == 404


def test_a_partial_answer_is_refused_item_by_item_and_stores_nothing(app, client, db, sign_in_as):
    """A notice with two documents and a question: one file for the first item only names the other two, stores no
    file and leaves the branch paused; the full answer resumes it and the clerk sees each answer under its item."""
    sign_in_as("resident2")
    response, _resend = apply_residence_permit(client)
    reference = reference_of(response)
    sign_in_as("clerk.hub")
    post_decision(client, open_task_id(client, reference), outcome="accept")
    sign_in_as("clerk.police")
    task_id = open_task_id(client, reference)
    post_decision(client, task_id, outcome="supplement", items="Lease with the landlord's stamp\nLabour contract",
                  questions="Since when have you worked for your employer?")
    request = db.scalar(select(Request).where(Request.branch_id == branch_of(db, task_id).id))
    assert [(i["kind"], i["text"]) for i in request.notice_items] == [
        ("document", "Lease with the landlord's stamp"), ("document", "Labour contract"),
        ("question", "Since when have you worked for your employer?")]
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    url = f"/me/cases/{reference}/requests/{request.id}/answer"
    page = client.get(url).get_data(as_text=True)
    assert "3. Since when have you worked for your employer?" in page and '<textarea id="item_3"' in page
    form = hidden_fields(page)
    uploads = app.config["UPLOAD_DIR"]
    before = sorted(__import__("pathlib").Path(uploads).rglob("*"))
    partial = client.post(url, data={**form, "item_1": [(io.BytesIO(PDF), "lease.pdf")]},
                          content_type="multipart/form-data")
    html = partial.get_data(as_text=True)
    assert partial.status_code == 400
    assert "Upload at least one file for “Labour contract”" in html and 'href="#item_2"' in html
    assert "Answer “Since when have you worked for your employer?” in writing." in html and 'href="#item_3"' in html
    assert 'href="#item_1"' not in html
    application = db.scalar(select(Application).where(Application.reference == reference))
    assert not db.scalars(select(Material).where(Material.application_id == application.id,
                                                 Material.item_code.like("supplement-%"))).all()
    assert sorted(__import__("pathlib").Path(uploads).rglob("*")) == before
    assert branch_of(db, task_id).state == BranchState.WAITING_APPLICANT
    full = client.post(url, data={**form, "item_1": [(io.BytesIO(PDF), "lease.pdf")],
                                  "item_2": [(io.BytesIO(PDF), "contract.pdf")],
                                  "item_3": "Since March 2023."}, content_type="multipart/form-data")
    assert full.status_code == 302
    assert branch_of(db, task_id).state == BranchState.ACTIVE
    db.expire_all()
    assert db.get(Request, request.id).response == {"3": "Since March 2023."}
    sign_in_as("clerk.police")
    client.set_cookie("lang", "en")
    clerk_page = client.get(f"/work/tasks/{task_id}").get_data(as_text=True).replace("&#39;", "'")
    assert "item 1:</dt>" not in clerk_page  # the heading carries the item's text
    assert "item 1: Lease with the landlord's stamp</dt>" in clerk_page and "lease.pdf" in clerk_page
    assert "item 3: Since when have you worked for your employer?</dt>" in clerk_page
    assert "Since March 2023." in clerk_page
