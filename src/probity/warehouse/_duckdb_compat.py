"""Lets Ibis 12's DuckDB backend run on DuckDB 2.0.

DuckDB 2.0 removed ``DuckDBPyConnection.fetch_arrow_table()`` and ``fetch_record_batch()``
(renamed ``to_arrow_table()`` and ``to_arrow_reader()``); Ibis 12.0 still calls the old names in
``list_tables``, ``sql()`` and ``to_pyarrow_batches`` (fixed upstream in ibis-project/ibis#12001).
``compatible_connection`` wraps the connection so those calls reach the new names. With a DuckDB
that still has the old names it returns the connection unchanged, so this module can be deleted
once the pinned Ibis release includes the fix.
"""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any

import duckdb

NEEDS_SHIM = not hasattr(duckdb.DuckDBPyConnection, "fetch_arrow_table")


class ArrowCompatConnection:
    """A DuckDB connection that also answers to the pre-2.0 Arrow method names."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    @property
    def wrapped(self) -> Any:
        return self._connection

    def execute(self, *args: Any, **kwargs: Any) -> ArrowCompatConnection:
        result = self._connection.execute(*args, **kwargs)
        return self if result is self._connection else ArrowCompatConnection(result)

    def cursor(self) -> ArrowCompatConnection:
        return ArrowCompatConnection(self._connection.cursor())

    def fetch_arrow_table(self, *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            # DuckDB suggests con.sql(...) instead; Ibis chose execute(), and the copy is small.
            warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
            return self._connection.to_arrow_table(*args, **kwargs)

    def fetch_record_batch(self, rows_per_batch: int = 1_000_000) -> Any:
        return self._connection.to_arrow_reader(batch_size=rows_per_batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __enter__(self) -> ArrowCompatConnection:
        self._connection.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        return self._connection.__exit__(exc_type, exc, tb)


def compatible_connection(connection: Any) -> Any:
    """``connection`` itself, or wrapped if this DuckDB lacks the Arrow names Ibis calls."""
    if NEEDS_SHIM and not isinstance(connection, ArrowCompatConnection):
        return ArrowCompatConnection(connection)
    return connection
