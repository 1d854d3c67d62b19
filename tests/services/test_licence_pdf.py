"""Licence PDFs: real WeasyPrint rendering, real pyHanko signatures, checked with the PDF/UA checker."""

from __future__ import annotations

import base64
import datetime as dt
import io
import multiprocessing
import socket
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jinja2
import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from PIL import Image
from pyhanko.pdf_utils.generic import NameObject, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from accessibility.pdfua import check_pdfua, embedded_font_names
from services.licences.pdf import (
    TEMPLATE_DIR,
    PdfRenderError,
    RestrictedURLFetcher,
    ensure_cjk_font,
    render_licence_html,
    render_pdf,
    tag_english_spans,
)
from services.licences.qr import qr_png_data_uri
from services.licences.signing import ensure_agency_key, sign_pdf, validate_signature

VERIFY_URL = "https://onewindow.example.gov.cn/verify/MARKET-2024-000123"
AGENCY_NAME = "Market Supervision Administration"


def _context(**overrides) -> dict:
    context = {
        "number": "MARKET-2024-000123",
        "type_name_zh": "食品经营许可证",
        "type_name_en": "Food Business Permit",
        "holder_name": "广州市示例餐饮有限公司",
        "holder_id_masked": "91440101MA5****12X",
        "issuer_name_zh": "市场监督管理局",
        "issuer_name_en": AGENCY_NAME,
        "issue_date": dt.date(2024, 5, 1),
        "valid_from": dt.date(2024, 5, 1),
        "valid_until": dt.date(2029, 4, 30),
        "scope_zh": "预包装食品销售；热食类食品制售",
        "scope_en": "Sale of prepackaged food; preparation and sale of hot food",
        "case_reference": "OW-2024-000987",
        "verify_url": VERIFY_URL,
        "qr_data_uri": qr_png_data_uri(VERIFY_URL),
    }
    context.update(overrides)
    return context


@pytest.fixture(scope="module")
def licence_pdf() -> bytes:
    return render_pdf(render_licence_html(_context()))


