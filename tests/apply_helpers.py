"""Applying through the real pages, for every test that needs a case: the test client's journey (start, the question
pages, the documents, check your answers, send) and the same journey in a Playwright browser."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable

from services import clock
from tests.conftest import hidden_fields

# The smallest PDF a parser opens (one blank page): uploads are parsed for active content.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
# Items left empty unless a test gives files for them: optional, or satisfied by an e-licence the applicant holds.
OPTIONAL_ITEMS = {"staff_health", "current_food_permit", "current_permit"}
MATERIAL_LINK = re.compile(r'href="/me/drafts/(\d+)/materials/([a-z_]+)"')

RESTAURANT_PAGES = {
    "name-and-address": {"shop_name": "示例小馆", "address": "广州市天河区示例路1号"},
    "size": {"floor_area": "120", "seats": "40"},
    "food": {"categories": ["hot_food", "drinks"]},
    "signboard": {"signboard": "yes"},
    "signboard-details": {"signboard_location": "首层临街外墙", "signboard_area": "4"},
}
RESIDENCE_PAGES = {
    "address": {"address": "广州市天河区示例路8号"},
    "moved-in": {"moved_in": "2024-01-15"},
    "basis": {"basis": "work", "basis_detail": "广州示例科技有限公司"},
    "contact": {"mobile": "13800138000"},
}


def reference_of(response) -> str:
    return response.headers["Location"].split("/cases/")[1].split("/")[0]


def start(client, bundle_code: str) -> int:
    """Open the start page and start (or find the draft already started); return the draft id."""
    page = client.get(f"/me/apply/{bundle_code}")
    if page.status_code == 302:
        return int(page.headers["Location"].rstrip("/").split("/")[-1])
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    started = client.post(f"/me/apply/{bundle_code}", data=hidden_fields(page.get_data(as_text=True)))
    assert started.status_code == 302, started.get_data(as_text=True)[:300]
    return int(started.headers["Location"].rstrip("/").split("/")[-1])


def post_page(client, draft_id: int, slug: str, answers: dict, *, later: bool = False, query: str = ""):
    url = f"/me/drafts/{draft_id}/pages/{slug}{query}"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    form.update(answers)
    if later:
        form["later"] = "1"
    return client.post(url, data=form)


def upload(client, draft_id: int, item_code: str, files: list[tuple[bytes, str]] | None = None, **extra):
    url = f"/me/drafts/{draft_id}/materials/{item_code}"
    form = hidden_fields(client.get(url).get_data(as_text=True))
    form.update(extra)
    form["files"] = [(io.BytesIO(data), name) for data, name in (files or [])]
    return client.post(url, data=form, content_type="multipart/form-data")


def material_codes(client, draft_id: int) -> list[str]:
    html = client.get(f"/me/drafts/{draft_id}").get_data(as_text=True)
    return list(dict.fromkeys(code for _id, code in MATERIAL_LINK.findall(html)))


def fill_documents(client, draft_id: int, files: dict[str, list[tuple[bytes, str]]] | None = None) -> None:
    """A PDF for every item the task list shows, except the optional ones (unless ``files`` names them)."""
    files = files or {}
    for code in material_codes(client, draft_id):
        attached = 'id="licence-attached"' in client.get(f"/me/drafts/{draft_id}/materials/{code}").get_data(
            as_text=True)  # a held e-licence satisfies the item: nothing to upload
        default = [] if code in OPTIONAL_ITEMS or attached else [(PDF, f"{code}.pdf")]
        chosen = files.get(code, default)
        response = upload(client, draft_id, code, chosen)
        assert response.status_code == 302, (code, response.get_data(as_text=True)[:500])


def send(client, draft_id: int):
    """Check your answers, then send; returns (response, resend) where resend() posts the very same form again."""
    check = client.get(f"/me/drafts/{draft_id}/check")
    assert check.status_code == 200, check.headers.get("Location")
    form = hidden_fields(check.get_data(as_text=True))

    def resend():
        return client.post(f"/me/drafts/{draft_id}/check", data=form)

    return resend(), resend


def answer_pages(client, draft_id: int, pages: dict[str, dict]) -> None:
    for slug, answers in pages.items():
        response = post_page(client, draft_id, slug, answers)
        assert response.status_code == 302, (slug, response.get_data(as_text=True)[:800])


def apply_restaurant(client, *, floor_area: str = "120", signboard: str = "yes", data: dict | None = None,
                     files: dict[str, list[tuple[bytes, str]]] | None = None, enterprise: str | None = None):
    """The owner's whole restaurant application; returns (response of the send, resend)."""
    draft_id = start(client, "open_restaurant")
    page = client.get(f"/me/drafts/{draft_id}/pages/enterprise").get_data(as_text=True)
    chosen = enterprise or re.search(r'name="enterprise" value="(\d+)"', page).group(1)
    answer_pages(client, draft_id, {"enterprise": {"enterprise": chosen}})
    pages = {slug: dict(answers) for slug, answers in RESTAURANT_PAGES.items()}
    pages["size"]["floor_area"] = floor_area
    pages["signboard"]["signboard"] = signboard
    if signboard != "yes":
        del pages["signboard-details"]  # the page is only shown when a signboard is put up
    for slug in pages:
        pages[slug].update({k: v for k, v in (data or {}).items() if k in pages[slug]})
    answer_pages(client, draft_id, pages)
    fill_documents(client, draft_id, files)
    return send(client, draft_id)


