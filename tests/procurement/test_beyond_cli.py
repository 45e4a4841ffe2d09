"""`probity procurement detect` and `probity procurement debarment`: what an operator sees, and exit codes."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from probity.config import WarehouseSetting
from probity.core.models import Finding
from probity.procurement.models import Debarment
from probity.warehouse.services import warehouse_connection
from tests.conftest import DemoCountry

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("procurement", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def demo(demo_country: DemoCountry, tmp_path: Path, settings: Any) -> Path:
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    return demo_country.out


def test_detect_prints_counts_per_indicator_and_stores_findings(demo: Path) -> None:
    out, _ = run("detect", str(demo / "ocds" / "releases.jsonl"), "--findings", "flags")
    assert "contracting process(es) judged by 24 indicator(s)" in out  # 13 beyond + 11 Cardinal
    assert "P-SPLIT" in out and "R018" in out and "procurement_risk_process" in out
    assert Finding.objects.filter(detector_code="P-SPLIT").exists()
    assert not Finding.objects.filter(outcome="pass", detector_code__startswith="P-").exists()
    with warehouse_connection() as warehouse:
        assert "procurement_risk_buyer" in warehouse.list_tables()


def test_detect_takes_parameters_and_refuses_unknown_ones(demo: Path) -> None:
    releases = str(demo / "ocds" / "releases.jsonl")
    out, _ = run("detect", releases, "--indicators", "P-SPLIT", "--param", "P-SPLIT.threshold=10")
    assert "judged by 1 indicator(s)" in out
    assert "flag       0" in out  # nothing is just under a threshold of 10
    with pytest.raises(CommandError, match="Unknown indicator"):
        run("detect", releases, "--indicators", "P-NOPE")
    with pytest.raises(CommandError, match="CODE.NAME=VALUE"):
        run("detect", releases, "--param", "threshold=10")
    with pytest.raises(CommandError, match="no parameter 'nope'"):
        run("detect", releases, "--param", "P-SPLIT.nope=1")
    with pytest.raises(CommandError, match="is not a file"):
        run("detect", str(demo / "missing.jsonl"))


def test_debarment_import_and_list(demo: Path) -> None:
    out, _ = run("debarment", "import", str(demo / "debarments" / "debarments.csv"))
    assert "new" in out and "0 rejected" in out
    again, _ = run("debarment", "import", str(demo / "debarments" / "debarments.csv"))
    assert " 0 new" in again
    listed, _ = run("debarment", "list")
    assert f"{Debarment.objects.count()} debarment(s)." in listed
    ftm, _ = run("debarment", "import", str(demo / "ftm" / "entities.ftm.jsonl"), "--source", "demo-ftm")
    assert "0 rejected" in ftm


def test_a_debarment_file_with_bad_rows_exits_with_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,name,start_date\nx1,Alpha,2023-02-30\nx2,Beta,2023-02-01\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        run("debarment", "import", str(path))
    assert exited.value.code == 1
    assert Debarment.objects.filter(name="Beta").exists()


def test_detect_from_the_flattened_procurement_tables(demo: Path) -> None:
    from probity.procurement.flatten import flatten_into_warehouse

    with pytest.raises(CommandError, match="flatten compiled releases first"):
        run("detect", "--from-tables")
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, demo / "ocds" / "releases.jsonl")
    out, _ = run("detect", "--from-tables", "--indicators", "P-DEBARRED,P-NOTBIDDER")
    assert "judged by 2 indicator(s)" in out
    assert Finding.objects.filter(detector_code="P-NOTBIDDER", outcome="flag").exists()
    with pytest.raises(CommandError, match="not both"):
        run("detect", str(demo / "ocds" / "releases.jsonl"), "--from-tables")


def test_detect_without_a_file_reads_the_ingested_compiled_releases(demo: Path) -> None:
    try:
        run("ingest", str(demo / "ocds" / "releases.jsonl"))
    except SystemExit as exc:  # pragma: no cover - only when the demo releases stop being valid
        pytest.fail(f"the ingest of the demo releases exited with {exc.code}")
    out, _ = run("detect", "--indicators", "P-NONOPEN")
    processes = sum(1 for _ in (demo / "ocds" / "releases.jsonl").open(encoding="utf-8"))
    assert out.startswith(f"{processes} contracting process(es) judged by 1 indicator(s)")


def test_each_indicator_also_runs_as_a_core_detector_after_detect(demo: Path) -> None:
    run("detect", str(demo / "ocds" / "releases.jsonl"), "--indicators", "P-SIGNEDEARLY", "--findings", "flags")
    before = Finding.objects.filter(detector_code="P-SIGNEDEARLY").count()
    call_command(
        "detectors", "run", "P-SIGNEDEARLY", "--param", "findings_for=flag,pass", stdout=StringIO(), stderr=StringIO()
    )
    stored = Finding.objects.filter(detector_code="P-SIGNEDEARLY")
    assert stored.count() > before
    assert set(stored.values_list("outcome", flat=True)) == {"flag", "pass"}
