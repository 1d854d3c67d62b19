"""Refuse PDFs that can do something when opened: JavaScript, actions run on opening or on events (/OpenAction,
/AA), launching programs (/Launch), embedded files and rich media. Clerks open applicants' files, inline, on agency
computers: a material is a document to read, and none of these belongs in one.

The file is parsed with pikepdf (qpdf), so objects packed in compressed object streams are seen too, which a byte
search would miss. A file that claims to be a PDF but cannot be parsed is refused as well: what we cannot read we
cannot vouch for, and readers that repair damaged files may find what we did not.
"""

from __future__ import annotations

import io

import pikepdf

# Dictionary keys that carry or trigger active content.
ACTIVE_KEYS = {"/JavaScript", "/JS", "/OpenAction", "/AA", "/Launch", "/EmbeddedFiles", "/EmbeddedFile",
               "/RichMedia", "/RichMediaContent", "/XFA"}
# Action types (an action dictionary's /S) that run code, start programs or open embedded documents.
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/GoToE", "/ImportData", "/RichMediaExecute", "/SubmitForm"}
# Object types that are files inside the file.
ACTIVE_TYPES = {"/EmbeddedFile", "/Filespec"}
MAX_OBJECTS = 200_000  # a 10 MB upload has far fewer; more means a file built to make us work


class UnreadablePdf(Exception):
    """The bytes start like a PDF but pikepdf cannot parse them."""


def _walk(obj, found: set[str], seen: set[tuple[int, int]], budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise UnreadablePdf("too many objects")
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        key = obj.objgen
        if key in seen:
            return
        seen.add(key)
    if isinstance(obj, pikepdf.Stream):
        obj = obj.stream_dict
    if isinstance(obj, pikepdf.Dictionary):
        for name in obj.keys():
            if name in ACTIVE_KEYS:
                found.add(name)
        action, kind = obj.get("/S"), obj.get("/Type")
        if isinstance(action, pikepdf.Name) and str(action) in ACTIVE_ACTIONS:
            found.add(str(action))
        if isinstance(kind, pikepdf.Name) and str(kind) in ACTIVE_TYPES:
            found.add(str(kind))
        for name in obj.keys():
            _walk(obj[name], found, seen, budget)
    elif isinstance(obj, pikepdf.Array):
        for item in obj:
            _walk(item, found, seen, budget)


def active_content(data: bytes) -> list[str]:
    """The names of the active content in the PDF ``data`` (empty for a plain document); raise UnreadablePdf when it
    cannot be parsed."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            found: set[str] = set()
            seen: set[tuple[int, int]] = set()
            budget = [MAX_OBJECTS * 4]
            _walk(pdf.trailer, found, seen, budget)
            for obj in pdf.objects:  # also objects nothing points to: a reader's repair may find them
                _walk(obj, found, seen, budget)
            return sorted(found)
    except (pikepdf.PdfError, pikepdf.PasswordError, RecursionError, ValueError) as exc:
        raise UnreadablePdf(str(exc)) from exc