@pytest.fixture(scope="module")
def agency_keys(tmp_path_factory) -> tuple[Path, Path]:
    return ensure_agency_key(tmp_path_factory.mktemp("keys"), "market", AGENCY_NAME)


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything resolves a name or opens a connection: refusing must happen before any attempt.

    Attempts are recorded rather than only raised, because WeasyPrint swallows exceptions raised by a fetcher.
    """
    attempts = []

    def tripwire(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", tripwire)
    monkeypatch.setattr(socket, "create_connection", tripwire)
    monkeypatch.setattr(socket.socket, "connect", tripwire)
    yield
    assert attempts == [], f"network access attempted: {attempts}"


def _page_html(body: str) -> str:
    return f'<!DOCTYPE html><html lang="zh-Hans"><head><title>测试</title></head><body>{body}</body></html>'


# --- HTML and QR ----------------------------------------------------------------------------------------------------


def test_licence_html_is_bilingual_and_accessible():
    html = render_licence_html(_context())
    assert '<html lang="zh-Hans">' in html
    assert html.count("<h1>") == 1
    assert "<title>食品经营许可证（MARKET-2024-000123） · Food Business Permit</title>" in html
    assert '<th scope="row">持证人 <span lang="en">Holder</span></th>' in html
    assert "2024年5月1日至2029年4月30日" in html and "1 May 2024 to 30 April 2029" in html
    assert '<p lang="en">Sale of prepackaged food; preparation and sale of hot food</p>' in html
    alt = html.split('alt="', 1)[1].split('"', 1)[0]
    assert "二维码" in alt and "QR code" in alt and alt.count(VERIFY_URL) == 2


def test_licence_html_escapes_and_handles_optional_values():
    html = render_licence_html(_context(holder_name="<b>Evil & Co</b>", valid_until=None, scope_en=""))
    assert "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html and "<b>" not in html
    assert "长期有效" in html and "without expiry" in html
    assert '<p lang="en"></p>' not in html


def test_licence_html_refuses_missing_fields():
    context = _context()
    del context["holder_name"]
    with pytest.raises(jinja2.UndefinedError):
        render_licence_html(context)


def test_qr_data_uri_is_a_small_black_and_white_png():
    uri = qr_png_data_uri(VERIFY_URL)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert image.format == "PNG" and image.mode == "1"
    assert image.width == image.height and image.width % 10 == 0 and image.width >= 250
    with pytest.raises(ValueError):
        qr_png_data_uri("")


# --- Rendering ------------------------------------------------------------------------------------------------------


def test_cjk_font_is_installed():
    ensure_cjk_font()  # raises PdfRenderError when fonts-noto-cjk is missing


def test_licence_pdf_passes_pdfua_checks(licence_pdf):
    assert licence_pdf.startswith(b"%PDF-1.7")
    assert check_pdfua(licence_pdf) == []
    assert check_pdfua(licence_pdf, require_english_lang=True) == []


def test_licence_pdf_embeds_noto_cjk(licence_pdf):
    names = embedded_font_names(licence_pdf)
    assert any("CJK" in name for name in names), names
    assert any(name.startswith("Noto-Sans-CJK-SC") for name in names), names


def test_licence_pdf_carries_title_language_and_qr_alt(licence_pdf):
    with pikepdf.open(io.BytesIO(licence_pdf)) as doc:
        assert str(doc.Root.Lang) == "zh-Hans"
        assert doc.open_metadata()["dc:title"].startswith("食品经营许可证")
        figures = [obj for obj in doc.objects if isinstance(obj, pikepdf.Dictionary) and obj.get("/S") == "/Figure"]
        assert len(figures) == 1 and "QR code" in str(figures[0].Alt)
        image = next(iter(doc.pages[0].get_images().values()))
        assert image.get("/Interpolate") is False  # a smoothed QR code scans badly


def test_english_passages_get_lang(licence_pdf):
    # That no Chinese text is marked English is part of check_pdfua(require_english_lang=True).
    with pikepdf.open(io.BytesIO(licence_pdf)) as doc:
        english = [obj for obj in doc.objects if isinstance(obj, pikepdf.Dictionary) and obj.get("/Lang") == "en"]
    # Header (issuer, title), 8 row labels, scope, 2 dates, issuer in the table (may wrap), 2 notes.
    assert len(english) >= 14


def test_without_tagging_the_checker_misses_english_lang():
    html = render_licence_html(_context())
    tagged = render_pdf(html)
    with pikepdf.open(io.BytesIO(tagged)) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Dictionary) and "/Lang" in obj and obj.get("/Type") == "/StructElem":
                del obj["/Lang"]
        out = io.BytesIO()
        doc.save(out)
    stripped = out.getvalue()
    problems = check_pdfua(stripped, require_english_lang=True)
    assert any("Food Business Permit" in problem for problem in problems), problems
    assert check_pdfua(stripped) == []
    assert check_pdfua(tag_english_spans(stripped), require_english_lang=True) == []


def test_tag_english_spans_leaves_untagged_pdf_alone():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    assert tag_english_spans(out.getvalue()) == out.getvalue()


def test_image_without_alt_is_refused():
    html = _page_html(f'<p>二维码</p><img src="{qr_png_data_uri(VERIFY_URL)}">')
    with pytest.raises(PdfRenderError, match="alt"):
        render_pdf(html)


def test_document_without_lang_is_refused():
    with pytest.raises(PdfRenderError, match="lang"):
        render_pdf("<!DOCTYPE html><html><head><title>t</title></head><body><p>你好</p></body></html>")


@pytest.mark.parametrize(
    "body",
    [
        '<img src="http://example.com/x.png" alt="外部图片">',
        '<img src="https://example.com/x.png" alt="外部图片">',
        '<link rel="stylesheet" href="http://example.com/evil.css"><p>你好</p>',
        '<p style="background: url(http://example.com/bg.png)">你好</p>',
    ],
)
def test_external_resources_are_refused_without_network(no_network, body):
    with pytest.raises(PdfRenderError, match="example.com"):
        render_pdf(_page_html(body))


def test_files_outside_template_dir_are_refused(tmp_path, no_network):
    outside = tmp_path / "x.png"
    Image.new("1", (10, 10)).save(outside)
    for src in (outside.as_uri(), "../pdf.py", "file:///etc/passwd"):
        with pytest.raises(PdfRenderError, match="refused"):
            render_pdf(_page_html(f'<img src="{src}" alt="图片">'))


def test_fetcher_serves_only_template_files_and_data_uris(tmp_path, no_network):
    fetcher = RestrictedURLFetcher(TEMPLATE_DIR)
    css = fetcher.fetch((TEMPLATE_DIR / "licence.css").as_uri())
    assert css.content_type == "text/css" and b"@page" in css.read()
    data = fetcher.fetch("data:text/plain;base64,5L2g5aW9")
    assert data.read().decode() == "你好"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    for url in (
        outside.as_uri(),
        (TEMPLATE_DIR / ".." / "pdf.py").as_uri(),
        "file://otherhost" + str(TEMPLATE_DIR / "licence.css"),
        "http://example.com/x.png",
        "ftp://example.com/x.png",
    ):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 5


# --- Signing --------------------------------------------------------------------------------------------------------


def test_signed_licence_validates_and_stays_pdfua(licence_pdf, agency_keys):
    key_path, cert_path = agency_keys
    signed = sign_pdf(licence_pdf, key_path, cert_path, reason="核发电子证照 Licence issued")
    assert signed.startswith(licence_pdf)  # incremental update: the rendered bytes are untouched
    result = validate_signature(signed, cert_path)
    assert result["intact"] and result["valid"] and result["trusted"], result
    assert result["signer"] == AGENCY_NAME and result["covers_whole_file"]
    assert check_pdfua(signed, require_english_lang=True) == []


def test_tampering_and_foreign_certificates_are_detected(licence_pdf, agency_keys, tmp_path):
    key_path, cert_path = agency_keys
    signed = sign_pdf(licence_pdf, key_path, cert_path, reason="核发电子证照")

    offset = signed.index(b"MediaBox")  # inside the signed byte range
    tampered = signed[:offset] + b"MediaBoy" + signed[offset + 8 :]
    assert not validate_signature(tampered, cert_path)["intact"]

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root[NameObject("/Lang")] = pdf_string("en")
    writer.update_root()
    appended = io.BytesIO()
    writer.write(appended)
    result = validate_signature(appended.getvalue(), cert_path)
    assert result["intact"] and not result["valid"] and not result["covers_whole_file"]

    _, other_cert = ensure_agency_key(tmp_path, "other", "Other Bureau")
    result = validate_signature(signed, other_cert)
    assert result["intact"] and not result["trusted"]

    unsigned = validate_signature(licence_pdf, cert_path)
    assert not unsigned["valid"] and "no signature" in unsigned["error"]


def test_agency_key_is_generated_once(tmp_path):
    key_dir = tmp_path / "keys" / "nested"
    key_path, cert_path = ensure_agency_key(key_dir, "fire", "消防救援支队")
    assert (key_path.name, cert_path.name) == ("fire.key.pem", "fire.cert.pem")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()

    assert ensure_agency_key(key_dir, "fire", "消防救援支队") == (key_path, cert_path)
    assert (key_path.read_bytes(), cert_path.read_bytes()) == (key_pem, cert_pem)

    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "消防救援支队"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "OneWindow development CA"
    assert cert.issuer == cert.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=5 * 365) <= lifetime <= dt.timedelta(days=5 * 366)


@pytest.mark.parametrize("code", ["../escape", "a/b", "", ".hidden", "x" * 65])
def test_agency_code_must_be_a_plain_file_name(tmp_path, code):
    with pytest.raises(ValueError):
        ensure_agency_key(tmp_path, code, "Agency")


def _ensure_in_child(key_dir: str) -> tuple[bytes, bytes]:
    key_path, cert_path = ensure_agency_key(Path(key_dir), "race", "Race Bureau")
    return key_path.read_bytes(), cert_path.read_bytes()


def test_racing_processes_end_with_one_matching_key_pair(tmp_path):
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
        results = list(pool.map(_ensure_in_child, [str(tmp_path)] * 8))
    assert len(set(results)) == 1
    key_pem, cert_pem = results[0]
    key = serialization.load_pem_private_key(key_pem, password=None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert not list(tmp_path.glob("*.tmp"))


def test_render_and_sign_end_to_end_with_long_names(tmp_path):
    context = _context(
        type_name_zh="公众聚集场所投入使用、营业前消防安全检查合格证",
        type_name_en="Fire Safety Inspection Certificate for Public Assembly Venues",
        valid_until=None,
        scope_en="",
    )
    key_path, cert_path = ensure_agency_key(tmp_path, "fire", "Fire and Rescue Detachment")
    signed = sign_pdf(render_pdf(render_licence_html(context)), key_path, cert_path, reason="issue")
    assert validate_signature(signed, cert_path)["valid"]
    assert check_pdfua(signed, require_english_lang=True) == []


def test_a_pdf_rendered_ahead_is_handed_to_the_next_render_of_the_same_html_once():
    """The issuing job renders on SQLite before its write transaction (services/licences/jobs.py); the render inside
    that transaction takes the PDF already made from the same HTML instead of rendering it again."""
    from services.licences.pdf import rendering_ahead, renders_kept

    html = render_licence_html(_context(number="MARKET-2024-000777"))
    kept = renders_kept()
    with rendering_ahead():
        ahead = render_pdf(html)
    assert renders_kept() == kept + 1
    assert render_pdf(html) is ahead and renders_kept() == kept
    again = render_pdf(html)  # taken once: this one is rendered
    assert again is not ahead and renders_kept() == kept and check_pdfua(again) == []
