"""The debarment register: CSV and FollowTheMoney imports, idempotent, with errors named by record."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from probity.core.models import AuditEntry, Identifier, Organisation
from probity.procurement.models import Debarment
from probity.procurement.services import debarment_import_csv, debarment_import_ftm, debarment_rows

pytestmark = pytest.mark.django_db

HEADER = "id,name,identifiers,country,authority,start_date,end_date,grounds\n"


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_import_keeps_good_rows_and_names_each_bad_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "d1,Alpha Build LLC,XD-CR:11111111;XD-TIN:XD123,XD,Procurement Agency,2023-01-01,2024-01-01,"
        + "Forged guarantee\n"
        + "d2,Beta Works,,XD,Procurement Agency,2023-13-01,,Fraud\n"
        + "d3,,,XD,Procurement Agency,2023-01-01,,Fraud\n"
        + "d4,Gamma,,XD,Procurement Agency,2023-05-01,2023-01-01,Fraud\n"
        + "d5,Delta Trade,998877,,Court,2022-02-02,,Bribery conviction\n",
    )
    report = debarment_import_csv(path=path)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert [line for line, _ in report.errors] == ["line 3", "line 4", "line 5"]
    assert "start_date '2023-13-01' is not a date" in report.errors[0][1]
    assert "name is empty" in report.errors[1][1]
    assert "ends (2023-01-01) before it starts" in report.errors[2][1]
    alpha = Debarment.objects.get(name="Alpha Build LLC")
    assert alpha.identifiers == [{"id": "11111111"}, {"id": "XD123"}]
    assert (alpha.start_date, alpha.end_date) == (date(2023, 1, 1), date(2024, 1, 1))
    assert alpha.authority == "Procurement Agency"
    assert Debarment.objects.get(name="Delta Trade").end_date is None  # indefinite


def test_importing_the_same_list_twice_creates_nothing_new_and_updates_in_place(tmp_path: Path) -> None:
    text = HEADER + "d1,Alpha Build LLC,11111111,XD,Agency,2023-01-01,2024-01-01,Fraud\n"
    debarment_import_csv(path=write(tmp_path, text))
    again = debarment_import_csv(path=write(tmp_path, text))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = debarment_import_csv(path=write(tmp_path, text.replace("2024-01-01", "2025-01-01")))
    assert (changed.created, changed.updated) == (0, 1)
    assert Debarment.objects.count() == 1 and Debarment.objects.get().end_date == date(2025, 1, 1)


def test_a_debarment_is_linked_to_the_organisation_with_its_registry_number(tmp_path: Path) -> None:
    alpha = Organisation.objects.create(name="Alpha Build Limited Liability Company")
    Identifier.objects.create(scheme=Identifier.Scheme.COMPANY_REGISTER, value="11111111", organisation=alpha)
    beta = Organisation.objects.create(name="Beta Works")
    debarment_import_csv(
        path=write(
            tmp_path,
            HEADER
            + "d1,ALPHA BUILD LLC,XD-CR:11111111,,,2023-01-01,,\n"
            + "d2,beta works,,,,2023-01-01,,\n"
            + "d3,Nobody Known,,,,2023-01-01,,\n",
        )
    )
    linked = dict(Debarment.objects.values_list("name", "organisation_id"))
    assert linked == {"ALPHA BUILD LLC": alpha.pk, "beta works": beta.pk, "Nobody Known": None}
    rows = {r["name"]: r for r in debarment_rows()}
    assert "11111111" in rows["ALPHA BUILD LLC"]["identifiers"]


def test_each_import_writes_audit_entries(tmp_path: Path) -> None:
    before = AuditEntry.objects.count()
    debarment_import_csv(path=write(tmp_path, HEADER + "d1,Alpha,,,,2023-01-01,,\n"))
    entries = list(AuditEntry.objects.order_by("sequence")[before:])
    assert any(e.object_type.endswith("debarment") and e.action == AuditEntry.Action.CREATE for e in entries)
    assert entries[-1].object_label == "debarment import: list.csv" and entries[-1].details["created"] == 1


def test_a_csv_without_the_required_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lacks the column"):
        debarment_import_csv(path=write(tmp_path, "who,when\nx,y\n"))


def test_ftm_sanctions_import_with_their_targets(tmp_path: Path) -> None:
    lines = [
        {
            "id": "co-1",
            "schema": "Company",
            "properties": {"name": ["Alpha Build LLC"], "registrationNumber": ["11111111"], "jurisdiction": ["xd"]},
        },
        {
            "id": "sanc-1",
            "schema": "Sanction",
            "properties": {
                "entity": ["co-1"],
                "authority": ["Procurement Agency"],
                "startDate": ["2023-01-01"],
                "endDate": ["2024-06-30"],
                "reason": ["Forged documents"],
                "program": ["Debarment"],
            },
        },
        {"id": "sanc-2", "schema": "Sanction", "properties": {"entity": ["missing-1"], "startDate": ["2023-01-01"]}},
        {"id": "bad", "schema": "NoSuchSchema", "properties": {}},
    ]
    path = write(tmp_path, "\n".join(json.dumps(line) for line in lines) + "\n", "list.ftm.jsonl")
    report = debarment_import_ftm(path=path)
    assert report.created == 1
    reasons = " | ".join(f"{where}: {why}" for where, why in report.errors)
    assert "line 4" in reasons and "missing-1, which is not in the file" in reasons
    debarment = Debarment.objects.get(source_key="ftm:sanc-1")
    assert debarment.name == "Alpha Build LLC" and {"id": "11111111"} in debarment.identifiers
    assert (debarment.start_date, debarment.end_date) == (date(2023, 1, 1), date(2024, 6, 30))
    assert "Forged documents" in debarment.grounds and debarment.authority == "Procurement Agency"
    assert debarment_import_ftm(path=path).unchanged == 1


def test_real_opensanctions_entities_import(shared_data: Path) -> None:
    path = shared_data / "ftm" / "zala.ftm.jsonl"
    sanctions = sum(1 for line in path.open(encoding="utf-8") if '"schema": "Sanction"' in line)
    report = debarment_import_ftm(path=path)
    assert report.created + len(report.errors) == sanctions
    assert report.created >= sanctions // 2
    assert Debarment.objects.filter(authority__icontains="Foreign Affairs").exists()
    assert all(d.source == Debarment.Source.FTM for d in Debarment.objects.all())


def test_roles_may_read_and_maintain_the_register_as_granted() -> None:
    from django.contrib.auth.models import Group

    def codes(role: str) -> set[str]:
        return set(
            Group.objects.get(name=role)
            .permissions.filter(content_type__app_label="procurement")
            .values_list("codename", flat=True)
        )

    assert {"view_debarment", "add_debarment", "change_debarment"} <= codes("analyst")
    assert "delete_debarment" not in codes("analyst") and "delete_debarment" in codes("administrator")
    assert codes("auditor") == {"view_debarment", "view_codelistmapping"}  # reads the codelist mappings too
    assert "procurement" not in {p.split(".")[0] for p in codes("declarant")}
