"""What a service (a bundle) is, once its definition folder is loaded: the catalogue entry, the journey, the materials,
the workflow, what each agency's clerks see and what each licence it grants carries.

These are plain frozen dataclasses: the loader (``parsing``) builds them from YAML and ``checks`` cross-checks them,
so everything downstream can trust a loaded definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from workflows.conditions import Condition
from workflows.definitions import Definition

LOCALES = ("zh", "zh_hant", "en")


@dataclass(frozen=True)
class Texts:
    """One text in the three languages of the hub (simplified Chinese, traditional Chinese, English)."""

    zh: str
    zh_hant: str
    en: str

    def get(self, locale: str) -> str:
        """The text for a Babel locale name (zh_Hans_CN, zh_Hant_HK, en) or one of LOCALES."""
        if locale.startswith("en"):
            return self.en
        if locale.startswith("zh_Hant") or locale == "zh_hant":
            return self.zh_hant
        return self.zh

    def format(self, **values: dict[str, str]) -> Texts:
        """Each language's text with ``{name}`` replaced by ``values[name][locale]``."""
        return Texts(*(getattr(self, loc).format_map({k: v[loc] for k, v in values.items()}) for loc in LOCALES))

    def __str__(self) -> str:  # for logs and error messages; pages pick the reader's language
        return self.zh


@dataclass(frozen=True)
class Option:
    value: str
    label: Texts


# The kinds of answers a journey asks for (services.catalogue.answers validates and shows each kind).
FIELD_TYPES = ("text", "textarea", "integer", "yes_no", "choice", "choices", "date", "resident_id", "mobile")


@dataclass(frozen=True)
class Field:
    """One answer on a journey page."""

    name: str
    type: str
    label: Texts
    hint: Texts | None = None
    required: bool = True
    required_when: Condition | None = None  # required only when this holds (e.g. a detail for some choices)
    max_length: int | None = None
    min: int | None = None
    max: int | None = None
    options: tuple[Option, ...] = ()
    not_future: bool = False  # a date: today or earlier
    max_age_days: int | None = None  # a date: at most this many days ago
    min_months_ago: int | None = None  # a date: at least this many months ago
    earliest: str | None = None  # a date: on or after (YYYY-MM-DD)
    sex: str | None = None  # a resident identity number: "female" or "male" (GB 11643's 17th digit)
    differs_from: str | None = None  # must not equal this other field's answer
    prefill: str | None = None  # "account.mobile": offered from the applicant's account when unanswered
    width: str | None = None  # a display hint for short inputs ("short")
    messages: dict[str, Texts] = field(default_factory=dict)  # error code -> the message for this field

    def is_required(self, answers: dict) -> bool:
        if self.required_when is not None:
            return self.required_when.evaluate(answers)
        return self.required

    def option(self, value) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


PAGE_KINDS = ("questions", "enterprise")


@dataclass(frozen=True)
class Page:
    """One page of the journey: one topic, its fields, shown only when ``when`` holds (if given)."""

    slug: str
    heading: Texts
    kind: str = "questions"  # "enterprise": the applying enterprise is chosen (enterprise services only)
    fields: tuple[Field, ...] = ()
    when: Condition | None = None
    check: str | None = None  # a hook in the folder's hooks.py that checks the page's answers together
    messages: dict[str, Texts] = field(default_factory=dict)  # messages the page's check may give

    def applies(self, answers: dict) -> bool:
        return self.when is None or self.when.evaluate(answers)


@dataclass(frozen=True)
class Section:
    slug: str
    title: Texts
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class Question:
    """A yes/no question of the eligibility check before applying."""

    code: str
    question: Texts
    hint: Texts | None
    eligible_answer: str
    reason: Texts
    advice: Texts
    see_also: str | None = None  # the service the advice sends people to (start a business, before a restaurant)


@dataclass(frozen=True)
class MaterialSpec:
    code: str
    title: Texts
    hint: Texts | None = None
    required: bool = True
    max_files: int = 5
    accepts_licence: str | None = None  # a licence type code: a valid licence of it satisfies the item
    when: Condition | None = None
    renewal_only: bool = False  # asked for (and attached) only when the application renews a licence


