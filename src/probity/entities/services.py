"""Write operations of the entities app: FtM import and export, resolution runs, analysts' decisions.

* ``ftm_import`` reads FollowTheMoney entities (OpenSanctions / Aleph JSON Lines) into ``Entity`` rows:
  idempotent by entity id, each bad entity reported with its line, id and reason, the rest kept.
* ``ftm_export`` writes Probity's people, organisations, positions, family ties, (when the ownership
  app has them) ownership interests and (when the procurement warehouse has them) contracts, their
  awards, buyers and suppliers as FtM entities; ``entities_sync_core`` takes the same entities in
  as the ``probity`` dataset so they are screened and resolved with the lists.
* ``entities_link`` runs Splink (``resolution.py``) and stores candidate pairs; ``match_decide`` records
  an analyst's confirm (clusters merge) or reject (the pair is never raised again), both audited.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from followthemoney import model, registry
from followthemoney.proxy import EntityProxy

from probity.core.audit import actor_name, audit_as, audit_record
from probity.core.models import AuditEntry, FamilyRelation, Identifier, Organisation, Person, PersonName, Position
from probity.core.records import read_records
from probity.entities import names, resolution
from probity.entities.contracts import contract_proxies
from probity.entities.ids import ORGANISATION_PREFIX, PERSON_PREFIX, organisation_ftm_id, person_ftm_id
from probity.entities.models import Entity, EntityName, EntityReference, MatchCandidate, MatchDecision
from probity.entities.name_keys import NameKey, key_rows

Progress = Callable[[int], object]
PROBITY_DATASET = "probity"
AUDIT_ACTOR = "system:entities"  # the audit name of ``probity entities`` (its jobs act as the system)
NAME_PROPERTIES = ("name", "alias", "weakAlias", "previousName")
MAX_ERRORS_KEPT = 1000


# --- import ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts, and each rejected entity with its line, id and reason."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def as_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": self.errors[:MAX_ERRORS_KEPT],
            "warnings": self.warnings[:MAX_ERRORS_KEPT],
        }


class EntityError(ValueError):
    """An entity that cannot be imported; the message says why."""


def ftm_validate(*, data: Any) -> tuple[EntityProxy, list[str]]:
    """A clean proxy for one FtM entity dict, and warnings for values dropped; raises ``EntityError``."""
    if not isinstance(data, dict):
        raise EntityError("the record is not a JSON object")
    entity_id = data.get("id")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise EntityError("the entity has no id")
    if len(entity_id) > 200:
        raise EntityError("the entity id is longer than 200 characters")
    schema_name = data.get("schema")
    schema = model.get(schema_name) if isinstance(schema_name, str) else None
    if schema is None:
        raise EntityError(f"unknown schema {schema_name!r}")
    if schema.abstract:
        raise EntityError(f"the schema {schema.name} is abstract; an entity needs a concrete schema")
    properties = data.get("properties", {})
    if not isinstance(properties, dict):
        raise EntityError("'properties' is not an object")
    proxy = model.make_entity(schema.name)
    proxy.id = entity_id
    warnings: list[str] = []
    for prop_name, values in properties.items():
        prop = schema.get(prop_name)
        if prop is None:
            raise EntityError(f"the schema {schema.name} has no property {prop_name!r}")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            raise EntityError(f"the property {prop_name!r} is not a list of values")
        for value in values:
            if not isinstance(value, str):
                value = str(value) if isinstance(value, int | float) else None
            cleaned = prop.type.clean(value, proxy=proxy) if value is not None else None
            if cleaned is None:
                warnings.append(f"{prop_name}: the value {str(value)[:60]!r} is not a valid {prop.type.name}")
                continue
            proxy.unsafe_add(prop, cleaned, cleaned=True)
    if schema.is_a("LegalEntity") and not proxy.get("name"):
        raise EntityError(f"the {schema.name} has no name")
    return proxy, warnings


def _entity_fields(proxy: EntityProxy, dataset: str) -> dict[str, Any]:
    topics = sorted(set(proxy.get("topics", quiet=True)))
    birth_dates = sorted(proxy.get("birthDate", quiet=True))
    countries = sorted(set(proxy.get_type_values(registry.country)))
    return {
        "schema": proxy.schema.name,
        "caption": (proxy.caption or proxy.id or "")[:500],
        "dataset": dataset,
        "properties": {k: sorted(v) for k, v in sorted(proxy.to_dict()["properties"].items())},
        "topics": topics,
        "birth_date": birth_dates[0][:10] if birth_dates else "",
        "countries": countries,
    }


def _entity_names(proxy: EntityProxy) -> list[tuple[str, str]]:
    """(name, kind) of every name the source gave, then Latin transliterations of the others."""
    out: list[tuple[str, str]] = []
    if not proxy.schema.is_a("Thing"):
        return out
    for prop in NAME_PROPERTIES:
        for value in proxy.get(prop, quiet=True):
            out.append((value[:500], prop))
    given = {n for n, _ in out}
    for value in list(given):
        for alias in names.latin_aliases(value):
            if alias and alias not in given:
                given.add(alias)
                out.append((alias[:500], EntityName.Kind.TRANSLITERATION))
    return out


def name_index_keys(*, name: str) -> str:
    """The phonetic keys of a name as stored for look-up: " key1 key2 " (spaces around each)."""
    keys = sorted(names.name_keys(name))
    joined = " ".join(keys)
    while len(joined) > 498 and keys:
        keys.pop()
        joined = " ".join(keys)
    return f" {joined} " if joined else ""


@functools.lru_cache(maxsize=65536)
def _name_columns(name: str) -> tuple[str, str, str]:
    """(script, normalised, keys) of a name; cached, as the same names come back across sources."""
    return names.main_script(name), names.normalise(name)[:500], name_index_keys(name=name)


def _write_names(written: list[tuple[Entity, EntityProxy, bool]]) -> None:
    """Brings the stored names of each written entity (``True``: just created) in line with its proxy, in bulk,
    with their rows in the name key table (new names keyed, removed names' keys deleted with them, and the
    dataset and schema copied onto the keys of an entity whose dataset or schema changed)."""
    stored: dict[int, dict[tuple[str, str], int]] = {}
    old_ids = [entity.pk for entity, _proxy, created in written if not created]
    if old_ids:
        for pk, entity_id, name, kind in EntityName.objects.filter(entity_id__in=old_ids).values_list(
            "pk", "entity_id", "name", "kind"
        ):
            stored.setdefault(entity_id, {})[(name, kind)] = pk
    stale: list[int] = []
    new: list[EntityName] = []
    for entity, proxy, _created in written:
        existing = stored.get(entity.pk, {})
        wanted: set[tuple[str, str]] = set()
        for name, kind in _entity_names(proxy):
            key = (name, kind)
            if key in wanted:
                continue
            wanted.add(key)
            if key in existing:
                continue
            script, normalised, keys = _name_columns(name)
            new.append(
                EntityName(entity_id=entity.pk, name=name, kind=kind, script=script, normalised=normalised, keys=keys)
            )
        stale.extend(pk for key, pk in existing.items() if key not in wanted)
    if stale:
        EntityName.objects.filter(pk__in=stale).delete()
    EntityName.objects.bulk_create(new, batch_size=1000)
    by_pk = {entity.pk: entity for entity, _proxy, _created in written}
    _write_name_keys(new, {pk: (e.dataset, e.schema) for pk, e in by_pk.items()})
    _sync_name_key_columns([entity for entity, _proxy, created in written if not created])


def _write_name_keys(new: list[EntityName], columns: dict[int, tuple[str, str]]) -> None:
    """The name key rows of just-created names (``columns``: dataset and schema by entity id)."""
    if new and new[0].pk is None:  # a backend that does not return keys from bulk_create
        ids = {
            (entity_id, name, kind): pk
            for pk, entity_id, name, kind in EntityName.objects.filter(
                entity_id__in={n.entity_id for n in new}
            ).values_list("pk", "entity_id", "name", "kind")
        }
        for item in new:
            item.pk = ids[(item.entity_id, item.name, item.kind)]
    rows: list[NameKey] = []
    for item in new:
        dataset, schema = columns[item.entity_id]
        rows.extend(
            NameKey(**row) for row in key_rows(item.pk, item.entity_id, dataset, schema, names.index_keys(item.name))
        )
    NameKey.objects.bulk_create(rows, batch_size=2000)


def _sync_name_key_columns(entities: list[Entity]) -> None:
    """Copies dataset and schema onto the name keys of updated entities where they differ (rarely any)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for entity in entities:
        groups.setdefault((entity.dataset, entity.schema), []).append(entity.pk)
    for (dataset, schema), ids in groups.items():
        NameKey.objects.filter(entity_id__in=ids).exclude(dataset=dataset, schema=schema).update(
            dataset=dataset, schema=schema
        )


