"""Catalogue search: Chinese titles by any part, by pinyin (full or initials, e.g. "cyxk" finds 餐饮许可), and
English titles by their words.

A city publishes a few thousand matters at most, so the index is built in memory from the catalogue and rebuilt
when the catalogue changes (its row count or newest id moves); no per-keystroke database scan.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.catalogue.models import Bundle, Matter


@dataclass(frozen=True)
class Entry:
    kind: str  # "bundle" or "matter"
    id: int
    keys: tuple[str, ...]  # lower-case strings to match against


def _keys(*titles: str) -> tuple[str, ...]:
    keys = []
    for title in titles:
        if not title:
            continue
        keys.append(title.lower())
        han = "".join(ch for ch in title if "\u4e00" <= ch <= "\u9fff")
        if han:
            keys.append("".join(lazy_pinyin(han)))
            keys.append("".join(lazy_pinyin(han, style=Style.FIRST_LETTER)))
    return tuple(keys)


_lock = threading.Lock()
_index: dict = {"version": None, "entries": []}


def _version(session: Session):
    return (session.scalar(select(func.count(), func.max(Matter.id)).select_from(Matter)),
            session.scalar(select(func.count()).select_from(Bundle)))


def _entries(session: Session) -> list[Entry]:
    version = _version(session)
    with _lock:
        if _index["version"] != version:
            entries = [Entry("bundle", b.id, _keys(b.title_zh, b.title_zh_hant, b.title_en))
                       for b in session.scalars(select(Bundle))]
            entries += [Entry("matter", m.id, _keys(m.title_zh, m.title_zh_hant, m.title_en))
                        for m in session.scalars(select(Matter))]
            _index.update(version=version, entries=entries)
        return _index["entries"]


def search(session: Session, query: str, limit: int = 50) -> tuple[list[Bundle], list[Matter]]:
    """Bundles and matters whose title matches every word of ``query``."""
    words = [w for w in re.split(r"\s+", query.strip().lower()) if w][:8]
    if not words:
        return [], []
    hits = [e for e in _entries(session) if all(any(w in key for key in e.keys) for w in words)][:limit]
    bundle_ids = [e.id for e in hits if e.kind == "bundle"]
    matter_ids = [e.id for e in hits if e.kind == "matter"]
    bundles = list(session.scalars(select(Bundle).where(Bundle.id.in_(bundle_ids)).order_by(Bundle.id)))
    matters = list(session.scalars(select(Matter).where(Matter.id.in_(matter_ids)).order_by(Matter.id)))
    return bundles, matters


def browse(session: Session, query: str = "", *, audience: str = "", agency_code: str = ""
           ) -> tuple[list[Bundle], list[Matter]]:
    """The catalogue narrowed by a search, an audience (residents or enterprises: matters for both count for each)
    and an agency (a life event counts for every agency that handles one of its matters)."""
    from services.catalogue.models import Agency, Audience, BundleItem

    if query:
        bundles, matters = search(session, query)
    else:
        bundles = list(session.scalars(select(Bundle).order_by(Bundle.id)))
        matters = list(session.scalars(select(Matter).order_by(Matter.agency_id, Matter.id)))
    if audience:
        wanted = {Audience(audience), Audience.BOTH}
        bundles = [b for b in bundles if b.audience in wanted]
        matters = [m for m in matters if m.audience in wanted]
    if agency_code:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == agency_code))
        matters = [m for m in matters if m.agency_id == agency_id]
        with_agency = set(session.scalars(select(BundleItem.bundle_id).join(Matter, Matter.id == BundleItem.matter_id)
                                          .where(Matter.agency_id == agency_id)))
        bundles = [b for b in bundles if b.id in with_agency]
    return bundles, matters
