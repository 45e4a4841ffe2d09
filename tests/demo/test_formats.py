"""The demo country's files: valid OCDS, BODS and FtM, complete declarations, a resolvable ground truth."""

from __future__ import annotations

import copy
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from followthemoney import model
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from probity.demo.generator import OCID_PREFIX, SECTIONS

from .conftest import Generated


def _merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as OCDS applies extensions to its schema."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


@pytest.fixture
def ocds_validator(shared_data: Path) -> Draft4Validator:
    release = json.loads((shared_data / "ocds/schema-1.1.5/release-schema.json").read_text())
    bids = json.loads((shared_data / "ocds/bid-extension/release-schema.json").read_text())
    schema = _merge_patch(release, bids)
    registry: Registry = Registry().with_resource(schema["id"], Resource.from_contents(schema, DRAFT4))
    return Draft4Validator(schema, registry=registry, format_checker=FormatChecker())


@pytest.fixture
def bods_validator(shared_data: Path) -> Draft202012Validator:
    folder = shared_data / "bods/schema-0.4"
    resources = []
    for path in sorted(folder.glob("*.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)))
    registry: Registry = Registry().with_resources(resources)
    statement = json.loads((folder / "statement.json").read_text())
    return Draft202012Validator(statement, registry=registry, format_checker=FormatChecker())


def _errors(validator: Any, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


# --- OCDS ----------------------------------------------------------------------------------------


def test_ocds_releases_validate_against_the_release_schema_with_bids(
    generated: Generated, ocds_validator: Draft4Validator
) -> None:
    releases = list(generated.jsonl("ocds/releases.jsonl"))
    assert len(releases) == len(generated.country.processes)
    for release in releases:
        assert _errors(ocds_validator, release) == [], release["ocid"]


def test_the_ocds_check_rejects_a_broken_release(generated: Generated, ocds_validator: Draft4Validator) -> None:
    release = next(generated.jsonl("ocds/releases.jsonl"))
    broken = copy.deepcopy(release)
    broken["bids"]["details"][0]["status"] = "won"
    broken["tender"]["procurementMethod"] = "secret"
    assert len(_errors(ocds_validator, broken)) == 2


def test_ocds_releases_carry_the_demo_prefix_and_all_stages(generated: Generated) -> None:
    methods = set()
    for release in generated.jsonl("ocds/releases.jsonl"):
        assert release["ocid"].startswith(OCID_PREFIX)
        assert release["tag"] == ["tender", "award", "contract"]
        roles = {p["id"]: set(p["roles"]) for p in release["parties"]}
        assert "buyer" in roles[release["buyer"]["id"]]
        tender = release["tender"]
        methods.add(tender["procurementMethod"])
        assert (
            tender["numberOfTenderers"]
            == len(tender["tenderers"])
            == len({t["id"] for bid in release["bids"]["details"] for t in bid["tenderers"]})
        )
        supplier = release["awards"][0]["suppliers"][0]["id"]
        assert "supplier" in roles[supplier]
        assert release["contracts"][0]["awardID"] == release["awards"][0]["id"]
    assert methods == {"open", "selective", "limited", "direct"}


# --- BODS ----------------------------------------------------------------------------------------


def test_bods_statements_validate_against_bods_0_4(generated: Generated, bods_validator: Draft202012Validator) -> None:
    statements = generated.json("bods/statements.json")
    assert isinstance(statements, list) and statements
    assert _errors(bods_validator, statements) == []
    kinds = {s["recordType"] for s in statements}
    assert kinds == {"person", "entity", "relationship"}


def test_the_bods_check_rejects_a_broken_statement(generated: Generated, bods_validator: Draft202012Validator) -> None:
    statements = copy.deepcopy(generated.json("bods/statements.json")[:1])
    statements[0]["recordDetails"]["personType"] = "somebody"
    assert _errors(bods_validator, statements)


def test_bods_statements_are_unique_and_reference_known_records(generated: Generated) -> None:
    statements = generated.json("bods/statements.json")
    ids = [s["statementId"] for s in statements]
    assert len(ids) == len(set(ids))
    records = {s["recordId"]: i for i, s in enumerate(statements)}
    assert len(records) == len(statements)
    for position, statement in enumerate(statements):
        if statement["recordType"] != "relationship":
            continue
        details = statement["recordDetails"]
        assert records[details["subject"]] < position
        assert records[details["interestedParty"]] < position
        for component in details.get("componentRecords", []):
            assert records[component] < position, "components come before the relationship they make up"


def test_bods_shows_nominee_arrangements(generated: Generated) -> None:
    statements = generated.json("bods/statements.json")
    arrangements = [s for s in statements if s["recordDetails"].get("entityType", {}).get("subtype") == "nomination"]
    assert arrangements
    interests = {i["type"] for s in statements for i in s["recordDetails"].get("interests", [])}
    assert {"shareholding", "nominee", "nominator", "boardMember"} <= interests


# --- FollowTheMoney ------------------------------------------------------------------------------


def test_ftm_entities_round_trip_through_followthemoney(generated: Generated) -> None:
    schemata = set()
    ids = set()
    for data in generated.jsonl("ftm/entities.ftm.jsonl"):
        proxy = model.get_proxy(data, cleaned=False)  # cleans and validates every value
        assert proxy.to_dict() == data, data["id"]
        assert proxy.id not in ids
        ids.add(proxy.id)
        schemata.add(proxy.schema.name)
    assert {
        "Person",
        "Company",
        "Ownership",
        "Directorship",
        "Family",
        "PublicBody",
        "Position",
        "Occupancy",
        "Contract",
        "ContractAward",
        "Address",
        "Representation",
    } <= schemata


def test_ftm_references_point_at_entities_in_the_file(generated: Generated) -> None:
    entities = list(generated.jsonl("ftm/entities.ftm.jsonl"))
    ids = {e["id"] for e in entities}
    for data in entities:
        proxy = model.get_proxy(data)
        for prop, value in proxy.itervalues():
            if prop.type.name == "entity":
                assert value in ids, (data["id"], prop.name, value)


# --- declarations --------------------------------------------------------------------------------


def test_every_official_files_two_annual_declarations(generated: Generated) -> None:
    files = sorted((generated.out / "declarations").glob("*.json"))
    assert len(files) == 2 * len({p.holder_id for p in generated.country.positions})
    for path in files:
        document = json.loads(path.read_text())
        assert document["schema"] == "probity-declaration/0.1"
        assert document["type"] == "annual"
        assert path.stem == document["id"]
        for section in SECTIONS:
            assert isinstance(document[section], list), section


def test_every_declaration_row_names_its_owner_and_money_with_currency(generated: Generated) -> None:
    for path in (generated.out / "declarations").glob("*.json"):
        document = json.loads(path.read_text())
        household = {document["declarant"]["id"]} | {f["id"] for f in document["family"]}
        for section in SECTIONS:
            for row in document[section]:
                assert row["owner"]["id"] in household and row["owner"]["name"]
                money = row.get("value") or row.get("amount")
                assert money["currency"] == generated.country.currency
                assert Decimal(money["amount"]) >= 0 and Decimal(money["amount"]).as_tuple().exponent == -2


# --- ground truth and manifest -------------------------------------------------------------------


def test_every_ground_truth_reference_resolves_in_the_files(generated: Generated) -> None:
    truth = generated.json("ground_truth.json")
    releases = list(generated.jsonl("ocds/releases.jsonl"))
    ocids = {r["ocid"] for r in releases}
    parties = {p["id"] for r in releases for p in r["parties"]}
    bods_ids = {s["recordId"] for s in generated.json("bods/statements.json")}
    ftm_ids = {e["id"] for e in generated.jsonl("ftm/entities.ftm.jsonl")}
    declarations = {p.stem for p in (generated.out / "declarations").glob("*.json")}
    assert {s["type"] for s in truth["schemes"]} == set(truth["scheme_types"])
    for scheme in truth["schemes"]:
        refs = scheme["refs"]
        assert set(refs["ocds"]["ocids"]) <= ocids, scheme["id"]
        assert set(refs["ocds"]["parties"]) <= parties, scheme["id"]
        assert set(refs["bods"]["recordIds"]) <= bods_ids, scheme["id"]
        assert set(refs["ftm"]["ids"]) <= ftm_ids, scheme["id"]
        assert set(refs["declarations"]["ids"]) <= declarations, scheme["id"]
        assert refs["ftm"]["ids"], scheme["id"]
        if scheme["type"] == "UNEXPLAINED-WEALTH" or scheme["type"].startswith("LIFESTYLE-"):
            # declarations only: the official's two declarations, the last one flagged by its detectors
            assert len(refs["declarations"]["ids"]) == 2
            assert scheme["declaration_detectors"], scheme["id"]
            for ids in scheme["declaration_detectors"].values():
                assert ids and set(ids) <= set(refs["declarations"]["ids"]), scheme["id"]
                assert ids[-1] == refs["declarations"]["ids"][-1], scheme["id"]
        else:
            assert refs["ocds"]["ocids"] and refs["ocds"]["parties"] and refs["bods"]["recordIds"], scheme["id"]


def test_the_planted_spouse_is_named_differently_in_the_register_and_the_declaration(
    generated: Generated,
) -> None:
    truth = generated.json("ground_truth.json")
    statements = {s["recordId"]: s for s in generated.json("bods/statements.json")}
    for scheme in truth["schemes"]:
        if scheme["type"] != "CONFLICT-FAMILY-SUPPLIER":
            continue
        official, spouse = scheme["involved"]["people"][:2]
        declaration = json.loads(
            (generated.out / "declarations" / f"{scheme['refs']['declarations']['ids'][0]}.json").read_text()
        )
        assert declaration["declarant"]["id"] == f"demo-{official}"
        spouse_row = next(f for f in declaration["family"] if f["id"] == f"demo-{spouse}")
        register_names = {n["fullName"] for n in statements[f"demo-{spouse}"]["recordDetails"]["names"]}
        assert spouse_row["name"] not in register_names
        assert declaration["corporate_rights"] == [] or all(
            r["owner"]["id"] != f"demo-{spouse}" for r in declaration["corporate_rights"]
        )


def test_shared_tax_ids_in_the_files_are_exactly_the_planted_ones(generated: Generated) -> None:
    truth = generated.json("ground_truth.json")
    planted = {
        f"demo-{c}" for s in truth["schemes"] if s["type"] == "SHARED-TAX-ID" for c in s["involved"]["companies"]
    }
    holders: dict[str, set[str]] = {}
    for statement in generated.json("bods/statements.json"):
        for identifier in statement["recordDetails"].get("identifiers", []):
            if identifier["scheme"] == "XD-TIN":
                holders.setdefault(identifier["id"], set()).add(statement["recordId"])
    shared = {record for records in holders.values() if len(records) > 1 for record in records}
    assert shared == planted


def test_manifest_lists_counts_and_the_checksum_of_every_file(generated: Generated) -> None:
    manifest = generated.json("manifest.json")
    assert manifest["seed"] == generated.country.seed and manifest["scale"] == generated.country.scale
    assert manifest["generator_version"]
    on_disk = {str(p.relative_to(generated.out)) for p in generated.out.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((generated.out / name).read_bytes()).hexdigest() == digest, name
    assert manifest["counts"]["ocds_releases"] == manifest["counts"]["processes"]
