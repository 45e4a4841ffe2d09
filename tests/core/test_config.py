"""Configuration: safe defaults, and wrong settings stop with one clear sentence instead of a traceback."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import pytest

from probity.config import ConfigurationError, database_config, warehouse_setting


def _probity(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment.pop("PROBITY_TESTING", None)
    return subprocess.run(
        [sys.executable, "-m", "probity.cli", *args], capture_output=True, text=True, env=environment, timeout=300
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


def _rows(database: Path, query: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(query, params).fetchall()


@pytest.mark.slow
def test_bootstrap_fills_every_module_with_the_demo_and_runs_every_detector(tmp_path: Path) -> None:
    """What ``make run`` does on a fresh installation: the demo country in the core tables, its files read
    into the ownership, procurement, entities and declarations apps (declarations linked to the core people
    and bodies), every detector run with findings; a second run changes nothing."""
    database = tmp_path / "probity.sqlite3"
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        "PROBITY_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{database}",
        "PROBITY_HTTPS": "false",
        "PROBITY_DEBUG": "true",
        "PROBITY_WAREHOUSE": str(warehouse),
    }
    result = _probity("bootstrap", "--scale", "0.05", **env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "demo administrator: demo-admin" in result.stdout
    for step in ("ownership", "debarments", "procurement", "entities", "declarations"):
        assert re.search(rf"^  {step}: \d+ .*\(\d+\.\d s\)$", result.stdout, re.MULTILINE), (step, result.stdout)
    assert "FAILED" not in result.stdout and "not run" not in result.stdout + result.stderr, result.stdout
    assert re.search(r"^Demo loaded in \d+\.\d s\.$", result.stdout, re.MULTILINE)

    demo = tmp_path / "var" / "demo"
    counts = json.loads((demo / "manifest.json").read_text())["counts"]
    # ownership, debarments, entities: every record of the files, linked to the core tables
    assert _rows(database, "SELECT count(*) FROM ownership_statement") == [(counts["bods_statements"],)]
    linked = _rows(database, "SELECT count(person_id), count(organisation_id) FROM ownership_party")[0]
    assert linked[0] > 0 and linked[1] > 0
    assert _rows(database, "SELECT count(*) FROM procurement_debarment") == [(counts["debarments"],)]
    assert _rows(database, "SELECT count(*) FROM entities_entity WHERE dataset = 'demo'") == [(counts["ftm_entities"],)]
    assert _rows(database, "SELECT count(*) FROM entities_entity WHERE dataset = 'probity'")[0][0] > 0
    assert _rows(database, "SELECT count(*) FROM entities_matchcandidate")[0][0] > 0
    # declarations: each belongs to the core person and body `demo load` wrote; no person was added
    assert _rows(database, "SELECT count(*) FROM declarations_declaration") == [(counts["declaration_files"],)]
    assert _rows(
        database,
        "SELECT count(*) FROM declarations_declaration d JOIN core_person p ON p.id = d.declarant_id "
        "JOIN core_publicbody b ON b.id = d.body_id WHERE p.source_key LIKE 'demo:%' AND b.country = 'XD' "
        "AND EXISTS (SELECT 1 FROM core_position o WHERE o.holder_id = p.id AND o.body_id = b.id)",
    ) == [(counts["declaration_files"],)]
    assert _rows(database, "SELECT count(*) FROM core_person") == [(counts["people"],)]
    published = "SELECT count(*) FROM declarations_publisheddeclaration WHERE withdrawn_at IS NULL"
    assert _rows(database, published) == [(counts["declaration_files"],)]
    assert (
        _rows(
            database,
            "SELECT count(*) FROM declarations_declaration d JOIN core_person p ON p.id = d.declarant_id "
            "JOIN auth_user u ON u.id = p.user_id WHERE u.username = 'demo-declarant'",
        )[0][0]
        > 0
    )
    # procurement: the processes, every procurement_* table, the indicator matrix and the risk scores
    with closing(duckdb.connect(str(warehouse), read_only=True)) as connection:
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        assert {"procurement_processes", "procurement_parties", "procurement_contracts"} <= tables
        assert {"procurement_indicator_results", "procurement_risk_process", "procurement_field_coverage"} <= tables
        processes = connection.execute("SELECT count(*) FROM procurement_processes").fetchone()
        assert processes == (counts["processes"],)
        assert connection.execute("SELECT count(*) FROM procurement_risk_process").fetchone()[0] > 0  # type: ignore[index]
    # every detector ran once, and each module's detectors flagged something
    runs = dict(
        _rows(database, "SELECT detector_code, count(*) FROM core_detectorrun WHERE status = 'succeeded' GROUP BY 1")
    )
    assert set(runs.values()) == {1}, runs
    flagged = {
        code for (code,) in _rows(database, "SELECT DISTINCT detector_code FROM core_finding WHERE outcome = 'flag'")
    }
    for prefix in ("P-", "R", "OWN-", "DECL-", "CORE-"):
        assert any(code.startswith(prefix) for code in flagged), (prefix, flagged)
    # DECL-LIFESTYLE knows the declarants' country from their body: the planted apartment abroad is found
    truth = json.loads((demo / "ground_truth.json").read_text())
    abroad = [s for s in truth["schemes"] if s["type"] == "LIFESTYLE-ASSET-ABROAD"]
    assert abroad
    for scheme in abroad:
        for external_id in scheme["declaration_detectors"]["DECL-LIFESTYLE"]:
            ((evidence,),) = _rows(
                database,
                "SELECT f.evidence FROM core_finding f JOIN declarations_declaration d ON f.subject_id = "
                "CAST(d.id AS TEXT) WHERE f.detector_code = 'DECL-LIFESTYLE' AND d.external_id = ?",
                external_id,
            )
            assert "assets_abroad" in {s["signal"] for s in json.loads(evidence)["signals"]}, evidence

    def snapshot() -> list[tuple[Any, ...]]:
        return _rows(
            database,
            "SELECT (SELECT count(*) FROM core_person), (SELECT count(*) FROM ownership_statement), "
            "(SELECT count(*) FROM entities_entity), (SELECT count(*) FROM declarations_declarationversion), "
            "(SELECT count(*) FROM core_detectorrun), (SELECT count(*) FROM core_finding)",
        )

    before = snapshot()
    again = _probity("bootstrap", "--scale", "0.05", **env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Empty database" not in again.stdout
    assert snapshot() == before
