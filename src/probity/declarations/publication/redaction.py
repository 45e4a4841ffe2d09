"""Redaction: the paths of a redaction profile, and the redacted copy of a declaration's content.

This module is the one place that turns a declaration's content into public content (``redact``);
``services.publish`` stores the result as ``PublishedDeclaration``, which every public output reads.

**Paths** of a redaction profile name fields of the 1.0 content, e.g. ``declarant.national_id``,
``real_estate[].location``. A segment may carry a row filter:

* ``[]`` every row of a list;
* ``[minor]`` (``family_members`` only) children under 18 at the end of the period (a child without a
  usable birth date counts as a minor: when in doubt, withhold);
* ``[key=value]`` rows whose ``key`` equals ``value`` (``true``/``false`` for booleans);
* a segment ``*`` matches every key at that level (``*[].notes``: the notes of every section).

A path prefixed with ``private:`` belongs to the profile's *private* list: values a law marks private.
The 1.0 schema has no per-value "private" flag, so the profile carries that list.

Redaction **removes** the value and leaves ``{"withheld": "<reason>"}`` (a minor child's name also gets
``"label": "child"``). Family-member ids are replaced by opaque ``member-N`` ids (and every ``owner``
reference rewritten), and a withheld text is also cut out of every other free-text value where it
occurs, so that it cannot leak through a description or note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from probity.declarations.models import RedactionProfile
from probity.declarations.schema import load_schema, period_end

PRIVATE_PREFIX = "private:"
WITHHELD = "withheld"
CHILD_LABEL = "child"
SCRUB_MIN_LENGTH = 4  # shorter withheld texts ("12") are not cut out of other texts: too many false hits
SCRUBBED = "[withheld]"

DEFAULT_FIELDS: tuple[str, ...] = (
    # identity numbers and dates of birth (the source system's person key may be an identity number)
    "declarant.id",
    "declarant.national_id",
    "declarant.birth_date",
    "family_members[].national_id",
    "family_members[].birth_date",
    # addresses and the exact location of real estate (the 1.0 schema has no separate country or
    # region field, so the whole location is withheld)
    "declarant.address",
    "family_members[].address",
    "real_estate[].location",
    "unfinished_construction[].location",
    # bank account numbers and vehicle registration numbers
    "cash_and_accounts[].account_number",
    "vehicles[].registration",
    # names of minor children
    "family_members[minor].name",
    # values a law marks private: private individuals who lent money or received a gift
    "private:liabilities[creditor_is_bank=false].creditor",
    "private:expenditures[kind=gift_given].counterparty",
)
DEFAULT_DESCRIPTION = (
    "National ID, dates of birth, addresses (the declarant's and the family's), location of real estate, bank "
    "account numbers, vehicle registrations, names of minor children, and private individuals named as lenders "
    "or gift recipients."
)

_SEGMENT = re.compile(r"^(?P<name>\*|[a-z_][a-z0-9_]*)(?:\[(?P<filter>[^\]]*)\])?$")
_FILTER = re.compile(r"^(?P<key>[a-z_][a-z0-9_]*)=(?P<value>[^=]+)$")


class ProfileInvalid(ValueError):
    """A redaction profile path that does not name a field of the declaration schema."""


# --- profiles -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    name: str
    is_list: bool = False
    filter: str = ""  # "", "minor" or "key=value"


@dataclass(frozen=True)
class Rule:
    path: str
    segments: tuple[Segment, ...]
    private: bool


def parse_path(path: str) -> Rule:
    """One profile entry as a rule; raises ``ProfileInvalid`` naming the path and what is wrong."""
    raw = path.strip()
    private = raw.startswith(PRIVATE_PREFIX)
    body = raw[len(PRIVATE_PREFIX) :].strip() if private else raw
    if not body:
        raise ProfileInvalid(f"{path!r}: empty path")
    segments = []
    for part in body.split("."):
        match = _SEGMENT.match(part)
        if match is None:
            raise ProfileInvalid(f"{path!r}: {part!r} is not a field name (letters, digits, _; optional [filter])")
        flt = (match.group("filter") or "").strip()
        if flt and flt != "minor" and not _FILTER.match(flt):
            raise ProfileInvalid(f"{path!r}: row filter [{flt}] must be [], [minor] or [key=value]")
        segments.append(Segment(match.group("name"), match.group("filter") is not None, flt))
    rule = Rule(raw, tuple(segments), private)
    _check_against_schema(rule)
    return rule


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(schema, schema["$defs"][ref.split("/")[-1]])
    return node


def _check_against_schema(rule: Rule) -> None:
    """Every segment must be a property at its place in the 1.0 schema (``*`` matches any)."""
    schema = load_schema()
    nodes = [schema]
    for index, segment in enumerate(rule.segments):
        following: list[dict[str, Any]] = []
        for node in nodes:
            properties = _resolve(schema, node).get("properties", {})
            names = list(properties) if segment.name == "*" else [segment.name]
            for name in names:
                if name not in properties:
                    continue
                child = _resolve(schema, properties[name])
                if segment.is_list:
                    if child.get("type") != "array":
                        continue
                    child = _resolve(schema, child["items"])
                following.append(child)
        if not following:
            where = ".".join(s.name for s in rule.segments[: index + 1])
            raise ProfileInvalid(
                f"{rule.path!r}: {where} is not a field of the declaration schema"
                + (" (or is not a list: drop the [])" if segment.is_list else "")
            )
        if segment.filter == "minor" and segment.name != "family_members":
            raise ProfileInvalid(f"{rule.path!r}: [minor] applies to family_members only")
        nodes = following


def validate_fields(paths: Iterable[Any]) -> list[str]:
    """The cleaned list of profile paths; raises ``ProfileInvalid`` listing every bad one."""
    cleaned, problems = [], []
    for path in paths:
        if not isinstance(path, str) or not path.strip():
            problems.append(f"{path!r}: a path must be a non-empty text")
            continue
        try:
            cleaned.append(parse_path(path).path)
        except ProfileInvalid as exc:
            problems.append(str(exc))
    if problems:
        raise ProfileInvalid("; ".join(problems))
    return list(dict.fromkeys(cleaned))


def profile_rules(profile: RedactionProfile) -> list[Rule]:
    return [parse_path(p) for p in validate_fields(profile.fields or [])]


# --- redaction ------------------------------------------------------------------------------------


def _is_minor(member: dict[str, Any], end: date) -> bool:
    if member.get("relation") != "child":
        return False
    born = member.get("birth_date")
    if not isinstance(born, str):
        return True  # not provided: treat as a minor
    try:
        birth = date.fromisoformat(born)
    except ValueError:
        return True
    age = end.year - birth.year - ((end.month, end.day) < (birth.month, birth.day))
    return age < 18


def _row_matches(row: Any, flt: str, section: str, minors: set[int]) -> bool:
    if not isinstance(row, dict):
        return False
    if not flt:
        return True
    if flt == "minor":
        return section == "family_members" and id(row) in minors
    key, _sep, value = flt.partition("=")
    actual = row.get(key)
    if isinstance(actual, bool):
        return str(actual).lower() == value.strip().lower()
    if actual is None and value.strip().lower() == "false":
        return True  # an unset yes/no flag counts as "no": withhold rather than publish
    return str(actual) == value.strip()


def is_withheld(value: Any) -> bool:
    return isinstance(value, dict) and WITHHELD in value


def _strings(value: Any) -> Iterator[str]:
    """The texts of a withheld value, to be cut out of other texts too (codes such as a row's kind
    "house" are left out: cutting them from descriptions would hide nothing and garble much)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in UNSCRUBBED_KEYS or key == "amount":
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _apply(
    node: Any, segments: tuple[Segment, ...], marker: dict[str, Any], minors: set[int], taken: list[str]
) -> None:
    if not segments or not isinstance(node, dict):
        return
    segment, rest = segments[0], segments[1:]
    keys = list(node) if segment.name == "*" else [segment.name]
    for key in keys:
        if key not in node:
            continue
        if segment.is_list:
            rows = node[key]
            if not isinstance(rows, list):
                continue
            for i, row in enumerate(rows):
                if not _row_matches(row, segment.filter, key, minors):
                    continue
                if rest:
                    _apply(row, rest, marker, minors, taken)
                else:
                    taken.extend(_strings(row))
                    rows[i] = dict(marker)
        elif rest:
            _apply(node[key], rest, marker, minors, taken)
        elif not is_withheld(node[key]):
            taken.extend(_strings(node[key]))
            node[key] = dict(marker)


