"""The clerk's whole path from the queue to a sent decision, with the keyboard only, focus always visible."""

from __future__ import annotations

import pytest

from tests.apply_helpers import apply_restaurant_in_browser

pytestmark = pytest.mark.browser


def tab_to(page, selector: str, limit: int = 80, text: str | None = None) -> None:
    """Press Tab until the element matching ``selector`` (and showing ``text``) has focus; fail if the keyboard
    cannot reach it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("([s, t]) => { const e = document.activeElement;"
                         " return !!e && e.matches(s) && (t === null || e.textContent.trim() === t); }",
                         [selector, text]):
            outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                                    " return s.outlineStyle + ' ' + s.boxShadow; }")
            assert outline.split()[0] != "none" or "rgb" in outline, f"no visible focus on {selector}"
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def press_on(page, selector: str, key: str = "Enter", text: str | None = None) -> None:
    tab_to(page, selector, text=text)
    with page.expect_navigation():
        page.keyboard.press(key)


def sign_in_with_keyboard(page, base: str, local_part: str) -> None:
    page.goto(base + "/auth/sign-in")
    tab_to(page, "#email")
    page.keyboard.type(f"{local_part}@demo.onewindow.test")
    tab_to(page, "#password")
    page.keyboard.type("OneWindow-demo-2026")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_queue_to_decision_with_the_keyboard_only(browser, live_server):
    context = browser.new_context()
    context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page = context.new_page()
    page.set_default_timeout(30000)
    # An application to work on (its form is filled with the mouse-free Playwright API; the subject is the clerk).
    sign_in_with_keyboard(page, live_server, "owner")
    reference = apply_restaurant_in_browser(page, live_server, shop_name="Keyboard Kitchen",
                                            floor_area="20", signboard_choice=2)
    context.clear_cookies()
    context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])

    sign_in_with_keyboard(page, live_server, "clerk.hub")
    page.goto(live_server + "/work/")
    # The skip link is the first stop and takes focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    press_on(page, "a", text=reference)
    tab_to(page, "#outcome-1")
    page.keyboard.press("Space")
    assert page.is_checked("#outcome-1")
    press_on(page, "#decision-form button[type=submit]")
    assert "Check your decision" in page.locator("h1").inner_text()
    press_on(page, "#confirm-form button[type=submit]")
    assert "was recorded" in page.locator(".banner").inner_text()
    assert reference not in page.locator("main table").inner_text() if page.locator("main table").count() else True
    context.close()
