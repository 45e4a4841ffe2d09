"""The Jobs pages: people follow their own jobs, start, cancel and retry them; administrators edit schedules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django import forms
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from probity.core import jobs
from probity.core.jobs import InboxFileField, JobContext, JobFailed, JobOutcome, inbox_path, job_enqueue
from probity.core.models import AuditEntry, Job, Schedule
from probity.core.scheduler import schedules_sync

pytestmark = pytest.mark.django_db


class LinesForm(forms.Form):
    lines_file = InboxFileField(label="File of lines")
    note = forms.CharField(label="Note", required=False)


@jobs.job_kind(
    "pages.lines",
    label="Count lines",
    description="Counts the lines of an uploaded file.",
    permission="core.run_detector",
    form=LinesForm,
)
def _count_lines(context: JobContext, *, lines_file: str, note: str = "") -> JobOutcome:
    lines = inbox_path(lines_file).read_text(encoding="utf-8").splitlines()
    return JobOutcome(f"The file has {len(lines)} lines.", {"lines": len(lines), "blank_lines": 0})


@jobs.job_kind("pages.fail", label="Always fails", description="Fails.", permission="core.run_detector")
def _fail(context: JobContext) -> None:
    raise JobFailed("The file has no releases.")


def test_a_declarant_sees_only_their_own_jobs_and_gets_404_on_another(
    verified_client: Callable[..., Client], make_user: Callable[..., User]
) -> None:
    client = verified_client("declarant")
    declarant = client.user  # type: ignore[attr-defined]
    own = job_enqueue(kind="core.audit_verify", actor=declarant, check_permission=False)
    other = job_enqueue(kind="core.audit_verify", actor=make_user("administrator"))

    page = client.get(reverse("core:jobs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("core:job", args=[own.pk]) in html
    assert reverse("core:job", args=[other.pk]) not in html
    assert "Check the audit log is waiting for a worker." in html
    assert f'href="{reverse("core:jobs")}"' in html  # in everyone's navigation
    assert client.get(reverse("core:job", args=[own.pk])).status_code == 200
    assert client.get(reverse("core:job", args=[other.pk])).status_code == 404
    assert client.post(reverse("core:job_cancel", args=[other.pk])).status_code == 404
    assert Job.objects.get(pk=other.pk).status == Job.Status.QUEUED
    assert client.get(reverse("core:schedules")).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    response = Client().get(reverse("core:jobs"))
    assert response.status_code == 302 and reverse("core:login") in response["Location"]


def test_the_list_filters_by_status_and_kind_and_shows_the_queues(
    verified_client: Callable[..., Client], run_jobs: Callable[[], list[Job]]
) -> None:
    client = verified_client("administrator")
    job_enqueue(kind="core.audit_verify", actor=None)
    run_jobs()
    waiting = job_enqueue(kind="core.jobs_upkeep", actor=None)
    html = client.get(reverse("core:jobs"), {"status": "queued"}).content.decode()
    assert reverse("core:job", args=[waiting.pk]) in html and "1 job" in html
    assert "Jobs waiting, per queue" in html and "<select" in html
    html = client.get(reverse("core:jobs"), {"kind": "core.audit_verify"}).content.decode()
    assert reverse("core:job", args=[waiting.pk]) not in html and "The audit log is intact" in html
    assert client.get(reverse("core:jobs"), {"status": "nonsense"}).status_code == 200


def test_an_administrator_starts_the_audit_check_on_the_page_and_sees_it_intact(
    verified_client: Callable[..., Client], run_jobs: Callable[[], list[Job]]
) -> None:
    client = verified_client("administrator")
    chooser = client.get(reverse("core:job_start")).content.decode()
    assert "Check the audit log" in chooser and "pages.lines" in chooser
    form = client.get(reverse("core:job_start"), {"kind": "core.audit_verify"})
    assert "This job takes no parameters." in form.content.decode()

    response = client.post(reverse("core:job_start"), {"kind": "core.audit_verify"})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("core:job", args=[job.pk])
    assert (job.trigger, job.requested_by) == (Job.Trigger.PAGE, client.user)  # type: ignore[attr-defined]
    waiting = client.get(reverse("core:job", args=[job.pk]))
    assert waiting["Refresh"] == "3" and "<progress" in waiting.content.decode()
    assert AuditEntry.objects.filter(action="job_start", object_id=str(job.pk)).exists()

    run_jobs()
    done = client.get(reverse("core:job", args=[job.pk]))
    html = done.content.decode()
    assert "Refresh" not in done.headers
    assert "The audit log is intact" in html
    assert "Entries" in html  # the result's key, humanised, in a labelled table
    assert "Finished in" in html  # the log
    assert "Start again" not in html and "Cancel</button>" not in html


def test_a_job_is_cancelled_from_its_page(verified_client: Callable[..., Client]) -> None:
    client = verified_client("administrator")
    job = job_enqueue(kind="core.audit_verify", actor=client.user)  # type: ignore[attr-defined]
    assert "Cancel</button>" in client.get(reverse("core:job", args=[job.pk])).content.decode()
    response = client.post(reverse("core:job_cancel", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    html = response.content.decode()
    assert "The job was cancelled." in html and "Start again" in html
    assert client.get(reverse("core:job_cancel", args=[job.pk])).status_code == 405


def test_a_failed_job_shows_why_and_can_be_started_again(
    verified_client: Callable[..., Client], run_jobs: Callable[[], list[Job]]
) -> None:
    client = verified_client("administrator")
    job = job_enqueue(kind="pages.fail", actor=client.user)  # type: ignore[attr-defined]
    run_jobs()
    html = client.get(reverse("core:job", args=[job.pk])).content.decode()
    assert "The file has no releases." in html and "Start again" in html
    response = client.post(reverse("core:job_retry", args=[job.pk]))
    again = Job.objects.exclude(pk=job.pk).get()
    assert response["Location"] == reverse("core:job", args=[again.pk])
    assert again.kind == "pages.fail" and again.status == Job.Status.QUEUED


def test_bad_parameters_are_shown_as_a_sentence_and_start_nothing(verified_client: Callable[..., Client]) -> None:
    client = verified_client("administrator")
    response = client.post(reverse("core:job_start"), {"kind": "core.jobs_upkeep", "days": "-3"})
    assert response.status_code == 200
    assert "greater than or equal to 1" in response.content.decode()
    assert not Job.objects.exists()
    unknown = client.get(reverse("core:job_start"), {"kind": "core.nothing"})
    assert unknown.status_code == 404 and "There is no job called “core.nothing”" in unknown.content.decode()


def test_a_kind_the_user_may_not_start_is_not_offered(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    html = client.get(reverse("core:job_start")).content.decode()
    assert "Run a detector" in html and "Tidy the job queue" not in html
    response = client.post(reverse("core:job_start"), {"kind": "core.jobs_upkeep"})
    assert response.status_code == 404 and not Job.objects.exists()


def test_an_uploaded_file_lands_in_the_inbox_and_the_parameter_holds_its_name(
    verified_client: Callable[..., Client], run_jobs: Callable[[], list[Job]]
) -> None:
    client = verified_client("administrator")
    form = client.get(reverse("core:job_start"), {"kind": "pages.lines"}).content.decode()
    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form and "File of lines" in form
    upload = SimpleUploadedFile("my lines.txt", b"one\ntwo\nthree\n", content_type="text/plain")
    response = client.post(
        reverse("core:job_start"), {"kind": "pages.lines", "lines_file": upload, "note": "first try"}
    )
    job = Job.objects.get()
    assert response.status_code == 302
    stored = job.parameters["lines_file"]
    assert stored.endswith("-my-lines.txt") and job.parameters["note"] == "first try"
    assert inbox_path(stored).read_bytes() == b"one\ntwo\nthree\n"
    run_jobs()
    html = client.get(reverse("core:job", args=[job.pk])).content.decode()
    assert "The file has 3 lines." in html
    assert "File of lines" in html and "Blank lines" in html  # parameter label, humanised result key


def test_a_missing_upload_is_an_error_on_the_form(verified_client: Callable[..., Client]) -> None:
    client = verified_client("administrator")
    response = client.post(reverse("core:job_start"), {"kind": "pages.lines"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not Job.objects.exists()


@pytest.fixture
def audit_check() -> Schedule:
    schedules_sync()
    return Schedule.objects.get(code="audit-check")


def test_the_schedules_page_lists_each_schedule_with_its_next_run(
    verified_client: Callable[..., Client], audit_check: Schedule
) -> None:
    html = verified_client("administrator").get(reverse("core:schedules")).content.decode()
    assert "Nightly check of the audit log" in html and "30 3 * * *" in html
    assert reverse("core:schedule", args=[audit_check.pk]) in html


def test_an_invalid_cron_expression_is_refused_in_words(
    verified_client: Callable[..., Client], audit_check: Schedule
) -> None:
    client = verified_client("administrator")
    url = reverse("core:schedule", args=[audit_check.pk])
    response = client.post(url, {"cron": "every night", "enabled": "on"})
    assert response.status_code == 200
    assert "is not a cron expression: write five fields" in response.content.decode()
    response = client.post(url, {"cron": "61 3 * * *", "enabled": "on"})
    assert "is not a valid cron expression" in response.content.decode()
    audit_check.refresh_from_db()
    assert audit_check.cron == "30 3 * * *"


def test_a_schedule_is_changed_and_the_change_audited(
    verified_client: Callable[..., Client], audit_check: Schedule
) -> None:
    client = verified_client("administrator")
    response = client.post(reverse("core:schedule", args=[audit_check.pk]), {"cron": "0  4 * * 1"})
    assert response.status_code == 302
    audit_check.refresh_from_db()
    assert (audit_check.cron, audit_check.enabled) == ("0 4 * * 1", False)
    assert audit_check.updated_by == client.user.username  # type: ignore[attr-defined]
    entry = AuditEntry.objects.filter(object_type="core.schedule", object_id=str(audit_check.pk)).get()
    assert entry.action == "update" and entry.details["changed"] == ["cron", "enabled"]


def test_schedule_parameters_are_edited_with_the_kinds_form(verified_client: Callable[..., Client]) -> None:
    schedules_sync()
    upkeep = Schedule.objects.get(code="jobs-upkeep")
    client = verified_client("administrator")
    page = client.get(reverse("core:schedule", args=[upkeep.pk])).content.decode()
    assert "Keep finished jobs for (days)" in page
    url = reverse("core:schedule", args=[upkeep.pk])
    refused = client.post(url, {"cron": "*/10 * * * *", "enabled": "on", "parameters-days": "0"})
    assert refused.status_code == 200 and "greater than or equal to 1" in refused.content.decode()
    client.post(url, {"cron": "*/10 * * * *", "enabled": "on", "parameters-days": "30"})
    upkeep.refresh_from_db()
    assert upkeep.parameters == {"days": 30}


def test_run_now_queues_the_schedules_job(verified_client: Callable[..., Client], audit_check: Schedule) -> None:
    client = verified_client("administrator")
    response = client.post(reverse("core:schedule_run", args=[audit_check.pk]))
    job = Job.objects.get()
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert (job.kind, job.trigger, job.schedule_id) == ("core.audit_verify", Job.Trigger.SCHEDULE, audit_check.pk)
    Schedule.objects.filter(pk=audit_check.pk).update(enabled=False)
    refused = client.post(reverse("core:schedule_run", args=[audit_check.pk]), follow=True)
    assert "is switched off" in refused.content.decode()


def test_an_analyst_may_not_see_or_change_schedules(
    verified_client: Callable[..., Client], audit_check: Schedule
) -> None:
    client = verified_client("analyst")
    assert client.get(reverse("core:schedule", args=[audit_check.pk])).status_code == 403
    assert client.post(reverse("core:schedule_run", args=[audit_check.pk])).status_code == 403
