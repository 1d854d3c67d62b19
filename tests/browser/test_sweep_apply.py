"""The applying pages through axe-core in each language, error states included: the eligibility check, the start page,
the task list, every question page, a document page with a refused file, check your answers, the confirmation, a
renewal and its draft deleted, the clerk's view of an attached e-licence and the itemised supplement answer."""

from __future__ import annotations

import re

import pytest

from tests.apply_helpers import PDF
from tests.browser.journeys import walk_journey
from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep, _choose

pytestmark = pytest.mark.browser
RESIDENCE_ANSWERS = [
    ("address", {"#address": "广州市天河区示例路8号"}),
    ("moved-in", {"#moved_in": "2024-01-15"}),
    ("basis", {"#basis-1": None, "#basis_detail": "广州示例科技有限公司"}),
    ("contact", {"#mobile": "13900139000"}),
]


def _residence_permit(sweep: Sweep) -> str:
    """李四 applies for a residence permit, every page checked (each question page also with its errors)."""
    return walk_journey(sweep, "residence_permit", "residence permit", RESIDENCE_ANSWERS, refused_file=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_applying_pages_pass_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    page, context = sweep.page, sweep.context

    sweep.visit("/services/residence_permit", "bundle page with the eligibility check")
    sweep.visit("/services/residence_permit/eligibility", "eligibility questions")
    sweep.submit()
    sweep.check("eligibility questions with errors")
    sweep.visit("/services/residence_permit/eligibility?check=1&local_hukou=no&six_months=no&stable_basis=yes",
                "eligibility: cannot apply")
    sweep.visit("/services/residence_permit/eligibility?check=1&local_hukou=no&six_months=yes&stable_basis=yes",
                "eligibility: can apply")

    sweep.sign_in("resident2")
    reference = _residence_permit(sweep)

    # 张三 renews his permit: the renewal page, the prefilled draft, then the draft deleted.
    sweep.sign_in("resident")
    page.goto(live_server + "/me/")
    number = re.search(r"/me/licences/([A-Z0-9-]+)(?:\.pdf|/renew)", page.content()).group(1)
    sweep.visit(f"/me/licences/{number}/renew", "renewal")
    sweep.submit()
    sweep.check("renewal draft")
    page.goto(page.url.split("?")[0] + "/delete")
    sweep.check("delete a draft")
    sweep.submit()

    # The clerk sees 李四's permit attached as an e-licence, then asks for more material.
    sweep.sign_in("clerk.hub")
    sweep.decide_first_task(reference)
    sweep.sign_in("clerk.police")
    page.goto(live_server + "/work/")
    with page.expect_navigation():
        page.click(f"a:text('{reference}')")
    sweep.check("clerk task with an attached e-licence")
    _choose(sweep, reference, "supplement")
    page.fill("#items", "居住证明原件照片\n劳动合同")
    sweep.submit("#decision-form button[type=submit]")
    sweep.confirm()

    sweep.sign_in("resident2")
    page.goto(f"{live_server}/me/cases/{reference}")
    request_id = re.search(rf"/me/cases/{reference}/requests/(\d+)", page.content()).group(1)
    sweep.visit(f"/me/cases/{reference}/requests/{request_id}/answer", "supplement, item by item")
    sweep.submit()
    sweep.check("supplement, item by item, with errors")
    page.set_input_files("#item_1", files=[{"name": "a.pdf", "mimeType": "application/pdf", "buffer": PDF},
                                           {"name": "b.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.set_input_files("#item_2", files=[{"name": "contract.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    sweep.submit()
    sweep.check("case after the itemised supplement")
    context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)
