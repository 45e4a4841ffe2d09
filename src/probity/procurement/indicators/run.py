"""Running indicators: from a file or the warehouse tables to Cardinal-shaped results."""

# The SQL here is this module's constants and the statements Probity's own Ibis expressions compiled
# to (kept in the plan cache), never input data.
# ruff: noqa: S608

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from probity.procurement.flatten import FlattenReport, flatten_file, flatten_into_warehouse, private_connection
from probity.procurement.indicators import indicators
from probity.procurement.indicators.base import SUBJECT_TYPES, ProcurementTables, empty_results
from probity.procurement.indicators.output import cardinal_results
from probity.procurement.indicators.settings import IndicatorSettings
from probity.procurement.tables import TABLES, warehouse_name

if TYPE_CHECKING:
    import duckdb
    import ibis.expr.types as ir

    from probity.procurement.indicators.prefetch import Prefetch
    from probity.warehouse.services import Warehouse


@dataclass
class IndicatorRun:
    results: dict[str, dict[str, dict[str, float]]]
    codes: list[str]
    flatten: FlattenReport | None = None
    timings: dict[str, float] = field(default_factory=dict)
    plan: str = "ibis"  # how the SQL was obtained: "ibis" (compiled now) or "cached" (compiled earlier)


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
    import ibis  # heavy: imported when the indicators are built, not on a replayed plan

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


# --- compiled SQL plans (DuckDB) ----------------------------------------------------------------
#
# The Ibis expressions are the portable source of truth (DuckDB and Spark run the same code), but
# building and compiling them costs about a second per run, whatever the data size. On the private
# DuckDB path a run's SQL — the shared relations materialised as temporary tables, then one query
# per indicator — is recorded once and kept in a small JSON file, keyed by everything the SQL
# depends on: the settings, the indicators chosen, the flattened tables' column types, the source
# of the indicator modules and the Ibis, sqlglot and DuckDB versions. A later run with the same key
# executes the recorded statements directly; any change to one of them compiles afresh.

PLAN_VERSION = 1
PLANS_KEPT = 64  # plan files kept in the cache folder (the oldest are deleted)
_PLAN_PREFIX = "probity_indicator_"
# Names Ibis gives in-memory tables; SQL that reads one cannot be replayed on another connection.
_MEMTABLE_MARKERS = ("ibis_pandas_memtable", "ibis_pyarrow_memtable", "_ibis_memtable", "ibis_polars_memtable")


@dataclass
class SqlPlan:
    """The statements of one run: ``("table", name, sql)`` creates a temporary table,
    ``("query", code, sql)`` gives an indicator's results (``RESULT_SCHEMA`` columns, in order)."""

    statements: list[tuple[str, str, str]] = field(default_factory=list)
    replayable: bool = True

    def add(self, kind: str, name: str, sql: str) -> None:
        if any(marker in sql for marker in _MEMTABLE_MARKERS):
            self.replayable = False
        self.statements.append((kind, name, sql))


def _settings_key(settings: IndicatorSettings) -> object:
    def plain(value: object) -> object:
        if isinstance(value, frozenset | set):
            return sorted(plain(item) for item in value)  # type: ignore[type-var]
        if isinstance(value, dict):
            return {str(key): plain(item) for key, item in sorted(value.items())}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value

    return plain(
        {
            "currency": settings.currency,
            "no_price_comparison": settings.no_price_comparison_procurement_methods,
            "price_comparison": settings.price_comparison_procurement_methods,
            "excluded": settings.exclude_procurement_method_details,
            "sections": settings.sections,
        }
    )


