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
