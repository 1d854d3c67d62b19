"""The browser accessibility sweep: every page of the slice, in each language and in its error states, through
axe-core (WCAG 2.2 AA) in Debian chromium. New pages join by being visited here."""

from __future__ import annotations

import re
import time

import pytest

from accessibility.browser import format_violations, run_axe
from tests.apply_helpers import PDF, apply_restaurant_in_browser

pytestmark = pytest.mark.browser
LANGUAGES = ["zh_Hans_CN", "zh_Hant_HK", "en"]
DECISION = "#decision-form button[type=submit]"


class Sweep:
    def __init__(self, page, base: str):
        self.page, self.base, self.problems, self.visited = page, base, [], []
        self.context = page.context

    @classmethod
    def open(cls, browser, live_server: str, language: str) -> Sweep:
        """A fresh browser context in ``language`` and a sweep on its first page (close ``sweep.context`` after)."""
        context = browser.new_context()
        context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
        page = context.new_page()
        page.set_default_timeout(30000)
        return cls(page, live_server)

    def check(self, label: str) -> None:
        """Run axe on the page as it is now, and keep what it finds."""
        self.visited.append(label)
        violations = run_axe(self.page)
        if violations:
            self.problems.append(format_violations(violations, f"{label} ({self.page.url})"))
        assert self.page.locator("h1").count() == 1, f"{label}: expected one h1"
        if self.page.locator(".error-summary").count():
            focused = self.page.evaluate("document.activeElement.classList.contains('error-summary')")
            assert focused, f"{label}: the error summary should have the focus"

    def submit(self, selector: str = "main form button[type=submit]") -> None:
        """Click a submit button and wait for the page it leads to (a redirect or the form again with errors)."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def visit(self, path: str, label: str | None = None) -> None:
        self.page.goto(self.base + path)
        self.check(label or path)

    def sign_in(self, local_part: str) -> None:
        self.page.goto(self.base + "/")
        if self.page.locator("form[action='/auth/sign-out'] button").count():
            self.submit("form[action='/auth/sign-out'] button")
        self.page.goto(self.base + "/auth/sign-in")
        self.page.fill("#email", f"{local_part}@demo.onewindow.test")
        self.page.fill("#password", "OneWindow-demo-2026")
        self.submit("main button[type=submit]")

    def decide_first_task(self, reference: str, outcome_index: int = 1, with_error_state: bool = False) -> None:
        self.visit("/work/", "clerk queue")
        with self.page.expect_navigation():
            self.page.click(f"a:text('{reference}')")
        self.check("clerk task")
        if with_error_state:
            self.submit(DECISION)
            self.check("clerk task with errors")
        self.page.check(f"#outcome-{outcome_index}")
        self.submit(DECISION)
        self.confirm()

    def wait_for_licences(self, reference: str, count: int, timeout: float = 180) -> None:
        """Open the case page and refresh it, as the applicant would, until its ``count`` licences are there: they
        are issued by jobs that run after the approval's response. The page is checked in both states."""
        self.visit(f"/me/cases/{reference}", "approved case, licences being issued or issued")
        deadline = time.monotonic() + timeout
        while self.page.locator("a[href^='/me/licences/']").count() < count:
            assert time.monotonic() < deadline, f"{reference}: the licences were not issued within {timeout} s"
            time.sleep(0.5)
            self.page.reload()
        self.check("approved case with licences")

    def confirm(self) -> None:
        """The decision is shown back for confirmation; check that page too, then send."""
        self.check("decision confirmation")
        self.submit("#confirm-form button[type=submit]")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_of_the_slice_passes_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    page, context = sweep.page, sweep.context

    for path in ("/", "/services/", "/services/?q=kbcg", "/services/?q=zzzzqq", "/services/?q=" + "x" * 101,
                 "/services/?audience=resident&agency=police", "/services/?audience=martians&agency=nosuch",
                 "/services/open_restaurant", "/no-such-page", "/verify/MARKET-2026-000001-0", "/auth/sign-in"):
        sweep.visit(path)
    sweep.submit("main button[type=submit]")
    sweep.check("sign-in with errors")
    page.goto(live_server + "/display/large?next=/services/")
    sweep.check("large text mode")
    page.goto(live_server + "/display/standard?next=/")

    sweep.sign_in("owner")
    sweep.visit("/me/", "service page (empty)")
    reference = apply_restaurant_in_browser(page, live_server, on_page=sweep.check)
    assert re.match(r"^GZ-\d{8}-\d{6}-.$", reference)
    sweep.visit(f"/me/cases/{reference}", "case waiting for acceptance")
    sweep.visit(f"/me/cases/{reference}/withdraw", "withdraw confirmation")

    sweep.sign_in("clerk.hub")
    sweep.decide_first_task(reference, with_error_state=True)
    sweep.check("queue after decision")
    for agency in ("market", "fire", "urban", "env"):
        sweep.sign_in(f"clerk.{agency}")
        sweep.decide_first_task(reference)

    sweep.sign_in("owner")
    sweep.wait_for_licences(reference, 3)
    number = page.locator("a[href^='/me/licences/']").first.get_attribute("href").split("/")[-1][:-4]
    sweep.visit("/me/", "service page with a licence")
    sweep.sign_in("clerk.hub")
    sweep.visit("/work/?queue=acceptance&due_before=yesterday", "queue filter with errors")
    sweep.visit("/work/?queue=overdue", "empty queue")
    sweep.sign_in("supervisor")
    sweep.visit("/supervision/dashboard", "supervision dashboard")
    sweep.visit(f"/verify/{number}", "public verification")
    context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)


