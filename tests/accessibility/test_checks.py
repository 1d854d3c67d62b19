"""Unit tests for the static HTML accessibility checks: one good page, then one broken variant per rule."""

from __future__ import annotations

import pytest

from accessibility.checks import assert_accessible_html, check_html

GOOD = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Apply for a licence – OneWindow</title>
  <link rel="stylesheet" href="/static/app.css">
</head>
<body>
  <a href="#main" class="skip-link">Skip to main content</a>
  <header><a href="/"><img src="/static/logo.png" alt="OneWindow home"></a></header>
  <main id="main">
    <h1>Apply for a licence</h1>
    <p>Questions &amp; answers: see Q&A or <a href="/help?topic=1&lang=en">help</a> &copy; 2026.</p>
    <form method="post" action="/apply">
      <input type="hidden" name="csrf_token" value="abc">
      <label for="name">Full name</label>
      <input type="text" id="name" name="name" aria-describedby="name-hint">
      <div id="name-hint">As on your ID card</div>
      <label>District <select name="district"><option>Xicheng</option></select></label>
      <textarea name="notes" aria-label="Notes"></textarea>
      <span id="phone-label">Phone</span>
      <input type="tel" name="phone" aria-labelledby="phone-label">
      <input type="email" name="email" title="Email address">
      <input type="checkbox" id="agree" name="agree"><label for="agree">I agree</label>
      <img src="/static/divider.png" alt="">
      <svg aria-hidden="true" focusable="false" viewBox="0 0 1 1"><path d="M0 0"/></svg>
      <button type="submit">Continue</button>
      <input type="submit" value="Save draft">
    </form>
    <form method="get" action="/search"><label for="q">Search</label><input id="q" name="q"></form>
    <a href="/next" aria-label="Next page"><span aria-hidden="true">›</span></a>
  </main>
