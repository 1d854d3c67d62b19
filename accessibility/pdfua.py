"""Machine-checkable PDF/UA-1 (ISO 14289-1) requirements, read with pikepdf.

This is a smoke test for our own generated PDFs, not a full validator: veraPDF cannot be installed here. It checks
what a generator bug would most likely break: the tagged-PDF markers, document language and title, alternative
text on figures, embedded fonts, and that every piece of page content is either tagged or an artifact. Text is
decoded through each font's /ToUnicode map, which is also what a screen reader relies on.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass, field

import pikepdf

_CJK = re.compile(r"[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\w+")
# A word in running English text: lower case after the first letter. Codes such as "GZ-SC-2024" do not count.
_ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]+\b")
_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")
_TEXT_OPERATORS = {"Tj", "TJ", "'", '"'}
# Operators that put marks on the page; "n" (end a clipping path without painting) is deliberately absent.
_PAINT_OPERATORS = _TEXT_OPERATORS | {"f", "F", "f*", "S", "s", "B", "B*", "b", "b*", "sh", "Do", "BI", "INLINE IMAGE"}
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def check_pdfua(pdf: bytes, *, expect_lang_prefix: str = "zh", require_english_lang: bool = False) -> list[str]:
    """Return human-readable PDF/UA problems found in ``pdf``; an empty list means every check passed.

    ``expect_lang_prefix`` is what the catalog ``/Lang`` must start with. With ``require_english_lang``, every
    structure element whose text reads as English prose (at least two English words, no CJK, URLs ignored) must
    have an effective ``/Lang`` starting with ``en``, set on itself or inherited from an ancestor, and no element
    with CJK text may have one. The prose test is a heuristic: a Latin-script proper name of two words in a
    Chinese passage ("Acme Trading") is reported too.
    """
    try:
        doc = pikepdf.open(io.BytesIO(pdf))
    except pikepdf.PdfError as exc:
        return [f"not a readable PDF: {exc}"]
    with doc:
        problems = _check_catalog(doc, expect_lang_prefix)
        problems += _check_xmp(doc)
        fonts = _FontCache()
        scans = {page.obj.objgen: _scan_page(page, number, fonts) for number, page in enumerate(doc.pages, 1)}
        for scan in scans.values():
            problems += scan.problems
        elements = list(_walk_structure(doc))
        if not elements and "/StructTreeRoot" in doc.Root:
            problems.append("the structure tree has no structure elements")
        problems += _check_figures(elements)
        problems += _check_annotations(doc)
        problems += _check_fonts(doc)
        all_text = "".join(text for scan in scans.values() for text in scan.mcid_text.values())
        all_text += "".join(scan.untagged_text for scan in scans.values())
        if _CJK.search(all_text):
            names = embedded_font_names(doc)
            if not any("cjk" in name.lower() or "noto" in name.lower() for name in names):
                problems.append(f"text contains CJK characters but no embedded font is a CJK font: {sorted(names)}")
        if require_english_lang:
            problems += _check_english(elements, scans)
        return problems


def embedded_font_names(pdf: bytes | pikepdf.Pdf) -> set[str]:
    """Return the names (``/BaseFont`` without the subset tag) of the fonts embedded in ``pdf``'s pages."""
    doc = pdf if isinstance(pdf, pikepdf.Pdf) else pikepdf.open(io.BytesIO(pdf))
    try:
        return {_font_name(font) for font in _page_fonts(doc) if _is_embedded(font)}
    finally:
        if doc is not pdf:
            doc.close()


# --- Document level -------------------------------------------------------------------------------------------------


def _check_catalog(doc: pikepdf.Pdf, expect_lang_prefix: str) -> list[str]:
    root = doc.Root
    problems = []
    mark_info = root.get("/MarkInfo")
    if not isinstance(mark_info, pikepdf.Dictionary) or mark_info.get("/Marked") is not True:
        problems.append("catalog /MarkInfo /Marked is not true (document not marked as tagged)")
    tree = root.get("/StructTreeRoot")
    if not isinstance(tree, pikepdf.Dictionary):
        problems.append("catalog has no /StructTreeRoot (document is not tagged)")
    lang = str(root.get("/Lang", ""))
    if not lang:
        problems.append("catalog has no /Lang (document language)")
    elif not lang.lower().startswith(expect_lang_prefix.lower()):
        problems.append(f"catalog /Lang is {lang!r}, expected it to start with {expect_lang_prefix!r}")
    prefs = root.get("/ViewerPreferences")
    if not isinstance(prefs, pikepdf.Dictionary) or prefs.get("/DisplayDocTitle") is not True:
        problems.append("/ViewerPreferences /DisplayDocTitle is not true (viewers would show the file name)")
    return problems


