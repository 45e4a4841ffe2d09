"""DECL-UNDECLARED-COMPANY and DECL-COI-AWARD on a hand-made register, procurement data and declarations:
flags with the holder and the chain, passes, and not applicable with the reason when the register, the
linkage or the procurement data is missing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from probity.config import WarehouseSetting
from probity.core.models import FamilyRelation, Finding, Identifier, Person, PublicBody
from probity.core.services import detector_run
from probity.declarations.models import Declaration
from probity.declarations.selectors import risk_scores
from probity.declarations.services import declaration_submit
from probity.ownership.services import ownership_ingest
from probity.procurement.flatten import flatten_into_warehouse
from probity.warehouse.services import warehouse_connection
from tests.ownership.test_ingest import entity, holds, person

pytestmark = pytest.mark.django_db

SPOUSE = {"id": "fm-1", "relation": "spouse", "name": "Daria Rossi", "birth_date": "1966-09-30"}


@pytest.fixture
def warehouse(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "warehouse.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    return path


@pytest.fixture
def family() -> tuple[Person, Person]:
    minister = Person.objects.create(name="Kamil Costa", birth_date="1961-07-15")
    spouse = Person.objects.create(name="Daria Rossi", birth_date="1966-09-30")
    FamilyRelation.objects.create(person=minister, relative=spouse, kind="spouse")
    return minister, spouse


def ingest(tmp_path: Path, statements: list[dict[str, Any]]) -> None:
    path = tmp_path / "statements.json"
    path.write_text(json.dumps(statements), encoding="utf-8")
    assert ownership_ingest(path=path, dataset="test").errors == 0


@pytest.fixture
def register(tmp_path: Path, family: tuple[Person, Person]) -> None:
    """The spouse (in Cyrillic, with a transliteration) holds Eastgate 100 %, which holds Moravec 40 %;
    the minister holds Declared Co outright; Olga Berg, nobody's relative, holds Stranger Ltd."""
    Person.objects.create(name="Olga Berg", birth_date="1970-01-05")
    ingest(
        tmp_path,
        [
            entity("hold", "Eastgate Holdings", identifiers=[{"scheme": "XD-CR", "id": "900"}]),
            entity("s1", "Moravec Construction", identifiers=[{"scheme": "XD-CR", "id": "100"}]),
            entity("s2", "Declared Co", identifiers=[{"scheme": "XD-CR", "id": "200"}]),
            entity("s3", "Stranger Ltd", identifiers=[{"scheme": "XD-CR", "id": "300"}]),
            person(
                "p1",
                "Даря Росси",
                birthDate="1966-09",
                names=[
                    {"type": "legal", "fullName": "Даря Росси"},
                    {"type": "transliteration", "fullName": "Daria Rossi"},
                ],
            ),
            person("p2", "Kamil Costa", birthDate="1961-07"),
            person("p3", "Olga Berg", birthDate="1970-01"),
            holds("r1", "p1", "hold", 100),
            holds("r2", "hold", "s1", 40),
            holds("r3", "p2", "s2", 100),
            holds("r4", "p3", "s3", 100),
        ],
    )


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def _declare(who: Person, payload: dict[str, Any], **changes: Any) -> Declaration:
    content = copy.deepcopy(payload)
    content["family_members"] = [dict(SPOUSE)]
    content["corporate_rights"] = [
        {"owner": "declarant", "company": "DC", "registry_number": "2-00", "value": _money("1000")}
    ]
    content.update(changes)
    return declaration_submit(declarant=who, payload=content).declaration


def _finding(code: str, declaration: Declaration, **parameters: Any) -> Finding:
    run = detector_run(code=code, parameters=parameters or None)
    assert run.status == "succeeded", run.error
    return Finding.objects.get(run=run, subject_id=str(declaration.pk))


# --- DECL-UNDECLARED-COMPANY ----------------------------------------------------------------------


