"""The demo country's background jobs: generate its files, read them into the modules, with events."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from probity.config import WarehouseSetting
from probity.core.jobs import JobRefused, job_enqueue, job_run
from probity.core.models import Job
from probity.demo.services import demo_load
from probity.ownership.models import Statement
from probity.procurement.models import Debarment
from tests.conftest import DemoCountry

pytestmark = pytest.mark.django_db

RunJobs = Callable[[], list[Job]]


@pytest.fixture(autouse=True)
def own_folders(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    return settings.VAR_DIR


def test_generate_writes_the_files_into_a_folder_of_the_data_folder(own_folders: Path, run_jobs: RunJobs) -> None:
    job = job_enqueue(kind="demo.generate", parameters={"seed": 3, "scale": 0.01, "folder": "demo"}, actor=None)
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert (own_folders / "demo" / "manifest.json").is_file()
    assert job.result["folder"] == "demo" and job.result["processes"] > 0
    assert job.summary.startswith("Demo country (seed 3, scale 0.01) written to the folder “demo”")
    with pytest.raises(JobRefused, match="folder name"):
        job_enqueue(kind="demo.generate", parameters={"folder": "../elsewhere"}, actor=None)


def test_ingest_reads_the_files_once_and_queues_the_detectors(
    demo_country: DemoCountry, own_folders: Path, make_user: Any
) -> None:
    own_folders.mkdir(parents=True)
    shutil.copytree(demo_country.out, own_folders / "demo")
    demo_load(country=demo_country.country)
    admin = make_user("administrator")
    parameters = {"steps": ["ownership", "debarments"]}
    first = job_enqueue(kind="demo.ingest", parameters=parameters, actor=admin)
    assert first.queue == "warehouse"
    job_run(first.pk)
    first.refresh_from_db()
    assert first.status == Job.Status.SUCCEEDED, first.error
    assert first.result["steps"] == 2 and first.result["failed"] == 0
    assert [line["message"].split(":")[0] for line in first.log[:2]] == ["ownership", "debarments"]
    queued = {j.parameters["detector"] for j in Job.objects.filter(kind="core.detector_run", status="queued")}
    assert {"OWN-BO-MISMATCH", "OWN-COI-OFFICIAL"} <= queued
    statements, debarments = Statement.objects.count(), Debarment.objects.count()
    assert statements and debarments
    again = job_enqueue(kind="demo.ingest", parameters=parameters, actor=admin)
    job_run(again.pk)
    again.refresh_from_db()
    assert again.status == Job.Status.SUCCEEDED
    assert (Statement.objects.count(), Debarment.objects.count()) == (statements, debarments)
    with pytest.raises(JobRefused, match="may not start"):
        job_enqueue(kind="demo.ingest", actor=make_user("analyst"))


def test_ingest_without_generated_files_fails_with_a_sentence(run_jobs: RunJobs) -> None:
    job = job_enqueue(kind="demo.ingest", parameters={"folder": "nothing-here"}, actor=None)
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "The folder “nothing-here” holds no demo country: generate it first."