def _check_xmp(doc: pikepdf.Pdf) -> list[str]:
    if "/Metadata" not in doc.Root:
        return ["catalog has no XMP /Metadata stream (needs dc:title and pdfuaid:part)"]
    try:
        meta = doc.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        title, part = meta.get("dc:title"), meta.get("pdfuaid:part")
    except Exception as exc:  # malformed XMP is a finding, not a crash of the checker
        return [f"XMP metadata cannot be parsed: {exc}"]
    problems = []
    if not (title and str(title).strip()):
        problems.append("XMP dc:title is missing or empty")
    if str(part or "").strip() != "1":
        problems.append(f"XMP pdfuaid:part is {part!r}, expected '1' (PDF/UA-1 identification)")
    return problems


# --- Structure tree -------------------------------------------------------------------------------------------------


def _walk_structure(doc: pikepdf.Pdf):
    """Yield (element, effective language, page) for every structure element, depth first, in reading order."""
    tree = doc.Root.get("/StructTreeRoot")
    if not isinstance(tree, pikepdf.Dictionary):
        return
    seen: set[tuple[int, int]] = set()
    stack = [(kid, str(doc.Root.get("/Lang", "")), None) for kid in reversed(_as_list(tree.get("/K")))]
    while stack:
        element, lang, page = stack.pop()
        if not isinstance(element, pikepdf.Dictionary) or "/S" not in element:
            continue
        if element.is_indirect:
            if element.objgen in seen:  # guard against a cyclic tree
                continue
            seen.add(element.objgen)
        lang = str(element.get("/Lang", lang))
        page = element.get("/Pg", page)
        yield element, lang, page
        stack.extend((kid, lang, page) for kid in reversed(_as_list(element.get("/K"))))


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, pikepdf.Array) else [value]


def _check_figures(elements) -> list[str]:
    problems = []
    for element, _, _ in elements:
        if element.get("/S") == "/Figure" and not str(element.get("/Alt", "")).strip():
            problems.append("a /Figure structure element has no /Alt text")
    return problems


def _check_annotations(doc: pikepdf.Pdf) -> list[str]:
    """Visible annotations must be tagged (PDF/UA-1 7.18.1); links also need a /Contents description (7.18.5)."""
    problems = []
    for number, page in enumerate(doc.pages, 1):
        box = [float(value) for value in page.obj.get("/CropBox", page.mediabox)]
        for annot in _as_list(page.obj.get("/Annots")):
            if not isinstance(annot, pikepdf.Dictionary):
                continue
            subtype = str(annot.get("/Subtype", ""))
            hidden = int(annot.get("/F", 0)) & 2
            rect = [float(value) for value in annot.get("/Rect", [0, 0, 0, 0])]
            outside = (
                max(rect[0], rect[2]) < box[0]
                or min(rect[0], rect[2]) > box[2]
                or max(rect[1], rect[3]) < box[1]
                or min(rect[1], rect[3]) > box[3]
            )
            if subtype == "/Popup" or hidden or outside:
                continue
            if "/StructParent" not in annot:
                problems.append(f"page {number}: visible {subtype} annotation is not tagged (no /StructParent)")
            if subtype == "/Link" and not str(annot.get("/Contents", "")).strip():
                problems.append(f"page {number}: link annotation has no /Contents description")
    return problems


def _element_mcids(element: pikepdf.Dictionary, page):
    """Yield (page, MCID) for the marked-content kids directly under ``element``."""
    for kid in _as_list(element.get("/K")):
        if isinstance(kid, int):
            yield page, kid
        elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR" and "/MCID" in kid:
            yield kid.get("/Pg", page), int(kid.MCID)


