"""Reading a service folder's YAML into the model, refusing anything it does not know.

Every mistake is a :class:`ServiceDefinitionError` naming the file and the place in it (``journey › size ›
floor_area``), so whoever edits a definition is told exactly where to look. Unknown keys are errors too: a misspelt
``when`` must not be silently ignored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from services.catalogue.definitions.model import (
    FIELD_TYPES,
    HOLDER_KINDS,
    LOCALES,
    PAGE_KINDS,
    AgencySpec,
    EnterpriseRegistration,
    Field,
    Holder,
    LicenceField,
    LicenceSpec,
    LicenceTypeSpec,
    MaterialSpec,
    MatterSpec,
    Option,
    Page,
    Question,
    Section,
    ShownAnswer,
    Texts,
)
from workflows.conditions import ConditionError, parse_condition

AUDIENCES = ("resident", "enterprise", "both")


class ServiceDefinitionError(ValueError):
    def __init__(self, source: str, place: str | None, message: str):
        self.source, self.place = source, place
        super().__init__(f"{source}, {place}: {message}" if place else f"{source}: {message}")


class Reader:
    """Reads one mapping of one file, remembering where it is for error messages."""

    def __init__(self, source: str, raw, place: tuple[str, ...] = ()):
        self.source, self.raw, self.place = source, raw, place
        if not isinstance(raw, dict):
            self.fail("expected a mapping")

    def fail(self, message: str, key: str | None = None):
        where = " › ".join(self.place + ((key,) if key else ()))
        raise ServiceDefinitionError(self.source, where or None, message)

    def only(self, *known: str) -> None:
        unknown = sorted(set(self.raw) - set(known))
        if unknown:
            self.fail(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(known)})")

    def child(self, raw, *place: str) -> Reader:
        return Reader(self.source, raw, self.place + place)

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def get(self, key: str, default=None):
        return self.raw.get(key, default)

    def str(self, key: str, default: str | None = None, *, required: bool = True) -> str | None:
        value = self.raw.get(key, default)
        if value is None:
            if required:
                self.fail("missing", key)
            return None
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            self.fail("expected a non-empty text", key)
        return str(value)

    def choice(self, key: str, allowed, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if value not in allowed:
            self.fail(f"must be one of {', '.join(allowed)}, not {value!r}", key)
        return value

    def int(self, key: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
        value = self.raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail("expected a whole number", key)
        if minimum is not None and value < minimum:
            self.fail(f"must be {minimum} or more", key)
        return value

    def bool(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.fail("expected true or false", key)
        return value

    def list(self, key: str, *, required: bool = False) -> list:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.fail("missing", key)
            return []
        if not isinstance(value, list):
            self.fail("expected a list", key)
        return value

    def texts(self, key: str, *, required: bool = True) -> Texts | None:
        """A text in the three languages: every language present and not empty."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.fail("missing (a text in zh, zh_hant and en)", key)
            return None
        reader = self.child(value, key)
        reader.only(*LOCALES)
        missing = [loc for loc in LOCALES if not isinstance(value.get(loc), str) or not value[loc].strip()]
        if missing:
            reader.fail(f"no translation in {', '.join(missing)}")
        return Texts(*(value[loc].strip() for loc in LOCALES))

    def condition(self, key: str):
        if self.raw.get(key) is None:
            return None
        try:
            return parse_condition(self.raw[key])
        except ConditionError as exc:
            self.fail(f"condition does not parse: {exc}", key)

    def messages(self, key: str = "messages") -> dict[str, Texts]:
        raw = self.raw.get(key) or {}
        reader = self.child(raw, key)
        return {str(code): reader.texts(code) for code in raw}


def read_yaml(path: Path, root: Path):
    source = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        return source, yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ServiceDefinitionError(source, None, f"not valid YAML: {exc}") from None
    except OSError as exc:
        raise ServiceDefinitionError(source, None, f"cannot be read: {exc}") from None


# -- the shared catalogue ---------------------------------------------------------------------------------------------

