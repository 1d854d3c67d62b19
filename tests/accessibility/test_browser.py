"""Browser sweep tests: system Chromium plus bundled axe-core against pages served from a throwaway local server."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import sync_playwright

from accessibility.browser import (
    AXE_TAGS,
    CHROMIUM_ARGS,
    axe_source,
    axe_version,
    chromium_path,
    format_violations,
    launch_browser,
    run_axe,
)
from accessibility.checks import check_html

pytestmark = pytest.mark.browser

GOOD_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Good page – OneWindow</title></head>
<body>
  <a href="#main">Skip to main content</a>
  <main id="main">
    <h1>Good page</h1>
    <p style="color: #0b0c0c; background: #ffffff">Readable text.</p>
    <form method="post" action="/submit">
      <input type="hidden" name="csrf_token" value="abc">
      <label for="name">Full name</label>
      <input type="text" id="name" name="name">
      <button type="submit">Continue</button>
    </form>
  </main>
</body>
</html>
"""

# Two known WCAG failures: an input with no label, and light grey text on white (about 2.3:1, AA needs 4.5:1).
BAD_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Bad page – OneWindow</title></head>
<body>
  <a href="#main">Skip to main content</a>
  <main id="main">
    <h1>Bad page</h1>
    <p id="faint" style="color: #aaaaaa; background: #ffffff">Hard to read text.</p>
    <form method="get" action="/search">
      <input type="text" id="unlabelled" name="q">
    </form>
  </main>
</body>
</html>
"""

# The Flask app sends a CSP like this; it forbids inline scripts, the way axe is normally injected.
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'"

PAGES = {
    "/good": (GOOD_PAGE, {}),
    "/bad": (BAD_PAGE, {}),
    "/good-csp": (GOOD_PAGE, {"Content-Security-Policy": STRICT_CSP}),
}


class _PageHandler(BaseHTTPRequestHandler):
    """Serves the inline PAGES; anything else is a 404."""

    def do_GET(self) -> None:
        """Return the page for the path, with its extra headers."""
        if self.path not in PAGES:
            self.send_error(404)
            return
        body, headers = PAGES[self.path]
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Keep request logs out of the pytest output."""


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A local HTTP server on an ephemeral port, serving PAGES for the whole module."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, name="a11y-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module: starting it dominates the run time."""
    if not os.path.exists(chromium_path()):
        pytest.skip(f"Chromium not found at {chromium_path()} (install Debian's chromium or set CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh context and page per test, so state (cookies, injected scripts) never leaks between tests."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def test_constants_match_the_documented_setup():
    assert CHROMIUM_ARGS == ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    assert AXE_TAGS == ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def test_chromium_path_can_be_overridden(monkeypatch):
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    assert chromium_path() == "/usr/bin/chromium"
    monkeypatch.setenv("CHROMIUM_PATH", "/opt/chromium/chrome")
    assert chromium_path() == "/opt/chromium/chrome"


def test_bundled_axe_is_found_offline():
    assert axe_source().startswith("/*! axe v")
    assert axe_version().count(".") == 2


def test_sample_pages_agree_with_static_checks():
    # The good page must be good by both measures, otherwise a clean axe run would prove little.
    assert check_html(GOOD_PAGE) == []
    assert any("no accessible name" in problem for problem in check_html(BAD_PAGE))


def test_good_page_has_no_violations(page, base_url):
    url = f"{base_url}/good"
    page.goto(url)
    violations = run_axe(page)
    assert violations == [], format_violations(violations, url)


def test_bad_page_violations_are_found(page, base_url):
    url = f"{base_url}/bad"
    page.goto(url)
    violations = run_axe(page)
    by_id = {violation["id"]: violation for violation in violations}
    assert {"label", "color-contrast"} <= set(by_id), format_violations(violations, url)
    assert by_id["label"]["nodes"][0]["target"] == ["#unlabelled"]
    assert by_id["label"]["impact"] == "critical"
    assert by_id["color-contrast"]["nodes"][0]["target"] == ["#faint"]
    assert "contrast" in by_id["color-contrast"]["nodes"][0]["failureSummary"]

    message = format_violations(violations, url)
    assert f"on {url}" in message
    assert "- label (critical): " in message
    assert "at #unlabelled" in message
    assert "at #faint" in message


def test_axe_runs_despite_strict_csp(page, base_url):
    page.goto(f"{base_url}/good-csp")
    assert run_axe(page) == []


def test_run_axe_again_after_navigation(page, base_url):
    page.goto(f"{base_url}/bad")
    assert run_axe(page)
    # Same document again: axe is already there and must not be injected twice.
    assert run_axe(page)
    page.goto(f"{base_url}/good")
    assert run_axe(page) == []


def test_format_violations_without_browser():
    violations = [{
        "id": "image-alt",
        "impact": "critical",
        "help": "Images must have alternative text",
        "helpUrl": "https://dequeuniversity.com/rules/axe/4.12/image-alt",
        "nodes": [{"target": [["iframe#x", "img.logo"]], "html": "<img>",
                   "failureSummary": "Fix any of the following:\n  Element does not have an alt attribute"}],
    }]
    message = format_violations(violations, "/apply")
    assert message.splitlines()[0].startswith("1 accessibility violation(s) on /apply (axe-core ")
    assert "- image-alt (critical): Images must have alternative text" in message
    assert "    at iframe#x >>> img.logo" in message
    assert "      Element does not have an alt attribute" in message
    assert format_violations([], "/apply") == "No accessibility violations on /apply"