def _check_english(elements, scans) -> list[str]:
    problems = []
    for element, lang, page in elements:
        text = "".join(
            scans[pg.objgen].mcid_text.get(mcid, "")
            for pg, mcid in _element_mcids(element, page)
            if pg is not None and hasattr(pg, "objgen") and pg.objgen in scans
        )
        if _looks_english(text) and not lang.lower().startswith("en"):
            problems.append(f"English text without /Lang en (effective language {lang!r}): {text.strip()[:80]!r}")
        elif _CJK.search(text) and lang.lower().startswith("en"):
            problems.append(f"CJK text marked as English (/Lang {lang!r}): {text.strip()[:80]!r}")
    return problems


def _looks_english(text: str) -> bool:
    if _CJK.search(text):
        return False
    return len(_ENGLISH_WORD.findall(_URL.sub(" ", text))) >= 2


# --- Fonts ----------------------------------------------------------------------------------------------------------


def _resources(page: pikepdf.Page) -> pikepdf.Dictionary:
    node = page.obj
    while isinstance(node, pikepdf.Dictionary):  # /Resources is inheritable from the page tree
        if "/Resources" in node:
            return node.Resources
        node = node.get("/Parent")
    return pikepdf.Dictionary()


def _page_fonts(doc: pikepdf.Pdf):
    """Yield every font dictionary used by the pages, including those in form XObjects, each once."""
    seen: set[tuple[int, int]] = set()
    pending = [_resources(page) for page in doc.pages]
    while pending:
        resources = pending.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        if resources.is_indirect:
            if resources.objgen in seen:
                continue
            seen.add(resources.objgen)
        for font in dict(resources.get("/Font", {})).values():
            if isinstance(font, pikepdf.Dictionary) and not (font.is_indirect and font.objgen in seen):
                if font.is_indirect:
                    seen.add(font.objgen)
                yield font
        for xobject in dict(resources.get("/XObject", {})).values():
            if isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                pending.append(xobject.Resources)


def _font_name(font: pikepdf.Dictionary) -> str:
    return _SUBSET_TAG.sub("", str(font.get("/BaseFont", "(unnamed)")).lstrip("/"))


def _is_embedded(font: pikepdf.Dictionary) -> bool:
    if font.get("/Subtype") == "/Type3":  # glyphs are content streams inside the font itself
        return True
    if font.get("/Subtype") == "/Type0":
        descendants = font.get("/DescendantFonts")
        if not isinstance(descendants, pikepdf.Array) or len(descendants) == 0:
            return False
        font = descendants[0]
    descriptor = font.get("/FontDescriptor")
    return isinstance(descriptor, pikepdf.Dictionary) and any(key in descriptor for key in _FONT_FILES)


def _check_fonts(doc: pikepdf.Pdf) -> list[str]:
    return [f"font {_font_name(font)!r} is not embedded" for font in _page_fonts(doc) if not _is_embedded(font)]


class _FontCache:
    """Decoders from a font's character codes to Unicode text, built once per font object."""

    def __init__(self) -> None:
        self._decoders: dict[tuple[int, int], tuple[int, dict[int, str]]] = {}

    def decode(self, font, data: bytes) -> str:
        """Return the Unicode text for the string ``data`` shown with ``font`` (U+FFFD where unmapped)."""
        if not isinstance(font, pikepdf.Dictionary):
            return data.decode("latin-1")
        key = font.objgen if font.is_indirect else (id(font), -1)
        if key not in self._decoders:
            self._decoders[key] = _build_decoder(font)
        width, mapping = self._decoders[key]
        if not mapping:
            return data.decode("latin-1")
        codes = (int.from_bytes(data[i : i + width], "big") for i in range(0, len(data) - width + 1, width))
        return "".join(mapping.get(code, "\ufffd") for code in codes)