def _write_references(written: list[tuple[Entity, EntityProxy, bool]]) -> None:
    """Replaces the references of each written entity whose proxy points elsewhere now, in bulk."""
    stored: dict[int, set[tuple[str, str]]] = {}
    old_ids = [entity.pk for entity, _proxy, created in written if not created]
    if old_ids:
        for entity_id, prop, target in EntityReference.objects.filter(entity_id__in=old_ids).values_list(
            "entity_id", "prop", "target_id"
        ):
            stored.setdefault(entity_id, set()).add((prop, target))
    replaced: list[int] = []
    new: list[EntityReference] = []
    for entity, proxy, created in written:
        wanted = {(prop.name, value[:200]) for prop, value in proxy.itervalues() if prop.type == registry.entity}
        if wanted == stored.get(entity.pk, set()):
            continue
        if not created:
            replaced.append(entity.pk)
        new.extend(EntityReference(entity_id=entity.pk, prop=p, target_id=t) for p, t in sorted(wanted))
    if replaced:
        EntityReference.objects.filter(entity_id__in=replaced).delete()
    EntityReference.objects.bulk_create(new, batch_size=1000)


IMPORT_BATCH = 500
"""Entities written together: one look-up, bulk inserts and updates, one summary audit entry."""


def _upsert_batch(items: list[tuple[EntityProxy, dict[str, Any]]], *, dataset: str) -> list[tuple[Entity, str]]:
    """Creates or updates the entities of ``items`` (distinct ids) in one transaction; one audit entry
    in the name of the current ``audit_actor``.

    Returns each entity with "created", "updated" or "unchanged", in the order of ``items``. The audit
    entry lists the id and FtM id of every entity created, and of every entity updated with the names
    of the fields that changed (no values: they hold names and birth dates); unchanged ones are counted.
    """
    if not items:
        return []
    with transaction.atomic():
        stored = {
            e.ftm_id: e for e in Entity.objects.select_for_update().filter(ftm_id__in=[str(p.id) for p, _ in items])
        }
        now = timezone.now()
        results: list[tuple[Entity, str]] = []
        to_create: list[Entity] = []
        to_update: list[tuple[Entity, list[str]]] = []
        update_fields: set[str] = set()
        for proxy, extra in items:
            fields = _entity_fields(proxy, dataset)
            fields.update(extra)
            ftm_id = str(proxy.id)
            entity = stored.get(ftm_id)
            if entity is None:
                entity = Entity(ftm_id=ftm_id, cluster=ftm_id, **fields)
                to_create.append(entity)
                results.append((entity, "created"))
                continue
            changed = [key for key, value in fields.items() if getattr(entity, key) != value]
            if not changed:
                results.append((entity, "unchanged"))
                continue
            for key in changed:
                setattr(entity, key, fields[key])
            entity.last_seen = now
            update_fields.update(changed)
            to_update.append((entity, changed))
            results.append((entity, "updated"))
        if to_create:
            Entity.objects.bulk_create(to_create)
        if to_update:
            Entity.objects.bulk_update(
                [entity for entity, _ in to_update], sorted({*update_fields, "last_seen"}), batch_size=IMPORT_BATCH
            )
        written = [
            (entity, proxy, outcome == "created")
            for (entity, outcome), (proxy, _) in zip(results, items, strict=True)
            if outcome != "unchanged"
        ]
        _write_names(written)
        _write_references(written)
        if written:
            audit_record(
                action=AuditEntry.Action.OTHER,
                object_type="entities.entity",
                object_id=str(written[0][0].pk),
                object_label=f"import batch of {len(written)} entities",
                details={
                    "event": "entities_imported",
                    "dataset": dataset,
                    # [entity id, FtM id] per created entity; [entity id, FtM id, changed fields] per updated one
                    "created": [[entity.pk, entity.ftm_id] for entity in to_create],
                    "updated": [[entity.pk, entity.ftm_id, changed] for entity, changed in to_update],
                    "unchanged": len(results) - len(written),
                },
            )
    return results


