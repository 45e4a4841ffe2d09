"""Reads Probity's configuration from the environment and checks it before Django starts.

Every problem is reported as one plain sentence (``ConfigurationError``) so that an operator
who mistyped ``DATABASE_URL`` or pointed ``var/`` at a read-only disk sees what to fix, not a
traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigurationError(Exception):
    """A setting is wrong; the message is one sentence an operator can act on."""


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def project_root() -> Path:
    """The checkout (or the current directory for an installed package)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "probity").is_dir():
            return parent
    return Path.cwd()


def var_dir() -> Path:
    return Path(os.environ.get("PROBITY_VAR_DIR", str(project_root() / "var"))).resolve()


SUPPORTED_DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql", "postgis"}

# SQLite shared by several processes (the web server's workers, the job worker, the scheduler): write
# transactions take the lock at BEGIN and wait up to 20 s for it, and the write-ahead log (WAL) lets readers
# go on while one process writes (the job worker claims jobs in exclusive transactions every second, which
# would otherwise stop every page for that moment). WAL needs a local disk, not a network share.
SQLITE_OPTIONS: dict[str, object] = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL",
}


def database_config(url: str | None, var: Path) -> dict[str, object]:
    """Turns ``DATABASE_URL`` into Django's DATABASES entry, or explains what is wrong with it."""
    import dj_database_url

    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(var / "probity.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    scheme = urlsplit(url).scheme
    if scheme not in SUPPORTED_DATABASE_SCHEMES:
        raise ConfigurationError(
            f"DATABASE_URL has the scheme {scheme or '(none)'!r}; Probity supports sqlite:/// and "
            "postgres:// URLs, for example postgres://user@127.0.0.1:5432/probity."
        )
    try:
        config = dict(dj_database_url.parse(url, conn_max_age=60))
    except Exception as exc:  # dj_database_url raises several types for malformed URLs
        raise ConfigurationError(f"DATABASE_URL could not be read ({exc}).") from exc
    if str(config["ENGINE"]).endswith("sqlite3"):
        if not config.get("NAME") or config["NAME"] == ":memory:":
            config["NAME"] = ":memory:"
        config["OPTIONS"] = dict(SQLITE_OPTIONS)
    elif not config.get("NAME"):
        raise ConfigurationError("DATABASE_URL names no database; add one after the host, as in .../probity.")
    return config


@dataclass(frozen=True)
class WarehouseSetting:
    """Where analytical tables live: a DuckDB file (default) or a Spark session."""

    engine: str  # "duckdb" or "spark"
    location: str  # DuckDB file path or ":memory:", or the Spark master URL


def warehouse_setting(raw: str | None, var: Path) -> WarehouseSetting:
    if not raw:
        return WarehouseSetting("duckdb", str(var / "warehouse.duckdb"))
    if raw.startswith("spark:"):
        master = raw.removeprefix("spark:").lstrip("/") or "local[2]"
        return WarehouseSetting("spark", master)
    if raw.startswith("duckdb:"):
        raw = raw.removeprefix("duckdb:").removeprefix("//") or ":memory:"
    if raw != ":memory:" and not raw.endswith((".duckdb", ".db", ".ddb")):
        raise ConfigurationError(
            f"PROBITY_WAREHOUSE must be a DuckDB file ending in .duckdb, ':memory:', or spark:MASTER, not {raw!r}."
        )
    return WarehouseSetting("duckdb", raw)


def ensure_writable_dir(path: Path, purpose: str) -> None:
    """Creates ``path`` if needed and proves it can be written to."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".probity-write-check"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"The {purpose} folder {path} cannot be written to ({exc.strerror or exc}); "
            "set PROBITY_VAR_DIR to a writable folder."
        ) from exc
