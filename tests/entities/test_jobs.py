"""The entities module's background jobs: FtM import, export (with its download), sync with the core
registers and entity resolution, run by the worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from probity.core.jobs import JobRefused, inbox_save, job_enqueue, job_run
from probity.core.models import AuditEntry, Job, Organisation, Person
from probity.entities.models import Entity, MatchCandidate

pytestmark = pytest.mark.django_db

RunJobs = Callable[[], list[Job]]


@pytest.fixture(autouse=True)
def own_folders(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"


def inbox(name: str, content: str | bytes) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return inbox_save(name=name, chunks=[data])


def finished(job: Job) -> Job:
    job.refresh_from_db()
    return job


def detectors_queued() -> set[str]:
    return {j.parameters["detector"] for j in Job.objects.filter(kind="core.detector_run", status=Job.Status.QUEUED)}


def test_import_of_a_real_list_then_again_duplicates_nothing_and_queues_the_detectors(
    shared_data: Path, make_user: Any
) -> None:
    path = shared_data / "ftm" / "zala.ftm.jsonl"
    file = inbox(path.name, path.read_bytes())
    admin = make_user("administrator")
    first = job_enqueue(kind="entities.import_ftm", parameters={"file": file}, actor=admin)
    job_run(first.pk)
    first = finished(first)
    assert first.status == Job.Status.SUCCEEDED, first.error
    assert first.result["dataset"] == "zala" and first.result["created"] == 91 and first.result["rejected"] == 0
    assert first.progress_done == first.progress_total == 91
    assert first.summary == "zala.ftm.jsonl into “zala”: 91 created, 0 updated, 0 unchanged, 0 rejected."
    assert "OWN-COI-PEP-SUPPLIER" in detectors_queued()
    Job.objects.filter(kind="core.detector_run").delete()
    count = Entity.objects.count()
    again = job_enqueue(kind="entities.import_ftm", parameters={"file": file}, actor=admin)
    job_run(again.pk)
    again = finished(again)
    assert (again.result["created"], again.result["unchanged"]) == (0, 91)
    assert Entity.objects.count() == count
    assert not detectors_queued()  # nothing changed


def test_bad_entities_are_named_and_the_good_ones_kept(run_jobs: RunJobs) -> None:
    lines = [
        '{"id": "p1", "schema": "Person", "properties": {"name": ["Ana Lima"]}}',
        "not json",
        '{"id": "x1", "schema": "Spaceship", "properties": {}}',
    ]
    job = job_enqueue(
        kind="entities.import_ftm", parameters={"file": inbox("mixed.ftm.jsonl", "\n".join(lines))}, actor=None
    )
    run_jobs()
    job = finished(job)
    assert job.status == Job.Status.SUCCEEDED
    assert (job.result["created"], job.result["rejected"]) == (1, 2)
    messages = [line["message"] for line in job.log]
    assert "Rejected: line 2: the record is not valid JSON: Expecting value (line 2, column 1)" in messages
    assert "Rejected: line 3 (x1): unknown schema 'Spaceship'" in messages
    assert not any("Ana Lima" in message for message in messages)  # no personal data in the log


def test_a_file_that_is_not_ftm_fails_with_a_sentence(run_jobs: RunJobs) -> None:
    job = job_enqueue(
        kind="entities.import_ftm", parameters={"file": inbox("people.csv", "name,born\nx,1970\n")}, actor=None
    )
    run_jobs()
    job = finished(job)
    assert job.status == Job.Status.FAILED
    assert job.error == (
        "people.csv holds no usable FollowTheMoney entity: all 2 were rejected; "
        "the first: line 1: the record is not valid JSON: Expecting value (line 1, column 1)"
    )
    assert not Entity.objects.exists()


def test_the_export_is_written_to_a_file_offered_only_to_those_who_may_export(
    make_user: Any, verified_client: Callable[..., Client], run_jobs: RunJobs, settings: Any
) -> None:
    Person.objects.create(name="Ana Lima")
    admin = make_user("administrator")
    job = job_enqueue(kind="entities.export_ftm", actor=admin)
    assert job.queue == "warehouse"
    run_jobs()
    job = finished(job)
    assert job.status == Job.Status.SUCCEEDED, job.error
    name = job.result["file"]
    assert name.startswith("probity-registers-") and name.endswith(f"-job{job.pk}.ftm.jsonl")
    path = Path(settings.VAR_DIR) / "exports" / name
    assert [json.loads(line)["schema"] for line in path.read_text(encoding="utf-8").splitlines()] == ["Person"]
    assert job.result["entities"] == 1 and job.result["download"] in job.summary
    assert AuditEntry.objects.filter(action="export", object_type="entities.ftm", actor=admin.username).exists()
    client = verified_client(user=admin)
    response = client.get(job.result["download"])
    assert response.status_code == 200 and b"Ana Lima" in b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert verified_client("analyst").get(job.result["download"]).status_code == 403
    assert client.get(reverse("entities:export_file", kwargs={"name": "..%2Fdb.sqlite3"})).status_code == 404
    assert client.get(reverse("entities:export_file", kwargs={"name": "other.ftm.jsonl"})).status_code == 404
    with pytest.raises(JobRefused):
        job_enqueue(kind="entities.export_ftm", actor=make_user("analyst"))


def test_sync_core_and_link_find_a_pair_once(run_jobs: RunJobs, make_user: Any) -> None:
    Organisation.objects.create(name="Acme Trading Ltd")
    lines = [
        '{"id": "a", "schema": "Person", "properties": {"name": ["Zhang Wei"], "birthDate": ["1971-03-02"]}}',
        '{"id": "b", "schema": "Person", "properties": {"name": ["张伟"], "birthDate": ["1971-03-02"]}}',
    ]
    job_enqueue(kind="entities.import_ftm", parameters={"file": inbox("t.ftm.jsonl", "\n".join(lines))}, actor=None)
    sync = job_enqueue(kind="entities.sync_core", actor=make_user("administrator"))
    run_jobs()
    sync = finished(sync)
    assert sync.status == Job.Status.SUCCEEDED, sync.error
    assert sync.result["created"] == 1 and Entity.objects.filter(dataset="probity").count() == 1
    analyst = make_user("analyst")
    link = job_enqueue(kind="entities.link", parameters={"schema": "Person", "threshold": 0.5}, actor=analyst)
    run_jobs()
    link = finished(link)
    assert link.status == Job.Status.SUCCEEDED, link.error
    assert link.result["created"] == 1 and MatchCandidate.objects.count() == 1
    again = job_enqueue(kind="entities.link", parameters={}, actor=analyst)
    run_jobs()
    again = finished(again)
    assert (again.result["created"], again.result["updated"]) == (0, 1) and MatchCandidate.objects.count() == 1


def test_the_main_page_offers_the_jobs_to_those_who_may_start_them(verified_client: Callable[..., Client]) -> None:
    try:
        start = reverse("core:job_start")
    except NoReverseMatch:
        pytest.skip("the Jobs pages are not installed")
    admin_page = verified_client("administrator").get("/entities/").content.decode()
    assert f"{start}?kind=entities.import_ftm" in admin_page and f"{start}?kind=entities.link" in admin_page
    analyst_page = verified_client("analyst").get("/entities/").content.decode()
    assert "kind=entities.link" in analyst_page and "kind=entities.import_ftm" not in analyst_page
