"""Reads for the procurement pages and API: processes, their indicator results, profiles, ingest runs.

Everything analytical is read from the warehouse with Ibis, so the filters, sorting, counting and
paging run in the engine (``LIMIT``/``OFFSET``), never as Python loops over all processes:

* ``procurement_processes``, ``procurement_award_suppliers``, ``procurement_bids`` … — P2's flattened
  tables (``probity.procurement.tables``);
* the indicator matrix and the risk scores written by ``probity.procurement.results`` (one row per
  process × indicator: outcome flag / pass / not_applicable, the reason, the value and the evidence;
  scores per process, buyer and supplier with their coverage). Their table and column names are read
  from that module when it is importable, else the names below are used; a missing table simply
  leaves its part of a page empty, with a sentence saying which command fills it;
* ``ocds_ingest_run``, ``ocds_ingest_rejection`` and ``ocds_compiled_release`` written by the ingest.

Indicator findings stored as core ``Finding`` rows (subject type ``process``, subject id = OCID) are
read too: they carry the translated explanation of each flag.

Other modules read procurement data only through this module: the compiled releases
(``compiled_releases_iter``), the parties of each process (``procurement_parties``, ``PARTY_COLUMNS``)
and which procurement tables the warehouse has (``procurement_tables_missing``). The detectors read
their inputs here too (``indicator_frame``, ``cardinal_outcome_frame``, and ``cached_frame``: what the
detect run computing them has just computed).
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from probity.core.detectors import detector_registry
from probity.core.models import Finding
from probity.procurement.coverage import indicator_requirements
from probity.procurement.indicators import indicators
from probity.procurement.indicators.base import ProcurementTables
from probity.procurement.indicators.beyond import INDICATORS, Inputs, indicator_expression
from probity.procurement.indicators.beyond_inputs import TABLES as INPUT_TABLES
from probity.procurement.indicators.beyond_inputs import read_releases as read_releases  # offered to other modules
from probity.procurement.indicators.cardinal import PROCESS_OUTCOME_CODES
from probity.procurement.indicators.run import execute_results, needed_tables, warehouse_tables
from probity.procurement.indicators.settings import IndicatorSettings
from probity.procurement.ingest import COMPILED_TABLE, REJECTION_TABLE, RUN_TABLE, ocds_connection, ocds_tables_create
from probity.procurement.models import Debarment
from probity.procurement.results import BUYER_SCORES_TABLE, PROCESS_SCORES_TABLE, RESULTS_TABLE, SUPPLIER_SCORES_TABLE
from probity.procurement.tables import TABLES as TABLES  # offered to other modules
from probity.procurement.tables import warehouse_name
from probity.warehouse.models import WarehouseTable
from probity.warehouse.services import Warehouse, warehouse_connect, warehouse_connection

# Ibis and pandas are imported where an expression is built or a frame read, not when this module is
# (at start-up, through the detectors): they take a fifth and a third of a second.
if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

logger = logging.getLogger(__name__)

PROCESSES = warehouse_name("processes")
AWARDS = warehouse_name("awards")
AWARD_SUPPLIERS = warehouse_name("award_suppliers")
BIDS = warehouse_name("bids")
BID_TENDERERS = warehouse_name("bid_tenderers")
CONTRACTS = warehouse_name("contracts")
PARTIES = warehouse_name("parties")
INGEST_RUNS = RUN_TABLE
INGEST_REJECTIONS = REJECTION_TABLE
# Who a party of a process is: what other modules read of ``procurement_parties`` to link parties to
# their own records (``procurement_parties`` reads these, and the columns a caller adds).
PARTY_COLUMNS = ("ocid", "party_id", "name", "roles", "identifier_scheme", "identifier_id")

# The results of the indicators, as ``probity.procurement.results`` writes them.
RESULT_TABLES = {
    "results": RESULTS_TABLE,
    "process_scores": PROCESS_SCORES_TABLE,
    "buyer_scores": BUYER_SCORES_TABLE,
    "supplier_scores": SUPPLIER_SCORES_TABLE,
}
RISK_AWARDS = "procurement_risk_awards"  # maps an award's supplier id to the supplier key of the scores

SORTS = {
    "date": ("process_date", True),
    "-date": ("process_date", False),
    "value": ("tender_value_amount", True),
    "-value": ("tender_value_amount", False),
    "score": ("score", True),
    "-score": ("score", False),
    "ocid": ("ocid", True),
    "buyer": ("buyer_name", True),
}
DEFAULT_SORT = "-score"
OUTCOMES = ("flag", "pass", "not_applicable")
# Cardinal's indicators give a value for the subjects they flag, and nothing for the others.
CARDINAL_FLAG_MESSAGE = gettext_noop("Cardinal's indicator flagged this process; its value is %(value)s.")


def result_table_names() -> dict[str, str]:
    """Warehouse names of the results tables, as ``probity.procurement.results`` declares them."""
    return dict(RESULT_TABLES)


@contextmanager
def _warehouse() -> Iterator[Warehouse | None]:
    """A read-only connection, or ``None`` when the warehouse cannot be reached (pages then say so)."""
    try:
        warehouse = warehouse_connect(read_only=True)
    except Exception as exc:  # no file yet, or a writer holds the lock: the page shows "no data"
        logger.info("procurement pages cannot open the warehouse: %s", exc)
        yield None
        return
    try:
        yield warehouse
    finally:
        warehouse.close()


# --- what other modules read -------------------------------------------------------------------------


def procurement_tables_missing(*, warehouse: Warehouse, tables: Iterable[str]) -> list[str]:
    """The warehouse names of the procurement tables (``tables``: their short names, e.g. ``"parties"``)
    that ``warehouse`` does not have."""
    present = set(warehouse.list_tables())
    return [warehouse_name(table) for table in tables if warehouse_name(table) not in present]


def procurement_parties(*, warehouse: Warehouse, columns: Sequence[str] = ()) -> pd.DataFrame:
    """The parties of every contracting process (``procurement_parties``, one row per party of a
    release): ``PARTY_COLUMNS``, then those of ``columns`` the table has (address, contact point …)."""
    table = warehouse.table(PARTIES)
    extra = [column for column in columns if column in table.columns and column not in PARTY_COLUMNS]
    return warehouse.execute(table.select(*PARTY_COLUMNS, *extra))


def procurement_frame(*, warehouse: Warehouse, table: str, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of the procurement table ``table`` (its short name, e.g. ``"award_suppliers"``)."""
    return warehouse.execute(warehouse.table(warehouse_name(table)).select(*columns))


