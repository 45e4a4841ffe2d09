"""Compiled OCDS releases (JSON Lines) → the procurement warehouse tables of ``tables.py``.

DuckDB reads the file itself, in parallel and streaming, with a fixed JSON schema (no type
detection over the whole file), into one staging table; each warehouse table is then one SQL
``SELECT`` with ``UNNEST`` over it. A line that is not JSON, or has no ``ocid``, is counted and
skipped; a value of the wrong type (text where a number belongs) becomes NULL and the rest of its
release is kept.

On Spark the same tables are written as Parquet by DuckDB and registered in the Spark session
(``flatten_into_warehouse``), so the indicators read identical data on both engines.
"""

# The SQL here is built only from this module's constants and quoted file paths, never from input.
# ruff: noqa: S608

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from probity.procurement.tables import TABLES, warehouse_name

# DuckDB and Ibis are imported in the functions that use them: the fast ``indicators`` command imports this
# module (through ``indicators.run``) before it knows it will use Ibis, and Django's start-up never needs them.
if TYPE_CHECKING:
    import duckdb
    import ibis.expr.types as ir

    from probity.warehouse.services import Warehouse

# --- the JSON schema DuckDB reads --------------------------------------------------------------

_VALUE = "STRUCT(amount DOUBLE, currency VARCHAR)"
_PERIOD = "STRUCT(startDate VARCHAR, endDate VARCHAR)"
_ORG_REF = "STRUCT(id VARCHAR, name VARCHAR)"
_ITEM = (
    "STRUCT(id VARCHAR, description VARCHAR, classification STRUCT(scheme VARCHAR, id VARCHAR), "
    f"quantity DOUBLE, unit STRUCT(name VARCHAR, value {_VALUE}), relatedLot VARCHAR)"
)
_TENDER_ARRAYS = f", items {_ITEM}[], lots STRUCT(id VARCHAR, title VARCHAR, status VARCHAR, value {_VALUE})[]"
RELEASE_COLUMNS: dict[str, str] = {
    "ocid": "VARCHAR",
    "id": "VARCHAR",
    "date": "VARCHAR",
    "initiationType": "VARCHAR",
    "buyer": _ORG_REF,
    "parties": (
        "STRUCT(id VARCHAR, name VARCHAR, roles VARCHAR[], "
        "identifier STRUCT(scheme VARCHAR, id VARCHAR, legalName VARCHAR), "
        "address STRUCT(streetAddress VARCHAR, locality VARCHAR, region VARCHAR, postalCode VARCHAR, "
        "countryName VARCHAR), "
        "contactPoint STRUCT(name VARCHAR, email VARCHAR, telephone VARCHAR))[]"
    ),
    "tender": (
        "STRUCT(id VARCHAR, title VARCHAR, status VARCHAR, procurementMethod VARCHAR, "
        "procurementMethodDetails VARCHAR, procurementMethodRationale VARCHAR, "
        "mainProcurementCategory VARCHAR, awardCriteria VARCHAR, submissionMethod VARCHAR[], "
        f"value {_VALUE}, procuringEntity {_ORG_REF}, datePublished VARCHAR, tenderPeriod {_PERIOD}, "
        f"enquiryPeriod {_PERIOD}, awardPeriod {_PERIOD}, contractPeriod {_PERIOD}, "
        f"numberOfTenderers BIGINT, hasEnquiries BOOLEAN{_TENDER_ARRAYS})"
    ),
    "bids": (
        "STRUCT(details STRUCT(id VARCHAR, date VARCHAR, status VARCHAR, "
        f"value {_VALUE}, tenderers {_ORG_REF}[], relatedLots VARCHAR[])[])"
    ),
    "awards": (
        f"STRUCT(id VARCHAR, title VARCHAR, status VARCHAR, date VARCHAR, value {_VALUE}, "
        f"suppliers {_ORG_REF}[], items {_ITEM}[], relatedLots VARCHAR[], relatedBids VARCHAR[], "
        f"relatedBid VARCHAR, contractPeriod {_PERIOD})[]"
    ),
    "contracts": (
        f"STRUCT(id VARCHAR, awardID VARCHAR, title VARCHAR, status VARCHAR, value {_VALUE}, "
        f"dateSigned VARCHAR, period {_PERIOD}, "
        "amendments STRUCT(id VARCHAR, date VARCHAR, rationale VARCHAR, description VARCHAR)[])[]"
    ),
}

