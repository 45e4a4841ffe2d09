"""Configuration: safe defaults, and wrong settings stop with one clear sentence instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from probity.config import ConfigurationError, database_config, warehouse_setting


def _probity(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment.pop("PROBITY_TESTING", None)
    return subprocess.run(
        [sys.executable, "-m", "probity.cli", *args], capture_output=True, text=True, env=environment, timeout=120
    )


def test_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    config = database_config(None, tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "probity.sqlite3")


def test_postgres_url_is_read() -> None:
    config = database_config("postgres://probity@db.internal:5432/probity", Path("/tmp"))
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5432, "probity")


def test_unsupported_database_scheme_is_explained() -> None:
    with pytest.raises(ConfigurationError, match="supports sqlite:/// and postgres://"):
        database_config("mongodb://localhost/x", Path("/tmp"))


def test_default_warehouse_is_a_duckdb_file_under_var(tmp_path: Path) -> None:
    setting = warehouse_setting(None, tmp_path)
    assert (setting.engine, setting.location) == ("duckdb", str(tmp_path / "warehouse.duckdb"))
    assert warehouse_setting("spark:local[2]", tmp_path).engine == "spark"
    with pytest.raises(ConfigurationError, match="PROBITY_WAREHOUSE"):
        warehouse_setting("/tmp/warehouse.csv", tmp_path)


def test_bad_database_url_stops_with_one_sentence(tmp_path: Path) -> None:
    result = _probity("check", DATABASE_URL="mysql://root@localhost/x", PROBITY_VAR_DIR=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("probity: configuration error: DATABASE_URL has the scheme 'mysql'")
    assert "Traceback" not in result.stderr


def test_unreachable_database_stops_with_one_sentence(tmp_path: Path) -> None:
    result = _probity("migrate", DATABASE_URL="postgres://nobody@127.0.0.1:1/none", PROBITY_VAR_DIR=str(tmp_path))
    assert result.returncode == 2
    assert "cannot be used" in result.stderr and "check DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere, so a read-only folder cannot be simulated")
def test_unwritable_var_stops_with_one_sentence(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    result = _probity("check", PROBITY_VAR_DIR=str(locked / "var"))
    assert result.returncode == 2
    assert "cannot be written to" in result.stderr and "Traceback" not in result.stderr


def test_var_that_is_a_file_stops_with_one_sentence(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "var"
    not_a_folder.write_text("")
    result = _probity("check", PROBITY_VAR_DIR=str(not_a_folder))
    assert result.returncode == 2
    assert "cannot be written to" in result.stderr and "Traceback" not in result.stderr


def test_debug_is_off_unless_asked() -> None:
    from django.conf import settings

    assert settings.DEBUG is False


def test_probity_help_lists_its_subcommands() -> None:
    result = _probity("--help")
    assert result.returncode == 0
    for name in ("audit", "detectors", "demo", "roles", "bootstrap", "warehouse", "token"):
        assert f"\n  {name} " in result.stdout, name
    assert "migrate" in result.stdout


def test_unknown_subcommand_exits_non_zero() -> None:
    assert _probity("no-such-command").returncode != 0


def test_bootstrap_loads_the_demo_and_runs_every_detector_it_has_data_for(tmp_path: Path) -> None:
    """What ``make run`` does on a fresh installation: detectors whose data is not loaded yet (the
    procurement warehouse tables) are reported as not run, and the start-up goes on."""
    result = _probity(
        "bootstrap",
        "--scale",
        "0.05",
        PROBITY_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'probity.sqlite3'}",
        PROBITY_HTTPS="false",
        PROBITY_DEBUG="true",
        PROBITY_WAREHOUSE=str(tmp_path / "warehouse.duckdb"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "demo administrator: demo-admin" in result.stdout
    assert "R003: not run: The warehouse has no procurement_" in result.stderr
    assert "detectors not run because their data is not loaded" in result.stdout