# Coded and numeric fields are never free text: a withheld text is not cut out of them (an id "1200"
# must not turn the amount "12000.00" into "[withheld]0.00").
UNSCRUBBED_KEYS = frozenset(
    {
        "amount",
        "currency",
        "kind",
        "relation",
        "owner",
        "not_provided",
        "schema_version",
        "declaration_type",
    }
)


def _scrub(node: Any, secrets: list[str], skip: frozenset[int]) -> Any:
    if isinstance(node, str):
        text = node
        for secret in secrets:
            if secret.casefold() in text.casefold():
                text = re.sub(re.escape(secret), SCRUBBED, text, flags=re.IGNORECASE)
                if secret.casefold() in text.casefold():  # a case variant re cannot match ("STRASSE"/"Straße")
                    return SCRUBBED
        return text
    if isinstance(node, dict):
        if is_withheld(node) or id(node) in skip:
            return node
        return {k: v if k in UNSCRUBBED_KEYS else _scrub(v, secrets, skip) for k, v in node.items()}
    if isinstance(node, list):
        return [_scrub(v, secrets, skip) for v in node]
    return node


def _opaque_member_ids(content: dict[str, Any]) -> None:
    """Replaces family-member ids by ``member-N`` and rewrites every ``owner`` that refers to one."""
    members = content.get("family_members")
    if not isinstance(members, list):
        return
    mapping: dict[str, str] = {}
    for n, member in enumerate(members, start=1):
        if isinstance(member, dict) and isinstance(member.get("id"), str):
            mapping[member["id"]] = f"member-{n}"
            member["id"] = mapping[member["id"]]
    for key, rows in content.items():
        if key == "family_members" or not isinstance(rows, list):
            continue
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("owner"), str) and row["owner"] in mapping:
                row["owner"] = mapping[row["owner"]]


