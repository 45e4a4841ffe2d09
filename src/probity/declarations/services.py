"""Write operations of the declarations app: submit a version, import declaration files and the
exchange-rate table.

* ``declaration_submit`` validates a 1.0 payload (plain per-field messages), then in one transaction
  finds or creates the declaration and appends an immutable version with its SHA-256 content hash,
  the time and who submitted it, and an audit entry. The same content as the latest version adds
  nothing (idempotent); different content is a correction, i.e. a new version.
* ``declaration_import`` reads JSON (one object, an array, or JSON Lines), the demo's 0.1 files, a
  folder of such files, or the long CSV format (one row per declared item, ``CSV_COLUMNS``). Each
  declaration is stored in its own transaction: a bad one is reported by record and reason and the
  others are kept.
* ``rates_import`` reads the exchange-rate table (CSV) into ``ExchangeRate``.

What changed between two versions is a read: ``selectors.version_diff``. The public register's
``publish`` and ``default_profile`` (``publication.services``) are offered here to other modules.
"""

from __future__ import annotations

import copy
import csv
import gc
import hashlib
import json
import logging
import mmap
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

import orjson
from django.contrib.auth.models import AnonymousUser, User
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from probity.core.audit import actor_name, audit_as, audit_record
from probity.core.links import link_queue, links_touch
from probity.core.models import AuditEntry, Person, PublicBody
from probity.declarations.adapters import from_demo, is_demo_document
from probity.declarations.models import Declaration, DeclarationVersion, ExchangeRate
from probity.declarations.publication.services import default_profile as default_profile
from probity.declarations.publication.services import publish as publish
from probity.declarations.rates import cached_rates
from probity.declarations.schema import (
    ROW_SECTIONS,
    SCHEMA_VERSION,
    DeclarationInvalid,
    FieldError,
    load_schema,
    validate_content,
)

MAX_IMPORT_BYTES = 200 * 1024 * 1024

logger = logging.getLogger(__name__)


# --- who may do what (the pages and the API ask the same questions) -----------------------------


def may_see_findings(*, user: User | AnonymousUser) -> bool:
    """See the detectors' findings and risk scores about declarations; a declarant sees their filing,
    not the checks on it."""
    return bool(user.has_perm("core.view_finding"))


def may_file_for_others(*, user: User | AnonymousUser) -> bool:
    """File a declaration for another declarant (administrators)."""
    return bool(user.has_perm("declarations.add_declaration"))


