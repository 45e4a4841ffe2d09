"""E-filing by declarants: the steps of the form, drafts, pre-filling and submission.

* ``STEPS`` groups the sections of the 1.0 schema into the steps of the multi-step form; the fields
  of each row are read from the bundled JSON Schema (``section_fields``), so the form follows the
  schema instead of repeating it.
* ``draft_start`` opens a draft for a declaration: a correction starts from the latest version of
  that declaration; a new declaration is pre-filled from the latest version of the declarant's
  previous declaration (assets, family, liabilities and interests; income and expenditures belong
  to one year and start empty).
* ``draft_save`` replaces the sections of one step in the draft (always stored, even with errors)
  and returns that step's problems; ``step_errors`` filters ``schema.validate_content`` to a step.
* ``draft_submit`` validates everything and stores the immutable version through
  ``services.declaration_submit`` in one transaction with the deletion of the draft.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from probity.core.models import Person
from probity.declarations.models import Declaration, DeclarationDraft, DeclarationVersion
from probity.declarations.schema import SCHEMA_VERSION, FieldError, load_schema, validate_content
from probity.declarations.services import SubmitResult, declaration_submit


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

FIELD_LABELS: dict[str, Any] = {
    "owner": _("Owner"),
    "address": _("Address"),
    "description": _("Description"),
    "notes": _("Notes"),
    "kind": _("Kind"),
    "location": _("Location"),
    "area_m2": _("Area (m²)"),
    "share_percent": _("Share (%)"),
    "acquired": _("Acquired on"),
    "value": _("Value"),
    "started": _("Started on"),
    "make_model": _("Make and model"),
    "year": _("Year of manufacture"),
    "registration": _("Registration number"),
    "issuer": _("Issuer"),
    "quantity": _("Quantity"),
    "company": _("Company"),
    "registry_number": _("Registry number"),
    "jurisdiction": _("Country (two letters)"),
    "nature": _("Nature of control"),
    "source": _("Source"),
    "amount": _("Amount"),
    "institution": _("Bank or institution"),
    "account_number": _("Account number"),
    "country": _("Country (two letters)"),
    "creditor": _("Creditor"),
    "creditor_is_bank": _("The creditor is a bank"),
    "date": _("Date"),
    "counterparty": _("Counterparty"),
    "organisation": _("Organisation"),
    "role": _("Role"),
    "start": _("Start"),
    "end": _("End"),
    "relation": _("Relation"),
    "name": _("Name"),
    "birth_date": _("Date of birth"),
    "national_id": _("National identity number"),
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


def step_errors(content: dict[str, Any], step: str) -> list[FieldError]:
    """The problems of ``content`` that belong to ``step`` (every problem for ``review``)."""
    errors = validate_content(content)
    if step == "review":
        return errors
    return [e for e in errors if step_of_path(e.path) == step]


# --- drafts -----------------------------------------------------------------------------------


class FilingError(ValueError):
    """A filing request that cannot be done (not the declarant's, no draft …); the message says why."""


def person_for_user(user: Any) -> Person | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user=user).first()


def current_position(person: Person, year: int | None = None) -> Any:
    """The position the person held in ``year`` (latest start first), or their latest one."""
    positions = person.positions.select_related("body").order_by("-start_date", "-pk")
    if year is not None:
        for position in positions:
            started = position.start_date is None or position.start_date.year <= year
            ended = position.end_date is not None and position.end_date.year < year
            if started and not ended:
                return position
    return positions.first()


def skeleton(person: Person, declaration: Declaration) -> dict[str, Any]:
    """A new declaration's content: the declarant and position the agency already knows."""
    declarant: dict[str, Any] = {"name": person.name}
    if person.source_key:
        declarant["id"] = person.source_key
    if person.birth_date:
        declarant["birth_date"] = person.birth_date.isoformat()
    position: dict[str, Any] = {"title": declaration.position_title}
    if declaration.body_name:
        position["body"] = {"name": declaration.body_name}
    return {
        "schema_version": SCHEMA_VERSION,
        "declaration_type": declaration.declaration_type,
        "period": {"year": declaration.year},
        "declarant": declarant,
        "position": position,
        "family_members": [],
    }


ONE_YEAR_SECTIONS = ("income", "expenditures")


def prefilled(previous: dict[str, Any], declaration: Declaration) -> dict[str, Any]:
    """Last year's content carried into a new declaration: the same assets, family and interests."""
    content = copy.deepcopy(previous)
    for key in ("external_id", "submitted", *ONE_YEAR_SECTIONS):
        content.pop(key, None)
    content["schema_version"] = SCHEMA_VERSION
    content["declaration_type"] = declaration.declaration_type
    content["period"] = {"year": declaration.year}
    return content


def declarations_of(person: Person) -> list[Declaration]:
    return list(
        Declaration.objects.filter(declarant=person)
        .select_related("draft")
        .prefetch_related("versions")
        .order_by("-year", "declaration_type")
    )


