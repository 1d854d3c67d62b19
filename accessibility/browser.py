"""Browser accessibility sweep: headless Debian Chromium driven by Playwright, checked with axe-core.

Playwright's own browser download is unavailable here, so we launch the system Chromium, and axe-core comes from the
copy bundled inside the ``axe_playwright_python`` wheel so that no network access is needed at test time.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from importlib.resources import files
from typing import Any

from playwright.sync_api import Error as PlaywrightError

__all__ = [
    "AXE_TAGS",
    "CHROMIUM_ARGS",
    "DEFAULT_CHROMIUM_PATH",
    "axe_source",
    "axe_version",
    "chromium_path",
    "format_violations",
    "launch_browser",
    "run_axe",
]

DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"

# Headless as root in a container: no sandbox, no GPU, and no background traffic that would try to reach the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# WCAG 2.2 AA as the target; wcag22aa adds only the rules new in 2.2, so the older levels are listed too.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Runs inside the page. Only the fields we report are sent back: full axe results are large and slow to serialise.
_RUN_AXE_JS = """
async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target, html: n.html, failureSummary: n.failureSummary})),
  }));
}
"""


def chromium_path() -> str:
    """The Chromium executable: ``$CHROMIUM_PATH`` if set, else Debian's ``/usr/bin/chromium``."""
    return os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM_PATH


def launch_browser(playwright: Any) -> Any:
    """Launch headless system Chromium from a started sync ``Playwright`` object and return the ``Browser``.

    Starting Chromium costs about a second, so callers should launch once per module or session and open a new
    context per test.
    """
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS))


@functools.cache
def axe_source() -> str:
    """The text of ``axe.min.js`` bundled in the installed ``axe_playwright_python`` package (read once)."""
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def axe_version() -> str:
    """The axe-core version from the bundled script's banner (e.g. "4.12.1"), or "unknown"."""
    match = re.search(r"axe v(\d+\.\d+\.\d+)", axe_source()[:200])
    return match.group(1) if match else "unknown"


def _axe_loaded(page: Any) -> bool:
    """Whether axe-core is already defined in the page's current document."""
    return page.evaluate("() => typeof window.axe !== 'undefined' && typeof window.axe.run === 'function'")


def run_axe(page: Any) -> list[dict]:
    """Run axe-core with ``AXE_TAGS`` on the page's current document and return its violations.

    Each violation is a dict with ``id``, ``impact``, ``help``, ``helpUrl`` and ``nodes``; each node has ``target``
    (a list of CSS selectors), ``html`` and ``failureSummary``. Injection happens once per document, so calling this
    again after navigating works.
    """
    if not _axe_loaded(page):
        # Raises when a Content-Security-Policy without 'unsafe-inline' blocks the tag; handled just below.
        with contextlib.suppress(PlaywrightError):
            page.add_script_tag(content=axe_source())
        if not _axe_loaded(page):
            # Evaluating through the DevTools protocol is not subject to CSP, so the sweep still checks pages served
            # with their real security headers instead of needing a context with bypass_csp=True.
            page.evaluate(axe_source())
    return page.evaluate(_RUN_AXE_JS, AXE_TAGS)


def _target(target: Any) -> str:
    """Render an axe target; nested lists mean a path through iframes or shadow roots."""
    if isinstance(target, list):
        return " >>> ".join(_target(part) for part in target)
    return str(target)


def format_violations(violations: list[dict], url: str) -> str:
    """Describe axe violations as readable text for an assertion message, one block per rule with each element."""
    if not violations:
        return f"No accessibility violations on {url}"
    lines = [f"{len(violations)} accessibility violation(s) on {url} (axe-core {axe_version()}):"]
    for violation in violations:
        lines.append(f"- {violation.get('id')} ({violation.get('impact') or 'unknown impact'}): "
                     f"{violation.get('help', '')}")
        if violation.get("helpUrl"):
            lines.append(f"    {violation['helpUrl']}")
        for node in violation.get("nodes", []):
            lines.append(f"    at {', '.join(_target(t) for t in node.get('target', []))}")
            for summary_line in (node.get("failureSummary") or "").splitlines():
                lines.append(f"      {summary_line.strip()}")
    return "\n".join(lines)
