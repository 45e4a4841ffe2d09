"""The jobs API (/api/v1/jobs, /api/v1/schedules) as its clients see it: start, follow, cancel, retry, schedules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from probity.core import jobs, services
from probity.core.jobs import InboxFileField, JobContext, JobOutcome, inbox_path, job_enqueue
from probity.core.models import AuditEntry, Job, Schedule
from probity.core.scheduler import schedules_sync

pytestmark = pytest.mark.django_db

API = "/api/v1"


class WordsForm(forms.Form):
    text_file = InboxFileField(label="Text file")
    language = forms.ChoiceField(label="Language", choices=[("en", "English"), ("fr", "French")], initial="en")


@jobs.job_kind(
    "api.words",
    label="Count words",
    description="Counts the words of an uploaded file.",
    permission="core.run_detector",
    form=WordsForm,
)
def _count_words(context: JobContext, *, text_file: str, language: str) -> JobOutcome:
    words = inbox_path(text_file).read_text(encoding="utf-8").split()
    context.log(f"{len(words)} words read")
    return JobOutcome(f"The file has {len(words)} words.", {"words": len(words)})


def bearer(user: User) -> dict[str, str]:
    _token, secret = services.api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"].strip()
    return dict(body["error"])


def start(headers: dict[str, str], kind: str, parameters: dict[str, Any] | None = None) -> Any:
    return Client().post(
        f"{API}/jobs", {"kind": kind, "parameters": parameters or {}}, content_type="application/json", headers=headers
    )


def test_an_administrator_starts_a_job_gets_202_and_follows_it_to_the_end(
    make_user: Callable[..., User], run_jobs: Callable[[], list[Job]]
) -> None:
    admin = make_user("administrator")
    headers = bearer(admin)
    response = start(headers, "core.audit_verify")
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["kind"], job["kind_label"], job["status"], job["status_label"]) == (
        "core.audit_verify",
        "Check the audit log",
        "queued",
        "Waiting",
    )
    assert job["trigger"] == "api" and job["requested_by"] == admin.username
    assert job["sentence"] == "Check the audit log is waiting for a worker."
    assert job["progress"] == {"done": 0, "total": None, "stage": "", "percent": None}
    run_jobs()
    done = Client().get(f"{API}/jobs/{job['id']}", headers=headers).json()
    assert done["status"] == "succeeded" and done["status_label"] == "Finished"
    assert done["sentence"].startswith("The audit log is intact")
    assert done["result"]["entries"] > 0 and done["error"] == ""
    assert done["finished_at"] and done["started_at"]
    assert any(line["message"].startswith("Finished in") and line["at"] for line in done["log"])
    assert "object at 0x" not in json.dumps(done)


def test_a_declarant_lists_only_their_own_jobs_and_gets_404_on_another(make_user: Callable[..., User]) -> None:
    declarant = make_user("declarant")
    own = job_enqueue(kind="core.audit_verify", actor=declarant, check_permission=False)
    other = job_enqueue(kind="core.audit_verify", actor=make_user("administrator"))
    headers = bearer(declarant)
    listed = Client().get(f"{API}/jobs", headers=headers).json()
    assert listed["count"] == 1 and [item["id"] for item in listed["items"]] == [own.pk]
    assert "log" not in listed["items"][0]
    error_of(Client().get(f"{API}/jobs/{other.pk}", headers=headers), 404)
    error_of(Client().post(f"{API}/jobs/{other.pk}/cancel", headers=headers), 404)
    refused = error_of(start(headers, "core.audit_verify"), 403)
    assert "may not start" in refused["message"]


def test_the_list_filters_by_status_and_kind(make_user: Callable[..., User]) -> None:
    headers = bearer(make_user("administrator"))
    waiting = job_enqueue(kind="core.audit_verify", actor=None)
    cancelled = job_enqueue(kind="core.jobs_upkeep", actor=None)
    jobs.job_cancel(job=cancelled, actor=None)
    client = Client()
    by_status = client.get(f"{API}/jobs", {"status": "cancelled"}, headers=headers).json()
    assert [item["id"] for item in by_status["items"]] == [cancelled.pk]
    by_kind = client.get(f"{API}/jobs", {"kind": "core.audit_verify"}, headers=headers).json()
    assert [item["id"] for item in by_kind["items"]] == [waiting.pk]
    error_of(client.get(f"{API}/jobs", {"status": "sleeping"}, headers=headers), 422)


def test_the_kinds_say_what_each_job_takes(make_user: Callable[..., User]) -> None:
    kinds = Client().get(f"{API}/jobs/kinds", headers=bearer(make_user("analyst"))).json()
    by_code = {kind["code"]: kind for kind in kinds}
    assert by_code["core.audit_verify"]["parameters"] == [] and by_code["core.audit_verify"]["may_start"] is False
    assert by_code["core.detector_run"]["may_start"] is True
    assert by_code["core.detector_run"]["queue"] == "warehouse"
    days = by_code["core.jobs_upkeep"]["parameters"][0]
    assert (days["name"], days["label"], days["required"], days["type"]) == (
        "days",
        "Keep finished jobs for (days)",
        False,
        "integer",
    )
    text_file, language = by_code["api.words"]["parameters"]
    assert text_file["file"] is True and text_file["type"] == "file"
    assert language["choices"] == [{"value": "en", "label": "English"}, {"value": "fr", "label": "French"}]


def test_refusals_answer_with_a_sentence(make_user: Callable[..., User]) -> None:
    headers = bearer(make_user("administrator"))
    bad = error_of(start(headers, "core.jobs_upkeep", {"days": -3}), 400)
    assert bad["message"].startswith("The job “Tidy the job queue” cannot start: Keep finished jobs for (days):")
    unknown = error_of(start(headers, "core.nothing"), 400)
    assert unknown["message"] == "There is no job called “core.nothing”."
    missing = error_of(Client().post(f"{API}/jobs", {}, content_type="application/json", headers=headers), 400)
    assert "kind" in missing["message"]
    error_of(Client().post(f"{API}/jobs", "{nope", content_type="application/json", headers=headers), 400)
    assert not Job.objects.exists()


def test_a_file_is_uploaded_with_the_start_request_and_the_parameter_holds_its_inbox_name(
    make_user: Callable[..., User], run_jobs: Callable[[], list[Job]]
) -> None:
    headers = bearer(make_user("analyst"))
    upload = SimpleUploadedFile("speech.txt", b"one two three four", content_type="text/plain")
    response = Client().post(
        f"{API}/jobs",
        {"kind": "api.words", "parameters": json.dumps({"language": "fr"}), "text_file": upload},
        headers=headers,
    )
    assert response.status_code == 202, response.content
    job = response.json()
    stored = job["parameters"]["text_file"]
    assert stored.endswith("-speech.txt") and job["parameters"]["language"] == "fr"
    assert inbox_path(stored).read_bytes() == b"one two three four"
    run_jobs()
    done = Client().get(f"{API}/jobs/{job['id']}", headers=headers).json()
    assert done["sentence"] == "The file has 4 words." and done["result"] == {"words": 4}

    stray = SimpleUploadedFile("x.txt", b"x")
    refused = Client().post(f"{API}/jobs", {"kind": "api.words", "other": stray}, headers=headers)
    assert "takes no file called other" in error_of(refused, 400)["message"]


def test_a_job_is_cancelled_and_started_again_through_the_api(make_user: Callable[..., User]) -> None:
    admin = make_user("administrator")
    headers = bearer(admin)
    job = start(headers, "core.audit_verify").json()
    cancelled = Client().post(f"{API}/jobs/{job['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert "Cancelled by" in cancelled.json()["sentence"]
    again = error_of(Client().post(f"{API}/jobs/{job['id']}/cancel", headers=headers), 400)
    assert "already finished" in again["message"]
    retried = Client().post(f"{API}/jobs/{job['id']}/retry", headers=headers)
    assert retried.status_code == 202
    new = retried.json()
    assert new["id"] != job["id"] and new["status"] == "queued" and new["trigger"] == "api"
    not_failed = error_of(Client().post(f"{API}/jobs/{new['id']}/retry", headers=headers), 400)
    assert not_failed["message"] == "Only a failed or cancelled job can be started again."
    assert AuditEntry.objects.filter(action="job_cancel", actor=admin.username).exists()


def test_schedules_are_listed_changed_and_run_through_the_api(make_user: Callable[..., User]) -> None:
    schedules_sync()
    audit_check = Schedule.objects.get(code="audit-check")
    headers = bearer(make_user("administrator"))
    client = Client()
    listed = client.get(f"{API}/schedules", headers=headers).json()
    row = next(item for item in listed if item["code"] == "audit-check")
    assert row["cron"] == "30 3 * * *" and row["next_run_at"] and row["kind_label"] == "Check the audit log"

    url = f"{API}/schedules/{audit_check.pk}"
    bad = error_of(client.patch(url, {"cron": "at night"}, content_type="application/json", headers=headers), 400)
    assert "is not a cron expression" in bad["message"]
    changed = client.patch(
        url, {"cron": "0 5 * * *", "enabled": False}, content_type="application/json", headers=headers
    )
    assert changed.status_code == 200
    assert changed.json()["cron"] == "0 5 * * *" and changed.json()["next_run_at"] is None
    assert AuditEntry.objects.filter(object_type="core.schedule", action="update").exists()
    off = error_of(client.post(f"{url}/run", headers=headers), 400)
    assert "switched off" in off["message"]

    client.patch(url, {"enabled": True}, content_type="application/json", headers=headers)
    run = client.post(f"{url}/run", headers=headers)
    assert run.status_code == 202
    assert run.json()["trigger"] == "schedule" and run.json()["schedule_id"] == audit_check.pk

    analyst = bearer(make_user("analyst"))
    error_of(client.get(f"{API}/schedules", headers=analyst), 403)
    error_of(client.patch(url, {"enabled": False}, content_type="application/json", headers=analyst), 403)
    error_of(client.post(f"{url}/run", headers=analyst), 403)
    error_of(client.patch(f"{API}/schedules/999999", {}, content_type="application/json", headers=headers), 404)


def test_the_openapi_schema_documents_the_job_endpoints() -> None:
    schema = Client().get(f"{API}/openapi.json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/jobs"])
    assert "multipart/form-data" in paths["/api/v1/jobs"]["post"]["requestBody"]["content"]
    assert "202" in paths["/api/v1/jobs"]["post"]["responses"]
    assert "get" in paths["/api/v1/jobs/{job_id}"] and "get" in paths["/api/v1/jobs/kinds"]
    assert "post" in paths["/api/v1/jobs/{job_id}/cancel"] and "post" in paths["/api/v1/jobs/{job_id}/retry"]
    assert "patch" in paths["/api/v1/schedules/{schedule_id}"]
    assert "202" in paths["/api/v1/detectors/{code}/runs"]["post"]["responses"]
