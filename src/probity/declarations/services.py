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
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import DatabaseError, transaction
from django.utils import timezone

from probity.core.audit import actor_name, audit_as, audit_record
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
        record = from_demo(record)
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
    if result.created:
        report.created += 1
    else:
        report.unchanged += 1


IMPORT_BATCH = 500


@dataclass
class _Pending:
    """One valid record of a batch, waiting to be written."""

    label: str
    content: dict[str, Any]
    digest: str
    source: str
    csv_rows: dict[str, list[int]] | None = None


def _birth_date(info: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(info["birth_date"]) if info.get("birth_date") else None
    except (TypeError, ValueError):
        return None


def _new_declaration(declarant_id: int, content: dict[str, Any], bodies: dict[str | None, PublicBody]) -> Declaration:
    period = content["period"]
    body_info = content["position"].get("body") or {}
    body = bodies.get(body_info["id"]) if body_info.get("id") else None
    return Declaration(
        declarant_id=declarant_id,
        declaration_type=content["declaration_type"],
        year=period["year"],
        external_id=content.get("external_id") or None,
        body=body,
        body_name=body_info.get("name", ""),
        position_title=content["position"]["title"],
        period_start=date.fromisoformat(period["start"]) if period.get("start") else None,
        period_end=date.fromisoformat(period["end"]) if period.get("end") else None,
        status=Declaration.Status.SUBMITTED,
    )


def _write_batch(pending: list[_Pending], report: ImportReport, actor: User | None) -> None:
    """Writes a batch of validated records in one transaction with one summary audit entry.

    Raises (and writes nothing) when the database refuses part of it; the caller then stores the
    batch one declaration at a time. Records that ``declaration_submit`` would refuse (an external
    id of another declarant's declaration) are reported and left out.
    """
    keys = {p.content["declarant"]["id"] for p in pending}
    external_ids = {p.content["external_id"] for p in pending if p.content.get("external_id")}
    body_keys = {
        (p.content["position"].get("body") or {}).get("id")
        for p in pending
        if (p.content["position"].get("body") or {}).get("id")
    }
    submitted_by = actor_name(actor)
    created_persons: list[int] = []
    created_declarations: list[int] = []
    versions: list[DeclarationVersion] = []
    written: list[tuple[_Pending, DeclarationVersion, bool]] = []
    with transaction.atomic():
        by_external = {
            d.external_id: d
            for d in Declaration.objects.select_for_update()
            .select_related("declarant")
            .filter(external_id__in=external_ids)
        }
        # An external id already used by another declarant's declaration (stored, or earlier in this
        # batch) is refused before anything of the record is written, as declaration_submit refuses it.
        claimed = {external_id: d.declarant.source_key for external_id, d in by_external.items()}
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
        persons = {p.source_key: p.pk for p in Person.objects.filter(source_key__in=keys).only("pk", "source_key")}
        new_persons = {}
        for item in pending:
            info = item.content["declarant"]
            if info["id"] not in persons and info["id"] not in new_persons:
                new_persons[info["id"]] = Person(
                    name=str(info["name"])[:300], source_key=info["id"], birth_date=_birth_date(info)
                )
        if new_persons:
            Person.objects.bulk_create(list(new_persons.values()))
            for key, person in new_persons.items():
                persons[key] = person.pk
                created_persons.append(person.pk)
        bodies = {b.source_key: b for b in PublicBody.objects.filter(source_key__in=body_keys)} if body_keys else {}
        periods = {
            (persons[p.content["declarant"]["id"]], p.content["declaration_type"], p.content["period"]["year"])
            for p in pending
        }
        by_period: dict[tuple[int, str, int], Declaration] = {}
        if periods:
            for existing in Declaration.objects.select_for_update().filter(
                declarant_id__in={period[0] for period in periods}
            ):
                key = (existing.declarant_id, existing.declaration_type, existing.year)
                if key in periods:
                    by_period[key] = existing
        known = {d.pk for d in (*by_external.values(), *by_period.values())}
        latest: dict[int, tuple[int, str]] = {}
        for declaration_id, number, digest in (
            DeclarationVersion.objects.filter(declaration_id__in=known)
            .order_by("declaration_id", "number")
            .values_list("declaration_id", "number", "content_hash")
        ):
            latest[declaration_id] = (number, digest)  # the last row of each declaration is its latest
        # Which declaration each record goes to, creating the missing ones (in the file's order).
        targets: list[tuple[_Pending, Declaration]] = []
        to_create: list[Declaration] = []
        for item in pending:
            content = item.content
            person_id = persons[content["declarant"]["id"]]
            external_id = content.get("external_id")
            declaration: Declaration | None = by_external.get(external_id) if external_id else None
            if declaration is not None and declaration.declarant_id != person_id:
                report.errors.append(
                    f"{item.label}: external_id: {external_id!r} already belongs to another declarant's declaration"
                )
                continue
            period_key = (person_id, content["declaration_type"], content["period"]["year"])
            if declaration is None:
                declaration = by_period.get(period_key)
            if declaration is None:
                declaration = _new_declaration(person_id, content, bodies)
                to_create.append(declaration)
                by_period[period_key] = declaration
                if external_id:
                    by_external[external_id] = declaration
            targets.append((item, declaration))
        if to_create:
            Declaration.objects.bulk_create(to_create)
            created_declarations.extend(d.pk for d in to_create)
        now = timezone.now()
        changed: dict[int, tuple[Declaration, set[str]]] = {}
        for item, declaration in targets:
            number, digest = latest.get(declaration.pk, (0, ""))
            if digest == item.digest:
                report.unchanged += 1
                continue
            version = DeclarationVersion(
                declaration_id=declaration.pk,
                number=number + 1,
                schema_version=SCHEMA_VERSION,
                content=item.content,
                content_hash=item.digest,
                submitted_at=now,
                submitted_by=submitted_by[:150],
                source=item.source[:300],
            )
            latest[declaration.pk] = (number + 1, item.digest)
            versions.append(version)
            written.append((item, version, number > 0))
            fields = set()
            if declaration.status != Declaration.Status.SUBMITTED:
                declaration.status = Declaration.Status.SUBMITTED
                fields.add("status")
            external_id = item.content.get("external_id")
            if external_id and not declaration.external_id:
                declaration.external_id = external_id
                fields.add("external_id")
            if fields:
                changed.setdefault(declaration.pk, (declaration, set()))[1].update(fields)
        DeclarationVersion.objects.bulk_create(versions)
        for declaration, fields in changed.values():
            declaration.save(update_fields=sorted(fields))  # audited one by one: rare (drafts, legacy rows)
        if written or created_persons or created_declarations:
            audit_record(
                action=AuditEntry.Action.OTHER,
                actor=submitted_by,
                object_type="declarations.declarationversion",
                object_id=str(versions[0].pk) if versions else "",
                object_label=f"import batch of {len(versions)} versions",
                details={
                    "event": "declarations_imported",
                    "sources": sorted({item.source for item, _v, _c in written}),
                    "persons_created": created_persons,
                    "declarations_created": created_declarations,
                    # [version id, declaration id, version number, content hash, correction] per version
                    "versions": [
                        [version.pk, version.declaration_id, version.number, version.content_hash, correction]
                        for _item, version, correction in written
                    ],
                },
            )
    report.created += len(written)


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
            content = _prepare(record, label, report)
            if content is None:
                continue
            if not content["declarant"].get("id"):  # a new person each time: keep the exact one-by-one rules
                one_by_one.append((label, content, source, rows))
                continue
            errors = validate_content(content)
            if errors:
                report.errors.append(f"{label}: {DeclarationInvalid(errors)}")
                if rows is not None and len(report.errors) > before:
                    report.errors[-1] = _csv_error_rows(report.errors[-1], rows)
                continue
            pending.append(_Pending(label, content, content_hash(content=content), source, rows))
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


def _json_records(path: Path) -> Iterator[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield f"{path.name} line {number}", json.loads(line)
                except json.JSONDecodeError as exc:
                    yield f"{path.name} line {number}", ValueError(f"is not valid JSON ({exc.msg})")
        return
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        yield path.name, ValueError(f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
        return
    if isinstance(data, list):
        for index, item in enumerate(data):
            label = item.get("external_id") or item.get("id") if isinstance(item, dict) else None
            yield f"{path.name} item {index}" + (f" ({label})" if label else ""), item
    else:
        yield path.name, data


def _money_cell(amount: str, currency: str) -> Any:
    if amount.strip().lower() in ("not provided", "not_provided"):
        return {"not_provided": "family_member_refused"}
    return {"amount": amount.strip(), "currency": currency.strip().upper()}


def _csv_records(path: Path) -> Iterator[tuple[str, Any]]:
    """Groups CSV rows by ``declaration_id``; a bad row makes its whole declaration a reported error."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            yield path.name, ValueError(f"the CSV lacks the columns {', '.join(missing)}")
            return
        grouped: dict[str, dict[str, Any]] = {}
        broken: dict[str, list[str]] = {}
        first_row: dict[str, int] = {}
        for number, row in enumerate(reader, start=2):
            cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
            key = cells.get("declaration_id", "")
            if not key:
                yield f"{path.name} row {number}", ValueError("has no declaration_id")
                continue
            first_row.setdefault(key, number)
            if key not in grouped:
                try:
                    year = int(cells["year"])
                except ValueError:
                    broken.setdefault(key, []).append(f"row {number}: year {cells['year']!r} is not a whole number")
                    year = 0
                grouped[key] = {
                    "schema_version": SCHEMA_VERSION,
                    "external_id": key,
                    "declaration_type": cells["declaration_type"],
                    "period": {"year": year},
                    "declarant": {"id": cells["declarant_id"], "name": cells["declarant_name"]},
                    "position": {"title": cells["position_title"]},
                    "family_members": [],
                }
                if cells.get("body_name"):
                    grouped[key]["position"]["body"] = {"name": cells["body_name"]}
                if cells.get("reporting_currency"):
                    grouped[key]["reporting_currency"] = cells["reporting_currency"].upper()
            section = cells.get("section", "")
            if not section:
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
                broken.setdefault(key, []).append(f"row {number}: {section!r} is not a section of the declaration")
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
                try:
                    item["share_percent"] = float(cells["share_percent"])
                except ValueError:
                    broken.setdefault(key, []).append(
                        f"row {number}: share_percent {cells['share_percent']!r} is not a number"
                    )
            if cells.get("date"):
                item["acquired" if section in ("real_estate", "valuables", "vehicles") else "date"] = cells["date"]
            content.setdefault(section, []).append(item)
            content.setdefault("_rows", {}).setdefault(section, []).append(number)
        for key, content in grouped.items():
            label = f"{path.name} declaration {key!r} (from row {first_row[key]})"
            rows = content.pop("_rows", {})
            if broken.get(key):
                yield label, ValueError("; ".join(broken[key]))
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
    with audit_as(actor):
        for file in _files(path):
            _import_file(file, report, actor, progress, batch_size)
    return report


def _import_file(
    file: Path,
    report: ImportReport,
    actor: User | None,
    progress: Callable[[int], object] | None,
    batch_size: int,
) -> None:
    if file.stat().st_size > MAX_IMPORT_BYTES:
        report.errors.append(f"{file.name}: is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it")
        return
    try:
        records = _csv_records(file) if file.suffix == ".csv" else _json_records(file)
        source = f"import:{file.name}"
        batch: list[tuple[str, Any, str, dict[str, list[int]] | None]] = []
        for label, record in records:
            if isinstance(record, Exception):
                report.errors.append(f"{label}: {record}")
                if progress is not None:
                    progress(1)
                continue
            content, rows = record if file.suffix == ".csv" else (record, None)
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
        if batch:
            _store_batch(batch, report, actor)
            if progress is not None:
                progress(len(batch))
    except UnicodeDecodeError:
        report.errors.append(f"{file.name}: is not UTF-8 text")


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
