"""Comments between agencies on a case: the agencies working on it talk there, nobody else reads or writes, and the
applicant never sees them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from services.applications.comments import CaseComment, comments_for, post_comment
from services.errors import PermissionDenied, ValidationFailed
from tests.app.test_workbench_tallies import accept, account, new_case, open_task
from tests.conftest import hidden_fields


@pytest.fixture
def small_case(app, db):
    """A case with the market and environment branches only (small premises, no signboard)."""
    application = new_case(app, db, floor_area=20, signboard=False)
    accept(db, application)
    db.flush()
    return application


def test_agencies_of_the_case_comment_and_others_are_refused(db, small_case):
    market, env, hub = account(db, "clerk.market"), account(db, "clerk.env"), account(db, "clerk.hub")
    command = uuid.uuid4().hex
    first = post_comment(db, market, small_case, body="  请环保局先看排污图 ", command_id=command)
    assert post_comment(db, market, small_case, body="请环保局先看排污图", command_id=command).id == first.id
    post_comment(db, env, small_case, body="已看，没问题", command_id=uuid.uuid4().hex)
    for reader in (market, env, hub):  # the lead window accepted the case: it is a party too
        assert [(c.agency_code, c.body) for c in comments_for(db, reader, small_case)] == [
            ("market", "请环保局先看排污图"), ("env", "已看，没问题")]
    for outsider in ("clerk.fire", "clerk.urban", "clerk.police", "supervisor.market", "owner"):
        with pytest.raises(PermissionDenied):
            comments_for(db, account(db, outsider), small_case)
        with pytest.raises(PermissionDenied):
            post_comment(db, account(db, outsider), small_case, body="我也想说", command_id=uuid.uuid4().hex)
    with pytest.raises(PermissionDenied):  # another agency's task of the case does not make a clerk a party
        comments_for(db, account(db, "clerk.fire"), small_case, open_task(db, small_case, "market"))
    assert len(comments_for(db, market, small_case, open_task(db, small_case, "market"))) == 2
    for body in ("", "   ", "长" * 2001):
        with pytest.raises(ValidationFailed):
            post_comment(db, market, small_case, body=body, command_id=uuid.uuid4().hex)
    with pytest.raises(ValidationFailed):  # a command id is not reusable for another comment
        post_comment(db, env, small_case, body="别的", command_id=command)
    assert db.scalar(select(func.count()).select_from(CaseComment)) == 2


def test_comments_on_the_case_view(db, client, sign_in_as, small_case):
    task = open_task(db, small_case, "market")
    sign_in_as("clerk.market")
    client.set_cookie("lang", "en")
    page = client.get(f"/work/tasks/{task.id}").get_data(as_text=True)
    assert "Comments between agencies" in page and "No comments yet." in page
    form = {k: v for k, v in hidden_fields(page).items() if k in ("csrf_token", "comment-command_id")}
    empty = client.post(f"/work/tasks/{task.id}/comments", data={**form, "comment-body": "  "})
    assert empty.status_code == 400 and 'href="#comment-body"' in empty.get_data(as_text=True)
    too_long = client.post(f"/work/tasks/{task.id}/comments", data={**form, "comment-body": "长" * 2001})
    assert too_long.status_code == 400
    posted = {**form, "comment-body": "现场核查定在周三"}
    assert client.post(f"/work/tasks/{task.id}/comments", data=posted).status_code == 302
    assert client.post(f"/work/tasks/{task.id}/comments", data=posted).status_code == 302  # the same form twice
    assert db.scalar(select(func.count()).select_from(CaseComment)) == 1
    page = client.get(f"/work/tasks/{task.id}").get_data(as_text=True)
    assert page.count("现场核查定在周三") == 1 and "Market Supervision Administration" in page
    assert account(db, "clerk.market").name in page

    sign_in_as("clerk.env")
    env_task = open_task(db, small_case, "env")
    assert "现场核查定在周三" in client.get(f"/work/tasks/{env_task.id}").get_data(as_text=True)
    sign_in_as("clerk.fire")
    token = hidden_fields(client.get("/work/").get_data(as_text=True))["csrf_token"]
    assert client.post(f"/work/tasks/{task.id}/comments", data={**posted, "csrf_token": token}).status_code == 403
    sign_in_as("owner")
    assert "现场核查定在周三" not in client.get(f"/me/cases/{small_case.reference}").get_data(as_text=True)