def test_companies_held_through_the_spouse_and_a_holding_are_flagged_with_the_chain(
    register: None, family: tuple[Person, Person], payload: dict[str, Any]
) -> None:
    minister, _spouse = family
    declaration = _declare(minister, payload)
    finding = _finding("DECL-UNDECLARED-COMPANY", declaration)
    assert finding.outcome == "flag", finding.explanation
    undeclared = {c["company"]: c for c in finding.evidence["undeclared"]}
    assert set(undeclared) == {"Eastgate Holdings", "Moravec Construction"}
    holder = undeclared["Moravec Construction"]["holders"][0]
    assert (holder["who"], holder["relation"], holder["ownership"]) == ("fm-1", "spouse", "40 %")
    assert holder["chains"] == ["Даря Росси —100 %, control→ Eastgate Holdings —40 %→ Moravec Construction"]
    # the minister's own company is declared by its registry number, written differently
    assert [(c["company"], c["declared_by"]) for c in finding.evidence["declared"]] == [
        ("Declared Co", "registry_number")
    ]
    assert "Moravec Construction (held by the spouse Daria Rossi" in finding.explanation
    assert finding.evidence["weight"] == 3.0
    assert risk_scores()[declaration.pk] == 3.0
    # a smaller effective share than min_share no longer counts
    strict = _finding("DECL-UNDECLARED-COMPANY", declaration, min_share=50)
    assert [c["company"] for c in strict.evidence["undeclared"]] == ["Eastgate Holdings"]


def test_companies_declared_by_name_or_as_beneficial_ownership_pass(
    register: None, family: tuple[Person, Person], payload: dict[str, Any]
) -> None:
    minister, _spouse = family
    declaration = _declare(
        minister,
        payload,
        beneficial_ownership=[{"owner": "fm-1", "company": "MORAVEC construction"}],
        securities=[{"owner": "fm-1", "kind": "shares", "issuer": "Eastgate  Holdings.", "value": _money("10")}],
    )
    finding = _finding("DECL-UNDECLARED-COMPANY", declaration)
    assert finding.outcome == "pass", finding.explanation
    assert {c["declared_by"] for c in finding.evidence["declared"]} == {"registry_number", "name"}
    assert "are all declared" in finding.explanation


def test_only_the_most_recent_declaration_is_compared(
    register: None, family: tuple[Person, Person], payload: dict[str, Any]
) -> None:
    minister, _spouse = family
    earlier = copy.deepcopy(payload)
    earlier["external_id"], earlier["period"]["year"] = "y2022", 2022
    first = _declare(minister, earlier)
    latest = _declare(minister, payload)
    run = detector_run(code="DECL-UNDECLARED-COMPANY")
    outcomes = {f.subject_id: (f.outcome, f.evidence.get("reason")) for f in run.findings.all()}
    assert outcomes[str(first.pk)] == ("not_applicable", "earlier_declaration")
    assert outcomes[str(latest.pk)] == ("flag", None)


def test_an_empty_register_is_not_applicable_with_the_reason(
    family: tuple[Person, Person], payload: dict[str, Any]
) -> None:
    finding = _finding("DECL-UNDECLARED-COMPANY", _declare(family[0], payload))
    assert (finding.outcome, finding.evidence["reason"]) == ("not_applicable", "register_empty")
    assert "ownership register is empty" in finding.explanation


def test_a_family_not_linked_to_the_register_is_not_applicable(register: None, payload: dict[str, Any]) -> None:
    stranger = Person.objects.create(name="Nobody Known", birth_date="1980-01-01")
    content = copy.deepcopy(payload)
    content["family_members"] = [{"id": "x", "relation": "child", "name": "Child Known"}]
    content["vehicles"] = []
    declaration = declaration_submit(declarant=stranger, payload=content).declaration
    finding = _finding("DECL-UNDECLARED-COMPANY", declaration)
    assert (finding.outcome, finding.evidence["reason"]) == ("not_applicable", "not_in_register")
    assert [m["who"] for m in finding.evidence["family_checked"]] == ["declarant", "x"]
    assert "any of the 1 family members" in finding.explanation


