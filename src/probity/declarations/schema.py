"""The bundled declaration JSON Schema and validation with plain, per-field messages.

``validate_content`` checks a payload against ``schemas/declaration-1.0.json`` (JSON Schema
2020-12) and then the rules a schema cannot say: no date is before 1900 or after the end of the
declaration's period (nor its filing date), every owner is the declarant or a listed family member,
and every currency other than the reporting currency has an exchange rate for the period.

* The bounds of a value (amounts not negative, a share more than 0 and at most 100 %, an area more
  than 0) are in the schema itself, so the published schema says them; their messages name the
  field with the label the e-filing form shows (``FIELD_LABELS``), in the user's language, so that
  the form and an import refuse a value with the same sentence.
* Speed: a validator compiled once with ``fastjsonschema`` answers "valid?" (most declarations
  are); only when it says no does the full ``jsonschema`` validator run, to collect every problem
  with its plain message. Both give the same verdict (tests compare them); the compiled one is
  given an equivalent form of the schema that it runs fast (``_fast_schema``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from probity.declarations.rates import MissingRate, rate_for

SCHEMA_VERSION = "1.0"
SCHEMA_DIR = Path(__file__).parent / "schemas"

ASSET_SECTIONS = (
    "real_estate",
    "unfinished_construction",
    "valuables",
    "vehicles",
    "securities",
    "corporate_rights",
    "intangible_assets",
    "cash_and_accounts",
)
ROW_SECTIONS = (
    *ASSET_SECTIONS,
    "beneficial_ownership",
    "income",
    "liabilities",
    "expenditures",
    "outside_employment",
    "memberships",
)
MONEY_KEYS = ("value", "amount")

# The labels the e-filing form shows for the fields of a row; messages about a value name its field with them.
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

# Fields outside the rows, by their path (indices left out).
PATH_LABELS: dict[str, Any] = {
    "period.year": _("Year"),
    "period.start": _("Period from"),
    "period.end": _("Period to"),
    "submitted": _("Submitted on"),
    "declarant.birth_date": _("Date of birth"),
    "position.start_date": _("In this position since"),
    "totals.income": _("Total income"),
    "totals.liabilities": _("Total liabilities"),
}

EARLIEST = date(1900, 1, 1)
# Dates of what happened before the declaration: not after the end of its period (nor its filing date).
PAST_DATES = {
    **{section: ("acquired", "started") for section in ASSET_SECTIONS},
    "expenditures": ("date",),
    "outside_employment": ("start",),
    "family_members": ("birth_date",),
}
# Every other date of a row: only "not before 1900".
OTHER_DATES = {"outside_employment": ("end",)}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``path`` like ``real_estate[2].value.amount``, and a plain message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(declaration)'}: {self.message}"


class DeclarationInvalid(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@cache
def load_schema(version: str = SCHEMA_VERSION) -> dict[str, Any]:
    path = SCHEMA_DIR / f"declaration-{version}.json"
    if not path.is_file():
        raise LookupError(f"Unknown declaration schema version {version!r}.")
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(), format_checker=FormatChecker())


def field_label(parts: Any) -> str:
    """The label of the field at ``parts`` (a path as a list), in the user's language.

    The amount or currency of a money value is labelled as the value (``income[0].amount.amount`` →
    "Amount", ``real_estate[0].value.amount`` → "Value").
    """
    names = [part for part in parts if isinstance(part, str)]
    if len(names) > 1 and names[-1] in ("amount", "currency") and not isinstance(list(parts)[-2], int):
        names = names[:-1]
    if not names:
        return ""
    dotted = ".".join(names)
    if dotted in PATH_LABELS:
        return str(PATH_LABELS[dotted])
    return str(FIELD_LABELS.get(names[-1], names[-1].replace("_", " ")))


def _bounds_message(label: str, bounds: dict[str, Any], instance: Any) -> str:
    """The message for a number outside the bounds the schema sets for its field."""
    low, high, above = bounds.get("minimum"), bounds.get("maximum"), bounds.get("exclusiveMinimum")
    if above == 0 and high == 100:
        return gettext("%(field)s must be more than 0 and at most 100.") % {"field": label}
    if above == 0:
        return gettext("%(field)s must be more than 0.") % {"field": label}
    if low == 0 and high is None:
        return gettext("%(field)s cannot be negative.") % {"field": label}
    if low is not None and high is not None:
        return gettext("%(field)s is out of range: it must be between %(minimum)s and %(maximum)s.") % {
            "field": label,
            "minimum": low,
            "maximum": high,
        }
    kind = "minimum" if low is not None or above is not None else "maximum"
    return f"{instance} is out of range ({kind} {low if low is not None else above if above is not None else high})"


def _day(value: Any) -> date | None:
    """``value`` as a date when it is a real YYYY-MM-DD date (the schema reports it otherwise)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _dated(parts: list[Any], value: Any, limit: tuple[date, str] | None) -> FieldError | None:
    """The problem with the date ``value`` at ``parts``: before 1900, or after ``limit`` (day, which)."""
    day = _day(value)
    if day is None or (day >= EARLIEST and (limit is None or day <= limit[0])):
        return None
    label = field_label(parts)
    if day < EARLIEST:
        return FieldError(_path(parts), gettext("%(field)s cannot be before 1900.") % {"field": label})
    if limit is not None:
        if limit[1] == "submitted":
            text = gettext("%(field)s cannot be later than the filing date (%(date)s).")
        else:
            text = gettext("%(field)s cannot be later than the end of the declaration's period (%(date)s).")
        return FieldError(_path(parts), text % {"field": label, "date": limit[0].isoformat()})
    return None


