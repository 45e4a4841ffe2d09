"""The demo country's BODS register ingests cleanly, and every planted family-supplier scheme is traced
from the contract's supplier through holding companies and nominees to the official's relative."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import FamilyRelation, Person
from probity.demo.services import demo_load
from probity.ownership.models import IngestIssue, Party
from probity.ownership.selectors import ownership_view
from probity.ownership.services import ownership_ingest
from tests.conftest import DEMO_SCALE, DEMO_SEED, DemoCountry

SEED, SCALE = DEMO_SEED, DEMO_SCALE


@pytest.fixture(scope="session")
def demo_files(demo_country: DemoCountry) -> Path:
    return demo_country.out


def _schemes(folder: Path, kind: str) -> list[dict[str, Any]]:
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    return [s for s in truth["schemes"] if s["type"] == kind]


def test_demo_register_ingests_without_errors_and_twice_stores_nothing(db: None, demo_files: Path) -> None:
    first = ownership_ingest(path=demo_files / "bods" / "statements.json", dataset="demo")
    assert first.errors == 0, list(first.batch.issues.filter(severity="error").values_list("message", flat=True)[:5])
    assert first.batch.statements_stored == first.batch.statements_read > 100
    assert not IngestIssue.objects.filter(code__in=["dangling_reference", "self_ownership"]).exists()
    again = ownership_ingest(path=demo_files / "bods" / "statements.json", dataset="demo")
    assert again.batch.statements_stored == 0


def test_planted_family_supplier_schemes_are_traced_from_the_supplier_to_the_relative(
    db: None, demo_country: DemoCountry, demo_files: Path
) -> None:
    demo_load(country=demo_country.country)
    ownership_ingest(path=demo_files / "bods" / "statements.json", dataset="demo")
    schemes = _schemes(demo_files, "CONFLICT-FAMILY-SUPPLIER")
    assert schemes
    for scheme in schemes:
        registry_numbers = [
            p.removeprefix("XD-CR-") for p in scheme["refs"]["ocds"]["parties"] if p.startswith("XD-CR-")
        ]
        suppliers = [
            p
            for p in Party.objects.filter(dataset="demo", kind=Party.Kind.ENTITY)
            if any(i.get("id") in registry_numbers for i in p.identifiers)
        ]
        assert suppliers, scheme["id"]
        involved = {f"demo-{pid}" for pid in scheme["involved"]["people"]}
        for supplier in suppliers:
            owners = [o for o in ownership_view(party=supplier).owners if o.status == "owner" and o.party.is_person]
            relatives = [o for o in owners if o.party.record_id in involved]
            assert relatives, (scheme["id"], scheme["variant"], [(o.party.record_id, o.status) for o in owners])
            # The register's person is the core person (linked by name in any script and birth month),
            # and that person is the family member of the official whose body awarded the contract.
            for owner in relatives:
                assert owner.party.person is not None, (scheme["id"], owner.party.name)
                official_keys = {f"demo:{SEED}:{SCALE:g}:{pid}" for pid in scheme["involved"]["people"]}
                officials = Person.objects.filter(source_key__in=official_keys).exclude(pk=owner.party.person.pk)
                assert (
                    FamilyRelation.objects.filter(person__in=officials, relative=owner.party.person).exists()
                    or FamilyRelation.objects.filter(relative__in=officials, person=owner.party.person).exists()
                )
