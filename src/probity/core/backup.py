"""Backups of a whole installation in one archive, and their restore into an empty installation.

An archive (a ``.tar`` file, or a folder with the same members) holds:

* ``database/<app>.<model>.jsonl.gz`` — every row of every table Django manages (except web sessions), one
  JSON array per row, each value written by its field's type with nothing lost (datetimes to the
  microsecond, which the audit chain's seals need; binary values in base64; decimals as text). The rows
  are read through the ORM and written back through it, so an archive made on SQLite loads into
  PostgreSQL and the other way round.
* ``reporting-store/<name>`` — the reporting channel's encrypted files, byte for byte as stored. They are
  never decrypted: their keys are sealed inside the database to staff key pairs (wrapped under each
  person's password and recovery key) or to keys derived from reporters' receipts.
* ``warehouse/`` — the DuckDB warehouse as ``EXPORT DATABASE`` writes it (schema, load script, Parquet),
  taken through a read-only connection, so no other process writes while it is read.
* ``manifest.json`` — Probity's version, the time, the database engine, the migrations applied per app,
  the audit log's head (sequence and seal), and the size and SHA-256 of every other member.

No key is written: not ``PROBITY_SECRET_KEY`` (nor ``var/secret_key``), ``PROBITY_AUDIT_KEY``,
``PROBITY_IDENTIFIER_KEY`` or ``PROBITY_REPORTING_PEPPER``. Only named folders are read, never the whole
``var/``. The installation that restores needs the same keys for the audit chain to verify and for
reporters' receipts to open their reports.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from django.apps import apps as installed_apps
from django.apps.registry import Apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils.duration import duration_microseconds

from probity.core.audit import GENESIS_HASH, audit_record, audit_verify
from probity.core.models import AuditEntry, AuditHead
from probity.warehouse.services import DuckDBWarehouse, package_version

FORMAT = "probity-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_PREFIX = "database/"
STORE_PREFIX = "reporting-store/"
WAREHOUSE_PREFIX = "warehouse/"
CHUNK = 1024 * 1024
BATCH = 2000

# Web sessions are left out: each is a live sign-in (a bearer credential) that expires within hours.
SKIPPED_MODELS = {"sessions.session": "web sessions: live sign-ins that expire within hours; people sign in again"}
# What ``migrate`` itself writes into a new database; a target holding only these rows counts as empty.
MIGRATE_FILLED_TABLES = frozenset(
    {
        "django_migrations",
        "django_content_type",
        "auth_permission",
        "auth_group",
        "auth_group_permissions",
        "core_schedule",
    }
)
# Rows that name files of the reporting store, to note files that were deleted while the backup ran.
# Named by label, not imported: core knows no module.
STORE_REFERENCES = {"reporting.attachment": ("storage_name", "stripped_storage_name")}
STORE_NAME = re.compile(r"^[0-9a-f]{1,64}$")
MEMBER_NAME = re.compile(
    r"^(database/[a-z0-9_]+\.[a-z0-9_]+\.jsonl\.gz|reporting-store/[0-9a-f]{1,64}|warehouse/[A-Za-z0-9_.-]+)$"
)

NOT_INCLUDED = [
    "PROBITY_SECRET_KEY and the file var/secret_key: keep them in your secret store",
    "PROBITY_AUDIT_KEY: without the same key the audit chain does not verify after a restore",
    "PROBITY_IDENTIFIER_KEY: without the same key hashed national ID numbers no longer match",
    "PROBITY_REPORTING_PEPPER: without the same pepper reporters' receipts no longer find their reports",
    "web sessions (django_session): people sign in again after a restore",
    "the rest of var/ (static files, caches, the demo folder, the job inbox, temporary files)",
]
SAFETY_NOTE = (
    "Report contents, identities and files are stored encrypted; their private keys are in the database only "
    "sealed to staff key pairs (themselves wrapped under each person's password and recovery key with Argon2id) "
    "or wrapped with keys derived from reporters' receipts, which are never stored. This archive holds none of "
    "the installation's keys. It does hold everything else in the database (password hashes, second-factor "
    "device secrets, declarations, hashed identifiers): protect it like the database itself."
)

ProgressFactory = Callable[[str, int, str], AbstractContextManager[Callable[[int], object]]]
Note = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore cannot go on; the message is one sentence for the operator."""


class ArchiveDamaged(BackupError):
    """The archive does not match its manifest (a file was changed, removed or added)."""


class TargetNotEmpty(BackupError):
    """The installation to restore into already holds data."""


