"""BODS 0.4: the bundled schemas and codelists, a per-statement validator, and the 0.2/0.3 → 0.4 upgrade.

Everything is read from ``standards/bods/`` (copied from the Beneficial Ownership Data Standard 0.4
release); ``$ref`` values such as ``urn:components#/$defs/Source`` are resolved from those files
through a local ``referencing`` registry, so validation never touches the network.

The validator sorts problems into *errors* (the statement cannot be used: a required field is
missing, a value has the wrong type) and *warnings* (a value outside a closed codelist: the statement
is kept, the value is reported). The upgrade follows the field mapping of Open Ownership's own
tools (lib-cove-bods, bodsdata): ``statementID`` → ``statementId``, ``statementType`` →
``recordType``, ``subject.describedByEntityStatement`` and ``interestedParty.describedBy…Statement``
→ record ids, ``interestLevel`` → ``directOrIndirect``, kebab-case codes → camelCase codes,
``componentStatementIDs`` → ``componentRecords``, ``pepStatus``/``hasPepStatus`` →
``politicalExposure``; a statement that ``replacesStatements`` keeps the record id of the one it
replaces.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parent / "bods"
BODS_VERSION = "0.4"
SCHEMA_FILES = (
    "statement.json",
    "components.json",
    "entity-record.json",
    "person-record.json",
    "relationship-record.json",
)
RECORD_TYPES = ("entity", "person", "relationship")
OLD_STATEMENT_TYPES = {
    "entityStatement": "entity",
    "personStatement": "person",
    "ownershipOrControlStatement": "relationship",
}


RANGE_VALIDATORS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


@dataclass
class StatementCheck:
    """What the validator found in one statement: errors reject it, warnings keep it.

    Warnings are ``(code, message)``: ``unknown_code`` for a value outside a closed codelist,
    ``share_out_of_range`` for a percentage below 0 or above 100 (kept, so that the data-quality
    report can show it; the ownership computation clamps it).
    """

    errors: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """The bundled schema documents by their ``$id`` (``urn:statement`` …)."""
    found = {}
    for name in SCHEMA_FILES:
        document = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
        found[document["$id"]] = document
    return found


@cache
def registry() -> Registry:
    resources = [
        (uri, Resource.from_contents(doc, default_specification=DRAFT202012)) for uri, doc in schemas().items()
    ]
    return Registry().with_resources(resources)


@cache
def statement_validator() -> Draft202012Validator:
    """Validates one statement (the ``items`` of the statement array), resolving refs locally."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "urn:statement#/$defs/Statement"}
    return Draft202012Validator(schema, registry=registry())


@cache
def codelist(name: str) -> dict[str, str]:
    """A bundled codelist as ``{code: title}`` (``codelist("interestType")``)."""
    path = SCHEMA_DIR / "codelists" / f"{name}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["title"] for row in csv.DictReader(handle)}


def _where(path: Iterable[Any]) -> str:
    parts = [str(p) for p in path]
    return "/".join(parts) if parts else "(statement)"


def statement_check(statement: Any) -> StatementCheck:
    """Validates one BODS 0.4 statement against the bundled schema and codelists."""
    check = StatementCheck()
    if not isinstance(statement, dict):
        check.errors.append(f"a statement must be a JSON object, not {type(statement).__name__}")
        return check
    for error in statement_validator().iter_errors(statement):
        where = _where(error.absolute_path)
        if error.validator == "enum" and isinstance(error.instance, str):
            check.warnings.append(("unknown_code", f"{where}: {error.instance!r} is not in the codelist"))
        elif error.validator in RANGE_VALIDATORS and "share" in [str(p) for p in error.absolute_path]:
            check.warnings.append(("share_out_of_range", f"{where}: {error.message}"))
        elif error.validator in ("if", "then"):
            continue  # the sub-errors of the recordType branch are reported on their own
        else:
            check.errors.append(f"{where}: {error.message}")
    return check


# --- upgrade 0.2 / 0.3 → 0.4 ------------------------------------------------------------------