# Which top-level release fields each table reads (so a run that needs few tables parses less).
_TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "processes": ("ocid", "id", "date", "initiationType", "buyer", "tender", "bids", "awards", "contracts"),
    "parties": ("ocid", "parties"),
    "lots": ("ocid", "tender"),
    "items": ("ocid", "tender"),
    "bids": ("ocid", "bids"),
    "bid_tenderers": ("ocid", "bids"),
    "awards": ("ocid", "awards"),
    "award_suppliers": ("ocid", "awards"),
    "award_items": ("ocid", "awards"),
    "contracts": ("ocid", "contracts"),
    "contract_amendments": ("ocid", "contracts"),
}

# RFC 3339 date-time (what Cardinal's chrono::DateTime::parse_from_rfc3339 accepts).
_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"


def _timestamp(expression: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({expression}, '{_RFC3339}') THEN TRY_CAST(upper({expression}) AS TIMESTAMPTZ) END"
    )


def _select(table: str, source: str, *, light_contracts: bool = False) -> str:
    """The SQL that builds one warehouse table from the staging table ``source``."""
    if table == "processes":
        if light_contracts:  # contracts read as raw JSON
            has_contracts = "coalesce(json_type(contracts) = 'ARRAY', false)"
            contract_count = "CASE WHEN json_type(contracts) = 'ARRAY' THEN json_array_length(contracts) ELSE 0 END"
        else:
            has_contracts, contract_count = "contracts IS NOT NULL", "coalesce(len(contracts), 0)"
        return f"""
        SELECT ocid, id AS release_id, date, initiationType AS initiation_type,
            buyer.id AS buyer_id, buyer.name AS buyer_name,
            tender.procuringEntity.id AS procuring_entity_id,
            tender.procuringEntity.name AS procuring_entity_name,
            tender.id AS tender_id, tender.title AS tender_title, tender.status AS tender_status,
            tender.procurementMethod AS procurement_method,
            tender.procurementMethodDetails AS procurement_method_details,
            tender.procurementMethodRationale AS procurement_method_rationale,
            tender.mainProcurementCategory AS main_procurement_category,
            tender.awardCriteria AS award_criteria,
            tender.submissionMethod AS submission_method,
            tender.value.amount AS tender_value_amount, tender.value.currency AS tender_value_currency,
            tender.datePublished AS tender_date_published,
            tender.tenderPeriod.startDate AS tender_period_start_date,
            tender.tenderPeriod.endDate AS tender_period_end_date,
            {_timestamp("tender.tenderPeriod.startDate")} AS tender_period_start_at,
            {_timestamp("tender.tenderPeriod.endDate")} AS tender_period_end_at,
            tender.enquiryPeriod.startDate AS enquiry_period_start_date,
            tender.enquiryPeriod.endDate AS enquiry_period_end_date,
            tender.awardPeriod.startDate AS award_period_start_date,
            tender.awardPeriod.endDate AS award_period_end_date,
            tender.contractPeriod.startDate AS contract_period_start_date,
            tender.contractPeriod.endDate AS contract_period_end_date,
            tender.numberOfTenderers AS number_of_tenderers,
            tender.hasEnquiries AS has_enquiries,
            awards IS NOT NULL AS has_awards,
            bids.details IS NOT NULL AS has_bid_details,
            {has_contracts} AS has_contracts,
            coalesce(len(awards), 0)::BIGINT AS award_count,
            coalesce(len(bids.details), 0)::BIGINT AS bid_count,
            ({contract_count})::BIGINT AS contract_count
        FROM {source}"""
    if table == "parties":
        return f"""
        SELECT ocid, party_index, p.id AS party_id, p.name, p.roles,
            p.identifier.scheme AS identifier_scheme, p.identifier.id AS identifier_id,
            p.identifier.legalName AS identifier_legal_name,
            p.address.streetAddress AS street_address, p.address.locality, p.address.region,
            p.address.postalCode AS postal_code, p.address.countryName AS country_name,
            p.contactPoint.name AS contact_point_name, p.contactPoint.email AS contact_point_email,
            p.contactPoint.telephone AS contact_point_telephone
        FROM (SELECT ocid, unnest(parties) AS p, generate_subscripts(parties, 1)::BIGINT AS party_index
              FROM {source} WHERE parties IS NOT NULL)"""
    if table == "lots":
        return f"""
        SELECT ocid, lot_index, l.id AS lot_id, l.title, l.status,
            l.value.amount AS value_amount, l.value.currency AS value_currency
        FROM (SELECT ocid, unnest(tender.lots) AS l, generate_subscripts(tender.lots, 1)::BIGINT AS lot_index
              FROM {source} WHERE tender.lots IS NOT NULL)"""
    if table in ("items", "award_items"):
        if table == "items":
            inner = f"""SELECT ocid, unnest(tender.items) AS i,
                generate_subscripts(tender.items, 1)::BIGINT AS item_index
                FROM {source} WHERE tender.items IS NOT NULL"""
            keys, extra = "ocid, item_index", ", i.unit.name AS unit_name"
            tail = ", i.relatedLot AS related_lot"
        else:
            inner = f"""SELECT ocid, award_index, unnest(a.items) AS i,
                generate_subscripts(a.items, 1)::BIGINT AS item_index
                FROM ({_awards(source)}) WHERE a.items IS NOT NULL"""
            keys, extra, tail = "ocid, award_index, item_index", "", ""
        return f"""
        SELECT {keys}, i.id AS item_id, i.description,
            i.classification.scheme AS classification_scheme, i.classification.id AS classification_id,
            i.quantity{extra}, i.unit.value.amount AS unit_value_amount,
            i.unit.value.currency AS unit_value_currency{tail}
        FROM ({inner})"""
    if table == "bids":
        return f"""
        SELECT ocid, bid_index, b.id AS bid_id, b.status, b.date,
            b.value.amount AS value_amount, b.value.currency AS value_currency,
            b.tenderers IS NOT NULL AS has_tenderers,
            coalesce(len(b.tenderers), 0)::BIGINT AS tenderer_count,
            b.relatedLots AS related_lots
        FROM ({_bids(source)})"""
    if table == "bid_tenderers":
        return f"""
        SELECT ocid, bid_index, tenderer_index, t.id AS tenderer_id, t.name AS tenderer_name
        FROM (SELECT ocid, bid_index, unnest(b.tenderers) AS t,
                generate_subscripts(b.tenderers, 1)::BIGINT AS tenderer_index
              FROM ({_bids(source)}) WHERE b.tenderers IS NOT NULL)"""
    if table == "awards":
        return f"""
        SELECT ocid, award_index, a.id AS award_id, a.title, a.status, a.date,
            a.value.amount AS value_amount, a.value.currency AS value_currency,
            a.suppliers IS NOT NULL AS has_suppliers,
            coalesce(len(a.suppliers), 0)::BIGINT AS supplier_count,
            a.items IS NOT NULL AS has_items,
            a.relatedLots AS related_lots,
            coalesce(a.relatedBids, CASE WHEN a.relatedBid IS NOT NULL THEN [a.relatedBid] END) AS related_bids,
            a.contractPeriod.startDate AS contract_period_start_date,
            a.contractPeriod.endDate AS contract_period_end_date
        FROM ({_awards(source)})"""
    if table == "award_suppliers":
        return f"""
        SELECT ocid, award_index, supplier_index, s.id AS supplier_id, s.name AS supplier_name
        FROM (SELECT ocid, award_index, unnest(a.suppliers) AS s,
                generate_subscripts(a.suppliers, 1)::BIGINT AS supplier_index
              FROM ({_awards(source)}) WHERE a.suppliers IS NOT NULL)"""
    if table == "contracts":
        return f"""
        SELECT ocid, contract_index, c.id AS contract_id, c.awardID AS award_id, c.title, c.status,
            c.value.amount AS value_amount, c.value.currency AS value_currency,
            c.dateSigned AS date_signed, {_timestamp("c.dateSigned")} AS date_signed_at,
            c.period.startDate AS period_start_date, c.period.endDate AS period_end_date,
            coalesce(len(c.amendments), 0)::BIGINT AS amendment_count
        FROM ({_contracts(source)})"""
    if table == "contract_amendments":
        return f"""
        SELECT ocid, contract_index, amendment_index, m.id AS amendment_id, m.date, m.rationale,
            m.description
        FROM (SELECT ocid, contract_index, unnest(c.amendments) AS m,
                generate_subscripts(c.amendments, 1)::BIGINT AS amendment_index
              FROM ({_contracts(source)}) WHERE c.amendments IS NOT NULL)"""
    raise KeyError(table)


