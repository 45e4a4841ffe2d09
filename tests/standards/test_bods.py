"""The bundled BODS 0.4 schema validates offline, reports codelist slips as warnings, and upgrades 0.2/0.3."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from probity.standards import bods

EXAMPLES = "bods/examples"


def _examples(shared_data: Path) -> list[Path]:
    folder = shared_data / EXAMPLES
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return sorted(folder.glob("*.json"))


def test_bundled_schemas_are_the_published_04_files(shared_data: Path) -> None:
    published = shared_data / "bods" / "schema-0.4"
    for name in bods.SCHEMA_FILES:
        assert (bods.SCHEMA_DIR / name).read_bytes() == (published / name).read_bytes(), name
    assert set(bods.codelist("interestType")) >= {"shareholding", "votingRights", "nominee", "nominator"}


def test_every_official_example_statement_is_valid(shared_data: Path) -> None:
    count = 0
    for path in _examples(shared_data):
        for statement in json.loads(path.read_text(encoding="utf-8")):
            check = bods.statement_check(statement)
            assert check.ok and not check.warnings, (path.name, check)
            count += 1
    assert count > 100


def test_validation_never_fetches_a_schema(monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    import urllib.request

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the validator tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    statement = json.loads((shared_data / EXAMPLES / "bods-package.json").read_text())[2]
    assert bods.statement_check(statement).ok


def _relationship(shared_data: Path) -> dict[str, Any]:
    return copy.deepcopy(json.loads((shared_data / EXAMPLES / "bods-package.json").read_text())[2])


def test_a_missing_required_field_is_an_error_naming_the_field(shared_data: Path) -> None:
    statement = _relationship(shared_data)
    del statement["recordDetails"]["subject"]
    check = bods.statement_check(statement)
    assert not check.ok
    assert any("'subject' is a required property" in e for e in check.errors)


def test_a_code_outside_the_codelist_is_a_warning_and_the_statement_stays_usable(shared_data: Path) -> None:
    statement = _relationship(shared_data)
    statement["recordDetails"]["interests"][0]["type"] = "secretHandshake"
    check = bods.statement_check(statement)
    assert check.ok
    assert check.warnings == [
        ("unknown_code", "recordDetails/interests/0/type: 'secretHandshake' is not in the codelist")
    ]


def test_a_share_over_100_percent_is_a_warning_not_a_rejection(shared_data: Path) -> None:
    statement = _relationship(shared_data)
    statement["recordDetails"]["interests"][0]["share"] = {"exact": 150}
    check = bods.statement_check(statement)
    assert check.ok
    assert [code for code, _message in check.warnings] == ["share_out_of_range"]


def test_a_value_that_is_not_an_object_is_an_error() -> None:
    assert bods.statement_check(["not", "a", "statement"]).errors == ["a statement must be a JSON object, not list"]


OLD_PACKAGE = [
    {
        "statementID": "old-entity-1",
        "statementType": "entityStatement",
        "statementDate": "2019-01-01",
        "entityType": "registered-entity",
        "name": "Old Company Ltd",
        "identifiers": [{"scheme": "GB-COH", "id": "01234567"}],
        "publicationDetails": {"publicationDate": "2019-01-02", "bodsVersion": "0.2", "publisher": {"name": "X"}},
    },
    {
        "statementID": "old-person-1",
        "statementType": "personStatement",
        "statementDate": "2019-01-01",
        "personType": "knownPerson",
        "names": [{"type": "individual", "fullName": "Ada Old"}],
        "hasPepStatus": True,
        "publicationDetails": {"publicationDate": "2019-01-02", "bodsVersion": "0.2", "publisher": {"name": "X"}},
    },
    {
        "statementID": "old-ooc-1",
        "statementType": "ownershipOrControlStatement",
        "statementDate": "2019-01-01",
        "subject": {"describedByEntityStatement": "old-entity-1"},
        "interestedParty": {"describedByPersonStatement": "old-person-1"},
        "interests": [
            {
                "type": "shareholding",
                "interestLevel": "direct",
                "beneficialOwnershipOrControl": True,
                "share": {"exact": 75},
            }
        ],
        "publicationDetails": {"publicationDate": "2019-01-02", "bodsVersion": "0.2", "publisher": {"name": "X"}},
    },
    {
        "statementID": "old-ooc-2",
        "statementType": "ownershipOrControlStatement",
        "statementDate": "2020-01-01",
        "replacesStatements": ["old-ooc-1"],
        "subject": {"describedByEntityStatement": "old-entity-1"},
        "interestedParty": {"describedByPersonStatement": "old-person-1"},
        "interests": [{"type": "voting-rights", "directOrIndirect": "direct", "share": {"exact": 60}}],
        "publicationDetails": {"publicationDate": "2020-01-02", "bodsVersion": "0.3", "publisher": {"name": "X"}},
    },
    {
        "statementID": "old-ooc-3",
        "statementType": "ownershipOrControlStatement",
        "statementDate": "2020-01-01",
        "subject": {"describedByEntityStatement": "old-entity-1"},
        "interestedParty": {"unspecified": {"reason": "no-beneficial-owners"}},
        "publicationDetails": {"publicationDate": "2020-01-02", "bodsVersion": "0.2", "publisher": {"name": "X"}},
    },
]


def test_02_and_03_statements_upgrade_to_valid_04_records() -> None:
    upgraded = list(bods.statements_upgrade(copy.deepcopy(OLD_PACKAGE)))
    for statement, version in upgraded:
        assert version in ("0.2", "0.3")
        check = bods.statement_check(statement)
        assert check.ok, (statement, check.errors)
    entity, person, first, update, unspecified = (s for s, _v in upgraded)
    assert entity["recordType"] == "entity" and entity["recordDetails"]["entityType"] == {"type": "registeredEntity"}
    assert person["recordDetails"]["politicalExposure"] == {"status": "isPep"}
    assert first["recordDetails"]["subject"] == "old-entity-1"
    assert first["recordDetails"]["interestedParty"] == "old-person-1"
    assert first["recordDetails"]["interests"][0]["directOrIndirect"] == "direct"
    # The update replaces the first statement, so it lands on the same record.
    assert update["recordId"] == first["recordId"] == "old-ooc-1"
    assert update["recordStatus"] == "updated"
    assert update["recordDetails"]["interests"][0]["type"] == "votingRights"
    assert unspecified["recordDetails"]["interestedParty"] == {"reason": "noBeneficialOwners"}
    assert all(32 <= len(s["statementId"]) <= 64 for s, _v in upgraded)


def test_04_statements_pass_through_the_upgrade_unchanged(shared_data: Path) -> None:
    original = json.loads((shared_data / EXAMPLES / "joint-ownership.json").read_text())
    assert [s for s, _v in bods.statements_upgrade(copy.deepcopy(original))] == original


def test_mixed_script_names_are_detected() -> None:
    assert bods.name_scripts("Ivan Иванов") == ["Latn", "Cyrl"]
    assert bods.name_scripts("张伟") == ["Hani"]