def parse_agencies(source: str, raw) -> dict[str, AgencySpec]:
    top = Reader(source, raw)
    top.only("agencies")
    agencies = {}
    for position, item in enumerate(top.list("agencies", required=True)):
        reader = top.child(item, f"agencies[{position + 1}]")
        reader.only("code", "name", "lead_window", "uscc")
        code = reader.str("code")
        if code in agencies:
            reader.fail(f"agency {code!r} is defined twice", "code")
        agencies[code] = AgencySpec(code=code, name=reader.texts("name"), lead_window=reader.bool("lead_window"),
                                    uscc=reader.str("uscc", required=False))
    if sum(a.lead_window for a in agencies.values()) != 1:
        top.fail("exactly one agency must be the lead window (lead_window: true)")
    return agencies


def parse_licence_types(source: str, raw) -> dict[str, LicenceTypeSpec]:
    top = Reader(source, raw)
    top.only("licence_types")
    types = {}
    for position, item in enumerate(top.list("licence_types", required=True)):
        reader = top.child(item, f"licence_types[{position + 1}]")
        reader.only("code", "agency", "name", "validity_years")
        code = reader.str("code")
        if code in types:
            reader.fail(f"licence type {code!r} is defined twice", "code")
        types[code] = LicenceTypeSpec(code=code, agency=reader.str("agency"), name=reader.texts("name"),
                                      validity_years=reader.int("validity_years", minimum=1))
    return types


# -- a service --------------------------------------------------------------------------------------------------------

SERVICE_KEYS = ("code", "audience", "title", "summary", "workflow", "online", "matters", "eligibility", "journey",
                "materials", "clerks", "licences", "registers_enterprise")


def parse_service_parts(reader: Reader) -> dict:
    """The parts of a service.yaml, each read and checked on its own (cross-references come later)."""
    reader.only(*SERVICE_KEYS)
    return {
        "code": reader.str("code"),
        "audience": reader.choice("audience", AUDIENCES),
        "title": reader.texts("title"),
        "summary": reader.texts("summary"),
        "workflow": reader.str("workflow"),
        "online": reader.bool("online", True),
        "matters": tuple(_matter(reader.child(m, f"matters[{i + 1}]"))
                         for i, m in enumerate(reader.list("matters", required=True))),
        "eligibility": tuple(_question(reader.child(q, f"eligibility[{i + 1}]"))
                             for i, q in enumerate(reader.list("eligibility"))),
        "journey": tuple(_section(reader.child(s, f"journey[{i + 1}]"))
                         for i, s in enumerate(reader.list("journey", required=True))),
        "materials": tuple(_material(reader.child(m, f"materials[{i + 1}]"))
                           for i, m in enumerate(reader.list("materials"))),
        **_clerks(reader.child(reader.get("clerks") or {}, "clerks")),
        "licences": _licences(reader.child(reader.get("licences") or {}, "licences")),
        "registers_enterprise": _registration(reader),
    }


def _matter(reader: Reader) -> MatterSpec:
    reader.only("code", "agency", "licence_type", "title", "legal_basis", "audience", "statutory_days",
                "promised_days", "fee_yuan", "fully_online", "condition", "time_limit_basis", "extension_days")
    fee = reader.get("fee_yuan", 0)
    if not isinstance(fee, int | float) or isinstance(fee, bool) or fee < 0:
        reader.fail("expected an amount of yuan, 0 or more", "fee_yuan")
    return MatterSpec(
        code=reader.str("code"), agency=reader.str("agency"), title=reader.texts("title"),
        legal_basis=reader.texts("legal_basis"), audience=reader.choice("audience", AUDIENCES),
        licence_type=reader.str("licence_type", required=False),
        statutory_days=reader.int("statutory_days", 20, minimum=1), promised_days=reader.int("promised_days", 10,
                                                                                            minimum=1),
        fee_yuan=float(fee), fully_online=reader.bool("fully_online", True),
        condition=reader.texts("condition", required=False), time_limit_basis=reader.texts("time_limit_basis"),
        extension_days=reader.int("extension_days", 10, minimum=0))


def _question(reader: Reader) -> Question:
    reader.only("code", "question", "hint", "eligible_answer", "reason", "advice", "see_also")
    return Question(code=reader.str("code"), question=reader.texts("question"),
                    hint=reader.texts("hint", required=False),
                    eligible_answer=reader.choice("eligible_answer", ("yes", "no"), "yes"),
                    reason=reader.texts("reason"), advice=reader.texts("advice"),
                    see_also=reader.str("see_also", required=False))