@contextmanager
def _no_progress(desc: str, total: int, unit: str) -> Iterator[Callable[[int], object]]:
    yield lambda n: None


def _ignore(message: str) -> None:
    return None


# --- archives: a tar file or a folder, with the same members -----------------------------------------


class _HashingReader(io.RawIOBase):
    """Reads a file while computing its SHA-256 (as tarfile copies it into the archive)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class _ArchiveWriter(ABC):
    """Writes members to a temporary name; ``finish`` moves the whole archive into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
        self.files: dict[str, dict[str, Any]] = {}

    def add_path(self, name: str, source: Path) -> None:
        with open(source, "rb") as handle:
            reader = _HashingReader(handle)
            self._write(name, cast(IO[bytes], reader), source.stat().st_size)
        self.files[name] = {"size": reader.size, "sha256": reader.digest.hexdigest()}

    def add_bytes(self, name: str, data: bytes, *, listed: bool = True) -> None:
        self._write(name, io.BytesIO(data), len(data))
        if listed:
            self.files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    @abstractmethod
    def _write(self, name: str, source: IO[bytes], size: int) -> None: ...

    @abstractmethod
    def finish(self) -> None: ...

    @abstractmethod
    def abandon(self) -> None: ...


class _TarWriter(_ArchiveWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        descriptor = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(descriptor, "wb")
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def _write(self, name: str, source: IO[bytes], size: int) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(time.time())
        self._tar.addfile(info, source)

    def finish(self) -> None:
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        self._tar.close()
        self._file.close()
        self.partial.unlink(missing_ok=True)


class _FolderWriter(_ArchiveWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.partial.mkdir(mode=0o700)

    def _write(self, name: str, source: IO[bytes], size: int) -> None:
        target = self.partial / name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)

    def finish(self) -> None:
        self.partial.rename(self.path)

    def abandon(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)


class _ArchiveReader(ABC):
    @abstractmethod
    def names(self) -> list[str]: ...

    @abstractmethod
    def open(self, name: str) -> IO[bytes]: ...

    def close(self) -> None:
        return None


class _TarReader(_ArchiveReader):
    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, mode="r:")  # noqa: SIM115
        except (tarfile.TarError, OSError) as exc:
            raise ArchiveDamaged(f"{path} is not a Probity backup archive (it cannot be read as a tar file).") from exc
        self._members = {member.name: member for member in self._tar.getmembers()}
        strange = [member.name for member in self._members.values() if not member.isfile()]
        if strange:
            raise ArchiveDamaged(
                f"The archive holds {strange[0]}, which is not a regular file; it was not made by Probity."
            )

    def names(self) -> list[str]:
        return list(self._members)

    def open(self, name: str) -> IO[bytes]:
        handle = self._tar.extractfile(self._members[name])
        assert handle is not None  # regular files only (checked on opening)
        return handle

    def close(self) -> None:
        self._tar.close()


class _FolderReader(_ArchiveReader):
    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> list[str]:
        return [
            item.relative_to(self.path).as_posix()
            for item in sorted(self.path.rglob("*"))
            if item.is_file() or item.is_symlink()
        ]

    def open(self, name: str) -> IO[bytes]:
        target = self.path / name
        if target.is_symlink():
            raise ArchiveDamaged(f"The archive member {name} is a symbolic link; it was not made by Probity.")
        return open(target, "rb")


@contextmanager
def _archive_reader(path: Path) -> Iterator[_ArchiveReader]:
    if not path.exists():
        raise BackupError(f"There is no archive at {path}.")
    reader: _ArchiveReader = _FolderReader(path) if path.is_dir() else _TarReader(path)
    try:
        yield reader
    finally:
        reader.close()


def _sha256(handle: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


# --- values: written by field type, so nothing is lost and both engines read them back -----------------


def _encode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "BinaryField":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "DurationField":
        return duration_microseconds(value)
    if kind == "JSONField":
        return value
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _decode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "BinaryField":
        return base64.b64decode(value)
    if kind == "DurationField":
        return timedelta(microseconds=value)
    if kind == "DateTimeField":
        return datetime.fromisoformat(value)
    if kind == "DateField":
        return date.fromisoformat(value)
    if kind == "TimeField":
        return time_of_day.fromisoformat(value)
    if kind == "DecimalField":
        return Decimal(value)
    if kind == "UUIDField":
        return uuid.UUID(value)
    return value


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]


