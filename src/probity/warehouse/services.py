"""Connections to the analytics warehouse, the table catalogue, and a health report.

``settings.PROBITY_WAREHOUSE`` chooses the engine: an embedded DuckDB file (the default) or a
Spark session (at national or cross-border scale). Code outside this module sees only the small
``Warehouse`` interface and writes Ibis expressions, so a detector written once runs on either
engine::

    with warehouse_connection() as warehouse:
        contracts = warehouse.table("contracts")
        frame = warehouse.execute(contracts.group_by("buyer").aggregate(n=contracts.count()))

Bad configuration (an unwritable file, no Java for Spark) raises
``probity.config.ConfigurationError`` with one sentence an operator can act on.

Ibis and the engines are imported only when a connection is opened, so that Django starts fast.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from probity.config import ConfigurationError, WarehouseSetting
from probity.warehouse.models import TABLE_NAME_PATTERN, WarehouseTable

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd
    import pyarrow as pa
    from ibis.backends import BaseBackend
    from pyspark.sql import SparkSession

    TableData: TypeAlias = pa.Table | pd.DataFrame | ir.Table

logger = logging.getLogger(__name__)

ENGINES = ("duckdb", "spark")
ENGINE_PACKAGES = {"duckdb": "duckdb", "spark": "pyspark"}
SQL_DIALECTS = {"duckdb": "duckdb", "spark": "spark"}  # as sqlglot names them
_TABLE_NAME = re.compile(TABLE_NAME_PATTERN)
# Spark writes a table under a name with this prefix, then renames it: Spark cannot overwrite a table
# that the new rows are read from (UNSUPPORTED_OVERWRITE.TABLE).
_STAGING_PREFIX = "probity_staging_"


class SparkUnavailable(ConfigurationError):
    """Spark cannot run on this machine at all (no Java, or PySpark not installed)."""


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, for one-sentence errors."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _check_table_name(name: str) -> None:
    if not _TABLE_NAME.match(name) or name.startswith(_STAGING_PREFIX):
        raise ValueError(
            f"{name!r} is not a valid warehouse table name; use lower-case letters, digits and "
            "underscores, starting with a letter."
        )


def _quote(name: str, dialect: str) -> str:
    import sqlglot as sg  # a tenth of a second to import: only where a name is quoted

    return sg.to_identifier(name, quoted=True).sql(dialect)


def package_version(*, package: str) -> str:
    """The installed version of a Python package, or "not installed"."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


# --- the interface ----------------------------------------------------------------------------


