"""The newborn bundle's pages through axe-core in each language, error states included: the bundle page, the
eligibility check, the task list, every question page (a bad identity number too), the documents, check your answers,
the confirmation, and the health commission clerk's task once the lead window has accepted."""

from __future__ import annotations

import datetime as dt

import pytest

from services import clock
from tests.browser.journeys import fill, walk_journey
from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser


def _answers() -> list[tuple[str, dict]]:
    born_on = (clock.today() - dt.timedelta(days=10)).isoformat()
    return [
        ("name", {"#child_name": "张小宝"}),
        ("sex", {"#child_sex-1": None}),
        ("birth", {"#born_on": born_on, "#birth_place": "广州市妇女儿童医疗中心"}),
        ("parents", {"#mother_name": "李四", "#mother_id": "440104199206074560", "#father_name": "张三",
                     "#father_id": "440106198803151235"}),
        ("household", {"#household_address": "广州市越秀区示例街2号"}),
        ("contact", {"#mobile": "13800138000"}),
    ]


def _wrong_check_character(sweep) -> None:
    fill(sweep.page, {"#mother_name": "李四", "#mother_id": "440104199206074561", "#father_name": "张三",
                      "#father_id": "440106198803151235"})
    sweep.submit()
    sweep.check("newborn: parents with a wrong check character")


def _newborn(sweep) -> str:
    """张三 applies for his newborn daughter, every page checked (each question page also with its errors)."""
    return walk_journey(sweep, "newborn", "newborn", _answers(), before_answer={"parents": _wrong_check_character})


@pytest.mark.parametrize("language", LANGUAGES)
def test_newborn_pages_pass_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    context = sweep.context

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