def compiled_releases_available(*, warehouse: Warehouse) -> bool:
    """Whether ``warehouse`` keeps compiled releases (a DuckDB warehouse the ingest wrote to)."""
    return warehouse.engine == "duckdb" and COMPILED_TABLE in warehouse.list_tables()


def compiled_releases_iter(*, ocids: Iterable[str] | None = None, batch_size: int = 1_000) -> Iterator[dict[str, Any]]:
    """Compiled releases from ``ocds_compiled_release`` as dicts, ordered by ocid, read in batches."""
    wanted = list(ocids) if ocids is not None else None
    with warehouse_connection() as warehouse:
        con = ocds_connection(warehouse)
        ocds_tables_create(con)
        last = ""
        while True:
            if wanted is None:
                rows = con.execute(
                    f"SELECT ocid, compiled_release::VARCHAR FROM {COMPILED_TABLE} "  # noqa: S608
                    "WHERE ocid > ? ORDER BY ocid LIMIT ?",
                    [last, batch_size],
                ).fetchall()
            else:
                rows = con.execute(
                    f"SELECT ocid, compiled_release::VARCHAR FROM {COMPILED_TABLE} "  # noqa: S608
                    "WHERE ocid > ? AND ocid IN (SELECT unnest(?)) ORDER BY ocid LIMIT ?",
                    [last, wanted, batch_size],
                ).fetchall()
            if not rows:
                return
            for _ocid, text in rows:
                yield json.loads(text)
            last = rows[-1][0]


def compiled_releases_write(*, path: Path) -> int:
    """Writes every compiled release to ``path`` as JSON Lines (gzip if the name ends in .gz); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as handle:
        for compiled in compiled_releases_iter():
            handle.write(json.dumps(compiled, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count


# --- the detectors' inputs ---------------------------------------------------------------------------

# Frames ``services.procurement_detect`` has just computed, by indicator code with the parameters they
# used: the detectors' ``evaluate`` in the same run reads them instead of computing them again.
_RUN_FRAMES: dict[str, tuple[dict[str, Any], pd.DataFrame]] = {}


@contextmanager
def run_frames() -> Iterator[dict[str, tuple[dict[str, Any], pd.DataFrame]]]:
    """The frames of one detect run, to fill (``code → (parameters, frame)``); forgotten when it ends."""
    try:
        yield _RUN_FRAMES
    finally:
        _RUN_FRAMES.clear()


def cached_frame(*, code: str, params: Mapping[str, Any]) -> pd.DataFrame | None:
    """The frame the current detect run computed for ``code`` with ``params``, if any."""
    cached = _RUN_FRAMES.get(code)
    if cached is not None and cached[0] == dict(params):
        return cached[1]
    return None


def read_inputs(*, warehouse: Warehouse) -> Inputs:
    """The beyond-Cardinal indicators' input tables of the warehouse; ``LookupError`` when one is missing."""
    missing = [t for t in INPUT_TABLES.values() if t not in warehouse.list_tables()]
    if missing:
        raise LookupError(
            f"The warehouse has no {', '.join(missing)}: run `probity procurement detect FILE` with a file "
            "of compiled releases first."
        )
    return Inputs(**{name: warehouse.table(table) for name, table in INPUT_TABLES.items()})