def _bids(source: str) -> str:
    return f"""SELECT ocid, unnest(bids.details) AS b, generate_subscripts(bids.details, 1)::BIGINT AS bid_index
        FROM {source} WHERE bids.details IS NOT NULL"""


def _awards(source: str) -> str:
    return f"""SELECT ocid, unnest(awards) AS a, generate_subscripts(awards, 1)::BIGINT AS award_index
        FROM {source} WHERE awards IS NOT NULL"""


def _contracts(source: str) -> str:
    return f"""SELECT ocid, unnest(contracts) AS c, generate_subscripts(contracts, 1)::BIGINT AS contract_index
        FROM {source} WHERE contracts IS NOT NULL"""


RELEASES_TABLE = "probity_procurement_releases"  # the parsed releases, kept under ``processes_view``

# --- running it --------------------------------------------------------------------------------


@dataclass
class FlattenReport:
    """What a flattening read and wrote."""

    source: str
    lines: int = 0
    releases: int = 0
    skipped: int = 0  # lines that are not JSON objects with a text ocid
    rows: dict[str, int] = field(default_factory=dict)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _struct_literal(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_sql_text(name)}: {_sql_text(kind)}" for name, kind in columns.items()) + "}"


def _light_contracts(tables: Iterable[str]) -> bool:
    return not {"contracts", "contract_amendments"} & set(tables)


