"""FollowTheMoney import (idempotent; bad entities named and skipped) and export of Probity's registers."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from followthemoney import model

from probity.core.models import AuditEntry, FamilyRelation, Identifier, Organisation, Person, PersonName
from probity.entities import services
from probity.entities.models import Entity, EntityName, EntityReference

pytestmark = pytest.mark.django_db


def test_opensanctions_entities_import_with_names_and_links(shared_data: Path) -> None:
    report = services.ftm_import(source=shared_data / "ftm" / "zala.ftm.jsonl", dataset="zala")
    assert report.rejected == 0, report.errors
    assert report.created == 91
    person = Entity.objects.get(ftm_id="NK-2Tbri3s6GgNtAwsSXh4qpL")
    assert person.schema == "Person"
    assert person.birth_date == "1988-01-07"
    assert "debarment" in person.topics
    names = set(person.names.values_list("name", flat=True))
    assert "Мария Александровна Осетрова" in names
    # a Latin transliteration is derived for each name in another script
    assert person.names.filter(kind=EntityName.Kind.TRANSLITERATION, script="Latn").exists()
    assert EntityReference.objects.filter(target_id=person.ftm_id).exists()  # her sanction points at her


def test_reimporting_the_same_file_changes_nothing(shared_data: Path) -> None:
    path = shared_data / "ftm" / "parteispenden.ftm.jsonl"
    services.ftm_import(source=path, dataset="parteispenden")
    audit_before = AuditEntry.objects.count()
    entities_before = Entity.objects.count()
    again = services.ftm_import(source=path, dataset="parteispenden")
    assert again.created == 0 and again.updated == 0
    assert again.unchanged == entities_before == 475
    assert AuditEntry.objects.count() == audit_before


BAD_LINES = [
    '{"id": "ok-1", "schema": "Person", "properties": {"name": ["Anna Berg"], "birthDate": ["1980-13-45"]}}',
    "not json at all",
    '{"schema": "Person", "properties": {"name": ["No Id"]}}',
    '{"id": "bad-schema", "schema": "Spaceship", "properties": {}}',
    '{"id": "bad-prop", "schema": "Person", "properties": {"name": ["X Y"], "wingspan": ["3m"]}}',
    '{"id": "no-name", "schema": "Company", "properties": {"country": ["de"]}}',
    '{"id": "abstract", "schema": "Thing", "properties": {"name": ["T"]}}',
    '{"id": "ok-2", "schema": "Company", "properties": {"name": ["Berg GmbH"], "registrationNumber": ["HRB 1"]}}',
    '{"id": "mixed", "schema": "Person", "properties": {"name": ["Влад Putin"]}}',
]


def test_bad_entities_are_reported_by_line_and_id_and_the_rest_is_kept() -> None:
    report = services.ftm_import(source=io.StringIO("\n".join(BAD_LINES)), dataset="test")
    assert set(Entity.objects.values_list("ftm_id", flat=True)) == {"ok-1", "ok-2", "mixed"}
    reasons = {(e["line"], e["id"]): e["reason"] for e in report.errors}
    assert reasons[(2, None)].startswith("the record is not valid JSON")
    assert reasons[(3, None)] == "the entity has no id"
    assert "unknown schema 'Spaceship'" in reasons[(4, "bad-schema")]
    assert "no property 'wingspan'" in reasons[(5, "bad-prop")]
    assert reasons[(6, "no-name")] == "the Company has no name"
    assert "abstract" in reasons[(7, "abstract")]
    # the impossible date is dropped with a warning; the person is kept
    assert Entity.objects.get(ftm_id="ok-1").birth_date == ""
    assert any("1980-13-45" in w["reason"] for w in report.warnings)


def test_command_exits_1_when_entities_were_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ftm.jsonl"
    path.write_text("\n".join(BAD_LINES), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("entities", "import-ftm", str(path), verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
    assert caught.value.returncode == 1
    assert Entity.objects.filter(dataset="mixed").count() == 3


def test_command_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("entities", "import-ftm", str(tmp_path / "nope.jsonl"), verbosity=0)
    assert caught.value.returncode == 2


def _core_register() -> tuple[Person, Person, Organisation]:
    official = Person.objects.create(name="Adrian Radan", birth_date=date(1980, 9, 6), nationality="XD")
    spouse = Person.objects.create(name="Mira Radan")
    PersonName.objects.create(person=official, name="Адриан Радан", script="Cyrl")
    Identifier.objects.create(person=official, scheme="national_id", issuer="XD", value="800906-1234")
    Identifier.objects.create(person=official, scheme="tax_id", issuer="XD", value="TIN-77")
    FamilyRelation.objects.create(person=official, relative=spouse, kind="spouse")
    company = Organisation.objects.create(name="Westbridge Medical Supplies Ltd", jurisdiction="XD")
    Identifier.objects.create(organisation=company, scheme="company_register", issuer="XD", value="31675063")
    return official, spouse, company


def test_export_writes_valid_ftm_without_national_ids() -> None:
    official, spouse, company = _core_register()
    out = io.StringIO()
    count = services.ftm_export(out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == count == 4
    by_id = {line["id"]: line for line in lines}
    for line in lines:
        model.get_proxy(line)  # parses as FtM
    person = by_id[f"probity-person-{official.pk}"]
    assert person["properties"]["alias"] == ["Адриан Радан"]
    assert person["properties"]["taxNumber"] == ["TIN-77"]
    assert "800906-1234" not in out.getvalue()
    assert by_id[f"probity-organisation-{company.pk}"]["properties"]["registrationNumber"] == ["31675063"]
    family = next(line for line in lines if line["schema"] == "Family")
    assert family["properties"]["relationship"] == ["spouse"]
    assert AuditEntry.objects.filter(action="export", object_type="entities.ftm").exists()


def test_core_records_are_taken_in_as_the_probity_dataset_once() -> None:
    official, _spouse, _company = _core_register()
    first = services.entities_sync_core()
    second = services.entities_sync_core()
    assert first.created == 4 and second.created == 0 and second.updated == 0
    entity = Entity.objects.get(ftm_id=f"probity-person-{official.pk}")
    assert entity.person_id == official.pk and entity.dataset == "probity"


def test_ownership_from_bods_is_exported_as_ftm_ownership(shared_data: Path) -> None:
    from probity.ownership.services import ownership_ingest

    ownership_ingest(path=shared_data / "bods" / "examples" / "bods-package.json", dataset="example")
    out = io.StringIO()
    services.ftm_export(out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    for line in lines:
        model.get_proxy(line)
    ownerships = [line for line in lines if line["schema"] == "Ownership"]
    assert ownerships
    ids = {line["id"] for line in lines}
    for ownership in ownerships:
        assert set(ownership["properties"]["owner"]) <= ids  # owners and assets are exported too
        assert set(ownership["properties"]["asset"]) <= ids
