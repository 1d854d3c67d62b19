"""The PDF/UA checker: it must pass WeasyPrint's tagged output and catch what breaks tagging."""

from __future__ import annotations

import base64
import io

import pikepdf
import pytest
from PIL import Image
from weasyprint import HTML

from accessibility.pdfua import check_pdfua, embedded_font_names


def _pixel_uri() -> str:
    buffer = io.BytesIO()
    Image.new("L", (1, 1), 0).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# Inline so that no test depends on an image file.
PIXEL = _pixel_uri()


def _html(body: str, lang: str = "zh-Hans", title: str = "测试文件") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body style=\"font-family: 'Noto Sans CJK SC', sans-serif\">{body}</body></html>"
    )


def _render(html: str, variant: str | None = "pdf/ua-1") -> bytes:
    # Plain WeasyPrint on purpose: it only logs missing alt text, and these tests want the flawed PDF.
    options = {"pdf_variant": variant} if variant else {}
    return HTML(string=html).write_pdf(**options)


def _save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


GOOD_BODY = (
    "<h1>营业执照</h1><p>持证人：广州市示例有限公司</p>"
    f'<img src="{PIXEL}" alt="二维码" style="width: 20mm">'
    "<table><tr><th>编号</th><td>MARKET-2024-1</td></tr></table>"
)


@pytest.fixture(scope="module")
def good_pdf() -> bytes:
    return _render(_html(GOOD_BODY))


def test_tagged_weasyprint_output_passes(good_pdf):
    assert check_pdfua(good_pdf) == []


def test_embedded_font_names_reports_the_cjk_font(good_pdf):
    names = embedded_font_names(good_pdf)
    assert any("CJK" in name for name in names), names
    assert not any("+" in name for name in names)  # subset tags are stripped


def test_untagged_weasyprint_output_fails():
    problems = check_pdfua(_render(_html(GOOD_BODY), variant=None))
    assert any("/MarkInfo" in p for p in problems)
    assert any("/StructTreeRoot" in p for p in problems)
    assert any("DisplayDocTitle" in p for p in problems)
    assert any("pdfuaid" in p for p in problems)
    assert any("untagged page" in p for p in problems)


def test_plain_pikepdf_document_fails():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    problems = check_pdfua(_save(pdf))
    assert any("/Lang" in p for p in problems)
    assert any("/StructTreeRoot" in p for p in problems)
    assert any("XMP" in p for p in problems)


def test_garbage_is_reported_not_raised():
    assert check_pdfua(b"not a pdf")[0].startswith("not a readable PDF")


def test_figure_without_alt_is_reported():
    problems = check_pdfua(_render(_html(f'<p>图片</p><img src="{PIXEL}">')))
    assert problems == ["a /Figure structure element has no /Alt text"]


def test_document_language_must_match():
    pdf = _render(_html("<p>Hello world</p>", lang="en"))
    assert check_pdfua(pdf, expect_lang_prefix="en") == []
    assert any("expected it to start with 'zh'" in p for p in check_pdfua(pdf))


def test_english_passages_need_lang_only_when_required():
    pdf = _render(_html('<p>中文段落。</p><p lang="en">An English passage follows.</p><p>编号 GZ-2024-0001</p>'))
    assert check_pdfua(pdf) == []
    problems = check_pdfua(pdf, require_english_lang=True)
    assert len(problems) == 1 and "An English passage follows." in problems[0], problems


def test_chinese_marked_as_english_is_reported(good_pdf):
    with pikepdf.open(io.BytesIO(good_pdf)) as pdf:
        pdf.Root.Lang = pikepdf.String("en")
        problems = check_pdfua(_save(pdf), expect_lang_prefix="en", require_english_lang=True)
    assert any("CJK text marked as English" in p for p in problems)


def test_text_outside_marked_content_is_reported(good_pdf):
    with pikepdf.open(io.BytesIO(good_pdf)) as pdf:
        page = pdf.pages[0]
        font = next(iter(page.Resources.Font.keys()))
        page.contents_add(pikepdf.Stream(pdf, f"BT {font} 12 Tf 72 72 Td <0001> Tj ET".encode()), prepend=False)
        problems = check_pdfua(_save(pdf))
    assert problems == ["page 1: 1 painting operator(s) outside tagged content or artifacts"]


def test_marked_content_not_tied_to_structure_is_reported(good_pdf):
    with pikepdf.open(io.BytesIO(good_pdf)) as pdf:
        page = pdf.pages[0]
        page.contents_add(pikepdf.Stream(pdf, b"/Span BMC 0 0 10 10 re f EMC /P BMC"), prepend=False)
        problems = check_pdfua(_save(pdf))
    assert any("neither /Artifact nor tied to the structure" in p for p in problems)
    assert any("not closed by EMC" in p for p in problems)


def test_unembedded_font_is_reported():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    helvetica = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica))
    page.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET")
    problems = check_pdfua(_save(pdf))
    assert "font 'Helvetica' is not embedded" in problems
    assert embedded_font_names(_save(pdf)) == set()


# A bare widget outside /AcroForm is enough for the checker; pikepdf warns that Acrobat would not show it.
@pytest.mark.filterwarnings("ignore::pikepdf.PageCopyWarning")
def test_visible_untagged_annotation_is_reported_hidden_one_is_not(good_pdf):
    def with_widget(flags: int, rect: list[int]) -> list[str]:
        with pikepdf.open(io.BytesIO(good_pdf)) as pdf:
            page = pdf.pages[0]
            widget = pdf.make_indirect(
                pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, F=flags, Rect=rect)
            )
            page.obj.Annots = pikepdf.Array([*page.obj.get("/Annots", []), widget])
            return check_pdfua(_save(pdf))

    assert with_widget(4, [0, 0, 0, 0]) == ["page 1: visible /Widget annotation is not tagged (no /StructParent)"]
    assert with_widget(2, [0, 0, 0, 0]) == []
    assert with_widget(4, [-9999, -9999, -9999, -9999]) == []
