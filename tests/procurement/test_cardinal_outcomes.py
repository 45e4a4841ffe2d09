"""Pass / flag / not-applicable for the process-level Cardinal indicators (issue 3).

Hand-made compiled releases: for each indicator one flagged process, one passed and one not
applicable with its reason; and on Cardinal's own suite, the flags of ``outcomes`` are exactly
Cardinal's flags.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from probity.procurement.flatten import flatten_file
from probity.procurement.indicators import indicators
from probity.procurement.indicators.cardinal import (
    CARDINAL_CODES,
    MESSAGES,
    PROCESS_OUTCOME_CODES,
    evidence_params,
    evidence_records,
)
from probity.procurement.indicators.run import needed_tables, warehouse_tables
from probity.procurement.indicators.settings import parse_settings
from probity.warehouse.services import DuckDBWarehouse, SparkWarehouse
from tests.procurement.test_cardinal import CASES, case_settings, expected, spark  # noqa: F401 (fixture)


def release(
    ocid: str,
    *,
    method: str = "open",
    details: str | None = None,
    period: tuple[str | None, str | None] | None = None,
    tenderers: int | None = None,
    bids: list[tuple[str, str, float | None, str | None]] | None = None,
    awards: list[tuple[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """A compiled release. ``bids``: (tenderer id, status, amount in USD, date);
    ``awards``: (status, supplier ids)."""
    tender: dict[str, Any] = {"id": ocid, "procurementMethod": method}
    if details:
        tender["procurementMethodDetails"] = details
    if period:
        tender["tenderPeriod"] = {k: v for k, v in zip(("startDate", "endDate"), period, strict=True) if v}
    if tenderers is not None:
        tender["numberOfTenderers"] = tenderers
    data: dict[str, Any] = {"ocid": ocid, "id": f"{ocid}-1", "date": "2020-03-01T00:00:00Z", "tender": tender}
    if bids is not None:
        details_ = []
        for index, (tenderer, status, amount, date) in enumerate(bids, start=1):
            bid: dict[str, Any] = {"id": f"b{index}", "status": status, "tenderers": [{"id": tenderer}]}
            if amount is not None:
                bid["value"] = {"amount": amount, "currency": "USD"}
            if date:
                bid["date"] = date
            details_.append(bid)
        data["bids"] = {"details": details_}
    if awards is not None:
        data["awards"] = [
            {"id": f"a{index}", "status": status, "suppliers": [{"id": s} for s in suppliers]}
            for index, (status, suppliers) in enumerate(awards, start=1)
        ]
    return data


SETTINGS = """
no_price_comparison_procurement_methods = NPC
[exclusions]
procurement_method_details = EXC
[R003]
[R018]
[R024]
threshold = 0.05
[R028]
[R030]
[R035]
[R036]
[R058]
threshold = 0.5
[R025]
threshold = 0.5
percentile = 0
[R038]
threshold = 0.5
minimum_submitted_bids = 1
minimum_contracting_processes = 1
[R048]
threshold = 2
minimum_contracting_processes = 1
"""


def classified(ocid: str, supplier: str, codes: list[str] | None) -> dict[str, Any]:
    """A compiled release with one active award to ``supplier``, of items with these CPV codes."""
    data = release(ocid)
    award: dict[str, Any] = {"id": "a1", "status": "active", "suppliers": [{"id": supplier}]}
    if codes is not None:
        award["items"] = [
            {"id": str(n), "classification": {"scheme": "CPV", "id": code}} for n, code in enumerate(codes)
        ]
    data["awards"] = [award]
    return data


WON = [("active", ["T1"])]
PERIOD = ("2020-01-01T00:00:00Z", "2020-01-10T00:00:00Z")

# code → (flagged release, passed release, not-applicable release, its reason)
CASES_BY_CODE: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]] = {
    "R003": (
        release("flag", period=("2020-01-01T00:00:00Z", "2020-01-06T00:00:00Z")),
        release("pass", period=("2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z")),
        release("na", period=(None, "2020-02-01T00:00:00Z")),
        "missing_field: tender.tenderPeriod.startDate",
    ),
    "R018": (
        release("flag", tenderers=1),
        release("pass", tenderers=3),
        release("na", method="direct", tenderers=1),
        "excluded_procedure: direct",
    ),
    "R024": (
        release("flag", bids=[("T1", "valid", 100, None), ("T2", "valid", 102, None)], awards=WON),
        release("pass", bids=[("T1", "valid", 100, None), ("T2", "valid", 150, None)], awards=WON),
        release("na", bids=[("T1", "valid", 100, None), ("T2", "valid", 102, None)], awards=[("pending", ["T1"])]),
        "awards_not_final",
    ),
    "R028": (
        release("flag", bids=[("T1", "valid", 100, None), ("T2", "valid", 100, None)]),
        release("pass", bids=[("T1", "valid", 100, None), ("T2", "valid", 200, None)]),
        release("na", bids=[("T1", "valid", 100, None)]),
        "insufficient_data: fewer than two priced bids",
    ),
    "R030": (
        release("flag", period=PERIOD, bids=[("T1", "valid", 100, "2020-01-15T00:00:00Z")], awards=WON),
        release("pass", period=PERIOD, bids=[("T1", "valid", 100, "2020-01-05T00:00:00Z")], awards=WON),
        release("na", bids=[("T1", "valid", 100, "2020-01-15T00:00:00Z")], awards=WON),
        "missing_field: tender.tenderPeriod.endDate",
    ),
    "R035": (
        release("flag", bids=[("T1", "valid", 100, None), ("T2", "disqualified", 90, None)], awards=WON),
        release("pass", bids=[("T1", "valid", 100, None), ("T2", "valid", 90, None)], awards=WON),
        release("na", bids=[("T1", "valid", 100, None), ("T2", "disqualified", 90, None)]),
        "missing_field: awards",
    ),
    "R036": (
        release("flag", bids=[("T1", "disqualified", 100, None), ("T2", "valid", 200, None)], awards=WON),
        release("pass", bids=[("T1", "valid", 100, None), ("T2", "valid", 200, None)], awards=WON),
        release("na", details="NPC", bids=[("T1", "disqualified", 100, None), ("T2", "valid", 200, None)], awards=WON),
        "no_price_comparison: NPC",
    ),
    # R025 (threshold 0.5, every tenderer bids often enough): T9 bids and never wins.
    "R025": (
        release("flag", bids=[("T9", "valid", 100, None), ("T1", "valid", 90, None)], awards=WON),
        release("pass", bids=[("T2", "valid", 100, None)], awards=[("active", ["T2"])]),
        release("na", bids=[("T9", "valid", 100, None)], awards=[("pending", ["T9"])]),
        "awards_not_final",
    ),
    # R038 (threshold 0.5, one bid is enough): T9's only bid is disqualified.
    "R038": (
        release("flag", bids=[("T9", "disqualified", 100, None), ("T1", "valid", 90, None)]),
        release("pass", bids=[("T1", "valid", 100, None), ("T2", "valid", 110, None)]),
        release("na", tenderers=2),
        "missing_field: bids.details",
    ),
    # R048 (threshold 2 groups, one process is enough): S1 sells in CPV groups 30 and 45.
    "R048": (
        classified("flag", "S1", ["30192000", "45000000"]),
        classified("pass", "S2", ["30192000", "30197000"]),
        classified("na", "S3", None),
        "insufficient_data: no active award to one supplier with classified items",
    ),
    "R058": (
        release("flag", bids=[("T1", "valid", 100, None), ("T2", "valid", 200, None)], awards=WON),
        release("pass", bids=[("T1", "valid", 100, None), ("T2", "valid", 110, None)], awards=WON),
        release("na", awards=WON),
        "missing_field: bids.details",
    ),
}

EXPECTED_EVIDENCE = {
    "R003": ({"days": 5, "minimum_days": 15}, {"days": 31, "minimum_days": 15}),
    "R018": ({"tenderers": 1}, {"tenderers": 3}),
    "R024": ({"ratio": 0.02, "maximum_ratio": 0.05}, {"ratio": 0.5, "maximum_ratio": 0.05}),
    "R028": ({"priced_bids": 2, "identical_amount": 100.0, "currency": "USD"}, {"priced_bids": 2}),
    "R030": (
        {"tender_end": PERIOD[1], "late_bid_date": "2020-01-15T00:00:00Z"},
        {"tender_end": PERIOD[1]},
    ),
    "R035": (
        {"disqualified_tenderers": 1, "minimum_disqualified": 1},
        {"disqualified_tenderers": 0, "minimum_disqualified": 1},
    ),
    "R036": (
        {"lowest_amount": 100.0, "lowest_disqualified": True},
        {"lowest_amount": 100.0, "lowest_disqualified": False},
    ),
    "R058": ({"ratio": 1.0, "minimum_ratio": 0.5}, {"ratio": 0.1, "minimum_ratio": 0.5}),
    "R025": (
        {"bidders": 2, "flagged_bidders": 1, "win_ratio": 0.0, "maximum_ratio": 0.5, "minimum_bids": 1.0},
        {"bidders": 1, "flagged_bidders": 0, "win_ratio": 1.0, "maximum_ratio": 0.5, "minimum_bids": 1.0},
    ),
    "R038": (
        {
            "disqualified": 1,
            "submitted": 2,
            "flagged_parties": 1,
            "highest_ratio": 1.0,
            "buyer_flagged": False,
            "procuring_entity_flagged": False,
            "flagged_tenderers": 1,
        },
        {
            "disqualified": 0,
            "submitted": 2,
            "flagged_parties": 0,
            "highest_ratio": 0.0,
            "buyer_flagged": False,
            "procuring_entity_flagged": False,
            "flagged_tenderers": 0,
        },
    ),
    "R048": (
        {"groups": 2.0, "minimum_groups": 2.0, "supplier_processes": 1},
        {"groups": 1.0, "minimum_groups": 2.0, "supplier_processes": 1},
    ),
}


def outcomes(path: Path, code: str, settings_text: str) -> pd.DataFrame:
    settings = parse_settings(settings_text)
    with DuckDBWarehouse(":memory:") as warehouse:
        names = needed_tables([code])
        flatten_file(warehouse.backend.con, path, tables=names)
        frame = warehouse.execute(indicators()[code]().outcomes(warehouse_tables(warehouse, names), settings))
    return frame.set_index("subject_id")


def write(tmp_path: Path, releases: list[dict[str, Any]]) -> Path:
    path = tmp_path / "releases.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in releases), encoding="utf-8")
    return path


def test_every_cardinal_indicator_judges_every_process_and_has_a_case() -> None:
    assert set(CASES_BY_CODE) == set(PROCESS_OUTCOME_CODES)
    assert set(PROCESS_OUTCOME_CODES) == set(CARDINAL_CODES)


def test_a_supplier_with_too_few_processes_is_not_applicable(tmp_path: Path) -> None:
    flagged, passed, _na, _reason = CASES_BY_CODE["R048"]
    path = write(tmp_path, [flagged, passed])
    frame = outcomes(path, "R048", SETTINGS)
    assert set(frame.outcome) == {"flag", "pass"}
    stricter = (
        SETTINGS.rstrip().removesuffix("minimum_contracting_processes = 1") + "minimum_contracting_processes = 2\n"
    )
    frame = outcomes(path, "R048", stricter)
    assert set(frame.outcome) == {"not_applicable"}
    assert set(frame.reason) == {"insufficient_data: the supplier has fewer than 2 contracting processes"}


@pytest.mark.parametrize("code", sorted(CASES_BY_CODE))
def test_flag_pass_and_not_applicable_with_reason(tmp_path: Path, code: str) -> None:
    flagged, passed, not_applicable, reason = CASES_BY_CODE[code]
    excluded = release("excluded", details="EXC", tenderers=1)
    cancelled = {**release("cancelled", tenderers=1)}
    cancelled["tender"] = {**cancelled["tender"], "status": "cancelled"}
    path = write(tmp_path, [flagged, passed, not_applicable, excluded, cancelled])
    frame = outcomes(path, code, SETTINGS)
    assert frame.loc["flag", "outcome"] == "flag", frame.to_dict("index")
    assert frame.loc["pass", "outcome"] == "pass", frame.to_dict("index")
    assert frame.loc["na", "outcome"] == "not_applicable", frame.to_dict("index")
    assert frame.loc["na", "reason"] == reason
    assert frame.loc["excluded", "outcome"] == "not_applicable"
    assert frame.loc["excluded", "reason"] == "excluded_procedure: EXC"
    assert frame.loc["cancelled", "reason"] == "excluded_procedure: cancelled (tender.status)"
    assert frame.loc[["flag", "pass"], "reason"].isna().all()
    assert pd.isna(frame.loc["pass", "value"]) and not pd.isna(frame.loc["flag", "value"])
    evidence = dict(zip(frame.index, evidence_records(frame), strict=True))
    flag_evidence, pass_evidence = EXPECTED_EVIDENCE[code]
    assert evidence["flag"] == pytest.approx(flag_evidence)
    assert evidence["pass"] == pytest.approx(pass_evidence)
    # every placeholder of the messages is filled
    params = evidence_params(code, evidence["flag"], None, 1.0)
    assert (MESSAGES[code]["flag"] % params).strip() and params["value"] == 1.0
    for outcome in ("flag", "pass"):
        names = re.findall(r"%\((\w+)\)s", MESSAGES[code][outcome])
        assert all(evidence[outcome].get(name) is not None for name in names), (outcome, names)


PARTY_CODES = ("R025", "R038", "R048")  # Cardinal flags parties; Probity judges their processes too
PROCESS_CASES = [name for name in CASES if name.split("-")[0] not in PARTY_CODES]
PARTY_CASES = [name for name in CASES if name.split("-")[0] in PARTY_CODES]


@pytest.mark.parametrize("name", PROCESS_CASES)
def test_flags_of_outcomes_are_cardinals_flags(shared_data: Path, name: str) -> None:
    code = name.split("-")[0]
    frame = outcomes(shared_data / "cardinal" / f"{name}.jsonl", code, case_settings(name))
    flags = frame[frame.outcome == "flag"]
    wanted = expected(shared_data, name).get("OCID", {})
    assert {ocid: {code: value} for ocid, value in flags["value"].items()} == wanted
    assert frame[frame.outcome == "not_applicable"]["reason"].notna().all()
    assert frame[frame.outcome != "not_applicable"]["reason"].isna().all()
    assert set(frame.outcome) <= {"flag", "pass", "not_applicable"}
    assert frame.index.is_unique


def _parties_of(release: dict[str, Any], code: str) -> set[tuple[str, str]]:
    """The (Cardinal group, id) of the parties a process involves for a party indicator."""
    bidders = {
        ("Tenderer", str(tenderer.get("id")))
        for bid in (release.get("bids") or {}).get("details") or []
        for tenderer in bid.get("tenderers") or []
    }
    if code == "R025":
        return bidders
    if code == "R038":
        buyer = ("Buyer", str((release.get("buyer") or {}).get("id")))
        entity = ("ProcuringEntity", str(((release.get("tender") or {}).get("procuringEntity") or {}).get("id")))
        return bidders | {buyer, entity}
    return {
        ("Tenderer", str(supplier.get("id")))
        for award in release.get("awards") or []
        for supplier in award.get("suppliers") or []
    }


@pytest.mark.parametrize("name", PARTY_CASES)
def test_party_indicators_flag_the_processes_of_cardinals_flagged_parties(shared_data: Path, name: str) -> None:
    """R025, R038, R048: Cardinal flags tenderers, buyers and procuring entities. A process is
    flagged only if it involves one of them, each of them has a flagged process, and Cardinal's
    JSON output (``results``) is unchanged (``test_cardinal``)."""
    code = name.split("-")[0]
    path = shared_data / "cardinal" / f"{name}.jsonl"
    frame = outcomes(path, code, case_settings(name))
    flagged_parties = {
        (group, subject) for group, subjects in expected(shared_data, name).items() for subject in subjects
    }
    assert flagged_parties, name
    releases = {r["ocid"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r.get("ocid")}
    flagged_processes = set(frame.index[frame.outcome == "flag"])
    assert flagged_processes
    for ocid in flagged_processes:
        assert _parties_of(releases[ocid], code) & flagged_parties, ocid
    for party in flagged_parties:
        assert any(party in _parties_of(releases[ocid], code) for ocid in flagged_processes), party
    assert frame[frame.outcome == "not_applicable"]["reason"].notna().all()
    assert frame[frame.outcome != "not_applicable"]["reason"].isna().all()
    assert frame.index.is_unique


@pytest.mark.django_db
def test_detect_puts_cardinal_outcomes_in_the_matrix_scores_and_findings(tmp_path: Path, settings: Any) -> None:
    from probity.config import WarehouseSetting
    from probity.core.models import DetectorRun, Finding
    from probity.procurement.services import procurement_detect
    from probity.warehouse.services import warehouse_connect

    flagged, passed, not_applicable, _reason = CASES_BY_CODE["R018"]
    releases = [{**r, "buyer": {"id": "B1", "name": "Ministry"}} for r in (flagged, passed, not_applicable)]
    with warehouse_connect(setting=WarehouseSetting("duckdb", str(tmp_path / "w.duckdb"))) as warehouse:
        report = procurement_detect(releases=releases, codes=["R018"], warehouse=warehouse)
        matrix = warehouse.execute(warehouse.table("procurement_indicator_results")).set_index("subject_id")
        scores = warehouse.execute(warehouse.table("procurement_risk_process")).set_index("ocid")
    assert report.indicators == {"R018": {"flag": 1, "pass": 1, "not_applicable": 1}}
    assert dict(matrix["outcome"]) == {"flag": "flag", "pass": "pass", "na": "not_applicable"}
    assert matrix.loc["na", "reason"] == "excluded_procedure: direct"
    assert set(matrix["buyer_id"]) == {"B1"} and set(matrix["indicator"]) == {"R018"}
    assert json.loads(matrix.loc["flag", "evidence"]) == {"tenderers": 1}
    assert scores.loc["flag", "risk_score"] == 1.0 and scores.loc["pass", "risk_score"] == 0.0
    assert pd.isna(scores.loc["na", "risk_score"]) and scores.loc["na", "coverage"] == 0.0
    assert DetectorRun.objects.filter(detector_code="R018").count() == 1
    finding = Finding.objects.get(detector_code="R018", subject_id="flag")
    assert finding.outcome == "flag" and finding.score == 1.0
    # Until the zh_Hans catalogue translates the Cardinal messages, a translated generic one is used.
    assert finding.explanation in {
        "A competitive procedure with a single tenderer.",
        "Cardinal's indicator flagged this process; its value is 1.0.",
    }
    na = Finding.objects.get(detector_code="R018", subject_id="na")
    assert na.evidence == {"reason": "excluded_procedure: direct", "tenderers": 1}
    assert na.explanation == "Not applicable: excluded_procedure: direct."
    # As a core detector (``probity detectors run R018``), over the flattened tables of the warehouse.
    from probity.procurement.detectors import detector_for

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "w.duckdb"))
    judgements = list(detector_for("R018")().evaluate({"findings_for": ["flag", "not_applicable"]}))
    assert [(j.subject_id, j.outcome, j.score) for j in judgements] == [
        ("flag", "flag", 1.0),
        ("na", "not_applicable", None),
    ]


@pytest.mark.spark
def test_outcomes_are_the_same_on_spark(spark: SparkWarehouse, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    """Every process-level indicator's outcomes, reasons and evidence on Spark equal DuckDB's."""
    from probity.procurement.flatten import flatten_to_parquet, parquet_tables
    from probity.procurement.indicators.base import ProcurementTables
    from probity.procurement.indicators.run import materializer

    for code, (flagged, passed, not_applicable, _reason) in sorted(CASES_BY_CODE.items()):
        folder = tmp_path / code
        folder.mkdir()
        path = write(folder, [flagged, passed, not_applicable])
        duckdb_frame = outcomes(path, code, SETTINGS).sort_index()
        names = needed_tables([code])
        flatten_to_parquet(path, folder / "parquet", tables=names)
        tables = ProcurementTables(
            parquet_tables(spark, folder / "parquet", names),  # type: ignore[arg-type]
            materialize=materializer(spark),
        )
        expression = indicators()[code]().outcomes(tables, parse_settings(SETTINGS))
        spark_frame = spark.execute(expression).set_index("subject_id").sort_index()
        assert list(spark_frame["outcome"]) == list(duckdb_frame["outcome"]), code
        assert list(spark_frame["reason"].fillna("")) == list(duckdb_frame["reason"].fillna("")), code
        assert evidence_records(spark_frame) == [pytest.approx(e) for e in evidence_records(duckdb_frame)], code