def _upsert_batch_retrying(
    items: list[tuple[EntityProxy, dict[str, Any]]], *, dataset: str
) -> list[tuple[Entity, str]]:
    """``_upsert_batch``, once more if a concurrent import created some of the same entities meanwhile."""
    try:
        return _upsert_batch(items, dataset=dataset)
    except IntegrityError:
        return _upsert_batch(items, dataset=dataset)


def entity_upsert(*, proxy: EntityProxy, dataset: str, extra: dict[str, Any] | None = None) -> tuple[Entity, str]:
    """Creates or updates the entity with ``proxy.id``; returns it and "created", "updated" or "unchanged"."""
    return _upsert_batch([(proxy, extra or {})], dataset=dataset)[0]


def ftm_count_lines(*, path: Path) -> int:
    """The non-empty lines of a file (bytes, so any file can be counted): the progress total of an import."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def ftm_import(
    *,
    source: Path | IO[str],
    dataset: str,
    actor: User | None = None,
    progress: Progress | None = None,
    batch_size: int = IMPORT_BATCH,
) -> ImportReport:
    """Imports FtM entities (JSON Lines, one entity a line, or a JSON array); re-importing the same file
    changes nothing.

    The file is read record by record (``probity.core.records``): a record that is not JSON or not UTF-8,
    nested too deeply or holding a number out of bounds, an entity without id, with an unknown schema or
    property, or a person or company without a name is reported (line, record number, id and reason) and
    skipped; a truncated array gives the entities before the break and then the break. The others are
    stored, ``batch_size`` at a time in one transaction with one summary audit entry (``_upsert_batch``);
    a batch the database refuses is written entity by entity, and the refused ones are reported.
    Values that are not valid for their property (a date "1980-13-45") are dropped with a warning.
    ``actor`` None: the system imports, under the current ``audit_actor`` (the CLI's ``system:entities``).
    """
    if not dataset or len(dataset) > 100:
        raise ValueError("a dataset name of 1 to 100 characters is needed")
    report = ImportReport()
    batch: dict[str, tuple[EntityProxy, dict[str, Any]]] = {}
    places: dict[str, tuple[int, int]] = {}  # FtM id -> (line, record number) of the entity in the batch

    def reject(line: int, number: int, entity_id: Any, reason: str) -> None:
        report.errors.append(
            {"line": line, "record": number, "id": entity_id if isinstance(entity_id, str) else None, "reason": reason}
        )

    def flush() -> None:
        items = list(batch.values())
        try:
            results = _upsert_batch_retrying(items, dataset=dataset)
        except DatabaseError:  # one entity the database refuses: the others are written one by one
            results = []
            for item in items:
                try:
                    results.extend(_upsert_batch([item], dataset=dataset))
                except DatabaseError:
                    line, number = places[str(item[0].id)]
                    reject(line, number, str(item[0].id), "the database could not store the entity")
        for _entity, outcome in results:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None and batch:
            progress(len(batch))
        batch.clear()
        places.clear()

    with audit_as(actor):
        for record in read_records(source):
            report.read += 1
            entity_id = record.value.get("id") if isinstance(record.value, dict) else None
            if record.error:
                reject(record.line, record.number, None, record.error)
                continue
            try:
                proxy, warnings = ftm_validate(data=record.value)
            except EntityError as exc:
                reject(record.line, record.number, entity_id, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a value followthemoney cannot take; named, never a traceback
                reject(record.line, record.number, entity_id, f"the entity cannot be read ({type(exc).__name__})")
                continue
            for warning in warnings:
                report.warnings.append({"line": record.line, "id": proxy.id, "reason": warning})
            if str(proxy.id) in batch:  # the same id again: the earlier line is written first, as one by one
                flush()
            batch[str(proxy.id)] = (proxy, {})
            places[str(proxy.id)] = (record.line, record.number)
            if len(batch) >= max(batch_size, 1):
                flush()
        flush()
        if report.created or report.updated:
            audit_record(
                action=AuditEntry.Action.OTHER,
                object_type="entities.import",
                object_label=dataset[:200],
                details={
                    "dataset": dataset,
                    "created": report.created,
                    "updated": report.updated,
                    "rejected": report.rejected,
                },
            )
    return report


# --- export ----------------------------------------------------------------------------------

FAMILY_RELATIONSHIPS: dict[str, str] = {
    FamilyRelation.Kind.SPOUSE: "spouse",
    FamilyRelation.Kind.CHILD: "child",
    FamilyRelation.Kind.PARENT: "parent",
    FamilyRelation.Kind.SIBLING: "sibling",
    FamilyRelation.Kind.OTHER: "relative",
}
PERSON_ID_PROPS: dict[str, str] = {
    Identifier.Scheme.TAX_ID: "taxNumber",
    Identifier.Scheme.OTHER: "idNumber",
    Identifier.Scheme.PROCUREMENT: "idNumber",
    Identifier.Scheme.COMPANY_REGISTER: "idNumber",
    Identifier.Scheme.LEI: "idNumber",
    Identifier.Scheme.VAT: "taxNumber",
}
ORGANISATION_ID_PROPS: dict[str, str] = {
    Identifier.Scheme.COMPANY_REGISTER: "registrationNumber",
    Identifier.Scheme.TAX_ID: "taxNumber",
    Identifier.Scheme.VAT: "vatCode",
    Identifier.Scheme.LEI: "leiCode",
    Identifier.Scheme.PROCUREMENT: "idNumber",
    Identifier.Scheme.OTHER: "idNumber",
}
ORGANISATION_SCHEMAS: dict[str, str] = {
    Organisation.Kind.COMPANY: "Company",
    Organisation.Kind.PARTNERSHIP: "Company",
    Organisation.Kind.STATE_ENTERPRISE: "Company",
}


def _person_proxy(
    person: Person, alt_names: list[str], identifiers: list[Identifier], address: str = ""
) -> EntityProxy:
    proxy = model.make_entity("Person")
    proxy.id = person_ftm_id(person.pk)
    proxy.add("name", person.name)
    proxy.add("alias", alt_names)
    if person.birth_date:
        proxy.add("birthDate", person.birth_date.isoformat())
    if person.gender in {"male", "female", "other"}:
        proxy.add("gender", person.gender)
    if person.nationality:
        proxy.add("nationality", person.nationality.lower(), quiet=True)
    for identifier in identifiers:
        # National ID numbers are stored only as a keyed hash; they never leave Probity.
        if identifier.scheme not in Identifier.HASHED_SCHEMES and identifier.value:
            proxy.add(PERSON_ID_PROPS.get(identifier.scheme, "idNumber"), identifier.value)
    if address:
        proxy.add("address", address)
    return proxy


def _organisation_proxy(organisation: Organisation, alt_names: list[str], identifiers: list[Identifier]) -> EntityProxy:
    proxy = model.make_entity(ORGANISATION_SCHEMAS.get(organisation.kind, "Organization"))
    proxy.id = organisation_ftm_id(organisation.pk)
    proxy.add("name", organisation.name)
    proxy.add("alias", alt_names)
    if organisation.jurisdiction:
        proxy.add("jurisdiction", organisation.jurisdiction.lower(), quiet=True)
    if organisation.founded:
        proxy.add("incorporationDate", organisation.founded.isoformat())
    if organisation.dissolved:
        proxy.add("dissolutionDate", organisation.dissolved.isoformat())
    if organisation.address:
        proxy.add("address", organisation.address)
    for identifier in identifiers:
        if identifier.scheme not in Identifier.HASHED_SCHEMES and identifier.value:
            proxy.add(ORGANISATION_ID_PROPS.get(identifier.scheme, "idNumber"), identifier.value)
    return proxy


def _grouped(queryset: Iterable[Any], key: str) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for row in queryset:
        owner = getattr(row, key)
        if owner is not None:
            out.setdefault(owner, []).append(row)
    return out


def _same_text(a: Any, b: Any) -> bool:
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


def declared_addresses() -> dict[int, str]:
    """Where people live as their declarations say, by ``core.Person`` pk: the declarant's ``address`` and each
    family member's, from the latest version of each declaration (a later year wins).

    A family member is the declarant's relative (``FamilyRelation``) of the same relation whose date of birth
    or name is the declared one.
    """
    try:
        apps.get_model("declarations", "DeclarationVersion")
    except LookupError:
        return {}
    from probity.declarations.selectors import iter_latest_items

    relatives: dict[int, list[FamilyRelation]] = {}
    for relation in FamilyRelation.objects.select_related("relative").order_by("pk"):
        relatives.setdefault(relation.person_id, []).append(relation)
    # person pk → ((year, declaration pk) of the declaration that gave it, address): the later one wins
    found: dict[int, tuple[tuple[int, int], str]] = {}

    def give(person_id: int, rank: tuple[int, int], address: str) -> None:
        if person_id not in found or found[person_id][0] <= rank:
            found[person_id] = (rank, address)

    for item in iter_latest_items():
        content = item.content if isinstance(item.content, dict) else {}
        declarant_id = item.declaration.declarant_id
        rank = (item.declaration.year, item.declaration.pk)
        declarant = content.get("declarant") or {}
        if isinstance(declarant.get("address"), str) and declarant["address"].strip():
            give(declarant_id, rank, declarant["address"].strip())
        for member in content.get("family_members") or []:
            if not isinstance(member, dict) or not isinstance(member.get("address"), str):
                continue
            for relation in relatives.get(declarant_id, []):
                relative = relation.relative
                birth = relative.birth_date.isoformat() if relative.birth_date else None
                if relation.kind == member.get("relation") and (
                    (birth and birth == member.get("birth_date")) or _same_text(relative.name, member.get("name"))
                ):
                    give(relative.pk, rank, member["address"].strip())
    return {person_id: address for person_id, (_rank, address) in found.items()}


def core_people_proxies(*, addresses: bool = False) -> Iterator[EntityProxy]:
    """Probity's people as FtM ``Person`` entities (aliases, identifiers except national IDs); ``addresses``:
    with where they live as declared (for entity resolution; never in the FtM export)."""
    alt = _grouped(PersonName.objects.filter(person__isnull=False).order_by("pk"), "person_id")
    ids = _grouped(Identifier.objects.filter(person__isnull=False).order_by("pk"), "person_id")
    homes = declared_addresses() if addresses else {}
    for person in Person.objects.order_by("pk").iterator(chunk_size=2000):
        yield _person_proxy(
            person, [n.name for n in alt.get(person.pk, [])], ids.get(person.pk, []), homes.get(person.pk, "")
        )


def core_organisation_proxies() -> Iterator[EntityProxy]:
    """Probity's organisations as FtM ``Company`` or ``Organization`` entities."""
    alt = _grouped(PersonName.objects.filter(organisation__isnull=False).order_by("pk"), "organisation_id")
    ids = _grouped(Identifier.objects.filter(organisation__isnull=False).order_by("pk"), "organisation_id")
    for organisation in Organisation.objects.order_by("pk").iterator(chunk_size=2000):
        yield _organisation_proxy(
            organisation, [n.name for n in alt.get(organisation.pk, [])], ids.get(organisation.pk, [])
        )


def core_relation_proxies(*, addresses: bool = False) -> Iterator[EntityProxy]:
    """Positions (with their bodies and occupancies), family ties, ownership (BODS relationships) and the
    procurement warehouse's contracts (``probity.entities.contracts``)."""
    bodies_done: set[int] = set()
    for position in Position.objects.select_related("body").order_by("pk"):
        body = position.body
        if body.pk not in bodies_done:
            bodies_done.add(body.pk)
            proxy = model.make_entity("PublicBody")
            proxy.id = f"probity-body-{body.pk}"
            proxy.add("name", body.name)
            if body.country:
                proxy.add("country", body.country.lower(), quiet=True)
            yield proxy
        post = model.make_entity("Position")
        post.id = f"probity-position-{position.pk}"
        post.add("name", position.title)
        post.add("organization", f"probity-body-{body.pk}")
        if position.is_pep:
            post.add("topics", "role.pep")
        if body.country:
            post.add("country", body.country.lower(), quiet=True)
        yield post
        if position.holder_id:
            occupancy = model.make_entity("Occupancy")
            occupancy.id = f"probity-occupancy-{position.pk}"
            occupancy.add("holder", person_ftm_id(position.holder_id))
            occupancy.add("post", post.id)
            if position.start_date:
                occupancy.add("startDate", position.start_date.isoformat())
            if position.end_date:
                occupancy.add("endDate", position.end_date.isoformat())
            yield occupancy
    for relation in FamilyRelation.objects.order_by("pk"):
        family = model.make_entity("Family")
        family.id = f"probity-family-{relation.pk}"
        family.add("person", person_ftm_id(relation.person_id))
        family.add("relative", person_ftm_id(relation.relative_id))
        family.add("relationship", FAMILY_RELATIONSHIPS.get(relation.kind, "relative"))
        yield family
    yield from _ownership_proxies(addresses=addresses)
    yield from contract_proxies()


def _party_ftm_id(party: Any) -> str:
    if party.person_id:
        return person_ftm_id(party.person_id)
    if party.organisation_id:
        return organisation_ftm_id(party.organisation_id)
    return f"bods-{party.dataset}-{party.record_id}"[:200]


def _party_addresses(party: Any) -> list[str]:
    """The addresses of a BODS party's statement (residence first for a person, registered for an entity)."""
    statement = getattr(party, "statement", None)
    payload = getattr(statement, "payload", None) or {}
    details = payload.get("recordDetails") or {} if isinstance(payload, dict) else {}
    rank = {"residence": 0, "registered": 0, "business": 1, "service": 2}
    items = [a for a in details.get("addresses") or [] if isinstance(a, dict) and isinstance(a.get("address"), str)]
    out = []
    for item in sorted(items, key=lambda a: rank.get(str(a.get("type")), 3)):
        text = item["address"].strip()
        postcode = item.get("postCode")
        if isinstance(postcode, str) and postcode.strip() and postcode.strip() not in text:
            street, _, rest = text.partition(",")
            text = f"{street}, {postcode.strip()} {rest.strip()}".strip() if rest else f"{text}, {postcode.strip()}"
        if text:
            out.append(text)
    return out


def _party_proxy(party: Any, *, addresses: bool = False) -> EntityProxy | None:
    """A BODS party not linked to Probity's registers, as an FtM Person or Company (linked ones are exported)."""
    if party.person_id or party.organisation_id or not party.name:
        return None
    proxy = model.make_entity("Person" if party.is_person else "Company")
    proxy.id = _party_ftm_id(party)
    proxy.add("name", party.name)
    proxy.add("alias", [n for n in party.other_names if isinstance(n, str)])
    if party.is_person and party.birth_date:
        proxy.add("birthDate", party.birth_date, quiet=True)
    if party.jurisdiction:
        proxy.add("jurisdiction" if not party.is_person else "country", party.jurisdiction.lower(), quiet=True)
    if addresses:
        proxy.add("address", _party_addresses(party))
    return proxy


def _ownership_proxies(*, addresses: bool = False) -> Iterator[EntityProxy]:
    """Ownership and control from the ownership app (BODS relationships), when it is installed."""
    try:
        relationship_model = apps.get_model("ownership", "Relationship")
    except LookupError:
        return
    done: set[str] = set()
    relationships = (
        relationship_model.objects.filter(closed=False, subject__isnull=False, interested_party__isnull=False)
        .select_related("subject", "interested_party")
        .prefetch_related("interests")
        .order_by("pk")
    )
    if addresses:  # the statements hold the addresses
        relationships = relationships.select_related("subject__statement", "interested_party__statement")
    for relationship in relationships.iterator(chunk_size=2000):
        for party in (relationship.subject, relationship.interested_party):
            proxy = _party_proxy(party, addresses=addresses)
            if proxy is not None and proxy.id not in done:
                done.add(str(proxy.id))
                yield proxy
        ownership = model.make_entity("Ownership")
        ownership.id = f"bods-{relationship.dataset}-{relationship.record_id}"[:200]
        ownership.add("owner", _party_ftm_id(relationship.interested_party))
        ownership.add("asset", _party_ftm_id(relationship.subject))
        for interest in relationship.interests.all():
            if interest.type:
                ownership.add("ownershipType", interest.type)
            if interest.share_exact is not None:
                ownership.add("percentage", f"{interest.share_exact:g}")
            elif interest.share_minimum is not None or interest.share_maximum is not None:
                low = "" if interest.share_minimum is None else f"{interest.share_minimum:g}"
                high = "" if interest.share_maximum is None else f"{interest.share_maximum:g}"
                ownership.add("percentage", f"{low}-{high}")
        yield ownership


def core_proxies(*, addresses: bool = False) -> Iterator[EntityProxy]:
    """Every core proxy; ``addresses``: people's residence (declared, or in their register statement) too."""
    yield from core_people_proxies(addresses=addresses)
    yield from core_organisation_proxies()
    yield from core_relation_proxies(addresses=addresses)


EXPORT_PERMISSION = "entities.change_entity"
"""Who may export Probity's registers as FtM (page and API): the administrators' permission, because the
file holds every official's and relative's name and birth date."""


def ftm_export(*, out: IO[str], actor: User | None = None, progress: Progress | None = None) -> int:
    """Writes Probity's people, organisations, positions, family ties, ownership and contracts as FtM JSON Lines.
    ``actor`` None: the system exports, under the current ``audit_actor``."""
    count = 0
    for proxy in core_proxies():
        out.write(json.dumps(proxy.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
        if progress is not None:
            progress(1)
    audit_record(
        action=AuditEntry.Action.EXPORT,
        actor=actor_name(actor),
        object_type="entities.ftm",
        object_label="FollowTheMoney export",
        details={"entities": count},
    )
    return count


EXPORT_FILE = re.compile(r"^probity-registers-\d{8}T\d{6}Z(?:-job\d+)?\.ftm\.jsonl$")


def exports_dir() -> Path:
    """Where background exports are written: ``VAR_DIR/exports`` (served only by the entities download page)."""
    folder = Path(settings.VAR_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ftm_export_file(
    *, label: str = "", actor: User | None = None, progress: Progress | None = None
) -> tuple[Path, int]:
    """Writes the FtM export (``ftm_export``, audited) to a new file in ``exports_dir()``; returns it and the count.

    The file is named ``probity-registers-<UTC time>[-<label>].ftm.jsonl``; it appears under that name only
    when complete (an interrupted export leaves nothing behind)."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"probity-registers-{stamp}{'-' + label if label else ''}.ftm.jsonl"
    if not EXPORT_FILE.match(name):
        raise ValueError(f"{label!r} cannot be part of an export's file name")
    path = exports_dir() / name
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            count = ftm_export(out=handle, actor=actor, progress=progress)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path, count


def export_file(*, name: str) -> Path:
    """The finished export called ``name``; ``FileNotFoundError`` for any other name or a removed file."""
    if not EXPORT_FILE.match(name):
        raise FileNotFoundError(name)
    path = exports_dir() / name
    if not path.is_file():
        raise FileNotFoundError(name)
    return path


def entities_sync_core(
    *, actor: User | None = None, progress: Progress | None = None, batch_size: int = IMPORT_BATCH
) -> ImportReport:
    """Takes Probity's own people and organisations in as the ``probity`` dataset (idempotent).

    People come with their residence address (declared, or from their register statement) for entity
    resolution; the FtM export leaves addresses of people out. Written ``batch_size`` entities at a time
    with one summary audit entry each (``_upsert_batch``).
    """
    report = ImportReport()
    batch: dict[str, tuple[EntityProxy, dict[str, Any]]] = {}

    def flush() -> None:
        for _entity, outcome in _upsert_batch_retrying(list(batch.values()), dataset=PROBITY_DATASET):
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None and batch:
            progress(len(batch))
        batch.clear()

    with audit_as(actor):
        for proxy in core_proxies(addresses=True):
            report.read += 1
            extra: dict[str, Any] = {}
            if proxy.id and proxy.id.startswith(PERSON_PREFIX):
                extra["person_id"] = int(proxy.id.rsplit("-", 1)[1])
            elif proxy.id and proxy.id.startswith(ORGANISATION_PREFIX):
                extra["organisation_id"] = int(proxy.id.rsplit("-", 1)[1])
            if str(proxy.id) in batch:
                flush()
            batch[str(proxy.id)] = (proxy, extra)
            if len(batch) >= max(batch_size, 1):
                flush()
        flush()
    return report


# --- resolution and decisions ------------------------------------------------------------------


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def entities_link(
    *,
    schema: str = "Person",
    threshold: float = 0.5,
    backend: str = "duckdb",
    actor: User | None = None,
    run_label: str = "",
) -> dict[str, int]:
    """Runs entity resolution over the stored entities and stores new candidate pairs.

    Pairs an analyst already rejected are never raised again, and confirmed or rejected pairs keep
    their status; open pairs get the new score and explanation.
    """
    entities = list(
        Entity.objects.filter(schema__in=resolution.schemas_for(schema)).prefetch_related("names").order_by("pk")
    )
    references = {ref for entity in entities for ref in (entity.properties or {}).get("addressEntity", []) or []}
    address_entities = {
        ftm_id: properties
        for ftm_id, properties in Entity.objects.filter(ftm_id__in=references, schema="Address").values_list(
            "ftm_id", "properties"
        )
    }
    records = [resolution.record_of(entity, address_entities) for entity in entities]
    predictions = resolution.link_records(records, backend=backend, threshold=threshold)
    label = run_label or timezone.now().strftime("link-%Y%m%dT%H%M%S")
    existing = {
        (c.left_id, c.right_id): c
        for c in MatchCandidate.objects.filter(
            Q(left__schema__in=resolution.schemas_for(schema)) | Q(right__schema__in=resolution.schemas_for(schema))
        )
    }
    clusters = dict(Entity.objects.values_list("pk", "cluster"))
    created = updated = skipped = 0
    new: list[MatchCandidate] = []
    with audit_as(actor), transaction.atomic():
        for prediction in predictions:
            left, right = _pair(prediction.left_id, prediction.right_id)
            candidate = existing.get((left, right))
            if candidate is not None:
                if candidate.status != MatchCandidate.Status.OPEN:
                    skipped += 1  # decided: a rejection sticks, a confirmation needs no second look
                    continue
                candidate.probability = prediction.probability
                candidate.match_weight = prediction.match_weight
                candidate.explanation = prediction.explanation
                candidate.run_label = label
                candidate.save(update_fields=["probability", "match_weight", "explanation", "run_label", "updated_at"])
                updated += 1
                continue
            if clusters.get(left) == clusters.get(right):
                skipped += 1  # already merged through other confirmed pairs
                continue
            new.append(
                MatchCandidate(
                    left_id=left,
                    right_id=right,
                    probability=prediction.probability,
                    match_weight=prediction.match_weight,
                    explanation=prediction.explanation,
                    run_label=label,
                )
            )
            created += 1
        MatchCandidate.objects.bulk_create(new, batch_size=1000)
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="entities.link",
            object_label=label,
            details={
                "schema": schema,
                "records": len(records),
                "created": created,
                "updated": updated,
                "skipped_decided": skipped,
                "threshold": threshold,
                "backend": backend,
            },
        )
    return {"records": len(records), "created": created, "updated": updated, "skipped": skipped}


def match_decide(*, candidate: MatchCandidate, decision: str, reason: str = "", actor: User) -> MatchDecision:
    """Records an analyst's decision; a confirmation merges the two clusters, a rejection is permanent."""
    if decision not in MatchDecision.Decision.values:
        raise ValueError(f"a decision is 'confirmed' or 'rejected', not {decision!r}")
    if decision == MatchDecision.Decision.REJECTED and not reason.strip():
        raise ValueError("a rejection needs a reason")
    with audit_as(actor), transaction.atomic():
        candidate = MatchCandidate.objects.select_for_update().get(pk=candidate.pk)
        record = MatchDecision.objects.create(
            candidate=candidate, decision=decision, reason=reason.strip(), decided_by=actor_name(actor)
        )
        candidate.status = decision
        candidate.save(update_fields=["status", "updated_at"])
        if decision == MatchDecision.Decision.CONFIRMED:
            _merge_clusters(candidate.left_id, candidate.right_id)
        else:
            _split_if_needed(candidate)
    return record


def _merge_clusters(left_id: int, right_id: int) -> None:
    left = Entity.objects.get(pk=left_id)
    right = Entity.objects.get(pk=right_id)
    if left.cluster == right.cluster:
        return
    keep, drop = sorted([left.cluster, right.cluster])
    for entity in Entity.objects.filter(cluster=drop):
        entity.cluster = keep
        entity.save(update_fields=["cluster", "last_seen"])  # each move reaches the audit log


def _split_if_needed(candidate: MatchCandidate) -> None:
    """Rejecting a pair that an earlier confirmation had merged recomputes the clusters from confirmations."""
    left = Entity.objects.get(pk=candidate.left_id)
    right = Entity.objects.get(pk=candidate.right_id)
    if left.cluster != right.cluster:
        return
    members = list(Entity.objects.filter(cluster=left.cluster))
    ids = {e.pk for e in members}
    confirmed = MatchCandidate.objects.filter(
        status=MatchCandidate.Status.CONFIRMED, left_id__in=ids, right_id__in=ids
    ).values_list("left_id", "right_id")
    parent = {pk: pk for pk in ids}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in confirmed:
        parent[find(a)] = find(b)
    by_root: dict[int, list[Entity]] = {}
    for entity in members:
        by_root.setdefault(find(entity.pk), []).append(entity)
    for group in by_root.values():
        cluster = min(e.ftm_id for e in group)
        for entity in group:
            if entity.cluster != cluster:
                entity.cluster = cluster
                entity.save(update_fields=["cluster", "last_seen"])
