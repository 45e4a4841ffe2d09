"""Publication of declarations: redaction profiles, the redacted public copy, withdrawal, open-data files.

Every public output (register pages, downloads, public API, CLI export) reads ``PublishedDeclaration``
only; this module is the one place that turns a ``DeclarationVersion`` into public content.

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

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from probity.declarations.models import Declaration, PublishedDeclaration, RedactionProfile
from probity.declarations.schema import load_schema, period_end

DEFAULT_PROFILE = "default"
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


def _named_default() -> RedactionProfile:
    profile, _created = RedactionProfile.objects.get_or_create(
        name=DEFAULT_PROFILE,
        defaults={
            "fields": list(DEFAULT_FIELDS),
            "description": DEFAULT_DESCRIPTION,
            "is_default": not RedactionProfile.objects.filter(is_default=True).exists(),
        },
    )
    return profile


def default_profile() -> RedactionProfile:
    """The profile marked default; the built-in ``default`` profile (``DEFAULT_FIELDS``) is created on
    first use."""
    marked = RedactionProfile.objects.filter(is_default=True).order_by("pk").first()
    return marked if marked is not None else _named_default()


def profile_get(name: str | None) -> RedactionProfile:
    """The profile called ``name`` (the default profile when empty); ``LookupError`` when absent."""
    if not name:
        return default_profile()
    if name == DEFAULT_PROFILE:
        return _named_default()
    profile = RedactionProfile.objects.filter(name=name).first()
    if profile is None:
        raise LookupError(f"There is no redaction profile named {name!r}.")
    return profile


def profile_set(
    *,
    name: str,
    fields: Iterable[str] | None = None,
    private: Iterable[str] | None = None,
    description: str | None = None,
    make_default: bool = False,
) -> RedactionProfile:
    """Creates or changes a profile. ``fields`` replaces the redacted paths, ``private`` the private ones
    (each given without the ``private:`` prefix); a list left as ``None`` is kept."""
    if not name.strip():
        raise ProfileInvalid("A redaction profile needs a name.")
    with transaction.atomic():
        if name == DEFAULT_PROFILE:
            _named_default()
        profile = RedactionProfile.objects.select_for_update().filter(name=name.strip()).first()
        if profile is None:
            profile = RedactionProfile(name=name.strip(), fields=[])
        current = [str(p) for p in profile.fields or []]
        plain = [p for p in current if not p.startswith(PRIVATE_PREFIX)]
        marked = [p for p in current if p.startswith(PRIVATE_PREFIX)]
        if fields is not None:
            plain = [p for p in fields if p.strip()]
        if private is not None:
            marked = [PRIVATE_PREFIX + p.strip().removeprefix(PRIVATE_PREFIX) for p in private if p.strip()]
        profile.fields = validate_fields([*plain, *marked])
        if description is not None:
            profile.description = description
        if make_default:
            for other in RedactionProfile.objects.exclude(pk=profile.pk).filter(is_default=True):
                other.is_default = False
                other.save()  # one at a time, so that the audit log records the change
            profile.is_default = True
        profile.save()
    return profile


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


# --- publishing -----------------------------------------------------------------------------------


@dataclass
class PublishReport:
    published: int = 0
    replaced: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.published + self.replaced + self.unchanged + len(self.skipped)


def declarations_matching(
    *, year: int | None = None, declaration_type: str | None = None, ids: Iterable[int] | None = None
) -> QuerySet[Declaration]:
    """Submitted declarations selected by year, type and/or ids (all submitted ones when none is given)."""
    queryset = Declaration.objects.filter(status=Declaration.Status.SUBMITTED)
    if year is not None:
        queryset = queryset.filter(year=year)
    if declaration_type:
        if declaration_type not in Declaration.Type.values:
            raise ValueError(
                f"unknown declaration type {declaration_type!r}: use one of {', '.join(Declaration.Type.values)}"
            )
        queryset = queryset.filter(declaration_type=declaration_type)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.order_by("pk")


def missing_ids(ids: Iterable[int] | None, declarations: QuerySet[Declaration]) -> list[str]:
    """A skip reason for every asked-for id that is not a submitted declaration of the selection."""
    if not ids:
        return []
    found = set(declarations.values_list("pk", flat=True))
    return [f"declaration {i}: there is no submitted declaration with this id" for i in ids if i not in found]


def _block(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) and not is_withheld(value) else {}


def _text(value: Any) -> str:
    return value[:300] if isinstance(value, str) else ""


def _publish_one(
    declaration: Declaration,
    profile: RedactionProfile,
    rules: list[Rule],
    report: PublishReport,
    include_withdrawn: bool,
) -> None:
    version = declaration.latest_version()
    if version is None:
        report.skipped.append(f"declaration {declaration.pk}: no submitted version to publish")
        return
    content = redact(version.content, profile, rules)
    position = _block(content.get("position"))
    body = _block(position.get("body"))
    declarant = _block(content.get("declarant"))
    values = {
        "version": version,
        "profile": profile,
        "content": content,
        # Only from the redacted content: a profile may withhold even these, and then they stay empty
        # (never filled in from the declaration, which would put the withheld value back).
        "declarant_name": _text(declarant.get("name")),
        "body_name": _text(body.get("name")),
        "position_title": _text(position.get("title")),
        "declaration_type": declaration.declaration_type,
        "year": declaration.year,
        "search_text": search_text(content),
    }
    with transaction.atomic():
        existing = PublishedDeclaration.objects.select_for_update().filter(declaration=declaration).first()
        if existing is None:
            PublishedDeclaration.objects.create(declaration=declaration, published_at=timezone.now(), **values)
            report.published += 1
            return
        if existing.withdrawn_at is not None and not include_withdrawn:
            report.skipped.append(f"declaration {declaration.pk}: withdrawn; publish it by its id to restore it")
            return
        same = (
            existing.withdrawn_at is None
            and all(getattr(existing, k) == v for k, v in values.items() if k not in {"version", "profile"})
            and existing.version_id == version.pk
            and existing.profile_id == profile.pk
        )
        if same:
            report.unchanged += 1
            return
        for key, value in values.items():
            setattr(existing, key, value)
        existing.published_at = timezone.now()
        existing.withdrawn_at = None
        existing.save()
        report.replaced += 1


def publish(
    *,
    declarations: Iterable[Declaration],
    profile: RedactionProfile | None = None,
    include_withdrawn: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> PublishReport:
    """Publishes (or re-publishes) the latest version of each declaration, redacted with ``profile``.

    Idempotent: the same version with the same profile and content is left unchanged; a newer version
    or a changed profile replaces the public copy. A withdrawn publication is restored only with
    ``include_withdrawn`` (the CLI and API set it when declarations are named by id). Each declaration
    is written in its own transaction.
    """
    profile = profile or default_profile()
    rules = profile_rules(profile)  # a broken profile stops everything before anything is published
    report = PublishReport()
    for declaration in declarations:
        _publish_one(declaration, profile, rules, report, include_withdrawn)
        if progress is not None:
            progress(1)
    return report


def withdraw(*, declaration_ids: Iterable[int]) -> int:
    """Takes publications off the register; their public content is erased (re-publish to restore)."""
    count = 0
    for published in PublishedDeclaration.objects.filter(declaration_id__in=list(declaration_ids), withdrawn_at=None):
        published.withdrawn_at = timezone.now()
        published.content = {}
        published.search_text = ""
        published.save()
        count += 1
    return count


# --- the public register: queries and open-data formats -------------------------------------------


# What public outputs load: the public row, the version's *number* and the profile's *name* — never
# the version's content, which does not even enter the process that serves the public.
PUBLIC_COLUMNS = (
    "declaration_id",
    "content",
    "declarant_name",
    "body_name",
    "position_title",
    "declaration_type",
    "year",
    "published_at",
    "withdrawn_at",
    "version__number",
    "profile__name",
)


def published_public() -> QuerySet[PublishedDeclaration]:
    """Every published, not withdrawn declaration, loading only the public columns."""
    return (
        PublishedDeclaration.objects.filter(withdrawn_at__isnull=True)
        .select_related("version", "profile")
        .only(*PUBLIC_COLUMNS)
    )


def public_declarations(
    *, q: str = "", body: str = "", year: int | None = None, declaration_type: str = ""
) -> QuerySet[PublishedDeclaration]:
    """Published (not withdrawn) declarations matching a search; reads ``PublishedDeclaration`` only."""
    queryset = published_public()
    term = " ".join(q.split()).casefold()
    if term:
        queryset = queryset.filter(Q(search_text__contains=term) | Q(declarant_name__icontains=term))
    if body.strip():
        queryset = queryset.filter(body_name__icontains=body.strip())
    if year is not None:
        queryset = queryset.filter(year=year)
    if declaration_type:
        queryset = queryset.filter(declaration_type=declaration_type)
    return queryset.order_by("declarant_name", "-year", "declaration_id")


def public_record(published: PublishedDeclaration) -> dict[str, Any]:
    """One published declaration as open data (the JSON download and the API use this one shape)."""
    return {
        "id": published.declaration_id,
        "declarant": published.declarant_name,
        "body": published.body_name,
        "position": published.position_title,
        "declaration_type": published.declaration_type,
        "year": published.year,
        "version": published.version.number,
        "published_at": published.published_at.isoformat(),
        "redaction_profile": published.profile.name,
        "content": published.content,
    }


CSV_COLUMNS = (
    "declaration_id",
    "declarant",
    "body",
    "position",
    "declaration_type",
    "year",
    "section",
    "row",
    "field",
    "value",
)


def _flatten(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _flatten(value, f"{prefix}[{i}]")
    elif node is None:
        yield prefix, ""
    elif isinstance(node, bool):
        yield prefix, "true" if node else "false"
    else:
        yield prefix, str(node)


def _cell(value: str) -> str:
    """Neutralises spreadsheet formulas (``=``, ``+``, ``@``, or ``-`` not starting a number)."""
    if value[:1] in {"=", "+", "@", "\t", "\r"} or (value[:1] == "-" and not re.match(r"^-\d", value)):
        return "'" + value
    return value


def csv_rows(published: PublishedDeclaration) -> Iterator[list[str]]:
    """One CSV row per published value: section, row number, field path within the row, value."""
    head = [
        str(published.declaration_id),
        published.declarant_name,
        published.body_name,
        published.position_title,
        published.declaration_type,
        str(published.year),
    ]
    for key, value in published.content.items():
        if isinstance(value, list):
            if not value:
                continue
            for i, row in enumerate(value):
                for path, text in _flatten(row, ""):
                    yield [*head, key, str(i + 1), path, text]
        else:
            for path, text in _flatten(value, ""):
                yield [*head, key, "", path, text]


def csv_text(rows: Iterable[list[str]], *, header: bool = True) -> Iterator[str]:
    """CSV lines (UTF-8 text) for ``rows``, formula-neutralised, with the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(c) for c in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_lines(queryset: Iterable[PublishedDeclaration]) -> Iterator[str]:
    """A JSON array of public records, streamed piece by piece."""
    yield "["
    first = True
    for published in queryset:
        yield ("" if first else ",") + json.dumps(public_record(published), ensure_ascii=False)
        first = False
    yield "]\n"


