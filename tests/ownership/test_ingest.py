"""BODS ingest: bad statements get a clear reason and their neighbours are kept; 0.2/0.3 upgrade; idempotence."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import AuditEntry, Identifier, Organisation, Person
from probity.ownership.models import IngestIssue, Interest, Party, Relationship, Statement
from probity.ownership.selectors import ownership_view
from probity.ownership.services import IngestFileError, IngestResult, ownership_ingest
from tests.standards.test_bods import OLD_PACKAGE

Ingest = Callable[..., IngestResult]
PUBLICATION = {"publicationDate": "2024-01-01", "bodsVersion": "0.4", "publisher": {"name": "Test register"}}


def sid(n: int | str) -> str:
    return f"{str(n):0>32}"


def entity(record: str, name: str = "", **details: Any) -> dict[str, Any]:
    return {
        "statementId": sid(f"e{record}"),
        "statementDate": "2024-01-01",
        "recordId": record,
        "recordType": "entity",
        "declarationSubject": record,
        "publicationDetails": PUBLICATION,
        "recordDetails": {
            "isComponent": False,
            "entityType": {"type": "registeredEntity"},
            "name": name or f"Company {record}",
            **details,
        },
    }


def person(record: str, name: str | None = None, **details: Any) -> dict[str, Any]:
    names = [] if name == "" else [{"type": "legal", "fullName": name or f"Person {record}"}]
    return {
        "statementId": sid(f"p{record}"),
        "statementDate": "2024-01-01",
        "recordId": record,
        "recordType": "person",
        "declarationSubject": record,
        "publicationDetails": PUBLICATION,
        "recordDetails": {"isComponent": False, "personType": "knownPerson", "names": names, **details},
    }


def holds(
    record: str,
    owner: str,
    subject: str,
    share: float | None = None,
    kind: str = "shareholding",
    beneficial: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    interest: dict[str, Any] = {"type": kind, "directOrIndirect": "direct"}
    if share is not None:
        interest["share"] = {"exact": share}
    if beneficial is not None:
        interest["beneficialOwnershipOrControl"] = beneficial
    return {
        "statementId": sid(f"r{record}"),
        "statementDate": "2024-01-01",
        "recordId": record,
        "recordType": "relationship",
        "declarationSubject": subject,
        "publicationDetails": PUBLICATION,
        "recordDetails": {
            "isComponent": False,
            "subject": subject,
            "interestedParty": owner,
            "interests": [interest],
            **extra,
        },
    }


def issues(result: IngestResult) -> list[tuple[str, str]]:
    return list(result.batch.issues.order_by("position", "pk").values_list("severity", "code"))


def test_a_malformed_statement_is_rejected_with_its_position_and_its_neighbours_are_kept(
    ingest_statements: Ingest,
) -> None:
    broken = holds("r1", "p1", "c1", 50)
    del broken["recordDetails"]["interestedParty"]
    result = ingest_statements([entity("c1"), person("p1"), broken, "not an object", holds("r2", "p1", "c1", 50)])
    assert result.errors == 2 and result.exit_code == 1
    rejected = result.batch.issues.filter(severity=IngestIssue.Severity.ERROR).order_by("position")
    assert [(i.position, i.code) for i in rejected] == [(3, "schema"), (4, "schema")]
    assert "'interestedParty' is a required property" in rejected[0].message
    assert rejected[0].statement_id == sid("rr1")
    assert Statement.objects.count() == 3
    assert Relationship.objects.get().record_id == "r2"


def test_a_line_that_is_not_json_is_reported_and_the_other_lines_are_ingested(ingest_statements: Ingest) -> None:
    text = "\n".join([json.dumps(entity("c1")), "{not json", json.dumps(person("p1"))]) + "\n"
    result = ingest_statements(text, lines=True)
    assert issues(result) == [("error", "invalid_json")]
    assert result.batch.issues.get().position == 2
    assert Party.objects.count() == 2


def test_json_lines_and_package_objects_are_read(ingest_statements: Ingest) -> None:
    assert ingest_statements([entity("c1"), person("p1")], lines=True).batch.statements_stored == 2
    package = json.dumps({"statements": [entity("c2")]})
    assert ingest_statements(package).batch.statements_stored == 1


def test_a_file_that_is_not_json_at_all_is_a_rejected_record_with_its_place(db: None, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[{", encoding="utf-8")
    result = ownership_ingest(path=path)
    assert result.exit_code == 1
    issue = result.batch.issues.get()
    assert (issue.position, issue.code) == (1, "invalid_json")
    assert "the file ends in the middle of this record" in issue.message and "line 1" in issue.message


def test_a_file_that_cannot_be_opened_is_a_clear_error(db: None, tmp_path: Path) -> None:
    with pytest.raises(IngestFileError, match="missing.json cannot be read"):
        ownership_ingest(path=tmp_path / "missing.json")


def test_bad_values_are_kept_with_data_quality_warnings(ingest_statements: Ingest) -> None:
    over = holds("r1", "p1", "c1", 150)
    selfish = holds("r2", "c1", "c1", 10)
    unknown = holds("r3", "p2", "c1", 10, kind="secretHandshake")
    dangling = holds("r4", "ghost", "c1", 10)
    result = ingest_statements(
        [
            entity("c1"),
            person("p1"),
            person("p2", ""),
            person("p3", "Ivan Иванов"),
            over,
            selfish,
            unknown,
            dangling,
        ]
    )
    assert result.errors == 0
    found = {code for _severity, code in issues(result)}
    assert found >= {
        "share_out_of_range",
        "self_ownership",
        "unknown_code",
        "empty_name",
        "mixed_scripts",
        "dangling_reference",
    }
    assert Relationship.objects.count() == 4  # nothing valid was dropped
    assert Interest.objects.get(relationship__record_id="r3").type == "secretHandshake"


def test_reingesting_the_same_file_stores_nothing_twice(ingest_statements: Ingest) -> None:
    statements = [entity("c1"), person("p1"), holds("r1", "p1", "c1", 60)]
    first = ingest_statements(statements)
    again = ingest_statements(statements)
    assert first.batch.statements_stored == 3
    assert again.batch.statements_stored == 0 and again.batch.statements_unchanged == 3
    assert (Statement.objects.count(), Party.objects.count(), Interest.objects.count()) == (3, 2, 1)


def test_a_changed_statement_under_a_known_id_is_refused(ingest_statements: Ingest) -> None:
    ingest_statements([entity("c1")])
    changed = entity("c1", "Renamed Ltd")
    result = ingest_statements([changed])
    assert issues(result) == [("error", "statement_changed")]
    assert Party.objects.get().name == "Company c1"


def test_a_later_statement_updates_the_record_and_closing_removes_it_from_the_graph(ingest_statements: Ingest) -> None:
    ingest_statements([entity("c1"), person("p1"), holds("r1", "p1", "c1", 60)])
    update = holds("r1", "p1", "c1", 20)
    update.update(statementId=sid("update"), statementDate="2024-06-01", recordStatus="updated")
    ingest_statements([update])
    assert Interest.objects.get().share_exact == 20
    closing = copy.deepcopy(update)
    closing.update(statementId=sid("close"), statementDate="2025-01-01", recordStatus="closed")
    ingest_statements([closing])
    view = ownership_view(party=Party.objects.get(record_id="c1"))
    assert view.owners == []


def test_old_bods_versions_are_upgraded_on_the_way_in(ingest_statements: Ingest) -> None:
    result = ingest_statements(copy.deepcopy(OLD_PACKAGE))
    assert result.errors == 0, issues(result)
    assert set(Statement.objects.values_list("source_version", flat=True)) == {"0.2", "0.3"}
    relationship = Relationship.objects.get(record_id="old-ooc-1")
    assert relationship.interests.get().type == "votingRights"  # the 0.3 update replaced the 0.2 statement
    company = Party.objects.get(name="Old Company Ltd")
    owners = {o.party.name: o for o in ownership_view(party=company).owners}
    assert owners["Ada Old"].status == "owner" and owners["Ada Old"].share.vote_lo == pytest.approx(0.6)
    assert Party.objects.get(name="Ada Old").is_pep


def test_ingest_is_written_to_the_audit_log(ingest_statements: Ingest) -> None:
    result = ingest_statements([entity("c1")])
    entry = AuditEntry.objects.filter(object_type="ownership.ingestbatch").get()
    assert entry.object_id == str(result.batch.pk) and entry.details["stored"] == 1


def test_parties_link_to_core_records_by_identifier_and_by_name_and_birth_month(ingest_statements: Ingest) -> None:
    company = Organisation.objects.create(name="Acme")
    Identifier.objects.create(organisation=company, scheme="company_register", issuer="XD", value="CR-0042")
    official = Person.objects.create(name="Wang Fang", birth_date="1970-05-04")
    ingest_statements(
        [
            entity("c1", identifiers=[{"scheme": "XD-CR", "id": "cr0042"}]),
            person("p1", "Wang Fang", birthDate="1970-05"),
        ]
    )
    assert Party.objects.get(record_id="c1").organisation == company
    assert Party.objects.get(record_id="p1").person == official
