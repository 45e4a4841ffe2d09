"""Every planted procurement scheme of the demo country is flagged by the indicator meant to catch it."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.test import override_settings

from probity.config import WarehouseSetting
from probity.core.models import DetectorRun, Finding
from probity.demo.generator import SCHEME_INDICATORS, Country
from probity.demo.services import demo_load
from probity.demo.writers import debarment_rows, ground_truth, ocds_releases
from probity.procurement.indicators import beyond_inputs
from probity.procurement.indicators.beyond import INDICATORS, Inputs, indicator_expression
from probity.procurement.indicators.cardinal import PROCESS_OUTCOME_CODES
from probity.procurement.models import Debarment
from probity.procurement.services import debarment_import_csv, procurement_detect
from probity.warehouse.services import Warehouse, warehouse_connect
from tests.conftest import DemoCountry

DemoCountries = Callable[[int, float], DemoCountry]


def run_all(country: Country, warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    tables = beyond_inputs.input_rows(ocds_releases(country)).tables()
    tables["register"] = beyond_inputs.register_table((c.registry_number, c.founded) for c in country.companies)
    tables["debarments"] = beyond_inputs.debarment_table(
        {
            "id": row["id"],
            "name": row["name"],
            "identifiers": [part.split(":", 1)[1] for part in row["identifiers"].split(";")],
            "start": row["start_date"],
            "end": row["end_date"] or None,
        }
        for row in debarment_rows(country)
    )
    inputs = Inputs(**{name: warehouse.create_table(f"demo_{name}", table) for name, table in tables.items()})
    return {
        code: warehouse.execute(indicator_expression(indicator, inputs)).set_index("ocid")
        for code, indicator in INDICATORS.items()
    }


def missed(country: Country, frames: dict[str, pd.DataFrame]) -> list[str]:
    misses = []
    for scheme in ground_truth(country)["schemes"]:
        for code in scheme["indicators"]:
            if code not in frames:
                continue  # another module's indicator (e.g. Cardinal's R018)
            for ocid in scheme["refs"]["ocds"]["ocids"]:
                row = frames[code].loc[ocid]
                if row["outcome"] != "flag":
                    misses.append(f"{scheme['id']} {scheme['type']}: {code} gave {row['outcome']} for {ocid}")
    return misses


@pytest.fixture
def duckdb() -> Iterator[Warehouse]:
    with warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as warehouse:
        yield warehouse


def test_every_new_indicator_has_a_planted_scheme() -> None:
    planted_for = {code for codes in SCHEME_INDICATORS.values() for code in codes}
    assert set(INDICATORS) <= planted_for


@pytest.mark.parametrize(("seed", "scale"), [(20260, 0.05), (7, 0.2)])
def test_every_planted_procurement_scheme_is_flagged(
    duckdb: Warehouse, demo_countries: DemoCountries, seed: int, scale: float
) -> None:
    country = demo_countries(seed, scale).country
    frames = run_all(country, duckdb)
    assert missed(country, frames) == []
    schemes = ground_truth(country)["schemes"]
    checked = {s["type"] for s in schemes if set(s["indicators"]) & set(INDICATORS)}
    assert len(checked) >= 13


def test_planted_flags_are_not_drowned_in_false_alarms(duckdb: Warehouse, demo_countries: DemoCountries) -> None:
    """Indicators with a sharp definition flag the planted processes and (almost) nothing else."""
    country = demo_countries(1, 1.0).country
    frames = run_all(country, duckdb)
    assert missed(country, frames) == []
    truth = ground_truth(country)["schemes"]
    for code in (
        "P-DEBARRED",
        "P-SIGNEDEARLY",
        "P-NOTBIDDER",
        "P-AMENDED",
        "P-ABOVEESTIMATE",
        "P-NOCALL",
        "P-DECISION",
        "P-NEWSUPPLIER",
        "P-CONCENTRATION",
    ):
        planted = {o for s in truth if code in s["indicators"] for o in s["refs"]["ocds"]["ocids"]}
        flagged = set(frames[code].index[frames[code]["outcome"] == "flag"])
        assert flagged == planted, code


def test_a_process_without_a_planted_scheme_gets_lower_risk(duckdb: Warehouse, demo_countries: DemoCountries) -> None:
    country = demo_countries(7, 0.2).country
    frames = run_all(country, duckdb)
    scores = pd.concat(
        [(f["outcome"] == "flag").astype(float).where(f["outcome"] != "not_applicable") for f in frames.values()],
        axis=1,
    ).mean(axis=1)
    planted = {o for s in ground_truth(country)["schemes"] if s["indicators"] for o in s["refs"]["ocds"]["ocids"]}
    assert scores[scores.index.isin(planted)].mean() > 2 * scores[~scores.index.isin(planted)].mean()


@pytest.mark.django_db
def test_detect_end_to_end_stores_matrix_scores_and_findings(demo_country: DemoCountry, tmp_path: Path) -> None:
    country, files = demo_country.country, demo_country.out
    demo_load(country=country)  # the company register: founding dates and registry numbers
    imported = debarment_import_csv(path=files / "debarments" / "debarments.csv")
    assert imported.created == len(country.debarments) and imported.ok
    assert all(d.organisation_id for d in Debarment.objects.all())  # matched by registry number
    releases = list(beyond_inputs.read_releases(files / "ocds" / "releases.jsonl"))
    with warehouse_connect(setting=WarehouseSetting("duckdb", str(tmp_path / "w.duckdb"))) as warehouse:
        report = procurement_detect(releases=releases, warehouse=warehouse)
        matrix = warehouse.execute(warehouse.table("procurement_indicator_results"))
        processes = warehouse.execute(warehouse.table("procurement_risk_process"))
        buyers = warehouse.execute(warehouse.table("procurement_risk_buyer"))
        suppliers = warehouse.execute(warehouse.table("procurement_risk_supplier"))
    assert report.processes == len(country.processes)
    assert len(matrix) == len(country.processes) * (len(INDICATORS) + len(PROCESS_OUTCOME_CODES))
    assert set(matrix["indicator"]) == set(INDICATORS) | set(PROCESS_OUTCOME_CODES)
    assert set(matrix["outcome"]) == {"flag", "pass", "not_applicable"}
    assert matrix[matrix.outcome == "not_applicable"]["reason"].notna().all()
    assert matrix[matrix.outcome != "not_applicable"]["reason"].isna().all()
    assert len(processes) == len(country.processes)
    assert processes["risk_score"].between(0, 1).all() and processes["coverage"].between(0, 1).all()
    assert buyers["year"].isna().any() and buyers["year"].notna().any()
    assert suppliers["processes"].sum() >= len(country.processes)  # by year + all years
    # findings: one per process and indicator (the demo is far below the all-outcomes limit)
    assert Finding.objects.filter(detector_code__startswith="P-").count() == matrix.indicator.str.startswith("P-").sum()
    assert Finding.objects.filter(detector_code__in=PROCESS_OUTCOME_CODES).count() == (
        len(country.processes) * len(PROCESS_OUTCOME_CODES)
    )
    assert DetectorRun.objects.filter(detector_code__startswith="P-").count() == len(INDICATORS)
    assert DetectorRun.objects.filter(detector_code__in=PROCESS_OUTCOME_CODES).count() == len(PROCESS_OUTCOME_CODES)
    # The Cardinal rows carry the process's buyer (and, with the beyond rows, supplier and year).
    assert matrix[matrix.indicator == "R018"]["buyer_id"].notna().all()
    single_bidder = [s for s in ground_truth(country)["schemes"] if s["type"] == "SINGLE-BIDDER"]
    assert single_bidder and all("R018" in s["indicators"] for s in single_bidder)
    r018 = matrix[matrix.indicator == "R018"].set_index("subject_id")
    for scheme in single_bidder:
        for ocid in scheme["refs"]["ocds"]["ocids"]:
            assert r018.loc[ocid, "outcome"] == "flag", ocid  # SINGLE-BIDDER is caught by R018 in the matrix
            assert json.loads(r018.loc[ocid, "evidence"]) == {"tenderers": 1}
    for scheme in ground_truth(country)["schemes"]:
        for code in set(scheme["indicators"]) & (set(INDICATORS) | set(PROCESS_OUTCOME_CODES)):
            for ocid in scheme["refs"]["ocds"]["ocids"]:
                finding = Finding.objects.get(detector_code=code, subject_id=ocid)
                assert finding.outcome == "flag" and finding.score == 1.0, (scheme["type"], code, ocid)
                assert finding.explanation and "%(" not in finding.explanation
    debarred = Finding.objects.get(
        detector_code="P-DEBARRED",
        outcome="flag",
    )
    assert debarred.evidence["authority"] == "Public Procurement Agency of Demoland"
    na = Finding.objects.filter(detector_code="P-NOCALL", outcome="not_applicable").first()
    assert na is not None and na.evidence["reason"].startswith("excluded_procedure: ")


@pytest.mark.django_db
def test_above_the_limit_only_flags_become_findings(demo_country: DemoCountry) -> None:
    country = demo_country.country
    releases: list[dict[str, Any]] = list(ocds_releases(country))
    with (
        override_settings(PROBITY_PROCUREMENT_FINDINGS_ALL_MAX=10),
        warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as warehouse,
    ):
        report = procurement_detect(releases=releases, codes=["P-NONOPEN"], warehouse=warehouse)
        matrix = warehouse.execute(warehouse.table("procurement_indicator_results"))
    assert report.findings_for == ["flag"]
    flags = int((matrix["outcome"] == "flag").sum())
    assert Finding.objects.filter(detector_code="P-NONOPEN").count() == flags > 0
    assert len(matrix) == len(country.processes)


def test_the_written_debarment_list_and_ftm_sanctions_match(demo_country: DemoCountry) -> None:
    country, files = demo_country.country, demo_country.out
    rows = list(csv.DictReader((files / "debarments" / "debarments.csv").open(encoding="utf-8")))
    sanctions = [
        e
        for e in map(json.loads, (files / "ftm" / "entities.ftm.jsonl").open(encoding="utf-8"))
        if e["schema"] == "Sanction"
    ]
    assert len(rows) == len(sanctions) == len(country.debarments) >= 2
    assert {r["id"] for r in rows} == {s["id"] for s in sanctions}
