"""OWN-BO-MISMATCH and OWN-DATA-QUALITY on hand-made registers: one flag, one pass, one not applicable each."""

from __future__ import annotations

from collections.abc import Callable

from probity.core.models import Finding
from probity.core.services import detector_run
from probity.ownership.services import IngestResult
from tests.ownership.test_ingest import entity, holds, person

Ingest = Callable[..., IngestResult]


def findings(code: str) -> dict[str, Finding]:
    return {f.subject_label: f for f in Finding.objects.filter(detector_code=code)}


def test_declared_owner_that_no_chain_supports_is_flagged(ingest_statements: Ingest) -> None:
    ingest_statements(
        [
            entity("agree", "Agree Ltd"),
            entity("disagree", "Disagree Ltd"),
            entity("silent", "Silent Ltd"),
            entity("hold", "Holding Ltd"),
            person("p1", "Alice"),
            person("p2", "Bob"),
            person("p3", "Carol"),
            holds("r1", "p1", "agree", 60, beneficial=True),
            # Bob is declared the beneficial owner of Disagree with 5 %, while Carol holds 90 % through Holding Ltd.
            holds("r2", "p2", "disagree", 5, beneficial=True),
            holds("r3", "hold", "disagree", 90, beneficial=False),
            holds("r4", "p3", "hold", 100),
            holds("r5", "p1", "silent", 80),
        ]
    )
    run = detector_run(code="OWN-BO-MISMATCH")
    found = findings("OWN-BO-MISMATCH")
    assert found["Agree Ltd"].outcome == "pass"
    assert found["Disagree Ltd"].outcome == "flag"
    problems = found["Disagree Ltd"].evidence["problems"]
    assert any("Bob" in p and "declared, not an owner" in p for p in problems)
    assert any("Carol" in p and "not declared" in p for p in problems)
    assert found["Silent Ltd"].outcome == "not_applicable"
    assert found["Silent Ltd"].evidence["reason"] == "no_declared_owner"
    assert run.flagged == 1


def test_threshold_parameter_changes_who_must_be_declared(ingest_statements: Ingest) -> None:
    ingest_statements(
        [
            entity("c", "Twelve Ltd"),
            person("p1", "Dora"),
            person("p2", "Emil"),
            holds("r1", "p1", "c", 60, beneficial=True),
            holds("r2", "p2", "c", 12),
        ]
    )
    detector_run(code="OWN-BO-MISMATCH")
    assert findings("OWN-BO-MISMATCH")["Twelve Ltd"].outcome == "pass"
    Finding.objects.all().delete()
    detector_run(code="OWN-BO-MISMATCH", parameters={"threshold": 10})
    assert findings("OWN-BO-MISMATCH")["Twelve Ltd"].outcome == "flag"


def test_data_quality_flags_over_allocation_self_ownership_and_bad_names(ingest_statements: Ingest) -> None:
    ingest_statements(
        [
            entity("over", "Over Ltd"),
            entity("fine", "Fine Ltd"),
            person("p1", "Fay"),
            person("p2", "Gus"),
            person("p3", "Ivan Иванов"),
            holds("r1", "p1", "over", 70),
            holds("r2", "p2", "over", 60),
            holds("r3", "fine", "fine", 10),
            holds("r4", "p1", "fine", 50),
        ]
    )
    detector_run(code="OWN-DATA-QUALITY")
    found = findings("OWN-DATA-QUALITY")
    assert found["Over Ltd"].outcome == "flag"
    assert any("more than 100" in p for p in found["Over Ltd"].evidence["problems"])
    assert found["Fine Ltd"].outcome == "flag"
    assert any("self_ownership" in p for p in found["Fine Ltd"].evidence["problems"])
    assert found["Ivan Иванов"].outcome == "flag" and found["Ivan Иванов"].subject_type == "person"
    assert found["Fay"].outcome == "pass"


def test_official_whose_spouse_owns_a_company_through_a_holding_is_flagged(ingest_statements: Ingest) -> None:
    from probity.core.models import FamilyRelation, Person, Position, PublicBody

    ministry = PublicBody.objects.create(name="Ministry of Roads")
    minister = Person.objects.create(name="Kamil Costa", birth_date="1961-07-15")
    spouse = Person.objects.create(name="Daria Rossi", birth_date="1966-09-30")
    clean = Person.objects.create(name="Olga Berg", birth_date="1970-01-01")
    absent = Person.objects.create(name="Nobody Here", birth_date="1980-01-01")
    FamilyRelation.objects.create(person=minister, relative=spouse, kind="spouse")
    for holder, title in ((minister, "Minister"), (clean, "Deputy"), (absent, "Clerk")):
        Position.objects.create(body=ministry, title=title, holder=holder)
    ingest_statements(
        [
            entity("hold", "Eastgate Holdings"),
            entity("supplier", "Moravec Construction"),
            person("p1", "Daria Rossi", birthDate="1966-09"),
            person("p2", "Olga Berg", birthDate="1970-01"),
            holds("r1", "p1", "hold", 100),
            holds("r2", "hold", "supplier", 100),
        ]
    )
    detector_run(code="OWN-COI-OFFICIAL")
    found = findings("OWN-COI-OFFICIAL")
    flagged = found["Kamil Costa"]
    assert flagged.outcome == "flag"
    holdings = {h["company"]: h for h in flagged.evidence["holdings"]}
    assert set(holdings) == {"Eastgate Holdings", "Moravec Construction"}
    assert holdings["Moravec Construction"]["relation"] == "spouse"
    assert holdings["Moravec Construction"]["ownership"]["min"] == 1.0 and holdings["Moravec Construction"]["control"]
    assert found["Olga Berg"].outcome == "pass"
    assert found["Nobody Here"].outcome == "not_applicable"
