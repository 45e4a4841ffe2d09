"""The BODS ingest as a background job: counts, bad statements named, re-runs that duplicate nothing, events."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from probity.core.jobs import inbox_save, job_enqueue, job_run
from probity.core.models import Job
from probity.ownership.models import IngestBatch, Statement
from tests.ownership.test_ingest import entity, holds, person

pytestmark = pytest.mark.django_db

RunJobs = Callable[[], list[Job]]


@pytest.fixture(autouse=True)
def own_inbox(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"


def inbox(name: str, content: str | bytes) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return inbox_save(name=name, chunks=[data])


def ingest(file: str, *, actor: Any = None, **parameters: Any) -> Job:
    job = job_enqueue(kind="ownership.ingest", parameters={"file": file, **parameters}, actor=actor)
    job_run(job.pk)
    job.refresh_from_db()
    return job


def test_a_real_bods_example_ingests_and_a_rerun_stores_nothing_twice(
    bods_examples: Path, run_jobs: RunJobs, make_user: Any
) -> None:
    file = inbox("indirect-ownership.json", (bods_examples / "indirect-ownership.json").read_bytes())
    analyst = make_user("analyst")
    first = job_enqueue(kind="ownership.ingest", parameters={"file": file, "dataset": "gb"}, actor=analyst)
    assert first.queue == "default"
    run_jobs()
    first.refresh_from_db()
    assert first.status == Job.Status.SUCCEEDED, first.error
    stored = first.result["stored"]
    assert stored > 0 and first.result["rejected"] == 0
    assert first.summary.startswith(f"indirect-ownership.json: {first.result['read']} statement(s) read, {stored}")
    batch = IngestBatch.objects.get(pk=first.result["batch"])
    assert (batch.dataset, batch.source, batch.started_by) == ("gb", "indirect-ownership.json", analyst.username)
    count = Statement.objects.count()
    again = job_enqueue(kind="ownership.ingest", parameters={"file": file, "dataset": "gb"}, actor=analyst)
    run_jobs()
    again.refresh_from_db()
    assert again.status == Job.Status.SUCCEEDED
    assert (again.result["stored"], again.result["unchanged"]) == (0, stored)
    assert Statement.objects.count() == count


def test_a_bad_statement_is_named_and_its_neighbours_kept_and_the_detectors_are_queued() -> None:
    broken = holds("r9", "p1", "c1", 10)
    del broken["recordDetails"]["subject"]
    job = ingest(inbox("register.json", json.dumps([entity("c1"), person("p1"), broken])))
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert (job.result["stored"], job.result["rejected"]) == (2, 1)
    rejected = [line["message"] for line in job.log if line["message"].startswith("Rejected:")]
    assert len(rejected) == 1 and rejected[0].startswith("Rejected: #3 ")
    assert rejected[0].endswith("the statement does not follow the BODS 0.4 schema (at recordDetails)")
    detectors = {
        j.parameters["detector"] for j in Job.objects.filter(kind="core.detector_run", status=Job.Status.QUEUED)
    }
    assert {"OWN-BO-MISMATCH", "OWN-COI-OFFICIAL", "OWN-DATA-QUALITY"} <= detectors
    assert "CORE-ID-SHARED" not in detectors


def test_a_file_that_is_not_bods_fails_with_a_sentence() -> None:
    job = ingest(inbox("owners.json", "[{"))
    assert job.status == Job.Status.FAILED
    assert job.error.startswith(
        "owners.json holds no usable BODS statement: all 1 were rejected; the first: #1: line 1: the file ends in the "
        "middle of this record"
    )
    rejected = ingest(inbox("owners.json", json.dumps([{"statementId": "x"}])))
    assert rejected.status == Job.Status.FAILED
    assert rejected.error.startswith("owners.json holds no usable BODS statement: all 1 were rejected; the first: #1")
    assert not Job.objects.filter(kind="core.detector_run").exists()


def test_the_api_hands_the_statements_to_a_job(verified_client: Callable[..., Client], run_jobs: RunJobs) -> None:
    body = {"dataset": "api", "statements": [entity("c1"), person("p1")]}
    analyst = verified_client("analyst")
    response = analyst.post("/api/v1/ownership/ingest", body, content_type="application/json")
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] == "queued" and data["url"] == f"/api/v1/jobs/{data['job']}"
    run_jobs()
    job = Job.objects.get(pk=data["job"])
    assert job.trigger == Job.Trigger.API and job.result["stored"] == 2
    assert IngestBatch.objects.get(pk=job.result["batch"]).source == "api"
    denied = verified_client("verifier").post("/api/v1/ownership/ingest", body, content_type="application/json")
    assert denied.status_code == 403


def test_the_main_page_offers_the_ingest_to_those_who_may_start_it(verified_client: Callable[..., Client]) -> None:
    try:
        start = reverse("core:job_start")
    except NoReverseMatch:
        pytest.skip("the Jobs pages are not installed")
    assert f"{start}?kind=ownership.ingest" in verified_client("analyst").get("/ownership/").content.decode()
    assert "kind=ownership.ingest" not in verified_client("verifier").get("/ownership/").content.decode()
