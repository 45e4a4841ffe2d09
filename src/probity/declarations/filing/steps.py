"""The steps of the e-filing form and the fields of each section, read from the bundled JSON Schema.

* ``STEPS`` groups the sections of the 1.0 schema into the steps of the multi-step form; the fields
  of each row are read from the schema (``section_fields``), so the form follows the schema instead
  of repeating it.
* ``step_errors`` filters ``schema.validate_content`` to the problems one step shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.utils.translation import gettext_lazy as _

from probity.declarations.schema import FIELD_LABELS, FieldError, load_schema, validate_content


@dataclass(frozen=True)
class Step:
    name: str
    title: Any
    sections: tuple[str, ...]


HEADER_PATHS = ("schema_version", "declaration_type", "period", "reporting_currency", "declarant", "position")

STEPS: tuple[Step, ...] = (
    Step("header", _("Declarant and position"), ()),
    Step("family", _("Family members"), ("family_members",)),
    Step("real_estate", _("Real estate"), ("real_estate", "unfinished_construction")),
    Step("movable", _("Movable assets"), ("valuables", "vehicles")),
    Step(
        "financial",
        _("Financial assets"),
        ("securities", "corporate_rights", "beneficial_ownership", "intangible_assets", "cash_and_accounts"),
    ),
    Step("income", _("Income"), ("income",)),
    Step("liabilities", _("Liabilities"), ("liabilities",)),
    Step("expenditures", _("Expenditures"), ("expenditures",)),
    Step("interests", _("Outside employment and memberships"), ("outside_employment", "memberships")),
    Step("review", _("Review and submit"), ()),
)
STEP_NAMES = tuple(step.name for step in STEPS)

SECTION_TITLES: dict[str, Any] = {
    "family_members": _("Family members"),
    "real_estate": _("Real estate"),
    "unfinished_construction": _("Unfinished construction"),
    "valuables": _("Valuables"),
    "vehicles": _("Vehicles"),
    "securities": _("Securities"),
    "corporate_rights": _("Corporate rights"),
    "beneficial_ownership": _("Beneficial ownership"),
    "intangible_assets": _("Intangible assets"),
    "cash_and_accounts": _("Cash and bank accounts"),
    "income": _("Income"),
    "liabilities": _("Liabilities"),
    "expenditures": _("Significant expenditures and transactions"),
    "outside_employment": _("Outside employment and positions"),
    "memberships": _("Memberships"),
}

CHOICE_LABELS: dict[str, Any] = {
    # family relations
    "spouse": _("Spouse"),
    "child": _("Child"),
    "parent": _("Parent"),
    "sibling": _("Brother or sister"),
    # real estate
    "apartment": _("Apartment"),
    "house": _("House"),
    "land": _("Land"),
    "garage": _("Garage"),
    "summer_house": _("Summer house"),
    "commercial": _("Commercial property"),
    "room": _("Room"),
    # vehicles
    "car": _("Car"),
    "motorcycle": _("Motorcycle"),
    "truck": _("Truck"),
    "boat": _("Boat"),
    "aircraft": _("Aircraft"),
    # income
    "salary": _("Salary"),
    "business": _("Business income"),
    "dividends": _("Dividends"),
    "interest": _("Interest"),
    "rent": _("Rent"),
    "pension": _("Pension"),
    "gift": _("Gift"),
    "prize": _("Prize"),
    "inheritance": _("Inheritance"),
    "sale_of_property": _("Sale of property"),
    # cash and accounts
    "cash": _("Cash"),
    "bank_account": _("Bank account"),
    "deposit": _("Deposit"),
    # liabilities
    "mortgage": _("Mortgage"),
    "loan": _("Bank loan"),
    "credit_card": _("Credit card"),
    "private_loan": _("Private loan"),
    # expenditures
    "real_estate_purchase": _("Purchase of real estate"),
    "vehicle_purchase": _("Purchase of a vehicle"),
    "securities_purchase": _("Purchase of securities"),
    "other_asset_purchase": _("Purchase of another asset"),
    "sale": _("Sale"),
    "gift_given": _("Gift given"),
    "loan_repayment": _("Loan repayment"),
    "consumption": _("Consumption"),
    "other": _("Other"),
}

NOT_PROVIDED_CHOICES: tuple[tuple[str, Any], ...] = (
    ("", _("Provided")),
    ("family_member_refused", _("Not provided by the family member")),
    ("unknown", _("Unknown")),
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a row, read from the schema."""

    name: str
    kind: str  # owner, id, text, textarea, choice, number, integer, date, money, boolean
    required: bool
    not_providable: bool
    choices: tuple[str, ...] = ()
    max_length: int | None = None

    @property
    def label(self) -> Any:
        return FIELD_LABELS.get(self.name, self.name.replace("_", " "))