def statement_version(statement: dict[str, Any]) -> str:
    """The BODS version a statement is written in: ``0.4`` for the record shape, else 0.1–0.3."""
    if "recordType" in statement or "recordId" in statement:
        return BODS_VERSION
    declared = (statement.get("publicationDetails") or {}).get("bodsVersion")
    if isinstance(declared, str) and declared in ("0.1", "0.2", "0.3"):
        return declared
    return "0.2" if "statementType" in statement or "statementID" in statement else BODS_VERSION


def _camel(value: Any) -> Any:
    """``registered-entity`` → ``registeredEntity``; other values unchanged."""
    if isinstance(value, str) and "-" in value:
        head, *rest = value.split("-")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)
    return value


def _statement_id(old_id: str) -> str:
    """0.4 wants 32–64 characters; shorter or longer old ids get a stable hash of themselves."""
    if 32 <= len(old_id) <= 64:
        return old_id
    return hashlib.sha256(old_id.encode()).hexdigest()


def _reference(party: Any, record_ids: dict[str, str]) -> Any:
    if not isinstance(party, dict):
        return party
    for key in ("describedByEntityStatement", "describedByPersonStatement"):
        if party.get(key):
            return record_ids.get(str(party[key]), str(party[key]))
    if isinstance(party.get("unspecified"), dict):
        unspecified = dict(party["unspecified"])
        if "reason" in unspecified:
            unspecified["reason"] = _camel(unspecified["reason"])
        return unspecified
    return party


def _upgrade_interest(interest: Any) -> Any:
    if not isinstance(interest, dict):
        return interest
    out = {k: v for k, v in interest.items() if k != "interestLevel"}
    if "type" in out:
        out["type"] = _camel(out["type"])
    level = interest.get("directOrIndirect", interest.get("interestLevel"))
    if level is not None:
        out["directOrIndirect"] = level
    return out


