"""Loading the demo country into the core tables: complete, idempotent, audited, and found by detectors."""

from __future__ import annotations

from typing import Any

import pytest

from probity.core.audit import audit_verify
from probity.core.models import (
    AuditEntry,
    FamilyRelation,
    Finding,
    Identifier,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
)
from probity.core.services import detector_run
from probity.demo.generator import Country
from probity.demo.services import demo_load

from .conftest import Generated

pytestmark = pytest.mark.django_db

MODELS: tuple[Any, ...] = (PublicBody, Person, Organisation, Position, FamilyRelation, PersonName, Identifier)


def _table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_loading_writes_bodies_people_companies_positions_and_families(small_country: Country) -> None:
    created = demo_load(country=small_country)
    assert created["public_bodies"] == PublicBody.objects.count() == len(small_country.bodies)
    assert created["people"] == Person.objects.count() == len(small_country.people)
    assert created["organisations"] == Organisation.objects.count() == len(small_country.companies)
    assert created["positions"] == Position.objects.count() == len(small_country.positions)
    assert created["family_relations"] == FamilyRelation.objects.count() == len(small_country.family)
    assert Identifier.objects.filter(scheme="company_register").count() == len(small_country.companies)
    assert Identifier.objects.filter(scheme="tax_id").count() == len(small_country.companies)


def test_loading_twice_creates_nothing_new(small_country: Country) -> None:
    demo_load(country=small_country)
    before = _table_counts()
    audit_entries = AuditEntry.objects.count()
    again = demo_load(country=small_country)
    assert again == dict.fromkeys(again, 0)
    assert _table_counts() == before
    assert AuditEntry.objects.count() == audit_entries


def test_bodies_keep_their_hierarchy_and_positions_their_holders(small_country: Country) -> None:
    demo_load(country=small_country)
    for body in small_country.bodies:
        row = PublicBody.objects.get(source_key=small_country.source_key(body.id))
        parent_key = row.parent.source_key if row.parent else None
        assert parent_key == (small_country.source_key(body.parent_id) if body.parent_id else None)
        assert row.country == "XD"
    for position in small_country.positions:
        loaded = Position.objects.select_related("holder").get(source_key=small_country.source_key(position.id))
        assert loaded.holder is not None
        assert loaded.holder.source_key == small_country.source_key(position.holder_id)
        assert loaded.is_pep == position.is_pep


def test_people_keep_their_names_in_other_scripts(small_country: Country) -> None:
    demo_load(country=small_country)
    scripts = set(PersonName.objects.filter(person__isnull=False).values_list("script", flat=True))
    assert {"Cyrl", "Hans"} <= scripts
    trilingual = next(p for p in small_country.people if {n.script for n in p.names} == {"Latn", "Cyrl", "Hans"})
    row = Person.objects.get(source_key=small_country.source_key(trilingual.id))
    assert row.name == trilingual.name
    assert set(row.names.values_list("name", "script")) == {(n.text, n.script) for n in trilingual.names[1:]}


def test_national_ids_are_stored_only_as_hashes(small_country: Country) -> None:
    demo_load(country=small_country)
    national = Identifier.objects.filter(scheme=Identifier.Scheme.NATIONAL_ID)
    assert national.count() == len(small_country.people)
    assert not national.exclude(value="").exists()
    person = small_country.people[0]
    expected = Identifier.hash_value(Identifier.Scheme.NATIONAL_ID, "XD", person.national_id)
    assert national.get(person__source_key=small_country.source_key(person.id)).value_hash == expected


def test_a_load_writes_one_summary_audit_entry_and_the_chain_stays_valid(small_country: Country) -> None:
    before = AuditEntry.objects.count()
    created = demo_load(country=small_country)
    entries = list(AuditEntry.objects.order_by("sequence")[before:])
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.action, entry.object_type) == ("system:demo", "create", "demo.country")
    assert entry.details["created"] == created
    assert audit_verify().ok


def test_shared_identifier_detector_flags_exactly_the_planted_companies(small_country: Country) -> None:
    demo_load(country=small_country)
    run = detector_run(code="CORE-ID-SHARED")
    flagged = set(Finding.objects.filter(run=run, outcome=Finding.Outcome.FLAG).values_list("subject_id", flat=True))
    planted_keys = {
        small_country.source_key(c) for s in small_country.schemes if s.type == "SHARED-TAX-ID" for c in s.companies
    }
    planted = {str(pk) for pk in Organisation.objects.filter(source_key__in=planted_keys).values_list("pk", flat=True)}
    assert len(planted) == 2 * sum(1 for s in small_country.schemes if s.type == "SHARED-TAX-ID")
    assert flagged == planted
    assert run.passed == len(small_country.companies) - len(planted)


def test_every_core_ground_truth_reference_resolves_after_load(generated: Generated) -> None:
    demo_load(country=generated.country)
    tables: dict[str, Any] = {
        "person": Person,
        "organisation": Organisation,
        "public_body": PublicBody,
        "position": Position,
    }
    for scheme in generated.json("ground_truth.json")["schemes"]:
        for kind, keys in scheme["refs"]["core"].items():
            found = set(tables[kind].objects.filter(source_key__in=keys).values_list("source_key", flat=True))
            assert found == set(keys), (scheme["id"], kind)
