"""OWN-COI-PEP-SUPPLIER and OWN-COI-BIDDER-LINKS on hand-made procurement and register data:
one flag, one pass and one not applicable each, and what each says when the procurement tables are missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from probity.config import WarehouseSetting
from probity.core.models import FamilyRelation, Finding, Person, Position, PublicBody
from probity.core.services import detector_run
from probity.ownership.detectors.conflicts import address_normalise, telephone_normalise
from probity.ownership.selectors import name_normalise
from probity.ownership.services import IngestResult
from probity.procurement.flatten import flatten_into_warehouse
from probity.warehouse.services import warehouse_connection
from tests.ownership.test_ingest import entity, holds, person

Ingest = Callable[..., IngestResult]


@pytest.fixture
def warehouse_file(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "warehouse.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    return path


def company(number: str, name: str, roles: list[str], street: str = "", phone: str = "") -> dict[str, Any]:
    party: dict[str, Any] = {
        "id": f"XD-CR-{number}",
        "name": name,
        "identifier": {"scheme": "XD-CR", "id": number, "legalName": name},
        "roles": roles,
    }
    if street:
        party["address"] = {"streetAddress": street, "locality": "Highmoor", "postalCode": "50713"}
    if phone:
        party["contactPoint"] = {"name": "Office", "telephone": phone}
    return party


def release(ocid: str, bidders: list[dict[str, Any]], winner: dict[str, Any]) -> dict[str, Any]:
    parties = [
        {"id": "XD-GOV-001", "name": "Ministry of Roads", "roles": ["buyer", "procuringEntity"]},
        *bidders,
        *([winner] if winner not in bidders else []),
    ]
    return {
        "ocid": ocid,
        "id": f"{ocid}-1",
        "date": "2024-03-01T00:00:00Z",
        "tag": ["compiled"],
        "initiationType": "tender",
        "buyer": {"id": "XD-GOV-001", "name": "Ministry of Roads"},
        "parties": parties,
        "tender": {"id": f"{ocid}-t", "status": "complete", "procurementMethod": "open"},
        "bids": {
            "details": [
                {"id": f"{ocid}-b{n}", "status": "valid", "tenderers": [{"id": b["id"], "name": b["name"]}]}
                for n, b in enumerate(bidders, start=1)
            ]
        },
        "awards": [
            {
                "id": f"{ocid}-a1",
                "status": "active",
                "suppliers": [{"id": winner["id"], "name": winner["name"]}],
            }
        ],
    }


def flatten(tmp_path: Path, releases: list[dict[str, Any]]) -> Path:
    path = tmp_path / "releases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in releases) + "\n", encoding="utf-8")
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, path)
    return path


def findings(code: str) -> dict[str, Finding]:
    return {f.subject_id: f for f in Finding.objects.filter(detector_code=code)}


def test_normalisation_keeps_what_identifies_and_drops_the_rest() -> None:
    assert name_normalise(text="  Alpha  Trade, Ltd. ") == "alpha trade ltd"
    assert name_normalise(text="Café Zürich") == "cafe zurich"
    assert telephone_normalise("+381 (11) 555-0101") == "381115550101"
    assert telephone_normalise("ext. 12") == ""
    assert address_normalise("Hill Road 46", "Highmoor", "50713") == address_normalise(
        "hill road  46.", "HIGHMOOR", "50713"
    )
    assert address_normalise("", "Highmoor", "50713") == ""


def test_without_procurement_tables_both_detectors_say_what_is_missing(db: None, warehouse_file: Path) -> None:
    for code in ("OWN-COI-PEP-SUPPLIER", "OWN-COI-BIDDER-LINKS"):
        run = detector_run(code=code)
        finding = run.findings.get()
        assert finding.outcome == "not_applicable"
        assert finding.evidence["reason"] == "missing_data: procurement tables"
        assert "procurement_parties" in finding.evidence["missing_tables"]


def test_supplier_owned_through_a_holding_by_a_ministers_spouse_is_flagged_with_the_chain(
    ingest_statements: Ingest, warehouse_file: Path, tmp_path: Path
) -> None:
    ministry = PublicBody.objects.create(name="Ministry of Roads")
    minister = Person.objects.create(name="Kamil Costa", birth_date="1961-07-15")
    spouse = Person.objects.create(name="Daria Rossi", birth_date="1966-09-30")
    FamilyRelation.objects.create(person=minister, relative=spouse, kind="spouse")
    Position.objects.create(body=ministry, title="Minister", holder=minister, is_pep=True)
    ingest_statements(
        [
            entity("hold", "Eastgate Holdings"),
            # Found by identifier; and one found only by its name (no identifier in the register).
            entity("s1", "Moravec Construction", identifiers=[{"scheme": "XD-CR", "id": "100"}]),
            entity("s2", "Clean Roads Ltd"),
            person(
                "p1",
                "Даря Росси",
                birthDate="1966-09",
                names=[
                    {"type": "legal", "fullName": "Даря Росси"},
                    {"type": "transliteration", "fullName": "Daria Rossi"},
                ],
            ),
            person("p2", "Olga Berg", birthDate="1970-01"),
            holds("r1", "p1", "hold", 100),
            holds("r2", "hold", "s1", 60),
            holds("r3", "p2", "s2", 100),
        ]
    )
    moravec = company("100", "Moravec Construction", ["tenderer", "supplier"])
    clean = company("200", "CLEAN ROADS LTD.", ["tenderer", "supplier"])
    unknown = company("300", "Not In Register Ltd", ["tenderer", "supplier"])
    flatten(
        tmp_path,
        [
            release("ocds-x-1", [moravec], moravec),
            release("ocds-x-2", [clean], clean),
            release("ocds-x-3", [unknown], unknown),
            release("ocds-x-4", [moravec], moravec),
        ],
    )
    run = detector_run(code="OWN-COI-PEP-SUPPLIER")
    found = findings("OWN-COI-PEP-SUPPLIER")
    flagged = found["bods:test:s1"]
    assert flagged.outcome == "flag"
    assert flagged.evidence["supplier"]["linked_by"] == "identifier"
    assert [p["ocid"] for p in flagged.evidence["processes"]] == ["ocds-x-1", "ocds-x-4"]
    (owner,) = flagged.evidence["exposed_owners"]
    assert owner["ownership"] == "60 %"
    assert {"source": "family", "relation": "spouse", "official": "Kamil Costa"}.items() <= owner["pep_reasons"][
        0
    ].items()
    assert [step["name"] for step in owner["chains"][0]] == ["Даря Росси", "Eastgate Holdings", "Moravec Construction"]
    assert "Kamil Costa" in flagged.explanation and "Eastgate Holdings" in flagged.explanation
    passed = found["bods:test:s2"]
    assert passed.outcome == "pass" and passed.evidence["supplier"]["linked_by"] == "name"
    missing = found["ocds:XD-CR-300"]
    assert missing.outcome == "not_applicable" and missing.evidence["reason"] == "not_in_register"
    assert run.flagged == 1

    # The register's own PEP mark counts too, and a lower threshold is a parameter.
    Finding.objects.all().delete()
    FamilyRelation.objects.all().delete()
    detector_run(code="OWN-COI-PEP-SUPPLIER")
    assert findings("OWN-COI-PEP-SUPPLIER")["bods:test:s1"].outcome == "pass"


def test_register_pep_mark_and_an_imported_pep_list_make_an_owner_exposed(
    ingest_statements: Ingest, warehouse_file: Path, tmp_path: Path
) -> None:
    exposure = {"status": "isPep", "details": [{"reason": "Member of parliament"}]}
    ingest_statements(
        [
            entity("s1", "Marked Ltd", identifiers=[{"scheme": "XD-CR", "id": "100"}]),
            entity("s2", "Listed Ltd", identifiers=[{"scheme": "XD-CR", "id": "200"}]),
            person("p1", "Ivo Marek", politicalExposure=exposure),
            person("p2", "Lena Voss", birthDate="1975-02"),
            holds("r1", "p1", "s1", 30),
            holds("r2", "p2", "s2", 51),
        ]
    )
    marked = company("100", "Marked Ltd", ["supplier"])
    listed = company("200", "Listed Ltd", ["supplier"])
    flatten(tmp_path, [release("ocds-y-1", [], marked), release("ocds-y-2", [], listed)])
    detector_run(code="OWN-COI-PEP-SUPPLIER")
    found = findings("OWN-COI-PEP-SUPPLIER")
    assert found["bods:test:s1"].outcome == "flag"
    assert found["bods:test:s1"].evidence["exposed_owners"][0]["pep_reasons"][0]["source"] == "register"
    assert found["bods:test:s2"].outcome == "pass"
    try:
        from probity.entities.models import Entity
    except ImportError:  # pragma: no cover - the entities app is optional for this detector
        return
    Entity.objects.create(
        ftm_id="pep-1",
        schema="Person",
        caption="LENA VOSS",
        dataset="peps",
        topics=["role.pep"],
        birth_date="1975-02-11",
        properties={"name": ["Lena Voss"]},
    )
    Finding.objects.all().delete()
    detector_run(code="OWN-COI-PEP-SUPPLIER")
    listed_finding = findings("OWN-COI-PEP-SUPPLIER")["bods:test:s2"]
    assert listed_finding.outcome == "flag"
    assert listed_finding.evidence["exposed_owners"][0]["pep_reasons"][0]["source"] == "pep_list"


def test_bidders_sharing_address_phone_director_or_owner_are_flagged_pairwise(
    ingest_statements: Ingest, warehouse_file: Path, tmp_path: Path
) -> None:
    ingest_statements(
        [
            entity("a", "Alpha Build", identifiers=[{"scheme": "XD-CR", "id": "1"}]),
            entity("b", "Beta Build", identifiers=[{"scheme": "XD-CR", "id": "2"}]),
            entity("c", "Gamma Build", identifiers=[{"scheme": "XD-CR", "id": "3"}]),
            entity("d", "Delta Build", identifiers=[{"scheme": "XD-CR", "id": "4"}]),
            entity("hold", "Common Holdings"),
            person("dir", "Flora Ferreira"),
            person("o1", "Owner One"),
            person("o2", "Owner Two"),
            holds("r1", "dir", "a", kind="boardMember"),
            holds("r2", "dir", "b", kind="seniorManagingOfficial"),
            holds("r3", "hold", "c", 100),
            holds("r4", "hold", "d", 40),
            holds("r5", "o1", "hold", 100),
            holds("r6", "o2", "a", 100),
        ]
    )
    alpha = company("1", "Alpha Build", ["tenderer", "supplier"], street="Hill Road 46", phone="+381 11 555 0101")
    beta = company("2", "Beta Build", ["tenderer"], street="Lake Street 1")
    gamma = company("3", "Gamma Build", ["tenderer", "supplier"], street="hill road 46.")
    delta = company("4", "Delta Build", ["tenderer"], street="River Lane 9", phone="381-11-5550101")
    releases = flatten(
        tmp_path,
        [
            release("ocds-z-1", [alpha, beta], alpha),  # shared director
            release("ocds-z-2", [alpha, gamma], gamma),  # shared address
            release("ocds-z-3", [alpha, delta], alpha),  # shared telephone
            release("ocds-z-4", [gamma, delta], gamma),  # common owner (through the holding)
            release("ocds-z-5", [beta, delta], beta),  # nothing in common
            release("ocds-z-6", [beta], beta),  # one bidder
        ],
    )
    # The flattened parties table carries the contact point's telephone: compared from the table itself.
    detector_run(code="OWN-COI-BIDDER-LINKS")
    found = findings("OWN-COI-BIDDER-LINKS")
    assert found["ocds-z-3"].outcome == "flag", found["ocds-z-3"].explanation
    (pair,) = found["ocds-z-3"].evidence["pairs"]
    assert pair["shared"] == [{"what": "telephone", "value": "381115550101"}]
    assert "not_checked" not in found["ocds-z-3"].evidence
    assert found["ocds-z-5"].outcome == "pass"
    # A parties table flattened before the telephone column existed: telephones are not compared, and the
    # evidence says so ...
    import duckdb

    from probity.procurement.tables import warehouse_name

    with duckdb.connect(str(warehouse_file)) as raw:
        raw.execute(f'ALTER TABLE "{warehouse_name("parties")}" DROP COLUMN contact_point_telephone')
    Finding.objects.all().delete()
    detector_run(code="OWN-COI-BIDDER-LINKS")
    found = findings("OWN-COI-BIDDER-LINKS")
    assert found["ocds-z-3"].outcome == "pass"
    assert found["ocds-z-3"].evidence["not_checked"][0].startswith("telephone")
    # ... until the releases are ingested: then telephones are read from the stored compiled releases.
    from probity.procurement.ingest import procurement_ingest

    procurement_ingest(paths=[releases])
    Finding.objects.all().delete()
    detector_run(code="OWN-COI-BIDDER-LINKS")
    found = findings("OWN-COI-BIDDER-LINKS")

    def shared(ocid: str) -> dict[str, dict[str, Any]]:
        assert found[ocid].outcome == "flag", found[ocid].explanation
        (pair,) = found[ocid].evidence["pairs"]
        return {s["what"]: s for s in pair["shared"]}

    assert shared("ocds-z-1")["director"]["value"] == "Flora Ferreira"
    assert shared("ocds-z-1")["director"]["roles"] == ["boardMember", "seniorManagingOfficial"]
    assert shared("ocds-z-2")["address"]["value"] == "Hill Road 46, 50713, Highmoor"
    assert shared("ocds-z-3")["telephone"]["value"] == "381115550101"
    assert "not_checked" not in found["ocds-z-3"].evidence
    owner = shared("ocds-z-4")
    assert {"Common Holdings", "Owner One"} <= {s["value"] for s in found["ocds-z-4"].evidence["pairs"][0]["shared"]}
    assert "owner" in owner
    assert found["ocds-z-5"].outcome == "pass"
    assert found["ocds-z-6"].outcome == "not_applicable"
    assert found["ocds-z-6"].evidence["reason"] == "fewer_than_two_bidders"
    # Checks can be narrowed: without the director check, the first process passes.
    Finding.objects.all().delete()
    detector_run(code="OWN-COI-BIDDER-LINKS", parameters={"checks": "address,owner"})
    assert findings("OWN-COI-BIDDER-LINKS")["ocds-z-1"].outcome == "pass"


def test_party_page_lists_the_conflicts_with_the_chain_in_english_and_chinese(
    ingest_statements: Ingest,
    warehouse_file: Path,
    tmp_path: Path,
    verified_client: Callable[..., Any],
) -> None:
    from probity.ownership.models import Party

    ministry = PublicBody.objects.create(name="Ministry of Roads")
    minister = Person.objects.create(name="Kamil Costa", birth_date="1961-07-15")
    spouse = Person.objects.create(name="Daria Rossi", birth_date="1966-09-30")
    FamilyRelation.objects.create(person=minister, relative=spouse, kind="spouse")
    Position.objects.create(body=ministry, title="Minister", holder=minister, is_pep=True)
    ingest_statements(
        [
            entity("hold", "Eastgate Holdings"),
            entity("s1", "Moravec Construction", identifiers=[{"scheme": "XD-CR", "id": "100"}]),
            entity("s2", "Clean Roads", identifiers=[{"scheme": "XD-CR", "id": "200"}]),
            entity("u", "Unrelated Ltd"),
            person("p1", "Daria Rossi", birthDate="1966-09"),
            holds("r1", "p1", "hold", 100),
            holds("r2", "hold", "s1", 60),
        ]
    )
    moravec = company("100", "Moravec Construction", ["tenderer", "supplier"], street="Hill Road 46")
    clean = company("200", "Clean Roads", ["tenderer"], street="Hill Road 46")
    flatten(tmp_path, [release("ocds-p-1", [moravec, clean], moravec)])
    for code in ("OWN-COI-PEP-SUPPLIER", "OWN-COI-BIDDER-LINKS", "OWN-COI-OFFICIAL"):
        detector_run(code=code)
    supplier = Party.objects.get(record_id="s1")
    spouse_party = Party.objects.get(record_id="p1")
    other = Party.objects.get(record_id="s2")
    holding = Party.objects.get(record_id="hold")
    unrelated = Party.objects.get(record_id="u")

    client = verified_client("analyst")
    page = client.get(f"/ownership/parties/{supplier.pk}/").content.decode()
    assert "Conflicts of interest" in page
    assert "Supplier owned by a politically exposed person" in page
    assert "Daria Rossi —100 %, control→ Eastgate Holdings —60 %, control→ Moravec Construction" in page
    assert "Competing bidders share an address" in page and "address Hill Road 46, 50713, Highmoor" in page
    person_page = client.get(f"/ownership/parties/{spouse_party.pk}/").content.decode()
    assert "Official or family member owns or controls a company" in person_page
    assert "Daria Rossi (spouse) → Moravec Construction: 60 %" in person_page
    assert "Competing bidders share" in client.get(f"/ownership/parties/{other.pk}/").content.decode()
    # The holding company is a link of the chain, not a bidder.
    holding_page = client.get(f"/ownership/parties/{holding.pk}/").content.decode()
    assert "Supplier owned by a politically exposed person" in holding_page
    assert "Competing bidders share" not in holding_page
    assert (
        "No conflict-of-interest detector has flagged this party"
        in client.get(f"/ownership/parties/{unrelated.pk}/").content.decode()
    )

    api = client.get(f"/api/v1/ownership/parties/{supplier.pk}/conflicts").json()
    assert {c["detector_code"] for c in api} == {"OWN-COI-PEP-SUPPLIER", "OWN-COI-BIDDER-LINKS", "OWN-COI-OFFICIAL"}
    pep = next(c for c in api if c["detector_code"] == "OWN-COI-PEP-SUPPLIER")
    assert "Daria Rossi —100 %, control→ Eastgate Holdings —60 %, control→ Moravec Construction" in pep["lines"]
    assert verified_client("declarant").get(f"/api/v1/ownership/parties/{supplier.pk}/conflicts").status_code == 403

    from tests.core.test_i18n import untranslated_words

    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(f"/ownership/parties/{supplier.pk}/").content.decode()
    assert "利益冲突" in chinese
    data_words = {
        "Daria",
        "Rossi",
        "Eastgate",
        "Holdings",
        "Moravec",
        "Construction",
        "Clean",
        "Roads",
        "Hill",
        "Road",
        "Highmoor",
        "Minister",
        "Ministry",
        "Kamil",
        "Costa",
        "XD-CR",
    }
    words = [
        w
        for w in untranslated_words(chinese)
        if w.split("'")[1].rstrip(":,") not in data_words and not w.startswith("'analyst")
    ]
    assert not words, words
