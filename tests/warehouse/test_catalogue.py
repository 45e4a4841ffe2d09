"""The table catalogue and the status report built from it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from django.utils import timezone

from probity.config import WarehouseSetting
from probity.warehouse.models import WarehouseTable
from probity.warehouse.services import (
    warehouse_catalogue,
    warehouse_connection,
    warehouse_load_table,
    warehouse_register_table,
    warehouse_status,
)

pytestmark = pytest.mark.django_db


def test_register_creates_then_updates() -> None:
    first = warehouse_register_table(name="contracts", row_count=10, description="OCDS awards", source="ocds.jsonl")
    assert first.engine == "duckdb"
    earlier = first.refreshed_at
    second = warehouse_register_table(name="contracts", row_count=12, refreshed_at=earlier + timedelta(minutes=5))
    assert second.pk == first.pk
    assert second.row_count == 12
    assert second.description == "OCDS awards" and second.source == "ocds.jsonl"  # kept when not given
    assert second.refreshed_at > earlier
    assert WarehouseTable.objects.count() == 1


def test_catalogue_is_sorted_by_name() -> None:
    for name in ("suppliers", "awards", "contracts"):
        warehouse_register_table(name=name, row_count=1)
    assert [table.name for table in warehouse_catalogue()] == ["awards", "contracts", "suppliers"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name", "row_count": 1}, "not a valid warehouse table name"),
        ({"name": "ok", "row_count": -1}, "negative"),
        ({"name": "ok", "row_count": 1, "engine": "oracle"}, "Unknown warehouse engine"),
    ],
)
def test_register_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        warehouse_register_table(**kwargs)  # type: ignore[arg-type]


def test_load_table_writes_counts_and_registers() -> None:
    before = timezone.now()
    with warehouse_connection() as warehouse:
        entry = warehouse_load_table(
            warehouse=warehouse,
            name="suppliers",
            data=pa.table({"id": [1, 2, 3, 4]}),
            description="Companies",
            source="bods",
        )
    assert entry.row_count == 4 and entry.engine == "duckdb" and entry.source == "bods"
    assert entry.refreshed_at >= before


def test_status_reports_catalogue_and_engine_tables() -> None:
    with warehouse_connection() as warehouse:
        warehouse_load_table(warehouse=warehouse, name="contracts", data=pa.table({"a": [1, 2]}))
        warehouse.create_table("scratch", pa.table({"b": [1]}))  # in the engine, not catalogued
    warehouse_register_table(name="awards", row_count=5)  # catalogued, not in the engine
    report = warehouse_status()
    assert report.connected and report.error == ""
    assert report.engine == "duckdb" and report.engine_version and report.ibis_version
    by_name = {table.name: table for table in report.tables}
    assert [table.name for table in report.tables] == ["awards", "contracts", "scratch"]
    assert by_name["contracts"].row_count == 2 and by_name["contracts"].present is True
    assert by_name["awards"].present is False
    assert by_name["scratch"].catalogued is False and by_name["scratch"].row_count is None


def test_status_shows_a_broken_warehouse_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    warehouse_register_table(name="contracts", row_count=3)
    report = warehouse_status(setting=WarehouseSetting("duckdb", str(blocker / "w.duckdb")))
    assert not report.connected
    assert "cannot be created" in report.error
    assert report.tables[0].name == "contracts" and report.tables[0].present is None
