"""The bundled declaration JSON Schema and validation with plain, per-field messages.

``validate_content`` checks a payload against ``schemas/declaration-1.0.json`` (JSON Schema
2020-12) and then the rules a schema cannot say: every owner is the declarant or a listed family
member, and every currency other than the reporting currency has an exchange rate for the period.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

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
    if kind in ("minimum", "maximum"):
        return f"{error.instance} is out of range ({kind} {error.validator_value})"
    if kind == "maxLength":
        return f"is longer than {error.validator_value} characters"
    if kind == "const":
        return f"must be {json.dumps(error.validator_value)}"
    return str(error.message)


def _schema_errors(payload: Any) -> list[FieldError]:
    errors = []
    for error in sorted(_validator().iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))):
        errors.append(FieldError(_path(error.absolute_path), _plain(error)))
    return errors


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
