"""Write operations of the ownership app: BODS ingest and the projection of statements into records.

``ownership_ingest`` reads a BODS file (a JSON array of statements — a 0.4 package —, an object with
a ``statements`` array, or JSON Lines), upgrades 0.2/0.3 statements to 0.4, validates each against
the bundled schema, stores it (idempotent by statement id and content hash), and reports every
problem as an ``IngestIssue`` naming the statement, its position and the reason. A bad statement
never stops its neighbours. The latest statement of each record then becomes the record's state
(``Party``, ``Relationship``, ``Interest``), and parties are linked to core organisations and people
where identifiers (or, for people, name and birth month) match.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import fastjsonschema
from django.contrib.auth.models import User
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import Exists, Max, OuterRef, Subquery

from probity.core.audit import actor_name, audit_record
from probity.core.models import AuditEntry, Identifier, Organisation
from probity.core.records import read_records
from probity.ownership.models import IngestBatch, IngestIssue, Interest, Party, Relationship, Statement
from probity.standards import bods

Progress = Callable[[int], object]
BATCH_SIZE = 1000


class IngestFileError(Exception):
    """The file as a whole cannot be opened; a file that opens is read record by record, never refused whole."""


@dataclass
class RawStatement:
    position: int  # 1-based: position in the array, or line number in JSON Lines
    value: Any
    error: str = ""
    line: int = 0  # line of the file where the statement starts
    fatal: bool = False  # the reading stopped here: the rest of the file could not be read


def read_statements(*, path: Path) -> Iterator[RawStatement]:
    """The statements of a BODS file with their 1-based position (array index or line number), streamed
    record by record (``probity.core.records``): a statement that cannot be read (not JSON, not UTF-8,
    too deep, a number out of bounds) comes with its reason, its neighbours are read."""
    try:
        for record in read_records(path, container_key="statements"):
            error = ""
            if record.error:
                where = "" if record.json_lines else f"line {record.line}: "
                error = f"{where}{record.error}"
            yield RawStatement(record.number, record.value, error, record.line, record.fatal)
    except OSError as exc:
        raise IngestFileError(f"{path.name} cannot be read ({exc.strerror or exc})") from exc


def content_hash(*, statement: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(statement, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _names(details: dict[str, Any]) -> list[str]:
    names = []
    for name in details.get("names", []) or []:
        if isinstance(name, dict):
            full = name.get("fullName") or " ".join(
                str(name[k]) for k in ("givenName", "patronymicName", "familyName") if name.get(k)
            )
            if full:
                names.append(str(full))
    return names


def _quality_warnings(statement: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems the schema does not catch but that matter for ownership (statement kept, issue noted)."""
    found: list[tuple[str, str]] = []
    details = statement.get("recordDetails") or {}
    kind = statement.get("recordType")
    if kind == "entity":
        name = str(details.get("name") or "").strip()
        if not name and (details.get("entityType") or {}).get("type") not in ("anonymousEntity", "unknownEntity"):
            found.append(("empty_name", "the entity has no name"))
        names = [name]
    elif kind == "person":
        names = _names(details)
        if not names and details.get("personType") == "knownPerson":
            found.append(("empty_name", "the known person has no name"))
    else:
        names = []
        subject, party = details.get("subject"), details.get("interestedParty")
        if isinstance(subject, str) and subject == party:
            found.append(("self_ownership", f"record {subject} is recorded as holding an interest in itself"))
        for number, interest in enumerate(details.get("interests", []) or [], start=1):
            share = interest.get("share") if isinstance(interest, dict) else None
            if not isinstance(share, dict):
                continue
            low = share.get("minimum", share.get("exclusiveMinimum"))
            high = share.get("maximum", share.get("exclusiveMaximum"))
            if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
                found.append(("share_range_inverted", f"interest {number}: minimum {low} is above maximum {high}"))
    for name in names:
        scripts = bods.name_scripts(name)
        if len(scripts) > 1:
            found.append(("mixed_scripts", f"the name mixes scripts ({', '.join(scripts)})"))
    return found


