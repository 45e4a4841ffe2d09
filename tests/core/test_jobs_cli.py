"""`probity jobs`: start, follow, cancel and retry jobs from the console, run a worker, and edit schedules."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django import forms
from django.core.management import call_command
from django.core.management.base import CommandError

from probity.core import jobs
from probity.core.jobs import InboxFileField, JobContext, JobFailed, JobOutcome, inbox_path, job_enqueue
from probity.core.models import AuditEntry, Job, Schedule
from probity.core.scheduler import schedules_sync

pytestmark = pytest.mark.django_db


class CsvForm(forms.Form):
    table = InboxFileField(label="Table")
    separator = forms.CharField(label="Separator", initial=",", required=False)


@jobs.job_kind(
    "cli.rows", label="Count rows", description="Counts a table's rows.", permission="core.run_detector", form=CsvForm
)
def _count_rows(context: JobContext, *, table: str, separator: str = ",") -> JobOutcome:
    rows = inbox_path(table).read_text(encoding="utf-8").splitlines()
    context.stage("rows read", total=len(rows))
    context.advance(len(rows))
    return JobOutcome(f"The table has {len(rows)} rows.", {"rows": len(rows)})


@jobs.job_kind("cli.fail", label="Always fails", description="Fails.", permission="core.run_detector")
def _fail(context: JobContext) -> None:
    raise JobFailed("The file has no releases.")


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("jobs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def no_reprs(text: str, *, json_allowed: bool = False) -> None:
    assert "<Job" not in text and "object at 0x" not in text and "<lazy" not in text
    assert json_allowed or ("{'" not in text and '{"' not in text)


def test_a_job_started_on_the_console_runs_in_a_batch_worker_and_is_shown(
    run_jobs: Callable[[], list[Job]],
) -> None:
    out, _err = run("start", "core.audit_verify")
    job = Job.objects.get()
    assert out.startswith(f"Job {job.pk} queued: Check the audit log is waiting for a worker.")
    assert (job.trigger, job.requested_by_name) == (Job.Trigger.CLI, "system:cli")
    run("worker", "--batch", "--interval", "0")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    out, _err = run("show", str(job.pk))
    no_reprs(out)
    assert f"Job {job.pk}: Check the audit log" in out
    assert "The audit log is intact" in out
    assert "Started how:" in out and "Started from the command line" in out
    assert "Entries" in out and "Finished in" in out  # the result table and the log


def test_start_wait_shows_progress_and_exits_1_when_the_job_fails(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    run_jobs: Callable[[], list[Job]],
    tmp_path: Path,
) -> None:
    real_wait_for = jobs.wait_for

    def worker_then_wait(job: Job, *, timeout: float = 60.0, poll: float = 0.2) -> Job:
        run_jobs()  # the worker that would run in another process
        return real_wait_for(job, timeout=timeout, poll=poll)

    monkeypatch.setattr("probity.core.management.commands.jobs.wait_for", worker_then_wait)
    table = tmp_path / "suppliers.csv"
    table.write_text("a,b\nc,d\ne,f\n", encoding="utf-8")
    out, _err = run("start", "cli.rows", "--file", f"table={table}", "--set", "separator=;", "--wait", "30")
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCEEDED and job.parameters["separator"] == ";"
    assert job.parameters["table"].endswith("-suppliers.csv")
    assert inbox_path(job.parameters["table"]).read_text(encoding="utf-8") == "a,b\nc,d\ne,f\n"
    assert "The table has 3 rows." in out
    bar = capsys.readouterr().err  # the progress bar (tqdm), on standard error
    assert "Count rows: rows read" in bar and "3/3" in bar

    with pytest.raises(SystemExit) as exit_status:
        run("start", "cli.fail", "--wait")
    assert exit_status.value.code == 1


def test_bad_parameters_unknown_kinds_and_missing_files_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot start: Keep finished jobs for"):
        run("start", "core.jobs_upkeep", "--set", "days=-2")
    with pytest.raises(CommandError, match="There is no job called"):
        run("start", "core.nothing")
    with pytest.raises(CommandError, match="must be NAME=VALUE"):
        run("start", "core.jobs_upkeep", "--set", "days")
    with pytest.raises(CommandError, match="there is no file"):
        run("start", "cli.rows", "--file", f"table={tmp_path / 'absent.csv'}")
    assert not Job.objects.exists()


def test_jobs_are_listed_filtered_cancelled_and_retried() -> None:
    first = job_enqueue(kind="core.audit_verify", actor=None)
    second = job_enqueue(kind="core.jobs_upkeep", parameters={"days": 7}, actor=None)
    out, _err = run("list")
    no_reprs(out)
    header = out.splitlines()[0]
    assert header.split()[:3] == ["ID", "Job", "Status"]
    assert "Tidy the job queue" in out and "Check the audit log" in out
    out, _err = run("list", "--kind", "core.jobs_upkeep")
    assert "Check the audit log" not in out and "Tidy the job queue" in out

    out, _err = run("cancel", str(first.pk))
    assert out.strip() == f"Job {first.pk} was cancelled."
    assert AuditEntry.objects.filter(action="job_cancel", actor="system:cli").exists()
    out, _err = run("list", "--status", "cancelled")
    assert f"{first.pk} " in out and "Tidy the job queue" not in out
    out, _err = run("retry", str(first.pk))
    again = Job.objects.exclude(pk__in=[first.pk, second.pk]).get()
    assert f"queued again as job {again.pk}" in out and again.trigger == Job.Trigger.CLI
    with pytest.raises(CommandError, match="Only a failed or cancelled job"):
        run("retry", str(second.pk))
    out, _err = run("show", str(second.pk))
    assert "Keep finished jobs for (days)" in out and "7" in out
    with pytest.raises(CommandError, match="There is no job 999999"):
        run("show", "999999")


def test_the_kinds_are_listed_with_their_parameters() -> None:
    out, _err = run("kinds")
    no_reprs(out, json_allowed=True)  # a help text may show a JSON example
    assert "core.audit_verify" in out and "Check the audit log" in out
    assert "days" in out and "Keep finished jobs for (days)" in out


def test_the_worker_refuses_an_unknown_queue() -> None:
    with pytest.raises(CommandError, match="Unknown queue"):
        run("worker", "--queue", "nightly", "--batch")


def test_schedules_are_listed_changed_and_run(run_jobs: Callable[[], list[Job]]) -> None:
    schedules_sync()
    out, _err = run("schedules")
    no_reprs(out)
    assert "audit-check" in out and "30 3 * * *" in out and "Nightly check of the audit log" in out
    with pytest.raises(CommandError, match="is not a cron expression"):
        run("schedule", "audit-check", "--cron", "nightly")
    out, _err = run("schedule", "audit-check", "--cron", "15 1 * * *", "--disable")
    schedule = Schedule.objects.get(code="audit-check")
    assert (schedule.cron, schedule.enabled, schedule.updated_by) == ("15 1 * * *", False, "system:cli")
    assert "The schedule audit-check was saved." in out and "Enabled:" in out
    assert AuditEntry.objects.filter(object_type="core.schedule", actor="system:cli").exists()
    with pytest.raises(CommandError, match="switched off"):
        run("schedule", "audit-check", "--run-now")
    out, _err = run("schedule", "audit-check", "--enable", "--run-now")
    job = Job.objects.get()
    assert f"Job {job.pk} queued" in out and job.schedule == schedule and job.trigger == Job.Trigger.SCHEDULE
    with pytest.raises(CommandError, match="There is no schedule"):
        run("schedule", "nothing")
