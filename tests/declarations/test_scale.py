"""The paths built for national scale: batched import, cached rates, streamed items, bulk findings."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import AuditEntry, Finding, Person
from probity.core.services import detector_run
from probity.declarations.models import Declaration, DeclarationVersion, ExchangeRate
from probity.declarations.rates import MissingRate, cached_rates, rate_for
from probity.declarations.selectors import iter_consecutive_pairs, iter_latest_items
from probity.declarations.services import declaration_import, declaration_submit

pytestmark = pytest.mark.django_db

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "declarations.py"


def _benchmark() -> Any:
    spec = importlib.util.spec_from_file_location("declarations_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["declarations_benchmark"] = module
    spec.loader.exec_module(module)
    return module


def _records(payload: dict[str, Any]) -> list[Any]:
    """Five declarations of two declarants, a correction, a duplicate and two bad records."""
    out = []
    for n in range(3):
        record = copy.deepcopy(payload)
        record["external_id"] = f"a-{2021 + n}"
        record["period"]["year"] = 2021 + n
        out.append(record)
    other = copy.deepcopy(payload)
    other["external_id"], other["declarant"] = "b-2023", {"id": "person-b", "name": "Bo"}
    out.append(other)
    corrected = copy.deepcopy(out[0])
    corrected["cash_and_accounts"][0]["amount"]["amount"] = "12000"
    out.append(corrected)  # a correction of a-2021 in the same file: version 2
    out.append(copy.deepcopy(out[1]))  # the same content again: unchanged
    bad = copy.deepcopy(payload)
    bad["external_id"], bad["period"]["year"] = "a-bad", 2020
    bad["income"][0]["amount"]["amount"] = "12 000"
    out.append(bad)
    thief = copy.deepcopy(other)
    thief["declarant"] = {"id": "person-c", "name": "Cy"}  # claims Bo's declaration id
    out.append(thief)
    return out


def _snapshot() -> list[tuple[Any, ...]]:
    return sorted(
        (v.declaration.external_id, v.declaration.declarant.source_key, v.number, v.content_hash, v.source)
        for v in DeclarationVersion.objects.select_related("declaration__declarant")
    )


def test_batched_import_stores_what_one_by_one_stores_with_a_summary_audit_entry(
    payload: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "many.json"
    path.write_text(json.dumps(_records(payload)))

    slow = declaration_import(path=path, batch_size=1)
    slow_rows = _snapshot()
    slow_errors = slow.errors
    DeclarationVersion.objects.all()._raw_delete(DeclarationVersion.objects.db)  # immutable: raw delete in tests
    Declaration.objects.all().delete()
    Person.objects.all().delete()
    AuditEntry.objects.filter(details__event="declarations_imported").delete()

    report = declaration_import(path=path, batch_size=3)
    assert _snapshot() == slow_rows
    assert (report.created, report.unchanged) == (slow.created, slow.unchanged) == (5, 1)
    assert report.errors == slow_errors
    assert any("many.json item 6 (a-bad): income[0].amount" in e for e in report.errors)
    assert any("'b-2023' already belongs to another declarant's declaration" in e for e in report.errors)
    assert not Person.objects.filter(source_key="person-c").exists()  # nothing of a rejected record

    entries = AuditEntry.objects.filter(details__event="declarations_imported")
    listed = {row[0] for entry in entries for row in entry.details["versions"]}
    assert listed == set(DeclarationVersion.objects.values_list("pk", flat=True))
    numbers = {row[0]: (row[2], row[3], row[4]) for entry in entries for row in entry.details["versions"]}
    second = DeclarationVersion.objects.get(declaration__external_id="a-2021", number=2)
    assert numbers[second.pk] == (2, second.content_hash, True)
    created_people = {pk for entry in entries for pk in entry.details["persons_created"]}
    assert created_people == set(Person.objects.values_list("pk", flat=True))
    assert all("Ana Test" not in json.dumps(entry.details) for entry in entries)  # no personal data

    # Each record is compared with the declaration's latest version (as declaration_submit does), so
    # a file holding a declaration and its correction is idempotent once the correction is the last.
    final = [r for n, r in enumerate(_records(payload)) if n != 0]
    path.write_text(json.dumps(final))
    again = declaration_import(path=path, batch_size=3)
    assert again.created == 0 and again.unchanged == 5 and len(again.errors) == 2
    assert _snapshot() == slow_rows


def test_a_batch_the_database_refuses_is_stored_one_by_one(
    payload: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import IntegrityError

    path = tmp_path / "two.json"
    second = copy.deepcopy(payload)
    second["external_id"], second["period"]["year"] = "decl-test-2", 2022
    path.write_text(json.dumps([payload, second]))
    from probity.declarations import services

    real = services._insert_rows
    calls = []

    def refuse_once(model: Any, columns: Any, rows: Any) -> Any:
        if model is DeclarationVersion:
            calls.append(len(rows))
            if len(calls) == 1:
                raise IntegrityError("simulated: a concurrent import wrote the same declaration")
        return real(model, columns, rows)

    monkeypatch.setattr(services, "_insert_rows", refuse_once)
    report = declaration_import(path=path)
    assert calls == [2]  # the batch was refused, then each went through declaration_submit
    assert report.created == 2 and not report.errors
    assert DeclarationVersion.objects.count() == 2 and Person.objects.count() == 1  # the rolled-back person is gone
    assert AuditEntry.objects.filter(details__event="declaration_submitted").count() == 2
    assert not AuditEntry.objects.filter(details__event="declarations_imported").exists()


def test_cached_rates_answer_like_the_table_and_refuse_a_missing_rate() -> None:
    for day, rate in ((date(2023, 1, 1), "0.9"), (date(2023, 6, 1), "0.8"), (date(2023, 12, 1), "0.7")):
        ExchangeRate.objects.create(currency="USD", base_currency="EUR", date=day, rate=Decimal(rate))
    days = [date(2023, 1, 1), date(2023, 5, 31), date(2023, 6, 1), date(2023, 11, 30), date(2024, 2, 1)]
    plain = [rate_for("USD", "EUR", day) for day in days]
    with cached_rates():
        assert (
            [rate_for("USD", "EUR", day) for day in days]
            == plain
            == [Decimal(r) for r in ["0.9", "0.9", "0.8", "0.8", "0.7"]]
        )
        with pytest.raises(MissingRate):
            rate_for("USD", "EUR", date(2022, 12, 31))
        with pytest.raises(MissingRate):
            rate_for("GBP", "EUR", date(2023, 5, 1))
        assert rate_for("EUR", "EUR", date(2023, 5, 1)) == 1
    ExchangeRate.objects.create(currency="GBP", base_currency="EUR", date=date(2023, 1, 1), rate=Decimal("1.1"))
    assert rate_for("GBP", "EUR", date(2023, 5, 1)) == Decimal("1.1")  # outside the block: read afresh


def test_streamed_items_carry_the_latest_version_and_whole_declarations(
    payload: dict[str, Any], tmp_path: Path
) -> None:
    ana, bo = Person.objects.create(name="Ana", source_key="a"), Person.objects.create(name="Bo", source_key="b")
    first = declaration_submit(declarant=ana, payload=payload).declaration
    corrected = copy.deepcopy(payload)
    corrected["cash_and_accounts"][0]["amount"]["amount"] = "999"
    declaration_submit(declarant=ana, payload=corrected)
    later = copy.deepcopy(payload)
    later["external_id"], later["period"]["year"] = "later", 2024
    declaration_submit(declarant=ana, payload=later)
    other = copy.deepcopy(payload)
    other["external_id"] = "bo-1"
    declaration_submit(declarant=bo, payload=other)

    items = list(iter_latest_items(chunk_size=2))
    assert [i.declaration.external_id for i in items] == ["decl-test-1", "later", "bo-1"]
    assert items[0].content["cash_and_accounts"][0]["amount"]["amount"] == "999"
    assert items[0].declaration.pk == first.pk and items[0].declaration.declarant_id == ana.pk
    assert items[0].declaration.body_name == "Ministry of Roads" and items[0].declaration.year == 2023
    assert items[0].label == "Ana Test, Annual 2023"
    assert items[0].declaration.declarant.name == "Ana"  # a real model instance: relations load
    pairs = [(p and p.declaration.external_id, i.declaration.external_id) for p, i in iter_consecutive_pairs()]
    assert pairs == [(None, "decl-test-1"), ("decl-test-1", "later"), (None, "bo-1")]


def test_benchmark_data_is_valid_and_its_planted_cases_are_flagged(tmp_path: Path) -> None:
    bench = _benchmark()
    for day, currency, rate in bench.rate_rows():
        if day.month == 12 and day.day == 31:
            ExchangeRate.objects.create(currency=currency, base_currency="EUR", date=day, rate=Decimal(str(rate)))
    records = list(bench.generate(240, prefix="T"))
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = declaration_import(path=path)
    assert report.errors == [] and report.created == 240
    flagged = {}
    for code in ("DECL-WEALTH", "DECL-CROSSYEAR", "DECL-ARITHMETIC"):
        run = detector_run(code=code)
        assert run.subjects_checked == 240
        flagged[code] = run.flagged
    assert all(count > 0 for count in flagged.values()), flagged
    assert all(count < 80 for count in flagged.values()), flagged  # anomalies are a minority
    finding = Finding.objects.filter(detector_code="DECL-WEALTH", outcome="flag").first()
    assert finding is not None and "is not explained" in finding.explanation
    assert finding.message_params["currency"] == "EUR" and finding.evidence["weight"] == 5.0