# The fast check compiles the bundled schema with fastjsonschema in four forms (any statement, and one for
# each ``recordType``, the ``allOf`` of ``if recordType is …`` replaced by the one branch that applies, so
# that no failing ``if`` builds an exception), each strict and "relaxed": in the relaxed form a codelist
# ``enum`` that only yields a warning becomes ``"type": "string"``. Under ``if``, ``not``, ``anyOf`` and
# ``oneOf`` a code decides a verdict, so there the schema (and what it refers to) stays strict. A statement
# the strict form accepts has no problem; one only the relaxed form accepts has only codelist warnings,
# found by ``_codelist_warnings`` in the full validator's order and words; any other goes to
# ``bods.statement_check``. A ``oneOf`` of branches of different types becomes an ``anyOf`` (the same
# verdict, without an exception for each branch that does not match), and a ``$ref`` with keywords beside
# it an ``allOf`` (fastjsonschema, as draft 7, would ignore them: an entity's address typed "placeOfBirth").
_SCHEMA_MAPS = frozenset({"properties", "$defs", "patternProperties", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_ONE = frozenset(
    {"items", "additionalProperties", "if", "then", "else", "not", "contains", "propertyNames", "unevaluatedItems"}
)
_DECIDING = frozenset({"if", "not", "anyOf", "oneOf"})
_ANNOTATIONS = frozenset({"title", "description", "$comment", "codelist", "openCodelist", "propertyOrder", "examples"})
_RELAXED = "-codes-apart"


def _absolute_refs(node: Any, base: str) -> Any:
    """A schema document with its ``#/…`` references made absolute (``urn:entity#/…``)."""
    if isinstance(node, dict):
        out = {key: _absolute_refs(value, base) for key, value in node.items() if key != "$schema"}
        if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#"):
            out["$ref"] = base + out["$ref"]
        return out
    if isinstance(node, list):
        return [_absolute_refs(value, base) for value in node]
    return node


def _types_apart(schemas: list[Any]) -> bool:
    """Whether no value can pass two of ``schemas``: each requires one JSON type, none the same (nor
    integer and number)."""
    types = []
    for schema in schemas:
        while isinstance(schema, dict) and set(schema) - _ANNOTATIONS == {"$ref"}:
            schema = _resolve(schema["$ref"])
        kind = schema.get("type") if isinstance(schema, dict) else None
        if not isinstance(kind, str):
            return False
        types.append("number" if kind == "integer" else kind)
    return len(set(types)) == len(types)


def _compilable(node: Any, *, relaxed: bool) -> Any:
    """A node of an ``_absolute_refs`` document for fastjsonschema: a ``$ref`` with keywords beside it
    becomes an ``allOf`` (fastjsonschema, as draft 7, would ignore them), and when ``relaxed`` a codelist
    ``enum`` outside ``_DECIDING`` becomes ``"type": "string"`` and references go to the relaxed documents."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _compilable(sub, relaxed=relaxed) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            if key == "oneOf" and _types_apart(value):
                key = "anyOf"  # at most one can pass: the first that does ends the test, no exception for the rest
            out[key] = [_compilable(sub, relaxed=relaxed and key not in _DECIDING) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = _compilable(value, relaxed=relaxed and key not in _DECIDING)
        elif key == "$ref" and isinstance(value, str) and relaxed:
            document, hash_sign, pointer = value.partition("#")
            out[key] = document + _RELAXED + hash_sign + pointer
        elif key == "$id" and isinstance(value, str) and relaxed:
            out[key] = value + _RELAXED
        elif key == "enum" and relaxed and isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault("type", "string")
        else:
            out[key] = value
    if "$ref" in out and set(out) - _ANNOTATIONS - {"$ref"}:
        reference = out.pop("$ref")
        return {"allOf": [{"$ref": reference}, out]}
    return out


def _record_type_branch(definition: dict[str, Any], record_type: str | None) -> dict[str, Any]:
    """The statement definition for statements whose ``recordType`` is ``record_type``: of the
    ``if recordType is X then …`` parts of its ``allOf``, only the ``then`` of X is kept."""
    if record_type is None:
        return definition
    kept = []
    for part in definition.get("allOf", []):
        condition = part.get("if") if isinstance(part, dict) and set(part) == {"if", "then"} else None
        field = (
            condition.get("properties") if isinstance(condition, dict) and set(condition) == {"properties"} else None
        )
        test = field.get("recordType") if isinstance(field, dict) and set(field) == {"recordType"} else None
        if isinstance(test, dict) and set(test) == {"const"}:
            if test["const"] == record_type:
                kept.append(part["then"])
        else:
            kept.append(part)
    return {**definition, "allOf": kept}


@functools.cache
def _published_documents() -> dict[str, Any]:
    """The bundled schema documents by URI, references made absolute."""
    return {uri: _absolute_refs(document, uri) for uri, document in bods.schemas().items()}


@functools.cache
def _compiled_documents() -> dict[str, Any]:
    """The documents for fastjsonschema by URI: strict (``urn:entity``) and relaxed (``urn:entity-codes-apart``)."""
    published = _published_documents()
    documents = {uri: _compilable(document, relaxed=False) for uri, document in published.items()}
    documents.update({uri + _RELAXED: _compilable(document, relaxed=True) for uri, document in published.items()})
    return documents


@functools.cache
def _compiled_validator(record_type: str | None = None, *, relaxed: bool = False) -> Callable[[Any], Any]:
    """The bundled BODS 0.4 statement schema compiled once to Python (fastjsonschema, formats off as in
    ``jsonschema``) for statements of ``record_type`` (None: any), strict or relaxed. It only says yes or no."""
    documents = _compiled_documents()
    statement = documents["urn:statement" + (_RELAXED if relaxed else "")]["$defs"]["Statement"]
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", **_record_type_branch(statement, record_type)}
    return fastjsonschema.compile(schema, handlers={"urn": documents.__getitem__}, use_formats=False)


def _resolve(reference: str) -> Any:
    document, _, pointer = reference.partition("#")
    node: Any = _published_documents()[document]
    for part in pointer.split("/")[1:]:
        node = node[part]
    return node


def _codelist_warnings(schema: Any, instance: Any, path: tuple[Any, ...], found: list[tuple[str, str]]) -> None:
    """The ``unknown_code`` warnings ``bods.statement_check`` gives for a statement whose only problems are
    codelist values, walking the published schema in the order (and with the words) of ``jsonschema``."""
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key == "$ref":
            _codelist_warnings(_resolve(value), instance, path, found)
        elif key == "properties" and isinstance(instance, dict):
            for name, sub in value.items():
                if name in instance:
                    _codelist_warnings(sub, instance[name], (*path, name), found)
        elif key == "items" and isinstance(instance, list):
            for index, item in enumerate(instance):
                _codelist_warnings(value, item, (*path, index), found)
        elif key == "allOf":
            for sub in value:
                _codelist_warnings(sub, instance, path, found)
        elif key == "if":
            branch = "then" if bods.statement_validator().evolve(schema=value).is_valid(instance) else "else"
            if branch in schema:
                _codelist_warnings(schema[branch], instance, path, found)
        elif key == "enum" and isinstance(instance, str) and instance not in value:
            found.append(("unknown_code", f"{bods._where(path)}: {instance!r} is not in the codelist"))


def statement_check_fast(statement: Any) -> bods.StatementCheck:
    """``bods.statement_check`` with the same result, many times faster for statements without problems
    other than codelist values."""
    if not isinstance(statement, dict):
        return bods.statement_check(statement)
    kind = statement.get("recordType")
    record_type = kind if type(kind) is str and kind in bods.RECORD_TYPES else None
    try:
        _compiled_validator(record_type)(statement)
    except Exception:  # noqa: BLE001, S110 - a refusal: is it only codelist values?
        pass
    else:
        return bods.StatementCheck()
    try:
        _compiled_validator(record_type, relaxed=True)(statement)
    except Exception:  # noqa: BLE001 - any refusal (or surprise) goes to the full validator
        return bods.statement_check(statement)
    check = bods.StatementCheck()
    _codelist_warnings(_resolve("urn:statement#/$defs/Statement"), statement, (), check.warnings)
    return check if check.warnings else bods.statement_check(statement)


class _Upgrader:
    """``bods.statements_upgrade`` one statement at a time; a statement it cannot upgrade (a field of the
    wrong type) raises for that statement only, and the upgrader goes on with what it knew."""

    def __init__(self) -> None:
        self.known: list[dict[str, Any]] = []  # what the upgrader must remember: old ids and their replacements
        self._start()

    def _start(self) -> None:
        self.queue: list[Any] = []
        self.upgraded = bods.statements_upgrade(self._feed())
        for stub in self.known:
            self.queue.append(stub)
            next(self.upgraded)

    def _feed(self) -> Iterator[Any]:
        while self.queue:
            yield self.queue.pop()

    def upgrade(self, value: Any) -> tuple[Any, str]:
        self.queue.append(value)
        try:
            statement, version = next(self.upgraded)
        except Exception:
            self._start()
            raise
        if isinstance(value, dict) and version != bods.BODS_VERSION and value.get("statementID"):
            replaced = value.get("replacesStatements")
            self.known.append(
                {
                    "statementID": value["statementID"],
                    "replacesStatements": [str(r) for r in replaced] if isinstance(replaced, list) else [],
                }
            )
        return statement, version


@dataclass
class IngestResult:
    batch: IngestBatch
    errors: int
    warnings: int

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def _prepared(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> tuple[Any, list[str], list[list[Any]]]:
    """The connection, the quoted column names and the parameter rows (JSON fields adapted as Django adapts
    them) for ``_insert_rows`` and ``_update_rows``."""
    connection = connections[router.db_for_write(model)]
    by_name: dict[str, models.Field[Any, Any]] = {}
    for field in model._meta.concrete_fields:
        by_name[field.name] = by_name[field.attname] = field
    fields = [by_name[name] for name in columns]
    json_fields = [(i, f.encoder) for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    params = []
    for row in rows:
        values = list(row)
        for index, encoder in json_fields:
            values[index] = connection.ops.adapt_json_value(values[index], encoder)
        params.append(values)
    return connection, [connection.ops.quote_name(str(f.column)) for f in fields], params


def _insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``INSERT`` of many rows in one ``executemany``: what ``bulk_create`` stores, without a model
    instance per row and without compiling every value of every row into SQL (which took most of the
    ingest's time). ``columns`` are field names (``*_id`` for foreign keys); the values are already of
    the column's Python type."""
    connection, quoted, params = _prepared(model, columns, rows)
    if not params:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(quoted)}) VALUES ({', '.join(['%s'] * len(quoted))})"  # noqa: S608 - names from the model, values are parameters
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _update_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``UPDATE … WHERE pk = %s`` of many rows in one ``executemany``; each row is its ``columns``'
    values followed by its primary key (``bulk_update`` builds one ``CASE`` per column instead)."""
    connection, quoted, params = _prepared(model, columns, rows)
    if not params:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    key = connection.ops.quote_name(str(model._meta.pk.column))
    sql = f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in quoted)} WHERE {key} = %s"  # noqa: S608 - as above
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


SELECT_CHUNK = 900
"""Values per ``IN (…)`` of ``_select_in`` (SQLite allows 999 parameters a query)."""


def _select_in(
    model: type[models.Model], columns: Sequence[str], key: str, values: Iterable[Any], *, dataset: str
) -> Iterator[tuple[Any, ...]]:
    """``SELECT columns FROM model WHERE dataset = %s AND key IN (…)`` a chunk of ``values`` at a time,
    JSON columns decoded: the lookups of the projection without the ORM's per-value preparation of
    ``__in`` lists (which took a third of the projection's time)."""
    connection, quoted, _ = _prepared(model, [*columns, key, "dataset"], [])
    json_indexes = [i for i, name in enumerate(columns) if isinstance(model._meta.get_field(name), models.JSONField)]
    table = connection.ops.quote_name(model._meta.db_table)
    ordered = sorted(set(values))
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), SELECT_CHUNK):
            chunk = ordered[start : start + SELECT_CHUNK]
            sql = (
                f"SELECT {', '.join(quoted[:-2])} FROM {table} "  # noqa: S608 - names from the model, values are parameters
                f"WHERE {quoted[-1]} = %s AND {quoted[-2]} IN ({', '.join(['%s'] * len(chunk))})"
            )
            cursor.execute(sql, [dataset, *chunk])
            for row in cursor.fetchall():
                if json_indexes:
                    values_ = list(row)
                    for index in json_indexes:
                        if isinstance(values_[index], str | bytes):
                            values_[index] = json.loads(values_[index])
                    row = tuple(values_)
                yield tuple(row)


