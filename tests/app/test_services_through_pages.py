"""Every service as its definition says, through the real pages: each agency's clerks see that case's own answers
(masked where the definition says) and its files under their material items; every licence names the right holder
and carries its lines, scope and conditions; a second permit for the same premises is refused."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from services import clock
from services.applications.models import Application, CaseStatus
from services.licences.models import Licence, LicenceStatus
from tests.app.test_slice import decide, open_task_id
from tests.apply_helpers import (
    apply_newborn,
    apply_restaurant,
    apply_start_business,
    reference_of,
)
from tests.jobs import run_pending_jobs


def task_page(client, sign_in_as, agency: str, reference: str) -> tuple[int, str]:
    sign_in_as(f"clerk.{agency}")
    client.set_cookie("lang", "en")
    task_id = open_task_id(client, reference)
    return task_id, client.get(f"/work/tasks/{task_id}").get_data(as_text=True)


def answers_table(html: str) -> dict[str, str]:
    """The rows of the task page's application table, as text."""
    table = html[html.index('<table class="facts">'):html.index("</table>")]
    rows = re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', table, re.S)
    return {unescape(re.sub(r"\s+", " ", k).strip()): unescape(re.sub(r"\s+", " ", v).strip()) for k, v in rows}


def accept_and_collect(client, sign_in_as, reference: str, agencies) -> dict[str, tuple[int, str]]:
    sign_in_as("clerk.hub")
    accepted, _ = decide(client, open_task_id(client, reference), "accept")
    assert accepted.status_code == 302
    return {agency: task_page(client, sign_in_as, agency, reference) for agency in agencies}


def approve_all(client, sign_in_as, pages: dict, opinions: dict | None = None) -> None:
    for agency, (task_id, _html) in pages.items():
        sign_in_as(f"clerk.{agency}")
        decided, _ = decide(client, task_id, "approve", (opinions or {}).get(agency, ""))
        assert decided.status_code == 302, agency


def test_newborn_clerks_see_the_child_and_the_parents_and_the_licences_name_the_child(app, client, db, sign_in_as):
    sign_in_as("resident")
    response, _ = apply_newborn(client)
    reference = reference_of(response)
    pages = accept_and_collect(client, sign_in_as, reference, ("health", "police", "medical", "hrss"))

    health = answers_table(pages["health"][1])
    assert health["The baby's full name"] == "张小宝" and health["The baby's sex"] == "Female"
    assert health["Hospital or clinic where the baby was born"] == "广州市妇女儿童医疗中心"
    assert health["The mother's resident identity number"] == "440104199206074560"  # in full: it is printed
    assert health["The father's full name"] == "张三"
    assert "Name of the restaurant" not in pages["health"][1] and "Floor area" not in pages["health"][1]
    medical = answers_table(pages["medical"][1])
    assert medical["The mother's resident identity number"] == "440***********4560"  # masked for this agency
    assert "Hospital or clinic where the baby was born" not in medical
    police = answers_table(pages["police"][1])
    assert police["Address of the household registration the baby joins"] == "广州市越秀区示例街2号"
    # Files under their items' titles.
    assert "<dt>The hospital's record of the birth</dt>" in pages["health"][1].replace("&#39;", "'")
    assert "birth_record.pdf" in pages["health"][1]

    approve_all(client, sign_in_as, pages)
    run_pending_jobs(app)
    db.expire_all()
    application = db.scalar(select(Application).where(Application.reference == reference))
    licences = {lic.licence_type.code: lic for lic in db.scalars(select(Licence).where(
        Licence.application_id == application.id))}
    certificate = licences["birth_medical_certificate"]
    assert certificate.holder_name == "张小宝" and certificate.holder_identifier == ""
    assert certificate.holder_account_id == application.applicant_id  # in the parent's wallet
    lines = {line["label"]["en"]: line["value"] for line in certificate.details["lines"]}
    assert lines["Sex"]["zh"] == "女" and lines["Sex"]["en"] == "Female"
    assert lines["Mother"]["zh"] == "李四" and lines["Mother's identity number"]["zh"] == "440***********4560"
    assert certificate.scope == "" and certificate.conditions is None
    card = licences["social_security_card"]
    assert card.holder_name == "张小宝"
    assert {line["label"]["en"]: line["value"]["zh"] for line in card.details["lines"]}["Guardian"] == "张三"