def read_json_sql(path: str | Path, tables: Iterable[str] = TABLES, *, strict: bool = False) -> str:
    """DuckDB's ``read_json`` over ``path`` with the fixed schema the given tables need.

    ``strict``: fail on the first line that is not JSON or a value of the wrong type, instead of
    skipping the line or reading the value as NULL (``ignore_errors``); about 15 % cheaper, so a
    file is read strictly first and again leniently only if that fails (``flatten_file``)."""
    needed: set[str] = {"ocid"}
    for table in tables:
        needed.update(_TABLE_FIELDS[table])
    columns = {name: kind for name, kind in RELEASE_COLUMNS.items() if name in needed}
    # Parse less when fewer tables are wanted: tender.items and tender.lots only for their tables,
    # and contracts kept as raw JSON (only counted) unless a contracts table is wanted.
    if "tender" in columns and not {"items", "lots"} & set(tables):
        columns["tender"] = columns["tender"].replace(_TENDER_ARRAYS, "")
    if "contracts" in columns and _light_contracts(tables):
        columns["contracts"] = "JSON"
    return (
        f"read_json({_sql_text(str(path))}, format = 'newline_delimited', columns = {_struct_literal(columns)}, "
        f"ignore_errors = {'false' if strict else 'true'}, maximum_object_size = 67108864)"
    )