def _section(reader: Reader) -> Section:
    reader.only("section", "title", "pages")
    slug = reader.str("section")
    pages = tuple(_page(reader.child(p, slug, f"pages[{i + 1}]")) for i, p in enumerate(reader.list("pages",
                                                                                                  required=True)))
    if not pages:
        reader.fail("a section needs at least one page", "pages")
    return Section(slug=slug, title=reader.texts("title"), pages=pages)


def _page(reader: Reader) -> Page:
    slug = reader.str("page")
    reader = reader.child(reader.raw, slug)
    reader.only("page", "kind", "heading", "fields", "when", "check", "messages")
    kind = reader.choice("kind", PAGE_KINDS, "questions")
    fields = tuple(_field(reader.child(f, f"fields[{i + 1}]")) for i, f in enumerate(reader.list("fields")))
    if kind == "questions" and not fields:
        reader.fail("a page of questions needs fields", "fields")
    if kind == "enterprise" and fields:
        reader.fail("the enterprise page has no fields of its own", "fields")
    return Page(slug=slug, heading=reader.texts("heading"), kind=kind, fields=fields, when=reader.condition("when"),
                check=reader.str("check", required=False), messages=reader.messages())


FIELD_KEYS = ("name", "type", "label", "hint", "required", "required_when", "max_length", "min", "max", "options",
              "not_future", "max_age_days", "min_months_ago", "earliest", "sex", "differs_from", "prefill", "width",
              "messages")
# What each type may say about itself, beyond what every field says.
TYPE_KEYS = {
    "text": {"max_length"}, "textarea": {"max_length"}, "integer": {"min", "max"}, "yes_no": set(),
    "choice": {"options"}, "choices": {"options"}, "resident_id": {"sex"}, "mobile": set(),
    "date": {"not_future", "max_age_days", "min_months_ago", "earliest"},
}
COMMON_KEYS = {"name", "type", "label", "hint", "required", "required_when", "differs_from", "prefill", "width",
               "messages"}
PREFILLS = ("account.mobile", "account.name", "account.id_number")


def _field(reader: Reader) -> Field:
    name = reader.str("name")
    reader = reader.child(reader.raw, name)
    reader.only(*FIELD_KEYS)
    kind = reader.choice("type", FIELD_TYPES)
    stray = set(reader.raw) - COMMON_KEYS - TYPE_KEYS[kind]
    if stray:
        reader.fail(f"{', '.join(sorted(stray))} do(es) not apply to a {kind} field")
    options = []
    for i, raw in enumerate(reader.list("options")):
        option = reader.child(raw, f"options[{i + 1}]")
        option.only("value", "label")
        options.append(Option(value=option.str("value"), label=option.texts("label")))
    if kind in ("choice", "choices") and len(options) < 2:
        reader.fail("a choice needs at least two options", "options")
    if len({o.value for o in options}) != len(options):
        reader.fail("two options have the same value", "options")
    earliest = reader.str("earliest", required=False)
    if earliest is not None:
        try:
            dt.date.fromisoformat(earliest)
        except ValueError:
            reader.fail("expected a date as YYYY-MM-DD", "earliest")
    if reader.has("sex"):
        reader.choice("sex", ("female", "male"))
    if reader.has("prefill"):
        reader.choice("prefill", PREFILLS)
    if reader.has("width"):
        reader.choice("width", ("short", "medium"))
    return Field(
        name=name, type=kind, label=reader.texts("label"), hint=reader.texts("hint", required=False),
        required=reader.bool("required", True), required_when=reader.condition("required_when"),
        max_length=reader.int("max_length", 200 if kind == "text" else 2000 if kind == "textarea" else None,
                              minimum=1),
        min=reader.int("min"), max=reader.int("max"), options=tuple(options),
        not_future=reader.bool("not_future"), max_age_days=reader.int("max_age_days", minimum=1),
        min_months_ago=reader.int("min_months_ago", minimum=1), earliest=earliest,
        sex=reader.get("sex"), differs_from=reader.str("differs_from", required=False),
        prefill=reader.get("prefill"), width=reader.get("width"), messages=reader.messages())


