"""The licence lifecycle pages through axe-core: the clerk's licence search, detail, status change with its error
state and confirmation, the amendment form; the holder's share pages, the shared view and a dead link."""

from __future__ import annotations

import pytest

from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
def test_licence_lifecycle_pages_pass_axe(browser, live_server, language):
    context = browser.new_context()
    context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    page = context.new_page()
    sweep = Sweep(page, live_server)

    sweep.sign_in("resident")
    page.goto(live_server + "/me/")
    share_path = page.locator("a[href$='/share']").first.get_attribute("href")
    number = share_path.split("/")[-2]
    sweep.visit(share_path, "share page")
    sweep.submit()
    sweep.check("share page with errors")
    page.check("#days-2")
    page.fill("#note", "银行")
    sweep.submit()
    sweep.check("share link created")
    shared_url = page.input_value("#share-url")
    shared_path = "/" + shared_url.split("://", 1)[1].split("/", 1)[1]
    sweep.visit(shared_path, "shared licence")
    sweep.visit(share_path, "share page with a used link")
    with page.expect_navigation():
        page.locator("form[action*='/withdraw'] button").first.click()
    sweep.check("share page after withdrawing")
    sweep.visit(shared_path, "withdrawn link")

    # The public side of a person's licence: no holder by number, and the holder check with its three answers.
    sweep.sign_in("resident2")
    sweep.visit(f"/verify/{number}", "verification of a person's licence")
    sweep.visit(f"/verify/{number}/holder", "holder check")
    sweep.submit()
    sweep.check("holder check with errors")
    page.fill("#name", "张三")
    page.fill("#identity_number", "440106198803151235")
    sweep.submit()
    sweep.check("holder check: match")
    page.fill("#identity_number", "440104199206074560")
    sweep.submit()
    sweep.check("holder check: no match")

    sweep.sign_in("clerk.police")
    sweep.visit("/work/licences", "clerk licence search")
    sweep.visit(f"/work/licences?q={number}", "clerk licence search result")
    sweep.visit(f"/work/licences/{number}", "clerk licence detail")
    sweep.visit(f"/work/licences/{number}/suspend", "suspend form")
    sweep.submit()
    sweep.check("suspend form with errors")
    page.fill("#reason", "核查中")
    sweep.submit()
    sweep.check("suspend confirmation")
    sweep.submit()
    sweep.check("licence detail after suspension")
    sweep.visit(f"/verify/{number}", "verification of a suspended licence")
    sweep.visit(f"/work/licences/{number}/reinstate", "reinstate form")
    page.fill("#reason", "核查完毕")
    sweep.submit()
    sweep.submit()
    sweep.visit(f"/work/licences/{number}/revoke", "revoke form")
    sweep.visit(f"/work/licences/{number}/amend", "amend form")
    page.fill("#holder_name", "")
    sweep.submit()
    sweep.check("amend form with errors")
    context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)
