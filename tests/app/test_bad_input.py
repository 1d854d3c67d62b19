"""Bad input gets a clear message, lists every problem at the top, and changes nothing; nothing yields a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.applications.models import Application, ApplicationDraft
from tests.app.test_slice import apply_for_restaurant, decide, open_task_id
from tests.apply_helpers import post_page, start, upload
from tests.conftest import hidden_fields
from workflows.models import Task
from workflows.states import TaskState


def count_applications(db) -> int:
    return db.scalar(select(func.count()).select_from(Application))


@pytest.mark.parametrize("slug, changes, field, message", [
    ("size", {"floor_area": "abc", "seats": "4"}, "floor_area", "Enter the floor area as a whole number"),
    ("size", {"floor_area": "0", "seats": "4"}, "floor_area", "between 1 and 100,000"),
    ("size", {"floor_area": "20", "seats": "-3"}, "seats", "between 0 and 10,000"),
    ("name-and-address", {"shop_name": "   ", "address": "广州"}, "shop_name", "Enter the name of the restaurant."),
    ("name-and-address", {"shop_name": "x" * 101, "address": "广州"}, "shop_name", "100 characters or fewer"),
    ("enterprise", {"enterprise": "999999"}, "enterprise", "Select the enterprise that is applying."),
    ("signboard", {"signboard": "perhaps"}, "signboard", "Select yes if you will put up an outdoor signboard."),
])
def test_apply_form_errors(client, db, sign_in_as, slug, changes, field, message):
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    draft_id = start(client, "open_restaurant")
    response = post_page(client, draft_id, slug, changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'href="#{field}"' in html and message in html
    db.expire_all()
    assert db.get(ApplicationDraft, draft_id).completed == []
    assert count_applications(db) == 0


def test_apply_without_a_file_or_with_a_file_that_is_not_a_document(client, db, sign_in_as):
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    draft_id = start(client, "open_restaurant")
    missing = upload(client, draft_id, "premises_proof", [])
    assert missing.status_code == 400 and "Upload “Proof of premises" in missing.get_data(as_text=True)
    wrong = upload(client, draft_id, "premises_proof", [(b"MZ\x90\x00 an executable pretending", "lease.pdf")])
    assert wrong.status_code == 400 and "is not a PDF, JPEG or PNG file" in wrong.get_data(as_text=True)
    assert count_applications(db) == 0


def test_garbage_posts_to_the_journey_never_give_a_500(client, db, sign_in_as):
    sign_in_as("owner")
    draft_id = start(client, "open_restaurant")
    csrf = hidden_fields(client.get(f"/me/drafts/{draft_id}").get_data(as_text=True))["csrf_token"]
    paths = [f"/me/drafts/{draft_id}/pages/{slug}" for slug in ("enterprise", "name-and-address", "size",
                                                                 "signboard")]
    residence = start(client, "residence_permit")
    paths += [f"/me/drafts/{residence}/pages/{slug}" for slug in ("address", "moved-in", "basis", "contact")]
    paths += [f"/me/drafts/{draft_id}/materials/premises_proof", f"/me/drafts/{draft_id}/check",
              f"/me/drafts/{draft_id}/files/1/remove", "/me/licences/X/renew"]
    for path in paths:
        for body in ({"csrf_token": csrf, "floor_area": ["1", "2"], "enterprise": "\x00\xff", "seats": "1e309",
                      "moved_in": ["2024-01-01", "x"], "basis": "\x00", "mobile": "+86" + "1" * 400},
                     {"csrf_token": csrf, "submission_token": "'; DROP TABLE accounts; --", "files": "not a file"}):
            assert client.post(path, data=body).status_code in (302, 400, 403, 404, 409), path
        assert client.post(path, data=b"\xff\xfe\x00garbage", content_type="multipart/form-data; boundary=x"
                           ).status_code == 400, path
    db.expire_all()
    assert db.get(ApplicationDraft, draft_id) is not None


def test_refusal_needs_reasons_and_unknown_outcomes_are_refused(client, db, sign_in_as):
    sign_in_as("owner")
    response, _ = apply_for_restaurant(client)
    reference = response.headers["Location"].split("/cases/")[1].split("/")[0]
    sign_in_as("clerk.hub")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, reference)
    bogus, _ = decide(client, task_id, "approve")  # the lead window can only accept
    assert bogus.status_code == 400 and 'href="#outcome"' in bogus.get_data(as_text=True)
    decide(client, task_id, "accept")
    sign_in_as("clerk.market")
    client.set_cookie("lang", "en")
    market_task = open_task_id(client, reference)
    refused, _ = decide(client, market_task, "reject", opinion="   ")
    assert refused.status_code == 400
    assert "Enter the reasons for the refusal" in refused.get_data(as_text=True)
    assert db.get(Task, market_task).state == TaskState.OPEN


def test_the_same_decision_posted_twice_has_one_effect(client, db, sign_in_as):
    sign_in_as("owner")
    response, _ = apply_for_restaurant(client)
    reference = response.headers["Location"].split("/cases/")[1].split("/")[0]
    sign_in_as("clerk.hub")
    task_id = open_task_id(client, reference)
    first, form = decide(client, task_id, "accept")
    second = client.post(f"/work/tasks/{task_id}", data=form)
    assert first.status_code == second.status_code == 302
    assert "success" in client.get("/work/").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Task).where(Task.agency_code == "market")) == 1


@pytest.mark.parametrize("path", ["/auth/sign-in", "/me/drafts/1/pages/size", "/work/tasks/1"])
def test_garbage_posts_never_give_a_500(client, sign_in_as, path):
    if path.startswith("/me"):
        sign_in_as("owner")
    elif path.startswith("/work"):
        sign_in_as("clerk.hub")
    csrf = hidden_fields(client.get("/auth/sign-in").get_data(as_text=True))["csrf_token"]
    for body in ({"csrf_token": csrf, "floor_area": ["1", "2"], "email": "\x00\xff"},
                 {"csrf_token": csrf, "command_id": "'; DROP TABLE accounts; --"}):
        assert client.post(path, data=body).status_code in (400, 403, 404)
    assert client.post(path, data=b"\xff\xfe\x00garbage", content_type="multipart/form-data; boundary=x"
                       ).status_code == 400


def test_unexpected_errors_get_the_500_page_in_the_readers_language(client, monkeypatch):
    import app.catalogue.routes as routes

    def broken():
        raise RuntimeError("database went away")

    monkeypatch.setattr(routes, "db_session", broken)
    response = client.get("/services/?lang=en")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.get_data(as_text=True)


def test_error_pages_speak_each_language(client):
    english = client.get("/nowhere?lang=en").get_data(as_text=True)
    chinese = client.get("/nowhere?lang=zh_Hans_CN").get_data(as_text=True)
    traditional = client.get("/nowhere?lang=zh_Hant_HK").get_data(as_text=True)
    assert "Page not found" in english and 'lang="en"' in english
    assert 'lang="zh-Hans"' in chinese and "Page not found" not in chinese
    assert 'lang="zh-Hant-HK"' in traditional and "Page not found" not in traditional


def test_a_decision_is_shown_back_for_confirmation_before_it_is_sent(client, db, sign_in_as):
    sign_in_as("owner")
    response, _ = apply_for_restaurant(client)
    reference = response.headers["Location"].split("/cases/")[1].split("/")[0]
    sign_in_as("clerk.hub")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, reference)
    form = hidden_fields(client.get(f"/work/tasks/{task_id}").get_data(as_text=True)) | {"outcome": "accept"}
    check = client.post(f"/work/tasks/{task_id}", data=form)
    assert check.status_code == 200 and "Confirm and send" in check.get_data(as_text=True)
    assert db.get(Task, task_id).state == TaskState.OPEN
    confirmed = client.post(f"/work/tasks/{task_id}", data=hidden_fields(check.get_data(as_text=True)))
    assert confirmed.status_code == 302 and db.get(Task, task_id).state == TaskState.COMPLETED
