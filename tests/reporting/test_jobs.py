"""The reporting channel's background jobs: retention, the handlers' summaries and the deadline check run in
the worker and on their schedules, and what they leave in the job (parameters, log, result) is counts only."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from probity.core.jobs import job_enqueue, job_kinds
from probity.core.models import Job, Schedule
from probity.core.scheduler import schedule_fire, schedules_sync
from probity.reporting import services
from probity.reporting.models import Channel, Report
from tests.reporting.conftest import Staff
from tests.reporting.test_retention import closed_report

pytestmark = pytest.mark.django_db

SECRET = "RETENTIONSECRET"


def _everything_shown(job: Job) -> str:
    """All a person who may see the job reads about it."""
    job.refresh_from_db()
    return json.dumps(
        {"parameters": job.parameters, "log": job.log, "result": job.result, "summary": job.summary, "error": job.error}
    )


def test_the_reporting_jobs_and_their_daily_schedules_are_registered() -> None:
    kinds = job_kinds()
    assert {"reporting.retention", "reporting.reminders", "reporting.deadlines"} <= set(kinds)
    assert kinds["reporting.retention"].permission == "reporting.run_report_retention"
    schedules_sync()
    for code in ("reporting-retention", "reporting-reminders", "reporting-deadlines"):
        schedule = Schedule.objects.get(code=code)
        assert schedule.enabled and schedule.cron.split()[2:] == ["*", "*", "*"]  # every day


def test_the_scheduled_retention_deletes_what_the_command_deletes_and_shows_counts_only(
    channel: Channel, handler: Staff, run_jobs: Callable[[], list[Job]]
) -> None:
    handler.user.email = "h@example.org"
    handler.user.save()
    expired = closed_report(channel, handler)
    nearing = closed_report(channel, handler)
    today = timezone.localdate()
    Report.objects.filter(pk=expired.pk).update(delete_after=today - timedelta(days=1))
    Report.objects.filter(pk=nearing.pk).update(delete_after=today + timedelta(days=channel.retention_warning_days - 1))

    schedules_sync()
    job = schedule_fire(Schedule.objects.get(code="reporting-retention").pk)
    assert job is not None and job.parameters == {"dry_run": False}  # what the command does by default
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result == {"warned": 1, "deleted": 1, "files_removed": 2, "dry_run": 0}
    assert not Report.objects.filter(pk=expired.pk).exists()
    assert Report.objects.filter(pk=nearing.pk).exists()
    shown = _everything_shown(job)
    for private in (SECRET, expired.reference, nearing.reference, handler.user.username, "h@example.org", channel.slug):
        assert private not in shown
    assert len(mail.outbox) == 1 and SECRET not in mail.outbox[0].body


def test_a_dry_run_of_retention_deletes_nothing(
    channel: Channel, handler: Staff, run_jobs: Callable[[], list[Job]]
) -> None:
    expired = closed_report(channel, handler)
    Report.objects.filter(pk=expired.pk).update(delete_after=timezone.localdate() - timedelta(days=1))
    job = job_enqueue(kind="reporting.retention", parameters={"dry_run": True}, actor=None)
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result["deleted"] == 1 and job.result["dry_run"] == 1
    assert "Nothing changed" in job.summary
    assert Report.objects.filter(pk=expired.pk).exists()


def test_summaries_and_deadlines_count_without_naming_reports(
    channel: Channel, handler: Staff, run_jobs: Callable[[], list[Job]]
) -> None:
    handler.user.email = "h@example.org"
    handler.user.save()
    report, receipt = services.report_submit(channel=channel, answers={"what": SECRET})
    Report.objects.filter(pk=report.pk).update(
        acknowledged_on=None, acknowledge_due=timezone.localdate() - timedelta(days=1)
    )

    reminders = job_enqueue(kind="reporting.reminders", actor=None)
    deadlines = job_enqueue(kind="reporting.deadlines", actor=None)
    run_jobs()
    for job in (reminders, deadlines):
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
        shown = _everything_shown(job)
        for private in (SECRET, report.reference, str(receipt), handler.user.username, "h@example.org"):
            assert private not in shown
        assert all(isinstance(value, int) for value in job.result.values())
    assert deadlines.result["overdue"] == 1 and deadlines.result["acknowledge_overdue"] == 1
    assert "1 open reports are overdue" in deadlines.summary
    assert set(reminders.result) == {"sent"}


@pytest.mark.parametrize("kind", ["reporting.retention", "reporting.reminders", "reporting.deadlines"])
def test_only_the_roles_with_the_permission_may_start_them(make_user: Callable[..., Any], kind: str) -> None:
    from probity.core.jobs import JobRefused

    with pytest.raises(JobRefused, match="may not start"):
        job_enqueue(kind=kind, actor=make_user("declarant"))
    assert job_enqueue(kind=kind, actor=make_user("administrator")).status == Job.Status.QUEUED
