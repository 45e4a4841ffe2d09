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

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from probity.core.audit import actor_name, audit_record
from probity.core.models import AuditEntry, Identifier, Organisation, Person, PersonName
from probity.ownership.models import IngestBatch, IngestIssue, Interest, Party, Relationship, Statement
from probity.standards import bods

Progress = Callable[[int], object]
BATCH_SIZE = 1000


class IngestFileError(Exception):
    """The file as a whole cannot be read (not JSON, not a list of statements)."""


@dataclass
class RawStatement:
    position: int
    value: Any
    error: str = ""


def _iter_json_lines(handle: IO[str]) -> Iterator[RawStatement]:
    for number, line in enumerate(handle, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            yield RawStatement(number, json.loads(text))
        except json.JSONDecodeError as exc:
            yield RawStatement(number, None, f"line {number} is not valid JSON: {exc.msg}")


def read_statements(*, path: Path) -> Iterator[RawStatement]:
    """The statements of a BODS file with their 1-based position (array index or line number)."""
    with path.open(encoding="utf-8-sig") as handle:
        head = handle.read(4096).lstrip()
        handle.seek(0)
        if head.startswith("["):
            try:
                document = json.load(handle)
            except json.JSONDecodeError as exc:
                raise IngestFileError(f"{path.name} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
            for number, value in enumerate(document, start=1):
                yield RawStatement(number, value)
            return
        if head.startswith("{") and "\n" not in head.rstrip("\n").split("}\n")[0] and head.count("\n") > 0:
            # JSON Lines: one statement per line.
            yield from _iter_json_lines(handle)
            return
        try:
            document = json.load(handle)
        except json.JSONDecodeError:
            handle.seek(0)
            yield from _iter_json_lines(handle)
            return
        if isinstance(document, dict) and isinstance(document.get("statements"), list):
            for number, value in enumerate(document["statements"], start=1):
                yield RawStatement(number, value)
        elif isinstance(document, dict):
            yield RawStatement(1, document)
        else:
            raise IngestFileError(f"{path.name} holds neither a list of statements nor a statement")


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


@dataclass
class IngestResult:
    batch: IngestBatch
    errors: int
    warnings: int

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def ownership_ingest(
    *,
    path: Path,
    dataset: str = "default",
    actor: User | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingests one BODS file into ``dataset``; see the module docstring. The batch and the audit log
    name ``actor`` as who started it, or (``None``) the current ``audit_actor``."""
    started_by = actor_name(actor)
    batch = IngestBatch.objects.create(dataset=dataset, source=str(path)[:500], started_by=started_by)
    issues: list[IngestIssue] = []
    touched: set[str] = set()
    next_sequence = (Statement.objects.filter(dataset=dataset).aggregate(m=Max("sequence"))["m"] or 0) + 1
    existing = dict(Statement.objects.filter(dataset=dataset).values_list("statement_id", "content_hash"))
    pending: list[Statement] = []
    seen_in_file: set[str] = set()

    def issue(raw: RawStatement, severity: str, code: str, message: str, statement: Any = None) -> None:
        statement = statement if isinstance(statement, dict) else {}
        issues.append(
            IngestIssue(
                batch=batch,
                dataset=dataset,
                position=raw.position,
                statement_id=str(statement.get("statementId", ""))[:200],
                record_id=str(statement.get("recordId", ""))[:200],
                severity=severity,
                code=code,
                message=message[:2000],
            )
        )

    def flush() -> None:
        if pending:
            Statement.objects.bulk_create(pending, batch_size=BATCH_SIZE)
            if progress is not None:
                progress(len(pending))
            pending.clear()

    positions: list[RawStatement] = []
    upgraded = bods.statements_upgrade(_tee_positions(read_statements(path=path), positions))
    with transaction.atomic():
        for statement, version in upgraded:
            raw = positions.pop(0)
            batch.statements_read += 1
            if raw.error:
                issue(raw, IngestIssue.Severity.ERROR, "invalid_json", raw.error)
                batch.statements_rejected += 1
                continue
            check = bods.statement_check(statement)
            if not check.ok:
                issue(raw, IngestIssue.Severity.ERROR, "schema", "; ".join(check.errors), statement)
                batch.statements_rejected += 1
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
                    issue(
                        raw,
                        IngestIssue.Severity.ERROR,
                        "statement_changed",
                        "a stored statement with this id has different content; statements are immutable, "
                        "an update needs a new statement id",
                        statement,
                    )
                    batch.statements_rejected += 1
                else:
                    batch.statements_unchanged += 1
                continue
            seen_in_file.add(statement_id)
            existing[statement_id] = digest
            pending.append(
                Statement(
                    dataset=dataset,
                    statement_id=statement_id,
                    content_hash=digest,
                    record_id=str(statement["recordId"]),
                    record_type=str(statement["recordType"]),
                    record_status=str(statement.get("recordStatus", "")),
                    statement_date=str(statement.get("statementDate", "")),
                    source_version=version,
                    sequence=next_sequence,
                    payload=statement,
                    batch=batch,
                )
            )
            next_sequence += 1
            touched.add(str(statement["recordId"]))
            batch.statements_stored += 1
            if len(pending) >= BATCH_SIZE:
                flush()
        flush()
        records_project(dataset=dataset, record_ids=touched)
        touched_relationships = Relationship.objects.filter(dataset=dataset, record_id__in=touched).select_related(
            "statement", "subject"
        )
        for relationship in touched_relationships:
            for side, ref, party in (
                ("subject", relationship.subject_ref, relationship.subject_id),
                ("interested party", relationship.interested_party_ref, relationship.interested_party_id),
            ):
                if ref and party is None:
                    issues.append(
                        IngestIssue(
                            batch=batch,
                            dataset=dataset,
                            position=0,
                            statement_id=relationship.statement.statement_id,
                            record_id=relationship.record_id,
                            severity=IngestIssue.Severity.WARNING,
                            code="dangling_reference",
                            message=f"the {side} {ref} is not a known entity or person record",
                        )
                    )
            if relationship.subject is not None and relationship.subject.kind == Party.Kind.PERSON:
                issues.append(
                    IngestIssue(
                        batch=batch,
                        dataset=dataset,
                        position=0,
                        statement_id=relationship.statement.statement_id,
                        record_id=relationship.record_id,
                        severity=IngestIssue.Severity.WARNING,
                        code="person_as_subject",
                        message="the subject of a relationship must be an entity, not a person",
                    )
                )
        IngestIssue.objects.bulk_create(issues, batch_size=BATCH_SIZE)
        batch.warnings = sum(1 for i in issues if i.severity == IngestIssue.Severity.WARNING)
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


def _tee_positions(raws: Iterator[RawStatement], positions: list[RawStatement]) -> Iterator[Any]:
    """Feeds values to the upgrader while remembering each one's position (one in, one out)."""
    for raw in raws:
        positions.append(raw)
        yield raw.value


# --- records ------------------------------------------------------------------------------


def _latest(statements: list[Statement]) -> Statement:
    return max(statements, key=lambda s: (s.statement_date[:19], s.sequence))


def _party_fields(statement: Statement) -> dict[str, Any]:
    details = statement.payload.get("recordDetails") or {}
    if statement.record_type == Statement.RecordType.ENTITY:
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


def records_project(*, dataset: str, record_ids: set[str]) -> None:
    """Makes the latest statement of each record its current state (parties, relationships, interests)."""
    if not record_ids:
        return
    by_record: dict[str, list[Statement]] = defaultdict(list)
    ids = sorted(record_ids)
    for start in range(0, len(ids), BATCH_SIZE):
        for statement in Statement.objects.filter(dataset=dataset, record_id__in=ids[start : start + BATCH_SIZE]):
            by_record[statement.record_id].append(statement)
    latest = {record_id: _latest(found) for record_id, found in by_record.items()}
    parties = {p.record_id: p for p in Party.objects.filter(dataset=dataset, record_id__in=ids)}
    new_parties, changed_parties = [], []
    for record_id, statement in latest.items():
        if statement.record_type == Statement.RecordType.RELATIONSHIP:
            continue
        fields = _party_fields(statement)
        closed = statement.record_status == "closed"
        party = parties.get(record_id)
        if party is None:
            new_parties.append(
                Party(dataset=dataset, record_id=record_id, statement=statement, closed=closed, **fields)
            )
        else:
            for name, value in fields.items():
                setattr(party, name, value)
            party.statement, party.closed = statement, closed
            changed_parties.append(party)
    Party.objects.bulk_create(new_parties, batch_size=BATCH_SIZE)
    Party.objects.bulk_update(
        changed_parties,
        [
            "kind",
            "subtype",
            "name",
            "other_names",
            "identifiers",
            "jurisdiction",
            "birth_date",
            "is_pep",
            "closed",
            "statement",
        ],
        batch_size=BATCH_SIZE,
    )
    parties_link(parties=new_parties + changed_parties)

    relationship_statements = {r: s for r, s in latest.items() if s.record_type == Statement.RecordType.RELATIONSHIP}
    refs: set[str] = set()
    for statement in relationship_statements.values():
        details = statement.payload.get("recordDetails") or {}
        for key in ("subject", "interestedParty"):
            if isinstance(details.get(key), str):
                refs.add(details[key])
    party_ids = dict(Party.objects.filter(dataset=dataset, record_id__in=refs).values_list("record_id", "id"))
    existing = {
        r.record_id: r
        for r in Relationship.objects.filter(dataset=dataset, record_id__in=list(relationship_statements))
    }
    interests: list[tuple[Relationship, Interest]] = []
    new_relationships: list[Relationship] = []
    changed_relationships: list[Relationship] = []
    for record_id, statement in relationship_statements.items():
        details = statement.payload.get("recordDetails") or {}
        subject, party = details.get("subject"), details.get("interestedParty")
        fields = {
            "subject_ref": subject if isinstance(subject, str) else "",
            "interested_party_ref": party if isinstance(party, str) else "",
            "subject_id": party_ids.get(subject) if isinstance(subject, str) else None,
            "interested_party_id": party_ids.get(party) if isinstance(party, str) else None,
            "unspecified_reason": str(
                (party if isinstance(party, dict) else subject if isinstance(subject, dict) else {}).get("reason", "")
            )[:64],
            "is_component": bool(details.get("isComponent", False)),
            "component_records": [str(c) for c in details.get("componentRecords", []) or []],
            "closed": statement.record_status == "closed",
            "statement": statement,
        }
        relationship = existing.get(record_id)
        if relationship is None:
            relationship = Relationship(dataset=dataset, record_id=record_id, **fields)
            new_relationships.append(relationship)
        else:
            for name, value in fields.items():
                setattr(relationship, name, value)
            changed_relationships.append(relationship)
        for interest in details.get("interests", []) or []:
            if not isinstance(interest, dict):
                continue
            beneficial = interest.get("beneficialOwnershipOrControl")
            interests.append(
                (
                    relationship,
                    Interest(
                        type=str(interest.get("type", ""))[:64],
                        direct_or_indirect=str(interest.get("directOrIndirect", ""))[:16],
                        beneficial_ownership_or_control=beneficial if isinstance(beneficial, bool) else None,
                        start_date=str(interest.get("startDate", ""))[:10],
                        end_date=str(interest.get("endDate", ""))[:10],
                        details=str(interest.get("details", ""))[:2000],
                        **_share_fields(interest.get("share")),
                    ),
                )
            )
    # In batches, not one query per relationship; the new rows get their keys back (PostgreSQL, SQLite).
    Relationship.objects.bulk_create(new_relationships, batch_size=BATCH_SIZE)
    if changed_relationships:
        Relationship.objects.bulk_update(
            changed_relationships,
            [
                "subject_ref",
                "interested_party_ref",
                "subject_id",
                "interested_party_id",
                "unspecified_reason",
                "is_component",
                "component_records",
                "closed",
                "statement",
            ],
            batch_size=BATCH_SIZE,
        )
        for start in range(0, len(changed_relationships), BATCH_SIZE):
            Interest.objects.filter(relationship__in=changed_relationships[start : start + BATCH_SIZE]).delete()
    for relationship, interest in interests:
        interest.relationship = relationship
    Interest.objects.bulk_create([interest for _, interest in interests], batch_size=BATCH_SIZE)
    # Relationships stored earlier may have pointed at parties that only arrived now.
    for field, ref_field in (("subject", "subject_ref"), ("interested_party", "interested_party_ref")):
        waiting = list(
            Relationship.objects.filter(dataset=dataset, **{f"{field}__isnull": True})
            .exclude(**{ref_field: ""})
            .only("pk", ref_field)
        )
        if not waiting:
            continue
        found: dict[str, int] = {}
        for chunk in _chunks(getattr(r, ref_field) for r in waiting):
            found.update(Party.objects.filter(dataset=dataset, record_id__in=chunk).values_list("record_id", "id"))
        resolved = []
        for relationship in waiting:
            party_id = found.get(getattr(relationship, ref_field))
            if party_id:
                setattr(relationship, f"{field}_id", party_id)
                resolved.append(relationship)
        Relationship.objects.bulk_update(resolved, [field], batch_size=BATCH_SIZE)


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


def parties_link(*, parties: list[Party]) -> int:
    """Links parties to core organisations (by identifier) and people (by name and birth month).

    An entity party is linked when its identifiers, in any of ``ORGANISATION_SCHEMES``, name exactly one
    organisation; a person party when exactly one person has one of its names (as their name or an
    alternative name) and its birth year and month. The candidates of all ``parties`` are read in a few
    batched queries (one per ``LINK_CHUNK`` identifiers or names), not one query per party: per-party
    queries that filtered on the birth year and month scanned the whole people table each time, which
    made the ingest grow with parties × people.
    """
    entity_hashes: dict[int, set[str]] = {}
    person_keys: dict[int, set[tuple[str, int, int]]] = {}
    for index, party in enumerate(parties):
        if party.kind == Party.Kind.ENTITY:
            hashes = set()
            for identifier in party.identifiers:
                value, scheme = str(identifier.get("id", "")), str(identifier.get("scheme", ""))
                if not value:
                    continue
                for core_scheme in ORGANISATION_SCHEMES:
                    hashes.add(Identifier.hash_value(core_scheme, scheme_issuer(scheme=scheme), value))
            if hashes:
                entity_hashes[index] = hashes
        elif party.name and len(party.birth_date) >= 7:
            try:
                year, month = int(party.birth_date[:4]), int(party.birth_date[5:7])
            except ValueError:
                continue
            person_keys[index] = {(name, year, month) for name in [party.name, *party.other_names] if name}

    organisations_by_hash: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(h for hashes in entity_hashes.values() for h in hashes):
        found = Identifier.objects.filter(organisation__isnull=False, value_hash__in=chunk).values_list(
            "value_hash", "organisation_id"
        )
        for value_hash, organisation_id in found:
            organisations_by_hash[value_hash].add(organisation_id)
    people_by_key: dict[tuple[str, int, int], set[int]] = defaultdict(set)
    for chunk in _chunks(name for keys in person_keys.values() for name, _, _ in keys):
        rows = list(
            Person.objects.filter(name__in=chunk, birth_date__isnull=False).values_list("name", "birth_date", "id")
        )
        rows += PersonName.objects.filter(
            name__in=chunk, person__isnull=False, person__birth_date__isnull=False
        ).values_list("name", "person__birth_date", "person_id")
        for name, birth_date, person_id in rows:
            if birth_date is not None and person_id is not None:
                people_by_key[(name, birth_date.year, birth_date.month)].add(person_id)

    changed: list[Party] = []
    for index, hashes in entity_hashes.items():
        matches = set().union(*(organisations_by_hash.get(h, set()) for h in hashes))
        party = parties[index]
        if len(matches) == 1 and party.organisation_id != (organisation_id := next(iter(matches))):
            party.organisation_id = organisation_id
            changed.append(party)
    for index, keys in person_keys.items():
        candidates = set().union(*(people_by_key.get(key, set()) for key in keys))
        party = parties[index]
        if len(candidates) == 1 and party.person_id != (person_id := next(iter(candidates))):
            party.person_id = person_id
            changed.append(party)
    Party.objects.bulk_update(changed, ["organisation", "person"], batch_size=BATCH_SIZE)
    return len(changed)


def organisation_party(*, organisation: Organisation) -> Party | None:
    return Party.objects.filter(organisation=organisation).order_by("-pk").first()
