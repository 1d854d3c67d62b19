"""The applicant's case page while the approval's licences are being issued: each one promised, then each one there.

Licences are issued by jobs that run after the approval's response (an rq worker, or without Redis the web process's
worker thread); the jobs wait here until tests.jobs.run_pending_jobs runs them, which is the moment in between.
"""

from __future__ import annotations

from tests.app.test_slice import apply_for_restaurant, decide, open_task_id
from tests.apply_helpers import reference_of
from tests.jobs import run_pending_jobs

LICENCES_EN = ("Food Business Permit", "Fire Safety Inspection Certificate", "Outdoor Signboard Permit")
LICENCES_ZH = ("食品经营许可证", "户外招牌设置许可证")


def test_the_case_page_shows_each_licence_being_issued_until_it_exists(app, client, db, sign_in_as):
    sign_in_as("owner")
    reference = reference_of(apply_for_restaurant(client, floor_area="120", signboard="yes")[0])
    sign_in_as("clerk.hub")
    decide(client, open_task_id(client, reference), "accept")
    for agency in ("market", "fire", "urban"):
        sign_in_as(f"clerk.{agency}")
        decide(client, open_task_id(client, reference), "approve")

    sign_in_as("owner")  # three branches approved, the case still running: no licence is being issued yet
    page = client.get(f"/me/cases/{reference}?lang=en").get_data(as_text=True)
    assert "Being issued" not in page and "Your licences" not in page

    sign_in_as("clerk.env")  # the last approval: the case is approved and its three licences' jobs are recorded
    assert decide(client, open_task_id(client, reference), "approve")[0].status_code == 302
    sign_in_as("owner")
    page = client.get(f"/me/cases/{reference}?lang=en").get_data(as_text=True)
    assert page.count("Being issued") == 3 and "Your licences" in page
    assert "usually appear here within a minute. Refresh this page to see them." in page
    assert f'<a href="/me/cases/{reference}">Refresh this page</a>' in page
    assert "/me/licences/" not in page and "http-equiv" not in page  # no download yet; no automatic refresh
    for name in LICENCES_EN:
        assert name in page, name
    page_zh = client.get(f"/me/cases/{reference}?lang=zh_Hans_CN").get_data(as_text=True)
    assert page_zh.count("制发中") == 3 and "刷新本页面" in page_zh
    assert all(name in page_zh for name in LICENCES_ZH)
    assert client.get(f"/me/cases/{reference}?lang=zh_Hant_HK").get_data(as_text=True).count("制發中") == 3

    run_pending_jobs(app)

    page = client.get(f"/me/cases/{reference}?lang=en").get_data(as_text=True)
    assert "Being issued" not in page and "Refresh this page" not in page and "Licences issued" in page
    assert page.count('href="/me/licences/') == 3
