"""The beyond-Cardinal indicators on hand-made compiled releases: a flag, a pass and a not-applicable each."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from probity.config import WarehouseSetting
from probity.procurement.indicators import beyond_inputs
from probity.procurement.indicators.beyond import (
    INDICATORS,
    Inputs,
    evidence_of,
    evidence_records,
    indicator_expression,
)
from probity.procurement.results import buyer_scores, process_scores, supplier_scores
from probity.warehouse.services import Warehouse, warehouse_connect

BUYER = {"id": "XD-GOV-1", "name": "Ministry of Roads"}


def release(ocid: str, **changes: Any) -> dict[str, Any]:
    """An ordinary open tender, won by the lowest of two bidders, then changed as the test needs."""
    base: dict[str, Any] = {
        "ocid": ocid,
        "id": f"{ocid}-1",
        "date": "2023-06-01T00:00:00Z",
        "buyer": BUYER,
        "parties": [
            {"id": "S1", "name": "Alpha Build LLC", "identifier": {"scheme": "XD-CR", "id": "11111111"}},
            {"id": "S2", "name": "Beta Works Ltd", "identifier": {"scheme": "XD-CR", "id": "22222222"}},
        ],
        "tender": {
            "procurementMethod": "open",
            "procurementMethodDetails": "Open tender",
            "value": {"amount": 100000.0, "currency": "XTS"},
            "tenderPeriod": {"startDate": "2023-01-01T00:00:00Z", "endDate": "2023-02-01T00:00:00Z"},
        },
        "bids": {
            "details": [
                {
                    "id": "b1",
                    "status": "valid",
                    "tenderers": [{"id": "S1", "name": "Alpha Build LLC"}],
                    "value": {"amount": 90000.0, "currency": "XTS"},
                },
                {
                    "id": "b2",
                    "status": "valid",
                    "tenderers": [{"id": "S2", "name": "Beta Works Ltd"}],
                    "value": {"amount": 95000.0, "currency": "XTS"},
                },
            ]
        },
        "awards": [
            {
                "id": "a1",
                "status": "active",
                "date": "2023-02-20T00:00:00Z",
                "value": {"amount": 90000.0, "currency": "XTS"},
                "suppliers": [{"id": "S1", "name": "Alpha Build LLC"}],
            }
        ],
        "contracts": [
            {
                "id": "c1",
                "awardID": "a1",
                "dateSigned": "2023-03-01T00:00:00Z",
                "value": {"amount": 90000.0, "currency": "XTS"},
            }
        ],
    }
    merged = copy.deepcopy(base)
    for path, value in changes.items():
        node = merged
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return merged


DELETE = object()


def direct(ocid: str, day: str, amount: float, supplier: str = "S1") -> dict[str, Any]:
    name = "Alpha Build LLC" if supplier == "S1" else "Beta Works Ltd"
    return release(
        ocid,
        tender__procurementMethod="direct",
        tender__procurementMethodDetails="Direct award",
        tender__value={"amount": amount, "currency": "XTS"},
        tender__tenderPeriod=DELETE,
        bids=DELETE,
        awards=[
            {
                "id": "a1",
                "status": "active",
                "date": f"{day}T00:00:00Z",
                "value": {"amount": amount, "currency": "XTS"},
                "suppliers": [{"id": supplier, "name": name}],
            }
        ],
        contracts=[
            {
                "id": "c1",
                "awardID": "a1",
                "dateSigned": f"{day}T00:00:00Z",
                "value": {"amount": amount, "currency": "XTS"},
            }
        ],
    )


# (indicator, releases, ocid → expected outcome, ocid → expected reason prefix for N.A.)
CASES: dict[str, tuple[list[dict[str, Any]], dict[str, str]]] = {
    "P-NONOPEN": (
        [
            release("flag", tender__procurementMethod="limited"),
            release("pass"),
            release("na", tender__procurementMethod=DELETE),
        ],
        {"flag": "flag", "pass": "pass", "na": "missing_field: tender.procurementMethod"},
    ),
    "P-NOCALL": (
        [
            release("flag", tender__tenderPeriod=DELETE),
            release("pass"),
            release("na", tender__procurementMethod="direct"),
        ],
        {"flag": "flag", "pass": "pass", "na": "excluded_procedure: direct"},
    ),
    "P-DECISION": (
        [
            release("flag", awards__0__date="2023-02-02T00:00:00Z"),
            release("pass"),
            release("na", tender__tenderPeriod__endDate=DELETE),
            release("na2", awards=DELETE),
        ],
        {
            "flag": "flag",
            "pass": "pass",
            "na": "missing_field: tender.tenderPeriod.endDate",
            "na2": "missing_field: awards",
        },
    ),
    "P-AMENDED": (
        [
            release(
                "flag",
                contracts__0__value={"amount": 120000.0, "currency": "XTS"},
                contracts__0__amendments=[{"id": "m1", "date": "2023-05-01T00:00:00Z"}],
            ),
            release("pass", contracts__0__value={"amount": 95000.0, "currency": "XTS"}),
            release("na", contracts=DELETE),
        ],
        {"flag": "flag", "pass": "pass", "na": "missing_field: contracts.value.amount"},
    ),
    "P-NEARESTIMATE": (
        [
            release("flag", awards__0__value={"amount": 99800.0, "currency": "XTS"}),
            release("pass"),
            release("na", tender__value=DELETE),
        ],
        {"flag": "flag", "pass": "pass", "na": "missing_field: tender.value.amount"},
    ),
    "P-ABOVEESTIMATE": (
        [
            release("flag", awards__0__value={"amount": 125000.0, "currency": "XTS"}),
            release("pass"),
            release("na", awards__0__value=DELETE),
        ],
        {"flag": "flag", "pass": "pass", "na": "missing_field: awards.value.amount"},
    ),
    "P-SIGNEDEARLY": (
        [
            release("flag", contracts__0__dateSigned="2023-02-10T00:00:00Z"),
            release("pass"),
            release("na", contracts__0__dateSigned=DELETE),
        ],
        {"flag": "flag", "pass": "pass", "na": "missing_field: contracts.dateSigned"},
    ),
    "P-NOTBIDDER": (
        [
            release("flag", awards__0__suppliers=[{"id": "S3", "name": "Gamma Trade"}]),
            release("pass"),
            release("na", bids=DELETE),
        ],
        {"flag": "flag", "pass": "pass", "na": "missing_field: bids.details"},
    ),
    "P-NEWSUPPLIER": (
        # the register (below) knows 11111111, founded 2022-12-01, and 22222222, founded 2001
        [
            release("flag"),
            release("pass", awards__0__suppliers=[{"id": "S2", "name": "Beta Works Ltd"}]),
            release("na", awards__0__suppliers=[{"id": "S9", "name": "Unknown Co"}]),
        ],
        {"flag": "flag", "pass": "pass", "na": "missing_field: parties.identifier.id"},
    ),
    "P-DEBARRED": (
        # Beta Works is debarred from 2023-01-01 to 2023-12-31 (by its name only)
        [
            release("flag", awards__0__suppliers=[{"id": "S2", "name": "BETA  Works, Ltd."}]),
            release("pass"),
            release(
                "pass2",
                awards__0__suppliers=[{"id": "S2", "name": "Beta Works Ltd"}],
                awards__0__date="2024-02-01T00:00:00Z",
            ),
            release("na", awards__0__date=DELETE),
        ],
        {"flag": "flag", "pass": "pass", "pass2": "pass", "na": "missing_field: awards.date"},
    ),
    "P-REPEATDIRECT": (
        [
            direct("d1", "2023-01-10", 9000.0),
            direct("d2", "2023-03-10", 8000.0),
            direct("d3", "2023-06-10", 7000.0),
            direct("d4", "2023-12-01", 6000.0),
            direct("lone", "2023-01-10", 5000.0, supplier="S2"),
            release("na"),
        ],
        {"d1": "flag", "d2": "flag", "d3": "flag", "d4": "flag", "lone": "pass", "na": "excluded_procedure: open"},
    ),
    "P-SPLIT": (
        [
            direct("p1", "2023-04-01", 48000.0),
            direct("p2", "2023-04-20", 49500.0),
            direct("far", "2023-09-01", 49000.0),
            direct("small", "2023-04-05", 12000.0),
            release("na", awards__0__value=DELETE),
        ],
        {"p1": "flag", "p2": "flag", "far": "pass", "small": "pass", "na": "missing_field: awards.value.amount"},
    ),
}


def _expected(value: str) -> tuple[str, str | None]:
    if value in ("flag", "pass"):
        return value, None
    return "not_applicable", value


REGISTER = [("11111111", "2022-12-01"), ("22222222", "2001-05-05")]
DEBARMENTS = [
    {
        "id": 7,
        "name": "Beta Works Ltd",
        "identifiers": [],
        "start": "2023-01-01",
        "end": "2023-12-31",
        "authority": "Procurement Agency",
    }
]


@pytest.fixture
def duckdb() -> Iterator[Warehouse]:
    with warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as warehouse:
        yield warehouse


def make_inputs(warehouse: Warehouse, releases: list[dict[str, Any]]) -> Inputs:
    tables = beyond_inputs.input_rows(releases).tables()
    tables["register"] = beyond_inputs.register_table(REGISTER)
    tables["debarments"] = beyond_inputs.debarment_table(DEBARMENTS)
    return Inputs(**{name: warehouse.create_table(f"t_{name}", table) for name, table in tables.items()})


def run(warehouse: Warehouse, code: str, releases: list[dict[str, Any]], **params: Any) -> pd.DataFrame:
    frame = warehouse.execute(indicator_expression(INDICATORS[code], make_inputs(warehouse, releases), params))
    return frame.set_index("ocid")


def test_there_are_at_least_twelve_documented_indicators() -> None:
    assert len(INDICATORS) >= 12
    for indicator in INDICATORS.values():
        assert indicator.code.startswith("P-") and indicator.title and len(str(indicator.description)) > 80
        assert indicator.fields and set(indicator.messages) == {"flag", "pass", "not_applicable"}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_indicator_flags_passes_and_says_why_not_applicable(duckdb: Warehouse, code: str) -> None:
    releases, expected = CASES[code]
    frame = run(duckdb, code, releases)
    assert sorted(frame.index) == sorted(r["ocid"] for r in releases)  # one result per process
    for ocid, value in expected.items():
        outcome, reason = _expected(value)
        assert frame.loc[ocid, "outcome"] == outcome, (code, ocid, frame.loc[ocid].to_dict())
        if reason:
            assert frame.loc[ocid, "reason"] == reason


def test_supplier_concentration_flags_the_dominant_supplier_of_a_buyer(duckdb: Warehouse) -> None:
    big = [release(f"big{n}", awards__0__value={"amount": 500000.0, "currency": "XTS"}) for n in range(3)]
    small = [release(f"small{n}", awards__0__suppliers=[{"id": "S2", "name": "Beta Works Ltd"}]) for n in range(3)]
    other_year = [release("old", awards__0__date="2021-02-20T00:00:00Z")]
    frame = run(duckdb, "P-CONCENTRATION", big + small + other_year)
    assert set(frame.loc[[f"big{n}" for n in range(3)], "outcome"]) == {"flag"}
    assert set(frame.loc[[f"small{n}" for n in range(3)], "outcome"]) == {"pass"}
    assert frame.loc["old", "reason"] == "insufficient_data: buyer awards"
    share = frame.loc["big0", "e_share"]
    assert share == pytest.approx(1_500_000 / (1_500_000 + 270_000))
    # with a higher bar the same supplier passes
    assert set(run(duckdb, "P-CONCENTRATION", big + small, share=0.9)["outcome"]) == {"pass"}


def test_evidence_names_the_dates_and_numbers_that_decided(duckdb: Warehouse) -> None:
    indicator = INDICATORS["P-DECISION"]
    frame = run(duckdb, "P-DECISION", [release("x", awards__0__date="2023-02-02T00:00:00Z")])
    evidence = evidence_of(indicator, frame.reset_index().iloc[0].to_dict())
    assert evidence == {"days": 1, "tender_end": "2023-02-01", "award_date": "2023-02-02", "minimum_days": 5}
    debarred = run(duckdb, "P-DEBARRED", [release("y", awards__0__suppliers=[{"id": "S2", "name": "Beta Works Ltd"}])])
    evidence = evidence_of(INDICATORS["P-DEBARRED"], debarred.reset_index().iloc[0].to_dict())
    assert evidence["debarred_from"] == "2023-01-01" and evidence["matched_on"] == "name:beta works ltd"


def test_a_flag_on_any_award_of_a_process_wins() -> None:
    two_awards = release(
        "two",
        awards=[
            {
                "id": "a1",
                "status": "active",
                "date": "2023-02-20T00:00:00Z",
                "value": {"amount": 50000.0, "currency": "XTS"},
                "suppliers": [{"id": "S1"}],
            },
            {
                "id": "a2",
                "status": "active",
                "date": "2023-02-20T00:00:00Z",
                "value": {"amount": 150000.0, "currency": "XTS"},
                "suppliers": [{"id": "S2"}],
            },
        ],
    )
    with warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as warehouse:
        frame = run(warehouse, "P-ABOVEESTIMATE", [two_awards])
    assert frame.loc["two", "outcome"] == "flag" and frame.loc["two", "award_id"] == "a2"


def test_risk_score_is_the_mean_of_available_components_with_coverage(duckdb: Warehouse) -> None:
    matrix = pd.DataFrame(
        {
            "indicator": ["A", "B", "C", "A", "B", "C"],
            "subject_id": ["o1", "o1", "o1", "o2", "o2", "o2"],
            "buyer_id": ["b"] * 6,
            "buyer_name": ["Buyer"] * 6,
            "supplier_key": ["s1"] * 3 + ["s2"] * 3,
            "supplier_name": ["S one"] * 3 + ["S two"] * 3,
            "year": [2023] * 6,
            "outcome": ["flag", "pass", "not_applicable", "pass", "pass", "pass"],
            "score": [1.0, 0.0, None, 0.0, 0.0, 0.0],
        }
    )
    results = duckdb.create_table("m", matrix)
    processes = duckdb.execute(process_scores(results)).set_index("ocid")
    assert processes.loc["o1", "risk_score"] == pytest.approx(0.5)
    assert processes.loc["o1", "coverage"] == pytest.approx(2 / 3)
    assert (processes.loc["o1", "available"], processes.loc["o1", "total"], processes.loc["o1", "flagged"]) == (2, 3, 1)
    assert processes.loc["o2", "risk_score"] == 0 and processes.loc["o2", "coverage"] == 1
    scored = duckdb.create_table("p", duckdb.execute(process_scores(results)))
    buyers = duckdb.execute(buyer_scores(scored))
    assert len(buyers) == 2  # 2023 and all years
    row = buyers[buyers.year.notna()].iloc[0]
    assert row["risk_score"] == pytest.approx(0.25) and row["processes"] == 2 and row["flagged_processes"] == 1
    suppliers = duckdb.execute(supplier_scores(scored))
    assert sorted(suppliers.dropna(subset=["year"])["supplier_key"]) == ["s1", "s2"]


def test_bad_dates_and_amounts_become_missing_fields_not_errors(duckdb: Warehouse) -> None:
    broken = release("bad", awards__0__date="someday", awards__0__value={"amount": "lots"})
    frame = run(duckdb, "P-AMENDED", [broken])
    assert frame.loc["bad", "reason"] == "missing_field: awards.value.amount"
    with pytest.raises(ValueError, match="no ocid"):
        beyond_inputs.input_rows([{"tender": {}}])


def test_names_match_across_case_accents_and_punctuation() -> None:
    assert beyond_inputs.name_key("BETA  Works, Ltd.") == beyond_inputs.name_key("beta works ltd")
    assert beyond_inputs.name_key("Société Générale") == "societe generale"
    assert beyond_inputs.name_key("ООО «Ромашка»") == "ооо ромашка"
    assert json.dumps(beyond_inputs.name_key("")) == "null"


def test_evidence_of_a_whole_frame_equals_evidence_row_by_row(duckdb: Warehouse) -> None:
    releases = [r for case in CASES.values() for r in case[0]]
    unique = list({r["ocid"]: r for r in releases}.values())
    inputs = make_inputs(duckdb, unique)
    for indicator in INDICATORS.values():
        frame = duckdb.execute(indicator_expression(indicator, inputs))
        by_row = [evidence_of(indicator, row) for row in frame.to_dict("records")]
        assert evidence_records(indicator, frame) == by_row, indicator.code