def _build_decoder(font: pikepdf.Dictionary) -> tuple[int, dict[int, str]]:
    width = 2 if font.get("/Subtype") == "/Type0" else 1
    cmap = font.get("/ToUnicode")
    if not isinstance(cmap, pikepdf.Stream):
        return width, {}
    text = cmap.read_bytes().decode("latin-1")
    space = re.search(r"begincodespacerange\s*<([0-9A-Fa-f]+)>", text)
    if space:
        width = max(1, len(space.group(1)) // 2)
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            mapping[int(src, 16)] = _utf16(dst)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, dst, array in re.findall(
            r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(?:<([0-9A-Fa-f]*)>|\[(.*?)\])", block, re.S
        ):
            low_code, high_code = int(low, 16), int(high, 16)
            if array:
                for offset, item in enumerate(re.findall(r"<([0-9A-Fa-f]*)>", array)):
                    mapping[low_code + offset] = _utf16(item)
            elif dst:
                start = _utf16(dst)
                for offset in range(min(high_code - low_code, 0xFFFF) + 1):
                    mapping[low_code + offset] = start[:-1] + chr(ord(start[-1]) + offset) if start else ""
    return width, mapping


def _utf16(hex_string: str) -> str:
    return bytes.fromhex(hex_string).decode("utf-16-be", errors="replace") if len(hex_string) % 2 == 0 else "\ufffd"


# --- Page content ---------------------------------------------------------------------------------------------------


@dataclass
class _PageScan:
    problems: list[str] = field(default_factory=list)
    mcid_text: dict[int, str] = field(default_factory=lambda: defaultdict(str))
    untagged_text: str = ""


def _scan_page(page: pikepdf.Page, number: int, fonts: _FontCache) -> _PageScan:
    """Check that all marks on a page sit inside an /Artifact or an MCID sequence; collect the text per MCID."""
    scan = _PageScan()
    resources = _resources(page)
    font_dict = resources.get("/Font", pikepdf.Dictionary())
    properties = resources.get("/Properties", pikepdf.Dictionary())
    # Each open sequence is True when it ties its content to the structure tree (MCID) or declares it an artifact.
    stack: list[tuple[bool, int | None]] = []
    font_stack: list = []
    font = None
    marked = untagged = unlinked = 0
    try:
        instructions = pikepdf.parse_content_stream(page)
    except pikepdf.PdfError as exc:
        scan.problems.append(f"page {number}: content stream cannot be parsed: {exc}")
        return scan
    for operands, operator in instructions:
        op = str(operator)
        if op in ("BDC", "BMC"):
            marked += 1
            tag = str(operands[0]) if operands else ""
            props = operands[1] if op == "BDC" and len(operands) > 1 else None
            if isinstance(props, pikepdf.Name):
                props = properties.get(str(props))
            mcid = props.get("/MCID") if isinstance(props, pikepdf.Dictionary) else None
            covered = tag == "/Artifact" or mcid is not None
            enclosing = stack[-1][0] if stack else False
            if not covered and not enclosing:
                unlinked += 1
            owner = int(mcid) if mcid is not None else (stack[-1][1] if stack else None)
            stack.append((covered or enclosing, owner))
        elif op == "EMC":
            if not stack:
                scan.problems.append(f"page {number}: EMC without a matching BDC/BMC")
            else:
                stack.pop()
        elif op == "q":
            font_stack.append(font)
        elif op == "Q":
            font = font_stack.pop() if font_stack else font
        elif op == "Tf" and operands:
            font = font_dict.get(str(operands[0]))
        if op in _PAINT_OPERATORS:
            covered = bool(stack) and stack[-1][0]
            if not covered:
                untagged += 1
            if op in _TEXT_OPERATORS:
                text = _shown_text(op, operands, font, fonts)
                if covered and stack[-1][1] is not None:
                    scan.mcid_text[stack[-1][1]] += text
                elif not covered:
                    scan.untagged_text += text
    if stack:
        scan.problems.append(f"page {number}: {len(stack)} marked-content sequence(s) not closed by EMC")
    if marked == 0 and untagged:
        scan.problems.append(f"page {number}: content has no marked-content sequences at all (untagged page)")
    elif untagged:
        scan.problems.append(f"page {number}: {untagged} painting operator(s) outside tagged content or artifacts")
    if unlinked:
        scan.problems.append(
            f"page {number}: {unlinked} marked-content sequence(s) neither /Artifact nor tied to the structure (MCID)"
        )
    return scan


def _shown_text(op: str, operands, font, fonts: _FontCache) -> str:
    if op == "TJ":
        parts = operands[0] if operands else []
        return "".join(fonts.decode(font, bytes(part)) for part in parts if isinstance(part, pikepdf.String))
    strings = [operand for operand in operands if isinstance(operand, pikepdf.String)]
    return fonts.decode(font, bytes(strings[-1])) if strings else ""