def flatten_file(
    connection: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    tables: Sequence[str] = tuple(TABLES),
    prefixed: bool = True,
    temporary: bool = False,
    suffix: str = "",
    processes_view: bool = False,
    workers: int = 1,
) -> FlattenReport:
    """Reads compiled releases from ``path`` and (re)creates ``tables`` in a DuckDB connection.

    Tables are named ``procurement_<table>`` (``prefixed``) or plainly, followed by ``suffix``.
    ``temporary`` makes them temporary tables, for one run of the indicators without touching the
    warehouse file. ``processes_view`` (for a private, throw-away database only) makes
    ``processes`` a view over the parsed releases, which are then kept as the table
    ``RELEASES_TABLE``: a release's fields are columns of the parsed structure already, and copying
    some forty of them into a table costs more than the few that each indicator reads.
    ``workers`` > 1 (not with ``temporary``) builds that many tables at a time, each on its own
    cursor: DuckDB scans a table in parallel by row groups of 122 880 rows, so unnesting 100 000
    releases is one thread's work, and two tables at once keep two cores busy.
    Raises ``FileNotFoundError`` if the file is missing.
    """
    source_path = Path(path)
    if not source_path.is_file():
        raise FileNotFoundError(f"{source_path} is not a file.")
    unknown = [table for table in tables if table not in TABLES]
    if unknown:
        raise KeyError(f"Unknown procurement table(s): {', '.join(unknown)}.")
    report = FlattenReport(source=str(source_path))
    keep_releases = processes_view and "processes" in tables
    parallel = workers > 1 and not temporary and len(tables) > 1
    staging = RELEASES_TABLE if keep_releases else "probity_procurement_releases_staging"
    # other cursors see ordinary tables only
    staging_kind = "TABLE" if keep_releases or parallel else "TEMP TABLE"
    import duckdb

    try:  # most files are clean: read strictly, and leniently only if that fails (see read_json_sql)
        reader = read_json_sql(source_path, tables, strict=True)
        connection.execute(f"CREATE OR REPLACE {staging_kind} {staging} AS SELECT * FROM {reader}")
    except (duckdb.InvalidInputException, duckdb.ConversionException):
        reader = read_json_sql(source_path, tables)
        connection.execute(f"CREATE OR REPLACE {staging_kind} {staging} AS SELECT * FROM {reader}")
    try:
        report.lines = int(connection.execute(f"SELECT count(*) FROM {staging}").fetchone()[0])  # type: ignore[index]
        connection.execute(f"DELETE FROM {staging} WHERE ocid IS NULL")
        report.releases = int(connection.execute(f"SELECT count(*) FROM {staging}").fetchone()[0])  # type: ignore[index]
        report.skipped = report.lines - report.releases
        kind = "TEMP TABLE" if temporary else "TABLE"
        light = _light_contracts(tables)

        def build(table: str, cursor: duckdb.DuckDBPyConnection) -> int:
            name = (warehouse_name(table) if prefixed else table) + suffix
            made = "VIEW" if keep_releases and table == "processes" else kind
            cursor.execute(f'CREATE OR REPLACE {made} "{name}" AS {_select(table, staging, light_contracts=light)}')
            return int(cursor.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # type: ignore[index]

        if parallel:

            def build_on_own_cursor(table: str) -> int:
                with connection.cursor() as cursor:
                    return build(table, cursor)

            with ThreadPoolExecutor(max_workers=workers) as pool:
                report.rows = dict(zip(tables, pool.map(build_on_own_cursor, tables), strict=True))
        else:
            for table in tables:
                report.rows[table] = build(table, connection)
    finally:
        if not keep_releases:
            connection.execute(f"DROP TABLE IF EXISTS {staging}")
    return report


def private_connection(
    *, memory_limit: str | None = None, temp_directory: str | Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A throw-away in-memory DuckDB database for one run over a file (``flatten_file`` with
    ``processes_view``), spilling to ``temp_directory`` beyond ``memory_limit``."""
    import duckdb

    connection = duckdb.connect(":memory:")
    if memory_limit:
        connection.execute(f"SET memory_limit = {_sql_text(memory_limit)}")
    if temp_directory:
        connection.execute(f"SET temp_directory = {_sql_text(str(temp_directory))}")
    connection.execute("SET preserve_insertion_order = false")
    return connection


def flatten_to_parquet(
    path: str | Path, folder: str | Path, *, tables: Sequence[str] = tuple(TABLES), memory_limit: str = "2GB"
) -> FlattenReport:
    """Flattens ``path`` into ``folder/<warehouse name>/part-0.parquet``, one folder per table."""
    import duckdb

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="probity-flatten-") as scratch:
        connection = duckdb.connect(str(Path(scratch) / "flatten.duckdb"))
        try:
            connection.execute(f"SET memory_limit = {_sql_text(memory_limit)}")
            report = flatten_file(connection, path, tables=tables)
            for table in tables:
                name = warehouse_name(table)
                target = out / name
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir()
                connection.execute(f'COPY "{name}" TO {_sql_text(str(target / "part-0.parquet"))} (FORMAT parquet)')
        finally:
            connection.close()
    return report


def flatten_into_warehouse(
    warehouse: Warehouse,
    path: str | Path,
    *,
    tables: Sequence[str] = tuple(TABLES),
    suffix: str = "",
    append: bool = False,
) -> FlattenReport:
    """Flattens ``path`` into the warehouse as ``procurement_<table>`` tables (followed by
    ``suffix``), on either engine.

    DuckDB builds the tables in place; on Spark, DuckDB writes Parquet that becomes Spark tables
    through the ``Warehouse`` interface, so both engines hold the same rows and types. By default
    the tables are replaced; with ``append`` the file's contracting processes are added to those
    already there (see ``merge_by_ocid``).
    """
    if append:
        report = flatten_into_warehouse(warehouse, path, tables=tables, suffix=suffix + APPEND_STAGING)
        merge_by_ocid(warehouse, tables, staging_suffix=suffix + APPEND_STAGING, suffix=suffix)
        return report
    if warehouse.engine == "duckdb":
        connection = warehouse.backend.con
        return flatten_file(connection, path, tables=tables, suffix=suffix)
    with tempfile.TemporaryDirectory(prefix="probity-parquet-") as scratch:
        report = flatten_to_parquet(path, scratch, tables=tables)
        for table in tables:
            name = warehouse_name(table)
            data = warehouse.backend.read_parquet(str(Path(scratch) / name / "part-0.parquet"))
            warehouse.create_table(name + suffix, data)
    return report


APPEND_STAGING = "__appended"


def merge_by_ocid(warehouse: Warehouse, tables: Sequence[str], *, staging_suffix: str, suffix: str = "") -> None:
    """Adds the rows of the staging tables (``procurement_<table><staging_suffix>``) to the tables
    ``procurement_<table><suffix>``, then drops the staging tables.

    A contracting process is one OCID: one that is already there is replaced as a whole by the new
    file's rows (a later compiled release of the same process), the others are kept. A column the
    older table lacks (added in a later version of Probity) is NULL in its rows.
    """
    present = set(warehouse.list_tables())
    for table in tables:
        name, staging = warehouse_name(table) + suffix, warehouse_name(table) + staging_suffix
        new = warehouse.table(staging)
        if name in present:
            merged = merged_by_key(warehouse.table(name), new, "ocid")
            warehouse.create_table(name, merged)
        else:
            warehouse.create_table(name, new)
        warehouse.backend.drop_table(staging, force=True)


def merged_by_key(old: ir.Table, new: ir.Table, key: str) -> ir.Table:
    """``new`` plus the rows of ``old`` whose ``key`` is not in ``new``, in ``new``'s columns."""
    import ibis

    columns = {}
    for column, dtype in new.schema().items():
        columns[column] = old[column].cast(dtype) if column in old.columns else ibis.null().cast(dtype)
    kept = old.filter((~old[key].isin(new.select(key)[key])).fill_null(True)).select(**columns)
    return kept.union(new.select(*new.columns), distinct=False)


def parquet_tables(warehouse: Warehouse, folder: str | Path, tables: Sequence[str]) -> dict[str, object]:
    """Ibis tables reading ``flatten_to_parquet`` output in place (no copy into the warehouse):
    short table name → Ibis table. Cheap on Spark, for one run over a file."""
    return {
        table: warehouse.backend.read_parquet(str(Path(folder) / warehouse_name(table) / "part-0.parquet"))
        for table in tables
    }
