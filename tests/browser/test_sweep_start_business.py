"""The start-a-business service's pages through axe-core in each language, error states included: the service page,
the eligibility check, every question page (checkboxes and a long text among them), the documents, check your
answers, the confirmation; then the lead window and each of the five agencies' task pages, and the founder's pages
once the company is registered."""

from __future__ import annotations

import pytest

from tests.browser.journeys import walk_journey
from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser

ANSWERS = [
    ("name", {"#company_name": "广州示例科技有限公司"}),
    ("type", {"#company_type-1": None}),
    ("address", {"#registered_address": "广州市天河区示例大道9号"}),
    ("capital", {"#registered_capital": "100"}),
    ("scope", {"#business_scope": "软件开发；信息技术咨询服务"}),
    ("employees", {"#employees": "8"}),
    ("seals", {"#seals-1": None, "#seals-2": None}),
    ("contact", {"#mobile": "13900139000"}),
]
AGENCIES = ("market", "police", "tax", "hrss", "housingfund")


@pytest.mark.parametrize("language", LANGUAGES)
def test_start_business_pages_pass_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    sweep.visit("/services/start_business", "start a business: service page")
    sweep.visit("/services/start_business/eligibility", "start a business: eligibility questions")
    sweep.submit()
    sweep.check("start a business: eligibility questions with errors")

    sweep.sign_in("resident2")
    reference = walk_journey(sweep, "start_business", "start a business", ANSWERS)
    sweep.sign_in("clerk.hub")
    sweep.decide_first_task(reference)
    for agency in AGENCIES:
        sweep.sign_in(f"clerk.{agency}")
        sweep.decide_first_task(reference, with_error_state=agency == "tax")
    sweep.sign_in("resident2")
    sweep.visit("/me/", "start a business: the founder's page with the new company")
    sweep.visit(f"/me/cases/{reference}", "start a business: the approved case")
    sweep.context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)
