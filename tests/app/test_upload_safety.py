"""Uploads: PDFs with active content are refused (weakness 9), and applicants' files and the SQLite database are
readable by the service's own user only (weakness 10). The PDFs are real ones, made with pikepdf."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import text

from services.applications.pdf_safety import UnreadablePdf, active_content
from services.db import make_engine
from tests.app.test_materials import draft_with_questions_done, files_of
from tests.apply_helpers import PDF, upload


def _pdf(mutate=None, *, packed: bool = False) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    if mutate:
        mutate(pdf)
    out = io.BytesIO()
    # packed: the objects go into compressed object streams, where a byte search would not see them
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate if packed else
             pikepdf.ObjectStreamMode.disable, compress_streams=True)
    return out.getvalue()


def _open_action_javascript(pdf):
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('hello clerk');")))


def _launch_on_page_open(pdf):
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=pikepdf.Dictionary(
        S=pikepdf.Name.Launch, F=pikepdf.String("C:\\Windows\\System32\\calc.exe")))


def _embedded_file(pdf):
    pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00 not really a program")


def _document_javascript(pdf):
    script = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                                  JS=pikepdf.String("this.exportDataObject({});")))
    pdf.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=pikepdf.Array(
        [pikepdf.String("start"), script])))


ACTIVE = {
    "open action with JavaScript": (_open_action_javascript, False, {"/OpenAction", "/JavaScript", "/JS"}),
    "launch on page open (AA)": (_launch_on_page_open, False, {"/AA", "/Launch"}),
    "embedded file": (_embedded_file, False, {"/EmbeddedFiles", "/EmbeddedFile"}),
    "document JavaScript in an object stream": (_document_javascript, True, {"/JavaScript", "/JS"}),
    "open action in an object stream": (_open_action_javascript, True, {"/OpenAction"}),
}


@pytest.mark.parametrize("name", ACTIVE)
def test_active_content_is_found(name):
    mutate, packed, expected = ACTIVE[name]
    data = _pdf(mutate, packed=packed)
    if packed:
        assert b"/JavaScript" not in data and b"/OpenAction" not in data  # compressed away from a byte search
    assert expected <= set(active_content(data))


def test_plain_documents_pass_and_unreadable_ones_do_not():
    assert active_content(_pdf()) == [] and active_content(_pdf(packed=True)) == []
    assert active_content(PDF) == []
    with pytest.raises(UnreadablePdf):
        active_content(b"%PDF-1.7\n garbage that no reader can parse")


@pytest.mark.parametrize("name", ACTIVE)
def test_an_active_pdf_is_refused_with_a_clear_message_and_nothing_is_stored(client, db, sign_in_as, name):
    """Weakness 9: a PDF with /OpenAction and /JavaScript used to be accepted and offered to clerks inline."""
    sign_in_as("resident2")
    draft_id = draft_with_questions_done(client)
    mutate, packed, _expected = ACTIVE[name]
    response = upload(client, draft_id, "residence_proof?lang=en", [(PDF, "fine.pdf"),
                                                                    (_pdf(mutate, packed=packed), "lease.pdf")])
    html = response.get_data(as_text=True)
    assert response.status_code == 400, name
    assert "“lease.pdf” contains scripts, actions that run when it is opened, or files inside it" in html
    assert files_of(db, draft_id) == []  # the whole post is refused, the clean file with it
    translated = upload(client, draft_id, "residence_proof?lang=zh_Hant_HK", [(_pdf(mutate, packed=packed),
                                                                               "lease.pdf")])
    assert translated.status_code == 400 and "contains scripts" not in translated.get_data(as_text=True)


def test_an_unreadable_pdf_is_refused_and_a_clean_one_accepted(client, db, sign_in_as):
    sign_in_as("resident2")
    draft_id = draft_with_questions_done(client)
    broken = upload(client, draft_id, "residence_proof?lang=en", [(b"%PDF-1.7\n not a pdf at all", "scan.pdf")])
    assert broken.status_code == 400 and "could not be read as a PDF" in broken.get_data(as_text=True)
    assert upload(client, draft_id, "residence_proof", [(_pdf(packed=True), "lease.pdf")]).status_code == 302
    assert [m.filename for m in files_of(db, draft_id)] == ["lease.pdf"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_uploaded_files_are_0600_in_0700_folders(app, client, db, sign_in_as):
    """Weakness 10: uploads were 0644 in 0755 folders, readable by every local user."""
    previous = os.umask(0o022)  # the usual umask, which made them world-readable
    try:
        sign_in_as("resident2")
        draft_id = draft_with_questions_done(client)
        assert upload(client, draft_id, "residence_proof", [(PDF, "lease.pdf")]).status_code == 302
    finally:
        os.umask(previous)
    (material,) = files_of(db, draft_id)
    root = Path(app.config["UPLOAD_DIR"])
    path = root / material.storage_key[:2] / material.storage_key
    assert path.read_bytes() == PDF
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700 and _mode(root) == 0o700


def test_an_existing_upload_folder_is_tightened_at_start(app, tmp_path, monkeypatch):
    from app import _private_upload_dir  # what create_app runs

    uploads = tmp_path / "uploads"
    uploads.mkdir(mode=0o755)
    os.chmod(uploads, 0o755)
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(uploads))
    _private_upload_dir(app)
    assert _mode(uploads) == 0o700


def test_the_sqlite_database_and_its_wal_are_0600_in_a_0700_folder(tmp_path):
    previous = os.umask(0o022)
    try:
        folder = tmp_path / "instance"
        engine = make_engine(f"sqlite:///{folder / 'onewindow.db'}")
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x TEXT)"))
            connection.execute(text("INSERT INTO t VALUES ('440106198803151235')"))
            files = [folder / name for name in ("onewindow.db", "onewindow.db-wal", "onewindow.db-shm")]
            assert all(f.exists() for f in files)
            assert [_mode(f) for f in files] == [0o600] * 3
        engine.dispose()
        assert _mode(folder) == 0o700
        # An older installation's world-readable file is tightened when the app next opens it.
        os.chmod(folder, 0o755)
        os.chmod(files[0], 0o644)
        make_engine(f"sqlite:///{files[0]}").dispose()
        assert _mode(files[0]) == 0o600 and _mode(folder) == 0o700
    finally:
        os.umask(previous)


def test_the_test_database_itself_is_private(app, database):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps its own files")
    path = Path(database.engine.url.database)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
