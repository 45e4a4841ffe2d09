"""``probity procurement ingest`` and ``export-compiled`` from the console: output and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from probity.config import WarehouseSetting

RELEASE = {
    "ocid": "ocds-213czf-1",
    "id": "r1",
    "date": "2020-01-01T00:00:00Z",
    "tag": ["tender"],
    "initiationType": "tender",
}


@pytest.fixture(autouse=True)
def warehouse_file(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    return path


def run(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("procurement", *args, stdout=out, verbosity=0)
    except SystemExit as exc:
        return out.getvalue(), int(exc.code or 0)
    return out.getvalue(), 0


@pytest.mark.django_db
def test_clean_ingest_says_what_was_compiled_and_where_and_exits_0(tmp_path: Path, warehouse_file: Path) -> None:
    source = tmp_path / "releases.jsonl"
    source.write_text(json.dumps(RELEASE) + "\n")
    compiled = tmp_path / "compiled.jsonl"

    output, code = run("ingest", str(source), "--compiled-out", str(compiled))

    assert code == 0
    assert "1 release(s) accepted, 0 rejected" in output
    assert (
        f"Compiled 1 process(es); 1 compiled release(s) in the table ocds_compiled_release of {warehouse_file}"
        in output
    )
    assert json.loads(compiled.read_text())["ocid"] == "ocds-213czf-1"


@pytest.mark.django_db
def test_rejections_are_listed_written_out_and_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "releases.jsonl"
    source.write_text(json.dumps(RELEASE) + "\n{oops\n" + json.dumps({**RELEASE, "ocid": ""}) + "\n")
    errors = tmp_path / "errors.csv"

    output, code = run("ingest", str(source), "--errors-out", str(errors), "--show", "1")

    assert code == 1
    assert "Rejected (1 of 2 shown" in output
    assert f"{source} line 2: [invalid_json]" in output
    assert len(errors.read_text().splitlines()) == 3  # header and two rejections


def test_missing_path_is_a_usage_error_with_exit_2(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("procurement", "ingest", str(tmp_path / "missing.json"))
    assert caught.value.returncode == 2
    assert "does not exist" in str(caught.value)


def test_spark_warehouse_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from probity.warehouse import services

    class SparkStandIn:
        engine = "spark"
        location = "local[1]"

        def close(self) -> None:
            pass

    monkeypatch.setattr(services, "warehouse_connect", lambda setting=None, read_only=False, **_options: SparkStandIn())
    source = tmp_path / "r.json"
    source.write_text(json.dumps(RELEASE))
    with pytest.raises(CommandError) as caught:
        call_command("procurement", "ingest", str(source))
    assert caught.value.returncode == 2
    assert "DuckDB" in str(caught.value)


@pytest.mark.django_db
def test_export_compiled_writes_json_lines(tmp_path: Path) -> None:
    source = tmp_path / "r.json"
    source.write_text(json.dumps(RELEASE))
    run("ingest", str(source))
    target = tmp_path / "out" / "compiled.jsonl"

    output, code = run("export-compiled", str(target))

    assert code == 0
    assert "Wrote 1 compiled release(s)" in output
    assert len(target.read_text().splitlines()) == 1
