"""Static accessibility checks on rendered HTML.

These checks run on every page the Flask test client fetches, so they must be fast and need no browser. They catch
the structural mistakes that templates make (missing labels, duplicate ids, broken skip links, forms without CSRF
tokens); the browser sweep in ``accessibility.browser`` catches what needs layout and CSS (contrast, focus order).
"""

from __future__ import annotations

import re
from collections import Counter
from xml.etree.ElementTree import Element

import html5lib
from html5lib.constants import E as PARSE_ERROR_MESSAGES
from html5lib.constants import entities as NAMED_ENTITIES

__all__ = ["ERROR_TITLE_PREFIXES", "assert_accessible_html", "check_html"]

# fullTree=True keeps the doctype node, which the default builder drops, so we can check it from the tree.
_TREE_BUILDER = html5lib.getTreeBuilder("etree", fullTree=True)

# GOV.UK pattern: a page re-shown with validation errors prefixes its title with "Error: " so screen reader users
# hear about the error first. Such a title still counts as beginning with the h1 when an error summary is present.
ERROR_TITLE_PREFIXES = ("Error:", "错误：", "错误:", "錯誤：", "錯誤:")

# Input types that carry their own accessible name (their value or a built-in label such as "Submit").
_SELF_NAMED_INPUT_TYPES = {"hidden", "submit", "button", "reset"}

# Elements a <label for> may point at (HTML "labelable elements"); custom elements may be form-associated.
_LABELABLE = {"button", "input", "meter", "output", "progress", "select", "textarea"}

# Contents of these are never read as text: scripts, styles, inert templates.
_NON_TEXT = {"script", "style", "template", "noscript"}

# Raw-text elements and comments: a "&name;" inside them is not a character reference.
_RAW_TEXT = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_NAMED_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _is_benign_parse_error(code: str, datavars: dict) -> bool:
    """Say whether an html5lib error is one the current WHATWG parser no longer treats as an error.

    html5lib 1.1 (2020) predates two spec changes, and reporting them would fail valid pages:
    - "expected-named-entity": html5lib flags any "&" followed by letters that do not form an entity, such as "Q&A" in
      text or "?page=2&lang=en" in an href. The spec's "ambiguous ampersand" rule only makes this an error when the
      run of letters ends in ";" (unknown-named-character-reference), which _unknown_references() checks instead.
    - "unexpected-start-tag-in-select" for <hr>: the spec has allowed <hr> separators inside <select> since 2023.
    """
    if code == "expected-named-entity":
        return True
    return code == "unexpected-start-tag-in-select" and datavars.get("name") == "hr"


