"""Catalogue search: Chinese by any part, pinyin in full or by initials, English by words."""

from __future__ import annotations

import pytest

from services.catalogue.search import search


@pytest.mark.parametrize("query, expected", [
    ("餐馆", "open_restaurant"),
    ("jyxk", "food_business_permit"),  # 经营许可
    ("spjyxk", "food_business_permit"),  # 食品经营许可
    ("shipin", "food_business_permit"),
    ("经营许可", "food_business_permit"),
    ("經營許可", "food_business_permit"),
    ("signboard", "outdoor_signboard"),
    ("FIRE safety", "fire_safety_inspection"),
])
def test_search_finds_matters(db, query, expected):
    bundles, matters = search(db, query)
    codes = {m.code for m in matters} | {b.code for b in bundles}
    assert expected in codes


def test_pinyin_initials_find_the_bundle(db):
    bundles, _ = search(db, "kbcg")  # 开办餐馆
    assert [b.code for b in bundles] == ["open_restaurant"]


def test_search_page(client):
    page = client.get("/services/?q=jyxk&lang=en").get_data(as_text=True)
    assert "result" in page
    found = client.get("/services/?q=signboard&lang=en").get_data(as_text=True)
    assert "Outdoor signboard permit" in found and "Food business permit" not in found
    too_long = client.get("/services/?q=" + "x" * 101 + "&lang=en")
    assert too_long.status_code == 400 and 'href="#q"' in too_long.get_data(as_text=True)
    assert "No service matches" in client.get("/services/?q=zzzzqqq&lang=en").get_data(as_text=True)


def test_browse_by_audience_and_agency(client):
    everyone = client.get("/services/?lang=en").get_data(as_text=True)
    assert "Open a restaurant" in everyone and "residence permit" in everyone.lower()
    enterprises = client.get("/services/?audience=enterprise&lang=en").get_data(as_text=True)
    assert "Open a restaurant" in enterprises and "Register a newborn" not in enterprises
    residents = client.get("/services/?audience=resident&lang=en").get_data(as_text=True)
    assert "Register a newborn" in residents and "Open a restaurant" not in residents
    fire = client.get("/services/?agency=fire&lang=en").get_data(as_text=True)
    # The fire inspection and the life event that includes it; nothing of the police.
    assert "Open a restaurant" in fire and "Register a newborn" not in fire and "services shown" in fire
    narrowed = client.get("/services/?q=permit&audience=resident&lang=en").get_data(as_text=True)
    assert "signboard" not in narrowed.lower()


def test_a_filter_outside_the_list_is_a_clear_error(client):
    for query in ("audience=martians", "agency=nosuch", "audience=resident&agency=%00"):
        response = client.get(f"/services/?{query}&lang=en")
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "There is a problem" in page and "from the list" in page
