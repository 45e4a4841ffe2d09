"""Running indicators: from a file or the warehouse tables to Cardinal-shaped results."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from probity.procurement.indicators import ProcurementTables, indicators
from probity.procurement.indicators.output import cardinal_results
from probity.procurement.indicators.settings import IndicatorSettings
from probity.procurement.tables import warehouse_name

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from probity.procurement.flatten import FlattenReport
    from probity.warehouse.services import Warehouse


@dataclass
class IndicatorRun:
    results: dict[str, dict[str, dict[str, float]]]
    codes: list[str]
    flatten: FlattenReport | None = None
    timings: dict[str, float] = field(default_factory=dict)


def needed_tables(codes: Sequence[str]) -> list[str]:
    registry = indicators()
    names: set[str] = {"processes"}
    for code in codes:
        names.update(registry[code].tables)
    if "bids" in names:  # the default currency is read from the bids
        names.add("bids")
    return sorted(names)


def materializer(warehouse: Warehouse) -> Callable[[ir.Table], ir.Table]:
    """How shared relations are computed once: a temporary table on DuckDB, a cached DataFrame
    (Ibis ``cache()``) on Spark."""
    if warehouse.engine == "duckdb":
        backend = warehouse.backend

        def to_temporary_table(table: ir.Table) -> ir.Table:
            return backend.create_table(f"probity_indicator_{uuid.uuid4().hex[:12]}", table, temp=True)

        return to_temporary_table
    return lambda table: table.cache()


def warehouse_tables(warehouse: Warehouse, names: Sequence[str], *, materialize: bool = True) -> ProcurementTables:
    """The procurement tables of a warehouse, as Ibis tables (``materialize``: see ``ProcurementTables``)."""
    tables = {name: warehouse.table(warehouse_name(name)) for name in names}
    return ProcurementTables(tables, materialize=materializer(warehouse) if materialize else None)


def results_expression(tables: ProcurementTables, settings: IndicatorSettings, codes: Sequence[str]) -> ir.Table:
    """One Ibis table with every enabled indicator's results (``RESULT_SCHEMA``)."""
    import ibis

    from probity.procurement.indicators import empty_results

    registry = indicators()
    parts = [registry[code]().results(tables, settings) for code in codes]
    if not parts:
        return empty_results()
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def indicators_compute(
    warehouse: Warehouse, settings: IndicatorSettings, *, codes: Sequence[str] | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Runs indicators on the warehouse's procurement tables; Cardinal's results map."""
    chosen = list(codes if codes is not None else settings.enabled)
    unknown = [code for code in chosen if code not in indicators()]
    if unknown:
        raise KeyError(f"Unknown indicator(s): {', '.join(unknown)}.")
    tables = warehouse_tables(warehouse, needed_tables(chosen))
    return execute_results(warehouse, tables, settings, chosen)


def execute_results(
    warehouse: Warehouse, tables: ProcurementTables, settings: IndicatorSettings, codes: Sequence[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """Runs each indicator as its own query (cheaper than one union: shared relations are cached)
    and merges the rows into Cardinal's results map."""
    registry = indicators()
    rows: list[tuple[str, str, str, float]] = []
    for code in codes:
        # Arrow columns, not a pandas frame: tens of thousands of flags convert in milliseconds.
        result = warehouse.backend.to_pyarrow(registry[code]().results(tables, settings))
        columns = [result.column(name).to_pylist() for name in ("subject_type", "subject_id", "code", "value")]
        rows += zip(*columns, strict=True)
    return cardinal_results(rows)


def indicators_run_file(
    path: str | Path,
    settings: IndicatorSettings,
    *,
    warehouse: Warehouse | None = None,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
) -> IndicatorRun:
    """Flattens a file of compiled releases and runs the enabled indicators on it.

    Without ``warehouse`` the tables live in a private DuckDB database (in memory, spilling to
    ``temp_directory`` beyond ``memory_limit``); the warehouse is not touched. With a warehouse
    (DuckDB or Spark) the tables are written there first.
    """
    import time

    from probity.procurement.flatten import flatten_file, flatten_into_warehouse
    from probity.warehouse.services import DuckDBWarehouse

    codes = settings.enabled
    names = needed_tables(codes)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    own = warehouse is None
    if warehouse is None:
        warehouse = DuckDBWarehouse(":memory:")
        connection = warehouse.backend.con  # type: ignore[attr-defined]
        if memory_limit:
            connection.execute(f"SET memory_limit = '{memory_limit}'")
        if temp_directory:
            connection.execute(f"SET temp_directory = '{temp_directory}'")
        connection.execute("SET preserve_insertion_order = false")
        report = flatten_file(connection, path, tables=names)
    else:
        report = flatten_into_warehouse(warehouse, path, tables=names)
    timings["flatten"] = time.perf_counter() - started
    try:
        started = time.perf_counter()
        results = indicators_compute(warehouse, settings, codes=codes)
        timings["indicators"] = time.perf_counter() - started
    finally:
        if own:
            warehouse.close()
    return IndicatorRun(results=results, codes=codes, flatten=report, timings=timings)
