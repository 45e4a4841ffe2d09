"""The test run never touches the checkout's var/ (the demo ``make run`` loads lives there)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from probity.config import warehouse_setting
from tests.isolation import PROJECT_VAR, var_changes, var_snapshot


def test_the_run_has_its_own_data_folder() -> None:
    assert Path(settings.VAR_DIR).resolve() != PROJECT_VAR.resolve()
    assert not Path(settings.VAR_DIR).resolve().is_relative_to(PROJECT_VAR.resolve())
    assert Path(os.environ["PROBITY_VAR_DIR"]).resolve() != PROJECT_VAR.resolve()


def test_the_default_warehouse_is_not_in_the_checkout_var() -> None:
    default = warehouse_setting(os.environ.get("PROBITY_WAREHOUSE"), Path(os.environ["PROBITY_VAR_DIR"]))
    assert not Path(default.location).resolve().is_relative_to(PROJECT_VAR.resolve())


def test_the_guard_sees_a_file_created_changed_or_removed(tmp_path: Path) -> None:
    (tmp_path / "warehouse.duckdb").write_bytes(b"one")
    (tmp_path / "old.sqlite3").write_bytes(b"x")
    before = var_snapshot(tmp_path)
    (tmp_path / "warehouse.duckdb").write_bytes(b"three")
    (tmp_path / "old.sqlite3").unlink()
    (tmp_path / "new.json").write_text("{}")
    assert var_changes(before, var_snapshot(tmp_path)) == [
        "var/new.json was created",
        "var/old.sqlite3 was removed",
        "var/warehouse.duckdb was changed",
    ]