def _backed_up_models(apps: Apps) -> list[type[models.Model]]:
    """Every model with a table of its own, many-to-many tables included, in a stable order."""
    chosen = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]
    return sorted(chosen, key=lambda model: model._meta.label_lower)


def _member_name(model: type[models.Model]) -> str:
    return f"{DATABASE_PREFIX}{model._meta.label_lower}.jsonl.gz"


# --- the parts of an installation ----------------------------------------------------------------------


def store_folder() -> Path:
    """The reporting channel's file store (the ``PROBITY_REPORTING_STORE`` setting, else var/reporting-store)."""
    configured = getattr(settings, "PROBITY_REPORTING_STORE", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "reporting-store"


def _store_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(item for item in folder.iterdir() if item.is_file() and STORE_NAME.match(item.name))


def _migration_state() -> tuple[dict[str, list[str]], list[list[str]]]:
    """The migrations applied per app, and the leaf of each app; refuses when some are not applied."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    if executor.migration_plan(leaves):
        raise BackupError("The database has migrations that are not applied yet; run probity migrate first.")
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(executor.loader.applied_migrations):
        applied.setdefault(app_label, []).append(name)
    return applied, [[app_label, name] for app_label, name in sorted(leaves)]


@contextmanager
def _consistent_read() -> Iterator[None]:
    """One transaction for every table: a snapshot on PostgreSQL; on SQLite writers wait until it ends."""
    connection.ensure_connection()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(table["rows"] for table in self.manifest["database"]["tables"])


def _dump_database(
    writer: _ArchiveWriter, work: Path, progress: ProgressFactory
) -> tuple[list[dict[str, Any]], dict[str, int | str], set[str]]:
    existing = set(connection.introspection.table_names())
    tables: list[dict[str, Any]] = []
    referenced: set[str] = set()
    chosen = [m for m in _backed_up_models(installed_apps) if m._meta.label_lower not in SKIPPED_MODELS]
    chosen = [m for m in chosen if m._meta.db_table in existing]
    with _consistent_read():
        head = AuditHead.objects.filter(id=1).values("sequence", "entry_hash").first()
        seal: dict[str, int | str] = (
            {"sequence": head["sequence"], "entry_hash": head["entry_hash"]}
            if head
            else {"sequence": 0, "entry_hash": GENESIS_HASH}
        )
        counts = {m: m._base_manager.count() for m in chosen}
        with progress("database", sum(counts.values()), "row") as advance:
            for model in chosen:
                columns = _columns(model)
                names = [f.attname for f in columns]
                kinds = [f.get_internal_type() for f in columns]
                references = [names.index(n) for n in STORE_REFERENCES.get(model._meta.label_lower, ())]
                member = _member_name(model)
                scratch = work / member.removeprefix(DATABASE_PREFIX)
                rows = 0
                with gzip.open(scratch, "wt", encoding="utf-8", compresslevel=6) as out:
                    query = model._base_manager.order_by("pk").values_list(*names)
                    for row in query.iterator(chunk_size=BATCH):
                        encoded = [_encode(value, kind) for value, kind in zip(row, kinds, strict=True)]
                        out.write(json.dumps(encoded, ensure_ascii=False, separators=(",", ":")))
                        out.write("\n")
                        referenced.update(row[i] for i in references if row[i])
                        rows += 1
                        if rows % 500 == 0:
                            advance(500)
                advance(rows % 500)
                writer.add_path(member, scratch)
                scratch.unlink()
                tables.append(
                    {
                        "model": model._meta.label_lower,
                        "table": model._meta.db_table,
                        "file": member,
                        "rows": rows,
                        "columns": names,
                        "types": kinds,
                    }
                )
    return tables, seal, referenced


def _sql_text(path: Path) -> str:
    """A path as a DuckDB string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def _dump_warehouse(writer: _ArchiveWriter, work: Path, note: Note) -> dict[str, Any]:
    setting = settings.PROBITY_WAREHOUSE
    if setting.engine != "duckdb" or setting.location == ":memory:":
        reason = (
            "a Spark warehouse (Parquet folders under var/spark/tables) is not included; copy them with your file tools"
            if setting.engine == "spark"
            else "an in-memory warehouse holds nothing to back up"
        )
        note(f"The warehouse was skipped: {reason}.")
        return {"included": False, "engine": setting.engine, "note": reason}
    if not Path(setting.location).exists():
        note("The warehouse was skipped: its DuckDB file does not exist yet.")
        return {"included": False, "engine": "duckdb", "note": "the DuckDB file did not exist yet"}
    export = work / "warehouse-export"
    # A read-only connection: DuckDB then lets no other process write the file while it is exported.
    with DuckDBWarehouse(setting.location, read_only=True) as warehouse:
        tables = warehouse.list_tables()
        version = warehouse.engine_version
        warehouse.backend.con.execute(f"EXPORT DATABASE {_sql_text(export)} (FORMAT parquet)")
    for item in sorted(export.iterdir()):
        writer.add_path(f"{WAREHOUSE_PREFIX}{item.name}", item)
    shutil.rmtree(export)
    return {
        "included": True,
        "engine": "duckdb",
        "format": "DuckDB EXPORT DATABASE (schema.sql, load.sql, Parquet files); restored with IMPORT DATABASE",
        "duckdb_version": version,
        "tables": tables,
    }


def backup_create(*, output: Path, progress: ProgressFactory = _no_progress, note: Note = _ignore) -> BackupResult:
    """Writes one archive of the installation to ``output`` (a ``.tar`` file, or else a new folder).

    Refuses to overwrite an existing file or folder. The archive appears under its name only when complete.
    """
    output = Path(output).expanduser().resolve()
    if output.exists():
        raise BackupError(f"{output} already exists; choose a new name so that no older backup is overwritten.")
    if not output.parent.is_dir():
        raise BackupError(f"The folder {output.parent} does not exist.")
    applied, targets = _migration_state()
    notes: list[str] = []

    def noted(message: str) -> None:
        notes.append(message)
        note(message)

    writer: _ArchiveWriter = _TarWriter(output) if output.suffix == ".tar" else _FolderWriter(output)
    try:
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".probity-backup-") as scratch:
            work = Path(scratch)
            tables, seal, referenced = _dump_database(writer, work, progress)
            folder = store_folder()
            files = _store_files(folder)
            with progress("report files", len(files), "file") as advance:
                for item in files:
                    writer.add_path(f"{STORE_PREFIX}{item.name}", item)
                    advance(1)
            present = {item.name for item in files}
            missing = sorted(referenced - present)
            if missing:
                noted(
                    f"{len(missing)} report file(s) named in the database were not in the store (deleted while the "
                    "backup ran, or lost before); their names are in the manifest."
                )
            warehouse = _dump_warehouse(writer, work, noted)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "probity_version": package_version(package="probity"),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": {
                "engine": connection.vendor,
                "format": (
                    "one gzipped JSON Lines file per table, one JSON array per row, values encoded by field type; "
                    "loads into SQLite or PostgreSQL through Django's models"
                ),
                "migrations": applied,
                "migration_targets": targets,
                "tables": tables,
                "not_included": [{"model": label, "reason": why} for label, why in SKIPPED_MODELS.items()],
            },
            "audit_head": seal,
            "reporting_store": {
                "files": len(files),
                "encrypted": True,
                "missing_referenced_files": missing,
            },
            "warehouse": warehouse,
            "keys_included": False,
            "not_included": NOT_INCLUDED,
            "safety": SAFETY_NOTE,
            "notes": notes,
            "files": dict(sorted(writer.files.items())),
        }
        writer.add_bytes(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode(), listed=False)
        writer.finish()
    except BaseException:
        writer.abandon()
        raise
    audit_record(
        action=AuditEntry.Action.EXPORT,
        object_type="core.backup",
        object_label="backup",
        details={"tables": len(tables), "report_files": len(files), "audit_sequence": seal["sequence"]},
    )
    return BackupResult(path=output, manifest=manifest, notes=notes)