def indicator_frame(*, warehouse: Warehouse, code: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One indicator's per-process results (``RESULT_COLUMNS`` + evidence columns), sorted by OCID."""
    return warehouse.execute(indicator_expression(INDICATORS[code], read_inputs(warehouse=warehouse), params))


def cardinal_outcome_frame(
    *,
    warehouse: Warehouse,
    code: str,
    settings: IndicatorSettings | None = None,
    tables: ProcurementTables | None = None,
) -> pd.DataFrame:
    """One Cardinal indicator's ``outcomes`` on the warehouse's flattened ``procurement_*`` tables:
    one row per process (flag / pass / not_applicable, reason, ``evidence_*``), sorted by OCID."""
    settings = settings or IndicatorSettings.defaults(list(PROCESS_OUTCOME_CODES))
    if tables is None:
        tables = warehouse_tables(warehouse, needed_tables([code]))
    expression = indicators()[code]().outcomes(tables, settings).order_by("subject_id")
    return warehouse.execute(expression)


class _Catalogue:
    """The tables one connection has, looked up once."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.names = set(warehouse.list_tables())

    def has(self, name: str) -> bool:
        return name in self.names

    def table(self, name: str) -> ir.Table | None:
        return self.warehouse.table(name) if name in self.names else None


def _col(table: ir.Table, *candidates: str) -> str | None:
    return next((name for name in candidates if name in table.columns), None)


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows of a pandas frame as dicts, with missing values as ``None``."""
    rows = []
    for row in frame.to_dict("records"):
        rows.append({key: _clean(value) for key, value in row.items()})
    return rows


def _scalar(warehouse: Warehouse, expr: ir.Expr) -> Any:
    """The value of a scalar expression (``Warehouse.execute`` gives a one-row frame)."""
    frame = warehouse.execute(expr)
    return _clean(frame.iat[0, 0]) if len(frame) else None


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return value.tolist()
    try:
        import pandas as pd  # not imported at start-up (a third of a second); the frames here come from it

        if value is pd.NaT or (not isinstance(value, list | dict | str) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    except (TypeError, ValueError):
        pass
    return value


# --- the process list --------------------------------------------------------------------------


@dataclass
class ProcessFilters:
    flag: str = ""  # an indicator code: processes it flagged
    buyer: str = ""  # a buyer id, or part of a buyer name
    supplier: str = ""  # a supplier id, or part of a supplier name
    date_from: date | None = None
    date_to: date | None = None
    score_min: float | None = None
    score_max: float | None = None
    sort: str = DEFAULT_SORT


@dataclass
class ProcessPage:
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    available: bool = True  # False: the processes table does not exist yet
    has_scores: bool = False

    @property
    def page_number(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.limit)) if self.limit else 1


def _process_date(processes: ir.Table) -> ir.Value:
    """The date of a process as ``YYYY-MM-DD`` text: tender publication, else tender start, else release date."""
    import ibis

    return ibis.coalesce(processes.tender_date_published, processes.tender_period_start_date, processes.date).substr(
        0, 10
    )


def _flagged_ocids(catalogue: _Catalogue, code: str) -> ir.Table | None:
    """OCIDs of the processes an indicator flagged: from the matrix when there is one."""
    results = catalogue.table(result_table_names()["results"])
    if results is None:
        return None
    ocid = _col(results, "ocid", "subject_id")
    code_col = _col(results, "code", "indicator", "indicator_code")
    outcome = _col(results, "outcome", "result")
    if not (ocid and code_col and outcome):
        return None
    selection = results.filter((results[code_col] == code) & (results[outcome] == "flag"))
    if "subject_type" in results.columns:
        selection = selection.filter(selection.subject_type == "process")
    return selection.select(ocid=selection[ocid]).distinct()


def _finding_flagged_ocids(code: str, limit: int = 100_000) -> list[str]:
    return list(
        Finding.objects.filter(detector_code=code, subject_type="process", outcome="flag")
        .values_list("subject_id", flat=True)
        .distinct()[:limit]
    )


def _process_scores(catalogue: _Catalogue) -> ir.Table | None:
    scores = catalogue.table(result_table_names()["process_scores"])
    if scores is None:
        return None
    ocid = _col(scores, "ocid", "subject_id")
    score = _col(scores, "score", "risk_score")
    if not (ocid and score):
        return None
    columns = {"score_ocid": scores[ocid], "score": scores[score].cast("float64")}
    coverage = _col(scores, "coverage")
    if coverage:
        columns["coverage"] = scores[coverage].cast("float64")
    flags = _col(scores, "flagged", "flags", "flag_count")
    if flags:
        columns["flag_count"] = scores[flags].cast("int64")
    return scores.select(**columns)


def process_list(*, filters: ProcessFilters, offset: int = 0, limit: int = 50) -> ProcessPage:
    """One page of processes matching ``filters``, sorted, with the total and per-flag counts."""
    with _warehouse() as warehouse:
        if warehouse is None or PROCESSES not in (catalogue := _Catalogue(warehouse)).names:
            return ProcessPage([], 0, offset, limit, available=False)
        processes = catalogue.warehouse.table(PROCESSES)
        expr = processes.mutate(process_date=_process_date(processes))
        if filters.buyer:
            needle = filters.buyer.strip()
            expr = expr.filter((expr.buyer_id == needle) | expr.buyer_name.ilike(f"%{_like(needle)}%"))
        if filters.supplier and catalogue.has(AWARD_SUPPLIERS):
            suppliers = catalogue.warehouse.table(AWARD_SUPPLIERS)
            needle = filters.supplier.strip()
            matching = (
                suppliers.filter(
                    (suppliers.supplier_id == needle) | suppliers.supplier_name.ilike(f"%{_like(needle)}%")
                )
                .select(supplier_ocid=suppliers.ocid)
                .distinct()
            )
            expr = expr.semi_join(matching, expr.ocid == matching.supplier_ocid)
        elif filters.supplier:
            expr = expr.filter(expr.ocid.isnull())  # no supplier table: nothing can match
        cardinal = _cardinal_flags(catalogue) if filters.flag else {}
        if filters.flag and filters.flag in cardinal:
            expr = expr.filter(expr.ocid.isin(list(cardinal[filters.flag]) or ["\x00"]))
        elif filters.flag:
            flagged = _flagged_ocids(catalogue, filters.flag)
            if flagged is not None:
                expr = expr.semi_join(flagged, expr.ocid == flagged.ocid)
            else:
                expr = expr.filter(expr.ocid.isin(_finding_flagged_ocids(filters.flag) or ["\x00"]))
        if filters.date_from:
            expr = expr.filter(expr.process_date >= filters.date_from.isoformat())
        if filters.date_to:
            expr = expr.filter(expr.process_date <= filters.date_to.isoformat())
        scores = _process_scores(catalogue)
        by_score = filters.score_min is not None or filters.score_max is not None
        # Without a score filter the join cannot change the count (one score row per process): count first.
        total = None if by_score else int(_scalar(catalogue.warehouse, expr.count()) or 0)
        if scores is not None:
            expr = expr.left_join(scores, expr.ocid == scores.score_ocid).drop("score_ocid")
        else:
            import ibis

            expr = expr.mutate(score=ibis.null("float64"))
        if filters.score_min is not None:
            expr = expr.filter(expr.score >= filters.score_min)
        if filters.score_max is not None:
            expr = expr.filter(expr.score <= filters.score_max)
        if total is None:
            total = int(_scalar(catalogue.warehouse, expr.count()) or 0)
        column, ascending = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
        key = expr[column].asc(nulls_first=False) if ascending else expr[column].desc(nulls_first=False)
        wanted = [
            name
            for name in (
                "ocid",
                "process_date",
                "tender_title",
                "buyer_id",
                "buyer_name",
                "procurement_method",
                "procurement_method_details",
                "tender_status",
                "tender_value_amount",
                "tender_value_currency",
                "number_of_tenderers",
                "bid_count",
                "award_count",
                "score",
                "coverage",
                "flag_count",
            )
            if name in expr.columns
        ]
        page = expr.order_by([key, expr.ocid.asc()]).select(wanted).limit(limit, offset=offset)
        rows = _records(catalogue.warehouse.execute(page))
        _attach_flags(catalogue, rows)
        return ProcessPage(rows, total, offset, limit, has_scores=scores is not None)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _attach_flags(catalogue: _Catalogue, rows: list[dict[str, Any]]) -> None:
    """Adds to each row the codes of the indicators that flagged it (one query for the page)."""
    ocids = [row["ocid"] for row in rows]
    flags: dict[str, set[str]] = {ocid: set() for ocid in ocids}
    results = catalogue.table(result_table_names()["results"])
    ocid_col = _col(results, "ocid", "subject_id") if results is not None else None
    code_col = _col(results, "code", "indicator", "indicator_code") if results is not None else None
    outcome_col = _col(results, "outcome", "result") if results is not None else None
    if results is not None and ocid_col and code_col and outcome_col and ocids:
        query = results.filter(results[ocid_col].isin(ocids) & (results[outcome_col] == "flag"))
        frame = catalogue.warehouse.execute(query.select(ocid=query[ocid_col], code=query[code_col]))
        for ocid, code in zip(frame["ocid"], frame["code"], strict=True):
            flags.setdefault(str(ocid), set()).add(str(code))
    if ocids:
        for ocid, code in Finding.objects.filter(
            subject_type="process", subject_id__in=ocids, outcome="flag"
        ).values_list("subject_id", "detector_code"):
            flags.setdefault(ocid, set()).add(code)
    for code, flagged in _cardinal_flags(catalogue).items():
        for ocid in ocids:
            if ocid in flagged:
                flags.setdefault(ocid, set()).add(code)
    for row in rows:
        row["flags"] = sorted(flags.get(row["ocid"], ()))


# Cardinal's results on the warehouse tables, per warehouse state: code → {ocid: value}.
_CARDINAL_CACHE: dict[tuple[Any, ...], dict[str, dict[str, float]]] = {}


def _warehouse_state(catalogue: _Catalogue) -> tuple[Any, ...]:
    """Changes whenever the procurement tables may have changed: the file's size and time, the catalogue."""
    location = str(getattr(catalogue.warehouse, "location", ""))
    try:
        stat = os.stat(location)
        file_state: tuple[Any, ...] = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        file_state = ()
    refreshed = WarehouseTable.objects.filter(name=PROCESSES).values_list("refreshed_at", flat=True).first()
    return (location, *file_state, refreshed)


def _cardinal_flags(catalogue: _Catalogue) -> dict[str, dict[str, float]]:
    """Cardinal's indicators (P2's ``indicators`` package) on the warehouse tables: code → {ocid: value}.

    Cardinal reports flags only (no pass / not applicable), for processes, buyers and tenderers; the
    pages show the process flags. Computed once per state of the warehouse and kept in memory, so the
    first page after an ingest pays for one run of the eleven indicators. Failures leave them out.
    """
    codes = [code for code, cls in indicators().items() if getattr(cls, "cardinal", False)]
    names = needed_tables(codes) if codes else []
    if not codes or not all(catalogue.has(warehouse_name(name)) for name in names):
        return {}
    state = _warehouse_state(catalogue)
    if state not in _CARDINAL_CACHE:
        try:
            tables = warehouse_tables(catalogue.warehouse, names, materialize=False)
            results = execute_results(catalogue.warehouse, tables, IndicatorSettings.defaults(codes), codes)
        except Exception as exc:  # the page must show the other indicators, not fail
            logger.warning("Cardinal's indicators could not run for the procurement pages: %s", exc)
            return {}
        by_code: dict[str, dict[str, float]] = {}
        for ocid, values in results.get("OCID", {}).items():
            for code, value in values.items():
                by_code.setdefault(str(code), {})[str(ocid)] = float(value)
        _CARDINAL_CACHE.clear()
        _CARDINAL_CACHE[state] = by_code
    return _CARDINAL_CACHE[state]


def flag_codes() -> list[tuple[str, str]]:
    """(code, title) of every procurement indicator, for the flag filter."""
    return [(indicator.code, indicator.title) for indicator in indicator_requirements()]


# --- one process -------------------------------------------------------------------------------


@dataclass
class IndicatorOutcome:
    code: str
    title: str
    description: str
    outcome: str  # flag, pass, not_applicable
    reason: str
    explanation: str
    value: Any
    evidence: dict[str, Any]
    finding_id: int | None = None
    reason_text: str = ""  # the reason in the reader's language (set by the view)
    reason_detail: str = ""  # the technical part of the reason: a field path, a method


@dataclass
class ProcessDetail:
    ocid: str
    process: dict[str, Any]
    awards: list[dict[str, Any]]
    suppliers: list[dict[str, Any]]
    bids: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    outcomes: list[IndicatorOutcome]
    score: float | None = None
    coverage: float | None = None

    @property
    def flags(self) -> list[IndicatorOutcome]:
        return [outcome for outcome in self.outcomes if outcome.outcome == "flag"]

    @property
    def flag_count(self) -> int:
        return sum(1 for item in self.outcomes if item.outcome == "flag")

    @property
    def pass_count(self) -> int:
        return sum(1 for item in self.outcomes if item.outcome == "pass")

    @property
    def not_applicable_count(self) -> int:
        return sum(1 for item in self.outcomes if item.outcome == "not_applicable")


def _rows(catalogue: _Catalogue, name: str, ocid: str, order: str) -> list[dict[str, Any]]:
    table = catalogue.table(name)
    if table is None:
        return []
    query = table.filter(table.ocid == ocid)
    if order in table.columns:
        query = query.order_by(order)
    return _records(catalogue.warehouse.execute(query))


def _evidence(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str | bytes) and value:
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"text": value}
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return {}


