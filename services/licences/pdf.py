"""Render e-licences to tagged PDF/UA-1 with WeasyPrint.

WeasyPrint reports accessibility failures (an image without ``alt``, a document without ``lang``) and unreachable
resources only through its logger and still writes a PDF, so :func:`render_pdf` listens to that logger and refuses
to hand out a flawed document. Resource fetching is confined to this package's template directory and ``data:``
URIs: a licence is rendered from data the public supplied, and must never make the server fetch a URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import mimetypes
import subprocess
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import DataHandler, Request, url2pathname

import jinja2
import pikepdf
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "licence.html"
STYLESHEET_PATH = TEMPLATE_DIR / "licence.css"

# licence.css sets every lang="en" passage in the Japanese face of the Noto CJK collection (same Latin glyphs as the
# SC face). WeasyPrint names the embedded font after the family, e.g. "ABCDEF+Noto-Sans-CJK-JP-Bold"; text drawn
# with it therefore came from an English element. Compared after dropping "-", " " and case.
ENGLISH_FONT_MARKER = "notosanscjkjp"
ENGLISH_LANG = "en"

_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_log = logging.getLogger(__name__)


class PdfRenderError(Exception):
    """The licence PDF could not be produced, or would have been inaccessible or incomplete."""


# --- HTML -----------------------------------------------------------------------------------------------------------


def _zh_date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _en_date(value: dt.date) -> str:
    # strftime("%B") follows the process locale; the licence must say "May" whatever the server's locale is.
    return f"{value.day} {_EN_MONTHS[value.month - 1]} {value.year}"


def _build_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["zh_date"] = _zh_date
    env.filters["en_date"] = _en_date
    return env


_env = _build_environment()


def render_licence_html(context: dict) -> str:
    """Render ``templates/licence.html`` with ``context`` (see the template for the keys it uses).

    Missing keys raise :class:`jinja2.UndefinedError` instead of printing an empty field on a legal document;
    optional values (``valid_until``, ``scope_en``, English names) may be ``None`` or empty, and a licence without
    lines of its own (``lines``: label and value in zh and en) or conditions may leave those out.
    """
    return _env.get_template(TEMPLATE_NAME).render({"lines": [], "conditions": "", "holder_is_enterprise": False,
                                                    "scope_label": {"zh": "许可范围", "en": "Scope"}, **context})


# --- Fonts ----------------------------------------------------------------------------------------------------------

_cjk_font_ok = False
_cjk_font_lock = threading.Lock()


def ensure_cjk_font() -> None:
    """Raise :class:`PdfRenderError` unless fontconfig knows a font covering Simplified Chinese.

    Without one, WeasyPrint draws Chinese as empty boxes while the text layer stays correct, so nothing else would
    notice. A positive answer is cached for the life of the process; a negative one is re-checked on the next call,
    so installing the fonts fixes a running worker.
    """
    global _cjk_font_ok
    if _cjk_font_ok:
        return
    with _cjk_font_lock:
        if _cjk_font_ok:
            return
        try:
            result = subprocess.run(
                ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfRenderError(f"cannot run fc-list to look for a Chinese font ({exc}); install fontconfig") from exc
        if result.returncode != 0 or not result.stdout.strip():
            raise PdfRenderError(
                "no font covering Simplified Chinese is installed (fc-list :lang=zh-cn is empty): "
                "install the Debian package fonts-noto-cjk"
            )
        _cjk_font_ok = True


# --- Fetching -------------------------------------------------------------------------------------------------------


class RestrictedURLFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves ``data:`` URIs and files under one directory, and refuses the rest.

    Refused URLs are remembered in :attr:`refused` so the caller can fail even where WeasyPrint only logs a
    warning (fonts). Nothing is ever opened over the network: the parent's urllib handlers are never used.
    """

    def __init__(self, root: Path):
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, fail_on_errors=False)
        self.root = Path(root).resolve()
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        """Return a :class:`URLFetcherResponse` for an allowed URL; raise :class:`ValueError` otherwise."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return self._fetch_data(url)
        if scheme == "file":
            path = self._local_path(url)
            if path is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})
        self.refused.append(url)
        raise ValueError(f"refused to fetch {url[:200]!r}: only data: URIs and files in {self.root} are allowed")

    def _local_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        # resolve() follows symlinks, so a link inside the template directory cannot point outside it.
        path = Path(url2pathname(parts.path)).resolve()
        if path.is_relative_to(self.root) and path.is_file():
            return path
        return None

    @staticmethod
    def _fetch_data(url: str) -> URLFetcherResponse:
        response = DataHandler().data_open(Request(url))
        return URLFetcherResponse(
            url, body=response.read(), headers={"Content-Type": response.headers.get("Content-Type", "text/plain")}
        )


# --- Rendering ------------------------------------------------------------------------------------------------------


class _ErrorCollector(logging.Handler):
    """Collects ERROR records from the thread that is rendering, ignoring concurrent renders in other threads."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.thread_id = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            try:
                self.messages.append(record.getMessage())
            except Exception:  # a record with bad arguments is still an error worth failing on
                self.messages.append(str(record.msg))


