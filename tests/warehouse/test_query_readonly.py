"""``probity warehouse query`` reads the warehouse's tables and nothing else: DuckDB's file functions, other
databases and extensions are switched off by the engine itself, not only by the text check (issue 15)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from probity.warehouse.services import warehouse_connection, warehouse_load_table

pytestmark = pytest.mark.django_db

SECRET = "secret-marker-4711"


def run(*args: str) -> str:
    out = StringIO()
    call_command("warehouse", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def loaded() -> None:
    with warehouse_connection() as warehouse:
        warehouse_load_table(
            warehouse=warehouse, name="contracts", data=pa.table({"buyer": ["Health"], "amount": [10]}), source="t"
        )


@pytest.fixture
def secret_files(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(f"{SECRET}\n")
    (folder / "secret.csv").write_text(f"name\n{SECRET}\n")
    (folder / "secret.json").write_text(f'{{"name": "{SECRET}"}}\n')
    pq.write_table(pa.table({"name": [SECRET]}), folder / "secret.parquet")
    duckdb.connect(str(folder / "other.duckdb")).execute(f"CREATE TABLE t AS SELECT '{SECRET}' AS name").close()
    return folder


FILE_QUERIES = [
    "SELECT * FROM read_text('{folder}/secret.txt')",
    "SELECT * FROM read_blob('{folder}/secret.txt')",
    "SELECT * FROM read_csv('{folder}/secret.csv')",
    "SELECT * FROM read_csv_auto('{folder}/secret.csv')",
    "SELECT * FROM read_json_auto('{folder}/secret.json')",
    "SELECT * FROM read_parquet('{folder}/secret.parquet')",
    "SELECT * FROM '{folder}/secret.csv'",
    "SELECT * FROM glob('{folder}/*')",
    "SELECT c.buyer, s.content FROM contracts AS c, read_text('{folder}/secret.txt') AS s",
]


@pytest.mark.parametrize("template", FILE_QUERIES)
def test_query_cannot_read_files(loaded: None, secret_files: Path, template: str) -> None:
    sql = template.format(folder=secret_files)
    with pytest.raises(CommandError) as raised:
        output = run("query", sql)
        assert SECRET not in output and "secret" not in output  # reached only before the fix
    message = str(raised.value)
    assert SECRET not in message
    assert "only the warehouse's tables" in message


def test_query_still_reads_the_tables(loaded: None) -> None:
    assert run("query", "SELECT buyer, amount FROM contracts").splitlines()[2].split() == ["Health", "10"]


def test_the_engine_refuses_files_even_without_the_text_check(loaded: None, secret_files: Path) -> None:
    """The service's connection itself is locked: writing, attaching, copying, extensions, and turning the
    setting back on all fail, whatever the text check would have let through."""
    attempts = [
        f"SELECT * FROM read_text('{secret_files}/secret.txt')",
        f"ATTACH '{secret_files}/other.duckdb' AS other",
        f"COPY contracts TO '{secret_files}/out.csv'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "CREATE TABLE x AS SELECT 1 AS a",
    ]
    with warehouse_connection(read_only=True, sandboxed=True) as warehouse:
        con = warehouse.backend.con
        for sql in attempts:
            with pytest.raises(duckdb.Error):
                con.execute(sql).fetchall()
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
        assert con.execute("SELECT count(*) FROM contracts").fetchone() == (1,)
    assert not (secret_files / "out.csv").exists()


def test_warehouse_query_service_uses_the_locked_connection(loaded: None, secret_files: Path) -> None:
    from probity.warehouse.services import warehouse_query

    result = warehouse_query(query="SELECT buyer FROM contracts", limit=5)
    assert list(result.frame.columns) == ["buyer"] and not result.more
    with pytest.raises(ValueError, match="only the warehouse's tables"):
        warehouse_query(query=f"SELECT * FROM read_text('{secret_files}/secret.txt')", limit=5)