def process_detail(*, ocid: str) -> ProcessDetail | None:
    """A process with its bids, awards, suppliers, contracts, every indicator's outcome and its score."""
    with _warehouse() as warehouse:
        if warehouse is None:
            return None
        catalogue = _Catalogue(warehouse)
        process_rows = _rows(catalogue, PROCESSES, ocid, "ocid")
        if not process_rows:
            return None
        detail = ProcessDetail(
            ocid=ocid,
            process=process_rows[0],
            awards=_rows(catalogue, AWARDS, ocid, "award_index"),
            suppliers=_rows(catalogue, AWARD_SUPPLIERS, ocid, "award_index"),
            bids=_rows(catalogue, BIDS, ocid, "bid_index"),
            contracts=_rows(catalogue, CONTRACTS, ocid, "contract_index"),
            outcomes=[],
        )
        tenderers: dict[int, list[str]] = {}
        for row in _rows(catalogue, BID_TENDERERS, ocid, "bid_index"):
            name = row.get("tenderer_name") or row.get("tenderer_id") or ""
            tenderers.setdefault(row.get("bid_index") or 0, []).append(name)
        for bid in detail.bids:
            bid["tenderers"] = tenderers.get(bid.get("bid_index") or 0, [])
        scores = _process_scores(catalogue)
        if scores is not None:
            frame = catalogue.warehouse.execute(scores.filter(scores.score_ocid == ocid).limit(1))
            if not frame.empty:
                row = _records(frame)[0]
                detail.score, detail.coverage = row.get("score"), row.get("coverage")
        matrix: dict[str, dict[str, Any]] = {}
        results = catalogue.table(result_table_names()["results"])
        ocid_col = _col(results, "ocid", "subject_id") if results is not None else None
        if results is not None and ocid_col:
            query = results.filter(results[ocid_col] == ocid)
            if "subject_type" in results.columns:
                query = query.filter(query.subject_type == "process")
            for row in _records(catalogue.warehouse.execute(query)):
                code = str(row.get("code") or row.get("indicator") or row.get("indicator_code") or "")
                if code:
                    matrix[code] = row
        for code, flagged in _cardinal_flags(catalogue).items():
            if ocid in flagged and code not in matrix:
                matrix[code] = {
                    "outcome": "flag",
                    "value": flagged[ocid],
                    "evidence": {},
                    "message": CARDINAL_FLAG_MESSAGE,
                    "message_params": {"value": round(flagged[ocid], 4)},
                }
    registry = detector_registry()
    findings = {
        finding.detector_code: finding
        for finding in Finding.objects.filter(subject_type="process", subject_id=ocid).order_by("created_at")
    }  # the latest finding per detector wins
    titles = dict(flag_codes())
    for code in sorted(set(matrix) | set(findings)):
        row = matrix.get(code, {})
        finding = findings.get(code)
        detector = registry.get(code)
        evidence = _evidence(row.get("evidence")) or (finding.evidence if finding else {})
        outcome = str(row.get("outcome") or row.get("result") or (finding.outcome if finding else "not_applicable"))
        reason = str(row.get("reason") or evidence.get("reason") or "")
        explanation = finding.localized_explanation if finding else ""
        message = row.get("message")
        if not explanation and message:
            params = _evidence(row.get("message_params") or row.get("params"))
            try:
                explanation = gettext(str(message)) % params if params else gettext(str(message))
            except (KeyError, TypeError, ValueError):
                explanation = str(message)
        detail.outcomes.append(
            IndicatorOutcome(
                code=code,
                title=str(detector.title) if detector else titles.get(code, code),
                description=str(detector.description) if detector else "",
                outcome=outcome if outcome in OUTCOMES else "not_applicable",
                reason=reason,
                explanation=explanation,
                value=row.get("value"),
                evidence={key: value for key, value in evidence.items() if key != "reason"},
                finding_id=finding.pk if finding else None,
            )
        )
    order = {"flag": 0, "not_applicable": 2, "pass": 1}
    detail.outcomes.sort(key=lambda item: (order[item.outcome], item.code))
    if detail.score is None and detail.outcomes:
        judged = [item for item in detail.outcomes if item.outcome != "not_applicable"]
        if judged:  # the mean of the available components, as the GTI index does
            detail.score = sum(item.outcome == "flag" for item in judged) / len(judged)
            detail.coverage = len(judged) / len(detail.outcomes)
    return detail