# --- checking an archive -----------------------------------------------------------------------------


def _read_manifest(reader: _ArchiveReader, path: Path) -> dict[str, Any]:
    if MANIFEST not in reader.names():
        raise ArchiveDamaged(f"{path} holds no {MANIFEST}; it is not a Probity backup or it is incomplete.")
    with reader.open(MANIFEST) as handle:
        try:
            manifest = json.loads(handle.read())
        except ValueError as exc:
            raise ArchiveDamaged(f"The {MANIFEST} of {path} cannot be read ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveDamaged(f"{path} is not a Probity backup archive (its {MANIFEST} says otherwise).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"The archive has format version {manifest.get('format_version')}; this Probity reads version "
            f"{FORMAT_VERSION}. Restore it with the Probity version that made it ({manifest.get('probity_version')})."
        )
    return manifest


def backup_verify(*, archive: Path, progress: ProgressFactory = _no_progress) -> dict[str, Any]:
    """Checks every member against the manifest's size and SHA-256; returns the manifest.

    Raises ``ArchiveDamaged`` naming the first member that is missing, changed or not listed.
    """
    archive = Path(archive).expanduser().resolve()
    with _archive_reader(archive) as reader:
        manifest = _read_manifest(reader, archive)
        listed: dict[str, dict[str, Any]] = manifest.get("files", {})
        present = set(reader.names())
        for name in sorted(present - set(listed) - {MANIFEST}):
            raise ArchiveDamaged(f"The archive holds {name}, which its manifest does not list; it was changed.")
        for name in listed:
            if not MEMBER_NAME.match(name):
                raise ArchiveDamaged(f"The manifest lists {name}, which is not a name Probity writes; it was changed.")
            if name not in present:
                raise ArchiveDamaged(f"The archive is missing {name}, which its manifest lists.")
        with progress("checking", sum(int(entry["size"]) for entry in listed.values()), "B") as advance:
            for name, expected in listed.items():
                with reader.open(name) as handle:
                    digest, size = _sha256(handle)
                advance(size)
                if size != expected["size"] or digest != expected["sha256"]:
                    raise ArchiveDamaged(
                        f"The archive's file {name} does not match its manifest (SHA-256 or size differs); "
                        "the archive was changed or damaged."
                    )
    return manifest


