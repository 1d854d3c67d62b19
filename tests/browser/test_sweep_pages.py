"""The service pages through axe-core in each language: the person's page, the enterprise's page with its
mandates (grant with its error state, revoke with its confirmation) and its activity, "acting as", the agent's
view, a case's timeline, rating a decided case (with its error state) and the supervisors' follow-up of poor
ratings."""

from __future__ import annotations

import datetime as dt

import pytest

from services import clock
from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser
# Each language rates a different demo holder's decided case (a case is rated once).
RATER = {"zh_Hans_CN": "owner", "zh_Hant_HK": "resident", "en": "resident2"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_service_pages_pass_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    page, context = sweep.page, sweep.context

    sweep.sign_in("owner")
    sweep.visit("/me/", "resident page")
    enterprise_path = page.locator("a[href^='/me/enterprises/']").first.get_attribute("href")
    sweep.visit(enterprise_path, "enterprise page")
    sweep.visit(enterprise_path + "activity", "what was done for the enterprise")
    sweep.visit(enterprise_path + "mandates/new", "grant a mandate")
    sweep.submit()
    sweep.check("grant a mandate with errors")
    page.fill("#agent_name", "李四")
    page.fill("#agent_id_number", "440104199206074560")
    page.check("#scope-2")
    page.check("#bundles-1")
    page.fill("#expires_on", (clock.today() + dt.timedelta(days=200)).isoformat())
    sweep.submit()
    sweep.check("enterprise page with a new mandate")
    revoke = page.locator("a[href$='/revoke']").first.get_attribute("href")  # the newest: the one just granted
    sweep.visit(revoke, "revoke confirmation")
    sweep.submit()
    sweep.check("enterprise page after revoking")

    sweep.sign_in("agent")
    sweep.visit("/me/acting-as", "acting as")
    page.check("#act_as-2")
    sweep.submit()
    sweep.check("enterprise page for an agent")
    sweep.visit("/me/acting-as", "acting as an enterprise")
    page.check("#act_as-1")
    sweep.submit()
    sweep.check("resident page after switching back")

    sweep.sign_in(RATER[language])
    page.goto(live_server + "/me/")
    if page.locator("a[href$='/rating']").count() == 0:
        page.goto(live_server + page.locator("a[href^='/me/enterprises/']").first.get_attribute("href"))
    rating = page.locator("a[href$='/rating']").first.get_attribute("href")
    case_path = rating.rsplit("/", 1)[0]
    sweep.visit(case_path, "case page with its timeline")
    sweep.visit(rating, "rate the service")
    sweep.submit()
    sweep.check("rate the service with errors")
    page.check("#score-5")
    page.check("#tags-1")
    page.fill("#comment", "超过了承诺时限")
    sweep.submit()
    sweep.check("case page after rating")

    sweep.sign_in("supervisor")
    sweep.visit("/supervision/follow-ups", "follow-ups")
    form = page.locator("main form").first
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    sweep.check("follow-ups with errors")
    form = page.locator("main form").first
    form.locator("textarea").fill("已致电申请人并核查办理时限")
    form.locator("input[value=close]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    sweep.check("follow-ups after closing one")
    sweep.visit("/supervision/follow-ups?state=closed", "closed follow-ups")
    context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)