# --- buyer and supplier profiles ---------------------------------------------------------------


@dataclass
class YearScore:
    year: int
    score: float | None
    processes: int
    flags: int = 0


@dataclass
class Profile:
    kind: str  # buyer or supplier
    key: str
    name: str
    processes: int
    total_value: float | None
    score: float | None
    coverage: float | None
    years: list[YearScore]
    recent: list[dict[str, Any]]
    flag_counts: list[tuple[str, int]]


def _score_years(catalogue: _Catalogue, kind: str, key: str) -> tuple[list[YearScore], float | None, float | None]:
    table = catalogue.table(result_table_names()[f"{kind}_scores"])
    if table is None:
        return [], None, None
    key_col = _col(table, f"{kind}_key", f"{kind}_id", "subject_id", "key", "id")
    score_col = _col(table, "score", "risk_score")
    if not (key_col and score_col):
        return [], None, None
    keys = _score_keys(catalogue, kind, [key])[key]
    rows = _records(catalogue.warehouse.execute(table.filter(table[key_col].isin(keys))))
    years: list[YearScore] = []
    overall: float | None = None
    coverage: float | None = None
    for row in rows:
        year = row.get("year")
        if year is None or (isinstance(year, str) and not year.isdigit()):
            overall = row.get(score_col)
            coverage = row.get("coverage")
            continue
        processes = int(row.get("processes") or row.get("process_count") or 0)
        years.append(
            YearScore(int(year), row.get(score_col), processes, int(row.get("flags") or row.get("flag_count") or 0))
        )
    years.sort(key=lambda item: item.year)
    if overall is None and years:
        weighted = [(item.score, item.processes or 1) for item in years if item.score is not None]
        if weighted:
            overall = sum(score * weight for score, weight in weighted) / sum(weight for _s, weight in weighted)
    if coverage is None and rows:
        values = [row["coverage"] for row in rows if row.get("coverage") is not None]
        coverage = sum(values) / len(values) if values else None
    return years, overall, coverage


