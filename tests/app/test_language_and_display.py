"""The language switch and the large-text mode remember the choice and only ever return to this site."""


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
