"""Cardinal's conformance suite (../shared/data/cardinal): every case must give exactly the expected
output, on DuckDB and on a local PySpark session; plus the settings file and the output formats."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from probity.procurement.flatten import flatten_to_parquet, parquet_tables
from probity.procurement.indicators import indicators
from probity.procurement.indicators.base import ProcurementTables, quantile_type8
from probity.procurement.indicators.cardinal import CARDINAL_CODES
from probity.procurement.indicators.output import cardinal_json, cardinal_results, results_csv
from probity.procurement.indicators.run import (
    indicators_compute,
    indicators_run_file,
    materializer,
    needed_tables,
    results_expression,
)
from probity.procurement.indicators.settings import IndicatorSettings, SettingsError, parse_settings, pipe_set
from probity.warehouse.services import DuckDBWarehouse, SparkUnavailable, SparkWarehouse

CASES = [
    "R003",
    "R003-procurement_method_details-x-5-y-10",
    "R003-procurement_methods-open+selective",
    "R003-threshold-10",
    "R018",
    "R024",
    "R025",
    "R028",
    "R030",
    "R035",
    "R036",
    "R038",
    "R038-tenderer",
    "R048-minimum_contracting_processes-1",
    "R058",
]


def case_settings(name: str) -> str:
    """The INI text a case's name encodes (see shared/data/README.md, "How Cardinal's suite is read")."""
    code, *rest = name.split("-")
    lines = [
        "no_price_comparison_procurement_methods = NPC",
        "[exclusions]",
        "procurement_method_details = EXC",
        f"[{code}]",
    ]
    if len(rest) == 2:  # one setting
        lines.append(f"{rest[0]} = {rest[1].replace('+', '|')}")
    elif len(rest) > 2:  # a map setting: key, then name-value pairs
        lines.append(f"[{code}.{rest[0]}]")
        lines += [f"{key} = {value}" for key, value in zip(rest[1::2], rest[2::2], strict=True)]
    return "\n".join(lines)


def expected(shared_data: Path, name: str) -> dict:
    return json.loads((shared_data / "cardinal" / f"{name}.expected").read_text())


def test_the_suite_has_fifteen_cases_for_the_eleven_indicators(shared_data: Path) -> None:
    assert sorted(path.stem for path in (shared_data / "cardinal").glob("*.jsonl")) == sorted(CASES)
    assert {name.split("-")[0] for name in CASES} == set(CARDINAL_CODES)
    assert set(CARDINAL_CODES) <= set(indicators())


def test_case_names_encode_settings() -> None:
    assert "threshold = 10" in case_settings("R003-threshold-10")
    assert "procurement_methods = open|selective" in case_settings("R003-procurement_methods-open+selective")
    text = case_settings("R003-procurement_method_details-x-5-y-10")
    assert "[R003.procurement_method_details]\nx = 5\ny = 10" in text
    assert case_settings("R038-tenderer").endswith("[R038]")


@pytest.mark.parametrize("name", CASES)
def test_cardinal_case_on_duckdb(shared_data: Path, name: str) -> None:
    settings = parse_settings(case_settings(name))
    run = indicators_run_file(shared_data / "cardinal" / f"{name}.jsonl", settings)
    assert run.results == expected(shared_data, name)
    # Cardinal's JSON text round-trips to the same map.
    assert json.loads(cardinal_json(run.results)) == expected(shared_data, name)


def test_a_changed_setting_changes_the_result(shared_data: Path) -> None:
    """The suite can fail: R003 with a 20-day threshold flags the 15-day tender too."""
    settings = parse_settings(case_settings("R003-threshold-10").replace("threshold = 10", "threshold = 20"))
    run = indicators_run_file(shared_data / "cardinal" / "R003-threshold-10.jsonl", settings)
    assert run.results != expected(shared_data, "R003-threshold-10")


