"""Supervisors follow up poor ratings: an agency's supervisor sees and acts on their agency's items only, the
city's office on every agency's; actions are recorded, an item is closed once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.errors import PermissionDenied
from services.ratings import FollowUp, FollowUpAction, FollowUpState, follow_ups_for, rate_case
from tests.app.test_portal_pages import account, demo_enterprise, make_case, sign_in_id
from tests.conftest import hidden_fields


@pytest.fixture
def poor_rating(db):
    owner = account(db, "owner")
    case = make_case(db, owner, enterprise=demo_enterprise(db), outcome="approve")
    return rate_case(db, owner, case, score=2, tags=["unclear_guidance"], comment="指南写得不清楚")


def item_of(db, rating, agency: str) -> FollowUp:
    return db.scalar(select(FollowUp).where(FollowUp.rating_id == rating.id, FollowUp.agency_code == agency))


def test_each_supervisor_sees_their_agencys_items_and_the_city_sees_all(db, poor_rating):
    market = follow_ups_for(db, account(db, "supervisor.market"))
    assert {i.agency_code for i in market.items} == {"market"} and market.open_count >= 1
    city = follow_ups_for(db, account(db, "supervisor"))
    assert {"market", "fire", "urban", "env"} <= {i.agency_code for i in city.items}
    with pytest.raises(PermissionDenied):
        follow_ups_for(db, account(db, "clerk.market"))


def test_record_an_action_then_close_through_the_page(client, db, poor_rating):
    item = item_of(db, poor_rating, "market")
    sign_in_id(client, db, account(db, "supervisor.market").id)
    page = client.get("/supervision/follow-ups?lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and poor_rating.application.reference in text and "Unclear guidance" in text
    form = {k: v for k, v in hidden_fields(text).items() if k == "csrf_token" or k.startswith(f"f{item.id}-")}
    empty = client.post(f"/supervision/follow-ups/{item.id}?lang=en", data=form)
    assert empty.status_code == 400 and "Describe what you did about this rating." in empty.get_data(as_text=True)
    kept = client.post(f"/supervision/follow-ups/{item.id}",
                       data=dict(form, **{f"f{item.id}-note": "已致电申请人", f"f{item.id}-outcome": "keep"}))
    assert kept.status_code == 302
    again = client.post(f"/supervision/follow-ups/{item.id}",  # the same form twice: one action
                        data=dict(form, **{f"f{item.id}-note": "已致电申请人", f"f{item.id}-outcome": "keep"}))
    assert again.status_code == 302
    assert len(db.scalars(select(FollowUpAction).where(FollowUpAction.follow_up_id == item.id)).all()) == 1
    fresh = {k: v for k, v in hidden_fields(client.get("/supervision/follow-ups").get_data(as_text=True)).items()
             if k == "csrf_token" or k.startswith(f"f{item.id}-")}
    closed = client.post(f"/supervision/follow-ups/{item.id}",
                         data=dict(fresh, **{f"f{item.id}-note": "已修改办事指南", f"f{item.id}-outcome": "close"}))
    assert closed.status_code == 302
    db.expire_all()
    item = db.get(FollowUp, item.id)
    assert item.state == FollowUpState.CLOSED and item.closed_by == account(db, "supervisor.market").id
    history = client.get("/supervision/follow-ups?state=closed&lang=en").get_data(as_text=True)
    assert "已修改办事指南" in history and "已致电申请人" in history
    late = client.post(f"/supervision/follow-ups/{item.id}",
                       data=dict(fresh, **{f"f{item.id}-note": "再试", f"f{item.id}-outcome": "keep",
                                           f"f{item.id}-command_id": "0" * 32}))
    assert late.status_code == 302  # refused with a message, nothing recorded
    assert len(db.scalars(select(FollowUpAction).where(FollowUpAction.follow_up_id == item.id)).all()) == 2


def test_another_agencys_supervisor_and_clerks_are_refused(client, db, poor_rating):
    item = item_of(db, poor_rating, "market")
    sign_in_id(client, db, account(db, "supervisor.fire").id)
    page = client.get("/supervision/follow-ups")
    form = hidden_fields(page.get_data(as_text=True))
    refused = client.post(f"/supervision/follow-ups/{item.id}",
                          data=dict(form, **{f"f{item.id}-note": "x", f"f{item.id}-outcome": "close",
                                             f"f{item.id}-command_id": "1" * 32}))
    assert refused.status_code == 403
    db.expire_all()
    assert db.get(FollowUp, item.id).state == FollowUpState.OPEN
    assert client.post("/supervision/follow-ups/999999", data=dict(form, **{
        "f999999-note": "x", "f999999-outcome": "close", "f999999-command_id": "2" * 32})).status_code == 404
    for bad in ("?page=abc", "?page=-3", "?state=nonsense", "?page=99999999999"):
        assert client.get("/supervision/follow-ups" + bad).status_code == 200
    sign_in_id(client, db, account(db, "clerk.market").id)
    assert client.get("/supervision/follow-ups").status_code == 403
    sign_in_id(client, db, account(db, "owner").id)
    assert client.get("/supervision/follow-ups").status_code == 403


def test_the_page_costs_the_same_statements_with_few_and_many_items(client, db, database):
    from tests.app.test_query_counts import counting

    owner, city = account(db, "owner"), account(db, "supervisor")

    def statements() -> int:
        sign_in_id(client, db, city.id)
        with counting(database) as seen:
            assert client.get("/supervision/follow-ups").status_code == 200
        return len(seen)

    case = make_case(db, owner, enterprise=demo_enterprise(db), outcome="approve")
    rate_case(db, owner, case, score=1, tags=[], comment="")
    few = statements()
    for _ in range(5):
        rate_case(db, owner, make_case(db, owner, enterprise=demo_enterprise(db), outcome="reject"), score=2,
                  tags=["over_time_limit"], comment="太慢")
    db.commit()
    open_items = follow_ups_for(db, city).open_count
    assert open_items >= 4 + 5 and statements() == few, f"{few} statements with 4 items, more with {open_items}"
