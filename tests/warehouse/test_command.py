"""``probity warehouse info | tables | query``."""

from __future__ import annotations

from io import StringIO

import pyarrow as pa
import pytest
from django.core.management import CommandError, call_command

from probity.warehouse.management.commands.warehouse import Command
from probity.warehouse.services import warehouse_connection, warehouse_load_table

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("warehouse", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def loaded() -> None:
    with warehouse_connection() as warehouse:
        warehouse_load_table(
            warehouse=warehouse,
            name="contracts",
            data=pa.table({"buyer": ["Health", "Health", "Roads"], "amount": [10, 20, 5]}),
            source="sample",
        )


def test_help_summarises_in_one_line() -> None:
    first = Command.help.splitlines()[0]
    assert first.startswith("Shows the analytics warehouse") and len(first) < 100


def test_info(loaded: None) -> None:
    text = run("info")
    assert "Engine:" in text and "duckdb" in text
    assert "Ibis version:" in text and "Engine version:" in text
    assert "Connection:     works" in text
    assert "contracts" in text and "3" in text


def test_tables(loaded: None) -> None:
    lines = run("tables").splitlines()
    assert lines[0].split() == ["table", "rows", "refreshed", "in", "engine", "source"]
    assert lines[2].split()[:2] == ["contracts", "3"]


def test_tables_when_empty() -> None:
    assert run("tables").strip() == "No tables yet."


def test_query_prints_a_small_table(loaded: None) -> None:
    text = run("query", "SELECT buyer, sum(amount) AS total FROM contracts GROUP BY buyer ORDER BY buyer")
    lines = text.splitlines()
    assert lines[0].split() == ["buyer", "total"]
    assert lines[2].split() == ["Health", "30"] and lines[3].split() == ["Roads", "5"]
    assert lines[-1] == "(2 rows)"


def test_query_limit(loaded: None) -> None:
    text = run("query", "SELECT * FROM contracts", "--limit", "1")
    assert text.splitlines()[-1] == "(1 row; more rows not shown, use --limit)"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DROP TABLE contracts", "Only read-only SELECT"),
        ("DELETE FROM contracts", "Only read-only SELECT"),
        ("SELECT 1; DROP TABLE contracts", "exactly one"),
        ("SELECT * FROM missing_table", "The query failed"),
    ],
)
def test_query_refuses_writes_and_reports_errors(loaded: None, sql: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("query", sql)
    assert run("query", "SELECT count(*) AS n FROM contracts").splitlines()[2].strip() == "3"


def test_query_on_a_new_installation_explains_itself() -> None:
    with pytest.raises(CommandError, match="does not exist yet"):
        run("query", "SELECT 1")
