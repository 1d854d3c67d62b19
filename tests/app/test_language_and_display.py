"""The language switch and the large-text mode remember the choice and only ever return to this site."""

import pytest


def test_language_switch_sets_a_cookie_and_returns_to_the_page(client):
    response = client.get("/language/en?next=/services/")
    assert response.headers["Location"] == "/services/" and "lang=en" in response.headers["Set-Cookie"]
    assert 'lang="en"' in client.get("/services/").get_data(as_text=True)


def test_unknown_language_and_foreign_targets_are_ignored(client):
    response = client.get("/language/klingon?next=https://evil.example/")
    assert response.headers["Location"] == "/" and "Set-Cookie" not in response.headers
    assert client.get("/display/large?next=//evil.example").headers["Location"] == "/"


def test_large_text_mode(client):
    client.get("/display/large?next=/")
    assert 'class="large-text"' in client.get("/").get_data(as_text=True)
    client.get("/display/standard?next=/")
    assert 'class="large-text"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("language", "expected"), [("en", "5 December 2026, 05:54"),
                                                    ("zh_Hans_CN", "2026-12-05 05:54")])
def test_a_moment_is_shown_in_china_time_date_and_clock_together(app, language, expected):
    """21:54 UTC on 4 December is 05:54 on 5 December in China: the date and the time of day come from one
    conversion (formatting them apart paired China's date with the UTC clock)."""
    import datetime as dt

    from app.i18n import format_moment

    with app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
        assert format_moment(dt.datetime(2026, 12, 4, 21, 54, tzinfo=dt.UTC)) == expected
        assert format_moment(dt.datetime(2026, 12, 4, 21, 54)) == expected  # naive values are UTC
