"""Weaknesses 4 and 5: ``next=`` and file names with control characters, RFC 6266 downloads, no-store caching."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from services.applications.models import Application, Material
from services.filenames import clean_filename, content_disposition
from tests.app.test_materials import draft_with_questions_done, files_of
from tests.app.test_slice import open_task_id
from tests.apply_helpers import PDF, apply_residence_permit, reference_of, upload
from tests.conftest import DEMO_PASSWORD, hidden_fields
from tests.services.test_credentials import issue_demo_licence

HEADER_INJECTION = "/me/\r\nSet-Cookie: planted=1"


@pytest.mark.parametrize("switch", ["/language/en", "/display/large"])
@pytest.mark.parametrize(("target", "lands_on"), [
    (HEADER_INJECTION, "/"),
    ("/\\evil.example/x", "/"),  # browsers read "\" as "/": this would leave the site
    ("/catalogue/?q=\u9910\u996e", "/catalogue/?q=%E9%A4%90%E9%A5%AE"),
    ("/me/?tab=1", "/me/?tab=1"),
])
def test_the_switches_refuse_control_characters_in_next_and_normalise_it(client, switch, target, lands_on):
    response = client.get(switch, query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on
    assert "planted" not in response.headers.get("Set-Cookie", "")


def test_sign_in_refuses_control_characters_in_next(client):
    data = hidden_fields(client.get("/auth/sign-in").get_data(as_text=True))
    data.update(email="resident@demo.onewindow.test", password=DEMO_PASSWORD)
    response = client.post("/auth/sign-in?" + "next=" + quote(HEADER_INJECTION), data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/me/"


def test_file_names_lose_control_and_direction_characters():
    assert clean_filename("lease\r\n.pdf") == "lease.pdf"
    assert clean_filename("C:\\Users\\me\\scan.pdf") == "scan.pdf"
    assert clean_filename("invoice\u202efdp.exe") == "invoicefdp.exe"
    assert clean_filename("\x00\x1f") == "upload" and clean_filename("..") == "upload"
    header = content_disposition("租赁合同\r\n.pdf")
    assert header == "attachment; filename=\"download.pdf\"; filename*=UTF-8''%E7%A7%9F%E8%B5%81%E5%90%88%E5%90%8C.pdf"
    assert (content_disposition('a";b.pdf', inline=True)
            == "inline; filename=\"a__b.pdf\"; filename*=UTF-8''a%22%3Bb.pdf")


def _upload_raw_name(client, draft_id: int, encoded_name: str):
    """Post a file whose name is sent as RFC 8187 ``filename*`` (which the parser decodes), so that it can carry
    CR/LF as a hand-made request can."""
    url = f"/me/drafts/{draft_id}/materials/residence_proof"
    fields = hidden_fields(client.get(url).get_data(as_text=True))
    boundary = "----sec1boundary"
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode()
                    for name, value in fields.items())
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''{encoded_name}\r\n"
             f"Content-Type: application/pdf\r\n\r\n").encode() + PDF + f"\r\n--{boundary}--\r\n".encode()
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_an_uploaded_name_with_cr_lf_is_cleaned_and_the_file_downloads(client, db, sign_in_as):
    sign_in_as("resident2")
    draft_id = draft_with_questions_done(client)
    assert _upload_raw_name(client, draft_id, "lease%0D%0AX-Evil%3A%201.pdf").status_code == 302
    stored = files_of(db, draft_id, "residence_proof")[-1]
    assert stored.filename == "leaseX-Evil: 1.pdf"
    response = client.get(f"/me/drafts/{draft_id}/files/{stored.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"leaseX-Evil: 1.pdf\"; filename*=UTF-8''leaseX-Evil%3A%201.pdf")
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-Evil" not in response.headers


def test_a_name_stored_before_the_rule_still_downloads(client, db, sign_in_as):
    sign_in_as("resident2")
    draft_id = draft_with_questions_done(client)
    upload(client, draft_id, "residence_proof", [(PDF, "lease.pdf")])
    stored = files_of(db, draft_id, "residence_proof")[-1]
    db.execute(update(Material).where(Material.id == stored.id).values(filename="old\r\nname.pdf"))
    response = client.get(f"/me/drafts/{draft_id}/files/{stored.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith('attachment; filename="oldname.pdf"')


def test_signed_in_pages_and_downloads_are_never_stored_in_a_cache(app, client, db, sign_in_as):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")  # public pages may be cached
    sign_in_as("resident")
    for path in ("/", "/me/", "/catalogue/"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    number = issue_demo_licence(app, db, "resident").number
    share = f"/me/licences/{number}/share"
    shown_once = client.post(share, data=hidden_fields(client.get(share).get_data(as_text=True)) | {"days": "7"})
    assert shown_once.status_code == 200 and "/shared/" in shown_once.get_data(as_text=True)
    assert shown_once.headers["Cache-Control"] == "no-store"  # the page that shows the link once
    pdf = client.get(f"/me/licences/{number}.pdf")
    assert pdf.status_code == 200 and pdf.headers["Cache-Control"] == "no-store"
    assert pdf.headers["Content-Disposition"] == f"attachment; filename=\"{number}.pdf\"; filename*=UTF-8''{number}.pdf"


def test_case_pages_and_the_clerks_file_view_are_never_stored_in_a_cache(client, db, sign_in_as):
    sign_in_as("resident2")
    response, _resend = apply_residence_permit(client)
    reference = reference_of(response)
    case = client.get(f"/me/cases/{reference}")
    assert case.status_code == 200 and case.headers["Cache-Control"] == "no-store"
    material = db.scalar(select(Application).where(Application.reference == reference)).materials[0]
    download = client.get(f"/me/cases/{reference}/materials/{material.id}")
    assert download.headers["Cache-Control"] == "no-store"
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    sign_in_as("clerk.hub")  # the lead window receives every case first
    task_id = open_task_id(client, reference)
    inline = client.get(f"/work/tasks/{task_id}/materials/{material.id}?view=1")
    assert inline.status_code == 200 and inline.headers["Cache-Control"] == "no-store"
    assert inline.headers["Content-Disposition"].startswith("inline; filename=")
