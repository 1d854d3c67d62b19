"""The newborn bundle's pages through axe-core in each language, error states included: the bundle page, the
eligibility check, the task list, every question page (a bad identity number too), the documents, check your answers,
the confirmation, and the health commission clerk's task once the lead window has accepted."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.apply_helpers import OPTIONAL_ITEMS, PDF
from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser


def _answers() -> list[tuple[str, dict]]:
    born_on = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    return [
        ("name", {"#child_name": "张小宝"}),
        ("sex", {"#child_sex-1": None}),
        ("birth", {"#born_on": born_on, "#birth_place": "广州市妇女儿童医疗中心"}),
        ("parents", {"#mother_id": "440104199206074560", "#father_id": "440106198803151235"}),
        ("household", {"#household_address": "广州市越秀区示例街2号"}),
        ("contact", {"#mobile": "13800138000"}),
    ]


def _fill(page, fields: dict) -> None:
    for selector, value in fields.items():
        if value is None:
            page.check(selector)
        else:
            page.fill(selector, value)


def _newborn(sweep: Sweep) -> str:
    """张三 applies for his newborn daughter, every page checked (each question page also with its errors)."""
    page = sweep.page
    page.goto(sweep.base + "/me/apply/newborn")
    if "/me/drafts/" not in page.url:
        sweep.check("newborn: start page")
        sweep.submit()
    draft_url = page.url.split("?")[0]
    sweep.check("newborn: task list (not started)")
    for slug, fields in _answers():
        page.goto(f"{draft_url}/pages/{slug}")
        if slug != "contact":  # the contact page starts filled with the account's mobile number
            sweep.submit()
            sweep.check(f"newborn: {slug} with errors")
        if slug == "parents":
            _fill(page, {"#mother_id": "440104199206074561", "#father_id": "440106198803151235"})
            sweep.submit()
            sweep.check("newborn: parents with a wrong check character")
        _fill(page, fields)
        sweep.submit()
    sweep.check("newborn: task list (questions done)")
    codes = list(dict.fromkeys(re.findall(r"/materials/([a-z_]+)", page.content())))
    for code in codes:
        page.goto(f"{draft_url}/materials/{code}")
        sweep.check(f"newborn: document {code}")
        if code not in OPTIONAL_ITEMS:
            page.set_input_files("#files", files=[{"name": f"{code}.pdf", "mimeType": "application/pdf",
                                                   "buffer": PDF}])
        sweep.submit()
    page.goto(draft_url + "/check")
    sweep.check("newborn: check your answers")
    sweep.submit()
    sweep.check("newborn: confirmation")
    return page.locator(".reference").inner_text().strip()


@pytest.mark.parametrize("language", LANGUAGES)
def test_newborn_pages_pass_axe(browser, live_server, language):
    context = browser.new_context()
    context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    page = context.new_page()
    page.set_default_timeout(30000)
    sweep = Sweep(page, live_server)

    sweep.visit("/services/newborn", "newborn: bundle page")
    sweep.visit("/services/newborn/eligibility", "newborn: eligibility questions")
    sweep.submit()
    sweep.check("newborn: eligibility questions with errors")
    sweep.visit("/services/newborn/eligibility?check=1&born_in_hospital=no&parent_hukou=yes",
                "newborn: eligibility, cannot apply")
    sweep.visit("/services/newborn/eligibility?check=1&born_in_hospital=yes&parent_hukou=yes",
                "newborn: eligibility, can apply")

    sweep.sign_in("resident")
    reference = _newborn(sweep)

    sweep.sign_in("clerk.hub")
    sweep.decide_first_task(reference)
    sweep.sign_in("clerk.health")
    sweep.decide_first_task(reference)
    sweep.sign_in("resident")
    sweep.visit(f"/me/cases/{reference}", "newborn: case with one branch approved")
    context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)