def apply_residence_permit(client, *, data: dict | None = None, files=None):
    """A resident's residence permit application; returns (response of the send, resend)."""
    draft_id = start(client, "residence_permit")
    pages = {slug: {**answers, **{k: v for k, v in (data or {}).items() if k in answers}}
             for slug, answers in RESIDENCE_PAGES.items()}
    answer_pages(client, draft_id, pages)
    fill_documents(client, draft_id, files)
    return send(client, draft_id)


# -- the same journey in a browser ----------------------------------------------------------------------------------

_premises = itertools.count(100)


def apply_restaurant_in_browser(page, base: str, *, floor_area: str = "120", signboard_choice: int = 1,
                                shop_name: str = "示例小馆", address: str | None = None,
                                on_page: Callable[[str], None] | None = None) -> str:
    """Fill in and send the restaurant application with Playwright; ``on_page(label)`` is called on each page as it
    is shown (the accessibility sweep runs axe there). Returns the case reference from the confirmation page. Each
    call is for other premises (one food business permit per premises), unless ``address`` says which."""
    check = on_page or (lambda label: None)
    address = address or f"广州市天河区示例路{next(_premises)}号"

    def submit(selector: str = "main form button[type=submit]") -> None:
        with page.expect_navigation():
            page.click(selector)

    page.goto(base + "/me/apply/open_restaurant")
    if "/me/drafts/" not in page.url:
        check("apply: start page")
        submit()
    draft_url = page.url.split("?")[0]
    check("apply: task list")
    page.goto(draft_url + "/pages/enterprise")
    page.check("#enterprise-1")
    submit()
    page.goto(draft_url + "/pages/name-and-address")
    check("apply: name and address")
    submit()
    check("apply: name and address with errors")
    page.fill("#shop_name", shop_name)
    page.fill("#address", address)
    submit()
    check("apply: size")
    page.fill("#floor_area", floor_area)
    page.fill("#seats", "40")
    submit()
    check("apply: food categories")
    page.check("#categories-1")
    submit()
    page.check(f"#signboard-{signboard_choice}")
    submit()
    if signboard_choice == 1:
        check("apply: signboard details")
        page.fill("#signboard_location", "首层临街外墙")
        page.fill("#signboard_area", "4")
        submit()
    check("apply: task list with the questions done")
    codes = list(dict.fromkeys(re.findall(r"/materials/([a-z_]+)", page.content())))
    for index, code in enumerate(codes):
        page.goto(f"{draft_url}/materials/{code}")
        if index == 0:
            check("apply: a document")
        if code not in OPTIONAL_ITEMS:
            page.set_input_files("#files", files=[{"name": f"{code}.pdf", "mimeType": "application/pdf",
                                                   "buffer": PDF}])
        submit()
    page.goto(draft_url + "/check")
    check("apply: check your answers")
    submit()
    check("apply: confirmation")
    return page.locator(".reference").inner_text().strip()


# -- a newborn (新生儿出生一件事) ------------------------------------------------------------------------------------

def newborn_pages() -> dict[str, dict]:
    """The newborn journey's answers: 张三 (resident) and 李四 (resident2) as the parents, a baby born ten days ago."""
    import datetime as dt

    born_on = (clock.today() - dt.timedelta(days=10)).isoformat()
    return {
        "name": {"child_name": "张小宝"},
        "sex": {"child_sex": "female"},
        "birth": {"born_on": born_on, "birth_place": "广州市妇女儿童医疗中心"},
        "parents": {"mother_name": "李四", "mother_id": "440104199206074560", "father_name": "张三",
                    "father_id": "440106198803151235"},
        "household": {"household_address": "广州市越秀区示例街2号"},
        "contact": {"mobile": "13800138000"},
    }


def apply_newborn(client, *, data: dict | None = None, files=None):
    """A parent's newborn application through the real pages; returns (response of the send, resend)."""
    draft_id = start(client, "newborn")
    pages = {slug: {**answers, **{k: v for k, v in (data or {}).items() if k in answers}}
             for slug, answers in newborn_pages().items()}
    answer_pages(client, draft_id, pages)
    fill_documents(client, draft_id, files)
    return send(client, draft_id)


# -- start a business (开办企业一件事) -------------------------------------------------------------------------------

START_BUSINESS_PAGES = {
    "name": {"company_name": "广州示例科技有限公司"},
    "type": {"company_type": "llc"},
    "address": {"registered_address": "广州市天河区示例大道9号"},
    "capital": {"registered_capital": "100"},
    "scope": {"business_scope": "软件开发；信息技术咨询服务"},
    "employees": {"employees": "8"},
    "seals": {"seals": ["company", "finance", "invoice"]},
    "contact": {"mobile": "13900139000"},
}


def apply_start_business(client, *, data: dict | None = None, files=None):
    """A resident founds a company through the real pages; returns (response of the send, resend)."""
    draft_id = start(client, "start_business")
    pages = {slug: {**answers, **{k: v for k, v in (data or {}).items() if k in answers}}
             for slug, answers in START_BUSINESS_PAGES.items()}
    answer_pages(client, draft_id, pages)
    fill_documents(client, draft_id, files)
    return send(client, draft_id)