def test_people_are_found_by_source_key_by_name_and_birth_date_and_through_family_ties(
    register: None, family: tuple[Person, Person], payload: dict[str, Any]
) -> None:
    minister, spouse = family
    # The declarations system has its own record of the minister (same name and date of birth) and
    # the declaration spells the spouse differently, without a date of birth: found through the tie.
    copy_of_minister = Person.objects.create(name="Kamil Costa", birth_date="1961-07-15", source_key="decl-kc")
    declaration = _declare(
        copy_of_minister,
        payload,
        family_members=[{"id": "fm-1", "relation": "spouse", "name": "Daria Rossi-Costa"}],
        declarant={"id": "decl-kc", "name": "Kamil Costa", "birth_date": "1961-07-15"},
    )
    declaration_members = _finding("DECL-UNDECLARED-COMPANY", declaration).evidence["family_checked"]
    assert declaration_members[0]["person_ids"] == sorted([minister.pk, copy_of_minister.pk])
    assert declaration_members[1]["person_ids"] == []  # neither the name nor a date of birth matches

    # by source key: the member's id is the spouse's key in the core tables
    spouse.source_key = "fm-1"
    spouse.save()
    finding = _finding("DECL-UNDECLARED-COMPANY", declaration)
    assert finding.evidence["family_checked"][1]["person_ids"] == [spouse.pk]
    assert finding.outcome == "flag"


def test_a_spouse_the_declaration_leaves_out_still_counts(
    register: None, family: tuple[Person, Person], payload: dict[str, Any]
) -> None:
    minister, spouse = family
    declaration = _declare(minister, payload, family_members=[], vehicles=[])
    finding = _finding("DECL-UNDECLARED-COMPANY", declaration)
    assert finding.outcome == "flag"
    holders = {h["who"] for c in finding.evidence["undeclared"] for h in c["holders"]}
    assert holders == {"unlisted"}
    assert "held by the spouse Daria Rossi" in finding.explanation
    # with relations limited to children, the unlisted spouse is not looked at
    narrowed = _finding("DECL-UNDECLARED-COMPANY", declaration, relations="child")
    assert narrowed.outcome == "pass"


# --- DECL-COI-AWARD -------------------------------------------------------------------------------


def _party(party_id: str, name: str, roles: list[str], scheme: str, number: str) -> dict[str, Any]:
    return {"id": party_id, "name": name, "roles": roles, "identifier": {"scheme": scheme, "id": number}}


def _release(ocid: str, buyer: dict[str, Any], supplier: dict[str, Any], value: float, day: str) -> dict[str, Any]:
    return {
        "ocid": ocid,
        "id": f"{ocid}-1",
        "date": f"{day}T00:00:00Z",
        "tag": ["compiled"],
        "initiationType": "tender",
        "buyer": {"id": buyer["id"], "name": buyer["name"]},
        "parties": [buyer, supplier],
        "tender": {"id": f"{ocid}-t", "status": "complete", "procurementMethod": "open"},
        "awards": [
            {
                "id": f"{ocid}-a1",
                "status": "active",
                "date": f"{day}T00:00:00Z",
                "value": {"amount": value, "currency": "EUR"},
                "suppliers": [{"id": supplier["id"], "name": supplier["name"]}],
            }
        ],
    }


ROADS = _party("XD-GOV-001", "Ministry of Roads", ["buyer", "procuringEntity"], "XD-GOV", "001")
HEALTH = _party("XD-GOV-002", "Ministry of Health", ["buyer"], "XD-GOV", "002")
MORAVEC = _party("XD-CR-100", "Moravec Construction", ["supplier"], "XD-CR", "100")
STRANGER = _party("XD-CR-300", "Stranger Ltd", ["supplier"], "XD-CR", "300")


def _procurement(tmp_path: Path) -> None:
    releases = [
        _release("ocds-x-1", ROADS, MORAVEC, 120000.0, "2023-05-02"),
        _release("ocds-x-2", ROADS, STRANGER, 50000.0, "2023-06-02"),
        _release("ocds-x-3", HEALTH, MORAVEC, 99000.0, "2023-07-02"),  # another body: no conflict
    ]
    path = tmp_path / "releases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in releases) + "\n", encoding="utf-8")
    with warehouse_connection() as connection:
        flatten_into_warehouse(connection, path)