def _score_keys(catalogue: _Catalogue, kind: str, keys: list[str]) -> dict[str, list[str]]:
    """The keys under which the scores know each buyer or supplier.

    Buyers are scored by ``buyer_id``; suppliers by a ``supplier_key`` (their identifier where the data
    gives one, else the party id), which ``procurement_risk_awards`` maps from the award's supplier id.
    """
    found: dict[str, list[str]] = {key: [key] for key in keys}
    awards = catalogue.table(RISK_AWARDS) if kind == "supplier" else None
    if awards is None or not {"supplier_id", "supplier_key"} <= set(awards.columns) or not keys:
        return found
    pairs = awards.filter(awards.supplier_id.isin(keys)).select("supplier_id", "supplier_key").distinct()
    for supplier_id, supplier_key in catalogue.warehouse.execute(pairs).itertuples(index=False):
        if supplier_key is not None and supplier_key not in found.setdefault(str(supplier_id), []):
            found[str(supplier_id)].append(str(supplier_key))
    return found


def _year_expr(processes: ir.Table) -> ir.Value:
    return _process_date(processes).substr(0, 4)


def profile(*, kind: str, key: str) -> Profile | None:
    """A buyer's or supplier's processes, value, scores by year and most frequent flags."""
    if kind not in {"buyer", "supplier"}:
        raise ValueError(f"unknown profile kind {kind!r}")
    with _warehouse() as warehouse:
        if warehouse is None:
            return None
        catalogue = _Catalogue(warehouse)
        processes = catalogue.table(PROCESSES)
        if processes is None:
            return None
        if kind == "buyer":
            mine = processes.filter(processes.buyer_id == key)
            name_frame = warehouse.execute(mine.select("buyer_name").limit(1))
        else:
            suppliers = catalogue.table(AWARD_SUPPLIERS)
            if suppliers is None:
                return None
            matching = suppliers.filter(suppliers.supplier_id == key)
            name_frame = warehouse.execute(matching.select("supplier_name").limit(1))
            ocids = matching.select(supplier_ocid=matching.ocid).distinct()
            mine = processes.semi_join(ocids, processes.ocid == ocids.supplier_ocid)
        if name_frame.empty:
            return None
        name = str(_clean(name_frame.iloc[0, 0]) or key)
        mine = mine.mutate(process_date=_process_date(mine))
        count = int(_scalar(warehouse, mine.count()) or 0)
        total_value = _scalar(warehouse, mine.tender_value_amount.sum())
        years, score, coverage = _score_years(catalogue, kind, key)
        scores = _process_scores(catalogue)
        if scores is not None:
            joined = mine.left_join(scores, mine.ocid == scores.score_ocid)
        else:
            import ibis

            joined = mine.mutate(score=ibis.null("float64"))
        recent_query = joined.order_by([joined.process_date.desc(nulls_first=False), joined.ocid]).limit(20)
        recent = _records(
            warehouse.execute(
                recent_query.select(
                    [
                        c
                        for c in (
                            "ocid",
                            "process_date",
                            "tender_title",
                            "buyer_id",
                            "buyer_name",
                            "procurement_method",
                            "tender_value_amount",
                            "tender_value_currency",
                            "score",
                        )
                        if c in recent_query.columns
                    ]
                )
            )
        )
        _attach_flags(catalogue, recent)
        if not years:
            dated = joined.mutate(year=_year_expr(joined))
            per_year = (
                dated.group_by("year").aggregate(processes=dated.count(), score=dated.score.mean()).order_by("year")
            )
            for row in _records(warehouse.execute(per_year)):
                if row.get("year") and str(row["year"]).isdigit():
                    years.append(YearScore(int(row["year"]), row.get("score"), int(row["processes"])))
        flag_counts = _flag_counts(catalogue, mine)
        if score is None:
            known = [item for item in years if item.score is not None]
            if known:
                score = sum(item.score * item.processes for item in known if item.score is not None) / max(
                    1, sum(item.processes for item in known)
                )
    return Profile(kind, key, name, count, total_value, score, coverage, years, recent, flag_counts)


