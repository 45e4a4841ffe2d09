"""`probity procurement detect FILE --append` adds to what was judged before; `-s SETTINGS` reaches
the Cardinal indicators of `detect` as it does `indicators`."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from probity.config import WarehouseSetting
from probity.procurement.results import RESULTS_TABLE
from probity.procurement.services import CARDINAL_CODES
from probity.warehouse.services import warehouse_connection
from tests.conftest import DemoCountry
from tests.procurement.test_cardinal import spark  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
MATRIX_COLUMNS = "indicator, subject_id, outcome, reason, score, evidence"


def run(*args: str) -> str:
    out = StringIO()
    call_command("procurement", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def matrix() -> list[tuple[Any, ...]]:
    with warehouse_connection() as warehouse:
        rows = warehouse.backend.con.execute(
            f"SELECT {MATRIX_COLUMNS} FROM {RESULTS_TABLE} ORDER BY indicator, subject_id"
        ).fetchall()
    return rows


def process_count(table: str) -> int:
    with warehouse_connection() as warehouse:
        return int(warehouse.backend.con.execute(f"SELECT count(DISTINCT ocid) FROM {table}").fetchone()[0])


@pytest.fixture(scope="session")
def releases(demo_country: DemoCountry) -> Path:
    return demo_country.out / "ocds" / "releases.jsonl"


@pytest.fixture
def warehouse_file(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "warehouse.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    return path


def halves(releases: Path, folder: Path) -> tuple[Path, Path]:
    lines = releases.read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = folder / "first.jsonl", folder / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    second.write_text("".join(lines[len(lines) // 2 :]), encoding="utf-8")
    return first, second


@pytest.mark.slow
def test_append_judges_two_files_as_one(releases: Path, warehouse_file: Path, tmp_path: Path) -> None:
    total = sum(1 for _ in releases.open(encoding="utf-8"))
    run("detect", str(releases), "--findings", "flags")
    whole = matrix()
    first, second = halves(releases, tmp_path)

    run("detect", str(first), "--findings", "flags")  # replaces: only the first half now
    assert process_count("procurement_processes") == total // 2
    assert matrix() != whole

    out = run("detect", str(second), "--append", "--findings", "flags")
    assert out.startswith(f"{total} contracting process(es)")
    assert process_count("procurement_processes") == total
    assert matrix() == whole  # the same outcomes, reasons and evidence as one run over the whole file

    run("detect", str(second), "--append", "--findings", "flags")  # the same file again: nothing doubles
    assert matrix() == whole
    with warehouse_connection() as warehouse:
        con = warehouse.backend.con
        duplicated = con.execute(
            "SELECT count(*) FROM (SELECT ocid, bid_index FROM procurement_bids GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
        staging = [name for name in warehouse.list_tables() if "__appended" in name]
    assert (duplicated, staging) == (0, [])


def test_a_replaced_process_keeps_only_its_new_release(releases: Path, warehouse_file: Path, tmp_path: Path) -> None:
    first, _second = halves(releases, tmp_path)
    run("detect", str(first), "--indicators", "R003,P-NONOPEN", "--findings", "flags")
    release = json.loads(first.read_text(encoding="utf-8").splitlines()[0])
    release["tender"]["procurementMethod"] = "direct"
    release["tender"]["procurementMethodDetails"] = "changed"
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(release) + "\n", encoding="utf-8")
    run("detect", str(changed), "--append", "--indicators", "R003,P-NONOPEN", "--findings", "flags")
    with warehouse_connection() as warehouse:
        rows = warehouse.backend.con.execute(
            "SELECT procurement_method, procurement_method_details FROM procurement_processes WHERE ocid = ?",
            [release["ocid"]],
        ).fetchall()
    assert rows == [("direct", "changed")]
    assert process_count("procurement_processes") == len(first.read_text(encoding="utf-8").splitlines())


def test_append_needs_a_file(warehouse_file: Path) -> None:
    with pytest.raises(CommandError, match="--append adds the processes of a FILE"):
        run("detect", "--append")


def test_settings_choose_and_configure_the_cardinal_indicators(
    releases: Path, warehouse_file: Path, tmp_path: Path
) -> None:
    settings = tmp_path / "settings.ini"
    settings.write_text("[R003]\nthreshold = 1\n[R058]\n")
    out = run("detect", str(releases), "-s", str(settings), "--findings", "flags")
    assert "judged by 15 indicator(s)" in out  # 13 beyond Cardinal + the two sections
    codes = {row[0] for row in matrix()}
    assert {"R003", "R058"} <= codes
    assert not (set(CARDINAL_CODES) - {"R003", "R058"}) & codes
    strict = [row for row in matrix() if row[0] == "R003" and row[2] == "flag"]

    settings.write_text("[R003]\nthreshold = 400\n")
    run("detect", str(releases), "-s", str(settings), "--indicators", "R003", "--findings", "flags")
    lenient = [row for row in matrix() if row[0] == "R003" and row[2] == "flag"]
    assert len(lenient) > len(strict)  # a longer threshold flags more tenders

    settings.write_text("[R003]\nthreshold = soon\n")
    with pytest.raises(CommandError, match="line 2"):
        run("detect", str(releases), "-s", str(settings))


def test_appended_tables_equal_one_flattening_on_duckdb(releases: Path, tmp_path: Path) -> None:
    from probity.procurement.flatten import flatten_into_warehouse
    from probity.warehouse.services import DuckDBWarehouse

    first, second = halves(releases, tmp_path)
    names = ["processes", "bids", "bid_tenderers", "parties"]
    with DuckDBWarehouse(":memory:") as whole, DuckDBWarehouse(":memory:") as parts:
        flatten_into_warehouse(whole, releases, tables=names)
        flatten_into_warehouse(parts, first, tables=names)
        flatten_into_warehouse(parts, second, tables=names, append=True)
        flatten_into_warehouse(parts, second, tables=names, append=True)  # again: nothing doubles
        for name in names:
            query = f"SELECT COLUMNS(*)::VARCHAR FROM procurement_{name} ORDER BY ALL"
            assert parts.backend.con.execute(query).fetchall() == whole.backend.con.execute(query).fetchall(), name
        assert not [table for table in parts.list_tables() if "__appended" in table]


@pytest.mark.spark
def test_appended_tables_equal_one_flattening_on_spark(
    releases: Path,
    tmp_path: Path,
    spark: Any,  # noqa: F811 (the fixture)
) -> None:
    from probity.procurement.flatten import flatten_into_warehouse

    first, second = halves(releases, tmp_path)
    names = ["processes", "bids"]
    flatten_into_warehouse(spark, first, tables=names)
    flatten_into_warehouse(spark, second, tables=names, append=True)
    counts = {name: int(spark.execute(spark.table(f"procurement_{name}").count()).iat[0, 0]) for name in names}
    ocids = spark.execute(spark.table("procurement_processes").ocid.nunique()).iat[0, 0]
    total = len(releases.read_text(encoding="utf-8").splitlines())
    assert counts["processes"] == ocids == total
    lines = releases.read_text(encoding="utf-8").splitlines()
    bids = sum(len((json.loads(line).get("bids") or {}).get("details") or []) for line in lines)
    assert counts["bids"] == bids
    assert not [table for table in spark.list_tables() if "__appended" in table]


def test_detect_writes_every_procurement_table(releases: Path, warehouse_file: Path) -> None:
    """Even when the indicators chosen read only the processes, `detect FILE` keeps every
    procurement_* table: parties and contracts feed the pages and other modules' detectors
    (DECL-COI-AWARD, bidder links)."""
    from probity.procurement.tables import TABLES, warehouse_name

    run("detect", str(releases), "--indicators", "R003", "--findings", "flags")
    with warehouse_connection() as warehouse:
        present = set(warehouse.list_tables())
        parties = warehouse.backend.con.execute("SELECT count(*) FROM procurement_parties").fetchone()[0]
        contracts = warehouse.backend.con.execute("SELECT count(*) FROM procurement_contracts").fetchone()[0]
    assert {warehouse_name(table) for table in TABLES} <= present
    assert parties > 0 and contracts > 0
    from probity.warehouse.models import WarehouseTable

    catalogue = dict(WarehouseTable.objects.values_list("name", "row_count"))
    assert catalogue["procurement_parties"] == parties
    assert catalogue["procurement_contracts"] == contracts
