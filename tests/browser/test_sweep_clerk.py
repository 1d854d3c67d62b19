"""The clerk's and the supervisor's pages through axe-core: the queue tabs with reassignment notices, the case view
with comments between agencies (and its error state), the lead's reassignment form (and its errors), the
supervision dashboard of the city and of an agency, and the extension approvals."""

from __future__ import annotations

import pytest

from tests.apply_helpers import apply_restaurant_in_browser
from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
def test_clerk_and_supervision_pages_pass_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    page, context = sweep.page, sweep.context

    sweep.sign_in("owner")
    reference = apply_restaurant_in_browser(page, live_server, shop_name="Sweep Kitchen", address=None,
                                            floor_area="20", signboard_choice=2)
    sweep.sign_in("clerk.hub")
    sweep.decide_first_task(reference)

    sweep.sign_in("lead.market")
    for tab in ("mine", "waiting_applicant", "paused", "due_soon", "overdue", "unclaimed"):
        sweep.visit(f"/work/?queue={tab}", f"queue tab {tab}")
    with page.expect_navigation():
        page.click(f"a:text('{reference}')")
    sweep.check("case view with comments")
    task_path = page.url.split(live_server, 1)[1].split("#")[0]
    sweep.submit(".comment-form button[type=submit]")
    sweep.check("comment with errors")
    page.fill("#comment-body", "请环保局一并核查排污设施")
    sweep.submit(".comment-form button[type=submit]")
    sweep.check("case view after a comment")
    sweep.visit(task_path + "/reassign", "reassign form")
    sweep.submit()
    sweep.check("reassign form with errors")
    page.check("#to_clerk-1")
    page.fill("#reason", "林市监熟悉此企业")
    sweep.submit()
    sweep.check("case view after reassigning")

    for local in ("clerk.market", "clerk.env"):
        sweep.sign_in(local)
        sweep.visit("/work/?queue=mine", f"{local} queue with notices")
    sweep.sign_in("supervisor")
    sweep.visit("/supervision/dashboard", "city dashboard")
    sweep.sign_in("supervisor.market")
    sweep.visit("/supervision/dashboard", "agency dashboard")
    sweep.visit("/supervision/", "extension approvals")
    context.close()
    assert not sweep.problems, "\n".join(sweep.problems)