# --- Spark ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkWarehouse]:
    try:
        warehouse = SparkWarehouse(
            "local[2]",
            work_dir=tmp_path_factory.mktemp("spark"),
            config={"spark.sql.shuffle.partitions": "2"},
            java_options=("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
        )
    except SparkUnavailable as exc:
        if os.environ.get("PROBITY_REQUIRE_SPARK") == "1":
            pytest.fail(f"Spark cannot start, and CI requires the cross-engine tests: {exc}")
        pytest.skip(f"Spark cannot start on this machine: {exc}")
    yield warehouse
    warehouse.stop()


@pytest.mark.spark
@pytest.mark.parametrize("name", CASES)
def test_cardinal_case_on_spark(spark: SparkWarehouse, shared_data: Path, name: str, tmp_path: Path) -> None:
    settings = parse_settings(case_settings(name))
    names = needed_tables(settings.enabled)
    flatten_to_parquet(shared_data / "cardinal" / f"{name}.jsonl", tmp_path, tables=names)
    # Shared relations are cached in Spark, as ``indicators_compute`` does.
    tables = ProcurementTables(parquet_tables(spark, tmp_path, names), materialize=materializer(spark))  # type: ignore[arg-type]
    frame = spark.execute(results_expression(tables, settings, settings.enabled))
    rows = frame[["subject_type", "subject_id", "code", "value"]].itertuples(index=False, name=None)
    assert cardinal_results(rows) == expected(shared_data, name)


@pytest.mark.spark
def test_spark_warehouse_tables_give_the_same_results(spark: SparkWarehouse, shared_data: Path) -> None:
    """Through the warehouse interface: tables written to Spark, indicators run there."""
    settings = parse_settings(case_settings("R024"))
    run = indicators_run_file(shared_data / "cardinal" / "R024.jsonl", settings, warehouse=spark)
    assert run.results == expected(shared_data, "R024")
    assert "procurement_bids" in spark.list_tables()
    assert indicators_compute(spark, settings) == expected(shared_data, "R024")


# --- settings ------------------------------------------------------------------------------------


def test_settings_file_in_cardinals_format() -> None:
    settings = parse_settings(
        "; a comment\ncurrency = USD\nprice_comparison_procurement_methods = Reverse Auction|Open\n"
        "[defaults]\ncurrency = USD\n[codelists.bid_status]\nqualified = valid\n"
        "[exclusions]\nprocurement_method_details = Random Selection\n"
        "[R003]\nthreshold = 12\nprocurement_methods = open|selective\n"
        "[R003.procurement_method_details]\nemergency = 10\n[R024]\n# defaults\n[R025]\npercentile = 80\n"
    )
    assert settings.currency == "USD"
    assert settings.price_comparison_procurement_methods == {"Reverse Auction", "Open"}
    assert settings.exclude_procurement_method_details == {"Random Selection"}
    assert settings.enabled == ["R003", "R024", "R025"]
    assert settings.value("R003", "threshold") == 12
    assert settings.value("R003", "procurement_method_details") == {"emergency": 10}
    assert settings.value("R024", "threshold") is None
    assert settings.value("R025", "percentile") == 80
    assert settings.value("R018", "procurement_methods") == "open|selective"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[R003]\nthreshold = soon", "line 2: 'soon' is not a whole number"),
        ("[R024]\nthreshold = x", "is not a number"),
        ("[R999]", "unknown section [R999]"),
        ("[R003]\nlimit = 3", "unknown setting 'limit' in [R003]"),
        ("colour = red", "unknown setting 'colour'"),
        ("[R003", "must end with ']'"),
        ("[R003]\nthreshold", "expected 'key = value'"),
        ("[R025]\npercentile = -1", "percentile must be at least 0"),
    ],
)
def test_bad_settings_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_settings(text)


def test_pipe_separated_values_split_like_cardinal() -> None:
    assert pipe_set("open|selective|") == {"open", "selective"}
    assert pipe_set("") == frozenset()
    assert pipe_set(None) == frozenset()


def test_defaults_enable_every_indicator() -> None:
    assert IndicatorSettings.defaults().enabled == sorted(indicators())


# --- output and statistics -----------------------------------------------------------------------


def test_results_as_cardinal_json_and_csv() -> None:
    results = cardinal_results(
        [("Tenderer", "T", "R025", 0.2), ("OCID", "b", "R003", 1), ("OCID", "a", "R028", 1.0), ("OCID", "a", "R003", 1)]
    )
    assert list(results) == ["OCID", "Tenderer"]
    assert results["OCID"]["a"] == {"R003": 1.0, "R028": 1.0}
    assert json.loads(cardinal_json(results)) == {
        "OCID": {"a": {"R003": 1.0, "R028": 1.0}, "b": {"R003": 1.0}},
        "Tenderer": {"T": {"R025": 0.2}},
    }
    assert results_csv(results).splitlines() == [
        "group,id,indicator,value",
        "OCID,a,R003,1.0",
        "OCID,a,R028,1.0",
        "OCID,b,R003,1.0",
        "Tenderer,T,R025,0.2",
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 10, 23])
@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.75, 0.8, 1.0])
def test_quartiles_are_hyndman_fan_type_8(size: int, fraction: float) -> None:
    import ibis
    import numpy as np

    values = [float((n * 37) % 11) + n / 7 for n in range(size)]
    with DuckDBWarehouse(":memory:") as warehouse:
        table = ibis.memtable({"v": values})
        got = warehouse.execute(table.limit(1).select(q=quantile_type8(table.v, fraction))).iat[0, 0]
    assert got == pytest.approx(np.quantile(values, fraction, method="median_unbiased"), abs=1e-12)