def _flag_counts(catalogue: _Catalogue, processes: ir.Table) -> list[tuple[str, int]]:
    results = catalogue.table(result_table_names()["results"])
    if results is None:
        return []
    ocid_col = _col(results, "ocid", "subject_id")
    code_col = _col(results, "code", "indicator", "indicator_code")
    outcome_col = _col(results, "outcome", "result")
    if not (ocid_col and code_col and outcome_col):
        return []
    flagged = results.filter(results[outcome_col] == "flag")
    ocids = processes.select(profile_ocid=processes.ocid)
    flagged = flagged.semi_join(ocids, flagged[ocid_col] == ocids.profile_ocid)
    counts = flagged.group_by(code=flagged[code_col]).aggregate(n=flagged.count()).order_by([_ibis_desc("n"), "code"])
    frame = catalogue.warehouse.execute(counts)
    return [(str(code), int(n)) for code, n in zip(frame["code"], frame["n"], strict=True)]


def _ibis_desc(name: str) -> Any:
    import ibis

    return ibis.desc(name)


@dataclass
class PartyRow:
    key: str
    name: str
    processes: int
    score: float | None = None


def party_list(*, kind: str, query: str = "", offset: int = 0, limit: int = 50) -> tuple[list[PartyRow], int]:
    """Buyers or suppliers with their number of processes, largest first; filtered by id or name."""
    with _warehouse() as warehouse:
        if warehouse is None:
            return [], 0
        catalogue = _Catalogue(warehouse)
        if kind == "buyer":
            table = catalogue.table(PROCESSES)
            if table is None:
                return [], 0
            expr = table.filter(table.buyer_id.notnull()).select(
                key=table.buyer_id, name=table.buyer_name, ocid=table.ocid
            )
        else:
            table = catalogue.table(AWARD_SUPPLIERS)
            if table is None:
                return [], 0
            expr = table.filter(table.supplier_id.notnull()).select(
                key=table.supplier_id, name=table.supplier_name, ocid=table.ocid
            )
        if query:
            expr = expr.filter((expr.key == query) | expr.name.ilike(f"%{_like(query)}%"))
        grouped = expr.group_by("key").aggregate(name=expr.name.max(), processes=expr.ocid.nunique())
        total = int(_scalar(warehouse, grouped.count()) or 0)
        page = grouped.order_by([grouped.processes.desc(), grouped.key]).limit(limit, offset=offset)
        rows = [
            PartyRow(str(r["key"]), str(r["name"] or r["key"]), int(r["processes"]))
            for r in _records(warehouse.execute(page))
        ]
        score_table = catalogue.table(result_table_names()[f"{kind}_scores"])
        if score_table is not None and rows:
            key_col = _col(score_table, f"{kind}_key", f"{kind}_id", "subject_id", "key", "id")
            score_col = _col(score_table, "score", "risk_score")
            if key_col and score_col:
                keys = _score_keys(catalogue, kind, [row.key for row in rows])
                selection = score_table.filter(score_table[key_col].isin([k for ks in keys.values() for k in ks]))
                if "year" in score_table.columns:
                    selection = selection.filter(selection.year.isnull())  # the all-years row
                grouped_scores = selection.group_by(key=selection[key_col]).aggregate(score=selection[score_col].mean())
                found = {str(k): _clean(v) for k, v in warehouse.execute(grouped_scores).itertuples(index=False)}
                for row in rows:
                    values = [found[k] for k in keys.get(row.key, [row.key]) if found.get(k) is not None]
                    row.score = values[0] if values else None
        return rows, total