def _declaration_for(person: Person, declaration_type: str, year: int) -> Declaration:
    if declaration_type not in Declaration.Type.values:
        raise FilingError(f"{declaration_type!r} is not a declaration type ({', '.join(Declaration.Type.values)}).")
    if not 1900 <= year <= 2200:
        raise FilingError(f"{year} is not a year a declaration can be for.")
    position = current_position(person, year)
    defaults = {
        "status": Declaration.Status.DRAFT,
        "position_title": position.title if position else "",
        "body": position.body if position else None,
        "body_name": position.body.name if position else "",
    }
    try:
        with transaction.atomic():
            declaration, _created = Declaration.objects.get_or_create(
                declarant=person, declaration_type=declaration_type, year=year, defaults=defaults
            )
    except IntegrityError:  # started at the same moment elsewhere
        declaration = Declaration.objects.get(declarant=person, declaration_type=declaration_type, year=year)
    return declaration


def draft_start(*, person: Person, declaration_type: str, year: int, actor: str) -> DeclarationDraft:
    """The draft of the person's declaration of this type and year, opened if there is none.

    A submitted declaration gets a correction draft (its latest version); a new one is pre-filled
    from the person's latest earlier declaration, or from what the agency knows about them.
    """
    declaration = _declaration_for(person, declaration_type, int(year))
    with transaction.atomic():
        declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
        existing = DeclarationDraft.objects.filter(declaration=declaration).first()
        if existing is not None:
            return existing
        latest = declaration.latest_version()
        based_on: DeclarationVersion | None = latest
        if latest is not None:
            content = copy.deepcopy(latest.content)
        else:
            based_on = (
                DeclarationVersion.objects.filter(declaration__declarant=person, declaration__year__lt=declaration.year)
                .order_by("-declaration__year", "-number")
                .first()
            )
            content = prefilled(based_on.content, declaration) if based_on else skeleton(person, declaration)
        return DeclarationDraft.objects.create(
            declaration=declaration, content=content, step=STEPS[0].name, based_on_version=based_on, updated_by=actor
        )


def draft_for(person: Person, declaration_id: int) -> DeclarationDraft:
    draft = (
        DeclarationDraft.objects.select_related("declaration", "based_on_version")
        .filter(declaration_id=declaration_id, declaration__declarant=person)
        .first()
    )
    if draft is None:
        raise FilingError(f"You have no draft of declaration {declaration_id}.")
    return draft


def _fixed(content: dict[str, Any], declaration: Declaration) -> dict[str, Any]:
    """What the declarant may not change in a draft: the schema, the type and the year."""
    content["schema_version"] = SCHEMA_VERSION
    content["declaration_type"] = declaration.declaration_type
    period = content.get("period")
    content["period"] = {**(period if isinstance(period, dict) else {}), "year": declaration.year}
    return content


def draft_save(
    *, draft: DeclarationDraft, step: str, values: dict[str, Any], actor: str
) -> tuple[DeclarationDraft, list[FieldError]]:
    """Stores the step's ``values`` (top-level keys of the content) in the draft; returns its problems."""
    step_by_name(step)
    with transaction.atomic():
        locked = DeclarationDraft.objects.select_for_update().select_related("declaration").get(pk=draft.pk)
        content = dict(locked.content)
        for key, value in values.items():
            if value is None or value == {} or (value == [] and key != "family_members"):
                content.pop(key, None)
            else:
                content[key] = value
        locked.content = _fixed(content, locked.declaration)
        locked.step = step
        locked.updated_by = actor[:150]
        locked.save()
    return locked, step_errors(locked.content, step)


def draft_discard(*, draft: DeclarationDraft) -> None:
    """Deletes a draft; a declaration that was never submitted goes with it."""
    with transaction.atomic():
        declaration = draft.declaration
        draft.delete()
        if not declaration.versions.exists():
            declaration.delete()


def draft_submit(*, draft: DeclarationDraft, actor: str, source: str = "web") -> SubmitResult:
    """Validates the whole draft, stores it as the next immutable version and deletes the draft.

    Raises ``DeclarationInvalid`` (the draft is kept) or ``FilingError`` when the draft is gone
    (submitted a moment ago, e.g. a second click).
    """
    with transaction.atomic():
        locked = (
            DeclarationDraft.objects.select_for_update()
            .select_related("declaration__declarant")
            .filter(pk=draft.pk)
            .first()
        )
        if locked is None:
            raise FilingError("This draft was already submitted or discarded.")
        content = _fixed(dict(locked.content), locked.declaration)
        result = declaration_submit(
            declarant=locked.declaration.declarant, payload=content, submitted_by=actor, source=source
        )
        locked.delete()
    return result


def draft_diff(draft: DeclarationDraft) -> list[Any]:
    """What the draft changes in the version it corrects (empty for a new declaration)."""
    from probity.declarations.services import version_diff

    base = draft.based_on_version
    if base is None or base.declaration_id != draft.declaration_id:
        return []
    return version_diff(base, DeclarationVersion(content=draft.content))
