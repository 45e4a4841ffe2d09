"""Schema validation with plain messages, immutable versions and their diff, imports (JSON, CSV) with
per-record errors, exchange rates, and the bad input the issue names."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import AuditEntry, Person
from probity.declarations.models import Declaration, DeclarationVersion, ExchangeRate
from probity.declarations.rates import MissingRate, convert
from probity.declarations.schema import DeclarationInvalid, load_schema, validate_content
from probity.declarations.selectors import version_diff
from probity.declarations.services import content_hash, declaration_import, declaration_submit, rates_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def person() -> Person:
    return Person.objects.create(name="Ana Test", source_key="person-test-1")


def test_the_bundled_schema_is_valid_2020_12_and_has_every_section() -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for section in (
        "family_members",
        "real_estate",
        "unfinished_construction",
        "valuables",
        "vehicles",
        "securities",
        "corporate_rights",
        "beneficial_ownership",
        "intangible_assets",
        "income",
        "cash_and_accounts",
        "liabilities",
        "expenditures",
        "outside_employment",
        "memberships",
    ):
        assert section in schema["properties"], section
        if section != "family_members":
            assert "owner" in schema["properties"][section]["items"]["required"]


def test_a_valid_declaration_passes(payload: dict[str, Any]) -> None:
    assert validate_content(payload) == []


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda p: p["real_estate"][0]["value"].update(amount="12,5"), "real_estate[0].value", "not an amount"),
        (lambda p: p["real_estate"][0]["value"].update(amount="1" * 30), "real_estate[0].value", "at most 15 digits"),
        (lambda p: p["real_estate"][0].update(acquired="2023-02-30"), "real_estate[0].acquired", "not a real date"),
        (lambda p: p["real_estate"][0]["value"].update(currency="XXY"), "real_estate[0].value", "ISO 4217"),
        (lambda p: p["real_estate"][0].update(owner="fm-9"), "real_estate[0].owner", "neither 'declarant'"),
        (lambda p: p.pop("declarant"), "", "'declarant' is required"),
        (lambda p: p.update(declaration_type="weekly"), "declaration_type", "entry, annual, exit, post_exit"),
        (lambda p: p["period"].update(year=99999), "period.year", "out of range"),
    ],
)
def test_invalid_values_get_a_plain_message_naming_the_field(
    payload: dict[str, Any], change: Any, path: str, words: str
) -> None:
    change(payload)
    errors = validate_content(payload)
    assert errors, "expected an error"
    assert any(e.path == path and words in e.message for e in errors), errors


def test_a_currency_without_a_rate_is_refused_then_accepted_once_the_rate_exists(
    payload: dict[str, Any], tmp_path: Path
) -> None:
    payload["cash_and_accounts"][0]["amount"] = {"amount": "500", "currency": "USD"}
    errors = validate_content(payload)
    assert [e.path for e in errors] == ["cash_and_accounts[0].amount.currency"]
    assert "no exchange rate from USD to EUR on or before 2023-12-31" in errors[0].message
    with pytest.raises(MissingRate):
        convert(Decimal("1"), "USD", "EUR", date(2023, 12, 31))
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "date,currency,base_currency,rate\n2023-12-29,USD,EUR,0.9\n2023-12-30,usd,EUR,abc\n"
        "2024-01-02,USD,EUR,0.95\n2023-12-29,ZZZ,EUR,1\n"
    )
    report = rates_import(path=rates)
    assert report.created == 2 and len(report.errors) == 2
    assert report.errors[0].startswith("row 3:") and report.errors[1].startswith("row 5:")
    assert rates_import(path=rates).unchanged == 2  # idempotent
    assert convert(Decimal("100"), "USD", "EUR", date(2023, 12, 31)) == Decimal("90.00")
    assert ExchangeRate.objects.count() == 2
    assert validate_content(payload) == []


def test_submit_stores_an_immutable_version_with_hash_and_audit_and_a_correction_is_a_new_version(
    payload: dict[str, Any], person: Person
) -> None:
    first = declaration_submit(declarant=person, payload=payload)
    assert first.created and first.version.number == 1
    assert first.version.content_hash == content_hash(content=payload) and len(first.version.content_hash) == 64
    assert first.declaration.status == Declaration.Status.SUBMITTED
    assert AuditEntry.objects.filter(details__event="declaration_submitted", object_id=str(first.version.pk)).exists()

    same = declaration_submit(declarant=person, payload=copy.deepcopy(payload))
    assert not same.created and same.version.pk == first.version.pk

    payload["cash_and_accounts"][0]["amount"]["amount"] = "12000"
    second = declaration_submit(declarant=person, payload=payload)
    assert second.created and second.version.number == 2 and second.declaration.pk == first.declaration.pk
    changes = version_diff(old=first.version, new=second.version)
    assert [(c.path, c.old, c.new, c.kind) for c in changes] == [
        ("cash_and_accounts[0].amount.amount", "10000", "12000", "changed")
    ]

    stored = DeclarationVersion.objects.get(pk=first.version.pk)
    stored.content = {}
    with pytest.raises(PermissionError):
        stored.save()
    with pytest.raises(PermissionError):
        stored.delete()
    assert DeclarationVersion.objects.get(pk=first.version.pk).content_hash == first.version.content_hash


def test_invalid_submit_stores_nothing(payload: dict[str, Any], person: Person) -> None:
    payload["real_estate"][0]["share_percent"] = "a lot"
    with pytest.raises(DeclarationInvalid) as caught:
        declaration_submit(declarant=person, payload=payload)
    assert caught.value.errors[0].path == "real_estate[0].share_percent"
    assert Declaration.objects.count() == 0 and DeclarationVersion.objects.count() == 0


def test_json_import_keeps_valid_records_reports_bad_ones_and_is_idempotent(
    payload: dict[str, Any], tmp_path: Path
) -> None:
    good2 = copy.deepcopy(payload)
    good2["external_id"] = "decl-test-2"
    good2["period"]["year"] = 2022
    bad = copy.deepcopy(payload)
    bad["external_id"] = "decl-test-bad"
    bad["period"]["year"] = 2021
    bad["income"][0]["amount"]["amount"] = "1e999"
    bad["declarant"]["birth_date"] = "1970-13-45"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "batch.json").write_text(json.dumps([payload, bad, good2, "not an object"]))
    (folder / "broken.json").write_text('{"schema_version": "1.0", ')
    (folder / "lines.jsonl").write_text(json.dumps(good2) + "\n{oops\n")
    report = declaration_import(path=folder)
    assert report.created == 2 and report.unchanged == 1
    errors = "\n".join(report.errors)
    assert "batch.json item 1 (decl-test-bad): declarant.birth_date" in errors
    assert "income[0].amount" in errors
    assert "batch.json item 3: is not a JSON object" in errors
    assert "broken.json: is not valid JSON" in errors
    assert "lines.jsonl line 2: is not valid JSON" in errors
    assert set(Declaration.objects.values_list("external_id", flat=True)) == {"decl-test-1", "decl-test-2"}
    again = declaration_import(path=folder)
    assert again.created == 0 and DeclarationVersion.objects.count() == 2


CSV_HEADER = (
    "declaration_id,declarant_id,declarant_name,declaration_type,year,position_title,body_name,"
    "reporting_currency,section,owner,kind,description,amount,currency,share_percent,date\n"
)


def test_csv_import_rejects_a_whole_declaration_with_a_bad_row_and_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_text(
        CSV_HEADER
        + "D1,P1,Ana,annual,2023,Clerk,Ministry,EUR,family_members,fm-1,spouse,Ben,,,,\n"
        + "D1,P1,Ana,annual,2023,Clerk,Ministry,EUR,real_estate,declarant,apartment,Flat,100000,EUR,100,2010-01-01\n"
        + "D1,P1,Ana,annual,2023,Clerk,Ministry,EUR,income,fm-1,salary,Job,not provided,,,\n"
        + "D2,P2,Bo,annual,2023,Clerk,Ministry,EUR,real_estate,declarant,house,House,5000,EUR,100,\n"
        + "D2,P2,Bo,annual,2023,Clerk,Ministry,EUR,vehicles,declarant,car,Car,-12x,EUR,,\n"
        + "D3,P3,Cy,annual,20x3,Clerk,Ministry,EUR,,,,,,,,\n"
    )
    report = declaration_import(path=path)
    assert report.created == 1
    errors = "\n".join(report.errors)
    assert "declaration 'D2' (from row 5): vehicles[0] (row 6).value" in errors
    assert "declaration 'D3' (from row 7): row 7: year '20x3' is not a whole number" in errors
    assert Declaration.objects.get().external_id == "D1"
    assert not Person.objects.filter(source_key="P2").exists()  # no half-saved declaration
    content = DeclarationVersion.objects.get().content
    assert content["income"][0]["amount"] == {"not_provided": "family_member_refused"}


def test_html_and_script_in_free_text_are_stored_as_text(payload: dict[str, Any], person: Person) -> None:
    payload["real_estate"][0]["description"] = "<script>alert('x')</script><b>home</b>"
    result = declaration_submit(declarant=person, payload=payload)
    assert result.version.content["real_estate"][0]["description"].startswith("<script>")


def test_malformed_files_are_reported_not_fatal(tmp_path: Path, payload: dict[str, Any]) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.csv").write_text("declaration_id,year\nD1,2023\n")
    (folder / "b.json").write_bytes(b"\xff\xfe\x00garbage")
    (folder / "c.json").write_text(json.dumps(payload))
    (folder / "ignored.txt").write_text("not a declaration")
    report = declaration_import(path=folder)
    errors = "\n".join(report.errors)
    assert "a.csv: the CSV lacks the columns declarant_id" in errors
    assert "b.json: is not UTF-8 text" in errors or "b.json: is not valid JSON" in errors
    assert report.created == 1 and len(report.errors) == 2


def test_rates_file_without_the_columns_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("day,code,value\n")
    with pytest.raises(ValueError, match="missing date, currency, base_currency, rate"):
        rates_import(path=path)


def test_a_demo_0_1_file_with_a_bad_value_is_reported_with_the_1_0_path(tmp_path: Path, demo_dir: Path) -> None:
    source = sorted((demo_dir / "declarations").glob("*.json"))[0]
    document = json.loads(source.read_text())
    document["income"][0]["amount"]["amount"] = "12 000"
    (tmp_path / source.name).write_text(json.dumps(document))
    report = declaration_import(path=tmp_path / source.name)
    assert report.created == 0
    assert report.errors[0].startswith(f"{source.name}: income[0].amount")


def test_the_audit_log_records_the_version_but_not_its_content(payload: dict[str, Any], person: Person) -> None:
    payload["declarant"]["national_id"] = "SECRET-ID-123"
    result = declaration_submit(declarant=person, payload=payload)
    entries = AuditEntry.objects.filter(object_type__icontains="declarationversion")
    assert entries.filter(action="create", object_id=str(result.version.pk)).exists()
    assert all("SECRET-ID-123" not in json.dumps(e.details) for e in AuditEntry.objects.all())