# --- restoring ---------------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    tables: int = 0
    rows: int = 0
    report_files: int = 0
    warehouse: str = ""
    head_matches: bool = False
    entries_checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.head_matches and not self.problems


def _database_holds_data() -> str | None:
    """The first table (other than those migrate fills by itself) that has rows, or None."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in MIGRATE_FILLED_TABLES:
                continue
            cursor.execute(f"SELECT 1 FROM {quote(table)} LIMIT 1")  # noqa: S608 (a table name from introspection)
            if cursor.fetchone() is not None:
                return table
    return None


def _check_target(manifest: dict[str, Any]) -> None:
    table = _database_holds_data()
    if table is not None:
        raise TargetNotEmpty(
            f"The target database already holds data (table {table} has rows); restore only into an empty database."
        )
    folder = store_folder()
    if _store_files(folder):
        raise TargetNotEmpty(f"The reporting store {folder} already holds files; restore only into an empty one.")
    setting = settings.PROBITY_WAREHOUSE
    restores_warehouse = manifest["warehouse"].get("included") and setting.engine == "duckdb"
    if restores_warehouse and setting.location != ":memory:" and Path(setting.location).exists():
        with DuckDBWarehouse(setting.location, read_only=True) as warehouse:
            if warehouse.list_tables():
                raise TargetNotEmpty(
                    f"The warehouse {setting.location} already holds tables; restore only into an empty one."
                )


def _migrate_to(targets: list[tuple[str, str]]) -> Apps:
    """Brings the empty database to the archive's migrations; returns the models as they were then."""
    executor = MigrationExecutor(connection)
    unknown = [target for target in targets if target not in executor.loader.graph.nodes]
    if unknown:
        app_label, name = unknown[0]
        raise BackupError(
            f"The archive was made by a newer Probity (it has migration {name} of {app_label}, which this one does "
            "not know); restore it with the version that made it, then upgrade."
        )
    plan = executor.migration_plan(targets)
    if any(backwards for _migration, backwards in plan):
        raise TargetNotEmpty("The target database was migrated beyond the archive's state; use an empty database.")
    executor.migrate(targets, plan=plan)
    loader = MigrationLoader(connection)
    return loader.project_state(targets).apps


