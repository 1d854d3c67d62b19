"""Mandates: the legal representative grants and revokes them; an agent acts for the enterprise only with a valid,
in-scope mandate (service layer and pages), switches "acting as", and the representative sees who did what."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

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
    return grant_mandate(db, owner, enterprise.id, agent_name=agent.name, agent_id_number=agent.id_number,
                         bundle_codes=list(codes),
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


def _grant(db, owner, enterprise, name: str, number: str, days: int = 5) -> Mandate:
    return grant_mandate(db, owner, enterprise.id, agent_name=name, agent_id_number=number, bundle_codes=[],
                         all_services=True, expires_on=TODAY + dt.timedelta(days=days))


def test_only_the_representative_grants_and_the_agent_is_checked(db):
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    with pytest.raises(PermissionDenied):
        grant_mandate(db, account(db, "resident"), enterprise.id, agent_name="李四",
                      agent_id_number="440104199206074560", bundle_codes=[], all_services=True,
                      expires_on=TODAY + dt.timedelta(days=5))
    cases = [("张三", "440106198803151234", "agent_identifier"), ("", "440106198803151235", "agent_name_missing"),
             ("王五", owner.id_number, "agent_is_self")]
    for name, number, code in cases:
        with pytest.raises(ValidationFailed) as failure:
            _grant(db, owner, enterprise, name, number)
        assert failure.value.code == code, number
    by_id_number = _grant(db, owner, enterprise, " 张 三", "440106198803151235")
    assert by_id_number.agent.email == "resident@demo.onewindow.test"
    with pytest.raises(ValidationFailed) as failure:
        _grant(db, owner, enterprise, "张三", "440106198803151235")
    assert failure.value.code == "agent_has_mandate"
    # A name mistyped at first ("李思"): granting again with the right one replaces that mandate, which never worked.
    mistyped = _grant(db, owner, enterprise, "李思", "440104199206074560")
    corrected = _grant(db, owner, enterprise, "李四", "440104199206074560")
    assert mistyped.revoked_at is not None and corrected.revoked_at is None
    assert corrected.agent.email == "resident2@demo.onewindow.test"
    with pytest.raises(PermissionDenied):
        revoke_mandate(db, account(db, "resident"), enterprise.id, by_id_number.id)


def test_name_and_number_must_both_match_and_no_answer_tells_whether_an_account_exists(client, db):
    """Weakness 8: the mandate form used to answer 'no resident has an account with this e-mail address or identity
    number', and named the person it found."""
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    li_si = account(db, "resident2")
    # The right number with a wrong name: recorded like any other, but 李四 gets nothing from it.
    wrong_name = _grant(db, owner, enterprise, "李五", li_si.id_number)
    assert wrong_name.agent_id is None and enterprises_of(db, li_si) == []
    # A well-formed number nobody has an account for: recorded the same way.
    nobody = _grant(db, owner, enterprise, "陈七", "11010519491231002X")
    assert nobody.agent_id is None

    sign_in_id(client, db, owner.id)
    url = f"/me/enterprises/{enterprise.id}/mandates/new"
    answers = []
    for name, number in (("张三", "440106198803151235"), ("王八", "44010319800101001X")):
        form = hidden_fields(client.get(url).get_data(as_text=True))
        response = client.post(url + "?lang=en", data=dict(form, agent_name=name, agent_id_number=number,
                                                           scope="all", expires_on="2027-06-30"))
        assert response.status_code == 302
        flashed = client.get(response.headers["Location"]).get_data(as_text=True)
        answers.append(flashed.split("is recorded.", 1)[0].rsplit(">", 1)[1].replace(name, "NAME")
                       .replace(number[:3] + "*" * 11 + number[-4:], "NUMBER"))
    # Word for word the same, whether the person has an account (张三) or not.
    assert answers[0] == answers[1] and "NAME (NUMBER)" in answers[0]


def test_a_mandate_to_someone_without_an_account_works_once_they_have_one(db):
    from services.identity.models import Account, Role

    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    _grant(db, owner, enterprise, "陈七", "11010519491231002X")
    newcomer = Account(email="chen.qi@example.cn", name="陈七", role=Role.RESIDENT, id_number="11010519491231002X",
                       password_hash="x")
    db.add(newcomer)
    db.flush()
    assert enterprises_of(db, newcomer) == [enterprise]
    namesake = Account(email="other@example.cn", name="陈八", role=Role.RESIDENT, id_number="110105194912310038",
                       password_hash="x")
    db.add(namesake)
    db.flush()
    assert enterprises_of(db, namesake) == []