# Renders made ahead of the transaction that stores them (services/licences/jobs.py, on SQLite): the job renders
# in a snapshot that holds no lock, then issues in its write transaction, where render_pdf finds the same HTML's PDF
# here instead of rendering it again with the database's write lock held. Taken once; the oldest go beyond the limit.
AHEAD_LIMIT = 16
_ahead: OrderedDict[str, bytes] = OrderedDict()
_ahead_lock = threading.Lock()
_keeping = threading.local()


@contextmanager
def rendering_ahead():
    """Within this block, keep each PDF :func:`render_pdf` renders for the next render of the same HTML (in any
    thread, once)."""
    _keeping.on = True
    try:
        yield
    finally:
        _keeping.on = False


def renders_kept() -> int:
    """How many PDFs rendered ahead wait for their render."""
    with _ahead_lock:
        return len(_ahead)


def render_pdf(html: str) -> bytes:
    """Render ``html`` (with ``licence.css``) to a tagged PDF/UA-1 document and return its bytes.

    Raises :class:`PdfRenderError` when no Chinese font is installed, when WeasyPrint logs an error (missing
    ``alt`` or ``lang``, an unloadable image or stylesheet) or when the document asked for a resource outside the
    template directory. English passages are then tagged with ``/Lang (en)`` by :func:`tag_english_spans`. The
    same HTML rendered ahead (:func:`rendering_ahead`) is not rendered again.
    """
    key = hashlib.sha256(html.encode()).hexdigest()
    with _ahead_lock:
        ready = _ahead.pop(key, None)
    if ready is not None:
        return ready
    pdf = _render_pdf(html)
    if getattr(_keeping, "on", False):
        with _ahead_lock:
            _ahead[key] = pdf
            while len(_ahead) > AHEAD_LIMIT:
                _ahead.popitem(last=False)
    return pdf


def _render_pdf(html: str) -> bytes:
    ensure_cjk_font()
    weasy_logger = logging.getLogger("weasyprint")
    if not weasy_logger.isEnabledFor(logging.ERROR):
        # Logger level is checked before handlers run: a silenced logger would let a PDF with no alt text through.
        raise PdfRenderError("the 'weasyprint' logger is silenced below ERROR; PDF/UA errors could not be detected")
    fetcher = RestrictedURLFetcher(TEMPLATE_DIR)
    collector = _ErrorCollector()
    weasy_logger.addHandler(collector)
    try:
        stylesheet = CSS(filename=str(STYLESHEET_PATH), url_fetcher=fetcher)
        document = HTML(string=html, base_url=str(TEMPLATE_DIR), url_fetcher=fetcher)
        pdf = document.write_pdf(pdf_variant="pdf/ua-1", stylesheets=[stylesheet])
    except Exception as exc:
        raise PdfRenderError(f"WeasyPrint failed: {exc}") from exc
    finally:
        weasy_logger.removeHandler(collector)
    problems = list(collector.messages)
    problems += [f"refused to fetch {url[:200]}" for url in fetcher.refused if not _mentioned(url, problems)]
    if problems:
        raise PdfRenderError("PDF rendering reported problems: " + "; ".join(problems))
    return tag_english_spans(pdf)


def _mentioned(url: str, messages: list[str]) -> bool:
    return any(url[:200] in message for message in messages)


# --- English passages -----------------------------------------------------------------------------------------------


def _normalise_font_name(name: str) -> str:
    name = name.lstrip("/")
    if len(name) > 7 and name[6] == "+":  # subset tag, e.g. "JRLKGN+"
        name = name[7:]
    return name.replace("-", "").replace(" ", "").lower()


def _is_marker_font(font: pikepdf.Object) -> bool:
    try:
        return ENGLISH_FONT_MARKER in _normalise_font_name(str(font.get("/BaseFont", "")))
    except (AttributeError, TypeError, ValueError):
        return False


_TEXT_OPERATORS = {"Tj", "TJ", "'", '"'}


