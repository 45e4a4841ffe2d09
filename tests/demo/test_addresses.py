"""People's residence addresses in the demo country: in the register (BODS ``addresses``, with noise at the
documented rates) and in the declarations (the declarant's and each family member's), consistent with the
ground truth."""

from __future__ import annotations

from typing import Any

from probity.declarations.adapters import from_demo
from probity.declarations.schema import load_schema
from probity.demo.generator import Country
from probity.demo.noise import (
    ADDRESS_NOISE,
    LOCAL_MOVES,
    STREET_ABBREVIATIONS,
    abbreviated_street,
    without_house_number,
)
from probity.demo.records import bods_people
from probity.demo.writers import public_id

from .conftest import Generated


def _people_statements(generated: Generated) -> dict[str, dict[str, Any]]:
    return {
        s["recordId"]: s["recordDetails"] for s in generated.json("bods/statements.json") if s["recordType"] == "person"
    }


def test_street_helpers() -> None:
    assert abbreviated_street("Station Road 12") == "Station Rd. 12"
    assert abbreviated_street("Victory Boulevard 3", capitals=True) == "VICTORY BLVD. 3"
    assert abbreviated_street("Garden Row 7") == "Garden Row 7"  # no short form: unchanged
    assert without_house_number("Station Road 12") == "Station Road"


def test_register_persons_give_their_residence_with_noise_at_the_documented_rates(generated: Generated) -> None:
    country = generated.country
    involved = {i for s in country.schemes for i in s.people}
    eligible = [p for p in bods_people(country) if p not in involved]
    statements = _people_statements(generated)
    truth = {i["id"]: i for i in generated.json("ground_truth.json")["identities"]}
    found = dict.fromkeys(ADDRESS_NOISE, 0)
    for person_id in bods_people(country):
        details = statements[public_id(person_id)]
        home = country.address(country.person(person_id).address_id)
        kinds = [k for k in truth[person_id].get("noise", {}).get("bods", []) if k in ADDRESS_NOISE]
        assert len(kinds) <= 1
        if person_id in involved:
            assert not kinds  # people of planted schemes are written as they are
        if "missing_address" in kinds:
            assert "addresses" not in details
            found["missing_address"] += 1
            continue
        (address,) = details["addresses"]
        assert address["type"] == "residence" and address["country"]["code"] == "XD"
        written_street, written_city = address["address"].rsplit(", ", 1)
        if not kinds:
            assert (written_street, written_city, address["postCode"]) == (home.street, home.city, home.postcode)
            continue
        (kind,) = kinds
        found[kind] += 1
        if kind == "moved":
            assert written_street != home.street and address["postCode"] != home.postcode
        elif kind == "abbreviated_street":
            assert written_street.lower() != home.street.lower()
            assert written_street.upper() == abbreviated_street(home.street, capitals=True)
            assert (written_city, address["postCode"]) == (home.city, home.postcode)
        else:
            assert written_street == without_house_number(home.street) != home.street
            assert (written_city, address["postCode"]) == (home.city, home.postcode)
    for kind, rate in ADDRESS_NOISE.items():
        assert abs(found[kind] - rate * len(eligible)) <= 1, (kind, found[kind], len(eligible))


def test_the_rates_and_local_moves_hold_on_a_larger_country(larger_country: Country) -> None:
    country = larger_country
    noise = country.noise
    involved = {i for s in country.schemes for i in s.people}
    eligible = len([p for p in bods_people(country) if p not in involved])
    for kind, rate in ADDRESS_NOISE.items():
        assert abs(len(noise.applied["bods"][kind]) / eligible - rate) < 0.01, kind
    moved = noise.applied["bods"]["moved"]
    local = 0
    for person_id in moved:
        previous = noise.register_addresses[person_id]
        assert previous is not None
        local += previous.city == country.address(country.person(person_id).address_id).city
    assert local / len(moved) >= LOCAL_MOVES - 0.2  # most people move within their city
    abbreviated = [noise.register_addresses[p] for p in noise.applied["bods"]["abbreviated_street"]]
    short_forms = {v.upper() for v in STREET_ABBREVIATIONS.values()}
    assert all(a is not None and set(a.street.upper().split()) & short_forms for a in abbreviated)


def test_declarations_give_the_household_address_and_the_parents_their_own(generated: Generated) -> None:
    country = generated.country
    checked_parent = checked_spouse = 0
    for path in sorted((generated.out / "declarations").glob("*.json")):
        document = generated.json(f"declarations/{path.name}")
        if not isinstance(document, dict) or "declarant" not in document:
            continue
        declarant_id = document["declarant"]["id"].removeprefix("demo-")
        declarant = country.person(declarant_id)
        assert document["declarant"]["address"] == country.address(declarant.address_id).full
        for member in document["family"]:
            person = country.person(member["id"].removeprefix("demo-"))
            assert member["address"] == country.address(person.address_id).full
            if member["relation"] in ("spouse", "child"):
                assert member["address"] == document["declarant"]["address"]
                checked_spouse += 1
            if member["relation"] == "parent":
                assert member["address"] != document["declarant"]["address"]
                checked_parent += 1
        # the 1.0 form keeps them, and the schema accepts them
        content = from_demo(document)
        assert [m.get("address") for m in content["family_members"]] == [m["address"] for m in document["family"]]
        assert "address" in load_schema()["properties"]["family_members"]["items"]["properties"]
    assert checked_spouse and checked_parent