@dataclass
class ExportReport:
    files: list[str] = field(default_factory=list)
    declarations: int = 0


def export_open_data(
    directory: Any, *, year: int | None = None, declaration_type: str = "", progress: Callable[[int], Any] | None = None
) -> ExportReport:
    """Writes ``declarations.json`` and ``declarations.csv`` (all published declarations, or one year/type)
    and one pair per year (``declarations-2023.json`` …) into ``directory``."""
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    queryset = public_declarations(year=year, declaration_type=declaration_type)
    years = sorted(set(queryset.values_list("year", flat=True)))
    report = ExportReport()
    targets: list[tuple[str, QuerySet[PublishedDeclaration]]] = [("declarations", queryset)]
    targets += [(f"declarations-{y}", queryset.filter(year=y)) for y in years]
    for stem, subset in targets:
        json_path, csv_path = out / f"{stem}.json", out / f"{stem}.csv"
        with json_path.open("w", encoding="utf-8") as handle:
            for chunk in json_lines(subset.iterator()):
                handle.write(chunk)
        with csv_path.open("w", encoding="utf-8", newline="") as handle:
            for chunk in csv_text(row for p in subset.iterator() for row in csv_rows(p)):
                handle.write(chunk)
        report.files += [str(json_path), str(csv_path)]
        if stem == "declarations":
            for _p in subset.iterator():
                report.declarations += 1
                if progress is not None:
                    progress(1)
    return report