@dataclass(frozen=True)
class MatterSpec:
    """A licensing matter (事项) of the service, handled by one agency."""

    code: str
    agency: str
    title: Texts
    legal_basis: Texts
    audience: str
    licence_type: str | None = None
    statutory_days: int = 20
    promised_days: int = 10
    fee_yuan: float = 0
    fully_online: bool = True
    condition: Texts | None = None  # when the matter applies, as the catalogue says it
    # The decision's time limit (statutory_days, working days from acceptance) and its extension, with the law and
    # article that set them: a specific law's own limit (fire inspection, food business) or art. 42(1) of the
    # Administrative Licensing Law. The workflow's task for the matter must use the same (checks.py).
    time_limit_basis: Texts | None = None
    extension_days: int = 10  # 0: the law that sets the limit allows no extension


@dataclass(frozen=True)
class ShownAnswer:
    """An answer as one agency's clerks see it: in full or masked."""

    field: str
    show: str = "full"  # or "masked"


@dataclass(frozen=True)
class LicenceField:
    """One line of a licence: a label and where its value comes from."""

    label: Texts
    source: str  # a journey field name, or applicant.name / enterprise.name / enterprise.uscc / decision.date
    show: str = "full"  # or "masked" (identity numbers printed as the law asks)
    suffix: Texts | None = None  # a unit after the value (万元, m²)


HOLDER_KINDS = ("applicant", "enterprise", "person")


@dataclass(frozen=True)
class Holder:
    """Who a licence names. ``applicant``: the person who applied; ``enterprise``: the enterprise of the case (the one
    that applied, or the one the case registered); ``person``: someone named in the answers (a child), whose
    licence is kept in the applicant's wallet."""

    kind: str
    name: str | None = None  # the answer holding the person's name (kind person)
    identifier: str | None = None  # the answer holding the person's identity number, if they have one


@dataclass(frozen=True)
class LicenceSpec:
    licence_type: str
    holder: Holder
    scope: Texts | None = None  # with {field} placeholders
    scope_label: Texts | None = None  # what the scope is called on this licence (经营范围 on a business licence)
    fields: tuple[LicenceField, ...] = ()
    unique_by: tuple[str, ...] = ()  # one valid licence of this type per holder and these answers (the premises)
    one_per_holder: bool = False  # one valid licence of this type per holder, whatever the answers (a permit)


@dataclass(frozen=True)
class EnterpriseRegistration:
    """How the ``register_enterprise`` action reads the new enterprise from the answers."""

    name: str
    address: str
    division: str  # the 6-digit administrative division code in its unified social credit code


@dataclass(frozen=True)
class Service:
    """One service (a life-event bundle or a single matter) as its folder defines it."""

    code: str
    folder: Path
    audience: str
    title: Texts
    summary: Texts
    workflow: str
    matters: tuple[MatterSpec, ...]
    eligibility: tuple[Question, ...]
    journey: tuple[Section, ...]
    materials: tuple[MaterialSpec, ...]
    clerks: dict[str, tuple[ShownAnswer, ...]]
    licences: dict[str, LicenceSpec]
    # The material items each agency's clerks may open (None: all of them); a supplement's files go to the agency
    # that asked for them and the lead window.
    clerk_materials: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    registers_enterprise: EnterpriseRegistration | None = None
    online: bool = True
    hooks: ModuleType | None = None

    @property
    def pages(self) -> list[Page]:
        return [page for section in self.journey for page in section.pages]

    @property
    def fields(self) -> dict[str, Field]:
        return {f.name: f for page in self.pages for f in page.fields}

    def page(self, slug: str) -> Page | None:
        return next((p for p in self.pages if p.slug == slug), None)

    def field_page(self, name: str) -> Page | None:
        return next((p for p in self.pages if any(f.name == name for f in p.fields)), None)

    def matter(self, code: str) -> MatterSpec | None:
        return next((m for m in self.matters if m.code == code), None)

    def hook(self, name: str):
        return getattr(self.hooks, name)

    def materials_for(self, agency_code: str) -> tuple[str, ...] | None:
        """The material item codes this agency's clerks may open; None for every item."""
        return self.clerk_materials.get(agency_code)


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: Texts
    lead_window: bool = False
    uscc: str | None = None


@dataclass(frozen=True)
class LicenceTypeSpec:
    code: str
    agency: str
    name: Texts
    validity_years: int | None = None


@dataclass
class Catalogue:
    """Every agency, licence type and service, and the workflow definitions the services run."""

    agencies: dict[str, AgencySpec]
    licence_types: dict[str, LicenceTypeSpec]
    services: dict[str, Service]
    workflows: list[Definition]

    def service(self, code: str) -> Service:
        return self.services[code]

    def licence_spec(self, service_code: str, licence_type: str) -> LicenceSpec | None:
        service = self.services.get(service_code)
        return service.licences.get(licence_type) if service else None