class Warehouse(ABC):
    """One open connection to the warehouse; the same methods on every engine.

    Use it as a context manager, or call ``close()`` when done.
    """

    engine: str
    location: str
    sql_dialect: str  # the engine's SQL dialect, as sqlglot names it (for ``sql()`` and ``read_only_query``)

    @property
    @abstractmethod
    def backend(self) -> BaseBackend:
        """The Ibis backend, for anything this interface does not cover."""

    @property
    @abstractmethod
    def engine_version(self) -> str:
        """The version of the engine actually connected to."""

    def table(self, name: str) -> ir.Table:
        """The table ``name`` as an Ibis expression."""
        return self.backend.table(name)

    @abstractmethod
    def list_tables(self) -> list[str]:
        """Names of the permanent tables, sorted (Ibis' temporary tables are left out)."""

    def create_table(self, name: str, data: TableData, overwrite: bool = True) -> ir.Table:
        """Writes ``data`` (pyarrow Table, pandas DataFrame or Ibis expression) as table ``name``.

        With ``overwrite`` an existing table is replaced as a whole once the new rows are
        written; without it an existing table is an error (``ValueError``).
        """
        import ibis
        import ibis.expr.types as ir

        _check_table_name(name)
        expr = data if isinstance(data, ir.Table) else ibis.memtable(data)
        if not overwrite and name in self.list_tables():
            raise ValueError(f"The warehouse table {name!r} already exists.")
        self._write_table(name, expr)
        return self.table(name)

    @abstractmethod
    def _write_table(self, name: str, expr: ir.Table) -> None:
        """Materialises ``expr`` as ``name``, replacing any table of that name."""

    def sql(self, query: str) -> ir.Table:
        """An Ibis table for a SQL query in the engine's own dialect."""
        return self.backend.sql(query)

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        """Runs an expression and returns the result as a pandas DataFrame (scalars become one row)."""
        import ibis.expr.types as ir

        if isinstance(expr, ir.Scalar | ir.Column):
            expr = expr.as_table()
        return self.backend.execute(expr)

    @abstractmethod
    def close(self) -> None:
        """Releases the connection."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.engine} {self.location}>"


# --- DuckDB -----------------------------------------------------------------------------------


class DuckDBWarehouse(Warehouse):
    """An embedded DuckDB database in one file (or in memory), opened through Ibis."""

    engine = "duckdb"
    sql_dialect = SQL_DIALECTS["duckdb"]

    def __init__(self, location: str, *, read_only: bool = False, sandboxed: bool = False) -> None:
        """``sandboxed`` (for SQL that people type; implies ``read_only``): the engine itself refuses every
        file, other database and extension (``enable_external_access = false``), and the configuration is
        locked so that a query cannot switch that back on."""
        import duckdb
        import ibis

        read_only = read_only or sandboxed
        self.read_only = read_only
        self.sandboxed = sandboxed
        if location == ":memory:":
            if read_only:
                raise ConfigurationError("An in-memory DuckDB warehouse cannot be opened read-only.")
            self.location = location
        else:
            path = Path(location).expanduser().resolve()
            self.location = str(path)
            if read_only and not path.exists():
                raise ConfigurationError(
                    f"The DuckDB warehouse file {path} does not exist yet; load some tables into it first."
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"The folder for the DuckDB warehouse file {path} cannot be created "
                    f"({exc.strerror or _reason(exc)}); set PROBITY_WAREHOUSE to a file in a writable folder."
                ) from exc
        config: dict[str, Any] = {"enable_external_access": False} if sandboxed else {}
        try:
            self._backend = ibis.duckdb.connect(self.location, read_only=read_only, **config)
        except (duckdb.Error, OSError) as exc:
            raise ConfigurationError(
                f"The DuckDB warehouse file {self.location} cannot be opened ({_reason(exc)}); "
                "check that the folder is writable and that no other program holds the file."
            ) from exc
        if sandboxed:
            # After Ibis' own settings (time zone, no Python replacement scans): from here on, no SET works.
            self._backend.con.execute("SET lock_configuration = true")

    @property
    def backend(self) -> BaseBackend:
        return self._backend

    @property
    def engine_version(self) -> str:
        return str(self._backend.version)

    def list_tables(self) -> list[str]:
        # Ibis registers in-memory tables as temporary views, which are not part of the warehouse.
        rows = self._backend.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "AND database_name = current_database() AND schema_name = current_schema() "
            "UNION SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal "
            "AND database_name = current_database() AND schema_name = current_schema()"
        ).fetchall()
        return sorted(name for (name,) in rows)

    def _write_table(self, name: str, expr: ir.Table) -> None:
        # Ibis writes the rows under a temporary name, then drops the old table and renames, each
        # statement committed on its own: other connections would see no table in between, and an
        # error would leave none. One transaction around it makes the replacement atomic.
        con = self._backend.con
        con.begin()
        try:
            self._backend.create_table(name, expr, overwrite=True)
        except BaseException:
            con.rollback()
            raise
        con.commit()

    def close(self) -> None:
        self._backend.disconnect()


# --- Spark ------------------------------------------------------------------------------------

LOG4J_PROPERTIES = """\
# Written by Probity: Spark logs only errors, to standard error.
rootLogger.level = error
# PySpark counts as Spark's shell; a configured gateway logger stops its "default log level" notice.
logger.repl.name = org.apache.spark.api.python.PythonGatewayServer
logger.repl.level = error
logger.repl.additivity = false
logger.repl.appenderRef.stderr.ref = console
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""