# --- the command ---------------------------------------------------------------------------------


def _run_command(*args: str) -> tuple[int, str, str]:
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("procurement", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_command_prints_cardinal_json_for_a_settings_file(shared_data: Path, tmp_path: Path) -> None:
    settings = tmp_path / "settings.ini"
    settings.write_text(case_settings("R058"))
    code, out, _err = _run_command("indicators", str(shared_data / "cardinal" / "R058.jsonl"), "-s", str(settings))
    assert code == 0
    assert json.loads(out) == expected(shared_data, "R058")


def test_command_writes_csv_to_a_file(shared_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, out, _err = _run_command(
        "indicators",
        str(shared_data / "cardinal" / "R036.jsonl"),
        "--indicators",
        "R036",
        "--format",
        "csv",
        "-o",
        str(target),
    )
    assert code == 0
    assert out == ""
    lines = target.read_text().splitlines()
    assert lines[0] == "group,id,indicator,value"
    assert "OCID,F,R036,1.0" in lines


def test_command_exit_codes(shared_data: Path, tmp_path: Path) -> None:
    assert _run_command("indicators", str(tmp_path / "missing.jsonl"))[0] == 2
    bad = tmp_path / "bad.ini"
    bad.write_text("[R003]\nthreshold = soon\n")
    code, _out, message = _run_command("indicators", str(shared_data / "cardinal" / "R003.jsonl"), "-s", str(bad))
    assert (code, "line 2" in message) == (2, True)
    assert _run_command("indicators", str(shared_data / "cardinal" / "R003.jsonl"), "--indicators", "R999")[0] == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text((shared_data / "cardinal" / "R003.jsonl").read_text() + "not json\n")
    code, out, err = _run_command("indicators", str(broken), "--indicators", "R003")
    assert code == 1  # results printed, but a line was skipped
    assert "1 of 9 lines were skipped" in err
    assert json.loads(out)["OCID"]["open"] == {"R003": 1.0}


def test_registry_refuses_a_second_indicator_with_the_same_code() -> None:
    from probity.procurement.indicators.base import Indicator, register

    class Impostor(Indicator):
        code = "R003"
        title = "another R003"
        description = ""

    with pytest.raises(ValueError, match="Two indicators have the code R003"):
        register(Impostor)
    assert indicators()["R003"].title == "Short submission period"


def test_default_outcomes_are_the_flags_with_a_reason(shared_data: Path) -> None:
    # ``Indicator.outcomes`` (for an indicator that gives flags only) returns the flags of
    # ``results``; Cardinal's eleven all judge every process (test_cardinal_outcomes.py).
    from probity.procurement.flatten import flatten_file
    from probity.procurement.indicators.base import Indicator
    from probity.procurement.indicators.run import needed_tables, warehouse_tables

    settings = parse_settings(case_settings("R025"))
    names = needed_tables(["R025"])
    r025 = indicators()["R025"]()
    with DuckDBWarehouse(":memory:") as warehouse:
        flatten_file(warehouse.backend.con, shared_data / "cardinal" / "R025.jsonl", tables=names)
        tables = warehouse_tables(warehouse, names)
        flags = warehouse.execute(Indicator.outcomes(r025, tables, settings))
        processes = warehouse.execute(r025.outcomes(tables, settings))
        ocids = warehouse.execute(warehouse.table("procurement_processes").ocid)
    assert sorted(flags.subject_id) == ["F", "N"]  # Cardinal's flagged tenderers
    assert set(flags.outcome) == {"flag"}
    assert set(flags.reason) == {"Excessive unsuccessful bids"}
    assert sorted(processes.subject_id) == sorted(ocids.ocid)  # one outcome per process


@pytest.mark.django_db
def test_command_can_write_the_tables_to_the_warehouse(shared_data: Path, tmp_path: Path, settings: object) -> None:
    from probity.config import WarehouseSetting
    from probity.warehouse.models import WarehouseTable

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "w.duckdb"))  # type: ignore[attr-defined]
    code, out, _err = _run_command("indicators", str(shared_data / "cardinal" / "R035.jsonl"), "--warehouse")
    assert code == 0
    assert json.loads(out)["OCID"]["F2"] == {"R035": 2.0}
    entry = WarehouseTable.objects.get(name="procurement_bids")
    assert entry.row_count > 0
    assert entry.source.endswith("R035.jsonl")
