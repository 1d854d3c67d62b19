"""Every user-facing string is in the template and translated in all three catalogues."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["zh_Hans_CN", "zh_Hant_HK", "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _ids(catalog) -> set:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A fresh extraction from the source: the committed messages.pot must match it."""
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "translations/babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2", "--no-location", "-o", str(out), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with out.open("rb") as fh:
        return read_po(fh)


def test_messages_pot_is_up_to_date(template):
    with (ROOT / "translations" / "messages.pot").open("rb") as fh:
        committed = read_po(fh)
    missing = _ids(template) - _ids(committed)
    assert not missing, f"run `make translations-extract` and translate: {sorted(map(str, missing))[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(template, language):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        strings = [] if translated is None else (
            list(translated.string) if isinstance(translated.string, tuple) else [translated.string])
        if translated is None or not all(strings) or translated.fuzzy:
            problems.append(f"untranslated: {message.id!r}")
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(source)):
                problems.append(f"placeholders differ: {source!r} -> {text!r}")
    assert not problems, f"{language}: " + "; ".join(problems[:20])