def java_executable() -> str:
    """The ``java`` program PySpark will start, or ``SparkUnavailable`` if there is none."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
        raise SparkUnavailable(
            f"JAVA_HOME is {java_home}, but there is no bin/java in it; point JAVA_HOME at a Java 17 (or newer) JDK."
        )
    found = shutil.which("java")
    if not found:
        raise SparkUnavailable(
            "Spark needs Java 17 or newer, but no 'java' program was found; install a JDK or set JAVA_HOME."
        )
    return found


def _local_path(uri: str) -> Path | None:
    """The local folder of a ``file:`` URI or plain path; ``None`` for remote storage (hdfs:, s3a: …)."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return Path(unquote(parts.path))
    return None


def spark_session_build(
    *,
    master: str,
    work_dir: Path,
    config: Mapping[str, str] | None = None,
    java_options: Sequence[str] = (),
) -> SparkSession:
    """Starts (or reuses) this process's SparkSession, offline, with its files under ``work_dir``.

    ``config`` adds or overrides Spark settings; ``java_options`` are extra flags for the driver JVM.
    """
    java_executable()
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable(
            "PySpark is not installed; install Probity with the 'spark' extra to use PROBITY_WAREHOUSE=spark:MASTER."
        ) from exc

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    try:
        for folder in ("tables", "derby", "tmp"):
            (work_dir / folder).mkdir(parents=True, exist_ok=True)
        log4j = work_dir / "log4j2.properties"
        log4j.write_text(LOG4J_PROPERTIES)
    except OSError as exc:
        raise ConfigurationError(
            f"The Spark folder {work_dir} cannot be written to ({exc.strerror or _reason(exc)}); "
            "set PROBITY_VAR_DIR to a writable folder."
        ) from exc
    if master.startswith("local"):
        # Bind to the loopback interface: no network is needed, and none is guessed.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python workers use this interpreter
    # Spark splits these options like a shell, so quoted paths may contain spaces.
    jvm_flags = [f"-Dderby.system.home={work_dir / 'derby'}", f"-Dlog4j.configurationFile={log4j.as_uri()}"]
    # Spark compiles every query to Java code; in a long-lived session the JIT's default code cache
    # (48 MB when only the first compiler tier runs) fills up, and a full cache kills the executor
    # ("Out of space in CodeCache for adapters"). A larger cache costs only reserved address space.
    jvm_flags.append("-XX:ReservedCodeCacheSize=512m")
    jvm_flags += java_options
    cores = os.cpu_count() or 2
    builder = (
        SparkSession.builder.master(master)
        .appName("probity")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, min(cores, 16))))
        .config("spark.default.parallelism", str(max(2, cores)))
        .config("spark.sql.warehouse.dir", str(work_dir / "tables"))
        .config("spark.local.dir", str(work_dir / "tmp"))
        .config("spark.driver.extraJavaOptions", " ".join(f'"{flag}"' for flag in jvm_flags))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1")
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1")
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Py4J, PySparkRuntimeError and friends: all mean "Spark did not start"
        raise ConfigurationError(
            f"The Spark session for master {master!r} could not start ({_reason(exc)}); "
            "check the master URL, Java 17+ and the Spark logs."
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkWarehouse(Warehouse):
    """A Spark session (local or a cluster master) opened through Ibis' PySpark backend.

    Tables are Parquet folders in the session's warehouse folder. Without a Hive metastore,
    Spark forgets tables when the process ends, so on connecting every table folder already
    there is registered again. The SparkSession belongs to the whole process (starting one takes
    seconds): ``close()`` leaves it running for the next connection, ``stop()`` ends it.
    """

    engine = "spark"
    sql_dialect = SQL_DIALECTS["spark"]

    def __init__(
        self,
        location: str,
        *,
        work_dir: Path | None = None,
        session: SparkSession | None = None,
        config: Mapping[str, str] | None = None,
        java_options: Sequence[str] = (),
    ) -> None:
        import ibis

        self.work_dir = Path(work_dir if work_dir is not None else Path(settings.VAR_DIR) / "spark")
        if session is None:
            session = spark_session_build(
                master=location, work_dir=self.work_dir, config=config, java_options=java_options
            )
        self._session = session
        self.location = str(self._session.sparkContext.master)
        try:
            self._backend = ibis.pyspark.connect(self._session)
            self._register_table_folders()
        except Exception as exc:
            raise ConfigurationError(
                f"The Spark warehouse at {self.location} cannot be used ({_reason(exc)})."
            ) from exc

    @property
    def backend(self) -> BaseBackend:
        return self._backend

    @property
    def session(self) -> SparkSession:
        return self._session

    @property
    def engine_version(self) -> str:
        return str(self._session.version)

    @property
    def tables_dir(self) -> Path | None:
        """The local folder that holds the table folders, or ``None`` if the storage is remote."""
        return _local_path(self._session.conf.get("spark.sql.warehouse.dir") or "")

    def _catalogued(self) -> set[str]:
        return {
            table.name
            for table in self._session.catalog.listTables()
            if not table.isTemporary and table.tableType != "VIEW"
        }

    def _register_table_folders(self) -> None:
        folder = self.tables_dir
        if folder is None or not folder.is_dir():
            return
        known = self._catalogued()
        for child in sorted(folder.iterdir()):
            name = child.name
            if name in known or not child.is_dir() or not _TABLE_NAME.match(name):
                continue
            if name.startswith(_STAGING_PREFIX) or not any(child.glob("*.parquet")):
                continue
            location = child.resolve().as_uri().replace("'", "\\'")
            target = _quote(name, self.sql_dialect)
            self._session.sql(f"CREATE TABLE IF NOT EXISTS {target} USING parquet LOCATION '{location}'")

    def list_tables(self) -> list[str]:
        return sorted(name for name in self._catalogued() if not name.startswith(_STAGING_PREFIX))

    def _write_table(self, name: str, expr: ir.Table) -> None:
        # Write the new rows first (the expression may read the table it replaces), then swap.
        staging = f"{_STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        staged, target = _quote(staging, self.sql_dialect), _quote(name, self.sql_dialect)
        self._backend.create_table(staging, expr, overwrite=False)
        try:
            self._session.sql(f"DROP TABLE IF EXISTS {target}")
            folder = self.tables_dir
            if folder is not None and (folder / name).exists():
                shutil.rmtree(folder / name)  # a re-registered (external) table leaves its folder behind
            self._session.sql(f"ALTER TABLE {staged} RENAME TO {target}")
        except BaseException:
            self._session.sql(f"DROP TABLE IF EXISTS {staged}")
            raise
        self._session.catalog.refreshTable(name)

    def close(self) -> None:
        """Forgets this connection; the process's SparkSession stays up for the next one."""

    def stop(self) -> None:
        """Stops the SparkSession (and its Java process)."""
        self._session.stop()


# --- factory ----------------------------------------------------------------------------------


def warehouse_connect(
    *, setting: WarehouseSetting | None = None, read_only: bool = False, sandboxed: bool = False
) -> Warehouse:
    """Opens the warehouse named by ``setting`` (default: ``settings.PROBITY_WAREHOUSE``).

    ``read_only`` opens a DuckDB file so that nothing can be written (Spark has no such mode).
    ``sandboxed`` (DuckDB; implies ``read_only``) also lets the engine read nothing but the warehouse's
    own tables: no files, other databases or extensions. SQL that people type goes through
    ``warehouse_query``, which checks it with ``read_only_query`` and runs it on such a connection.
    """
    setting = setting or settings.PROBITY_WAREHOUSE
    if setting.engine == "duckdb":
        return DuckDBWarehouse(setting.location, read_only=read_only, sandboxed=sandboxed)
    if setting.engine == "spark":
        return SparkWarehouse(setting.location)
    raise ConfigurationError(
        f"PROBITY_WAREHOUSE names the unknown engine {setting.engine!r}; use a DuckDB file or spark:MASTER."
    )


@contextmanager
def warehouse_connection(
    *, setting: WarehouseSetting | None = None, read_only: bool = False, sandboxed: bool = False
) -> Iterator[Warehouse]:
    """``warehouse_connect`` as a context manager: the connection is closed on leaving the block."""
    warehouse = warehouse_connect(setting=setting, read_only=read_only, sandboxed=sandboxed)
    try:
        yield warehouse
    finally:
        warehouse.close()


# --- read-only SQL ----------------------------------------------------------------------------

_WRITE_NODE_NAMES = (
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Create",
    "Drop",
    "Alter",
    "AlterTable",
    "TruncateTable",
    "Command",
    "Copy",
    "Into",
    "Pragma",
    "Set",
    "Use",
    "LoadData",
    "Transaction",
    "Commit",
    "Rollback",
    "Attach",
    "Detach",
    "Install",
    "Cache",
    "Uncache",
    "Refresh",
    "Describe",
    "Summarize",
    "Export",
)


def read_only_query(*, query: str, dialect: str) -> str:
    """Returns ``query`` if it is one read-only SELECT; otherwise ``ValueError`` with the reason."""
    import sqlglot  # a tenth of a second to import: only when someone's SQL is checked
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    text = query.strip().rstrip(";").strip()
    if not text:
        raise ValueError("The query is empty.")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except SqlglotError as exc:
        raise ValueError(f"The query could not be read ({_reason(exc)}).") from exc
    if len(statements) != 1:
        raise ValueError("Give exactly one SELECT statement.")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise ValueError("Only read-only SELECT queries are allowed.")
    forbidden = tuple(getattr(exp, name) for name in _WRITE_NODE_NAMES if hasattr(exp, name))
    for node in statement.walk():
        if isinstance(node, forbidden):
            raise ValueError(f"Only read-only SELECT queries are allowed; this one contains {node.key.upper()}.")
    return text


FILE_ACCESS_REFUSED = "The query may read only the warehouse's tables, not files, other databases or extensions."


class QueryFailed(ValueError):
    """The engine could not run a query (an unknown table, a type error …); the message says why."""


@dataclass(frozen=True)
class QueryResult:
    frame: pd.DataFrame  # at most ``limit`` rows
    more: bool  # the query has more rows than were returned


def _refused_file_access(exc: BaseException) -> bool:
    import duckdb

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, duckdb.PermissionException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def _no_sql_on_files(warehouse: Warehouse) -> Iterator[None]:
    """On Spark (which has no sandbox), switches off ``SELECT … FROM csv.`/path``` for the block."""
    if not isinstance(warehouse, SparkWarehouse):
        yield
        return
    conf = warehouse.session.conf
    before = conf.get("spark.sql.runSQLOnFiles", "true")
    conf.set("spark.sql.runSQLOnFiles", "false")
    try:
        yield
    finally:
        conf.set("spark.sql.runSQLOnFiles", before or "true")


def warehouse_query(*, query: str, limit: int, setting: WarehouseSetting | None = None) -> QueryResult:
    """Runs one read-only SELECT that a person typed and returns its first ``limit`` rows.

    The text is checked first (``read_only_query``: one SELECT, no writes), then run on a sandboxed
    connection, so the engine itself refuses files, other databases and extensions whatever the text
    check let through. ``ValueError`` says why a query is refused, ``QueryFailed`` (a ``ValueError``)
    why the engine could not run it; ``ConfigurationError`` when the warehouse cannot be opened.
    """
    setting = setting or settings.PROBITY_WAREHOUSE
    # Checked before connecting: starting Spark only to refuse the query would waste seconds.
    text = read_only_query(query=query, dialect=SQL_DIALECTS.get(setting.engine, "duckdb"))
    with (
        warehouse_connection(setting=setting, read_only=True, sandboxed=True) as warehouse,
        _no_sql_on_files(warehouse),
    ):
        try:
            frame = warehouse.execute(warehouse.sql(text).limit(limit + 1))
        except Exception as exc:  # the engine's own error says what is wrong with the query
            if _refused_file_access(exc):
                raise ValueError(FILE_ACCESS_REFUSED) from exc
            raise QueryFailed(f"The query failed: {_reason(exc)}") from exc
    return QueryResult(frame=frame.head(limit), more=len(frame) > limit)


# --- catalogue --------------------------------------------------------------------------------


def warehouse_register_table(
    *,
    name: str,
    row_count: int,
    engine: str | None = None,
    description: str | None = None,
    source: str | None = None,
    refreshed_at: datetime | None = None,
) -> WarehouseTable:
    """Records (or updates) a table in the catalogue; ``None`` keeps a description or source as it was."""
    _check_table_name(name)
    engine = engine or settings.PROBITY_WAREHOUSE.engine
    if engine not in ENGINES:
        raise ValueError(f"Unknown warehouse engine {engine!r}; use one of {', '.join(ENGINES)}.")
    if row_count < 0:
        raise ValueError("A table cannot have a negative number of rows.")
    defaults: dict[str, Any] = {
        "engine": engine,
        "row_count": row_count,
        "refreshed_at": refreshed_at or timezone.now(),
    }
    if description is not None:
        defaults["description"] = description
    if source is not None:
        defaults["source"] = source[:300]
    entry, _created = WarehouseTable.objects.update_or_create(name=name, defaults=defaults)
    return entry


def warehouse_catalogue() -> QuerySet[WarehouseTable]:
    """Every catalogued table, by name."""
    return WarehouseTable.objects.order_by("name")


def warehouse_load_table(
    *,
    warehouse: Warehouse,
    name: str,
    data: TableData,
    description: str | None = None,
    source: str | None = None,
    overwrite: bool = True,
) -> WarehouseTable:
    """Writes a table, counts its rows and records it in the catalogue; returns the catalogue entry."""
    table = warehouse.create_table(name, data, overwrite=overwrite)
    row_count = int(warehouse.execute(table.count()).iat[0, 0])
    return warehouse_register_table(
        name=name, row_count=row_count, engine=warehouse.engine, description=description, source=source
    )


# --- health report ----------------------------------------------------------------------------


@dataclass
class TableStatus:
    """One table as the status page shows it: catalogue facts, and whether the engine has it."""

    name: str
    engine: str = ""
    row_count: int | None = None
    refreshed_at: datetime | None = None
    description: str = ""
    source: str = ""
    catalogued: bool = False
    present: bool | None = None  # None: unknown, because the engine could not be reached


@dataclass
class WarehouseStatus:
    """What the warehouse is, and whether it answers."""

    engine: str
    location: str
    ibis_version: str
    engine_version: str
    connected: bool = False
    error: str = ""
    tables: list[TableStatus] = field(default_factory=list)


def warehouse_status(*, setting: WarehouseSetting | None = None) -> WarehouseStatus:
    """Connects once to report engine, versions and tables; never raises for connection problems."""
    setting = setting or settings.PROBITY_WAREHOUSE
    report = WarehouseStatus(
        engine=setting.engine,
        location=setting.location,
        ibis_version=package_version(package="ibis-framework"),
        engine_version=package_version(package=ENGINE_PACKAGES.get(setting.engine, setting.engine)),
    )
    live: set[str] | None = None
    try:
        with warehouse_connection(setting=setting) as warehouse:
            report.location = warehouse.location
            report.engine_version = warehouse.engine_version
            live = set(warehouse.list_tables())
            report.connected = True
    except ConfigurationError as exc:
        report.error = str(exc)
    except Exception as exc:  # the page must show the problem, not fail with it
        logger.warning("warehouse status check failed: %s", exc, exc_info=True)
        report.error = f"{type(exc).__name__}: {_reason(exc)}"
    for entry in warehouse_catalogue():
        report.tables.append(
            TableStatus(
                name=entry.name,
                engine=entry.engine,
                row_count=entry.row_count,
                refreshed_at=entry.refreshed_at,
                description=entry.description,
                source=entry.source,
                catalogued=True,
                present=None if live is None else entry.name in live,
            )
        )
    catalogued = {table.name for table in report.tables}
    for name in sorted((live or set()) - catalogued):
        report.tables.append(TableStatus(name=name, engine=setting.engine, present=True))
    return report
