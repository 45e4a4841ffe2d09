"""Procurement's background jobs: OCDS ingest, the risk indicators and debarment imports, run by the worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import NoReverseMatch, reverse

from probity.config import WarehouseSetting
from probity.core.jobs import inbox_save, job_enqueue, job_run
from probity.core.models import Job
from probity.procurement.jobs import original_name
from probity.procurement.models import Debarment

pytestmark = pytest.mark.django_db

RunJobs = Callable[[], list[Job]]
HEADER = "id,name,identifiers,country,authority,start_date,end_date,grounds\n"


@pytest.fixture(autouse=True)
def own_folders(settings: Any, tmp_path: Path) -> Path:
    """Each test gets its own data folder (job inbox, exports) and DuckDB warehouse file."""
    settings.VAR_DIR = tmp_path / "var"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    return tmp_path


def release(ocid: str, release_id: str = "r1", **fields: Any) -> dict[str, Any]:
    return {
        "ocid": ocid,
        "id": release_id,
        "date": "2021-03-01T00:00:00Z",
        "tag": ["award"],
        "initiationType": "tender",
        "buyer": {"id": "B1", "name": "Ministry of Works"},
        "tender": {"id": "t", "procurementMethod": "open", "numberOfTenderers": 1},
        "awards": [{"id": "a1", "status": "active", "value": {"amount": 1000, "currency": "USD"}}],
        **fields,
    }


def inbox(name: str, content: str | bytes) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return inbox_save(name=name, chunks=[data])


def ocds_package(*releases: dict[str, Any]) -> str:
    return json.dumps({"version": "1.1", "publishedDate": "2021-03-02T00:00:00Z", "releases": list(releases)})


def queued(kind: str) -> list[Job]:
    return list(Job.objects.filter(kind=kind, status=Job.Status.QUEUED).order_by("pk"))


def run_one(job: Job) -> Job:
    """Runs just this job in this process (the events it raises stay queued, to be looked at)."""
    job_run(job.pk)
    job.refresh_from_db()
    return job


def test_the_inbox_prefix_is_dropped_from_names_shown() -> None:
    assert original_name(inbox("awards 2021.json", "{}")) == "awards-2021.json"


def test_ingest_keeps_valid_releases_names_the_bad_one_and_queues_the_detectors(make_user: Any) -> None:
    bad = release("ocds-x-3")
    del bad["date"]
    file = inbox("awards.json", ocds_package(release("ocds-x-1"), release("ocds-x-2"), bad))
    analyst = make_user("analyst")
    job = job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=analyst)
    assert job.queue == "warehouse"
    job = run_one(job)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert (job.result["accepted"], job.result["rejected"], job.result["processes"]) == (2, 1, 2)
    assert job.summary.startswith("awards.json: 2 release(s) accepted")
    messages = [line["message"] for line in job.log]
    rejected = [m for m in messages if m.startswith("Rejected:")]
    assert rejected == [
        "Rejected: awards.json releases[2] (ocds-x-3, r1): the release has no date, so it cannot be "
        "ordered for compiling"
    ]
    assert job.progress_label == "processes compiled" and job.progress_done == 2
    # The indicators rebuild their inputs in procurement.detect; the other modules' detectors follow it.
    assert len(queued("procurement.detect")) == 1
    detectors = {j.parameters["detector"] for j in queued("core.detector_run")}
    assert {"OWN-COI-PEP-SUPPLIER", "OWN-COI-BIDDER-LINKS"} <= detectors
    assert not any(code.startswith(("P-", "R0")) for code in detectors)
    assert all(j.trigger == Job.Trigger.EVENT for j in queued("core.detector_run"))


def test_ingesting_the_same_file_again_changes_nothing_and_queues_nothing(make_user: Any) -> None:
    file = inbox("awards.json", ocds_package(release("ocds-x-1"), release("ocds-x-2")))
    first = run_one(job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=None))
    Job.objects.filter(status=Job.Status.QUEUED).update(status=Job.Status.CANCELLED, dedupe_key="")
    again = run_one(job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=None))
    assert first.status == again.status == Job.Status.SUCCEEDED
    assert (first.result["new"], again.result["new"], again.result["unchanged"]) == (2, 0, 2)
    assert again.result["processes"] == first.result["processes"] == 2
    assert not queued("procurement.detect") and not queued("core.detector_run")


def test_a_file_that_is_not_ocds_fails_with_a_sentence_naming_it() -> None:
    file = inbox("suppliers.csv", "name,amount\nAcme,12\n")
    job = run_one(job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=None))
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("suppliers.csv holds no usable OCDS release: all 1 item(s) were rejected; the first:")
    assert "not valid JSON" in job.error
    assert not queued("procurement.detect")


def test_a_real_publishers_releases_ingest_in_the_background(shared_data: Path, run_jobs: RunJobs) -> None:
    folder = shared_data / "ocds" / "real" / "uk-contracts-finder" / "sample" / "releases"
    path = sorted(folder.glob("*.json"))[0]
    file = inbox(path.name, path.read_bytes())
    job = run_one(job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=None))
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["accepted"] >= 1 and job.result["processes"] >= 1


def test_detect_judges_the_ingested_processes_then_queues_the_other_detectors() -> None:
    file = inbox("awards.json", ocds_package(release("ocds-x-1"), release("ocds-x-2")))
    run_one(job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=None))
    Job.objects.filter(kind="core.detector_run").delete()
    (detect,) = queued("procurement.detect")
    detect = run_one(detect)
    assert detect.status == Job.Status.SUCCEEDED, detect.error
    assert detect.result["processes"] == 2 and detect.result["indicators"] > 10
    assert any(line["message"].startswith("P-SPLIT:") for line in detect.log)
    detectors = {j.parameters["detector"] for j in queued("core.detector_run")}
    assert "OWN-COI-BIDDER-LINKS" in detectors and "P-SPLIT" not in detectors


def test_detect_without_compiled_releases_says_to_ingest_first(run_jobs: RunJobs) -> None:
    job = job_enqueue(kind="procurement.detect", actor=None)
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "The warehouse holds no compiled releases yet: ingest OCDS data first."


def test_debarment_import_keeps_good_rows_and_a_rerun_duplicates_nothing(run_jobs: RunJobs, make_user: Any) -> None:
    text = (
        HEADER
        + "d1,Alpha Build LLC,11111111,XD,Agency,2023-01-01,2024-01-01,Fraud\n"
        + "d2,Beta Works,,XD,Agency,2023-13-01,,Fraud\n"
        + "d3,Gamma Trade,,XD,Agency,2022-02-02,,Bribery\n"
    )
    file = inbox("national list.csv", text)
    analyst = make_user("analyst")
    first = job_enqueue(kind="procurement.debarment_import", parameters={"file": file}, actor=analyst)
    run_jobs()
    first.refresh_from_db()
    assert first.status == Job.Status.SUCCEEDED, first.error
    assert first.result == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert "Rejected: line 3: start_date '2023-13-01' is not a date (YYYY-MM-DD)" in [m["message"] for m in first.log]
    assert set(Debarment.objects.values_list("source_name", flat=True)) == {"national-list.csv"}
    again = job_enqueue(kind="procurement.debarment_import", parameters={"file": file}, actor=analyst)
    run_jobs()
    again.refresh_from_db()
    assert again.result == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 1}
    assert Debarment.objects.count() == 2
    assert not queued("procurement.detect")  # no compiled releases to judge yet


def test_a_debarment_file_without_the_columns_fails_with_a_sentence(run_jobs: RunJobs) -> None:
    job = job_enqueue(
        kind="procurement.debarment_import", parameters={"file": inbox("list.csv", "who,when\nx,y\n")}, actor=None
    )
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "list.csv: the header lacks the column(s) id, name"


def test_only_analysts_and_administrators_may_ingest(make_user: Any) -> None:
    from probity.core.jobs import JobRefused

    file = inbox("awards.json", ocds_package(release("ocds-x-1")))
    with pytest.raises(JobRefused, match="may not start"):
        job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=make_user("verifier"))
    assert job_enqueue(kind="procurement.ingest", parameters={"file": file}, actor=make_user("administrator"))


def test_the_api_imports_a_debarment_list_in_the_background(make_user: Any, run_jobs: RunJobs) -> None:
    from probity.core.services import api_token_create

    analyst: User = make_user("analyst")
    _token, secret = api_token_create(user=analyst, name="test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("list.csv", (HEADER + "d1,Alpha,1,XD,Agency,2023-01-01,,Fraud\n").encode())
    response = client.post("/api/v1/procurement/debarments/import", {"file": upload, "background": "true"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["url"] == f"/api/v1/jobs/{body['job']}"
    run_jobs()
    assert Job.objects.get(pk=body["job"]).result["created"] == 1


def test_the_pages_offer_the_jobs_to_those_who_may_start_them(verified_client: Callable[..., Client]) -> None:
    try:
        start = reverse("core:job_start")
    except NoReverseMatch:
        pytest.skip("the Jobs pages are not installed")
    analyst = verified_client("analyst")
    assert f"{start}?kind=procurement.ingest" in analyst.get("/procurement/ingest/").content.decode()
    assert f"{start}?kind=procurement.debarment_import" in analyst.get("/procurement/debarments/").content.decode()
    verifier = verified_client("verifier")
    assert "kind=procurement.ingest" not in verifier.get("/procurement/ingest/").content.decode()