def _mcid_fonts(page: pikepdf.Page) -> tuple[set[int], set[int]]:
    """Return (MCIDs with any text, MCIDs with text drawn in the English marker font) for one page."""
    fonts = page.obj.get("/Resources", {}).get("/Font", {})
    marker = {str(name) for name, font in fonts.items() if _is_marker_font(font)}
    with_text: set[int] = set()
    english: set[int] = set()
    mcid_stack: list[int | None] = []
    font_stack: list[str | None] = []
    current_font: str | None = None
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "BDC":
            props = operands[1] if len(operands) > 1 else None
            mcid = props.get("/MCID") if isinstance(props, pikepdf.Dictionary) else None
            mcid_stack.append(int(mcid) if mcid is not None else None)
        elif op == "BMC":
            mcid_stack.append(None)
        elif op == "EMC" and mcid_stack:
            mcid_stack.pop()
        elif op == "q":
            font_stack.append(current_font)
        elif op == "Q" and font_stack:
            current_font = font_stack.pop()
        elif op == "Tf" and operands:
            current_font = str(operands[0])
        elif op in _TEXT_OPERATORS:
            owner = next((mcid for mcid in reversed(mcid_stack) if mcid is not None), None)
            if owner is not None:
                with_text.add(owner)
                if current_font in marker:
                    english.add(owner)
    return with_text, english


def tag_english_spans(pdf: bytes) -> bytes:
    """Set ``/Lang (en)`` on the structure elements whose text came from ``lang="en"`` HTML elements.

    WeasyPrint drops ``lang`` from the structure tree. licence.css draws English passages in a dedicated font
    (see :data:`ENGLISH_FONT_MARKER`), which survives into the content stream; an element is English when all its
    text is drawn in that font. Only the outermost English element of each passage gets ``/Lang``; existing
    ``/Lang`` entries are kept. Returns the input unchanged when there is nothing to tag.
    """
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        tree = doc.Root.get("/StructTreeRoot")
        if tree is None:
            return pdf
        pages: dict[tuple[int, int], tuple[set[int], set[int]]] = {
            page.obj.objgen: _mcid_fonts(page) for page in doc.pages
        }
        if not any(english for _, english in pages.values()):
            return pdf
        tagged = _Tagger(pages).tag_children(tree.get("/K"), None)
        if not tagged:
            return pdf
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


class _Tagger:
    """Walks the structure tree bottom-up, classifying each element as English, other text, or without text."""

    ENGLISH, OTHER, EMPTY = "en", "other", "empty"

    def __init__(self, pages: dict[tuple[int, int], tuple[set[int], set[int]]]):
        self.pages = pages
        self.seen: set[tuple[int, int]] = set()
        self.tagged = 0

    def tag_children(self, kids: pikepdf.Object | None, page: pikepdf.Object | None) -> int:
        """Classify ``kids`` and tag the English ones (used for the tree root, whose kids have no parent)."""
        for element, state in self._classify_kids(kids, page):
            if state == self.ENGLISH and element is not None:
                self._set_lang(element)
        return self.tagged

    def _classify_kids(self, kids, page):
        if kids is None:
            return []
        items = list(kids) if isinstance(kids, pikepdf.Array) else [kids]
        return [self._classify_kid(kid, page) for kid in items]

    def _classify_kid(self, kid, page) -> tuple[pikepdf.Object | None, str]:
        if isinstance(kid, int):  # pikepdf hands out PDF integers as Python ints
            return None, self._classify_mcid(int(kid), page)
        if not isinstance(kid, pikepdf.Dictionary):
            return None, self.EMPTY
        kind = kid.get("/Type")
        if kind == "/MCR":
            return None, self._classify_mcid(int(kid.get("/MCID", -1)), kid.get("/Pg", page))
        if kind == "/OBJR" or "/S" not in kid:
            return None, self.EMPTY
        return kid, self._classify_element(kid, page)

    def _classify_element(self, element: pikepdf.Dictionary, page) -> str:
        if element.is_indirect:
            if element.objgen in self.seen:  # malformed tree with a cycle
                return self.EMPTY
            self.seen.add(element.objgen)
        page = element.get("/Pg", page)
        results = self._classify_kids(element.get("/K"), page)
        states = {state for _, state in results}
        if self.OTHER in states:
            # Mixed content: the English parts are tagged individually, the element keeps the document language.
            for child, state in results:
                if state == self.ENGLISH and child is not None:
                    self._set_lang(child)
            return self.OTHER
        return self.ENGLISH if self.ENGLISH in states else self.EMPTY

    def _classify_mcid(self, mcid: int, page) -> str:
        if page is None or not hasattr(page, "objgen"):
            return self.EMPTY
        with_text, english = self.pages.get(page.objgen, (set(), set()))
        if mcid in english:
            return self.ENGLISH
        return self.OTHER if mcid in with_text else self.EMPTY

    def _set_lang(self, element: pikepdf.Dictionary) -> None:
        if "/Lang" not in element:
            element.Lang = pikepdf.String(ENGLISH_LANG)
            self.tagged += 1