def _date_errors(payload: dict[str, Any]) -> list[FieldError]:
    """Dates a schema cannot bound: none before 1900, none after the period's end or the filing date.

    Runs beside the schema check and skips what is not a real date (the schema reports those).
    """
    errors: list[FieldError] = []

    def add(problem: FieldError | None) -> None:
        if problem is not None:
            errors.append(problem)

    found = payload.get("period")
    period: dict[str, Any] = found if isinstance(found, dict) else {}
    year = period.get("year")
    year = year if isinstance(year, int) and not isinstance(year, bool) and 1900 <= year <= 2200 else None
    start, end = _day(period.get("start")), _day(period.get("end"))
    for key, day in (("start", start), ("end", end)):
        add(_dated(["period", key], period.get(key), None))
        if day is not None and year is not None and day >= EARLIEST and day.year != year:
            label = str(PATH_LABELS[f"period.{key}"])
            errors.append(
                FieldError(f"period.{key}", gettext("%(field)s must be in %(year)s.") % {"field": label, "year": year})
            )
            end = None if key == "end" else end
    if start is not None and end is not None and start > end:
        errors.append(
            FieldError(
                "period.start",
                gettext("%(start)s cannot be later than %(end)s.")
                % {"start": PATH_LABELS["period.start"], "end": PATH_LABELS["period.end"]},
            )
        )
    limit: tuple[date, str] | None = None
    if end is not None and end >= EARLIEST:
        limit = (end, "period")
    elif year is not None:
        limit = (date(year, 12, 31), "period")
    submitted = _day(payload.get("submitted"))
    add(_dated(["submitted"], payload.get("submitted"), None))
    if submitted is not None and submitted >= EARLIEST and (limit is None or submitted < limit[0]):
        limit = (submitted, "submitted")
    declarant = payload.get("declarant")
    if isinstance(declarant, dict):
        add(_dated(["declarant", "birth_date"], declarant.get("birth_date"), limit))
    position = payload.get("position")
    if isinstance(position, dict):
        filed = (submitted, "submitted") if submitted is not None and submitted >= EARLIEST else None
        add(_dated(["position", "start_date"], position.get("start_date"), filed))
    for section, keys in PAST_DATES.items():
        rows = payload.get(section)
        for index, row in enumerate(rows if isinstance(rows, list) else []):
            if not isinstance(row, dict):
                continue
            for key in keys:
                add(_dated([section, index, key], row.get(key), limit))
            for key in OTHER_DATES.get(section, ()):
                add(_dated([section, index, key], row.get(key), None))
    return errors


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _plain(error: SchemaError) -> str:
    kind = error.validator
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else ""
        return f"the field '{missing}' is required"
    if kind == "additionalProperties":
        return "has fields this schema does not know: " + str(error.message).split("(")[-1].rstrip(")")
    if kind == "pattern" and error.path and error.path[-1] == "amount":
        text = error.instance
        if isinstance(text, str) and text.startswith("-") and re.search(str(error.validator_value), text[1:]):
            return gettext("%(field)s cannot be negative.") % {"field": field_label(error.absolute_path)}
        return (
            f'{json.dumps(error.instance)[:40]} is not an amount: write a decimal number as text, like "1234.50", '
            "with at most 15 digits before the point and 4 after"
        )
    if kind == "format":
        return f"{json.dumps(error.instance)[:40]} is not a real date (YYYY-MM-DD)"
    if kind == "enum":
        if len(error.validator_value) > 20:
            return f"{json.dumps(error.instance)[:40]} is not an ISO 4217 currency code"
        return f"{json.dumps(error.instance)[:40]} is not one of: {', '.join(map(str, error.validator_value))}"
    if kind == "oneOf":
        # a value or "not provided": explain why the value branch failed, unless "not provided" was meant
        if isinstance(error.instance, dict) and "not_provided" in error.instance:
            return 'write "not provided" as {"not_provided": "family_member_refused"} or {"not_provided": "unknown"}'
        value_errors = [e for e in error.context or [] if e.relative_schema_path[0] == 0 and e.validator != "type"]
        if value_errors:
            return _plain(value_errors[0])
        return 'has the wrong kind of value, or write {"not_provided": "family_member_refused"}'
    if kind == "type":
        return f"{json.dumps(error.instance)[:40]} must be of type {error.validator_value}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and isinstance(error.schema, dict):
        return _bounds_message(field_label(error.absolute_path), error.schema, error.instance)
    if kind == "maxLength":
        return f"is longer than {error.validator_value} characters"
    if kind == "const":
        return f"must be {json.dumps(error.validator_value)}"
    return str(error.message)