def _source_fingerprint() -> str:
    """A hash of the modules whose code shapes the SQL (this package and the table definitions)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for module in sorted(package.glob("*.py")):
        digest.update(module.name.encode())
        digest.update(module.read_bytes())
    return digest.hexdigest()


def plan_key(connection: object, settings: IndicatorSettings, codes: Sequence[str], names: Sequence[str]) -> str:
    """The cache key of a run's SQL (see above)."""
    columns = {
        name: connection.execute(  # type: ignore[attr-defined]
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [warehouse_name(name)],
        ).fetchall()
        for name in names
    }
    material = {
        "plan": PLAN_VERSION,
        "settings": _settings_key(settings),
        "codes": list(codes),
        "columns": columns,
        "source": _source_fingerprint(),
        "versions": [version(package) for package in ("ibis-framework", "sqlglot", "duckdb")],
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _plan_read(path: Path) -> SqlPlan | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        statements = [(str(kind), str(name), str(sql)) for kind, name, sql in data["statements"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: compile afresh
    return SqlPlan(statements=statements)


def _plan_write(path: Path, plan: SqlPlan) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_text(json.dumps({"statements": plan.statements}), encoding="utf-8")
        partial.replace(path)
        # Keep the most recently written plans only (each settings file and version makes one).
        kept = sorted(path.parent.glob("*.json"), key=lambda item: item.stat().st_mtime, reverse=True)
        for old in kept[PLANS_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written only costs the next run its compilation


def _rows(connection: object, sql: str) -> list[tuple[str, str, str, float]]:
    return connection.execute(sql).fetchall()  # type: ignore[attr-defined]


def _dependencies(plan: SqlPlan) -> list[set[int]]:
    """For each statement, the earlier ``table`` statements whose table its SQL reads."""
    made: dict[str, int] = {}
    needs: list[set[int]] = []
    for index, (kind, name, sql) in enumerate(plan.statements):
        needs.append({made[table] for table in made if f'"{table}"' in sql})
        if kind == "table":
            made[name] = index
    return needs


def plan_replay(connection: object, plan: SqlPlan, *, workers: int = 2) -> dict[str, dict[str, dict[str, float]]]:
    """Runs a recorded plan on a DuckDB connection holding the flattened tables.

    Statements run as soon as the tables they read exist, ``workers`` at a time, each on its own
    cursor of the same database: one indicator's query is small and its last steps (a hash join's
    build, a final aggregate) keep one core busy, so two at once keep both cores working. The
    shared relations become ordinary tables of the private database (a temporary table is visible
    to its own cursor only). Each query's rows go into one results table (tagged with the query's
    place in the plan) instead of through Python, and ``_results_of`` turns that table into
    Cardinal's map, so the result is the same whatever order the statements finished in.
    """
    statements = plan.statements
    needs = _dependencies(plan)
    connection.execute(  # type: ignore[attr-defined]
        f'CREATE OR REPLACE TABLE "{_RESULTS}" '
        "(seq INTEGER, subject_type VARCHAR, subject_id VARCHAR, code VARCHAR, value DOUBLE)"
    )
    cursors = [connection] if workers <= 1 else [connection.cursor() for _ in range(workers)]  # type: ignore[attr-defined]
    free = list(cursors)

    def run(index: int, cursor: object) -> int:
        kind, name, sql = statements[index]
        if kind == "table":
            cursor.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')  # type: ignore[attr-defined]
        else:
            cursor.execute(f'INSERT INTO "{_RESULTS}" SELECT {index}, * FROM ({sql})')  # type: ignore[attr-defined]
        return index

    done: set[int] = set()
    waiting = list(range(len(statements)))
    running: dict[Future[int], object] = {}
    try:
        with ThreadPoolExecutor(max_workers=len(cursors)) as pool:
            while waiting or running:
                for index in [i for i in waiting if needs[i] <= done]:
                    if not free:
                        break
                    waiting.remove(index)
                    cursor = free.pop()
                    running[pool.submit(run, index, cursor)] = cursor
                if not running:  # a statement reads a table no statement makes: run it to report the error
                    raise RuntimeError(f"SQL plan statement {waiting[0]} depends on a table never made.")
                finished, _pending = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    free.append(running.pop(future))
                    done.add(future.result())  # re-raises the statement's error
    finally:
        if workers > 1:
            for cursor in cursors:
                cursor.close()  # type: ignore[attr-defined]
    return _results_of(connection)


_RESULTS = "probity_indicator_results"
# Cardinal's map as JSON text, built by DuckDB: per subject its codes (sorted) and per group its
# subjects (sorted), a repeated subject and code keeping the value of the later query. DuckDB writes
# each double in its shortest form that reads back as the same double, and sorts text by code point
# as Python does.
_RESULTS_JSON = f"""
WITH latest AS (
    SELECT subject_type, subject_id, code, arg_max(value, seq) AS value
    FROM "{_RESULTS}" GROUP BY subject_type, subject_id, code
), subjects AS (
    SELECT subject_type, subject_id,
        '{{' || string_agg(to_json(code) || ':' || to_json(value), ',' ORDER BY code) || '}}' AS codes
    FROM latest GROUP BY subject_type, subject_id
)
SELECT subject_type, '{{' || string_agg(to_json(subject_id) || ':' || codes, ',' ORDER BY subject_id) || '}}'
FROM subjects GROUP BY subject_type
"""


def _results_of(connection: object) -> dict[str, dict[str, dict[str, float]]]:
    """Cardinal's results map from the results table (see ``plan_replay``).

    The map is assembled as JSON text inside DuckDB and parsed once: no Python object per result
    row. Values JSON cannot hold (NaN, infinities) and NULL keys take the Python way instead
    (``cardinal_results``), which keeps them as floats."""
    import orjson  # 30 ms to import: only when a plan is replayed

    execute = connection.execute  # type: ignore[attr-defined]
    irregular = execute(
        f'SELECT count(*) FROM "{_RESULTS}" WHERE value IS NULL OR NOT isfinite(value) '
        "OR subject_type IS NULL OR subject_id IS NULL OR code IS NULL"
    ).fetchone()[0]
    if irregular:
        rows = execute(f'SELECT subject_type, subject_id, code, value FROM "{_RESULTS}" ORDER BY seq').fetchall()
        return cardinal_results(rows)
    texts = dict(execute(_RESULTS_JSON).fetchall())
    groups = [f"{orjson.dumps(group).decode()}:{texts[group]}" for group in SUBJECT_TYPES if group in texts]
    results: dict[str, dict[str, dict[str, float]]] = orjson.loads("{" + ",".join(groups) + "}")
    return results


def plan_record(
    connection: duckdb.DuckDBPyConnection, settings: IndicatorSettings, codes: Sequence[str], names: Sequence[str]
) -> tuple[dict[str, dict[str, dict[str, float]]], SqlPlan]:
    """Builds and compiles the Ibis expressions over the tables of a DuckDB connection, runs them,
    and records the SQL as a plan."""
    # Ibis and DuckDB are heavy (half a second): imported when a plan is recorded, not on a replay.
    import ibis

    backend = ibis.duckdb.from_connection(connection)
    plan = SqlPlan()

    def to_temporary_table(table: ir.Table) -> ir.Table:
        name = f"{_PLAN_PREFIX}{len(plan.statements):03d}"
        sql = str(backend.compile(table))
        connection.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
        plan.add("table", name, sql)
        return backend.table(name)

    tables = ProcurementTables(
        {name: backend.table(warehouse_name(name)) for name in names}, materialize=to_temporary_table
    )
    registry = indicators()
    rows: list[tuple[str, str, str, float]] = []
    for code in codes:
        sql = str(backend.compile(registry[code]().results(tables, settings)))
        plan.add("query", code, sql)
        rows += _rows(connection, sql)
    return cardinal_results(rows), plan


def indicators_run_file(
    path: str | Path,
    settings: IndicatorSettings,
    *,
    warehouse: Warehouse | None = None,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
    plan_cache: str | Path | None = None,
    workers: int = 2,
    prefetch: Prefetch | None = None,
) -> IndicatorRun:
    """Flattens a file of compiled releases and runs the enabled indicators on it.

    Without ``warehouse`` the tables live in a private DuckDB database (in memory, spilling to
    ``temp_directory`` beyond ``memory_limit``); the warehouse is not touched. There the SQL the
    Ibis expressions compile to is recorded and, with ``plan_cache`` (a folder), kept for the next
    run with the same settings (see "compiled SQL plans" above), ``workers`` statements of it at a
    time (see ``plan_replay``), on the file ``prefetch`` read already if it read what this run
    needs (see ``prefetch.py``). With a warehouse (DuckDB or
    Spark) the tables are written there first and the Ibis expressions run there.
    """
    codes = settings.enabled
    names = needed_tables(codes)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if warehouse is not None:
        # The warehouse keeps every procurement_* table, not only those these indicators read: the
        # pages and other modules' detectors read parties and contracts too.
        report = flatten_into_warehouse(warehouse, path, tables=list(TABLES))
        timings["flatten"] = time.perf_counter() - started
        started = time.perf_counter()
        results = indicators_compute(warehouse, settings, codes=codes)
        timings["indicators"] = time.perf_counter() - started
        return IndicatorRun(results=results, codes=codes, flatten=report, timings=timings)

    unknown = [code for code in codes if code not in indicators()]
    if unknown:
        raise KeyError(f"Unknown indicator(s): {', '.join(unknown)}.")
    # A prefetch read with this memory limit and spill folder already (DuckDB keeps its spill folder).
    taken = prefetch.take(path, names, memory_limit, temp_directory) if prefetch is not None else None
    connection = taken[0] if taken else private_connection(memory_limit=memory_limit, temp_directory=temp_directory)
    try:
        if taken:
            report = taken[1]
        else:
            report = flatten_file(connection, path, tables=names, processes_view=True, workers=workers)
        timings["flatten"] = time.perf_counter() - started
        started = time.perf_counter()
        cached_path = None
        plan = None
        if plan_cache is not None:
            cached_path = Path(plan_cache) / f"{plan_key(connection, settings, codes, names)}.json"
            plan = _plan_read(cached_path)
        if plan is not None:
            results = plan_replay(connection, plan, workers=workers)
            used = "cached"
        else:
            results, plan = plan_record(connection, settings, codes, names)
            used = "ibis"
            if cached_path is not None and plan.replayable:
                _plan_write(cached_path, plan)
        timings["indicators"] = time.perf_counter() - started
    finally:
        connection.close()
    return IndicatorRun(results=results, codes=codes, flatten=report, timings=timings, plan=used)
