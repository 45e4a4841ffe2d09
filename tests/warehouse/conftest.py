"""Fixtures for the warehouse tests: a throw-away DuckDB file per test, one Spark session per run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from probity.config import WarehouseSetting
from probity.warehouse.services import SparkUnavailable, SparkWarehouse


@pytest.fixture(autouse=True)
def duckdb_setting(settings: pytest.FixtureRequest, tmp_path: Path) -> WarehouseSetting:
    """Points ``settings.PROBITY_WAREHOUSE`` at a DuckDB file in this test's own folder."""
    setting = WarehouseSetting("duckdb", str(tmp_path / "warehouse" / "test.duckdb"))
    settings.PROBITY_WAREHOUSE = setting  # type: ignore[attr-defined]
    return setting


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkWarehouse]:
    """One local Spark session (2 cores, no UI, files in a temporary folder) shared by every test."""
    try:
        warehouse = SparkWarehouse(
            "local[2]",
            work_dir=tmp_path_factory.mktemp("spark"),
            config={"spark.sql.shuffle.partitions": "2"},
            # Short jobs: the quick (C1) compiler and the serial collector halve the run time here.
            java_options=("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
        )
    except SparkUnavailable as exc:  # no Java or no PySpark: Spark cannot run here at all
        if os.environ.get("PROBITY_REQUIRE_SPARK") == "1":
            pytest.fail(f"Spark cannot start, and CI requires the cross-engine tests: {exc}")
        pytest.skip(f"Spark cannot start on this machine: {exc}")
    yield warehouse
    warehouse.stop()