def _apply(sweep: Sweep) -> str:
    return apply_restaurant_in_browser(sweep.page, sweep.base)


def _choose(sweep: Sweep, reference: str, value: str, **fields) -> None:
    page = sweep.page
    page.goto(sweep.base + "/work/")
    page.click(f"a:text('{reference}')")
    page.check(f"input[name=outcome][value={value}]")
    for selector, text in fields.items():
        page.fill(f"#{selector}", text)
    sweep.submit(DECISION)
    if page.locator("input[name=confirmed][value=yes]").count():
        sweep.confirm()


@pytest.mark.parametrize("language", LANGUAGES)
def test_supplement_pause_and_extension_pages_pass_axe(browser, live_server, language):
    sweep = Sweep.open(browser, live_server, language)
    page, context = sweep.page, sweep.context
    sweep.sign_in("owner")
    reference = _apply(sweep)
    sweep.sign_in("clerk.hub")
    sweep.decide_first_task(reference)

    sweep.sign_in("clerk.market")
    _choose(sweep, reference, "supplement")
    sweep.check("supplement notice with errors")
    page.fill("#items", "厨房布局平面图\n从业人员健康证明")
    sweep.submit(DECISION)
    sweep.confirm()
    page.goto(sweep.base + "/work/?queue=waiting_applicant")
    sweep.check("queue of cases waiting for the applicant")
    page.click(f"a:text('{reference}')")
    sweep.check("task waiting for the applicant")

    sweep.sign_in("clerk.fire")
    _choose(sweep, reference, "pause", opinion="消防检测", expected_days="8")
    page.goto(sweep.base + "/work/?queue=paused")
    page.click(f"a:text('{reference}')")
    sweep.check("paused task")

    sweep.sign_in("clerk.urban")
    _choose(sweep, reference, "extend", opinion="招牌结构安全评估")
    sweep.sign_in("supervisor.urban")
    sweep.visit("/supervision/", "extension requests")
    page.check("input[value=refuse]")
    sweep.submit("main section form button[type=submit]")
    sweep.check("extension decision with errors")

    sweep.sign_in("owner")
    sweep.visit(f"/me/cases/{reference}", "case with a supplement notice")
    with page.expect_navigation():
        page.click("main .notice a.button")
    sweep.check("supplement answer")
    sweep.submit()
    sweep.check("supplement answer with errors")
    for item in ("#item_1", "#item_2"):
        page.set_input_files(item, files=[{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    sweep.submit()
    sweep.check("case after the supplement")
    context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_verification_pages_pass_axe(browser, live_server, language):
    """Public verification of a licence issued through the pages: the form and its errors, the result, the HTML
    rendering of the licence and a mistyped number."""
    sweep = Sweep.open(browser, live_server, language)
    page, context = sweep.page, sweep.context
    sweep.sign_in("owner")
    reference = _apply(sweep)
    sweep.sign_in("clerk.hub")
    sweep.decide_first_task(reference)
    for agency in ("market", "fire", "urban", "env"):
        sweep.sign_in(f"clerk.{agency}")
        sweep.decide_first_task(reference)
    sweep.sign_in("owner")
    sweep.wait_for_licences(reference, 3)
    number = page.locator("a[href^='/me/licences/']").first.get_attribute("href").split("/")[-1][:-4]
    page.goto(live_server + "/")
    sweep.submit("form[action='/auth/sign-out'] button")

    sweep.visit("/verify", "verification form")
    sweep.submit()
    sweep.check("verification form with errors")
    mistyped = number[:-1] + ("0" if number[-1] != "0" else "1")
    page.fill("#number", mistyped)
    sweep.submit()
    sweep.check("verification form with a wrong check character")
    page.fill("#number", number.lower())
    sweep.submit()
    assert page.url.endswith(f"/verify/{number}")
    sweep.check("verification result")
    with page.expect_navigation():
        page.click(f"a[href='/verify/{number}/licence']")
    sweep.check("licence as a web page")
    sweep.visit(f"/verify/{mistyped}", "verification of a mistyped number")
    context.close()
    assert not sweep.problems, "\n\n".join(sweep.problems)
