"""People and organisations as managed records: create, edit, merge, split, undo, and bulk import."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from probity.core import people
from probity.core.models import (
    AuditEntry,
    FamilyRelation,
    Identifier,
    LinkTouch,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
)
from probity.declarations.models import Declaration
from probity.entities.models import Entity
from probity.ownership.models import Party, Statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(make_user: Callable[..., User]) -> User:
    return make_user("analyst")


def _party(person: Person, record_id: str) -> Party:
    statement = Statement.objects.create(
        dataset="t",
        statement_id=f"s-{record_id}",
        content_hash="0",
        record_id=record_id,
        record_type="person",
        source_version="0.4",
        sequence=1,
        payload={},
    )
    return Party.objects.create(
        dataset="t", record_id=record_id, kind="person", name=person.name, statement=statement, person=person
    )


def _graph(analyst: User) -> dict[str, Any]:
    body = people.public_body_save(actor=analyst, name="Ministry of Roads", kind="ministry")
    keep = people.person_save(actor=analyst, name="Ana Petrova", birth_date=date(1970, 5, 1))
    dup = people.person_save(actor=analyst, name="Anna Petrova", nationality="BG")
    spouse = people.person_save(actor=analyst, name="Ivan Petrov")
    people.family_relation_add(actor=analyst, person=dup, relative=spouse, kind="spouse")
    position = people.position_save(actor=analyst, body=body, title="Minister", holder=dup, start_date=date(2020, 1, 1))
    declaration = Declaration.objects.create(declarant=dup, declaration_type="annual", year=2023)
    entity = Entity.objects.create(ftm_id="pep-1", schema="Person", caption="Anna Petrova", dataset="peps", person=dup)
    return {
        "body": body,
        "keep": keep,
        "dup": dup,
        "spouse": spouse,
        "position": position,
        "declaration": declaration,
        "entity": entity,
    }


def test_create_and_edit_are_audited_and_a_national_id_is_stored_only_as_a_hash(analyst: User) -> None:
    person = people.person_save(actor=analyst, name="Mira Kos", national_id="850101-1234", national_id_issuer="SI")
    identifier = Identifier.objects.get(person=person)
    assert identifier.value == "" and identifier.value_hash  # never in clear
    people.person_save(actor=analyst, person=person, name="Mira Kos-Novak")
    changes = AuditEntry.objects.filter(object_type="core.person", object_id=str(person.pk)).order_by("sequence")
    assert [e.action for e in changes] == ["create", "update"]
    assert all(e.actor == analyst.username for e in changes)
    assert changes[1].details["fields"]["name"] == {"from": "Mira Kos", "to": "Mira Kos-Novak"}
    # the manual change queues linking for the person (core.links)
    assert LinkTouch.objects.filter(kind="core.person", key=str(person.pk)).exists()


def test_a_position_ending_before_it_starts_is_refused_with_the_reason(analyst: User) -> None:
    body = people.public_body_save(actor=analyst, name="Agency")
    holder = people.person_save(actor=analyst, name="Lea Horvat")
    with pytest.raises(ValidationError, match="cannot be before its start"):
        people.position_save(
            actor=analyst,
            body=body,
            title="Director",
            holder=holder,
            start_date=date(2022, 1, 1),
            end_date=date(2021, 1, 1),
        )


def test_merge_moves_every_record_including_module_tables_and_undo_restores_them(analyst: User) -> None:
    graph = _graph(analyst)
    keep, dup = graph["keep"], graph["dup"]
    assert isinstance(keep, Person) and isinstance(dup, Person)
    party = _party(dup, "p-dup")
    dup_pk = dup.pk

    entry = people.record_merge(actor=analyst, keep=keep, merged=dup)

    assert not Person.objects.filter(pk=dup_pk).exists()
    assert Position.objects.get(pk=graph["position"].pk).holder_id == keep.pk
    assert Declaration.objects.get(pk=graph["declaration"].pk).declarant_id == keep.pk
    assert Party.objects.get(pk=party.pk).person_id == keep.pk  # ownership module's table followed
    assert Entity.objects.get(pk=graph["entity"].pk).person_id == keep.pk  # entities module's table followed
    assert FamilyRelation.objects.filter(person=keep, relative=graph["spouse"]).exists()
    keep.refresh_from_db()
    assert keep.nationality == "BG"  # filled from the merged record
    assert PersonName.objects.filter(person=keep, name="Anna Petrova").exists()
    assert entry.actor == analyst.username and entry.details["event"] == people.MERGE_EVENT

    people.record_undo(actor=analyst, sequence=entry.sequence)

    restored = Person.objects.get(pk=dup_pk)
    assert restored.name == "Anna Petrova" and restored.nationality == "BG"
    assert Position.objects.get(pk=graph["position"].pk).holder_id == dup_pk
    assert Declaration.objects.get(pk=graph["declaration"].pk).declarant_id == dup_pk
    assert Party.objects.get(pk=party.pk).person_id == dup_pk
    assert FamilyRelation.objects.filter(person_id=dup_pk, relative=graph["spouse"]).exists()
    keep.refresh_from_db()
    assert keep.nationality == ""
    assert not PersonName.objects.filter(person=keep, name="Anna Petrova").exists()
    with pytest.raises(people.RecordRefused, match="already been undone"):
        people.record_undo(actor=analyst, sequence=entry.sequence)


def test_merge_is_refused_when_the_national_id_numbers_differ(analyst: User) -> None:
    one = people.person_save(actor=analyst, name="Petar Ilić", national_id="111", national_id_issuer="RS")
    two = people.person_save(actor=analyst, name="Petar Ilic", national_id="222", national_id_issuer="RS")
    with pytest.raises(people.RecordRefused, match="different national identity numbers") as refusal:
        people.record_merge(actor=analyst, keep=one, merged=two)
    assert "Petar Ilić" in str(refusal.value) and "Petar Ilic" in str(refusal.value)
    assert Person.objects.filter(pk=two.pk).exists()
    # The same number (written differently) is no obstacle.
    three = people.person_save(actor=analyst, name="P. Ilić", national_id="1-1-1", national_id_issuer="RS")
    people.record_merge(actor=analyst, keep=one, merged=three)
    assert not Person.objects.filter(pk=three.pk).exists()


def test_merging_two_spouses_keeps_the_removed_tie_for_undo(analyst: User) -> None:
    one = people.person_save(actor=analyst, name="Eva Novak")
    two = people.person_save(actor=analyst, name="Eva Novak (2)")
    people.family_relation_add(actor=analyst, person=one, relative=two, kind="spouse")
    two_pk = two.pk
    entry = people.record_merge(actor=analyst, keep=one, merged=two)
    assert not FamilyRelation.objects.exists()  # a tie to oneself cannot stay
    people.record_undo(actor=analyst, sequence=entry.sequence)
    assert FamilyRelation.objects.filter(person=one, relative_id=two_pk, kind="spouse").exists()


def test_split_moves_the_chosen_records_to_a_new_person_and_undo_moves_them_back(analyst: User) -> None:
    graph = _graph(analyst)
    dup = graph["dup"]
    assert isinstance(dup, Person)
    position = graph["position"]
    tokens = [f"core.position:{position.pk}", f"declarations.declaration:{graph['declaration'].pk}"]

    created, entry = people.record_split(actor=analyst, source=dup, name="Anna Petrova (Varna)", records=tokens)

    assert Position.objects.get(pk=position.pk).holder_id == created.pk
    assert Declaration.objects.get(declarant_id=created.pk).year == 2023
    assert FamilyRelation.objects.filter(person=dup).exists()  # not chosen: stays

    people.record_undo(actor=analyst, sequence=entry.sequence)
    assert not Person.objects.filter(pk=created.pk).exists()
    assert Position.objects.get(pk=position.pk).holder_id == dup.pk


def test_split_refuses_a_record_that_does_not_point_at_the_person(analyst: User) -> None:
    graph = _graph(analyst)
    with pytest.raises(people.RecordRefused, match="does not point at"):
        people.record_split(
            actor=analyst,
            source=graph["keep"],
            name="X",
            records=[f"core.position:{graph['position'].pk}"],
        )
    assert Person.objects.filter(name="X").count() == 0  # the whole split was rolled back


def test_organisations_merge_and_are_refused_on_different_registry_numbers(analyst: User) -> None:
    one = people.organisation_save(actor=analyst, name="Acme Ltd", registry_number="0123", registry_issuer="GB")
    two = people.organisation_save(actor=analyst, name="ACME Limited", registry_number="0123", registry_issuer="GB")
    three = people.organisation_save(actor=analyst, name="Acme Holdings", registry_number="9999", registry_issuer="GB")
    with pytest.raises(people.RecordRefused, match="same company register"):
        people.record_merge(actor=analyst, keep=one, merged=three)
    people.record_merge(actor=analyst, keep=one, merged=two)
    assert Identifier.objects.filter(organisation=one).count() == 2
    assert not Organisation.objects.filter(pk=two.pk).exists()


PEOPLE_CSV = """key,name,birth_date,gender,nationality,national_id,national_id_issuer,other_names
p1,Jana Horváth,1980-02-03,female,SK,800203/1234,SK,Яна Хорват
p2,,1975-01-01,,,,,
p3,Karol Novák,03/04/1960,male,SK,,,
p4,Marek Varga,1966-07-08,male,SK,,,
"""


def test_csv_import_keeps_good_rows_lists_broken_ones_and_never_duplicates(analyst: User) -> None:
    report = people.records_import_csv(actor=analyst, kind="people", stream=StringIO(PEOPLE_CSV), source_name="p.csv")
    assert (report.created, len(report.rejected)) == (2, 2)
    assert report.rejected[0][0] == 3 and "name" in report.rejected[0][1]
    assert report.rejected[1][0] == 4 and "03/04/1960" in report.rejected[1][1]
    jana = Person.objects.get(source_key="csv:p1")
    assert PersonName.objects.filter(person=jana, name="Яна Хорват").exists()
    assert Identifier.objects.filter(person=jana, scheme="national_id").count() == 1

    again = people.records_import_csv(
        actor=analyst,
        kind="people",
        stream=StringIO(PEOPLE_CSV.replace("Marek Varga", "Marek Vargа")),
        source_name="p.csv",
    )
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert Person.objects.count() == 2
    assert Identifier.objects.filter(person=jana).count() == 1
    summary = AuditEntry.objects.filter(details__event=people.IMPORT_EVENT).order_by("sequence").last()
    assert summary is not None and summary.details["rejected"] == 2 and summary.actor == analyst.username


def test_csv_import_of_family_ties_names_unknown_keys(analyst: User) -> None:
    people.records_import_csv(actor=analyst, kind="people", stream=StringIO(PEOPLE_CSV), source_name="p.csv")
    family = "person_key,relative_key,relation\np1,p4,spouse\np1,p9,child\np1,p4,cousin\n"
    report = people.records_import_csv(actor=analyst, kind="family", stream=StringIO(family))
    assert report.created == 1
    assert [line for line, _reason in report.rejected] == [3, 4]
    assert "p9" in report.rejected[0][1] and "cousin" in report.rejected[1][1]


def test_a_csv_without_the_needed_columns_is_refused_naming_them(analyst: User) -> None:
    with pytest.raises(people.RecordRefused, match="no column key"):
        people.records_import_csv(actor=analyst, kind="people", stream=StringIO("name\nX\n"))


def _ftm(entity_id: str, schema: str, **properties: object) -> str:
    props = {k: v if isinstance(v, list) else [v] for k, v in properties.items()}
    return json.dumps({"id": entity_id, "schema": schema, "properties": props})


def test_ftm_import_creates_people_organisations_bodies_ties_and_positions(analyst: User) -> None:
    lines = [
        _ftm("per-1", "Person", name="Goran Marić", birthDate="1969-03-04", alias="Горан Марић"),
        _ftm("per-2", "Person", name="Ivana Marić"),
        _ftm("org-1", "Company", name="Marić Gradnja d.o.o.", registrationNumber="080012345", jurisdiction="hr"),
        _ftm("pb-1", "PublicBody", name="City of Split", country="hr"),
        _ftm("fam-1", "Family", person="per-1", relative="per-2", relationship="wife"),
        _ftm("pos-1", "Position", name="Mayor", organization="pb-1", topics="role.pep"),
        _ftm("occ-1", "Occupancy", holder="per-1", post="pos-1", startDate="2021-06-01"),
        "{not json",
        _ftm("fam-2", "Family", person="per-1", relative="per-404", relationship="son"),
        _ftm("per-3", "Person", birthDate="1990-01-01"),
    ]
    stream = StringIO("\n".join(lines) + "\n")
    report = people.records_import_ftm(actor=analyst, stream=stream, source_name="x.ftm.json")

    assert [line for line, _reason in report.rejected] == [8, 9, 10]
    goran = Person.objects.get(source_key="ftm:per-1")
    assert goran.birth_date == date(1969, 3, 4)
    assert PersonName.objects.filter(person=goran, name="Горан Марић").exists()
    assert FamilyRelation.objects.get(person=goran).kind == "spouse"
    position = Position.objects.get(holder=goran)
    assert (position.title, position.body.name, position.is_pep) == ("Mayor", "City of Split", True)
    organisation = Organisation.objects.get(source_key="ftm:org-1")
    assert Identifier.objects.filter(organisation=organisation, scheme="company_register").exists()
    assert PublicBody.objects.filter(source_key="ftm:pb-1").exists()

    counts = (
        Person.objects.count(),
        Organisation.objects.count(),
        Position.objects.count(),
        FamilyRelation.objects.count(),
    )
    again = people.records_import_ftm(actor=analyst, stream=StringIO("\n".join(lines)), source_name="x.ftm.json")
    assert again.created == 0
    assert (
        Person.objects.count(),
        Organisation.objects.count(),
        Position.objects.count(),
        FamilyRelation.objects.count(),
    ) == counts


def test_references_are_found_generically_in_module_tables() -> None:
    labels = {ref.label for ref in people.references(Person)}
    assert {
        "core.position",
        "core.familyrelation",
        "declarations.declaration",
        "ownership.party",
        "entities.entity",
    } <= labels


def test_a_line_that_is_not_utf8_is_listed_not_a_failure(analyst: User) -> None:
    from io import BytesIO

    stream = BytesIO(_ftm("per-9", "Person", name="Ok Person").encode() + b"\n\xff\xfe broken\n")
    report = people.records_import_ftm(actor=analyst, stream=stream)
    assert report.created == 1 and report.rejected == [(2, "The line is not UTF-8 text.")]
