"""Walking an applying journey in the browser, every page through axe: start, task list, each question page (first
with its errors), each document page, check your answers, the confirmation."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.apply_helpers import OPTIONAL_ITEMS, PDF


def fill(page, fields: dict) -> None:
    """Fill text fields; a value of None ticks the radio button or checkbox."""
    for selector, value in fields.items():
        if value is None:
            page.check(selector)
        else:
            page.fill(selector, value)


def _upload(page, name: str, data: bytes) -> None:
    page.set_input_files("#files", files=[{"name": name, "mimeType": "application/pdf", "buffer": data}])


def walk_journey(sweep, bundle: str, label: str, answers: list[tuple[str, dict]], *,
                 before_answer: dict[str, Callable] | None = None, refused_file: bool = False) -> str:
    """Apply for ``bundle`` with ``answers`` (page slug, fields) and return the case reference. ``before_answer``
    runs extra error states on a page before its answer; ``refused_file`` also sends a file that is not a document."""
    page = sweep.page
    page.goto(f"{sweep.base}/me/apply/{bundle}")
    if "/me/drafts/" not in page.url:
        sweep.check(f"{label}: start page")
        sweep.submit()
    draft_url = page.url.split("?")[0]
    sweep.check(f"{label}: task list (not started)")
    for slug, fields in answers:
        page.goto(f"{draft_url}/pages/{slug}")
        if slug != "contact":  # the contact page starts filled with the account's mobile number
            sweep.submit()
            sweep.check(f"{label}: {slug} with errors")
        if before_answer and slug in before_answer:
            before_answer[slug](sweep)
        fill(page, fields)
        sweep.submit()
    sweep.check(f"{label}: task list (questions done)")
    codes = list(dict.fromkeys(re.findall(r"/materials/([a-z_]+)", page.content())))
    for code in codes:
        page.goto(f"{draft_url}/materials/{code}")
        sweep.check(f"{label}: document {code}")
        if refused_file and code == codes[0]:
            _upload(page, "photo.pdf", b"not a document")
            sweep.submit()
            sweep.check(f"{label}: document with a refused file")
        if code not in OPTIONAL_ITEMS:
            _upload(page, f"{code}.pdf", PDF)
        sweep.submit()
    if refused_file:
        page.goto(f"{draft_url}/materials/{codes[0]}")
        sweep.check(f"{label}: document with a file uploaded")
    page.goto(draft_url + "/check")
    sweep.check(f"{label}: check your answers")
    sweep.submit()
    sweep.check(f"{label}: confirmation")
    return page.locator(".reference").inner_text().strip()