def _load_database(manifest: dict[str, Any], reader: _ArchiveReader, progress: ProgressFactory) -> tuple[int, int]:
    targets = [(app_label, name) for app_label, name in manifest["database"]["migration_targets"]]
    historical = _migrate_to(targets)
    tables: list[dict[str, Any]] = manifest["database"]["tables"]
    quote = connection.ops.quote_name
    loaded: list[type[models.Model]] = []
    rows = 0
    with transaction.atomic(), progress("database", sum(t["rows"] for t in tables), "row") as advance:
        # Foreign keys are checked at commit on both engines, so tables load in any order.
        models_by_table: list[tuple[dict[str, Any], type[models.Model]]] = []
        with connection.cursor() as cursor:
            for table in tables:
                app_label, model_name = table["model"].split(".", 1)
                try:
                    model = historical.get_model(app_label, model_name)
                except LookupError as exc:
                    raise BackupError(
                        f"The archive has a table for {table['model']}, which this Probity lacks."
                    ) from exc
                columns = {f.attname for f in _columns(model)}
                if columns != set(table["columns"]):
                    raise BackupError(f"The columns of {table['model']} in the archive differ from its migrations.")
                cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")  # noqa: S608 (a model's table name)
                models_by_table.append((table, model))
        for table, model in models_by_table:
            kinds = table["types"]
            names = table["columns"]
            batch: list[models.Model] = []
            with reader.open(table["file"]) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
                for line in lines:
                    values = json.loads(line)
                    fields = {n: _decode(v, k) for n, v, k in zip(names, values, kinds, strict=True)}
                    batch.append(model(**fields))
                    if len(batch) >= BATCH:
                        model._base_manager.bulk_create(batch)
                        advance(len(batch))
                        rows += len(batch)
                        batch = []
            if batch:
                model._base_manager.bulk_create(batch)
                advance(len(batch))
                rows += len(batch)
            loaded.append(model)
        statements = connection.ops.sequence_reset_sql(no_style(), loaded)
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
    return len(loaded), rows


def _restore_store(manifest: dict[str, Any], reader: _ArchiveReader, progress: ProgressFactory) -> int:
    folder = store_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    names = sorted(name for name in manifest["files"] if name.startswith(STORE_PREFIX))
    with progress("report files", len(names), "file") as advance:
        for name in names:
            target = folder / name.removeprefix(STORE_PREFIX)
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with reader.open(name) as source, os.fdopen(descriptor, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            advance(1)
    return len(names)


def _restore_warehouse(manifest: dict[str, Any], reader: _ArchiveReader, note: Note) -> str:
    if not manifest["warehouse"].get("included"):
        return "the archive holds no warehouse"
    setting = settings.PROBITY_WAREHOUSE
    if setting.engine != "duckdb" or setting.location == ":memory:":
        message = "the warehouse was not restored: this installation's warehouse is not a DuckDB file"
        note(f"{message[0].upper()}{message[1:]}.")
        return message
    names = sorted(name for name in manifest["files"] if name.startswith(WAREHOUSE_PREFIX))
    with tempfile.TemporaryDirectory(prefix=".probity-restore-", dir=Path(setting.location).parent) as scratch:
        folder = Path(scratch)
        for name in names:
            with reader.open(name) as source, open(folder / name.removeprefix(WAREHOUSE_PREFIX), "xb") as out:
                shutil.copyfileobj(source, out, CHUNK)
        with DuckDBWarehouse(setting.location) as warehouse:
            warehouse.backend.con.execute(f"IMPORT DATABASE {_sql_text(folder)}")
            tables = len(warehouse.list_tables())
    return f"the warehouse ({tables} tables)"


def backup_restore(*, archive: Path, progress: ProgressFactory = _no_progress, note: Note = _ignore) -> RestoreResult:
    """Restores ``archive`` into this installation, which must be empty; nothing is decrypted.

    Checks the archive's hashes first (``ArchiveDamaged``) and that the database, the reporting store and the
    warehouse are empty (``TargetNotEmpty``); then migrates to the archive's migrations, loads the rows, puts
    back the report files and the warehouse, applies newer migrations, and checks the audit log: its head
    must be the archive's seal and the whole chain must verify with this installation's audit key.
    """
    archive = Path(archive).expanduser().resolve()
    manifest = backup_verify(archive=archive, progress=progress)
    _check_target(manifest)
    result = RestoreResult()
    with _archive_reader(archive) as reader:
        result.tables, result.rows = _load_database(manifest, reader, progress)
        result.report_files = _restore_store(manifest, reader, progress)
        result.warehouse = _restore_warehouse(manifest, reader, note)
    seal = manifest["audit_head"]
    head = AuditHead.objects.filter(id=1).values("sequence", "entry_hash").first()
    restored = head or {"sequence": 0, "entry_hash": GENESIS_HASH}
    result.head_matches = restored == seal
    # Newer migrations of this Probity (if any), and the roles' permissions reset as after every migrate.
    call_command("migrate", verbosity=0, interactive=False, stdout=io.StringIO())
    total = AuditEntry.objects.count()
    with progress("verifying", total, "entry") as advance:
        verification = audit_verify(progress=advance)
    result.entries_checked = verification.entries_checked
    result.problems = [f"entry {problem.sequence}: {problem.reason}" for problem in verification.problems]
    if result.ok:
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="core.backup",
            object_label="restore",
            details={"archive_created": manifest["created"], "audit_sequence": seal["sequence"]},
        )
    return result
