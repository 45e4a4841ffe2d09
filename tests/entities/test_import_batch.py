"""FtM import and core sync write in batches: the same rows as one by one, idempotent, bad lines
reported by line with the valid ones beside them kept, and one summary audit entry per batch."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from probity.core.audit import audit_actor
from probity.core.models import AuditEntry, FamilyRelation, Identifier, Organisation, Person, PersonName
from probity.entities import services
from probity.entities.models import Entity, EntityName, EntityReference, MatchCandidate
from tests.conftest import DemoCountry

pytestmark = pytest.mark.django_db

BATCH_EVENT = {"object_type": "entities.entity", "action": AuditEntry.Action.OTHER}


def _rows() -> dict[str, Any]:
    """Every stored entity with its names and references, keyed by FtM id (no database ids)."""
    out: dict[str, Any] = {}
    for entity in Entity.objects.all():
        out[entity.ftm_id] = {
            "fields": [
                entity.schema,
                entity.caption,
                entity.dataset,
                entity.properties,
                entity.topics,
                entity.birth_date,
                entity.countries,
                entity.cluster,
                entity.person_id,
                entity.organisation_id,
            ],
            "names": sorted(entity.names.values_list("name", "kind", "script", "normalised", "keys")),
            "references": sorted(entity.references.values_list("prop", "target_id")),
        }
    return out


def _batch_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**BATCH_EVENT, details__event="entities_imported").order_by("sequence"))


def _expected(path: Path) -> dict[str, Any]:
    """What each valid line should become, computed entity by entity without the batch writer."""
    out: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        proxy, _warnings = services.ftm_validate(data=json.loads(line))
        fields = services._entity_fields(proxy, "zala")
        wanted_names = dict.fromkeys(services._entity_names(proxy))
        out[str(proxy.id)] = {
            "caption": fields["caption"],
            "properties": fields["properties"],
            "names": sorted(wanted_names),
        }
    return out


def test_batches_store_what_each_line_says(shared_data: Path) -> None:
    path = shared_data / "ftm" / "zala.ftm.jsonl"
    report = services.ftm_import(source=path, dataset="zala", batch_size=10)
    assert report.rejected == 0 and report.created == 91
    expected = _expected(path)
    assert set(Entity.objects.values_list("ftm_id", flat=True)) == set(expected)
    for entity in Entity.objects.prefetch_related("names"):
        want = expected[entity.ftm_id]
        assert entity.caption == want["caption"]
        assert entity.properties == want["properties"]
        assert entity.cluster == entity.ftm_id
        assert entity.first_seen is not None and entity.last_seen is not None
        assert sorted((n.name, n.kind) for n in entity.names.all()) == want["names"]
        for name in entity.names.all():
            assert name.keys == services.name_index_keys(name=name.name)
    # every entity reference of the file is stored
    refs = sum(
        1
        for line in path.read_text(encoding="utf-8").splitlines()
        for _prop, _value in (
            (p, v)
            for p, v in services.ftm_validate(data=json.loads(line))[0].itervalues()
            if p.type == services.registry.entity
        )
    )
    assert EntityReference.objects.count() == refs > 0


@pytest.mark.parametrize("batch_size", [1, 7, 500])
def test_every_batch_size_gives_the_same_rows(shared_data: Path, batch_size: int) -> None:
    path = shared_data / "ftm" / "zala.ftm.jsonl"
    services.ftm_import(source=path, dataset="zala", batch_size=1000)
    reference = _rows()
    Entity.objects.all().delete()
    report = services.ftm_import(source=path, dataset="zala", batch_size=batch_size)
    assert report.created == 91
    assert _rows() == reference


def test_reimport_reports_unchanged_and_writes_nothing(shared_data: Path) -> None:
    path = shared_data / "ftm" / "parteispenden.ftm.jsonl"
    services.ftm_import(source=path, dataset="parteispenden", batch_size=100)
    before = _rows()
    seen = dict(Entity.objects.values_list("ftm_id", "last_seen"))
    names_before = set(EntityName.objects.values_list("pk", flat=True))
    audit_before = AuditEntry.objects.count()
    again = services.ftm_import(source=path, dataset="parteispenden", batch_size=100)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 475)
    assert _rows() == before
    assert dict(Entity.objects.values_list("ftm_id", "last_seen")) == seen
    assert set(EntityName.objects.values_list("pk", flat=True)) == names_before
    assert AuditEntry.objects.count() == audit_before


LINES = [
    '{"id": "a-1", "schema": "Person", "properties": {"name": ["Anna Berg"], "birthDate": ["1980-01-02"]}}',
    '{"id": "a-2", "schema": "Person", "properties": {"name": ["Берг Анна"]}}',
    "{broken",
    '{"id": "a-3", "schema": "Company", "properties": {"name": ["Berg GmbH"]}}',
    '{"id": "a-4", "schema": "Spaceship", "properties": {}}',
    '{"id": "own-1", "schema": "Ownership", "properties": {"owner": ["a-1"], "asset": ["a-3"]}}',
    '{"id": "a-5", "schema": "Company", "properties": {"country": ["de"]}}',
]


@pytest.mark.parametrize("batch_size", [1, 2, 500])
def test_bad_lines_are_reported_by_line_and_the_valid_ones_beside_them_kept(batch_size: int) -> None:
    report = services.ftm_import(source=io.StringIO("\n".join(LINES)), dataset="t", batch_size=batch_size)
    assert set(Entity.objects.values_list("ftm_id", flat=True)) == {"a-1", "a-2", "a-3", "own-1"}
    assert [(e["line"], e["id"]) for e in report.errors] == [(3, None), (5, "a-4"), (7, "a-5")]
    assert report.errors[0]["reason"].startswith("the record is not valid JSON")
    assert "unknown schema 'Spaceship'" in report.errors[1]["reason"]
    assert report.errors[2]["reason"] == "the Company has no name"
    assert (report.read, report.created, report.rejected) == (7, 4, 3)
    assert set(EntityReference.objects.values_list("entity__ftm_id", "prop", "target_id")) == {
        ("own-1", "owner", "a-1"),
        ("own-1", "asset", "a-3"),
    }


def test_each_batch_writes_one_summary_audit_entry_with_ids_only() -> None:
    with audit_actor(services.AUDIT_ACTOR):  # as ``probity entities import-ftm`` acts
        services.ftm_import(source=io.StringIO("\n".join(LINES)), dataset="t", batch_size=2)
    entries = _batch_entries()
    assert len(entries) == 2  # 4 valid entities, 2 a batch
    created = [pk_and_id for entry in entries for pk_and_id in entry.details["created"]]
    assert sorted(created) == sorted([e.pk, e.ftm_id] for e in Entity.objects.all())
    for entry in entries:
        assert entry.actor == services.AUDIT_ACTOR
        assert entry.details["dataset"] == "t" and entry.details["updated"] == []
        text = json.dumps(entry.details, ensure_ascii=False)
        assert "Berg" not in text and "Берг" not in text and "1980" not in text  # no names, no birth dates
    # no entry per entity any more
    assert not AuditEntry.objects.filter(object_type="entities.entity", action=AuditEntry.Action.CREATE).exists()
    assert AuditEntry.objects.filter(object_type="entities.import").count() == 1


def test_a_changed_line_is_updated_and_its_change_traced() -> None:
    services.ftm_import(source=io.StringIO("\n".join(LINES)), dataset="t")
    anna = Entity.objects.get(ftm_id="a-1")
    changed = [
        '{"id": "a-1", "schema": "Person", "properties": {"name": ["Anna Lind"], "birthDate": ["1980-01-02"]}}',
        *LINES[1:5],
        '{"id": "own-1", "schema": "Ownership", "properties": {"owner": ["a-2"], "asset": ["a-3"]}}',
    ]
    report = services.ftm_import(source=io.StringIO("\n".join(changed)), dataset="t", batch_size=2)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    anna.refresh_from_db()
    assert anna.caption == "Anna Lind"
    assert set(anna.names.values_list("name", flat=True)) == {"Anna Lind"}
    assert set(EntityReference.objects.values_list("prop", "target_id")) == {("owner", "a-2"), ("asset", "a-3")}
    updated = [row for entry in _batch_entries() for row in entry.details["updated"]]
    own = Entity.objects.get(ftm_id="own-1")
    assert sorted(updated) == sorted([[anna.pk, "a-1", ["caption", "properties"]], [own.pk, "own-1", ["properties"]]])


def test_the_same_id_twice_in_a_file_ends_as_the_last_line() -> None:
    lines = [
        '{"id": "d-1", "schema": "Person", "properties": {"name": ["First Name"]}}',
        '{"id": "d-1", "schema": "Person", "properties": {"name": ["Second Name"]}}',
    ]
    report = services.ftm_import(source=io.StringIO("\n".join(lines)), dataset="t")
    assert (report.created, report.updated) == (1, 1)
    entity = Entity.objects.get(ftm_id="d-1")
    assert entity.caption == "Second Name"
    assert set(entity.names.values_list("name", flat=True)) == {"Second Name"}


def _core_register() -> tuple[Person, Person, Organisation]:
    official = Person.objects.create(name="Adrian Radan", birth_date=date(1980, 9, 6), nationality="XD")
    spouse = Person.objects.create(name="Mira Radan")
    PersonName.objects.create(person=official, name="Адриан Радан", script="Cyrl")
    Identifier.objects.create(person=official, scheme="tax_id", issuer="XD", value="TIN-77")
    FamilyRelation.objects.create(person=official, relative=spouse, kind="spouse")
    company = Organisation.objects.create(name="Westbridge Medical Supplies Ltd", jurisdiction="XD")
    return official, spouse, company


def test_core_sync_in_batches_links_records_and_is_idempotent() -> None:
    official, spouse, company = _core_register()
    audit_before = AuditEntry.objects.count()
    first = services.entities_sync_core(batch_size=2)
    assert (first.read, first.created) == (4, 4)
    rows = _rows()
    assert rows[f"probity-person-{official.pk}"]["fields"][8] == official.pk
    assert rows[f"probity-person-{spouse.pk}"]["fields"][8] == spouse.pk
    assert rows[f"probity-organisation-{company.pk}"]["fields"][9] == company.pk
    assert ("Адриан Радан", "alias") in [n[:2] for n in rows[f"probity-person-{official.pk}"]["names"]]
    entries = _batch_entries()
    assert len(entries) == 2 and AuditEntry.objects.count() == audit_before + 2
    assert all(entry.details["dataset"] == "probity" for entry in entries)
    second = services.entities_sync_core(batch_size=2)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 4)
    assert _rows() == rows
    assert AuditEntry.objects.count() == audit_before + 2
    # a change in the register reaches the entity, traced in the summary
    official.name = "Adrian Radan-Vell"
    official.save()
    third = services.entities_sync_core(batch_size=500)
    assert (third.updated, third.unchanged) == (1, 3)
    entity = Entity.objects.get(person=official)
    assert entity.caption == "Adrian Radan-Vell"
    assert [entity.pk, entity.ftm_id, ["caption", "properties"]] in _batch_entries()[-1].details["updated"]
    # batch size 1 gives the same rows
    snapshot = _rows()
    Entity.objects.all().delete()
    services.entities_sync_core(batch_size=1)
    assert _rows() == snapshot


def test_entity_upsert_alone_still_creates_updates_and_reports() -> None:
    proxy, _ = services.ftm_validate(data={"id": "u-1", "schema": "Person", "properties": {"name": ["Ida Holm"]}})
    entity, outcome = services.entity_upsert(proxy=proxy, dataset="t")
    assert outcome == "created" and entity.pk and entity.names.count() == 1
    assert services.entity_upsert(proxy=proxy, dataset="t")[1] == "unchanged"
    proxy.set("name", "Ida Holm-Berg")
    entity, outcome = services.entity_upsert(proxy=proxy, dataset="t")
    assert outcome == "updated" and set(entity.names.values_list("name", flat=True)) == {"Ida Holm-Berg"}


@pytest.mark.parametrize(("flag", "entries"), [([], 1), (["--one-by-one"], 4)])
def test_command_writes_in_batches_or_one_by_one(tmp_path: Path, flag: list[str], entries: int) -> None:
    path = tmp_path / "t.ftm.jsonl"
    path.write_text("\n".join(LINES), encoding="utf-8")
    with pytest.raises(CommandError):  # three lines are rejected: exit code 1
        call_command(
            "entities", "import-ftm", str(path), *flag, verbosity=0, stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert Entity.objects.count() == 4
    assert len(_batch_entries()) == entries
    _core_register()
    call_command("entities", "sync-core", *flag, verbosity=0, stdout=io.StringIO())
    assert len(_batch_entries()) == entries * 2


# --- a second run adds nothing ----------------------------------------------------------------


def _pairs() -> set[tuple[str, str]]:
    return set(MatchCandidate.objects.values_list("left__ftm_id", "right__ftm_id"))


def test_linking_twice_on_unchanged_entities_adds_no_pair(shared_data: Path) -> None:
    services.ftm_import(source=shared_data / "ftm" / "zala.ftm.jsonl", dataset="zala")
    services.ftm_import(source=shared_data / "ftm" / "parteispenden.ftm.jsonl", dataset="parteispenden")
    for schema in ("Person", "Company"):
        services.entities_link(schema=schema)
    pairs = _pairs()
    for schema in ("Person", "Company"):
        assert services.entities_link(schema=schema)["created"] == 0
    assert _pairs() == pairs


@pytest.mark.slow
def test_a_second_demo_ingest_changes_no_entity_and_adds_no_pair(
    tmp_path: Path, settings: Any, demo_countries: Callable[[int, float], DemoCountry]
) -> None:
    """The core people's residence comes from their declarations: the demo reads the declarations before it
    takes the core records in as entities, so the first ingest already links with every address and a second
    one (or a second ``entities link``) finds nothing new. Seen at seed 2026, scale 0.05: 318 pairs, then 324."""
    from probity.config import WarehouseSetting
    from probity.demo.services import demo_ingest, demo_load

    demo = demo_countries(2026, 0.05)
    demo_load(country=demo.country)
    settings.VAR_DIR = tmp_path
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    steps = demo_ingest(demo_dir=demo.out)
    assert [s.error for s in steps] == [""] * len(steps)
    entities = _rows()
    pairs = _pairs()
    assert pairs and any(row["fields"][3].get("address") for row in entities.values() if row["fields"][2] == "probity")
    (again,) = demo_ingest(demo_dir=demo.out, steps=["entities"])
    assert again.error == ""
    assert _rows() == entities  # no core entity gained an address the first run did not have
    assert _pairs() == pairs
    assert services.entities_link(schema="Person")["created"] == 0
    assert _pairs() == pairs