def test_restaurant_clerks_and_licences(app, client, db, sign_in_as):
    sign_in_as("owner")
    response, _ = apply_restaurant(client, floor_area="120", signboard="yes")
    reference = reference_of(response)
    pages = accept_and_collect(client, sign_in_as, reference, ("market", "fire", "urban", "env"))
    market = answers_table(pages["market"][1])
    assert market["Name of the restaurant"] == "示例小馆"
    assert market["Address of the premises"] == "广州市天河区示例路1号"
    assert market["Food business categories"] == "Hot food made and sold on site, Drinks made and sold on site"
    assert "Where the signboard will be" not in market
    urban = answers_table(pages["urban"][1])
    assert urban["Where the signboard will be"] == "首层临街外墙"
    assert urban["Area of the signboard in square metres"] == "4"
    fire = pages["fire"][1]
    assert "<dt>Fire-safety layout drawings</dt>" in fire
    assert "<dt>Proof of premises (property certificate or lease)</dt>" in fire

    approve_all(client, sign_in_as, pages, {"fire": "每年进行一次消防演练。"})
    run_pending_jobs(app)
    db.expire_all()
    application = db.scalar(select(Application).where(Application.reference == reference))
    assert application.status == CaseStatus.APPROVED
    licences = {lic.licence_type.code: lic for lic in db.scalars(select(Licence).where(
        Licence.application_id == application.id))}
    assert set(licences) == {"food_business_permit", "fire_safety_certificate", "signboard_permit"}
    permit = licences["food_business_permit"]
    assert permit.holder_name == "广州示例餐饮有限公司" and permit.holder_identifier == "91440106MA5CN8QX19"
    assert permit.scope == "经营项目：热食类食品制售、自制饮品制售"
    assert permit.details["scope"]["en"] == "Categories: Hot food made and sold on site, Drinks made and sold on site"
    assert {line["label"]["en"]: line["value"]["zh"] for line in permit.details["lines"]} == {
        "Name of the restaurant": "示例小馆", "Premises": "广州市天河区示例路1号"}
    assert permit.conditions is None  # the market clerk wrote nothing: no conditions, and never as the scope
    fire_certificate = licences["fire_safety_certificate"]
    assert fire_certificate.conditions == "每年进行一次消防演练。" and fire_certificate.scope == ""
    assert {line["label"]["en"]: line["value"]["zh"] for line in fire_certificate.details["lines"]}["Floor area"] \
        == "120平方米"
    signboard = licences["signboard_permit"]
    assert {line["label"]["en"]: line["value"]["en"] for line in signboard.details["lines"]}["Area"] == "4 m²"

    # The owner's case page lists them; the public page shows what the licence says.
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    case_page = client.get(f"/me/cases/{reference}").get_data(as_text=True)
    assert all(lic.number in case_page for lic in licences.values())
    public = client.get(f"/verify/{permit.number}").get_data(as_text=True)
    assert "广州市天河区示例路1号" in public and "Categories: Hot food made and sold on site" in public


def test_a_second_permit_for_the_same_premises_is_refused(app, client, db, sign_in_as):
    """Told on the page that names the premises, not after every document has been uploaded."""
    from services.licences.demo import RESTAURANT_ANSWERS, demo_case_licences
    from tests.apply_helpers import RESTAURANT_PAGES, post_page, start

    (held,) = demo_case_licences(db, "owner", "open_restaurant", RESTAURANT_ANSWERS, for_enterprise=True,
                                 key_dir=app.config["KEY_DIR"], public_url=app.config["PUBLIC_URL"])
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    draft_id = start(client, "open_restaurant")
    chosen = re.search(r'name="enterprise" value="(\d+)"',
                       client.get(f"/me/drafts/{draft_id}/pages/enterprise").get_data(as_text=True)).group(1)
    assert post_page(client, draft_id, "enterprise", {"enterprise": chosen}).status_code == 302
    slug = next(slug for slug, answers in RESTAURANT_PAGES.items() if "address" in answers)
    response = post_page(client, draft_id, slug, {**RESTAURANT_PAGES[slug], "address": RESTAURANT_ANSWERS["address"]})
    assert response.status_code == 400
    page = unescape(response.get_data(as_text=True))
    assert f"You already hold a valid Food Business Permit for this, number {held.number}" in page
    assert 'class="error-summary"' in page
    assert db.scalar(select(Application).where(Application.enterprise_id == held.holder_enterprise_id,
                                               Application.id != held.application_id)) is None
    # Other premises are another restaurant: that application is sent.
    other, _ = apply_restaurant(client, floor_area="30", signboard="no", data={"address": "广州市海珠区示例路5号"})
    assert "/submitted" in other.headers["Location"]


