"""Rating a decided case: once, validated on the server; a poor rating opens follow-ups for the agencies involved."""

from __future__ import annotations

from sqlalchemy import select

from services.ratings import FollowUp, Rating
from tests.app.test_portal_pages import account, demo_enterprise, make_case, sign_in_id
from tests.conftest import hidden_fields
from workflows.models import Branch


def test_rate_an_approved_case_once(client, db):
    owner = account(db, "owner")
    case = make_case(db, owner, enterprise=demo_enterprise(db), outcome="approve")
    sign_in_id(client, db, owner.id)
    assert "Rate this service" in client.get(f"/me/cases/{case.reference}?lang=en").get_data(as_text=True)
    url = f"/me/cases/{case.reference}/rating"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    missing = client.post(url + "?lang=en", data=form)
    assert missing.status_code == 400 and "Select a rating from 1 to 5." in missing.get_data(as_text=True)
    for score in ("0", "6", "abc", ""):
        assert client.post(url, data=dict(form, score=score)).status_code == 400
    odd = client.post(url + "?lang=en", data=dict(form, score="4", tags=["bribes"]))
    assert odd.status_code == 400 and "Select only the descriptions listed." in odd.get_data(as_text=True)
    long = client.post(url + "?lang=en", data=dict(form, score="4", comment="长" * 1001))
    assert long.status_code == 400 and "1000 characters or fewer" in long.get_data(as_text=True)
    done = client.post(url, data=dict(form, score="5", tags=["polite_helpful", "fast"], comment="很好"))
    assert done.status_code == 302
    rating = db.scalar(select(Rating).where(Rating.application_id == case.id))
    assert (rating.score, rating.tags, rating.comment) == (5, ["polite_helpful", "fast"], "很好")
    assert db.scalar(select(FollowUp).where(FollowUp.rating_id == rating.id)) is None  # a good rating
    again = client.post(url, data=dict(form, score="1"))
    assert again.status_code == 302 and db.scalar(select(Rating.score).where(Rating.application_id == case.id)) == 5
    assert "You rated this service 5 out of 5" in client.get(f"/me/cases/{case.reference}?lang=en").get_data(
        as_text=True)


def test_a_poor_rating_opens_a_follow_up_for_each_agency_involved(client, db):
    owner = account(db, "owner")
    case = make_case(db, owner, enterprise=demo_enterprise(db), outcome="reject")
    sign_in_id(client, db, owner.id)
    url = f"/me/cases/{case.reference}/rating"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    response = client.post(url, data=dict(form, score="1", tags=["over_time_limit", "extra_material"],
                                          comment="要求提供指南以外的材料"))
    assert response.status_code == 302
    rating = db.scalar(select(Rating).where(Rating.application_id == case.id))
    agencies = set(db.scalars(select(Branch.agency_code).where(Branch.instance_id == case.workflow_instance_id)))
    assert {f.agency_code for f in db.scalars(select(FollowUp).where(FollowUp.rating_id == rating.id))} == agencies
    assert len(agencies) == 4


def test_running_cases_and_other_peoples_cases_cannot_be_rated(client, db):
    owner = account(db, "owner")
    running = make_case(db, owner, enterprise=demo_enterprise(db))
    decided = make_case(db, owner, enterprise=demo_enterprise(db), outcome="approve")
    sign_in_id(client, db, owner.id)
    assert "Rate this service" not in client.get(f"/me/cases/{running.reference}?lang=en").get_data(as_text=True)
    assert client.get(f"/me/cases/{running.reference}/rating").status_code == 302
    form = hidden_fields(client.get(f"/me/cases/{decided.reference}/rating").get_data(as_text=True))
    assert client.post(f"/me/cases/{running.reference}/rating", data=dict(form, score="1")).status_code == 302
    assert db.scalar(select(Rating).where(Rating.application_id == running.id)) is None
    sign_in_id(client, db, account(db, "resident").id)
    assert client.get(f"/me/cases/{decided.reference}/rating").status_code == 404
    form = hidden_fields(client.get("/me/acting-as").get_data(as_text=True))  # this session's CSRF token
    assert client.post(f"/me/cases/{decided.reference}/rating", data=dict(form, score="1")).status_code == 404
    assert client.get("/me/cases/GZ-NOPE/rating").status_code == 404
