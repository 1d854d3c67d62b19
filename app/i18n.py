"""Languages: the locale selector, the language switch, and localized display of catalogue data and dates."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, request
from flask_babel import format_date, format_datetime, get_locale, lazy_gettext
from flask_babel import gettext as _  # noqa: F401  (re-exported for views)

from services.catalogue.models import localized as _localized
from services.identity.identifiers import mask_resident_id

_l = lazy_gettext
LANGUAGE_COOKIE = "lang"
DISPLAY_COOKIE = "display"
# What the language switch shows: each language in its own name, so everyone can find theirs.
LANGUAGE_NAMES = {"zh_Hans_CN": "简体中文", "zh_Hant_HK": "繁體中文", "en": "English"}
HTML_LANG = {"zh_Hans_CN": "zh-Hans", "zh_Hant_HK": "zh-Hant-HK", "en": "en"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match(["zh_Hans_CN", "zh_Hant_HK", "zh_TW", "zh_HK", "en"])
    if best in ("zh_TW", "zh_HK"):
        return "zh_Hant_HK"
    return best if best in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    if "language" not in g:
        g.language = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
        # Babel normalises zh_Hans_CN to "zh_Hans_CN"; keep our three names whatever it returns.
        if g.language not in HTML_LANG:
            g.language = "zh_Hant_HK" if "Hant" in g.language else ("en" if g.language.startswith("en")
                                                                    else "zh_Hans_CN")
    return g.language


def localized(obj, field: str) -> str:
    return _localized(obj, field, current_language())


def text(texts) -> str:
    """A definition's text (services.catalogue.definitions Texts, or its dict form stored on a licence) in the
    reader's language; empty for none."""
    if not texts:
        return ""
    if isinstance(texts, dict):
        return texts.get({"en": "en", "zh_Hant_HK": "zh_hant"}.get(current_language(), "zh")) or texts.get("zh", "")
    return texts.get(current_language())


def format_day(value: dt.date | dt.datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # an ISO date kept in an event's detail
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, format="long" if current_language() == "en" else "yyyy-MM-dd")


def format_moment(value: dt.datetime | None) -> str:
    """A moment as the reader's date and the time of day, both in China's time zone (BABEL_DEFAULT_TIMEZONE):
    formatting the date and the time separately would pair China's date with the UTC clock."""
    if value is None:
        return ""
    pattern = "d MMMM yyyy, HH:mm" if current_language() == "en" else "yyyy-MM-dd HH:mm"
    return format_datetime(value, pattern)


def template_helpers() -> dict:
    return {
        "localized": localized,
        "text": text,
        "format_day": format_day,
        "format_moment": format_moment,
        "current_language": current_language,
        "html_lang": lambda: HTML_LANG[current_language()],
        "language_names": LANGUAGE_NAMES,
        "mask_resident_id": mask_resident_id,
        "large_text": request.cookies.get(DISPLAY_COOKIE) == "large",
    }
