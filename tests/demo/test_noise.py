"""The demo country's noise: documented rates, no change to the country itself, a complete identity ground
truth, distinct look-alikes, and nominee layers and circular holdings that the ownership app ingests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import Organisation, Person
from probity.demo.generator import Country, generate_country
from probity.demo.noise import (
    COMPANY_NOISE,
    DECLARATION_NOISE,
    FTM_NOISE,
    MISSING_BIRTH_DATE,
    PERSON_NOISE,
    make_noise,
    reordered,
    typo,
)
from probity.demo.records import bods_people
from probity.demo.services import demo_load
from probity.demo.writers import published

from .conftest import SCALE, SEED, Generated


def _edits(a: str, b: str) -> int:
    """Damerau–Levenshtein distance (optimal string alignment), for checking one-edit typos."""
    rows = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def _script(text: str) -> str:
    if any("\u4e00" <= c <= "\u9fff" for c in text):
        return "Hans"
    if any("\u0400" <= c <= "\u04ff" for c in text):
        return "Cyrl"
    return "Latn"


def _people_statements(generated: Generated) -> dict[str, dict[str, Any]]:
    return {
        s["recordId"]: s["recordDetails"] for s in generated.json("bods/statements.json") if s["recordType"] == "person"
    }


# --- the spelling helpers ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Adrian Novak", "Zhang Wei", "Ольга Петрова", "Li"])
def test_a_typo_is_exactly_one_edit_and_keeps_the_first_letter(name: str) -> None:
    import random

    rng = random.Random(1)
    for _ in range(50):
        changed = typo(name, rng)
        assert changed != name and _edits(changed, name) == 1 and changed[0] == name[0], changed


def test_reordering_moves_the_family_name_first() -> None:
    assert reordered("Adrian Novak") == "Novak Adrian"
    assert reordered("Zhang Wei") == "Wei Zhang"
    assert reordered("张伟") == "张伟"


# --- the country is untouched --------------------------------------------------------------------


def test_noise_changes_nothing_in_the_country_and_is_deterministic() -> None:
    country = generate_country(SEED, SCALE)
    first = make_noise(country)
    assert country == generate_country(SEED, SCALE), "drawing the noise must not touch the country"
    second = make_noise(generate_country(SEED, SCALE))
    assert first == second
    assert make_noise(generate_country(SEED + 1, SCALE)) != first


def test_people_and_companies_of_planted_schemes_are_written_without_noise(generated: Generated) -> None:
    country, noise = generated.country, generated.country.noise
    involved = {i for s in country.schemes for i in s.people + s.companies}
    changed = set(noise.register_names) | noise.register_without_birth_date | set(noise.declared_names)
    changed |= set(noise.company_names) | set(noise.ftm_names) | noise.ftm_without_birth_date
    assert changed and not changed & involved


# --- rates ---------------------------------------------------------------------------------------


def test_register_persons_are_misspelt_at_the_documented_rates(generated: Generated) -> None:
    country = generated.country
    clean = {p.id: p for p in country.people}
    involved = {i for s in country.schemes for i in s.people}
    eligible = [p for p in bods_people(country) if p not in involved]
    statements = _people_statements(generated)
    truth = {i["id"]: i for i in generated.json("ground_truth.json")["identities"]}
    found: dict[str, int] = dict.fromkeys([*PERSON_NOISE, "missing_birth_date"], 0)
    for person_id in eligible:
        person = clean[person_id]
        details = statements[f"demo-{person_id}"]
        written = details["names"][0]["fullName"]
        kinds = truth[person_id].get("noise", {}).get("bods", [])
        if "birthDate" not in details:
            found["missing_birth_date"] += 1
            assert "missing_birth_date" in kinds
        else:
            assert details["birthDate"] == person.birth_date.isoformat()[:7]
        original = person.registry_names[0].text
        spelled = [k for k in kinds if k in PERSON_NOISE]  # not the birth date's or the address's noise
        if not spelled:
            assert [n["fullName"] for n in details["names"]] == [n.text for n in person.registry_names]
            continue
        (kind,) = spelled
        found[kind] += 1
        if kind == "typo":
            assert _edits(written, original) == 1, (written, original)
        elif kind == "reordered":
            assert written != original and sorted(written.split()) == sorted(original.split())
        elif kind == "initials":
            assert written.endswith(".") or written[1:3] == ". "
            assert person.family_name in written
        else:
            assert _script(written) != _script(original), (written, original)
    rates = {**PERSON_NOISE, "missing_birth_date": MISSING_BIRTH_DATE}
    for kind, rate in rates.items():
        assert abs(found[kind] - rate * len(eligible)) <= 1, (kind, found[kind], len(eligible))
        assert found[kind] >= 1, kind


def test_declarants_misspell_relatives_at_the_documented_rates(generated: Generated) -> None:
    country = generated.country
    involved = {i for s in country.schemes for i in s.people}
    relatives = {pid for d in country.declarations for pid, _ in d.family} - involved
    written: dict[str, set[str]] = {}
    for path in (generated.out / "declarations").glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["declarant"]["name"] == country.person(document["declarant"]["id"][5:]).name
        for member in document["family"]:
            written.setdefault(member["id"][5:], set()).add(member["name"])
    assert set(written) >= relatives
    counts = {"typo": 0, "reordered": 0}
    for person_id in relatives:
        (name,) = written[person_id]  # the same spelling in every declaration
        legal = country.person(person_id).name
        if name == legal:
            continue
        if _edits(name, legal) == 1:
            counts["typo"] += 1
        else:
            assert reordered(legal) == name
            counts["reordered"] += 1
    for kind, rate in DECLARATION_NOISE.items():
        assert abs(counts[kind] - rate * len(relatives)) <= 1 and counts[kind] >= 1, (kind, counts)


def test_company_names_in_the_register_are_varied_at_the_documented_rates(generated: Generated) -> None:
    country = generated.country
    involved = {i for s in country.schemes for i in s.companies}
    eligible = [c for c in country.companies if c.id not in involved]
    entities = {
        s["recordId"]: s["recordDetails"]
        for s in generated.json("bods/statements.json")
        if s["recordType"] == "entity" and not s["recordDetails"]["isComponent"]
    }
    changed = 0
    for company in eligible:
        details = entities[f"demo-{company.id}"]
        if details["name"] != company.name:
            changed += 1
            assert (
                company.name in details.get("alternateNames", [])
                or _edits(details["name"], company.name) == 1
                or details["name"].startswith(company.name.removesuffix(company.legal_form).rstrip())
            )
    expected = sum(round(rate * len(eligible)) for rate in COMPANY_NOISE.values())
    assert changed == expected >= 3


def test_ftm_persons_are_misspelt_or_undated_at_the_documented_rates(generated: Generated) -> None:
    country = generated.country
    involved = {i for s in country.schemes for i in s.people}
    eligible = [p for p in country.people if p.id not in involved]
    persons = {e["id"]: e["properties"] for e in generated.jsonl("ftm/entities.ftm.jsonl") if e["schema"] == "Person"}
    misspelt = undated = 0
    for person in eligible:
        properties = persons[f"demo-{person.id}"]
        if properties["name"] != [person.name]:
            misspelt += 1
            assert _edits(properties["name"][0], person.name) == 1 and "firstName" not in properties
        if "birthDate" not in properties:
            undated += 1
    assert abs(misspelt - FTM_NOISE["typo"] * len(eligible)) <= 1 and misspelt >= 1
    assert abs(undated - FTM_NOISE["missing_birth_date"] * len(eligible)) <= 1 and undated >= 1
    for person_id in involved:
        assert persons[f"demo-{person_id}"]["name"] == [country.person(person_id).name]


def test_rates_hold_on_a_larger_country(larger_country: Country) -> None:
    country = larger_country
    noise = country.noise
    involved = {i for s in country.schemes for i in s.people}
    eligible = len([p for p in bods_people(country) if p not in involved])
    for kind, rate in PERSON_NOISE.items():
        assert abs(len(noise.applied["bods"][kind]) / eligible - rate) < 0.01, kind
    assert abs(len(noise.register_without_birth_date) / eligible - MISSING_BIRTH_DATE) < 0.01


# --- ground truth --------------------------------------------------------------------------------


def test_every_identity_lists_records_that_exist_in_the_files(generated: Generated) -> None:
    truth = generated.json("ground_truth.json")
    identities = truth["identities"]
    full = published(generated.country)
    assert len(identities) == len(full.people) + len(full.companies)
    assert len({i["id"] for i in identities}) == len(identities)
    bods = {s["recordId"] for s in generated.json("bods/statements.json")}
    ftm = {e["id"] for e in generated.jsonl("ftm/entities.ftm.jsonl")}
    parties = {p["id"] for r in generated.jsonl("ocds/releases.jsonl") for p in r["parties"]}
    declared: dict[str, set[str]] = {}
    for path in (generated.out / "declarations").glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        people = {document["declarant"]["id"]} | {f["id"] for f in document["family"]}
        companies = {r.get("registry_number") for r in document["corporate_rights"]}
        for key in people | companies:
            declared.setdefault(str(key), set()).add(document["id"])
    registry = {c.id: c.registry_number for c in full.companies}
    seen_in = {"bods": 0, "ftm": 0, "ocds": 0, "declarations": 0}
    for identity in identities:
        records = identity["records"]
        assert records["ftm"] and set(records["ftm"]) <= ftm, identity["id"]
        assert set(records["bods"]) <= bods and set(records["ocds"]) <= parties, identity["id"]
        key = f"demo-{identity['id']}" if identity["type"] == "person" else registry[identity["id"]]
        assert set(records["declarations"]) == declared.get(key, set()), identity["id"]
        assert (identity["origin"] == "country") == bool(records["core"])
        for source in seen_in:
            seen_in[source] += bool(records[source])
    assert all(seen_in.values()), seen_in
    # Every person statement and every company statement of the register belongs to one identity.
    listed = {r for i in identities for r in i["records"]["bods"]}
    assert listed == {
        s["recordId"]
        for s in generated.json("bods/statements.json")
        if s["recordType"] == "person" or (s["recordType"] == "entity" and not s["recordDetails"]["isComponent"])
    }


@pytest.mark.django_db
def test_identity_core_keys_exist_after_loading(generated: Generated) -> None:
    demo_load(country=generated.country)
    identities = generated.json("ground_truth.json")["identities"]
    keys = {k for i in identities for k in i["records"]["core"]}
    stored = set(Person.objects.values_list("source_key", flat=True))
    stored |= set(Organisation.objects.values_list("source_key", flat=True))
    assert keys and keys <= stored


def test_hard_negatives_are_different_people_with_look_alike_names(generated: Generated) -> None:
    truth = generated.json("ground_truth.json")
    identities = {i["id"]: i for i in truth["identities"]}
    negatives = truth["hard_negatives"]
    assert len(negatives) >= 3
    assert {n["kind"] for n in negatives} == {"same-name", "similar-name"}
    same_year = [n for n in negatives if n["people"][0]["birth_date"][:4] == n["people"][1]["birth_date"][:4]]
    assert same_year, "some look-alikes are born in the same year, only the month differs"
    statements = _people_statements(generated)
    for negative in negatives:
        first, second = negative["people"]
        assert first["id"] != second["id"] and first["birth_date"][:7] != second["birth_date"][:7]
        assert identities[first["id"]] != identities[second["id"]]
        distance = _edits(first["name"], second["name"])
        assert distance == (0 if negative["kind"] == "same-name" else 1), negative
        # one of the pair is declared, the other is known to the register: the trap a matcher meets
        records = [identities[p["id"]]["records"] for p in (first, second)]
        assert any(r["declarations"] for r in records) and any(r["bods"] for r in records)
        twin = next(p for p, r in zip((first, second), records, strict=True) if not r["core"])
        assert statements[f"demo-{twin['id']}"]["birthDate"] == twin["birth_date"][:7]
    full = published(generated.country)
    origins = {full.person(p["id"]).origin for n in negatives for p in n["people"]}
    assert "cn" in origins, "two people called like 'Zhang Wei' are the classic trap"


# --- nominee layers and circular holdings --------------------------------------------------------


def test_nominee_layers_and_circular_holdings_are_in_the_register(generated: Generated) -> None:
    noise = generated.country.noise
    assert noise.nominee_layers and noise.circular_holdings
    statements = generated.json("bods/statements.json")
    records = {s["recordId"]: s["recordDetails"] for s in statements}
    for ownership_id in noise.nominee_layers:
        base = f"demo-{ownership_id}"
        assert records[base.replace("ownership", "nomination")]["entityType"]["subtype"] == "nomination"
        assert records[f"{base}-nominee"]["interests"][0]["type"] == "nominee"
        assert records[f"{base}-nominator"]["interests"][0]["type"] == "nominator"
    owned_by: dict[str, set[str]] = {}
    for details in records.values():
        if "interestedParty" in details:
            owned_by.setdefault(details["subject"], set()).add(details["interestedParty"])
    for first, second in noise.circular_holdings:
        assert f"demo-{second}" in owned_by[f"demo-{first}"] and f"demo-{first}" in owned_by[f"demo-{second}"]


@pytest.mark.django_db
def test_the_noisy_register_ingests_without_errors_and_owners_are_traced(generated: Generated) -> None:
    from probity.ownership.models import Party
    from probity.ownership.selectors import ownership_view
    from probity.ownership.services import ownership_ingest

    result = ownership_ingest(path=generated.out / "bods" / "statements.json", dataset="noise")
    assert result.errors == 0, list(result.batch.issues.values_list("code", "message")[:5])
    assert result.batch.statements_stored == result.batch.statements_read
    noise = generated.country.noise
    parties = {p.record_id: p for p in Party.objects.filter(dataset="noise")}
    layers = [o for o in noise.ownerships if o.id in noise.nominee_layers]
    for layer in layers:
        view = ownership_view(party=parties[f"demo-{layer.company_id}"])
        owners = {o.party.record_id for o in view.owners if o.status == "owner"}
        assert f"demo-{layer.nominee_for}" in owners, (layer.id, owners)
    for first, second in noise.circular_holdings:
        for company_id in (first, second):
            view = ownership_view(party=parties[f"demo-{company_id}"])  # terminates despite the loop
            assert any(o.party.is_person for o in view.owners), company_id


def test_the_noisy_files_are_written_the_same_twice(tmp_path: Path) -> None:
    from probity.demo.writers import write_country

    first = write_country(generate_country(SEED, SCALE), tmp_path / "a")
    second = write_country(generate_country(SEED, SCALE), tmp_path / "b")
    assert first.files == second.files
    assert first.counts["noise_hard_negatives"] >= 3


def test_without_noise_the_register_writes_every_name_as_the_civil_register_has_it(
    tmp_path: Path, generated: Generated
) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "demo",
        "generate",
        "--seed",
        str(SEED),
        "--scale",
        str(SCALE),
        "--no-noise",
        "--out",
        str(tmp_path),
        stdout=out,
        stderr=StringIO(),
    )
    assert "noise:" not in out.getvalue()
    country = generated.country
    statements = json.loads((tmp_path / "bods" / "statements.json").read_text(encoding="utf-8"))
    people = {s["recordId"]: s["recordDetails"] for s in statements if s["recordType"] == "person"}
    assert set(people) == {f"demo-{p}" for p in bods_people(country)}
    for person_id in bods_people(country):
        details = people[f"demo-{person_id}"]
        assert [n["fullName"] for n in details["names"]] == [n.text for n in country.person(person_id).registry_names]
        assert "birthDate" in details
    truth = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["hard_negatives"] == [] and not any("noise" in i for i in truth["identities"])
    assert len(truth["identities"]) == len(country.people) + len(country.companies)