def test_a_second_permit_issued_in_a_race_supersedes_the_first(app, db):
    """Two applications for the same premises sent before either was decided: the later licence replaces the
    earlier one, so that never two are valid at once."""
    from services.licences.demo import RESTAURANT_ANSWERS, demo_case_licences

    keys = {"key_dir": app.config["KEY_DIR"], "public_url": app.config["PUBLIC_URL"]}
    (first,) = demo_case_licences(db, "owner", "open_restaurant", RESTAURANT_ANSWERS, for_enterprise=True, **keys)
    # The second case, submitted directly (as a race past the send-time check would), for the same address.
    import uuid

    from services.licences.demo import _account, _decide_open_tasks, submit_application
    from services.licences.service import issue_licence

    owner = _account(db, "owner")
    application = submit_application(db, owner, "open_restaurant", answers=RESTAURANT_ANSWERS, uploads=[],
                                     submission_token=uuid.uuid4().hex, storage_dir=None,
                                     enterprise_id=first.holder_enterprise_id)
    _decide_open_tasks(db, application.workflow_instance_id, clock.today())
    from services.catalogue.models import Matter
    from workflows.models import Branch

    branch = db.scalar(select(Branch).join(Matter, Matter.code == Branch.matter_code).where(
        Branch.instance_id == application.workflow_instance_id, Matter.licence_type_id.is_not(None)))
    second = issue_licence(db, branch_id=branch.id, **keys)
    db.refresh(first)
    assert first.status == LicenceStatus.SUPERSEDED and second.supersedes_id == first.id
    assert second.status == LicenceStatus.VALID


def test_start_a_business_registers_the_company_and_licenses_it(app, client, db, sign_in_as):
    from services.identity.identifiers import validate_uscc
    from services.identity.models import Enterprise

    sign_in_as("resident")
    response, _ = apply_start_business(client)
    reference = reference_of(response)
    agencies = ("market", "police", "tax", "hrss", "housingfund")
    pages = accept_and_collect(client, sign_in_as, reference, agencies)
    tax = answers_table(pages["tax"][1])
    assert tax["Name of the company"] == "广州示例科技有限公司"
    assert tax["Type of company"] == "Limited liability company"
    assert tax["Registered capital, in units of 10,000 yuan"] == "100" and tax["Number of employees"] == "8"
    police = answers_table(pages["police"][1])
    assert police["Seals"] == "Company seal, Finance seal, Invoice seal" and "Business scope" not in police
    assert "Number of employees" in answers_table(pages["housingfund"][1])

    approve_all(client, sign_in_as, pages)
    run_pending_jobs(app)
    db.expire_all()
    application = db.scalar(select(Application).where(Application.reference == reference))
    assert application.status == CaseStatus.APPROVED
    assert application.enterprise_id is None  # the founding case stays the founder's own
    company = db.get(Enterprise, application.registered_enterprise_id)
    assert company.name == "广州示例科技有限公司" and company.address == "广州市天河区示例大道9号"
    assert validate_uscc(company.uscc) == company.uscc and company.uscc.startswith("91440106")
    assert company.legal_representative_id == application.applicant_id
    (licence,) = db.scalars(select(Licence).where(Licence.application_id == application.id)).all()
    assert licence.licence_type.code == "business_licence" and licence.holder_enterprise_id == company.id
    assert licence.holder_identifier == company.uscc and licence.scope == "软件开发；信息技术咨询服务"
    lines = {line["label"]["en"]: line["value"]["zh"] for line in licence.details["lines"]}
    assert lines["Legal representative"] == "张三" and lines["Registered capital"] == "100万元"
    assert lines["Type"] == "有限责任公司"

    # The founder's page leads to the new company, its case and its licence.
    sign_in_as("resident")
    client.set_cookie("lang", "en")
    home = client.get("/me/").get_data(as_text=True)
    assert "广州示例科技有限公司" in home and "You are its legal representative." in home
    assert f"/me/enterprises/{company.id}/" in home
    assert "is registered, with the unified social credit code" in home
    assert f'href="/me/cases/{reference}"' in home  # the founding case stays in the founder's own list
    company_page = client.get(f"/me/enterprises/{company.id}/").get_data(as_text=True)
    assert licence.number in company_page