def _is_not_provided(option: dict[str, Any]) -> bool:
    return option.get("$ref") == "#/$defs/notProvided"


def _spec(name: str, prop: dict[str, Any], required: bool) -> FieldSpec:
    options = prop.get("oneOf") or [prop]
    not_providable = any(_is_not_provided(o) for o in options)
    base = next(o for o in options if not _is_not_provided(o))
    if name == "owner":
        return FieldSpec(name, "owner", required, False)
    if name == "id":
        return FieldSpec(name, "id", required, False)
    if base.get("$ref") == "#/$defs/money":
        return FieldSpec(name, "money", required, not_providable)
    if "enum" in base:
        return FieldSpec(name, "choice", required, not_providable, tuple(base["enum"]))
    kind = base.get("type")
    if kind == "string" and base.get("format") == "date":
        return FieldSpec(name, "date", required, not_providable)
    if kind == "string":
        length = base.get("maxLength")
        return FieldSpec(
            name, "textarea" if (length or 0) > 1000 else "text", required, not_providable, max_length=length
        )
    if kind == "number":
        return FieldSpec(name, "number", required, not_providable)
    if kind == "integer":
        return FieldSpec(name, "integer", required, not_providable)
    if kind == "boolean":
        return FieldSpec(name, "boolean", required, False)
    return FieldSpec(name, "text", required, not_providable)


@cache
def section_fields(section: str) -> tuple[FieldSpec, ...]:
    """The fields of one row of ``section``, in the schema's order (owner and kind first)."""
    items = load_schema()["properties"][section]["items"]
    required = set(items.get("required", []))
    specs = [_spec(name, prop, name in required) for name, prop in items["properties"].items()]
    first = ("id", "owner", "relation", "kind", "company", "organisation")
    specs.sort(key=lambda s: (first.index(s.name) if s.name in first else len(first), s.name in ("notes",)))
    return tuple(specs)


@cache
def currencies() -> tuple[str, ...]:
    return tuple(load_schema()["$defs"]["currency"]["enum"])


def step_by_name(name: str) -> Step:
    for step in STEPS:
        if step.name == name:
            return step
    raise LookupError(f"There is no step {name!r}; the steps are {', '.join(STEP_NAMES)}.")


def step_of_path(path: str) -> str:
    """The step that shows the field at ``path`` (``income[0].amount`` → ``income``)."""
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    for step in STEPS:
        if head in step.sections:
            return step.name
    return "header" if head in HEADER_PATHS else "review"


REQUIRED = re.compile(r"^the field '([^']+)' is required$")


def field_path(error: FieldError) -> str:
    """The path of the field a problem is about: a missing field's own path (``declarant`` → ``declarant.name``)."""
    required = REQUIRED.match(error.message)
    if required is None:
        return error.path
    return f"{error.path}.{required.group(1)}" if error.path else required.group(1)


def step_of_error(error: FieldError) -> str:
    """The step that shows the field a problem is about."""
    return step_of_path(field_path(error))


def step_errors(content: dict[str, Any], step: str) -> list[FieldError]:
    """The problems of ``content`` that belong to ``step`` (every problem for ``review``)."""
    errors = validate_content(content)
    if step == "review":
        return errors
    return [e for e in errors if step_of_error(e) == step]