</body>
</html>
"""


def broken(old: str, new: str) -> str:
    """The GOOD page with one exact fragment replaced; fails loudly if the fragment is gone so tests stay honest."""
    assert old in GOOD, f"fragment not in GOOD page: {old!r}"
    return GOOD.replace(old, new, 1)


def single_problem(html: str, expected: str) -> str:
    """Assert check_html reports exactly one problem containing the expected text, and return it."""
    problems = check_html(html)
    assert len(problems) == 1, problems
    assert expected in problems[0], problems
    return problems[0]


def test_good_page_has_no_problems():
    assert check_html(GOOD) == []
    assert_accessible_html(GOOD, "/apply")


# --- parse errors -------------------------------------------------------------------------------------------------


def test_parse_error_unexpected_end_tag():
    problem = single_problem(broken("<h1>Apply for a licence</h1>", "<h1>Apply for a licence</h1></span>"),
                             "HTML parse error at line 12")
    assert "unexpected-end-tag" in problem


def test_parse_error_duplicate_attribute():
    single_problem(broken('<input type="text" id="name"', '<input type="text" type="text" id="name"'),
                   "duplicate-attribute")


def test_parse_error_trailing_solidus_on_non_void_element():
    html = broken('<div id="name-hint">As on your ID card</div>', '<div id="name-hint"/>As on your ID card</div>')
    single_problem(html, "Trailing solidus not allowed on element div")


def test_parse_error_unknown_named_reference_is_kept():
    # "&foo;" ends in ";" and names no entity: still a parse error under the current spec.
    single_problem(broken("Questions &amp; answers", "Questions &foo; answers"), "unknown character reference &foo;")


def test_ampersands_in_scripts_and_comments_are_not_references():
    html = broken("</head>", "<script>var a = x &foo; b;</script><!-- &bar; --></head>")
    assert check_html(html) == []


def test_ambiguous_ampersand_without_semicolon_is_allowed():
    # "Q&A" and "?topic=1&lang=en" are in GOOD already; html5lib 1.1 flags them, the WHATWG spec does not.
    assert "Q&A" in GOOD and "&lang=en" in GOOD
    assert check_html(GOOD) == []


def test_missing_semicolon_on_known_entity_is_an_error():
    single_problem(broken("&copy; 2026", "&copy 2026"), "named-entity-without-semicolon")


def test_hr_inside_select_is_allowed():
    html = broken("<option>Xicheng</option>", "<option>Xicheng</option><hr><option>Dongcheng</option>")
    assert check_html(html) == []


# --- document -----------------------------------------------------------------------------------------------------


def test_missing_doctype():
    problems = check_html(broken("<!DOCTYPE html>\n", ""))
    assert any("Missing <!DOCTYPE html>" in p for p in problems), problems
    assert any("expected-doctype-but-got-start-tag" in p for p in problems), problems


def test_legacy_doctype():
    problems = check_html(broken("<!DOCTYPE html>", '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN">'))
    assert any("expected <!DOCTYPE html>" in p for p in problems), problems


@pytest.mark.parametrize("replacement", ["<html>", '<html lang="">', '<html lang="  ">'])
def test_missing_or_empty_lang(replacement):
    single_problem(broken('<html lang="en">', replacement), "<html> has no lang attribute")


# --- title and h1 -------------------------------------------------------------------------------------------------


def test_missing_title():
    html = broken("<title>Apply for a licence – OneWindow</title>", "")
    single_problem(html, "Expected exactly one <title>, found 0")


def test_empty_title():
    single_problem(broken("<title>Apply for a licence – OneWindow</title>", "<title>  </title>"), "<title> is empty")


def test_two_titles():
    html = broken("</head>", "<title>Apply for a licence</title></head>")
    single_problem(html, "Expected exactly one <title>, found 2")


def test_svg_title_is_not_a_page_title():
    html = broken('<path d="M0 0"/>', '<title>Divider</title><path d="M0 0"/>')
    assert check_html(html) == []


def test_missing_h1():
    problems = check_html(broken("<h1>Apply for a licence</h1>", "<h2>Apply for a licence</h2>"))
    assert problems == ["Expected exactly one <h1>, found 0"]


def test_two_h1():
    single_problem(broken("</main>", "<h1>Apply for a licence</h1></main>"), "Expected exactly one <h1>, found 2")


def test_empty_h1():
    single_problem(broken("<h1>Apply for a licence</h1>", "<h1> </h1>"), "<h1> is empty")


def test_title_must_begin_with_h1():
    single_problem(broken("<title>Apply for a licence – OneWindow</title>", "<title>OneWindow – Apply</title>"),
                   'does not begin with the <h1> text "Apply for a licence"')


def test_title_and_h1_compared_with_normalised_whitespace():
    html = broken("<h1>Apply for a licence</h1>", "<h1>\n  Apply   for a\n licence <span>  </span></h1>")
    assert check_html(html) == []


def test_error_prefix_allowed_only_with_error_summary():
    prefixed = broken("<title>Apply for a licence", "<title>Error: Apply for a licence")
    single_problem(prefixed, "does not begin with the <h1> text")
    summary = ('<div class="error-summary" role="alert"><h2>There is a problem</h2>'
               '<ul><li><a href="#name">Enter your full name</a></li></ul></div>')
    assert check_html(prefixed.replace("<form method=\"post\"", summary + "<form method=\"post\"")) == []


# --- ids and references -------------------------------------------------------------------------------------------


def test_duplicate_ids():
    single_problem(broken("<header>", '<header id="main">'), 'Duplicate id "main" (2 elements)')


def test_empty_id():
    single_problem(broken('<header>', '<header id="">'), "empty id attribute")


def test_label_for_missing_id():
    problems = check_html(broken('<label for="name">', '<label for="full-name">'))
    assert '<label for="full-name"> points to a missing id' in problems
    # The input lost its label too, and that is reported separately.
    assert any('id="name"' in p and "no accessible name" in p for p in problems), problems


def test_label_for_non_labelable_element():
    html = broken('<label for="agree">I agree</label>', '<label for="name-hint">I agree</label>')
    problems = check_html(html)
    assert '<label for="name-hint"> points to a <div>, which cannot be labelled' in problems


def test_aria_describedby_missing_id():
    single_problem(broken('aria-describedby="name-hint"', 'aria-describedby="name-error"'),
                   'id "name-error" is missing')


# --- form controls ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "control"),
    [
        ('<textarea name="notes" aria-label="Notes">', '<textarea name="notes">', '<textarea name="notes">'),
        ('aria-label="Notes">', 'aria-label=" ">', '<textarea name="notes">'),
        ('title="Email address"', 'placeholder="Email address"', '<input type="email" name="email">'),
        ('<label>District <select', '<label><select', '<select name="district">'),
        ('<span id="phone-label">Phone</span>', '<span id="phone-label"></span>', '<input type="tel" name="phone">'),
    ],
)
def test_control_without_accessible_name(old, new, control):
    single_problem(broken(old, new), f"{control} has no accessible name")


def test_hidden_submit_and_button_inputs_need_no_label():
    html = broken("</form>", '<input type="button" value="Add"><input type="reset" value="Clear"></form>')
    assert check_html(html) == []


def test_input_without_type_is_a_text_input():
    single_problem(broken("</form>\n", '<input name="extra"></form>\n'), '<input name="extra"> has no accessible name')


# --- images, forms, links -----------------------------------------------------------------------------------------


def test_img_without_alt():
    single_problem(broken('<img src="/static/divider.png" alt="">', '<img src="/static/divider.png">'),
                   '<img src="/static/divider.png"> has no alt attribute')


def test_post_form_without_csrf_token():
    single_problem(broken('<input type="hidden" name="csrf_token" value="abc">', ""),
                   '<form method="post" action="/apply"> has no csrf_token input')


def test_post_method_is_case_insensitive():
    html = broken('<form method="get" action="/search">', '<form method="POST" action="/search">')
    single_problem(html, "has no csrf_token input")


def test_link_without_text():
    single_problem(broken('<a href="/next" aria-label="Next page">', '<a href="/next">'),
                   '<a href="/next"> has no text or aria-label')


def test_link_with_only_empty_alt_image():
    single_problem(broken('alt="OneWindow home"', 'alt=""'), '<a href="/"> has no text or aria-label')


def test_link_without_href():
    single_problem(broken('<a href="/next" aria-label="Next page">', '<a aria-label="Next page">'),
                   "has no href: keyboard users cannot reach it")


# --- error summary ------------------------------------------------------------------------------------------------

SUMMARY = ('<div class="error-summary" {attrs}><h2>There is a problem</h2>'
           '<ul><li><a href="{href}">Enter your full name</a></li></ul></div>')


def with_summary(attrs: str = 'role="alert"', href: str = "#name") -> str:
    """Return the GOOD page with an error summary at the top of <main>."""
    summary = SUMMARY.format(attrs=attrs, href=href)
    return broken("<h1>Apply for a licence</h1>", "<h1>Apply for a licence</h1>" + summary)


def test_error_summary_good_variants():
    assert check_html(with_summary()) == []
    assert check_html(with_summary(attrs='tabindex="-1"')) == []


def test_error_summary_not_announced():
    single_problem(with_summary(attrs=""), 'needs role="alert" or tabindex="-1"')


def test_error_summary_link_to_missing_id():
    single_problem(with_summary(href="#nmae"), 'Error summary link href="#nmae" points to a missing id')


# --- skip link ----------------------------------------------------------------------------------------------------


def test_skip_link_missing():
    single_problem(broken('<a href="#main" class="skip-link">Skip to main content</a>', ""),
                   'No skip link: the first focusable element in <body> is <a href="/">')


def test_skip_link_not_first():
    html = broken("<body>", '<body><input type="search" aria-label="Search">')
    single_problem(html, "No skip link: the first focusable element in <body> is <input")


def test_skip_link_target_missing():
    single_problem(broken('<main id="main">', "<main>"), 'Skip link href="#main" points to a missing id')


def test_skip_link_after_non_focusable_content_is_fine():
    html = broken("<body>", '<body><div class="banner"><p>Beta</p><a>placeholder</a></div>')
    problems = check_html(html)
    # The placeholder <a> is reported for itself, but it does not steal the skip link's place.
    assert problems == ["<a> has no href: keyboard users cannot reach it"]


# --- assert helper ------------------------------------------------------------------------------------------------


def test_assert_accessible_html_lists_problems_and_url():
    html = broken('<html lang="en">', "<html>")
    with pytest.raises(AssertionError) as excinfo:
        assert_accessible_html(html.replace(' alt=""', ""), url="/apply")
    message = str(excinfo.value)
    assert "2 accessibility problem(s) in /apply" in message
    assert "  - <html> has no lang attribute" in message
    assert "has no alt attribute" in message