def _line_col(source: str, offset: int) -> tuple[int, int]:
    """Return the 1-based line and column of a character offset, matching html5lib's positions."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _unknown_references(html: str) -> list[str]:
    """Report "&name;" references that are not HTML named entities (the half of "expected-named-entity" we keep)."""
    # Blank out raw text with same-length padding so offsets (and reported line numbers) stay true to the source.
    masked = _RAW_TEXT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), html)
    problems = []
    for match in _NAMED_REFERENCE.finditer(masked):
        if match.group(1) + ";" not in NAMED_ENTITIES:
            line, col = _line_col(html, match.start())
            problems.append(f"HTML parse error at line {line}, column {col}: "
                            f"unknown character reference {match.group()}")
    return problems


def _parse(html: str) -> tuple[Element, list[str]]:
    """Parse with html5lib, returning the document root (holding the doctype and <html>) and readable parse errors."""
    parser = html5lib.HTMLParser(strict=False, tree=_TREE_BUILDER, namespaceHTMLElements=False)
    document = parser.parse(html)
    problems = []
    for (line, col), code, datavars in parser.errors:
        if _is_benign_parse_error(code, datavars or {}):
            continue
        template = PARSE_ERROR_MESSAGES.get(code, code)
        try:
            message = template % (datavars or {})
        except (KeyError, TypeError, ValueError):
            message = code
        problems.append(f"HTML parse error at line {line}, column {col}: {message} ({code})")
    problems.extend(_unknown_references(html))
    return document, problems


def _is_html(element: Element) -> bool:
    """True for HTML elements; comments have a non-string tag and SVG/MathML tags carry a "{namespace}" prefix."""
    return isinstance(element.tag, str) and not element.tag.startswith(("{", "<"))


def _html_elements(root: Element, tag: str | None = None) -> list[Element]:
    """All HTML elements under root in document order, optionally only those with the given tag."""
    return [el for el in root.iter() if _is_html(el) and (tag is None or el.tag == tag)]


def _norm(text: str | None) -> str:
    """Collapse whitespace the way browsers do when computing names, so markup indentation does not matter."""
    return " ".join((text or "").split())


def _classes(element: Element) -> set[str]:
    """The class tokens of an element."""
    return set(element.get("class", "").split())


def _text(element: Element, skip_controls: bool = False) -> str:
    """Approximate the text a screen reader would announce for an element's content.

    Hidden subtrees (aria-hidden, hidden) and non-rendered elements are left out, images contribute their alt text.
    With skip_controls, the content of nested form controls (a <select>'s options) is left out so a wrapping
    <label> is not credited with text that only belongs to the control.
    """
    parts: list[str] = []

    def walk(el: Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else None
        hidden = el.get("aria-hidden") == "true" or el.get("hidden") is not None
        if tag is not None and not hidden and tag not in _NON_TEXT:
            if tag == "img":
                parts.append(el.get("alt", ""))
            elif not (skip_controls and tag in {"select", "textarea", "button", "input"}):
                parts.append(el.text or "")
                for child in el:
                    walk(child)
                    parts.append(child.tail or "")
                return
        # Still reached for hidden or skipped elements: only their own content is dropped, not the text after them.

    parts.append(element.text or "")
    for child in element:
        walk(child)
        parts.append(child.tail or "")
    return _norm(" ".join(parts))


def _describe(element: Element) -> str:
    """A short, recognisable rendering of an element's start tag for problem messages."""
    shown = [f'{name}="{element.get(name)}"' for name in ("type", "id", "name", "href", "class", "method", "action")
             if element.get(name) is not None]
    return "<" + " ".join([element.tag, *shown]) + ">"


def _check_document(document: Element, html_el: Element | None) -> list[str]:
    """Doctype and the language of the page."""
    problems = []
    doctypes = [el for el in document if el.tag == "<!DOCTYPE>"]
    if not doctypes:
        problems.append("Missing <!DOCTYPE html>: the page renders in quirks mode")
    else:
        doctype = doctypes[0]
        # A public id (HTML 4, XHTML 1.0) can switch browsers into limited-quirks mode; only the bare form is HTML5.
        legacy = doctype.get("publicId") or doctype.get("systemId") not in (None, "", "about:legacy-compat")
        if (doctype.text or "").lower() != "html" or legacy:
            problems.append(f"Legacy or unknown doctype <!DOCTYPE {doctype.text} ...>, expected <!DOCTYPE html>")
    if html_el is None or not _norm(html_el.get("lang")):
        problems.append('<html> has no lang attribute, so screen readers cannot pick a voice (add lang="en" or "zh")')
    return problems


def _check_title_and_heading(root: Element, has_error_summary: bool) -> list[str]:
    """One non-empty title, one h1, and the title begins with the h1's text."""
    problems = []
    titles = _html_elements(root, "title")
    headings = _html_elements(root, "h1")
    title_text = _norm("".join(titles[0].itertext())) if titles else ""
    h1_text = _text(headings[0]) if headings else ""
    if len(titles) != 1:
        problems.append(f"Expected exactly one <title>, found {len(titles)}")
    if titles and not title_text:
        problems.append("<title> is empty")
    if len(headings) != 1:
        problems.append(f"Expected exactly one <h1>, found {len(headings)}")
    if headings and not h1_text:
        problems.append("<h1> is empty")
    if title_text and h1_text:
        candidates = [title_text]
        if has_error_summary:
            candidates += [title_text[len(p):].lstrip() for p in ERROR_TITLE_PREFIXES if title_text.startswith(p)]
        if not any(candidate.startswith(h1_text) for candidate in candidates):
            problems.append(f'<title> "{title_text}" does not begin with the <h1> text "{h1_text}"')
    return problems


def _check_ids(root: Element) -> tuple[set[str], list[str]]:
    """Ids are unique, non-empty and without spaces; returns the set of ids for the reference checks."""
    problems = []
    # SVG ids live in the same document and collide with HTML ids just the same, so count every element here.
    all_ids = [el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id") is not None]
    for value, count in sorted(Counter(all_ids).items()):
        if value == "":
            problems.append(f"{count} element(s) with an empty id attribute")
        elif count > 1:
            problems.append(f'Duplicate id "{value}" ({count} elements)')
        if any(ch.isspace() for ch in value):
            problems.append(f'id "{value}" contains whitespace and cannot be referenced')
    return set(all_ids), problems


def _check_references(root: Element, ids: set[str], by_id: dict[str, Element]) -> list[str]:
    """label for, aria-labelledby and aria-describedby point at elements that exist (and can be labelled)."""
    problems = []
    for label in _html_elements(root, "label"):
        target = label.get("for")
        if target is None:
            continue
        if target not in ids:
            problems.append(f'<label for="{target}"> points to a missing id')
        else:
            el = by_id[target]
            if _is_html(el) and el.tag not in _LABELABLE and "-" not in el.tag:
                problems.append(f'<label for="{target}"> points to a <{el.tag}>, which cannot be labelled')
            elif el.tag == "input" and el.get("type", "").lower() == "hidden":
                problems.append(f'<label for="{target}"> points to a hidden input')
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attribute in ("aria-labelledby", "aria-describedby"):
            for ref in (el.get(attribute) or "").split():
                if ref not in ids:
                    problems.append(f'{_describe(el)} has {attribute}="{el.get(attribute)}" but id "{ref}" is missing')
    return problems


def _accessible_name(control: Element, labels_for: dict[str, list[Element]], parents: dict[Element, Element],
                     by_id: dict[str, Element]) -> str:
    """The name a control gets from a label, aria-label, aria-labelledby, title (or alt, for image inputs).

    placeholder is deliberately not counted: it disappears on input and is not reliably announced.
    """
    names = [_text(label, skip_controls=True) for label in labels_for.get(control.get("id") or "", [])]
    ancestor = parents.get(control)
    while ancestor is not None:
        # A wrapping <label> labels its control unless its "for" points somewhere else.
        if ancestor.tag == "label" and ancestor.get("for") in (None, control.get("id")):
            names.append(_text(ancestor, skip_controls=True))
            break
        ancestor = parents.get(ancestor)
    names.append(_norm(control.get("aria-label")))
    names.extend(_text(by_id[ref]) for ref in (control.get("aria-labelledby") or "").split() if ref in by_id)
    names.append(_norm(control.get("title")))
    if control.tag == "input" and control.get("type", "").lower() == "image":
        names.append(_norm(control.get("alt")))
    return next((name for name in names if name), "")


def _check_controls(root: Element, parents: dict[Element, Element], by_id: dict[str, Element]) -> list[str]:
    """Every visible form control has an accessible name."""
    labels_for: dict[str, list[Element]] = {}
    for label in _html_elements(root, "label"):
        if label.get("for"):
            labels_for.setdefault(label.get("for"), []).append(label)
    problems = []
    for control in _html_elements(root):
        if control.tag not in {"input", "select", "textarea"}:
            continue
        if control.tag == "input" and control.get("type", "text").lower() in _SELF_NAMED_INPUT_TYPES:
            continue
        if not _accessible_name(control, labels_for, parents, by_id):
            problems.append(f"{_describe(control)} has no accessible name (add a <label for>, aria-label, "
                            "aria-labelledby or title)")
    return problems


def _check_images_forms_links(root: Element) -> list[str]:
    """img alt, CSRF tokens on POST forms, and links that are reachable and named."""
    problems = []
    for img in _html_elements(root, "img"):
        if img.get("alt") is None:
            problems.append(f'<img src="{img.get("src", "")}"> has no alt attribute (use alt="" if decorative)')
    for form in _html_elements(root, "form"):
        if form.get("method", "get").lower() != "post":
            continue
        if not any(el.get("name") == "csrf_token" for el in _html_elements(form, "input")):
            problems.append(f"{_describe(form)} has no csrf_token input")
    for link in _html_elements(root, "a"):
        if link.get("href") is None:
            # Without href a link is not focusable: keyboard users can never reach it.
            problems.append(f"{_describe(link)} has no href: keyboard users cannot reach it")
            continue
        name = _text(link) or _norm(link.get("aria-label")) or _norm(link.get("title"))
        if not name and not link.get("aria-labelledby"):
            problems.append(f"{_describe(link)} has no text or aria-label, so screen readers announce only the URL")
    return problems


def _check_error_summaries(root: Element, ids: set[str]) -> list[str]:
    """An error summary is announced (role=alert or focused by script) and every link jumps to a field."""
    problems = []
    for summary in _html_elements(root):
        if "error-summary" not in _classes(summary):
            continue
        if summary.get("role") != "alert" and summary.get("tabindex") != "-1":
            problems.append(f'{_describe(summary)} needs role="alert" or tabindex="-1" so it is announced')
        for link in _html_elements(summary, "a"):
            href = link.get("href") or ""
            if not href.startswith("#"):
                continue
            if href[1:] not in ids:
                problems.append(f'Error summary link href="{href}" points to a missing id')
    return problems


def _is_focusable(element: Element) -> bool:
    """Whether keyboard Tab can land on the element (disabled controls and tabindex=-1 excluded)."""
    tabindex = element.get("tabindex")
    if tabindex is not None:
        try:
            return int(tabindex) >= 0
        except ValueError:
            pass
    if element.get("disabled") is not None:
        return False
    if element.tag in {"a", "area"}:
        return element.get("href") is not None
    if element.tag == "input":
        return element.get("type", "").lower() != "hidden"
    return element.tag in {"button", "select", "textarea", "summary", "iframe"} or (
        element.get("contenteditable") not in (None, "false"))


def _check_skip_link(root: Element, ids: set[str]) -> list[str]:
    """The first focusable element in <body> is a same-page link (skip link) whose target exists."""
    bodies = _html_elements(root, "body")
    if not bodies:
        return ["No <body> element"]
    first = next((el for el in _html_elements(bodies[0]) if _is_focusable(el)), None)
    if first is None:
        return ['No skip link: add <a href="#main"> as the first focusable element in <body>']
    href = first.get("href") or ""
    if first.tag != "a" or not href.startswith("#") or len(href) < 2:
        return [f'No skip link: the first focusable element in <body> is {_describe(first)}, expected a link such as '
                '<a href="#main">']
    if href[1:] not in ids:
        return [f'Skip link href="{href}" points to a missing id']
    return []


def check_html(html: str) -> list[str]:
    """Check one rendered HTML page and return human-readable accessibility problems; an empty list means it passes.

    Covers: HTML5 parse errors, doctype, ``<html lang>``, one non-empty ``<title>`` beginning with the single
    ``<h1>``'s text, unique ids, ``<label for>``/ARIA id references, accessible names on form controls, ``<img alt>``,
    ``csrf_token`` in POST forms, error summaries, the skip link, and links without href or text.
    """
    document, problems = _parse(html)
    html_el = next((el for el in document if el.tag == "html"), None)
    problems += _check_document(document, html_el)
    if html_el is None:
        return problems
    parents = {child: parent for parent in html_el.iter() for child in parent}
    ids, id_problems = _check_ids(html_el)
    # First element wins for duplicated ids, as in getElementById; the duplicate itself is already reported.
    by_id: dict[str, Element] = {}
    for el in html_el.iter():
        if isinstance(el.tag, str) and el.get("id"):
            by_id.setdefault(el.get("id"), el)
    has_error_summary = any("error-summary" in _classes(el) for el in _html_elements(html_el))
    problems += _check_title_and_heading(html_el, has_error_summary)
    problems += id_problems
    problems += _check_references(html_el, ids, by_id)
    problems += _check_controls(html_el, parents, by_id)
    problems += _check_images_forms_links(html_el)
    problems += _check_error_summaries(html_el, ids)
    problems += _check_skip_link(html_el, ids)
    return problems


def assert_accessible_html(html: str, url: str = "") -> None:
    """Raise AssertionError listing every problem ``check_html`` finds, naming the url so the failing page is clear."""
    problems = check_html(html)
    if problems:
        where = f" in {url}" if url else ""
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise AssertionError(f"{len(problems)} accessibility problem(s){where}:\n{listing}")
