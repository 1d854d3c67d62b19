"""File names people give us, made safe to store, show and send back (RFC 6266 ``Content-Disposition``).

A name is whatever the uploader's browser sent: it may carry CR/LF (which no HTTP header may contain, so a download
would fail for everyone), NUL, other control characters, or bidirectional overrides that make ``invoice‮fdp.exe``
read as ``invoiceexe.pdf``. None of these means anything in a file name, so they are removed at upload, and again
when sending, for names stored before this rule.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME = 255
FALLBACK = "upload"
# C0 and C1 controls, DEL, and the bidirectional embedding/override/isolate marks.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


def clean_filename(name: str | None, fallback: str = FALLBACK) -> str:
    """The last path segment of ``name`` without control or direction characters, NFC, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = _UNSAFE.sub("", name)
    name = re.split(r"[/\\]", name)[-1].strip().strip(".")  # a client's path, and "." or ".." on their own
    return name[:MAX_NAME] or fallback


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """An RFC 6266 header value: a plain ASCII ``filename`` for old clients, and ``filename*`` (RFC 8187, UTF-8)
    with the real name, so a Chinese name arrives intact and no character can end the header early."""
    name = clean_filename(filename)
    stem, dot, extension = name.rpartition(".") if "." in name else (name, "", "")
    stem, extension = (re.sub(r'["\\%;]', "_", _ascii(part)).strip() for part in (stem, extension))
    ascii_name = (stem or "download") + (f".{extension}" if dot and extension else "")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