# --- ingest runs -------------------------------------------------------------------------------


def ingest_runs(*, limit: int = 50) -> list[dict[str, Any]]:
    """The latest ingest runs, newest first (whatever columns the ingest keeps)."""
    with _warehouse() as warehouse:
        if warehouse is None:
            return []
        catalogue = _Catalogue(warehouse)
        runs = catalogue.table(INGEST_RUNS)
        if runs is None:
            return []
        order = _col(runs, "started_at", "started", "created_at", "run_id", "id")
        query = runs.order_by(runs[order].desc()) if order else runs
        return _records(warehouse.execute(query.limit(limit)))


def ingest_rejections(
    *, run_id: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """Rejected records (file, line or position, OCID, reason), for one run or all."""
    with _warehouse() as warehouse:
        if warehouse is None:
            return [], 0
        catalogue = _Catalogue(warehouse)
        rejections = catalogue.table(INGEST_REJECTIONS)
        if rejections is None:
            return [], 0
        run_col = _col(rejections, "run_id", "run")
        if run_id and run_col:
            rejections = rejections.filter(rejections[run_col].cast("string") == run_id)
        total = int(_scalar(warehouse, rejections.count()) or 0)
        if "payload" in rejections.columns:  # the rejected text itself: shown by the CLI export, not here
            rejections = rejections.drop("payload")
        order = [
            name for name in (run_col, "file", "source_file", "line", "position") if name and name in rejections.columns
        ]
        query = rejections.order_by(order) if order else rejections
        return _records(warehouse.execute(query.limit(limit, offset=offset))), total


def columns_of(*, rows: Sequence[dict[str, Any]]) -> list[str]:
    """The column names of a list of row dicts, in first-seen order."""
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    return names


# --- debarments --------------------------------------------------------------------------------


def debarment_list(*, query: str = "", current_only: bool = False) -> QuerySet[Debarment]:
    """The debarment register, searchable by name or authority; ``current_only`` keeps those in force today."""
    queryset = Debarment.objects.select_related("organisation").order_by("name", "start_date", "id")
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(authority__icontains=query))
    if current_only:
        today = timezone.localdate()
        queryset = queryset.filter(Q(start_date__isnull=True) | Q(start_date__lte=today)).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=today)
        )
    return queryset
