"""Reads the demo country's provisional ``probity-declaration/0.1`` files into the 1.0 schema.

Mapping (0.1 → 1.0):

* ``id`` → ``external_id``; ``type`` → ``declaration_type``; ``year`` → ``period.year``; ``submitted`` as is;
* ``declarant`` and ``position`` (with ``body``) as is; ``family`` → ``family_members`` (relation kept,
  unknown relations become ``other``; name, birth date and address kept);
* every row's ``owner`` object → ``"declarant"`` when its relation is ``declarant``, else the person's id;
* kinds written with spaces become codes (``land plot`` → ``land``, ``summer house`` → ``summer_house``,
  ``bank account`` → ``bank_account``, ``real estate purchase`` → ``real_estate_purchase`` …); a kind
  with no 1.0 code becomes ``other`` and keeps its text in ``description``;
* ``area_m2`` and ``share_percent`` (text) → numbers; a vehicle's ``year`` → integer; for corporate
  rights the 0.1 ``description`` (the company's name) → ``company``;
* money objects ``{amount, currency}`` are the same in both; the reporting currency is the single
  currency the file uses;
* any other field of a row is kept, as ``key: value``, in the row's ``notes``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from probity.declarations.schema import load_schema

DEMO_SCHEMA = "probity-declaration/0.1"

KINDS: dict[str, dict[str, str]] = {
    "real_estate": {
        "apartment": "apartment",
        "house": "house",
        "land plot": "land",
        "land": "land",
        "garage": "garage",
        "summer house": "summer_house",
        "room": "room",
        "commercial": "commercial",
    },
    "vehicles": {"car": "car", "motorcycle": "motorcycle", "truck": "truck", "boat": "boat", "aircraft": "aircraft"},
    "income": {
        "salary": "salary",
        "dividends": "dividends",
        "interest": "interest",
        "rent": "rent",
        "pension": "pension",
        "gift": "gift",
        "prize": "prize",
        "inheritance": "inheritance",
        "sale of property": "sale_of_property",
        "business": "business",
    },
    "cash_and_accounts": {"bank account": "bank_account", "cash": "cash", "deposit": "deposit"},
    "liabilities": {
        "mortgage": "mortgage",
        "loan": "loan",
        "credit card": "credit_card",
        "private loan": "private_loan",
    },
    "expenditures": {
        "real estate purchase": "real_estate_purchase",
        "vehicle purchase": "vehicle_purchase",
        "securities purchase": "securities_purchase",
        "sale": "sale",
        "gift": "gift_given",
        "loan repayment": "loan_repayment",
        "consumption": "consumption",
    },
}
SECTIONS = (
    "real_estate",
    "vehicles",
    "securities",
    "corporate_rights",
    "income",
    "cash_and_accounts",
    "liabilities",
    "expenditures",
)
KEPT = {"description", "value", "amount", "acquired", "location", "date"}


def is_demo_document(document: Any) -> bool:
    return isinstance(document, dict) and document.get("schema") == DEMO_SCHEMA


def _number(text: Any) -> Any:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return text  # left for the schema to reject with its message
    return int(number) if number.is_integer() else number


@cache
def _section_fields(section: str) -> frozenset[str]:
    """The fields the 1.0 schema allows in a row of ``section`` (kept as they are instead of in ``notes``)."""
    items = load_schema()["properties"].get(section, {}).get("items", {})
    return frozenset(items.get("properties", {}))


def _boolean(value: Any) -> Any:
    """``"true"``/``"yes"`` → True, ``"false"``/``"no"`` → False; anything else unchanged (the schema reports it)."""
    text = str(value).strip().lower()
    return {"true": True, "yes": True, "false": False, "no": False}.get(text, value)


def _row(section: str, row: dict[str, Any]) -> dict[str, Any]:
    owner = row.get("owner") or {}
    out: dict[str, Any] = {
        "owner": "declarant"
        if isinstance(owner, dict) and owner.get("relation") == "declarant"
        else (owner.get("id") if isinstance(owner, dict) else owner),
    }
    kind = str(row.get("kind", ""))
    notes = []
    for key, value in row.items():
        if key in ("owner", "kind"):
            continue
        if key in KEPT:
            out[key] = value
        elif key in ("area_m2", "share_percent"):
            out[key] = _number(value)
        elif key == "year" and section == "vehicles":
            out["year"] = _number(value)
        elif key == "registry_number" and section == "corporate_rights":
            out[key] = value
        elif key in _section_fields(section) and key not in ("description", "company", "make_model"):
            out[key] = _boolean(value) if key == "creditor_is_bank" else value
        else:
            notes.append(f"{key}: {value}")
    if section in KINDS:
        out["kind"] = KINDS[section].get(kind.lower(), "other")
        if out["kind"] == "other" and kind:
            out["description"] = f"{kind}: {out.get('description', '')}".rstrip(": ")
    elif section == "corporate_rights":
        out["kind"] = kind or "shares"
        out["company"] = out.pop("description", "")
    else:
        out["kind"] = kind or "other"
    if section == "vehicles" and "description" in out:
        out["make_model"] = out["description"]
    if notes:
        out["notes"] = "; ".join(notes)
    return out


def from_demo(document: dict[str, Any]) -> dict[str, Any]:
    """The 1.0 declaration for one 0.1 demo document."""
    declarant = dict(document.get("declarant") or {})
    position = dict(document.get("position") or {})
    content: dict[str, Any] = {
        "schema_version": "1.0",
        "external_id": document.get("id"),
        "declaration_type": document.get("type"),
        "period": {"year": document.get("year")},
        "declarant": declarant,
        "position": position,
        "family_members": [
            {
                "id": member.get("id"),
                "relation": member.get("relation")
                if member.get("relation") in ("spouse", "child", "parent", "sibling")
                else "other",
                **{k: member[k] for k in ("name", "birth_date", "address") if k in member},
            }
            for member in document.get("family") or []
        ],
    }
    if document.get("submitted"):
        content["submitted"] = document["submitted"]
    currencies = set()
    for section in SECTIONS:
        rows = [_row(section, row) for row in document.get(section) or [] if isinstance(row, dict)]
        content[section] = rows
        for row in rows:
            for key in ("value", "amount"):
                if isinstance(row.get(key), dict) and "currency" in row[key]:
                    currencies.add(row[key]["currency"])
    if len(currencies) == 1:
        content["reporting_currency"] = currencies.pop()
    return {k: v for k, v in content.items() if v is not None}
