"""The connection service on DuckDB: round trips, overwrites, names, and configuration errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from probity.config import ConfigurationError, WarehouseSetting
from probity.warehouse.services import (
    DuckDBWarehouse,
    SparkUnavailable,
    Warehouse,
    java_executable,
    read_only_query,
    warehouse_connect,
    warehouse_connection,
)


def contracts_arrow() -> pa.Table:
    return pa.table(
        {
            "ocid": ["ocds-1", "ocds-2", "ocds-3"],
            "buyer": ["Ministry of Health", "Ministry of Health", "City of Riverside"],
            "amount": pa.array([Decimal("1200.50"), Decimal("99.99"), None], type=pa.decimal128(14, 2)),
            "bidders": pa.array([1, 4, None], type=pa.int32()),
        }
    )


def test_round_trip_from_pyarrow(duckdb_setting: WarehouseSetting) -> None:
    with warehouse_connection() as warehouse:
        assert isinstance(warehouse, DuckDBWarehouse)
        assert warehouse.engine == "duckdb"
        assert warehouse.location == str(Path(duckdb_setting.location).resolve())
        table = warehouse.create_table("contracts", contracts_arrow())
        assert warehouse.list_tables() == ["contracts"]
        assert dict(table.schema().items())["amount"].is_decimal()
        frame = warehouse.execute(warehouse.table("contracts").order_by("ocid"))
    assert list(frame.columns) == ["ocid", "buyer", "amount", "bidders"]
    assert frame["ocid"].tolist() == ["ocds-1", "ocds-2", "ocds-3"]
    assert frame["amount"].tolist()[:2] == [Decimal("1200.50"), Decimal("99.99")]
    assert pd.isna(frame["amount"].iloc[2]) and pd.isna(frame["bidders"].iloc[2])

    # The file keeps the table for the next connection.
    with warehouse_connect() as again:
        assert again.list_tables() == ["contracts"]
        assert again.execute(again.table("contracts").count()).iat[0, 0] == 3


def test_ibis_expression_and_pandas_input_and_overwrite() -> None:
    with warehouse_connection() as warehouse:
        contracts = warehouse.create_table("contracts", contracts_arrow())
        by_buyer = contracts.group_by("buyer").aggregate(n=contracts.count(), total=contracts.amount.sum())
        warehouse.create_table("by_buyer", by_buyer)
        # Replacing a table with an expression that reads that same table works.
        warehouse.create_table("contracts", contracts.filter(contracts.bidders > 1))
        assert warehouse.execute(warehouse.table("contracts").count()).iat[0, 0] == 1
        warehouse.create_table("buyers", pd.DataFrame({"name": ["A", "B"], "country": ["KE", "PE"]}))
        assert warehouse.list_tables() == ["buyers", "by_buyer", "contracts"]
        result = warehouse.execute(warehouse.table("by_buyer").order_by("buyer"))
        assert result["n"].tolist() == [1, 2]
        assert pd.isna(result["total"].iloc[0])  # City of Riverside: its only amount is unknown
        assert result["total"].iloc[1] == Decimal("1300.49")


def test_a_failed_replacement_leaves_the_old_table_and_nothing_else() -> None:
    """The replacement runs in one transaction: a query that fails half-way changes nothing."""
    with warehouse_connection() as warehouse:
        contracts = warehouse.create_table("contracts", contracts_arrow())
        with pytest.raises(Exception, match="(?i)conversion|cast"):
            warehouse.create_table("contracts", contracts.mutate(buyer=contracts.buyer.cast("int64")))
        assert warehouse.list_tables() == ["contracts"]
        assert warehouse.execute(warehouse.table("contracts").count()).iat[0, 0] == 3
        warehouse.create_table("contracts", contracts.filter(contracts.bidders > 1))  # the connection still works
        assert warehouse.execute(warehouse.table("contracts").count()).iat[0, 0] == 1


def test_in_memory_tables_are_not_listed_and_scalars_execute() -> None:
    with warehouse_connection() as warehouse:
        memtable = ibis.memtable({"x": [1, 2, 3]})
        assert warehouse.execute(memtable.x.sum()).iat[0, 0] == 6
        warehouse.create_table("numbers", memtable)
        assert warehouse.list_tables() == ["numbers"]


def test_overwrite_false_refuses_an_existing_table() -> None:
    with warehouse_connection() as warehouse:
        warehouse.create_table("contracts", contracts_arrow())
        with pytest.raises(ValueError, match="already exists"):
            warehouse.create_table("contracts", contracts_arrow(), overwrite=False)


@pytest.mark.parametrize("name", ["Contracts", "1st", "drop table x", "a-b", "", "probity_staging_x"])
def test_bad_table_names_are_refused(name: str) -> None:
    with warehouse_connection() as warehouse, pytest.raises(ValueError, match="not a valid warehouse table name"):
        warehouse.create_table(name, contracts_arrow())


def test_memory_location() -> None:
    with warehouse_connection(setting=WarehouseSetting("duckdb", ":memory:")) as warehouse:
        warehouse.create_table("t", pa.table({"a": [1]}))
        assert warehouse.list_tables() == ["t"]
        assert warehouse.engine_version


def test_unwritable_location_raises_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    setting = WarehouseSetting("duckdb", str(blocker / "warehouse.duckdb"))
    with pytest.raises(ConfigurationError) as caught:
        warehouse_connect(setting=setting)
    message = str(caught.value)
    assert "cannot be created" in message and "PROBITY_WAREHOUSE" in message
    assert "\n" not in message


def test_unopenable_file_raises_configuration_error(tmp_path: Path) -> None:
    not_duckdb = tmp_path / "garbage.duckdb"
    not_duckdb.write_bytes(b"this is not a DuckDB database file" * 200)
    with pytest.raises(ConfigurationError, match="cannot be opened"):
        warehouse_connect(setting=WarehouseSetting("duckdb", str(not_duckdb)))


def test_read_only_connection(duckdb_setting: WarehouseSetting) -> None:
    with pytest.raises(ConfigurationError, match="does not exist yet"):
        warehouse_connect(read_only=True)
    with warehouse_connection() as warehouse:
        warehouse.create_table("t", pa.table({"a": [1]}))
    with warehouse_connection(read_only=True) as warehouse:
        assert warehouse.execute(warehouse.sql("SELECT sum(a) AS s FROM t"))["s"].tolist() == [1]
        with pytest.raises(Exception, match="read-only"):
            warehouse.backend.raw_sql("CREATE TABLE u (a INTEGER)")
    with pytest.raises(ConfigurationError, match="read-only"):
        warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:"), read_only=True)


def test_unknown_engine() -> None:
    with pytest.raises(ConfigurationError, match="unknown engine 'oracle'"):
        warehouse_connect(setting=WarehouseSetting("oracle", "somewhere"))


def test_interface_is_engine_neutral() -> None:
    for method in ("table", "create_table", "list_tables", "execute", "close", "sql"):
        assert callable(getattr(Warehouse, method))
    assert {"duckdb", "spark"} == {cls.engine for cls in Warehouse.__subclasses__()}


def test_missing_java_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable, match="no 'java' program was found"):
        java_executable()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk-here"))
    with pytest.raises(ConfigurationError, match="JAVA_HOME"):
        java_executable()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select buyer, count(*) from contracts group by 1;",
        "WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION ALL SELECT 2",
        "FROM contracts",
    ],
)
def test_read_only_query_accepts_selects(sql: str) -> None:
    assert read_only_query(query=sql, dialect="duckdb")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DROP TABLE contracts", "Only read-only SELECT"),
        ("SELECT 1; DROP TABLE contracts", "exactly one"),
        ("INSERT INTO contracts VALUES (1)", "Only read-only SELECT"),
        ("CREATE TABLE x AS SELECT 1", "Only read-only SELECT"),
        ("COPY contracts TO 'x.csv'", "Only read-only SELECT"),
        ("ATTACH 'other.duckdb'", "Only read-only SELECT"),
        ("SELECT 1 INTO t", "INTO"),
        ("UPDATE contracts SET amount = 0", "Only read-only SELECT"),
        ("PRAGMA version", "Only read-only SELECT"),
        ("", "empty"),
        ("SELECT FROM WHERE (", "could not be read"),
    ],
)
def test_read_only_query_refuses_everything_else(sql: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_only_query(query=sql, dialect="duckdb")


def test_read_only_query_in_spark_dialect() -> None:
    assert read_only_query(query="SELECT `buyer` FROM contracts", dialect="spark")
    with pytest.raises(ValueError):
        read_only_query(query="INSERT OVERWRITE TABLE contracts SELECT * FROM contracts", dialect="spark")