def redact(content: dict[str, Any], profile: RedactionProfile, rules: list[Rule] | None = None) -> dict[str, Any]:
    """A redacted deep copy of ``content``: every value the profile names is removed, not hidden."""
    result: dict[str, Any] = json.loads(json.dumps(content))  # deep copy, plain JSON types only
    try:
        end = period_end(result)
    except (KeyError, TypeError, ValueError):
        end = date.max
    members = result.get("family_members")
    # decided on the filed content, before any rule withholds the birth dates it is decided on
    minors = (
        {id(m) for m in members if isinstance(m, dict) and _is_minor(m, end)} if isinstance(members, list) else set()
    )
    taken: list[str] = []
    reason = f"redaction profile {profile.name}"
    for rule in profile_rules(profile) if rules is None else rules:
        marker: dict[str, Any] = {WITHHELD: f"private ({reason})" if rule.private else reason}
        first, last = rule.segments[0], rule.segments[-1]
        if first.name == "family_members" and first.filter == "minor" and last.name == "name":
            marker["label"] = CHILD_LABEL  # the minor's name is replaced by the label "child"
        _apply(result, rule.segments, marker, minors, taken)
    # A withheld text must not survive elsewhere (a description naming the child, a note with the number).
    # Names that are published in their own right (the declarant's, a family member's that is not
    # withheld) stay: a minor child may share the name of a parent, and that parent's name is public.
    public_names = _public_names(result)
    secrets = sorted(
        {
            s.strip()
            for s in taken
            if len(s.strip()) >= SCRUB_MIN_LENGTH
            and not _is_code(s.strip())
            and s.strip().casefold() not in public_names
        },
        key=len,
        reverse=True,
    )
    # Family-member ids become opaque first: an id may itself be a name or a number, and every owner
    # reference to it is rewritten in the same step.
    _opaque_member_ids(result)
    if secrets:
        keep = [result[k] for k in ("declarant", "position") if isinstance(result.get(k), dict)]
        result = _scrub(result, secrets, frozenset(id(node) for node in keep))
    return result


_CODES = {"family_member_refused", "unknown", "declarant", "child", "spouse", "parent", "sibling", "other"}


def _public_names(content: dict[str, Any]) -> set[str]:
    names = set()
    declarant = content.get("declarant")
    if isinstance(declarant, dict) and isinstance(declarant.get("name"), str):
        names.add(declarant["name"].strip().casefold())
    for member in content.get("family_members") or []:
        if isinstance(member, dict) and isinstance(member.get("name"), str):
            names.add(member["name"].strip().casefold())
    return names


def _is_code(text: str) -> bool:
    """Enumerated codes of the schema are not secrets (cutting "unknown" out of texts helps no one)."""
    return text in _CODES


def search_text(published: dict[str, Any]) -> str:
    """The search column: every text of the **redacted** content (withheld markers left out), casefolded."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, dict):
            if is_withheld(node):
                return
            for key, value in node.items():
                if key in {"schema_version", "currency", "not_provided"}:
                    continue
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            parts.append(str(node))

    walk(published)
    return " ".join(" ".join(parts).split()).casefold()
