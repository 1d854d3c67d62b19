"""A service's answers: checked field by field and page by page, shown in three languages, and complete or not.

One implementation for every caller: the journey pages check a page with :func:`check_page`, and sending a draft
checks every answer again with :func:`problems` (a caller that skipped the pages — another client, a stale form, a
changed definition — cannot send an incomplete or invalid application). Errors are codes with parameters; the page
that shows them picks the field's own message from the definition, or a general one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.catalogue.definitions.model import Field, Page, Service, Texts
from services.identity.identifiers import InvalidIdentifier, mask_resident_id, validate_mobile, validate_resident_id

YES = Texts("是", "是", "Yes")
NO = Texts("否", "否", "No")
LIST_SEPARATOR = Texts("、", "、", ", ")


@dataclass(frozen=True)
class AnswerError:
    """What is wrong with one answer: a code (required, out_of_range, wrong_sex, ...) and its parameters."""

    field: str
    code: str
    params: dict = field(default_factory=dict)
    page: str | None = None


def _months_after(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, min(day.day, 28))


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list | tuple)
                                                                               and not value)


def clean(spec: Field, raw, today: dt.date):
    """``(value, error code, params)`` for one answer: the value as stored (int, bool, ISO date text, normalised
    identifier, list of option values) or the reason it cannot be. ``raw`` is what a form sent, or a stored value
    being checked again."""
    if _blank(raw):
        return None, None, {}
    kind = spec.type
    if kind in ("text", "textarea"):
        value = " ".join(str(raw).split()) if kind == "text" else str(raw).strip()
        if spec.max_length and len(value) > spec.max_length:
            return value, "too_long", {"max": spec.max_length}
        return value, None, {}
    if kind == "integer":
        try:
            value = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw).strip())
        except ValueError:
            return raw, "not_a_number", {}
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            return value, "out_of_range", {"min": spec.min, "max": spec.max}
        return value, None, {}
    if kind == "yes_no":
        if raw in (True, "yes"):
            return True, None, {}
        if raw in (False, "no"):
            return False, None, {}
        return raw, "invalid_choice", {}
    if kind == "choice":
        return (raw, None, {}) if spec.option(raw) is not None else (raw, "invalid_choice", {})
    if kind == "choices":
        values = [raw] if isinstance(raw, str) else list(raw)
        if any(spec.option(v) is None for v in values):
            return values, "invalid_choice", {}
        return [o.value for o in spec.options if o.value in values], None, {}  # in the definition's order
    if kind == "date":
        return _clean_date(spec, raw, today)
    if kind == "resident_id":
        try:
            value = validate_resident_id(str(raw), today=today)
        except InvalidIdentifier as exc:
            return raw, "invalid_id", {"reason": exc.code}
        if spec.sex is not None and (int(value[16]) % 2 == 1) != (spec.sex == "male"):
            return value, "wrong_sex", {"sex": spec.sex}
        return value, None, {}
    if kind == "mobile":
        try:
            return validate_mobile(str(raw)), None, {}
        except InvalidIdentifier:
            return raw, "invalid_mobile", {}
    raise AssertionError(f"unknown field type {kind}")  # the loader refuses unknown types


def _clean_date(spec: Field, raw, today: dt.date):
    try:
        value = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        return raw, "invalid_date", {}
    if spec.not_future and value > today:
        return value.isoformat(), "in_future", {}
    if spec.earliest and value < dt.date.fromisoformat(spec.earliest):
        return value.isoformat(), "too_early", {"date": spec.earliest}
    if spec.max_age_days and (today - value).days > spec.max_age_days:
        return value.isoformat(), "too_old", {"days": spec.max_age_days}
    if spec.min_months_ago:
        earliest_application = _months_after(value, spec.min_months_ago)
        if earliest_application > today:
            return value.isoformat(), "too_recent", {"date": earliest_application.isoformat(),
                                                     "months": spec.min_months_ago}
    return value.isoformat(), None, {}


def check_page(service: Service, page: Page, raw: dict, *, answers: dict, account, today: dt.date
               ) -> tuple[dict, list[AnswerError]]:
    """Check one page's answers (``raw``: field name -> what the form sent) together with the answers already
    saved. Returns the values to keep and the errors, in the page's field order; nothing is kept when there is an
    error (the caller shows the page again)."""
    values, errors = {}, []
    for spec in page.fields:
        value, code, params = clean(spec, raw.get(spec.name), today)
        values[spec.name] = value
        if code is not None:
            errors.append(AnswerError(spec.name, code, params, page.slug))
    merged = {**answers, **values}
    for spec in page.fields:
        if any(e.field == spec.name for e in errors):
            continue
        if values[spec.name] is None:
            if spec.is_required(merged):
                errors.append(AnswerError(spec.name, "required", {}, page.slug))
        elif spec.required_when is not None and not spec.required_when.evaluate(merged):
            values[spec.name] = None  # a detail that does not apply to the other answers is not kept
        elif spec.differs_from is not None and values[spec.name] == merged.get(spec.differs_from):
            errors.append(AnswerError(spec.name, "same_as", {"other": spec.differs_from}, page.slug))
    if not errors and page.check is not None:
        for name, code in service.hook(page.check)({**merged, **values}, account):
            errors.append(AnswerError(name, code, {}, page.slug))
    return values, errors


def applicable_pages(service: Service, answers: dict) -> list[Page]:
    """The pages these answers lead through (a page whose ``when`` fails is skipped, its answers not used)."""
    return [page for page in service.pages if page.applies(answers)]


def applicable_answers(service: Service, answers: dict) -> dict:
    """The answers of the pages that apply, and nothing else (what a case keeps when the draft is sent)."""
    kept = {}
    for page in applicable_pages(service, answers):
        for spec in page.fields:
            if answers.get(spec.name) is not None:
                kept[spec.name] = answers[spec.name]
    return kept


def problems(service: Service, answers: dict, *, account, today: dt.date) -> list[AnswerError]:
    """Every answer the application still lacks or that no longer holds, page by page (empty: complete)."""
    found = []
    for page in applicable_pages(service, answers):
        if page.kind != "questions":
            continue
        raw = {spec.name: answers.get(spec.name) for spec in page.fields}
        _values, errors = check_page(service, page, raw, answers=answers, account=account, today=today)
        found += errors
    return found


def page_complete(service: Service, page: Page, answers: dict, *, account, today: dt.date) -> bool:
    raw = {spec.name: answers.get(spec.name) for spec in page.fields}
    return not check_page(service, page, raw, answers=answers, account=account, today=today)[1]


# -- showing answers --------------------------------------------------------------------------------------------------

def shown(spec: Field, value, *, masked: bool = False) -> Texts:
    """An answer as people read it, in the three languages (option labels, yes/no, masked identifiers)."""
    if value is None or value == "" or value == []:
        return Texts("", "", "")
    if spec.type == "yes_no":
        return YES if value else NO
    if spec.type == "choice":
        option = spec.option(value)
        return option.label if option else Texts(str(value), str(value), str(value))
    if spec.type == "choices":
        labels = [spec.option(v).label if spec.option(v) else Texts(v, v, v) for v in value]
        return Texts(*(LIST_SEPARATOR.get(loc).join(label.get(loc) for label in labels)
                       for loc in ("zh", "zh_hant", "en")))
    if spec.type == "date":
        return _date_texts(value)
    text = str(value)
    if masked and spec.type == "resident_id":
        text = mask_resident_id(text)
    elif masked and spec.type == "mobile":
        text = text[:3] + "****" + text[-4:] if len(text) == 11 else "*" * len(text)
    return Texts(text, text, text)


_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")


def _date_texts(value) -> Texts:
    """A date as people write it: 2026年11月20日, 20 November 2026 (stored as YYYY-MM-DD)."""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return Texts(str(value), str(value), str(value))
    chinese = f"{day.year}年{day.month}月{day.day}日"
    return Texts(chinese, chinese, f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}")


@dataclass(frozen=True)
class ShownLine:
    label: Texts
    value: Texts
    page: str | None = None  # where the applicant changes it


def summary(service: Service, answers: dict) -> list[tuple[Texts, list[ShownLine]]]:
    """The check-your-answers rows: per section, each applicable question with its answer (enterprise pages are
    shown by the caller, which knows the enterprise)."""
    sections = []
    for section in service.journey:
        rows = []
        for page in section.pages:
            if not page.applies(answers) or page.kind != "questions":
                continue
            rows += [ShownLine(spec.label, shown(spec, answers.get(spec.name)), page.slug) for spec in page.fields
                     if not (spec.required_when is not None and answers.get(spec.name) is None)]
        sections.append((section.title, rows))
    return sections


def clerk_view(service: Service, agency_code: str, answers: dict) -> list[ShownLine]:
    """The answers an agency's clerks see, in the definition's order, masked where it says so; an answer that does
    not apply to this case (a skipped page) is left out."""
    fields = service.fields
    kept = applicable_answers(service, answers)
    return [ShownLine(fields[entry.field].label, shown(fields[entry.field], kept.get(entry.field),
                                                      masked=entry.show == "masked"))
            for entry in service.clerks.get(agency_code, ()) if entry.field in kept]