@pytest.mark.parametrize("bundle", ["open_restaurant", "newborn", "start_business"])
def test_back_after_sending_reaches_the_case(client, db, sign_in_as, bundle):
    applier = {"open_restaurant": ("owner", apply_restaurant), "newborn": ("resident", apply_newborn),
               "start_business": ("resident2", apply_start_business)}[bundle]
    sign_in_as(applier[0])
    client.set_cookie("lang", "en")
    response, _ = applier[1](client)
    reference = reference_of(response)
    draft_id = db.scalar(select(Application.source_draft_id).where(Application.reference == reference))
    for path in ("/check", "", "/pages/contact" if bundle != "open_restaurant" else "/pages/size"):
        back = client.get(f"/me/drafts/{draft_id}{path}")
        assert back.status_code == 302 and back.headers["Location"].endswith(f"/me/cases/{reference}"), path
    landed = client.get(f"/me/cases/{reference}").get_data(as_text=True)
    assert f"This application was sent as case {reference}" in landed
    # Someone else gets the same "not found" as for any draft that is not theirs.
    sign_in_as("resident2" if applier[0] != "resident2" else "resident")
    assert client.get(f"/me/drafts/{draft_id}/check").status_code == 404


def test_the_owners_page_leads_to_the_enterprises_case_and_to_do(client, db, sign_in_as):
    from tests.app.test_clocks_through_pages import post_decision

    sign_in_as("owner")
    response, _ = apply_restaurant(client, floor_area="30", signboard="no")
    reference = reference_of(response)
    sign_in_as("clerk.hub")
    post_decision(client, open_task_id(client, reference), outcome="supplement", items="租赁合同原件扫描件",
                  questions="厨房是否设有独立的排烟管道？")
    sign_in_as("owner")
    client.set_cookie("lang", "en")
    home = client.get("/me/").get_data(as_text=True)
    assert "广州示例餐饮有限公司" in home and "1 case under way" in home
    assert f'href="/me/cases/{reference}"' in home and "Send the material" in home
    assert f"See case {reference}" in home  # the message links to its case


def test_each_agency_opens_only_the_documents_its_view_lists(client, db, sign_in_as):
    """The medical security clerk matches the parents by masked numbers, so never opens their identity cards: not
    listed on the task page, and a 404 by address. The health clerk, who prints the numbers, opens them."""
    from services.applications.models import Material

    sign_in_as("resident")
    response, _ = apply_newborn(client)
    reference = reference_of(response)
    pages = accept_and_collect(client, sign_in_as, reference, ("health", "medical"))
    application = db.scalar(select(Application).where(Application.reference == reference))
    cards = db.scalar(select(Material).where(Material.application_id == application.id,
                                             Material.item_code == "parents_id_cards"))
    medical_task, medical_page = pages["medical"]
    assert "parents_id_cards.pdf" not in medical_page and "birth_record.pdf" in medical_page
    sign_in_as("clerk.medical")
    assert client.get(f"/work/tasks/{medical_task}/materials/{cards.id}").status_code == 404
    health_task, health_page = pages["health"]
    assert "parents_id_cards.pdf" in health_page
    sign_in_as("clerk.health")
    assert client.get(f"/work/tasks/{health_task}/materials/{cards.id}").status_code == 200


def test_cannot_apply_yet_leads_to_the_service_that_comes_first(client):
    client.set_cookie("lang", "en")
    page = client.get("/services/open_restaurant/eligibility?check=1&business_licence=no&premises=yes")
    html = page.get_data(as_text=True)
    assert "You cannot apply yet" in html and 'href="/services/start_business"' in html
    assert "Go to Start a business" in html


