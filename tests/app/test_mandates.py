"""Mandates: the legal representative grants and revokes them; an agent acts for the enterprise only with a valid,
in-scope mandate (service layer and pages), switches "acting as", and the representative sees who did what."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from services import clock
from services.applications.service import case_for_applicant
from services.db import utcnow
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.identity.mandates import Mandate, grant_mandate, revoke_mandate
from services.identity.service import enterprises_of
from tests.app.test_portal_pages import account, demo_enterprise, make_case, sign_in_id
from tests.conftest import hidden_fields

TODAY = clock.today()


def mandate_for(db, agent_local="resident", *, codes=("open_restaurant",), all_services=False,
                expires_on=None) -> Mandate:
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    agent = account(db, agent_local)
    for old in db.scalars(select(Mandate).where(Mandate.agent_id == agent.id, Mandate.revoked_at.is_(None))):
        old.revoked_at = utcnow()  # the demo agent's seeded mandate, or an earlier test's
    return grant_mandate(db, owner, enterprise.id, agent_identifier=agent.email, bundle_codes=list(codes),
                         all_services=all_services, expires_on=expires_on or TODAY + dt.timedelta(days=90))


def test_enterprises_of_follows_valid_in_scope_mandates(db):
    resident, enterprise = account(db, "resident"), demo_enterprise(db)
    assert enterprises_of(db, resident) == []
    mandate = mandate_for(db)
    assert enterprises_of(db, resident) == [enterprise]
    assert enterprises_of(db, resident, bundle_code="open_restaurant") == [enterprise]
    assert enterprises_of(db, resident, bundle_code="residence_permit") == []
    assert enterprises_of(db, account(db, "owner"), bundle_code="residence_permit") == [enterprise]  # representative
    mandate.expires_on = TODAY - dt.timedelta(days=1)
    db.flush()
    assert enterprises_of(db, resident) == []
    revoked = mandate_for(db)
    revoke_mandate(db, account(db, "owner"), enterprise.id, revoked.id)
    assert enterprises_of(db, resident) == []


def test_the_demo_agent_holds_a_restaurant_mandate(db):
    agent = account(db, "agent")
    assert agent.id_number == "440105199506124319"
    assert enterprises_of(db, agent, bundle_code="open_restaurant") == [demo_enterprise(db)]
    assert enterprises_of(db, agent, bundle_code="residence_permit") == []


def test_case_access_for_an_agent_follows_the_mandate(db):
    owner, enterprise, resident = account(db, "owner"), demo_enterprise(db), account(db, "resident")
    restaurant = make_case(db, owner, enterprise=enterprise)
    other_service = make_case(db, owner, enterprise=enterprise, bundle="residence_permit", answers={})
    with pytest.raises(NotFound):
        case_for_applicant(db, resident, restaurant.reference)
    mandate = mandate_for(db)
    assert case_for_applicant(db, resident, restaurant.reference).id == restaurant.id
    with pytest.raises(NotFound):  # outside the mandate's scope
        case_for_applicant(db, resident, other_service.reference)
    revoke_mandate(db, owner, enterprise.id, mandate.id)
    with pytest.raises(NotFound):
        case_for_applicant(db, resident, restaurant.reference)


def test_only_the_representative_grants_and_the_agent_is_checked(db):
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    with pytest.raises(PermissionDenied):
        grant_mandate(db, account(db, "resident"), enterprise.id, agent_identifier="resident2@demo.onewindow.test",
                      bundle_codes=[], all_services=True, expires_on=TODAY + dt.timedelta(days=5))
    cases = [("nobody@demo.onewindow.test", "agent_unknown"), ("440106198803151234", "agent_identifier"),
             ("clerk.market@demo.onewindow.test", "agent_unknown"), (owner.email, "agent_is_self")]
    for identifier, code in cases:
        with pytest.raises(ValidationFailed) as failure:
            grant_mandate(db, owner, enterprise.id, agent_identifier=identifier, bundle_codes=[], all_services=True,
                          expires_on=TODAY + dt.timedelta(days=5))
        assert failure.value.code == code, identifier
    by_id_number = grant_mandate(db, owner, enterprise.id, agent_identifier="440106198803151235", bundle_codes=[],
                                 all_services=True, expires_on=TODAY + dt.timedelta(days=5))
    assert by_id_number.agent.email == "resident@demo.onewindow.test"
    with pytest.raises(ValidationFailed) as failure:
        grant_mandate(db, owner, enterprise.id, agent_identifier="resident@demo.onewindow.test", bundle_codes=[],
                      all_services=True, expires_on=TODAY + dt.timedelta(days=5))
    assert failure.value.code == "agent_has_mandate"
    with pytest.raises(PermissionDenied):
        revoke_mandate(db, account(db, "resident"), enterprise.id, by_id_number.id)


def test_enterprise_page_for_representative_agent_and_strangers(client, db):
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    restaurant = make_case(db, owner, enterprise=enterprise)
    other_service = make_case(db, owner, enterprise=enterprise, bundle="residence_permit", answers={})
    url = f"/me/enterprises/{enterprise.id}/?lang=en"
    sign_in_id(client, db, owner.id)
    page = client.get(url).get_data(as_text=True)
    assert restaurant.reference in page and other_service.reference in page and "Agents and their mandates" in page
    sign_in_id(client, db, account(db, "resident").id)
    assert client.get(url).status_code == 404  # no mandate: the enterprise is not even shown to exist
    assert client.get(f"/me/cases/{restaurant.reference}").status_code == 404
    mandate_for(db)
    sign_in_id(client, db, account(db, "resident").id)
    page = client.get(url).get_data(as_text=True)
    assert restaurant.reference in page and other_service.reference not in page
    assert "Agents and their mandates" not in page  # only the representative sees and changes mandates
    assert client.get(f"/me/cases/{restaurant.reference}").status_code == 200
    assert client.get(f"/me/enterprises/{enterprise.id}/mandates/new").status_code == 403
    assert client.get("/me/enterprises/999999/").status_code == 404


def test_representative_grants_and_revokes_through_the_pages(client, db):
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    sign_in_id(client, db, owner.id)
    url = f"/me/enterprises/{enterprise.id}/mandates/new"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    bad = client.post(url + "?lang=en", data=dict(form, agent="nobody@example.cn", scope="some",
                                                  expires_on="2020-01-01"))
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "There is a problem" in text
    assert "Select at least one service, or every service." in text
    for expiry, message in (("31/12/2027", "year-month-day"), ("2020-01-01", "in the future"),
                            ((TODAY + dt.timedelta(days=365 * 6)).isoformat(), "at most 5 years"),
                            ("", "year-month-day")):
        response = client.post(url + "?lang=en", data=dict(form, agent="resident2@demo.onewindow.test", scope="all",
                                                           expires_on=expiry))
        assert response.status_code == 400 and message in response.get_data(as_text=True), expiry
    unknown = client.post(url + "?lang=en", data=dict(form, agent="nobody@example.cn", scope="all",
                                                      expires_on=(TODAY + dt.timedelta(days=30)).isoformat()))
    assert "No resident has an account" in unknown.get_data(as_text=True)
    odd = client.post(url + "?lang=en", data=dict(form, agent="resident2@demo.onewindow.test", scope="some",
                                                  bundles=["no_such_service"], expires_on="2027-01-01"))
    assert odd.status_code == 400 and "Select only the services listed." in odd.get_data(as_text=True)
    granted = client.post(url, data=dict(form, agent="resident2@demo.onewindow.test", scope="some",
                                         bundles=["open_restaurant"],
                                         expires_on=(TODAY + dt.timedelta(days=30)).isoformat()))
    assert granted.status_code == 302
    mandate = db.scalar(select(Mandate).where(Mandate.agent_id == account(db, "resident2").id))
    assert mandate.bundle_codes == ["open_restaurant"] and not mandate.all_services
    page = client.get(f"/me/enterprises/{enterprise.id}/?lang=en").get_data(as_text=True)
    assert "李四" in page and "Revoke" in page
    revoke_url = f"/me/enterprises/{enterprise.id}/mandates/{mandate.id}/revoke"
    confirm = client.get(revoke_url)
    assert confirm.status_code == 200
    assert client.post(revoke_url, data=hidden_fields(confirm.get_data(as_text=True))).status_code == 302
    db.expire_all()
    assert db.get(Mandate, mandate.id).revoked_at is not None
    assert client.get(f"/me/enterprises/{enterprise.id}/mandates/999999/revoke").status_code == 404


def test_acting_as_switch_and_it_ends_with_the_mandate(client, db):
    enterprise = demo_enterprise(db)
    mandate = mandate_for(db, "resident2")
    sign_in_id(client, db, account(db, "resident2").id)
    page = client.get("/me/acting-as?lang=en")
    assert "Myself (李四)" in page.get_data(as_text=True) and enterprise.name in page.get_data(as_text=True)
    form = hidden_fields(page.get_data(as_text=True))
    assert client.post("/me/acting-as", data=dict(form, act_as="999999")).status_code == 400
    assert client.post("/me/acting-as", data=dict(form, act_as="")).status_code == 400
    switched = client.post("/me/acting-as", data=dict(form, act_as=str(enterprise.id)))
    assert switched.headers["Location"].endswith(f"/me/enterprises/{enterprise.id}/")
    home = client.get("/me/")
    assert home.status_code == 302 and home.headers["Location"].endswith(f"/me/enterprises/{enterprise.id}/")
    header = client.get("/services/?lang=en").get_data(as_text=True)
    assert f"Acting as <strong>{enterprise.name}</strong>" in header
    revoke_mandate(db, account(db, "owner"), enterprise.id, mandate.id)
    db.commit()
    assert client.get("/me/").status_code == 200  # the switch ended with the mandate
    assert "Acting as <strong>李四</strong>" in client.get("/services/?lang=en").get_data(as_text=True)
    back = hidden_fields(client.get("/me/acting-as").get_data(as_text=True))
    assert client.post("/me/acting-as", data=dict(back, act_as="self")).headers["Location"].endswith("/me/")


def test_the_representative_sees_what_agents_did(client, db):
    enterprise = demo_enterprise(db)
    mandate_for(db, "resident2")
    agents_case = make_case(db, account(db, "resident2"), enterprise=enterprise)
    sign_in_id(client, db, account(db, "owner").id)
    page = client.get(f"/me/enterprises/{enterprise.id}/?lang=en").get_data(as_text=True)
    assert f'href="/me/enterprises/{enterprise.id}/activity"' in page
    audit = client.get(f"/me/enterprises/{enterprise.id}/activity?lang=en").get_data(as_text=True)
    assert "李四" in audit and "Submitted the application" in audit and agents_case.reference in audit
    for bad in ("abc", "-1", "0"):
        assert client.get(f"/me/enterprises/{enterprise.id}/activity?audit={bad}").status_code == 200
    sign_in_id(client, db, account(db, "resident2").id)  # an agent does not see the representative's audit
    assert client.get(f"/me/enterprises/{enterprise.id}/").status_code == 200
    assert client.get(f"/me/enterprises/{enterprise.id}/activity").status_code == 404