def content_hash(*, content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SubmitResult:
    declaration: Declaration
    version: DeclarationVersion
    created: bool  # False: the content equals the latest version, nothing was added


def declaration_submit(
    *,
    declarant: Person,
    payload: Any,
    actor: User | None = None,
    source: str = "web",
) -> SubmitResult:
    """Validates ``payload`` and stores it as the next version of the declarant's declaration.

    The version is submitted by ``actor`` (``None``: the system, named by the current ``audit_actor``).
    Raises ``DeclarationInvalid`` (with every field's problem) and stores nothing when it is not valid.
    """
    errors = validate_content(payload)
    if errors:
        raise DeclarationInvalid(errors)
    content: dict[str, Any] = copy.deepcopy(payload)  # the caller's later edits must not reach the version
    digest = content_hash(content=content)
    submitted_by = actor_name(actor)
    period = content["period"]
    body_info = content["position"].get("body") or {}
    with audit_as(actor), transaction.atomic():
        external_id = content.get("external_id")
        declaration = None
        if external_id:
            declaration = Declaration.objects.select_for_update().filter(external_id=external_id).first()
            if declaration is not None and declaration.declarant_id != declarant.pk:
                raise DeclarationInvalid(
                    [FieldError("external_id", f"{external_id!r} already belongs to another declarant's declaration")]
                )
        if declaration is None:
            declaration = (
                Declaration.objects.select_for_update()
                .filter(declarant=declarant, declaration_type=content["declaration_type"], year=period["year"])
                .first()
            )
        if declaration is None:
            declaration = Declaration.objects.create(
                declarant=declarant,
                declaration_type=content["declaration_type"],
                year=period["year"],
                external_id=external_id or None,
                body=PublicBody.objects.filter(source_key=body_info["id"]).first() if body_info.get("id") else None,
                body_name=body_info.get("name", ""),
                position_title=content["position"]["title"],
                period_start=date.fromisoformat(period["start"]) if period.get("start") else None,
                period_end=date.fromisoformat(period["end"]) if period.get("end") else None,
                status=Declaration.Status.SUBMITTED,
            )
        latest = declaration.latest_version()
        if latest is not None and latest.content_hash == digest:
            return SubmitResult(declaration, latest, False)
        version = DeclarationVersion.objects.create(
            declaration=declaration,
            number=(latest.number + 1) if latest else 1,
            schema_version=SCHEMA_VERSION,
            content=content,
            content_hash=digest,
            submitted_at=timezone.now(),
            submitted_by=submitted_by[:150],
            source=source[:300],
        )
        changed = []
        if declaration.status != Declaration.Status.SUBMITTED:
            declaration.status = Declaration.Status.SUBMITTED
            changed.append("status")
        if external_id and not declaration.external_id:
            declaration.external_id = external_id
            changed.append("external_id")
        if changed:
            declaration.save(update_fields=changed)
        audit_record(
            action=AuditEntry.Action.OTHER,
            actor=submitted_by,
            object_type="declarations.declarationversion",
            object_id=str(version.pk),
            object_label=str(version),
            details={
                "event": "declaration_submitted",
                "declaration": declaration.pk,
                "version": version.number,
                "content_hash": digest,
                "correction": latest is not None,
            },
        )
        # The event: the verification detectors judge the new version in the background (one job for
        # many submissions while it waits); queued in this transaction, so it exists only if the version does.
        from probity.declarations.events import verification_queue

        verification_queue()
        # The family members it names join the graph of people (``declarations.linking``), in the background.
        links_touch("declarations.declaration", [declaration.pk])
    return SubmitResult(declaration, version, True)


# --- import ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.created + self.unchanged + len(self.errors)


CSV_COLUMNS = (
    "declaration_id",
    "declarant_id",
    "declarant_name",
    "declaration_type",
    "year",
    "position_title",
    "body_name",
    "reporting_currency",
    "section",
    "owner",
    "kind",
    "description",
    "amount",
    "currency",
    "share_percent",
    "date",
)
CSV_REQUIRED = ("declaration_id", "declarant_id", "declarant_name", "declaration_type", "year", "position_title")


def _declarant_for(content: dict[str, Any]) -> Person:
    """The core person the declaration belongs to: matched by ``declarant.id`` as source key, else created."""
    info = content["declarant"]
    key = info.get("id")
    if key:
        person = Person.objects.filter(source_key=key).first()
        if person is not None:
            return person
    try:
        birth = date.fromisoformat(info["birth_date"]) if info.get("birth_date") else None
    except (TypeError, ValueError):
        birth = None  # the schema check that follows reports it; this person is then rolled back
    return Person.objects.create(name=str(info["name"])[:300], source_key=key or None, birth_date=birth)


def _prepare(record: Any, label: str, report: ImportReport) -> dict[str, Any] | None:
    """The 1.0 record to store, or None after reporting why it cannot be."""
    if is_demo_document(record):
        try:
            record = from_demo(record)
        except (AttributeError, KeyError, TypeError, ValueError):
            report.errors.append(f"{label}: " + _("is a demo (0.1) declaration with a field of the wrong type"))
            return None
    elif not isinstance(record, dict):
        report.errors.append(f"{label}: is not a JSON object")
        return None
    if not isinstance(record.get("declarant"), dict) or not record["declarant"].get("name"):
        report.errors.append(f"{label}: declarant: the field 'name' is required")
        return None
    return record


def _store(record: Any, label: str, report: ImportReport, actor: User | None, source: str) -> None:
    record = _prepare(record, label, report)
    if record is None:
        return
    _store_one(record, label, report, actor, source)


def _store_one(record: dict[str, Any], label: str, report: ImportReport, actor: User | None, source: str) -> None:
    try:
        with transaction.atomic():  # validation fails inside: the declarant created for it is rolled back too
            result = declaration_submit(declarant=_declarant_for(record), payload=record, actor=actor, source=source)
    except DeclarationInvalid as exc:
        report.errors.append(f"{label}: {exc}")
        return
    except DatabaseError:
        report.errors.append(f"{label}: " + _("could not be stored: the database refused it"))
        return
    except (AttributeError, KeyError, RecursionError, TypeError, ValueError) as exc:
        report.errors.append(f"{label}: " + _unexpected(exc))
        return
    if result.created:
        report.created += 1
    else:
        report.unchanged += 1


def _unexpected(exc: BaseException) -> str:
    """The reason given for a record that made the checks themselves fail (a safety net: logged for the team)."""
    logger.warning("declaration import: a record could not be checked (%s)", type(exc).__name__)
    if isinstance(exc, RecursionError):
        return _("is nested too deeply to be checked")
    return _("could not be checked (%(error)s); nothing of it was stored") % {"error": type(exc).__name__}


IMPORT_BATCH = 500


@dataclass
class _Pending:
    """One valid record of a batch, waiting to be written."""

    label: str
    content: dict[str, Any]
    digest: str
    text: str  # the JSON text its version stores
    source: str
    csv_rows: dict[str, list[int]] | None = None


def _birth_date(info: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(info["birth_date"]) if info.get("birth_date") else None
    except (TypeError, ValueError):
        return None


@dataclass
class _Known:
    """A stored declaration as a batch needs it: read as values (model instances cost more than the rest)."""

    pk: int
    declarant_id: int
    status: str
    external_id: str | None


@dataclass
class _NewDeclaration:
    """A declaration a batch creates, as the row it inserts (``pk`` once inserted)."""

    declarant_id: int
    status: str
    external_id: str | None
    content: dict[str, Any]
    body_id: int | None
    pk: int = 0


# A number the canonical JSON could write otherwise than ``json.dumps``: below 10^-4, Python writes an
# exponent ("1e-05", "2.5e-07") where orjson writes "0.00001" and "2.5e-7". Its text is hashed by ``json``.
_RISKY_NUMBER = re.compile(rb"[:,\[]-?(?:0\.0000|[0-9]+(?:\.[0-9]+)?e-)")


def _encoded(content: dict[str, Any]) -> tuple[str, str]:
    """``content_hash`` of a parsed record and the JSON text its version stores, in one pass of orjson each.

    The canonical JSON is byte-identical to ``content_hash``'s (sorted keys, no spaces, UTF-8; a number it
    could write otherwise, or a value orjson refuses, goes through ``content_hash`` itself), so a re-import
    of a stored version finds it unchanged. The stored text is compact UTF-8 in the file's key order, the
    same JSON value as Django's ``json.dumps`` text."""
    try:
        canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
        text = orjson.dumps(content).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a lone surrogate, a non-text key
        return content_hash(content=content), json.dumps(content)
    if (b"e-" in canonical or b"0.0000" in canonical) and _RISKY_NUMBER.search(canonical):
        return content_hash(content=content), text
    return hashlib.sha256(canonical).hexdigest(), text


def _insert_rows(model: type[Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[int]:
    """Inserts ``rows`` (database-ready values of ``columns``) as multi-row INSERTs; their ids, in order.

    What ``bulk_create`` writes, without a model instance per row and a compiled value per field: the
    batch's values are ready (dates adapted, JSON encoded). ``RETURNING`` (PostgreSQL, SQLite 3.35+) gives
    the ids in the order of the rows, as ``bulk_create`` relies on; older SQLite inserts row by row."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    operations = connection.ops
    fields = [cast(Any, model._meta.get_field(name)) for name in columns]
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    placeholder = (
        "(" + ", ".join(json_placeholder if f.get_internal_type() == "JSONField" else "%s" for f in fields) + ")"
    )
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608  (model names only; values are parameters)
        operations.quote_name(model._meta.db_table),
        ", ".join(operations.quote_name(f.column) for f in fields),
    )
    returning = " RETURNING " + operations.quote_name(cast(Any, model._meta.pk).column)
    ids: list[int] = []
    with connection.cursor() as cursor:
        if not connection.features.can_return_rows_from_bulk_insert:
            for row in rows:
                cursor.execute(head + placeholder, row)
                ids.append(int(cursor.lastrowid))
            return ids
        step = max(1, _max_parameters(connection) // len(columns))
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            cursor.execute(head + ", ".join([placeholder] * len(chunk)) + returning, [v for row in chunk for v in row])
            ids.extend(int(row[0]) for row in cursor.fetchall())
    if len(ids) != len(rows):
        raise DatabaseError("the database did not return an id for every inserted row")
    return ids


def _max_parameters(connection: Any) -> int:
    """How many parameters one statement may hold: SQLite's compiled limit (999 before 3.32), else 30 000."""
    if connection.vendor == "sqlite":
        try:
            return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        except (AttributeError, sqlite3.Error):
            return 999
    return 30_000


_PERSON_COLUMNS = ("name", "birth_date", "gender", "nationality", "source_key", "user", "created_at")
_DECLARATION_COLUMNS = (
    "declarant",
    "body",
    "body_name",
    "position_title",
    "declaration_type",
    "year",
    "period_start",
    "period_end",
    "status",
    "external_id",
    "created_at",
)
_VERSION_COLUMNS = (
    "declaration",
    "number",
    "schema_version",
    "content",
    "content_hash",
    "submitted_at",
    "submitted_by",
    "source",
)


def _declaration_row(
    declaration: _NewDeclaration, created_at: Any, adapt_date: Callable[[Any], Any]
) -> tuple[Any, ...]:
    content = declaration.content
    period = content["period"]
    body_info = content["position"].get("body") or {}
    return (
        declaration.declarant_id,
        declaration.body_id,
        body_info.get("name", ""),
        content["position"]["title"],
        content["declaration_type"],
        period["year"],
        adapt_date(date.fromisoformat(period["start"])) if period.get("start") else None,
        adapt_date(date.fromisoformat(period["end"])) if period.get("end") else None,
        declaration.status,
        declaration.external_id,
        created_at,
    )


def _write_batch(pending: list[_Pending], report: ImportReport, actor: User | None) -> None:
    """Writes a batch of validated records in one transaction with one summary audit entry.

    Raises (and writes nothing) when the database refuses part of it; the caller then stores the
    batch one declaration at a time. Records that ``declaration_submit`` would refuse (an external
    id of another declarant's declaration) are reported and left out. Persons, declarations and
    versions go in as plain multi-row INSERTs (``_insert_rows``), a few statements per batch.
    """
    keys = {p.content["declarant"]["id"] for p in pending}
    external_ids = {p.content["external_id"] for p in pending if p.content.get("external_id")}
    body_keys = {
        (p.content["position"].get("body") or {}).get("id")
        for p in pending
        if (p.content["position"].get("body") or {}).get("id")
    }
    submitted_by = actor_name(actor)
    operations = connections[router.db_for_write(DeclarationVersion)].ops
    adapt_date = operations.adapt_datefield_value
    submitted = Declaration.Status.SUBMITTED.value
    created_persons: list[int] = []
    created_declarations: list[int] = []
    # [version id, declaration id, version number, content hash, correction] per version, and its source
    written: list[list[Any]] = []
    sources: set[str] = set()
    with transaction.atomic():
        by_external: dict[str, _NewDeclaration | _Known] = {}
        claimed: dict[str, str | None] = {}
        for pk, declarant_id, source_key, status, external in (
            Declaration.objects.select_for_update()
            .filter(external_id__in=external_ids)
            .values_list("pk", "declarant_id", "declarant__source_key", "status", "external_id")
        ):
            by_external[str(external)] = _Known(pk, declarant_id, status, external)
            claimed[str(external)] = source_key
        # An external id already used by another declarant's declaration (stored, or earlier in this
        # batch) is refused before anything of the record is written, as declaration_submit refuses it.
        accepted = []
        for item in pending:
            external_id, key = item.content.get("external_id"), item.content["declarant"]["id"]
            if external_id and claimed.setdefault(external_id, key) != key:
                report.errors.append(
                    f"{item.label}: external_id: {external_id!r} already belongs to another declarant's declaration"
                )
            else:
                accepted.append(item)
        pending = accepted
        persons = {str(k): pk for k, pk in Person.objects.filter(source_key__in=keys).values_list("source_key", "pk")}
        new_persons: dict[str, tuple[Any, ...]] = {}
        now = timezone.now()
        created_at = operations.adapt_datetimefield_value(now)
        for item in pending:
            info = item.content["declarant"]
            if info["id"] not in persons and info["id"] not in new_persons:
                birth = _birth_date(info)
                new_persons[info["id"]] = (
                    str(info["name"])[:300],
                    adapt_date(birth) if birth else None,
                    "",
                    "",
                    str(info["id"]),
                    None,
                    created_at,
                )
        if new_persons:
            for key, pk in zip(
                new_persons, _insert_rows(Person, _PERSON_COLUMNS, list(new_persons.values())), strict=True
            ):
                persons[key] = pk
                created_persons.append(pk)
        bodies: dict[str, int] = {}
        if body_keys:
            bodies = {
                str(k): pk
                for k, pk in PublicBody.objects.filter(source_key__in=body_keys).values_list("source_key", "pk")
            }
        periods = {
            (persons[p.content["declarant"]["id"]], p.content["declaration_type"], p.content["period"]["year"])
            for p in pending
        }
        by_period: dict[tuple[int, str, int], _NewDeclaration | _Known] = {}
        if periods:
            for pk, declarant_id, kind, year, status, external in (
                Declaration.objects.select_for_update()
                .filter(declarant_id__in={period[0] for period in periods})
                .values_list("pk", "declarant_id", "declaration_type", "year", "status", "external_id")
            ):
                if (declarant_id, kind, year) in periods:
                    by_period[(declarant_id, kind, year)] = by_external.get(external or "") or _Known(
                        pk, declarant_id, status, external
                    )
        known = {d.pk for d in (*by_external.values(), *by_period.values())}
        latest: dict[int, tuple[int, str]] = {}
        for declaration_id, number, digest in (
            DeclarationVersion.objects.filter(declaration_id__in=known)
            .order_by("declaration_id", "number")
            .values_list("declaration_id", "number", "content_hash")
        ):
            latest[declaration_id] = (number, digest)  # the last row of each declaration is its latest
        # Which declaration each record goes to, creating the missing ones (in the file's order).
        targets: list[tuple[_Pending, _NewDeclaration | _Known]] = []
        to_create: list[_NewDeclaration] = []
        for item in pending:
            content = item.content
            person_id = persons[content["declarant"]["id"]]
            external_id = content.get("external_id")
            declaration: _NewDeclaration | _Known | None = by_external.get(external_id) if external_id else None
            if declaration is not None and declaration.declarant_id != person_id:
                report.errors.append(
                    f"{item.label}: external_id: {external_id!r} already belongs to another declarant's declaration"
                )
                continue
            period_key = (person_id, content["declaration_type"], content["period"]["year"])
            if declaration is None:
                declaration = by_period.get(period_key)
            if declaration is None:
                body_id = (content["position"].get("body") or {}).get("id")
                declaration = _NewDeclaration(
                    person_id, submitted, external_id or None, content, bodies.get(body_id) if body_id else None
                )
                to_create.append(declaration)
                by_period[period_key] = declaration
                if external_id:
                    by_external[external_id] = declaration
            elif isinstance(declaration, _NewDeclaration) and external_id and not declaration.external_id:
                declaration.external_id = external_id  # as the update a later record of the batch would make
            targets.append((item, declaration))
        if to_create:
            rows = [_declaration_row(d, created_at, adapt_date) for d in to_create]
            for declaration, pk in zip(to_create, _insert_rows(Declaration, _DECLARATION_COLUMNS, rows), strict=True):
                declaration.pk = pk
                created_declarations.append(pk)
        submitted_at = operations.adapt_datetimefield_value(now)
        version_rows: list[tuple[Any, ...]] = []
        changed: dict[int, tuple[_Known, set[str]]] = {}
        for item, declaration in targets:
            number, digest = latest.get(declaration.pk, (0, ""))
            if digest == item.digest:
                report.unchanged += 1
                continue
            version_rows.append(
                (
                    declaration.pk,
                    number + 1,
                    SCHEMA_VERSION,
                    item.text,
                    item.digest,
                    submitted_at,
                    submitted_by[:150],
                    item.source[:300],
                )
            )
            latest[declaration.pk] = (number + 1, item.digest)
            written.append([0, declaration.pk, number + 1, item.digest, number > 0])
            sources.add(item.source)
            if isinstance(declaration, _NewDeclaration):
                continue  # inserted with its final status and external id
            fields = set()
            if declaration.status != submitted:
                declaration.status = submitted
                fields.add("status")
            external_id = item.content.get("external_id")
            if external_id and not declaration.external_id:
                declaration.external_id = external_id
                fields.add("external_id")
            if fields:
                changed.setdefault(declaration.pk, (declaration, set()))[1].update(fields)
        for row, pk in zip(written, _insert_rows(DeclarationVersion, _VERSION_COLUMNS, version_rows), strict=True):
            row[0] = pk
        for declaration, fields in changed.values():  # audited one by one: rare (drafts, legacy rows)
            model = Declaration.objects.get(pk=declaration.pk)
            for name in fields:
                setattr(model, name, getattr(declaration, name))
            model.save(update_fields=sorted(fields))
        if written or created_persons or created_declarations:
            audit_record(
                action=AuditEntry.Action.OTHER,
                actor=submitted_by,
                object_type="declarations.declarationversion",
                object_id=str(written[0][0]) if written else "",
                object_label=f"import batch of {len(written)} versions",
                details={
                    "event": "declarations_imported",
                    "sources": sorted(sources),
                    "persons_created": created_persons,
                    "declarations_created": created_declarations,
                    # [version id, declaration id, version number, content hash, correction] per version
                    "versions": written,
                },
            )
            links_touch("declarations.declaration", {row[1] for row in written}, queue=False)
    report.created += len(written)


def _period_dates(content: dict[str, Any]) -> str | None:
    """Why the period's dates cannot be stored, or None (the declaration row needs real dates)."""
    period = content["period"]
    for key in ("start", "end"):
        if period.get(key):
            try:
                date.fromisoformat(period[key])
            except (TypeError, ValueError):
                return f"period.{key}: " + _("%(value)s is not a real date (YYYY-MM-DD)") % {
                    "value": _shown(period[key])
                }
    return None


def _store_batch(
    records: list[tuple[str, Any, str, dict[str, list[int]] | None]], report: ImportReport, actor: User | None
) -> None:
    """Validates each record (a bad one is reported and left out), then writes the valid ones together.

    If the database refuses the batch (for example a concurrent import created the same declaration),
    nothing of it is kept and its records are stored one at a time instead, each in its transaction.
    """
    pending: list[_Pending] = []
    one_by_one: list[tuple[str, dict[str, Any], str, dict[str, list[int]] | None]] = []
    with cached_rates():
        for label, record, source, rows in records:
            before = len(report.errors)
            try:
                demo = is_demo_document(record)
                content = _prepare(record, label, report)
                if content is None:
                    continue
                if not content["declarant"].get("id"):  # a new person each time: keep the exact one-by-one rules
                    one_by_one.append((label, content, source, rows))
                    continue
                errors = validate_content(content)
                if errors:
                    report.errors.append(f"{label}: {DeclarationInvalid(errors)}")
                    continue
                problem = _period_dates(content)
                if problem:
                    report.errors.append(f"{label}: {problem}")
                    continue
                if demo:  # converted by the adapter: values of any type, hashed and written as declaration_submit does
                    digest, text = content_hash(content=content), json.dumps(content)
                else:
                    digest, text = _encoded(content)
                pending.append(_Pending(label, content, digest, text, source, rows))
            except (AttributeError, KeyError, RecursionError, TypeError, ValueError) as exc:
                report.errors.append(f"{label}: " + _unexpected(exc))
            finally:
                if rows is not None and len(report.errors) > before:
                    report.errors[-1] = _csv_error_rows(report.errors[-1], rows)
    if pending:
        errors_before, created_before, unchanged_before = len(report.errors), report.created, report.unchanged
        try:
            _write_batch(pending, report, actor)
        except DatabaseError:
            del report.errors[errors_before:]
            report.created, report.unchanged = created_before, unchanged_before
            one_by_one.extend((p.label, p.content, p.source, p.csv_rows) for p in pending)
    for label, content, source, rows in one_by_one:
        before = len(report.errors)
        _store_one(content, label, report, actor, source)
        if rows is not None and len(report.errors) > before:
            report.errors[-1] = _csv_error_rows(report.errors[-1], rows)


# --- reading records: one at a time, each bad one reported with where it is and why ---------------

MAX_DEPTH = 64  # a declaration is about five levels deep
NUMBER_LIMIT = 10**15  # as the schema's amounts: a number at or beyond it is refused, not rounded to infinity
FAST_PARSE_BYTES = 32 * 1024 * 1024  # an array file up to this size is parsed at once when it is all valid
_BOM = b"\xef\xbb\xbf"
_SPACE = re.compile(rb"[ \t\r\n]*")
# What a top-level array's items are split on: whole strings (skipped), brackets and commas; a lone quote
# is a string the file cuts off.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]|"', re.DOTALL)
_OPEN, _CLOSE, _COMMA, _QUOTE = frozenset(b"[{"), frozenset(b"]}"), ord(","), ord('"')


class RecordRejected(ValueError):
    """A record that cannot be read; the message is the plain reason."""


class _OutOfBounds(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []


def _shown(value: Any) -> str:
    """A value as a reason quotes it: short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _check_bounds(node: Any, depth: int, strings: bool) -> None:
    """Raises ``_OutOfBounds`` for a number at or beyond ``NUMBER_LIMIT``, nesting beyond ``MAX_DEPTH``, and
    (when ``strings``) the character U+0000, which no database column can hold."""
    kind = type(node)
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise _OutOfBounds(_("is nested more than %(n)s levels deep") % {"n": MAX_DEPTH})
        for key, value in node.items():
            if strings and "\x00" in key:
                raise _OutOfBounds(_("has a field name with the character U+0000, which cannot be stored"))
            if type(value) in _CHECKED or strings:
                try:
                    _check_bounds(value, depth + 1, strings)
                except _OutOfBounds as exc:
                    exc.path.append(key)
                    raise
    elif kind is list:
        if depth >= MAX_DEPTH:
            raise _OutOfBounds(_("is nested more than %(n)s levels deep") % {"n": MAX_DEPTH})
        for index, value in enumerate(node):
            if type(value) in _CHECKED or strings:
                try:
                    _check_bounds(value, depth + 1, strings)
                except _OutOfBounds as exc:
                    exc.path.append(index)
                    raise
    elif kind is float or kind is int:
        if not -NUMBER_LIMIT < node < NUMBER_LIMIT:
            raise _OutOfBounds(
                _("the number %(value)s is too large (numbers must stay below 10^15)") % {"value": _shown(node)}
            )
    elif kind is str and strings and "\x00" in node:
        raise _OutOfBounds(_("contains the character U+0000, which cannot be stored"))


_CHECKED = (dict, list, int, float)


def _bounded(value: Any, strings: bool) -> Any:
    """``value`` when it is within the bounds, else ``RecordRejected`` naming the field. ``strings``: look for
    U+0000 in the strings too (only when the raw JSON holds the escape ``\\u0000``)."""
    try:
        _check_bounds(value, 0, strings)
    except _OutOfBounds as exc:
        path = ""
        for part in reversed(exc.path):
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        raise RecordRejected(f"{path}: {exc.reason}" if path else exc.reason) from None
    return value


def _position(data: bytes, offset: int, line: int, column: int) -> tuple[int, int]:
    """Line and column in the file of byte ``offset`` of ``data``, which starts at ``line``, ``column``."""
    before = data[:offset]
    newlines = before.count(b"\n")
    if not newlines:
        return line, column + offset
    return line + newlines, offset - before.rfind(b"\n")


def _parse_record(data: bytes, line: int = 1, column: int = 1) -> Any:
    """One JSON value from ``data`` (which starts at ``line``, ``column`` of its file), or ``RecordRejected``."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RecordRejected(_json_reason(exc, data, line, column)) from None
    return _bounded(value, b"\\u0000" in data)


def _json_reason(exc: orjson.JSONDecodeError, data: bytes, line: int, column: int) -> str:
    message = exc.msg
    if "UTF-8" in message:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            at_line, at_column = _position(data, bad.start, line, column)
            return _("is not UTF-8 text (byte 0x%(byte)02x at line %(line)s, column %(column)s)") % {
                "byte": data[bad.start],
                "line": at_line,
                "column": at_column,
            }
        return _("is not UTF-8 text")
    at_line, at_column = _position(data, exc.pos, line, column)
    where = {"line": at_line, "column": at_column}
    if "infinity" in message:
        return _("has a number too large to read at line %(line)s, column %(column)s") % where
    if "depth" in message or "recursion" in message:
        return _("is nested more than %(n)s levels deep") % {"n": MAX_DEPTH}
    if "surrogate" in message:
        return _("has an invalid \\u escape (half a surrogate pair) at line %(line)s, column %(column)s") % where
    if "empty" in message:
        return _("is empty")
    return _("is not valid JSON (%(reason)s at line %(line)s, column %(column)s)") % {"reason": message, **where}


def _item_label(name: str, index: int, item: Any) -> str:
    key = (item.get("external_id") or item.get("id")) if isinstance(item, dict) else None
    if isinstance(key, str) and key.strip():
        return f"{name} item {index} ({key[:80]})"
    return f"{name} item {index}"


def _json_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """Each line of a JSON Lines file on its own: a bad line (invalid UTF-8 too) costs only itself."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            label = f"{path.name} line {number}"
            try:
                yield label, _parse_record(raw, number)
            except RecordRejected as exc:
                yield label, exc


def _json_records(path: Path) -> Iterator[tuple[str, Any]]:
    """The records of a JSON file (one object or an array of them) or a JSON Lines file (``.jsonl``), one at a
    time: ``(label, record)``, or ``(label, RecordRejected)`` for one that cannot be read.

    An array is read item by item: a bad item is reported and the next ones are read; a file cut off in the
    middle gives the items before the break, then the break with its line. Numbers are bounded (below
    10^15; an integer of 5 000 digits or ``1e400`` is refused, not rounded) and so is nesting (64 levels).
    """
    if path.suffix == ".jsonl":
        yield from _json_lines(path)
        return
    if path.stat().st_size == 0:
        yield path.name, RecordRejected(_("is empty"))
        return
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = _SPACE.match(data, len(_BOM) if data[: len(_BOM)] == _BOM else 0).end()  # type: ignore[union-attr]
        if start >= len(data):
            yield path.name, RecordRejected(_("is empty"))
            return
        line = 1 + data[:start].count(b"\n")
        column = start - data.rfind(b"\n", 0, start)
        if data[start] != ord("["):
            try:
                yield path.name, _parse_record(data[start:], line, column)
            except RecordRejected as exc:
                yield path.name, exc
            return
        if len(data) <= FAST_PARSE_BYTES:
            try:
                items = orjson.loads(data[start:])
            except orjson.JSONDecodeError:
                items = None  # a bad item or a break somewhere: read item by item to keep the others
            if isinstance(items, list):
                strings = data.find(b"\\u0000", start) != -1
                for index, item in enumerate(items):
                    label = _item_label(path.name, index, item)
                    try:
                        yield label, _bounded(item, strings)
                    except RecordRejected as exc:
                        yield label, exc
                return
        yield from _array_items(path.name, data, start, line)


def _array_items(name: str, data: mmap.mmap, start: int, line: int) -> Iterator[tuple[str, Any]]:
    """The items of the array whose ``[`` is at ``start`` (on ``line``), split without parsing them, so that
    one bad item is reported alone; a break (the file ends inside an item, or the array is never closed) is
    reported where it is, after the items before it."""
    pos, counted, index = start + 1, start, 0
    size = len(data)
    while True:
        pos = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
        line += data[counted:pos].count(b"\n")
        counted = pos
        label = f"{name} item {index} (line {line})"
        if pos >= size:
            yield (
                label,
                RecordRejected(_("the array is not closed: the file ends here; the items before were read")),
            )
            return
        depth, end, closing, cut = 0, -1, False, False
        for match in _TOKEN.finditer(data, pos):
            char = data[match.start()]
            if char == _QUOTE:
                if match.end() - match.start() == 1:
                    cut = True  # a string the file cuts off
                    break
            elif char in _OPEN:
                depth += 1
            elif char in _CLOSE:
                if depth == 0:
                    end, closing = match.start(), True
                    break
                depth -= 1
            elif depth == 0:
                end = match.start()
                break
        if end < 0:  # the file ends: after a last complete item, or in the middle of one
            if depth == 0 and not cut:
                try:
                    item = _parse_record(data[pos:].rstrip(b" \t\r\n"), line, pos - data.rfind(b"\n", 0, pos))
                except RecordRejected:
                    pass
                else:
                    yield _item_label(name, index, item), item
                    yield (
                        f"{name} item {index + 1}",
                        RecordRejected(_("the array is not closed: the file ends here; the items before were read")),
                    )
                    return
            yield (
                label,
                RecordRejected(
                    _(
                        "the file ends in the middle of this item: the array is cut short here; "
                        "the items before it were read"
                    )
                ),
            )
            return
        chunk = data[pos:end].rstrip(b" \t\r\n")
        if chunk:
            try:
                item = _parse_record(chunk, line, pos - data.rfind(b"\n", 0, pos))
            except RecordRejected as exc:
                yield label, exc
            else:
                yield _item_label(name, index, item), item
            index += 1
        elif not (closing and index == 0):
            yield label, RecordRejected(_("is missing: two commas in a row, or a comma before the closing bracket"))
            index += 1
        pos = end + 1
        if closing:
            rest = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
            if rest < size:
                yield (
                    f"{name}",
                    RecordRejected(
                        _("has text after the end of the array (line %(line)s); it was not read")
                        % {"line": line + data[counted:rest].count(b"\n")}
                    ),
                )
            return


def _money_cell(amount: str, currency: str) -> Any:
    if amount.strip().lower() in ("not provided", "not_provided"):
        return {"not_provided": "family_member_refused"}
    return {"amount": amount.strip(), "currency": currency.strip().upper()}


_WHOLE = re.compile(r"-?[0-9]{1,6}")
_UNSTORABLE = re.compile("[\x00\udc80-\udcff]")  # U+0000, and the bytes of invalid UTF-8 (surrogateescape)


def _csv_rows(reader: csv.DictReader[str], name: str) -> Iterator[tuple[int, dict[str, str] | RecordRejected]]:
    """``(row number, cells)`` for each row, or a ``RecordRejected`` for one the CSV reader cannot split."""
    number = 1
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, RecordRejected(_("cannot be read as CSV (%(reason)s)") % {"reason": str(exc)[:100]})
            continue
        yield number, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _unstorable(cells: dict[str, str]) -> str | None:
    """Why a row cannot be stored as text (invalid UTF-8 or U+0000 in a column), or None."""
    for column, value in cells.items():
        if "\x00" in value:
            return _("the column %(column)s contains the character U+0000") % {"column": _shown(column)}
        if not value.isascii() and _UNSTORABLE.search(value):
            return _("the column %(column)s is not UTF-8 text") % {"column": _shown(column)}
    return None


def _csv_number(text: str) -> float | None:
    """A number of a CSV cell within the bounds (finite, below 10^15), or None."""
    if len(text) > 40:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if -NUMBER_LIMIT < number < NUMBER_LIMIT else None


def _csv_records(path: Path) -> Iterator[tuple[str, Any]]:
    """Groups CSV rows by ``declaration_id``; a bad row makes its whole declaration a reported error.

    A row the CSV reader cannot split, or with a column that is not UTF-8 text, is reported by its number;
    the other rows are read.
    """
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            fieldnames = reader.fieldnames or []
        except csv.Error as exc:
            yield path.name, RecordRejected(_("cannot be read as CSV (%(reason)s)") % {"reason": str(exc)[:100]})
            return
        missing = [c for c in CSV_REQUIRED if c not in fieldnames]
        if missing:
            yield path.name, ValueError(f"the CSV lacks the columns {', '.join(missing)}")
            return
        grouped: dict[str, dict[str, Any]] = {}
        broken: dict[str, list[str]] = {}
        first_row: dict[str, int] = {}
        for number, cells in _csv_rows(reader, path.name):
            if isinstance(cells, RecordRejected):
                yield f"{path.name} row {number}", cells
                continue
            key = cells.get("declaration_id", "")
            if not key or _UNSTORABLE.search(key):
                yield (
                    f"{path.name} row {number}",
                    ValueError("has no declaration_id" if not key else _("the declaration_id is not UTF-8 text")),
                )
                continue
            problem = _unstorable(cells)
            if problem:
                first_row.setdefault(key, number)
                broken.setdefault(key, []).append(f"row {number}: {problem}")
                if key in grouped:
                    continue
                cells = {k: v for k, v in cells.items() if k in CSV_REQUIRED and not _UNSTORABLE.search(v)}
                cells.setdefault("year", "0")
            first_row.setdefault(key, number)
            if key not in grouped:
                year_text = cells.get("year", "")
                year = int(year_text) if _WHOLE.fullmatch(year_text) else None
                if year is None and not problem:
                    broken.setdefault(key, []).append(f"row {number}: year {_shown(year_text)} is not a whole number")
                grouped[key] = {
                    "schema_version": SCHEMA_VERSION,
                    "external_id": key,
                    "declaration_type": cells.get("declaration_type", ""),
                    "period": {"year": year or 0},
                    "declarant": {"id": cells.get("declarant_id", ""), "name": cells.get("declarant_name", "")},
                    "position": {"title": cells.get("position_title", "")},
                    "family_members": [],
                }
                if cells.get("body_name"):
                    grouped[key]["position"]["body"] = {"name": cells["body_name"]}
                if cells.get("reporting_currency"):
                    grouped[key]["reporting_currency"] = cells["reporting_currency"].upper()
            section = cells.get("section", "")
            if not section or problem:
                continue
            content = grouped[key]
            if section == "family_members":
                content["family_members"].append(
                    {
                        "id": cells.get("owner", ""),
                        "relation": cells.get("kind", ""),
                        "name": cells.get("description", ""),
                    }
                )
                continue
            if section not in ROW_SECTIONS:
                broken.setdefault(key, []).append(
                    f"row {number}: {_shown(section)} is not a section of the declaration"
                )
                continue
            item: dict[str, Any] = {"owner": cells.get("owner") or "declarant", "kind": cells.get("kind", "")}
            if cells.get("description"):
                text_key = {
                    "corporate_rights": "company",
                    "beneficial_ownership": "company",
                    "outside_employment": "organisation",
                    "memberships": "organisation",
                }.get(section, "description")
                item[text_key] = cells["description"]
            if cells.get("amount"):
                money_key = (
                    "value"
                    if section
                    in (
                        "real_estate",
                        "unfinished_construction",
                        "valuables",
                        "vehicles",
                        "securities",
                        "corporate_rights",
                        "intangible_assets",
                    )
                    else "amount"
                )
                item[money_key] = _money_cell(cells["amount"], cells.get("currency", ""))
            if cells.get("share_percent"):
                share = _csv_number(cells["share_percent"])
                if share is None:
                    broken.setdefault(key, []).append(
                        f"row {number}: share_percent {_shown(cells['share_percent'])} is not a number below 10^15"
                    )
                else:
                    item["share_percent"] = share
            if cells.get("date"):
                item["acquired" if section in ("real_estate", "valuables", "vehicles") else "date"] = cells["date"]
            content.setdefault(section, []).append(item)
            content.setdefault("_rows", {}).setdefault(section, []).append(number)
        for key, content in grouped.items():
            label = f"{path.name} declaration {_shown(key)} (from row {first_row[key]})"
            rows = content.pop("_rows", {})
            if broken.get(key):
                problems = broken[key]
                more = _(" … and %(n)s more rows") % {"n": len(problems) - 5} if len(problems) > 5 else ""
                yield label, ValueError("; ".join(problems[:5]) + more)
            else:
                yield label, (content, rows)


def _csv_error_rows(message: str, rows: dict[str, list[int]]) -> str:
    """Names the CSV row for each ``section[i]`` path in the message."""
    for section, numbers in rows.items():
        for index, number in enumerate(numbers):
            message = message.replace(f"{section}[{index}]", f"{section}[{index}] (row {number})")
    return message


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl", ".csv") and p.is_file())
    return [path]


_GC_LOCK = threading.Lock()
_GC_USERS = [0, 700]  # imports running, the threshold they found


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Reading allocates many small objects that reference counting frees at once; the cyclic collector,
    run every 700 allocations, would walk the live objects again and again (a fifth of the import's time).
    It runs every 100 000 while imports run; the threshold they found is put back after the last one."""
    with _GC_LOCK:
        if not _GC_USERS[0]:
            _GC_USERS[1] = gc.get_threshold()[0]
            gc.set_threshold(max(_GC_USERS[1], 100_000), *gc.get_threshold()[1:])
        _GC_USERS[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_USERS[0] -= 1
            if not _GC_USERS[0]:
                gc.set_threshold(_GC_USERS[1], *gc.get_threshold()[1:])


def declaration_import(
    *,
    path: Path,
    actor: User | None = None,
    progress: Callable[[int], object] | None = None,
    batch_size: int = IMPORT_BATCH,
) -> ImportReport:
    """Imports every declaration in ``path`` (a file or a folder); re-importing the same content adds nothing.

    The versions are submitted by ``actor``, or (``None``) by the current ``audit_actor`` such as
    ``system:declarations-import``.

    Records are validated one by one (a bad one is reported by record and reason and nothing of it
    is stored) and the valid ones are written ``batch_size`` at a time in one transaction with one
    summary audit entry listing every person, declaration and version the batch created.
    ``batch_size=1`` stores each declaration through ``declaration_submit`` (its own transaction
    and audit entries), as the web form does.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    report = ImportReport()
    with audit_as(actor), _fewer_collections():
        for file in _files(path):
            _import_file(file, report, actor, progress, batch_size)
    if report.created:
        link_queue()  # the family members of the new declarations join the graph (``declarations.linking``)
    return report


def _import_file(
    file: Path,
    report: ImportReport,
    actor: User | None,
    progress: Callable[[int], object] | None,
    batch_size: int,
) -> None:
    """Stores the valid records of one file and reports the others; a file that cannot be read at all (or
    stops being readable half-way) is reported, and the records read before it are still stored."""
    if file.stat().st_size > MAX_IMPORT_BYTES:
        report.errors.append(f"{file.name}: is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it")
        return
    is_csv = file.suffix == ".csv"
    source = f"import:{file.name}"
    batch: list[tuple[str, Any, str, dict[str, list[int]] | None]] = []
    try:
        for label, record in _csv_records(file) if is_csv else _json_records(file):
            if isinstance(record, Exception):
                report.errors.append(f"{label}: {record}")
                if progress is not None:
                    progress(1)
                continue
            content, rows = record if is_csv else (record, None)
            if batch_size <= 1:
                before = len(report.errors)
                _store(content, label, report, actor, source)
                if rows is not None and len(report.errors) > before:
                    report.errors[-1] = _csv_error_rows(report.errors[-1], rows)
                if progress is not None:
                    progress(1)
                continue
            batch.append((label, content, source, rows))
            if len(batch) >= batch_size:
                _store_batch(batch, report, actor)
                if progress is not None:
                    progress(len(batch))
                batch = []
    except UnicodeDecodeError:
        report.errors.append(f"{file.name}: is not UTF-8 text")
    except (OSError, ValueError) as exc:  # unreadable, or a file that changed while it was read
        report.errors.append(f"{file.name}: " + _("cannot be read (%(reason)s)") % {"reason": str(exc)[:100]})
    if batch:
        _store_batch(batch, report, actor)
        if progress is not None:
            progress(len(batch))


# --- the exchange-rate table ---------------------------------------------------------------------

RATE_COLUMNS = ("date", "currency", "base_currency", "rate")


@dataclass
class RateImport:
    created: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def rates_import(*, path: Path, source: str = "") -> RateImport:
    """Reads ``date,currency,base_currency,rate`` rows; a bad row is reported by number, others are kept."""
    known = set(load_schema()["$defs"]["currency"]["enum"])
    report = RateImport()
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in RATE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: the CSV needs the columns {', '.join(RATE_COLUMNS)}; missing {', '.join(missing)}"
            )
        for number, row in enumerate(reader, start=2):
            try:
                day = date.fromisoformat((row["date"] or "").strip())
                currency, base = (row["currency"] or "").strip().upper(), (row["base_currency"] or "").strip().upper()
                for code in (currency, base):
                    if code not in known:
                        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
                rate = Decimal((row["rate"] or "").strip())
                if not rate.is_finite() or rate <= 0 or rate >= Decimal(10) ** 13:
                    raise ValueError(f"the rate {row['rate']!r} must be a positive number below 10^13")
            except (ValueError, InvalidOperation) as exc:
                report.errors.append(f"row {number}: {exc}")
                continue
            with transaction.atomic():
                existing = ExchangeRate.objects.filter(currency=currency, base_currency=base, date=day).first()
                if existing is not None and existing.rate == rate:
                    report.unchanged += 1
                    continue
                if existing is not None:
                    existing.rate = rate
                    existing.save()
                else:
                    ExchangeRate.objects.create(
                        currency=currency, base_currency=base, date=day, rate=rate, source=source or str(path)[:200]
                    )
                report.created += 1
    return report