def test_a_resident_who_moved_applies_again_and_the_new_permit_replaces_the_old(app, db):
    """A person holds one residence permit (``one_per_holder``): holding one is no reason to refuse an application
    for the new address; the permit issued on it supersedes the one in force."""
    import uuid

    from services.applications.drafts import licence_already_held
    from services.applications.service import submit_application
    from services.catalogue.definitions import catalogue
    from services.licences.demo import _account, _decide_open_tasks, demo_answers, demo_case_licences
    from services.licences.service import issue_licence
    from workflows.models import Branch

    keys = {"key_dir": app.config["KEY_DIR"], "public_url": app.config["PUBLIC_URL"]}
    (first,) = demo_case_licences(db, "resident2", "residence_permit", demo_answers("residence_permit"),
                                  for_enterprise=False, **keys)
    moved = demo_answers("residence_permit", address="广州市海珠区示例大道9号")
    resident = _account(db, "resident2")
    service = catalogue().service("residence_permit")
    assert licence_already_held(db, service, moved, account=resident, enterprise_id=None,
                                renews_licence_id=None) is None
    application = submit_application(db, resident, "residence_permit", answers=moved, uploads=[],
                                     submission_token=uuid.uuid4().hex, storage_dir=None)
    _decide_open_tasks(db, application.workflow_instance_id, clock.today())
    branch = db.scalar(select(Branch).where(Branch.instance_id == application.workflow_instance_id,
                                            Branch.matter_code == "residence_permit"))
    second = issue_licence(db, branch_id=branch.id, **keys)
    db.refresh(first)
    assert first.status == LicenceStatus.SUPERSEDED and second.supersedes_id == first.id
    assert second.status == LicenceStatus.VALID and "海珠区" in second.details["scope"]["zh"]


def test_the_owner_s_own_page_leads_to_the_enterprise_s_work_and_licences(client, sign_in_as):
    """The owner holds no licence personally: /me/ says where the enterprise's cases, to-dos and licences are."""
    from services.catalogue.demo import ENTERPRISE

    sign_in_as("owner")
    client.set_cookie("lang", "en")
    page = unescape(client.get("/me/").get_data(as_text=True))
    assert "Enterprises you act for" in page and ENTERPRISE[0] in page
    assert re.search(r'href="/me/enterprises/\d+/"', page)
    assert "You hold no electronic licences personally" in page and "No electronic licences yet." not in page
    assert "You have no personal cases" in page


def test_the_same_child_cannot_be_registered_twice_by_the_other_parent(app, client, db, sign_in_as):
    """One birth medical certificate per child: 张三's case made it; 李四 is told on the parents' page."""
    from tests.apply_helpers import newborn_pages, post_page, start

    sign_in_as("resident")
    reference = reference_of(apply_newborn(client)[0])
    approve_all(client, sign_in_as, accept_and_collect(client, sign_in_as, reference,
                                                       ("health", "police", "medical", "hrss")))
    run_pending_jobs(app)
    sign_in_as("resident2")
    client.set_cookie("lang", "en")
    draft_id = start(client, "newborn")
    pages = newborn_pages()
    for slug in ("name", "sex", "birth"):
        assert post_page(client, draft_id, slug, pages[slug]).status_code == 302
    response = post_page(client, draft_id, "parents", pages["parents"])
    assert response.status_code == 400
    assert "You already hold a valid Birth Medical Certificate" in unescape(response.get_data(as_text=True))
    twin = post_page(client, draft_id, "name", {"child_name": "张小贝"})  # a twin: another child
    assert twin.status_code == 302 and post_page(client, draft_id, "parents", pages["parents"]).status_code == 302


@pytest.mark.parametrize("bundle", ["newborn", "open_restaurant", "residence_permit", "start_business"])
@pytest.mark.parametrize("language", ["en", "zh_Hans_CN", "zh_Hant_HK"])
def test_what_you_need_says_once_when_a_document_applies(client, bundle, language):
    client.set_cookie("lang", language)
    page = unescape(client.get(f"/services/{bundle}").get_data(as_text=True))
    assert ") (" not in page and "）（" not in page and "）(" not in page