def _full_schema_errors(payload: Any) -> list[FieldError]:
    errors = []
    for error in sorted(_validator().iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))):
        errors.append(FieldError(_path(error.absolute_path), _plain(error)))
    return errors


def _is_date(value: str) -> bool:
    """The date check of the full validator (a YYYY-MM-DD string that is a real day)."""
    return bool(_validator().format_checker.conforms(value, "date"))


NOT_PROVIDED_REF = "#/$defs/notProvided"
MONEY_REF = "#/$defs/money"


def _fast_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema in a form ``fastjsonschema`` runs fast, accepting exactly what ``schema`` accepts.

    * "a value or not provided", ``oneOf: [value, notProvided]``, becomes ``anyOf`` (the value is tried
      first and usually matches: no failed branch, which is what costs time). The same documents pass:
      "not provided" is an object with a ``not_provided`` key, and a value here is a string, a number or
      money, an object without that key, so the two never both match (checked below);
    * money and "not provided" are written out where they are used, not called as definitions;
    * the ~300 currency codes become a set look-up (``format: "iso4217"``) instead of ~300 comparisons;
    * ``const`` becomes a one-value ``enum`` (``fastjsonschema``'s short errors fail on ``const``);
    * each row of a section and each header object is its own definition: the compiled code is then
      small functions instead of one huge one (a failed check costs in proportion to the function's size).
    """
    defs = schema["$defs"]
    if set(defs["currency"]) - {"enum", "description"} or not all(isinstance(c, str) for c in defs["currency"]["enum"]):
        raise ValueError("The currency definition is not a list of codes any more: adapt _fast_schema.")
    if defs["money"].get("additionalProperties") is not False:
        raise ValueError("Money may have other fields now: adapt _fast_schema.")
    inline = {
        "#/$defs/currency": {"type": "string", "format": "iso4217"},
        "#/$defs/owner": defs["owner"],
        NOT_PROVIDED_REF: defs["notProvided"],
        MONEY_REF: {
            **defs["money"],
            "properties": {**defs["money"]["properties"], "currency": {"$ref": "#/$defs/currency"}},
        },
    }

    def rewrite(node: Any) -> Any:
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"$ref"} and node["$ref"] in inline:
            return rewrite(inline[node["$ref"]])
        out = {key: rewrite(value) for key, value in node.items() if key not in ("const", "oneOf")}
        if "const" in node:
            out["enum"] = [node["const"]]
        options = node.get("oneOf")
        if options is not None:
            value_or_not = (
                len(options) == 2
                and options[1] == {"$ref": NOT_PROVIDED_REF}
                and (options[0].get("type") in ("string", "number", "integer") or options[0] == {"$ref": MONEY_REF})
            )
            out["anyOf" if value_or_not else "oneOf"] = rewrite(options)
        return out

    fast: dict[str, Any] = rewrite(copy.deepcopy(schema))
    fast["$defs"] = {}  # all written out where they are used, but for the rows and header parts:
    for name, prop in list(fast["properties"].items()):
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            fast["$defs"][f"row_{name}"] = prop["items"]
            fast["$defs"][f"list_{name}"] = {**prop, "items": {"$ref": f"#/$defs/row_{name}"}}
            fast["properties"][name] = {"$ref": f"#/$defs/list_{name}"}
        elif prop.get("type") == "object":
            fast["$defs"][f"part_{name}"] = prop
            fast["properties"][name] = {"$ref": f"#/$defs/part_{name}"}
    return fast


def _refuse_retrieval(uri: str) -> Any:
    raise LookupError(f"The declaration schema refers to {uri}; Probity does not download schemas.")


@cache
def _fast_validator() -> Callable[[Any], Any]:
    schema = load_schema()
    codes = frozenset(schema["$defs"]["currency"]["enum"])
    return fastjsonschema.compile(
        _fast_schema(schema),
        handlers={scheme: _refuse_retrieval for scheme in ("http", "https", "file", "ftp")},
        formats={"date": _is_date, "iso4217": codes.__contains__},
        use_default=False,  # never fill defaults in: the payload is stored as it came
        detailed_exceptions=False,
    )


def _fast_valid(payload: Any) -> bool:
    """Whether ``payload`` passes the schema, by the compiled validator."""
    try:
        _fast_validator()(payload)
    except fastjsonschema.JsonSchemaException:
        return False
    except (RecursionError, ValueError, TypeError, OverflowError):
        return False  # let the full validator say what is wrong
    return True


def _schema_errors(payload: Any, *, fast: bool = True) -> list[FieldError]:
    """The schema's problems with ``payload``; ``fast``: the compiled check first, the full one only if it fails."""
    if fast and _fast_valid(payload):
        return []
    return _full_schema_errors(payload)


def money_values(content: dict[str, Any]) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """Every money value: (section, row index, key, {amount, currency})."""
    for section in ROW_SECTIONS:
        for index, row in enumerate(content.get(section) or []):
            for key in MONEY_KEYS:
                value = row.get(key)
                if isinstance(value, dict) and "amount" in value:
                    yield section, index, key, value


def reporting_currency(content: dict[str, Any]) -> str | None:
    if content.get("reporting_currency"):
        return str(content["reporting_currency"])
    currencies = {m["currency"] for *_rest, m in money_values(content)}
    return currencies.pop() if len(currencies) == 1 else None


def period_end(content: dict[str, Any]) -> date:
    period = content.get("period") or {}
    if period.get("end"):
        return date.fromisoformat(period["end"])
    return date(int(period["year"]), 12, 31)


def validate_content(payload: Any) -> list[FieldError]:
    """All problems with ``payload`` as a 1.0 declaration; an empty list means it may be stored."""
    errors = _schema_errors(payload)
    if isinstance(payload, dict):
        errors += _date_errors(payload)
    if errors or not isinstance(payload, dict):
        return errors
    owners = {"declarant"} | {m["id"] for m in payload.get("family_members") or []}
    ids = [m["id"] for m in payload.get("family_members") or []]
    for index, member_id in enumerate(ids):
        if ids.index(member_id) != index:
            errors.append(FieldError(f"family_members[{index}].id", f"the id {member_id!r} is listed twice"))
    for section in ROW_SECTIONS:
        for index, row in enumerate(payload.get(section) or []):
            if row["owner"] not in owners:
                errors.append(
                    FieldError(
                        f"{section}[{index}].owner",
                        f"{row['owner']!r} is neither 'declarant' nor the id of a listed family member",
                    )
                )
    currency = reporting_currency(payload)
    if currency is None:
        errors.append(
            FieldError(
                "reporting_currency", "amounts are in several currencies: say which one the declaration reports in"
            )
        )
        return errors
    end = period_end(payload)
    for section, index, key, money in money_values(payload):
        if money["currency"] != currency:
            try:
                rate_for(money["currency"], currency, end)
            except MissingRate as exc:
                errors.append(FieldError(f"{section}[{index}].{key}.currency", str(exc)))
        if abs(Decimal(money["amount"])) >= Decimal(10) ** 15:
            errors.append(FieldError(f"{section}[{index}].{key}.amount", "is too large"))
    return errors