def _material(reader: Reader) -> MaterialSpec:
    reader.only("code", "title", "hint", "required", "max_files", "accepts_licence", "when", "renewal_only")
    return MaterialSpec(code=reader.str("code"), title=reader.texts("title"), hint=reader.texts("hint",
                                                                                                required=False),
                        required=reader.bool("required", True), max_files=reader.int("max_files", 5, minimum=1),
                        accepts_licence=reader.str("accepts_licence", required=False), when=reader.condition("when"),
                        renewal_only=reader.bool("renewal_only"))


def _clerks(reader: Reader) -> dict:
    """Each agency's view: a list of answers (every material), or ``{answers: [...], materials: [...]}``."""
    views, materials = {}, {}
    for agency, entries in reader.raw.items():
        if isinstance(entries, dict):
            view = reader.child(entries, str(agency))
            view.only("answers", "materials")
            codes = view.list("materials", required=True)
            if not all(isinstance(code, str) for code in codes):
                view.fail("expected a list of material codes", "materials")
            materials[str(agency)] = tuple(codes)
            entries = view.list("answers", required=True)
        place = reader.child({"answers": entries}, str(agency))
        shown = []
        for i, entry in enumerate(place.list("answers")):
            if isinstance(entry, str):
                shown.append(ShownAnswer(field=entry))
                continue
            item = place.child(entry, f"[{i + 1}]")
            item.only("answer", "show")
            shown.append(ShownAnswer(field=item.str("answer"), show=item.choice("show", ("full", "masked"), "full")))
        if not shown:
            place.fail("list the answers this agency's clerks see")
        views[str(agency)] = tuple(shown)
    return {"clerks": views, "clerk_materials": materials}


def _licences(reader: Reader) -> dict[str, LicenceSpec]:
    specs = {}
    for type_code, raw in reader.raw.items():
        spec = reader.child(raw, str(type_code))
        spec.only("holder", "scope", "scope_label", "fields", "unique_by", "one_per_holder")
        holder_raw = spec.get("holder")
        if isinstance(holder_raw, str):
            holder = Holder(kind=holder_raw)
        else:
            holder_reader = spec.child(holder_raw or {}, "holder")
            holder_reader.only("kind", "name", "identifier")
            holder = Holder(kind=holder_reader.get("kind"), name=holder_reader.str("name", required=False),
                            identifier=holder_reader.str("identifier", required=False))
        if holder.kind not in HOLDER_KINDS:
            spec.fail(f"must be one of {', '.join(HOLDER_KINDS)}", "holder")
        if (holder.kind == "person") != (holder.name is not None):
            spec.fail("a person holder names the answer with their name (name:), and only a person holder does",
                      "holder")
        fields = []
        for i, raw_field in enumerate(spec.list("fields")):
            item = spec.child(raw_field, f"fields[{i + 1}]")
            item.only("label", "value", "show", "suffix")
            fields.append(LicenceField(label=item.texts("label"), source=item.str("value"),
                                       show=item.choice("show", ("full", "masked"), "full"),
                                       suffix=item.texts("suffix", required=False)))
        unique_by = spec.list("unique_by")
        if not all(isinstance(name, str) for name in unique_by):
            spec.fail("expected a list of answer names", "unique_by")
        specs[str(type_code)] = LicenceSpec(licence_type=str(type_code), holder=holder,
                                            scope=spec.texts("scope", required=False),
                                            scope_label=spec.texts("scope_label", required=False),
                                            fields=tuple(fields), unique_by=tuple(unique_by),
                                            one_per_holder=spec.bool("one_per_holder"))
        if specs[str(type_code)].one_per_holder and unique_by:
            spec.fail("one_per_holder and unique_by exclude each other")
    return specs


def _registration(reader: Reader) -> EnterpriseRegistration | None:
    raw = reader.get("registers_enterprise")
    if raw is None:
        return None
    reg = reader.child(raw, "registers_enterprise")
    reg.only("name", "address", "division")
    division = reg.str("division")
    if len(division) != 6 or not division.isdigit():
        reg.fail("expected a 6-digit administrative division code", "division")
    return EnterpriseRegistration(name=reg.str("name"), address=reg.str("address"), division=division)
