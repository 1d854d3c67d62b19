"""The short check before applying: questions from the catalogue, a clear yes, or a no with the reason and what to
do instead; unanswered questions are listed at the top."""

from __future__ import annotations

import pytest

from services.applications.eligibility import assess, questions_for
from services.catalogue.models import Bundle


def check(client, code: str, **answers):
    query = "&".join(["check=1", *(f"{k}={v}" for k, v in answers.items())])
    return client.get(f"/services/{code}/eligibility?{query}")


def test_the_bundle_page_starts_with_the_eligibility_check(client):
    page = client.get("/services/residence_permit?lang=en").get_data(as_text=True)
    assert 'href="/services/residence_permit/eligibility"' in page and "Start now" in page
    questions = client.get("/services/residence_permit/eligibility?lang=en").get_data(as_text=True)
    assert "Have you lived in Guangzhou for six months or more?" in questions


def test_you_can_apply(client):
    client.set_cookie("lang", "en")
    result = check(client, "residence_permit", local_hukou="no", six_months="yes", stable_basis="yes")
    html = result.get_data(as_text=True)
    assert result.status_code == 200 and "You can apply" in html
    assert 'href="/me/apply/residence_permit"' in html


def test_you_cannot_apply_because_and_what_to_do_instead(client):
    client.set_cookie("lang", "en")
    html = check(client, "residence_permit", local_hukou="no", six_months="no", stable_basis="yes").get_data(
        as_text=True)
    assert "You cannot apply yet" in html
    assert "requires six months&#39; residence" in html or "requires six months' residence" in html
    assert "register your residence at the local police station" in html
    assert "/me/apply/residence_permit" not in html
    html = check(client, "open_restaurant", business_licence="no", premises="yes").get_data(as_text=True)
    assert "granted only to a registered enterprise" in html and "Register the enterprise" in html


def test_each_language_has_its_own_text(client):
    chinese = check(client, "residence_permit", local_hukou="yes", six_months="yes", stable_basis="yes")
    assert "您不需要居住证" in chinese.get_data(as_text=True)
    client.set_cookie("lang", "zh_Hant_HK")
    traditional = check(client, "residence_permit", local_hukou="yes", six_months="yes", stable_basis="yes")
    assert "您不需要居住證" in traditional.get_data(as_text=True)


@pytest.mark.parametrize("answers", [{}, {"local_hukou": "maybe"}, {"six_months": "yes", "stable_basis": "x" * 500}])
def test_unanswered_or_odd_answers_are_asked_again(client, answers):
    client.set_cookie("lang", "en")
    response = check(client, "residence_permit", **answers)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "There is a problem" in html and 'href="#local_hukou"' in html


def test_a_service_without_conditions_has_no_check(client):
    assert client.get("/services/no_such_service/eligibility").status_code == 404


def test_assess_from_the_catalogue(db):
    from sqlalchemy import select

    bundle = db.scalar(select(Bundle).where(Bundle.code == "open_restaurant"))
    questions = questions_for(db, bundle)
    assert [q.code for q in questions] == ["business_licence", "premises"]
    assert assess(questions, {"business_licence": "yes", "premises": "yes"}).eligible
    verdict = assess(questions, {"business_licence": "no", "premises": "no"})
    assert not verdict.eligible and [q.code for q in verdict.blocking] == ["business_licence", "premises"]
    with pytest.raises(ValueError):
        assess(questions, {"business_licence": "yes"})
