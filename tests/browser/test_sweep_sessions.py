"""The sessions page and a locked sign-in through axe-core in each language: a resident's and a clerk's sessions,
signing out everywhere, and the sign-in page while failed sign-ins have locked an account."""

from __future__ import annotations

import pytest

from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser
# Each language locks a different account name (the live server keeps its counts across the three runs).
LOCKED = {"zh_Hans_CN": "nobody.zh", "zh_Hant_HK": "nobody.hk", "en": "nobody.en"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_sessions_and_sign_in_lock_pass_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    page = sweep.page
    try:
        sweep.sign_in("clerk.fire")
        sweep.visit("/auth/sessions", "a clerk's sessions")
        sweep.sign_in("resident")
        sweep.visit("/auth/sessions", "a resident's sessions")
        sweep.submit("main form button[type=submit]")
        sweep.check("sign-in page after signing out everywhere")
        assert page.locator(".banner-success").count() == 1

        for _ in range(6):  # five failures, then the lock
            page.goto(live_server + "/auth/sign-in")
            page.fill("#email", f"{LOCKED[language]}@demo.onewindow.test")
            page.fill("#password", "not the password")
            sweep.submit("main button[type=submit]")
        sweep.check("sign-in while locked")
        assert page.locator(".error-summary").count() == 1
    finally:
        sweep.context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)