def test_the_mandate_form_is_throttled_per_representative(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "MANDATE_GRANT_LIMIT", 2)
    monkeypatch.setitem(app.config, "RATELIMIT_PREFIX", f"test-{uuid.uuid4().hex[:8]}-")
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    sign_in_id(client, db, owner.id)
    url = f"/me/enterprises/{enterprise.id}/mandates/new"
    statuses = []
    for number in ("44010319800101001X", "440103198001010028", "440103198001010036"):
        form = hidden_fields(client.get(url).get_data(as_text=True))
        response = client.post(url + "?lang=en", data=dict(form, agent_name="某人", agent_id_number=number,
                                                           scope="all", expires_on="2027-06-30"))
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    assert "Try again in an hour" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Mandate).where(
        Mandate.agent_id_number == "440103198001010036")) == 0


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
    bad = client.post(url + "?lang=en", data=dict(form, agent_name="李四", agent_id_number="440104199206074560",
                                                  scope="some", expires_on="2020-01-01"))
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "There is a problem" in text
    assert "Select at least one service, or every service." in text
    for expiry, message in (("31/12/2027", "year-month-day"), ("2020-01-01", "in the future"),
                            ((TODAY + dt.timedelta(days=365 * 6)).isoformat(), "at most 5 years"),
                            ("", "year-month-day")):
        response = client.post(url + "?lang=en", data=dict(form, agent_name="李四",
                                                           agent_id_number="440104199206074560", scope="all",
                                                           expires_on=expiry))
        assert response.status_code == 400 and message in response.get_data(as_text=True), expiry
    malformed = client.post(url + "?lang=en", data=dict(form, agent_name="李四", agent_id_number="440104199206074561",
                                                        scope="all",
                                                        expires_on=(TODAY + dt.timedelta(days=30)).isoformat()))
    assert malformed.status_code == 400
    assert "does not match the others: check each digit" in malformed.get_data(as_text=True)  # the check character
    odd = client.post(url + "?lang=en", data=dict(form, agent_name="李四", agent_id_number="440104199206074560",
                                                  scope="some", bundles=["no_such_service"], expires_on="2027-01-01"))
    assert odd.status_code == 400 and "Select only the services listed." in odd.get_data(as_text=True)
    granted = client.post(url, data=dict(form, agent_name="李四", agent_id_number="440104199206074560", scope="some",
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


def _licence(db, application, type_code: str, valid_until: dt.date) -> str:
    from services.catalogue.models import Agency, LicenceType
    from services.licences.models import Licence

    licence_type = db.scalar(select(LicenceType).where(LicenceType.code == type_code))
    number = f"MARKET-{TODAY.year}-{uuid.uuid4().int % 900000 + 100000}-T"
    db.add(Licence(number=number, licence_type_id=licence_type.id,
                   agency_id=db.scalar(select(Agency.id).where(Agency.code == "market")),
                   application_id=application.id, holder_enterprise_id=application.enterprise_id,
                   holder_name=application.enterprise.name, holder_identifier=application.enterprise.uscc,
                   valid_from=TODAY - dt.timedelta(days=300), valid_until=valid_until, pdf=b"%PDF-1.7",
                   pdf_sha256="0" * 64))
    db.flush()
    return number


def test_an_agent_sees_only_the_licences_todos_and_recommendations_of_the_services_covered(client, db):
    """Weakness 7: an agent for one service saw every licence of the enterprise, its expiry to-dos and renewals."""
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    restaurant = make_case(db, owner, enterprise=enterprise)
    other_service = make_case(db, owner, enterprise=enterprise, bundle="residence_permit", answers={})
    covered = _licence(db, restaurant, "food_business_permit", TODAY + dt.timedelta(days=12))
    not_covered = _licence(db, other_service, "business_licence", TODAY + dt.timedelta(days=10))
    url = f"/me/enterprises/{enterprise.id}/?lang=en"
    sign_in_id(client, db, owner.id)
    page = client.get(url).get_data(as_text=True)
    assert page.count(covered) >= 2 and page.count(not_covered) >= 2  # listed, and due for renewal
    mandate_for(db, "resident")  # open a restaurant only
    sign_in_id(client, db, account(db, "resident").id)
    page = client.get(url).get_data(as_text=True)
    assert covered in page
    assert not_covered not in page, "a licence of a service the mandate does not cover"
    # The same in the service layer, whatever page asks.
    from services.service_pages import enterprise_page

    sp = enterprise_page(db, account(db, "resident"), enterprise.id)
    numbers = {lic.number for lic in sp.licences.items} | {lic.number for lic in sp.expiring}
    assert numbers == {covered}
    assert all(r.licence is None or r.licence.number == covered for r in sp.recommendations)
    assert all(r.bundle is None or r.bundle.code == "open_restaurant" for r in sp.recommendations)
