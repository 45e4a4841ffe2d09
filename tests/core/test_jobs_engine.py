"""The job engine (probity.core.jobs): queue, run in a worker, progress, failure, retry, cancel, recovery."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from probity.core import jobs
from probity.core.jobs import JobContext, JobFailed, JobOutcome, JobRefused, job_cancel, job_enqueue, jobs_recover
from probity.core.models import Job

pytestmark = pytest.mark.django_db
CALLS: dict[str, int] = {}


@jobs.job_kind("test.count", label="Count", description="Counts to n.", permission="core.run_detector")
def _count(context: JobContext, **parameters: Any) -> JobOutcome:
    context.stage("counting", total=3)
    for _ in range(3):
        context.advance()
        context.log("one more")
    return JobOutcome("Counted to 3.", {"n": 3})


@jobs.job_kind("test.fail", label="Fail", description="Fails.", permission="core.run_detector")
def _fail(context: JobContext) -> None:
    raise JobFailed("The file has no releases.")


@jobs.job_kind("test.crash", label="Crash", description="Crashes.", permission="core.run_detector")
def _crash(context: JobContext) -> None:
    raise KeyError("personal data that must not be shown")


@jobs.job_kind("test.flaky", label="Flaky", description="Fails once.", permission="core.run_detector", max_attempts=2)
def _flaky(context: JobContext) -> str:
    CALLS["flaky"] = CALLS.get("flaky", 0) + 1
    if CALLS["flaky"] == 1:
        raise OperationalError("database is locked")
    return "Worked the second time."


def test_a_queued_job_runs_in_the_worker_and_records_progress_log_and_result(run_jobs: Callable[[], list[Job]]) -> None:
    job = job_enqueue(kind="test.count", actor=None)
    assert job.status == Job.Status.QUEUED and job.task_id
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.summary == "Counted to 3." and job.result == {"n": 3}
    assert job.progress_done == 3 and job.progress_total == 3 and job.attempts == 1
    assert [line["message"] for line in job.log][:3] == ["one more"] * 3
    assert jobs.status_sentence(job) == "Counted to 3."


def test_a_failing_job_says_why_in_plain_words_and_an_unexpected_one_shows_no_data(
    run_jobs: Callable[[], list[Job]],
) -> None:
    failed = job_enqueue(kind="test.fail", actor=None)
    crashed = job_enqueue(kind="test.crash", actor=None)
    run_jobs()
    failed.refresh_from_db()
    crashed.refresh_from_db()
    assert failed.status == crashed.status == Job.Status.FAILED
    assert failed.error == "The file has no releases."
    assert "KeyError" in crashed.error and "personal data" not in crashed.error


def test_a_retryable_failure_is_tried_again_later(run_jobs: Callable[[], list[Job]]) -> None:
    CALLS.clear()
    job = job_enqueue(kind="test.flaky", actor=None)
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.attempts == 1 and job.run_after > timezone.now()
    Job.objects.filter(pk=job.pk).update(run_after=None)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - timedelta(seconds=1))
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2 and job.summary == "Worked the second time."


def test_a_waiting_job_can_be_cancelled_and_then_never_runs(run_jobs: Callable[[], list[Job]]) -> None:
    job = job_enqueue(kind="test.count", actor=None)
    job_cancel(job=job, actor=None)
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.progress_done == 0


def test_a_running_job_stops_at_its_next_progress_report_when_cancelled() -> None:
    job = job_enqueue(kind="test.count", actor=None)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    job.refresh_from_db()
    job_cancel(job=job, actor=None)
    context = JobContext(job)
    with pytest.raises(jobs.JobCancelled):
        context.log("next step")


def test_the_same_event_queues_one_job_while_one_waits() -> None:
    first = job_enqueue(kind="test.count", actor=None, dedupe_key="declaration:1")
    second = job_enqueue(kind="test.count", actor=None, dedupe_key="declaration:1")
    assert first.pk == second.pk
    assert Job.objects.filter(dedupe_key="declaration:1").count() == 1


def test_unknown_kinds_bad_parameters_and_missing_permissions_are_refused(make_user: Callable[..., Any]) -> None:
    with pytest.raises(JobRefused, match="no job called"):
        job_enqueue(kind="test.nothing", actor=None)
    with pytest.raises(JobRefused, match="takes no parameters"):
        job_enqueue(kind="test.fail", parameters={"x": 1}, actor=None)
    with pytest.raises(JobRefused, match="cannot start"):
        job_enqueue(kind="core.jobs_upkeep", parameters={"days": -3}, actor=None)
    declarant = make_user("declarant")
    with pytest.raises(JobRefused, match="may not start"):
        job_enqueue(kind="test.count", actor=declarant)


def test_a_job_left_running_by_a_dead_worker_is_recovered() -> None:
    job = job_enqueue(kind="test.fail", actor=None)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    recovered = jobs_recover()
    job.refresh_from_db()
    assert [r.pk for r in recovered] == [job.pk]
    assert job.status == Job.Status.FAILED and "stopped answering" in job.error


def test_upkeep_removes_old_finished_jobs_and_inbox_files_no_waiting_job_needs(
    run_jobs: Callable[[], list[Job]],
) -> None:
    import os

    old = job_enqueue(kind="test.count", actor=None)
    run_jobs()
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=100))
    needed = jobs.inbox_save(name="needed.json", chunks=[b"{}"])
    stale = jobs.inbox_save(name="stale.json", chunks=[b"{}"])
    long_ago = (timezone.now() - timedelta(days=100)).timestamp()
    for name in (needed, stale):
        os.utime(jobs.inbox_dir() / name, (long_ago, long_ago))
    waiting = job_enqueue(kind="test.count", actor=None)
    Job.objects.filter(pk=waiting.pk).update(parameters={"file": needed})
    upkeep = job_enqueue(kind="core.jobs_upkeep", actor=None)
    from probity.core.jobs import job_run

    job_run(upkeep.pk)
    upkeep.refresh_from_db()
    assert upkeep.status == Job.Status.SUCCEEDED, upkeep.error
    assert upkeep.result["removed"] == 1 and upkeep.result["inbox_files"] == 1
    assert not Job.objects.filter(pk=old.pk).exists()
    assert (jobs.inbox_dir() / needed).exists() and not (jobs.inbox_dir() / stale).exists()


def test_an_inbox_name_cannot_reach_outside_the_inbox() -> None:
    with pytest.raises(JobFailed, match="not a file in the job inbox"):
        jobs.inbox_path("../secret_key")