def _upgrade_entity(old: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {"isComponent": bool(old.get("isComponent", False))}
    entity_type = old.get("entityType")
    if isinstance(entity_type, str):
        details["entityType"] = {"type": _camel(entity_type)}
        subtype = old.get("entitySubtype")
        if isinstance(subtype, dict) and subtype.get("generalCategory"):
            category = str(subtype["generalCategory"]).split("-")[-1]
            details["entityType"]["subtype"] = _camel(category)
        if old.get("unspecifiedEntityDetails"):
            details["unspecifiedEntityDetails"] = old["unspecifiedEntityDetails"]
    for key in (
        "name",
        "alternateNames",
        "jurisdiction",
        "identifiers",
        "foundingDate",
        "dissolutionDate",
        "addresses",
        "uri",
        "publicListing",
        "formedByStatute",
    ):
        if key in old:
            details[key] = copy.deepcopy(old[key])
    if isinstance(details.get("publicListing"), dict) and "hasPublicListing" not in details["publicListing"]:
        details["publicListing"]["hasPublicListing"] = True
    return details


def _upgrade_person(old: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {"isComponent": bool(old.get("isComponent", False))}
    if "personType" in old:
        details["personType"] = _camel(old["personType"])
    for key in (
        "names",
        "identifiers",
        "nationalities",
        "placeOfBirth",
        "birthDate",
        "deathDate",
        "taxResidencies",
        "addresses",
        "unspecifiedPersonDetails",
    ):
        if key in old:
            details[key] = copy.deepcopy(old[key])
    for name in details.get("names", []) or []:
        if isinstance(name, dict) and "type" in name:
            name["type"] = _camel(name["type"])
    if isinstance(details.get("unspecifiedPersonDetails"), dict) and "reason" in details["unspecifiedPersonDetails"]:
        details["unspecifiedPersonDetails"]["reason"] = _camel(details["unspecifiedPersonDetails"]["reason"])
    pep_details = old.get("pepStatusDetails") or old.get("pepStatus")
    if old.get("pepStatus") in ("isPep", "isNotPep", "unknown"):
        details["politicalExposure"] = {"status": old["pepStatus"]}
        if isinstance(old.get("pepStatusDetails"), list):
            details["politicalExposure"]["details"] = copy.deepcopy(old["pepStatusDetails"])
    elif "hasPepStatus" in old or isinstance(pep_details, list):
        status = "isPep" if old.get("hasPepStatus", True) else "isNotPep"
        details["politicalExposure"] = {"status": status}
        if isinstance(pep_details, list):
            details["politicalExposure"]["details"] = copy.deepcopy(pep_details)
    return details


def _upgrade_relationship(old: dict[str, Any], record_ids: dict[str, str]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "isComponent": bool(old.get("isComponent", False)),
        "subject": _reference(old.get("subject"), record_ids),
        "interestedParty": _reference(old.get("interestedParty"), record_ids),
        "interests": [_upgrade_interest(i) for i in old.get("interests", []) or []],
    }
    components = old.get("componentStatementIDs")
    if isinstance(components, list) and components:
        details["componentRecords"] = [record_ids.get(str(c), str(c)) for c in components]
    return details


def statements_upgrade(statements: Iterable[Any]) -> Iterator[tuple[Any, str]]:
    """Yields each statement in 0.4 shape with the version it was written in.

    Statements that are already 0.4, and values that are not objects, pass through unchanged (the
    validator then reports them). Record ids of older statements are their statement ids, carried
    over ``replacesStatements`` so that an update lands on the record it updates.
    """
    record_ids: dict[str, str] = {}
    for statement in statements:
        if not isinstance(statement, dict):
            yield statement, "?"
            continue
        version = statement_version(statement)
        if version == BODS_VERSION:
            yield statement, version
            continue
        old_id = str(statement.get("statementID", ""))
        replaced = [str(r) for r in statement.get("replacesStatements", []) or [] if str(r) in record_ids]
        record_id = record_ids[replaced[0]] if replaced else old_id
        record_ids[old_id] = record_id
        record_type = OLD_STATEMENT_TYPES.get(str(statement.get("statementType", "")), "")
        if record_type == "entity":
            details = _upgrade_entity(statement)
        elif record_type == "person":
            details = _upgrade_person(statement)
        elif record_type == "relationship":
            details = _upgrade_relationship(statement, record_ids)
        else:
            details = {}
        subject = details.get("subject") if record_type == "relationship" else record_id
        publication = copy.deepcopy(statement.get("publicationDetails") or {})
        if publication:
            publication["bodsVersion"] = BODS_VERSION
        upgraded: dict[str, Any] = {
            "statementId": _statement_id(old_id) if old_id else "",
            "statementDate": statement.get("statementDate", ""),
            "recordId": record_id,
            "recordType": record_type or statement.get("statementType", ""),
            "recordStatus": "updated" if replaced else "new",
            "declarationSubject": subject if isinstance(subject, str) else record_id,
            "recordDetails": details,
        }
        if not upgraded["statementDate"]:
            del upgraded["statementDate"]
        if publication:
            upgraded["publicationDetails"] = publication
        for key in ("source", "annotations"):
            if key in statement:
                upgraded[key] = copy.deepcopy(statement[key])
        if isinstance(upgraded.get("source"), dict) and isinstance(upgraded["source"].get("type"), list):
            upgraded["source"]["type"] = [_camel(t) for t in upgraded["source"]["type"]]
        yield upgraded, version


_SCRIPT_PATTERNS = {
    "Latn": re.compile(r"[A-Za-z\u00c0-\u024f]"),
    "Cyrl": re.compile(r"[\u0400-\u04ff]"),
    "Hani": re.compile(r"[\u4e00-\u9fff]"),
    "Arab": re.compile(r"[\u0600-\u06ff]"),
    "Hang": re.compile(r"[\uac00-\ud7af]"),
    "Grek": re.compile(r"[\u0370-\u03ff]"),
}


def name_scripts(name: str) -> list[str]:
    """The ISO 15924 scripts the letters of a name are written in (for mixed-script checks)."""
    return [code for code, pattern in _SCRIPT_PATTERNS.items() if pattern.search(name)]