def test_awards_of_the_declarants_body_to_the_spouses_company_are_flagged(
    register: None, family: tuple[Person, Person], payload: dict[str, Any], warehouse: Path, tmp_path: Path
) -> None:
    _procurement(tmp_path)
    declaration = _declare(family[0], payload)
    finding = _finding("DECL-COI-AWARD", declaration)
    assert finding.outcome == "flag", finding.explanation
    (conflict,) = finding.evidence["conflicts"]
    assert conflict["company"] == "Moravec Construction"
    assert [(a["ocid"], a["value"], a["date"]) for a in conflict["awards"]] == [("ocds-x-1", 120000.0, "2023-05-02")]
    assert conflict["holders"][0]["relation"] == "spouse" and conflict["holders"][0]["chains"]
    assert finding.evidence["total_value"] == {"EUR": 120000.0}
    assert finding.evidence["weight"] == 5.0
    assert "Ministry of Roads awarded 1 contract(s) worth 120000.00 EUR" in finding.explanation
    assert "ocds-x-1 (2023-05-02)" in finding.explanation


def test_the_body_is_matched_by_identifier_when_the_names_differ(
    register: None, family: tuple[Person, Person], payload: dict[str, Any], warehouse: Path, tmp_path: Path
) -> None:
    _procurement(tmp_path)
    body = PublicBody.objects.create(name="Roads Ministry (HQ)", source_key="body-roads")
    Identifier.objects.create(body=body, scheme=Identifier.Scheme.PROCUREMENT, issuer="XD", value="001")
    content = copy.deepcopy(payload)
    content["position"]["body"] = {"id": "body-roads", "name": "Roads Ministry (HQ)"}
    declaration = _declare(family[0], content)
    assert declaration.body == body
    finding = _finding("DECL-COI-AWARD", declaration)
    assert finding.outcome == "flag", finding.explanation
    assert "id:001" in finding.evidence["body_keys"]


def test_a_body_with_no_award_to_the_family_passes_and_an_unknown_body_is_not_applicable(
    register: None, family: tuple[Person, Person], payload: dict[str, Any], warehouse: Path, tmp_path: Path
) -> None:
    _procurement(tmp_path)
    content = copy.deepcopy(payload)
    content["position"]["body"] = {"name": "Ministry of Health"}
    health = _finding("DECL-COI-AWARD", _declare(family[0], content))
    # Moravec won from Health too: a conflict for a Health official
    assert health.outcome == "flag"
    other = Person.objects.get(name="Olga Berg")  # holds Stranger Ltd
    content["external_id"] = "other"
    content["family_members"] = []
    content["corporate_rights"] = []
    content["vehicles"] = []
    passed = _finding("DECL-COI-AWARD", declaration_submit(declarant=other, payload=content).declaration)
    assert passed.outcome == "pass", passed.explanation
    assert passed.evidence["companies_held"] == 1
    content["position"]["body"] = {"name": "Ministry of Culture"}
    content["external_id"] = "culture"
    content["period"]["year"] = 2024
    culture = _finding("DECL-COI-AWARD", declaration_submit(declarant=other, payload=content).declaration)
    assert (culture.outcome, culture.evidence["reason"]) == ("not_applicable", "body_not_a_buyer")
    assert "Ministry of Culture" in culture.explanation


def test_without_procurement_tables_the_result_is_not_applicable_with_the_tables(
    register: None, family: tuple[Person, Person], payload: dict[str, Any], warehouse: Path
) -> None:
    finding = _finding("DECL-COI-AWARD", _declare(family[0], payload))
    assert finding.outcome == "not_applicable"
    assert finding.evidence["reason"] == "missing_data: procurement tables"
    assert "procurement_awards" in finding.evidence["missing_tables"]


def test_a_family_member_whose_name_and_birth_date_are_not_provided_is_still_covered_by_the_tie(
    register: None, family: tuple[Person, Person], payload: dict[str, Any]
) -> None:
    refused = {"not_provided": "family_member_refused"}
    declaration = _declare(
        family[0],
        payload,
        family_members=[{"id": "fm-1", "relation": "spouse", "name": refused, "birth_date": refused}],
    )
    finding = _finding("DECL-UNDECLARED-COMPANY", declaration)
    members = {m["who"]: m for m in finding.evidence["family_checked"]}
    assert members["fm-1"]["person_ids"] == []  # nothing to match the listed member with …
    assert members["unlisted"]["person_ids"] == [family[1].pk]  # … but the spouse in the core tables counts
    assert finding.outcome == "flag"
