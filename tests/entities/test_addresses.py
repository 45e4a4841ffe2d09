"""Addresses in entity resolution: folding, the Splink comparison and its explanation, and the paths that bring
people's addresses to the records (FtM ``address`` and ``addressEntity``, declarations, BODS statements)."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import FamilyRelation, Person
from probity.declarations.services import declaration_submit
from probity.entities import resolution, services
from probity.entities.models import Entity, MatchCandidate
from probity.entities.names import address_parts
from probity.ownership.services import ownership_ingest

# --- folding -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "postcode", "city", "expected"),
    [
        ("Station Rd. 12, 10482 Demopolis, Demoland", None, None, ("station road 12", "10482", "demopolis")),
        ("STATION RD. 12, Demopolis", "10482", None, ("station road 12", "10482", "demopolis")),
        ("Station Road, Demopolis", "10482", None, ("station road", "10482", "demopolis")),
        ("Harbour St 5, Northport", None, None, ("harbour street 5", None, "northport")),
        ("ул. Ленина 5, 101000 Москва, Россия", None, None, ("ulitsa lenina 5", "101000", "moskva")),
        ("12 miller street", "2612", "Braddon", ("12 miller street", "2612", "braddon")),
        ("", None, None, (None, None, None)),
    ],
)
def test_address_parts_fold_the_text(text: str, postcode: str | None, city: str | None, expected: tuple) -> None:
    parts = address_parts(text, postcode=postcode, city=city)
    assert (parts.street, parts.postcode, parts.city) == expected


def test_address_columns_are_null_without_an_address() -> None:
    assert resolution.address_columns(None) == {
        "addr_key": None,
        "addr_street": None,
        "addr_postcode": None,
        "addr_city": None,
    }
    assert resolution.address_columns("Oak Lane 3, 70123 Stonebridge")["addr_key"] == "oak lane 3|70123|stonebridge"


# --- the comparison and its explanation ------------------------------------------------------------------


def _record(uid: int, name: str, birth: str, address: str | None, postcode: str | None = None) -> dict[str, Any]:
    return {
        "unique_id": uid,
        "source_dataset": "test",
        **resolution.name_columns([name]),
        **resolution.birth_columns(birth),
        "countries": None,
        "identifiers": None,
        **resolution.address_columns(address, postcode=postcode),
    }


def _explained(address_a: str | None, address_b: str | None, postcode_b: str | None = None) -> dict[str, Any]:
    records = [
        _record(1, "Stefan Petrak", "1972-02-17", address_a),
        _record(2, "Stefan Petrak", "1972-02", address_b, postcode_b),
    ]
    (prediction,) = resolution.link_records(records, threshold=0.0)
    return {"probability": prediction.probability, **prediction.explanation["address"]}


def test_each_address_level_is_named_in_the_explanation_and_weighs_in_order() -> None:
    home = "Station Road 12, 10482 Demopolis, Demoland"
    same = _explained(home, "STATION RD. 12, Demopolis", "10482")
    no_number = _explained(home, "Station Road, Demopolis", "10482")
    same_city = _explained(home, "Oak Lane 301, Demopolis", "10777")
    other = _explained(home, "Castle Street 3, Stonebridge", "70717")
    missing = _explained(home, None)
    assert same["level"] == "same address" and same["weight"] > 10
    assert no_number["level"] == "same postcode, similar street" and no_number["weight"] > 5
    assert same_city["level"] == "same postcode or city only"
    assert other["level"] == "different" and other["weight"] < -3
    assert missing == {"probability": missing["probability"], "level": "missing", "weight": 0.0}
    order = [same, no_number, same_city, missing, other]
    assert [o["probability"] for o in order] == sorted((o["probability"] for o in order), reverse=True)
    assert other["probability"] < missing["probability"] < same["probability"]


def test_the_address_labels_are_in_the_level_table() -> None:
    labels = set(resolution.LEVEL_LABELS["address"].values())
    assert {"same address", "same postcode, similar street", "same postcode or city only", "different"} <= labels
    assert {"Address", *labels - {"missing", "different"}} <= set(resolution.ADDRESS_LABELS_FOR_TRANSLATION)


def test_people_at_one_address_are_blocked_together_even_without_a_birth_date() -> None:
    records = [
        _record(1, "Ольга Кузнецова", "", "South Street 97, Northport", "20274"),
        _record(2, "Kuznetsova Olga", "1979-02-25", "South Street 97, 20274 Northport, Demoland"),
    ]
    (prediction,) = resolution.link_records(records, threshold=0.0)
    assert prediction.explanation["address"]["level"] == "same address"
    assert prediction.probability > 0.5


# --- addresses reach the records ---------------------------------------------------------------------------

NAMESAKES = "\n".join(
    json.dumps(e)
    for e in [
        {
            "id": "reg-1",
            "schema": "Person",
            "properties": {"name": ["Mira Faber"], "birthDate": ["1982-12"], "addressEntity": ["addr-1"]},
        },
        {
            "id": "addr-1",
            "schema": "Address",
            "properties": {
                "full": ["Castle Street 3, 70717 Stonebridge"],
                "street": ["Castle St. 3"],
                "postalCode": ["70717"],
                "city": ["Stonebridge"],
            },
        },
        {
            "id": "decl-1",
            "schema": "Person",
            "properties": {
                "name": ["Mira Faber"],
                "birthDate": ["1982-12-24"],
                "address": ["Castle Street 3, 70717 Stonebridge, Demoland"],
            },
        },
        {
            "id": "decl-2",
            "schema": "Person",
            "properties": {
                "name": ["Mira Faber"],
                "birthDate": ["1982-12-03"],
                "address": ["University Street 59, 90272 Southbay, Demoland"],
            },
        },
    ]
)


@pytest.mark.django_db
def test_ftm_addresses_and_address_entities_reach_the_records_and_the_explanation() -> None:
    services.ftm_import(source=io.StringIO(NAMESAKES), dataset="test")
    entities = {e.ftm_id: e for e in Entity.objects.prefetch_related("names")}
    refs = {"addr-1": entities["addr-1"].properties}
    record = resolution.record_of(entities["reg-1"], refs)
    assert (record["addr_street"], record["addr_postcode"], record["addr_city"]) == (
        "castle street 3",
        "70717",
        "stonebridge",
    )
    assert resolution.record_of(entities["reg-1"])["addr_key"] is None  # the Address entity not given
    assert resolution.record_of(entities["decl-2"])["addr_street"] == "university street 59"

    services.entities_link(threshold=0.01)
    pairs = {
        frozenset((c.left.ftm_id, c.right.ftm_id)): c for c in MatchCandidate.objects.select_related("left", "right")
    }
    same_home = pairs[frozenset(("reg-1", "decl-1"))]
    assert same_home.explanation["address"]["level"] == "same address"
    namesake = pairs.get(frozenset(("reg-1", "decl-2")))
    assert namesake is None or (
        namesake.explanation["address"]["level"] == "different" and namesake.probability < same_home.probability
    )


@pytest.mark.django_db
def test_declared_addresses_reach_the_core_people_entities_but_not_the_ftm_export() -> None:
    declarant = Person.objects.create(name="Nikolas Meyer", birth_date=date(1963, 1, 7))
    spouse = Person.objects.create(name="Xu Xiuying", birth_date=date(1967, 3, 6))
    parent = Person.objects.create(name="Marek Meyer", birth_date=date(1940, 7, 9))
    stranger = Person.objects.create(name="Marek Meyer", birth_date=date(1951, 1, 1))
    FamilyRelation.objects.create(person=declarant, relative=spouse, kind="spouse")
    FamilyRelation.objects.create(person=declarant, relative=parent, kind="parent")
    home, parents = "Industrial Way 178, 20861 Northport, Demoland", "Airport Road 4, 40111 Rivermouth, Demoland"
    payload = {
        "schema_version": "1.0",
        "declaration_type": "annual",
        "period": {"year": 2023},
        "reporting_currency": "EUR",
        "declarant": {"name": "Nikolas Meyer", "birth_date": "1963-01-07", "address": home},
        "position": {"title": "Deputy Minister", "body": {"name": "Ministry of Tests"}},
        "family_members": [
            {"id": "fm-1", "relation": "spouse", "name": "Xu Xiuying", "birth_date": "1967-03-06", "address": home},
            {"id": "fm-2", "relation": "parent", "name": "Marek Meyer", "birth_date": "1940-07-09", "address": parents},
        ],
    }
    result = declaration_submit(declarant=declarant, payload=payload)
    assert not getattr(result, "errors", None), result
    assert services.declared_addresses() == {declarant.pk: home, spouse.pk: home, parent.pk: parents}

    services.entities_sync_core()
    stored = {e.person_id: e.properties.get("address") for e in Entity.objects.filter(person__isnull=False)}
    assert stored[declarant.pk] == [home] and stored[spouse.pk] == [home] and stored[parent.pk] == [parents]
    assert stored[stranger.pk] is None
    out = io.StringIO()
    services.ftm_export(out=out)
    assert home not in out.getvalue() and parents not in out.getvalue()  # people's homes never leave Probity


@pytest.mark.django_db
def test_the_register_residence_reaches_the_bods_party_entities(tmp_path: Path) -> None:
    publication = {"publicationDate": "2024-01-01", "bodsVersion": "0.4", "publisher": {"name": "Test register"}}

    def statement(n: str, record_type: str, details: dict[str, Any], subject: str) -> dict[str, Any]:
        return {
            "statementId": f"{n:0>32}",
            "statementDate": "2024-01-01",
            "recordId": n,
            "recordType": record_type,
            "declarationSubject": subject,
            "publicationDetails": publication,
            "recordDetails": {"isComponent": False, **details},
        }

    residence = {
        "type": "residence",
        "address": "Castle St. 3, Stonebridge",
        "postCode": "70717",
        "country": {"name": "Demoland", "code": "XD"},
    }
    statements = [
        statement(
            "p1",
            "person",
            {
                "personType": "knownPerson",
                "names": [{"type": "legal", "fullName": "Mira Faber"}],
                "birthDate": "1982-12",
                "addresses": [residence],
            },
            "c1",
        ),
        statement("c1", "entity", {"entityType": {"type": "registeredEntity"}, "name": "Faber Trading LLC"}, "c1"),
        statement(
            "r1",
            "relationship",
            {
                "subject": "c1",
                "interestedParty": "p1",
                "interests": [{"type": "shareholding", "directOrIndirect": "direct", "share": {"exact": 100}}],
            },
            "c1",
        ),
    ]
    path = tmp_path / "register.json"
    path.write_text(json.dumps(statements), encoding="utf-8")
    ownership_ingest(path=path, dataset="register")
    services.entities_sync_core()
    person = Entity.objects.prefetch_related("names").get(schema="Person", caption="Mira Faber")
    assert person.properties["address"] == ["Castle St. 3, 70717 Stonebridge"]
    record = resolution.record_of(person)
    assert (record["addr_street"], record["addr_postcode"], record["addr_city"]) == (
        "castle street 3",
        "70717",
        "stonebridge",
    )