STATEMENT_COLUMNS = (
    "dataset",
    "statement_id",
    "content_hash",
    "record_id",
    "record_type",
    "record_status",
    "statement_date",
    "source_version",
    "sequence",
    "payload",
    "batch_id",
)
ISSUE_COLUMNS = ("batch_id", "dataset", "position", "statement_id", "record_id", "severity", "code", "message")


def ownership_ingest(
    *,
    path: Path,
    dataset: str = "default",
    actor: User | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingests one BODS file into ``dataset``; see the module docstring. The batch and the audit log
    name ``actor`` as who started it, or (``None``) the current ``audit_actor``.

    Statements and issues are written with one ``executemany`` per thousand rows (``_insert_rows``);
    a batch the database refuses is stored again statement by statement, and the refused ones are
    reported."""
    started_by = actor_name(actor)
    batch = IngestBatch.objects.create(dataset=dataset, source=str(path)[:500], started_by=started_by)
    issues: list[tuple[Any, ...]] = []  # rows of ISSUE_COLUMNS
    warnings = 0
    touched: set[str] = set()
    next_sequence = (Statement.objects.filter(dataset=dataset).aggregate(m=Max("sequence"))["m"] or 0) + 1
    existing = dict(Statement.objects.filter(dataset=dataset).values_list("statement_id", "content_hash"))
    pending: list[tuple[Any, ...]] = []  # rows of STATEMENT_COLUMNS
    pending_raws: list[RawStatement] = []
    seen_in_file: set[str] = set()

    def issue(raw: RawStatement, severity: str, code: str, message: str, statement: Any = None) -> None:
        nonlocal warnings
        statement = statement if isinstance(statement, dict) else {}
        issues.append(
            (
                batch.pk,
                dataset,
                raw.position,
                str(statement.get("statementId", ""))[:200],
                str(statement.get("recordId", ""))[:200],
                severity,
                code,
                message[:2000],
            )
        )
        if severity == IngestIssue.Severity.WARNING:
            warnings += 1

    def flush() -> None:
        if not pending:
            return
        try:
            with transaction.atomic():
                _insert_rows(Statement, STATEMENT_COLUMNS, pending)
        except DatabaseError:
            _store_one_by_one()
        if progress is not None:
            progress(len(pending))
        pending.clear()
        pending_raws.clear()

    def _store_one_by_one() -> None:
        """A batch the database refused: each statement in its own savepoint, the refused ones reported."""
        for row, raw in zip(pending, pending_raws, strict=True):
            try:
                with transaction.atomic():
                    _insert_rows(Statement, STATEMENT_COLUMNS, [row])
            except DatabaseError:
                issue(
                    raw,
                    IngestIssue.Severity.ERROR,
                    "not_stored",
                    "the database could not store the statement",
                    row[STATEMENT_COLUMNS.index("payload")],
                )
                batch.statements_stored -= 1
                batch.statements_rejected += 1
                existing.pop(row[STATEMENT_COLUMNS.index("statement_id")], None)

    def reject(raw: RawStatement, code: str, message: str, statement: Any = None) -> None:
        issue(raw, IngestIssue.Severity.ERROR, code, message, statement)
        batch.statements_rejected += 1

    upgrader = _Upgrader()
    with transaction.atomic():
        for raw in read_statements(path=path):
            batch.statements_read += 1
            if raw.error:
                reject(raw, "invalid_json", raw.error)
                continue
            try:
                statement, version = upgrader.upgrade(raw.value)
            except Exception as exc:  # noqa: BLE001 - a field of the wrong type in an old statement
                reject(
                    raw,
                    "upgrade_failed",
                    f"the statement could not be upgraded to BODS 0.4: a field has the wrong type ({exc})",
                    raw.value,
                )
                continue
            check = statement_check_fast(statement)
            if not check.ok:
                reject(raw, "schema", "; ".join(check.errors), statement)
                continue
            if statement["recordType"] not in bods.RECORD_TYPES:
                reject(
                    raw,
                    "schema",
                    f"recordType: {str(statement['recordType'])[:60]!r} is not one of {', '.join(bods.RECORD_TYPES)}",
                    statement,
                )
                continue
            if len(str(statement["recordId"])) > 200:
                reject(raw, "schema", "recordId: the record id is longer than 200 characters", statement)
                continue
            for code, warning in check.warnings:
                issue(raw, IngestIssue.Severity.WARNING, code, warning, statement)
            for code, message in _quality_warnings(statement):
                issue(raw, IngestIssue.Severity.WARNING, code, message, statement)
            statement_id = str(statement["statementId"])
            digest = content_hash(statement=statement)
            if statement_id in seen_in_file or statement_id in existing:
                known = existing.get(statement_id)
                if known is not None and known != digest:
                    reject(
                        raw,
                        "statement_changed",
                        "a stored statement with this id has different content; statements are immutable, "
                        "an update needs a new statement id",
                        statement,
                    )
                else:
                    batch.statements_unchanged += 1
                continue
            seen_in_file.add(statement_id)
            existing[statement_id] = digest
            record_id = str(statement["recordId"])
            pending_raws.append(raw)
            pending.append(
                (
                    dataset,
                    statement_id,
                    digest,
                    record_id,
                    str(statement["recordType"]),
                    str(statement.get("recordStatus", ""))[:16],
                    str(statement.get("statementDate", ""))[:40],
                    version[:8],
                    next_sequence,
                    statement,
                    batch.pk,
                )
            )
            next_sequence += 1
            touched.add(record_id)
            batch.statements_stored += 1
            if len(pending) >= BATCH_SIZE:
                flush()
        flush()
        records_project(dataset=dataset, record_ids=touched)
        for row in _touched_relationships(dataset=dataset, record_ids=touched):
            record_id, statement_id, subject_ref, subject_id, party_ref, party_id, subject_kind = row
            for side, ref, party in (
                ("subject", subject_ref, subject_id),
                ("interested party", party_ref, party_id),
            ):
                if ref and party is None:
                    issues.append(
                        (
                            batch.pk,
                            dataset,
                            0,
                            statement_id,
                            record_id,
                            IngestIssue.Severity.WARNING,
                            "dangling_reference",
                            f"the {side} {ref} is not a known entity or person record",
                        )
                    )
                    warnings += 1
            if subject_kind == Party.Kind.PERSON:
                issues.append(
                    (
                        batch.pk,
                        dataset,
                        0,
                        statement_id,
                        record_id,
                        IngestIssue.Severity.WARNING,
                        "person_as_subject",
                        "the subject of a relationship must be an entity, not a person",
                    )
                )
                warnings += 1
        for start in range(0, len(issues), BATCH_SIZE):
            _insert_rows(IngestIssue, ISSUE_COLUMNS, issues[start : start + BATCH_SIZE])
        batch.warnings = warnings
        batch.save()
    audit_record(
        action=AuditEntry.Action.OTHER,
        actor=started_by,
        object_type="ownership.ingestbatch",
        object_id=str(batch.pk),
        object_label=f"BODS ingest {dataset}",
        details={
            "source": Path(batch.source).name,
            "read": batch.statements_read,
            "stored": batch.statements_stored,
            "unchanged": batch.statements_unchanged,
            "rejected": batch.statements_rejected,
            "warnings": batch.warnings,
        },
    )
    return IngestResult(batch=batch, errors=batch.statements_rejected, warnings=batch.warnings)


# --- records ------------------------------------------------------------------------------


def _party_fields(record_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    details = payload.get("recordDetails") or {}
    if record_type == Statement.RecordType.ENTITY:
        entity_type = details.get("entityType") or {}
        subtype = str(entity_type.get("type", ""))
        if entity_type.get("subtype"):
            subtype += f"/{entity_type['subtype']}"
        jurisdiction = details.get("jurisdiction") or {}
        return {
            "kind": Party.Kind.ENTITY,
            "subtype": subtype[:64],
            "name": str(details.get("name") or "")[:500],
            "other_names": [str(n) for n in details.get("alternateNames", []) or []],
            "identifiers": [i for i in details.get("identifiers", []) or [] if isinstance(i, dict)],
            "jurisdiction": str(jurisdiction.get("code", ""))[:8] if isinstance(jurisdiction, dict) else "",
            "birth_date": "",
            "is_pep": False,
        }
    names = _names(details)
    nationalities = details.get("nationalities") or []
    exposure = details.get("politicalExposure") or {}
    return {
        "kind": Party.Kind.PERSON,
        "subtype": str(details.get("personType", ""))[:64],
        "name": (names[0] if names else "")[:500],
        "other_names": names[1:],
        "identifiers": [i for i in details.get("identifiers", []) or [] if isinstance(i, dict)],
        "jurisdiction": str(nationalities[0].get("code", ""))[:8]
        if nationalities and isinstance(nationalities[0], dict)
        else "",
        "birth_date": str(details.get("birthDate", ""))[:10],
        "is_pep": isinstance(exposure, dict) and exposure.get("status") == "isPep",
    }


SHARE_DEFAULTS: dict[str, Any] = {
    "share_exact": None,
    "share_minimum": None,
    "share_maximum": None,
    "minimum_exclusive": False,
    "maximum_exclusive": False,
}


def _share_fields(share: Any) -> dict[str, Any]:
    if not isinstance(share, dict):
        return {}
    fields: dict[str, Any] = {}
    if isinstance(share.get("exact"), int | float):
        fields["share_exact"] = float(share["exact"])
    for key, exclusive, target in (
        ("minimum", "exclusiveMinimum", "share_minimum"),
        ("maximum", "exclusiveMaximum", "share_maximum"),
    ):
        if isinstance(share.get(key), int | float):
            fields[target] = float(share[key])
        elif isinstance(share.get(exclusive), int | float):
            fields[target] = float(share[exclusive])
            fields["minimum_exclusive" if target == "share_minimum" else "maximum_exclusive"] = True
    return fields


@dataclass
class _Latest:
    """The latest statement of a record, as ``records_project`` needs it."""

    key: tuple[str, int]  # (statement date to the second, order received): the greatest wins
    pk: int
    record_type: str
    closed: bool
    payload: dict[str, Any]


def _latest_statements(*, dataset: str, record_ids: Iterable[str]) -> dict[str, _Latest]:
    """The latest statement of each record (greatest statement date to the second, then order received),
    read without payloads; then the payloads of those statements only."""
    latest: dict[str, _Latest] = {}
    rows = _select_in(
        Statement,
        ("id", "record_id", "record_type", "record_status", "statement_date", "sequence"),
        "record_id",
        record_ids,
        dataset=dataset,
    )
    for pk, record_id, record_type, record_status, statement_date, sequence in sorted(rows, key=lambda r: r[5]):
        key = (statement_date[:19], sequence)
        known = latest.get(record_id)
        if known is None or key > known.key:
            latest[record_id] = _Latest(key, pk, record_type, record_status == "closed", {})
    by_pk = {found.pk: found for found in latest.values()}
    for pk, payload in _select_in(Statement, ("id", "payload"), "id", by_pk, dataset=dataset):
        by_pk[pk].payload = payload if isinstance(payload, dict) else {}
    return latest


class LinkableParty(Protocol):
    """What ``parties_link`` reads and sets of a party: a ``Party`` or a ``_PartyRow``."""

    pk: Any
    kind: str
    name: str
    other_names: list[str]
    identifiers: list[dict[str, Any]]
    birth_date: str
    organisation_id: int | None
    person_id: int | None


@dataclass(slots=True)
class _PartyRow:
    """A party as the projection writes it, without the cost of a model instance per party."""

    record_id: str
    statement_id: int
    closed: bool
    kind: str
    subtype: str
    name: str
    other_names: list[str]
    identifiers: list[dict[str, Any]]
    jurisdiction: str
    birth_date: str
    is_pep: bool
    pk: Any = None
    organisation_id: int | None = None
    person_id: int | None = None


PARTY_FIELDS = ("kind", "subtype", "name", "other_names", "identifiers", "jurisdiction", "birth_date", "is_pep")
RELATIONSHIP_FIELDS = (
    "subject_ref",
    "interested_party_ref",
    "subject_id",
    "interested_party_id",
    "unspecified_reason",
    "is_component",
    "component_records",
    "closed",
    "statement_id",
)
INTEREST_FIELDS = (
    "type",
    "direct_or_indirect",
    "beneficial_ownership_or_control",
    "start_date",
    "end_date",
    "details",
    *SHARE_DEFAULTS,
)


def _record_pks(model: type[Party] | type[Relationship], *, dataset: str, record_ids: Iterable[str]) -> dict[str, int]:
    return dict(_select_in(model, ("record_id", "id"), "record_id", record_ids, dataset=dataset))


def records_project(*, dataset: str, record_ids: set[str]) -> None:
    """Makes the latest statement of each record its current state (parties, relationships, interests).

    Set-based: the latest statements are chosen from their dates and order alone, then only their
    payloads are read; new rows are inserted and changed rows updated with one ``executemany`` per
    thousand (``_insert_rows``, ``_update_rows``), and relationships that were waiting for a party are
    resolved by one ``UPDATE`` per side."""
    if not record_ids:
        return
    latest = _latest_statements(dataset=dataset, record_ids=record_ids)

    party_statements = {r: s for r, s in latest.items() if s.record_type != Statement.RecordType.RELATIONSHIP}
    existing_parties = {
        record_id: (pk, organisation_id, person_id)
        for record_id, pk, organisation_id, person_id in _select_in(
            Party, ("record_id", "id", "organisation_id", "person_id"), "record_id", party_statements, dataset=dataset
        )
    }
    new_parties: list[_PartyRow] = []
    changed_parties: list[_PartyRow] = []
    for record_id, statement in party_statements.items():
        fields = _party_fields(statement.record_type, statement.payload)
        row = _PartyRow(record_id=record_id, statement_id=statement.pk, closed=statement.closed, **fields)
        known = existing_parties.get(record_id)
        if known is None:
            new_parties.append(row)
        else:
            row.pk, row.organisation_id, row.person_id = known
            changed_parties.append(row)
    columns = (*PARTY_FIELDS, "closed", "statement_id")
    for start in range(0, len(new_parties), BATCH_SIZE):
        _insert_rows(
            Party,
            ("dataset", "record_id", *columns),
            [
                (dataset, p.record_id, *(getattr(p, name) for name in columns))
                for p in new_parties[start : start + BATCH_SIZE]
            ],
        )
    new_pks = _record_pks(Party, dataset=dataset, record_ids=(p.record_id for p in new_parties))
    for new_party in new_parties:
        new_party.pk = new_pks[new_party.record_id]
    for start in range(0, len(changed_parties), BATCH_SIZE):
        _update_rows(
            Party,
            columns,
            [(*(getattr(p, name) for name in columns), p.pk) for p in changed_parties[start : start + BATCH_SIZE]],
        )
    parties_link(parties=new_parties + changed_parties)

    relationship_statements = {r: s for r, s in latest.items() if s.record_type == Statement.RecordType.RELATIONSHIP}
    refs: set[str] = set()
    for statement in relationship_statements.values():
        details = statement.payload.get("recordDetails") or {}
        for key in ("subject", "interestedParty"):
            if isinstance(details.get(key), str):
                refs.add(details[key])
    party_ids = _record_pks(Party, dataset=dataset, record_ids=refs)
    existing = _record_pks(Relationship, dataset=dataset, record_ids=relationship_statements)
    interests: list[tuple[str, tuple[Any, ...]]] = []  # (relationship record, INTEREST_FIELDS values)
    new_relationships: list[tuple[Any, ...]] = []
    changed_relationships: list[tuple[Any, ...]] = []
    for record_id, statement in relationship_statements.items():
        details = statement.payload.get("recordDetails") or {}
        subject, party = details.get("subject"), details.get("interestedParty")
        values = (
            subject if isinstance(subject, str) else "",
            party if isinstance(party, str) else "",
            party_ids.get(subject) if isinstance(subject, str) else None,
            party_ids.get(party) if isinstance(party, str) else None,
            str((party if isinstance(party, dict) else subject if isinstance(subject, dict) else {}).get("reason", ""))[
                :64
            ],
            bool(details.get("isComponent", False)),
            [str(c) for c in details.get("componentRecords", []) or []],
            statement.closed,
            statement.pk,
        )
        known_pk = existing.get(record_id)
        if known_pk is None:
            new_relationships.append((dataset, record_id, *values))
        else:
            changed_relationships.append((*values, known_pk))
        for interest in details.get("interests", []) or []:
            if not isinstance(interest, dict):
                continue
            beneficial = interest.get("beneficialOwnershipOrControl")
            share = SHARE_DEFAULTS | _share_fields(interest.get("share"))
            interests.append(
                (
                    record_id,
                    (
                        str(interest.get("type", ""))[:64],
                        str(interest.get("directOrIndirect", ""))[:16],
                        beneficial if isinstance(beneficial, bool) else None,
                        str(interest.get("startDate", ""))[:10],
                        str(interest.get("endDate", ""))[:10],
                        str(interest.get("details", ""))[:2000],
                        *share.values(),
                    ),
                )
            )
    for start in range(0, len(new_relationships), BATCH_SIZE):
        _insert_rows(
            Relationship, ("dataset", "record_id", *RELATIONSHIP_FIELDS), new_relationships[start : start + BATCH_SIZE]
        )
    for start in range(0, len(changed_relationships), BATCH_SIZE):
        changed = changed_relationships[start : start + BATCH_SIZE]
        _update_rows(Relationship, RELATIONSHIP_FIELDS, changed)
        Interest.objects.filter(relationship_id__in=[row[-1] for row in changed]).delete()
    relationship_pks = existing | _record_pks(
        Relationship, dataset=dataset, record_ids=(row[1] for row in new_relationships)
    )
    for start in range(0, len(interests), BATCH_SIZE):
        _insert_rows(
            Interest,
            ("relationship_id", *INTEREST_FIELDS),
            [(relationship_pks[record_id], *values) for record_id, values in interests[start : start + BATCH_SIZE]],
        )
    # Relationships stored earlier may have pointed at parties that only arrived now: one UPDATE per side.
    for field, ref_field in (("subject", "subject_ref"), ("interested_party", "interested_party_ref")):
        match = Party.objects.filter(dataset=dataset, record_id=OuterRef(ref_field)).order_by()
        Relationship.objects.filter(dataset=dataset, **{f"{field}__isnull": True}).exclude(**{ref_field: ""}).filter(
            Exists(match)
        ).update(**{field: Subquery(match.values("pk")[:1])})


def _touched_relationships(
    *, dataset: str, record_ids: Iterable[str]
) -> Iterator[tuple[str, str, str, int | None, str, int | None, str | None]]:
    """(record, statement id, subject record, subject party, interested party record, its party, the
    subject party's kind) of the relationships among ``record_ids``, by record id."""
    rows: list[tuple[str, str, str, int | None, str, int | None, str | None]] = []
    for chunk in _chunks(record_ids):
        rows.extend(
            Relationship.objects.filter(dataset=dataset, record_id__in=chunk).values_list(
                "record_id",
                "statement__statement_id",
                "subject_ref",
                "subject_id",
                "interested_party_ref",
                "interested_party_id",
                "subject__kind",
            )
        )
    rows.sort(key=lambda row: row[0])
    yield from rows


# --- links to core ------------------------------------------------------------------------

ORGANISATION_SCHEMES = (
    Identifier.Scheme.COMPANY_REGISTER,
    Identifier.Scheme.TAX_ID,
    Identifier.Scheme.VAT,
    Identifier.Scheme.LEI,
)


def scheme_issuer(*, scheme: str) -> str:
    """org-id.guide prefixes start with the country: ``GB-COH`` → ``GB``; ``XI-LEI`` is global."""
    head = scheme.split("-", 1)[0]
    return head.upper() if len(head) == 2 and head.isalpha() and head.upper() != "XI" else ""


LINK_CHUNK = 500
"""Values per ``IN (…)`` query when parties are linked to core records (below every backend's limit)."""


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), LINK_CHUNK):
        yield ordered[start : start + LINK_CHUNK]


def parties_link(*, parties: Sequence[LinkableParty]) -> int:
    """Links parties to core organisations (by identifier) and people (by name and birth month, or an
    identifier), recording why each link was made; an analyst's confirmed or rejected link stays
    (``ownership.linking``, the register's linker of ``core.links``). Returns how many links were made or
    removed. Core people and organisations that arrive later are linked through the linking queue."""
    from probity.ownership.linking import parties_relink

    counts = parties_relink(party_ids=[party.pk for party in parties if party.pk is not None])
    return counts.made + counts.removed


def organisation_party(*, organisation: Organisation) -> Party | None:
    return Party.objects.filter(organisation=organisation).order_by("-pk").first()
