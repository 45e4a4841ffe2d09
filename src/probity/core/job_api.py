"""The API of background jobs and schedules (``/api/v1/jobs``, ``/api/v1/schedules``).

The same rules as the Jobs pages: a caller sees the jobs they asked for, or everyone's with
``core.manage_jobs``; a job they may not see answers 404. Starting a job answers 202 with the job; follow it
at ``GET /jobs/{id}``. A file parameter is uploaded with the start request (``multipart/form-data``) and
stored in the job inbox; the job's parameter then holds the file's inbox name.
"""

import json
from datetime import datetime
from typing import Any, Literal, cast

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from probity.core.api import MAX_PAGE, ApiError, JobOut, JobSummaryOut, errors, job_out
from probity.core.job_views import choice_pairs, inbox_discard, jobs_filtered, schedule_run_now, schedule_update
from probity.core.jobs import (
    InboxFileField,
    JobKind,
    JobRefused,
    get_job_kind,
    inbox_save,
    job_cancel,
    job_enqueue,
    job_kinds,
    job_retry,
    kind_label,
    may_cancel,
    may_see,
    may_start,
)
from probity.core.models import Job, Schedule
from probity.core.scheduler import next_run

router = Router(tags=["jobs"])

StatusFilter = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TRIGGER = Job.Trigger.API


# --- shapes ---------------------------------------------------------------------------------------


class JobChoiceOut(Schema):
    value: str
    label: str


class JobParameterOut(Schema):
    name: str
    label: str
    required: bool
    help: str = Field(..., description="what to give, in words; empty when the label says it all")
    type: str = Field(..., description="text, integer, number, boolean, date, choice, multiple_choice, json or file")
    file: bool = Field(..., description="true: upload the file with multipart/form-data under this name")
    choices: list[JobChoiceOut] | None = Field(None, description="the accepted values of a choice")
    initial: Any = Field(None, description="the value used when none is given, if any")


class JobKindOut(Schema):
    code: str
    label: str
    description: str
    queue: str
    startable: bool = Field(..., description="false: started only by events or schedules")
    may_start: bool = Field(..., description="whether you may start it")
    parameters: list[JobParameterOut]


class JobStartIn(Schema):
    kind: str = Field(..., description="the job kind's code; see GET /api/v1/jobs/kinds")
    parameters: dict[str, Any] = Field(default_factory=dict, description="the kind's parameters by name")


class ScheduleOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    cron: str = Field(..., description="five-field cron expression in UTC")
    next_run_at: datetime | None = Field(None, description="the next time it starts its job; null when switched off")
    enabled: bool
    parameters: dict[str, Any]
    last_run_at: datetime | None = Field(None, description="when it last started its job")
    last_job_id: int | None
    updated_at: datetime
    updated_by: str


class ScheduleIn(Schema):
    cron: str | None = Field(None, description="a five-field cron expression in UTC, e.g. 30 2 * * *")
    enabled: bool | None = None
    parameters: dict[str, Any] | None = Field(None, description="replaces all the job's parameters")


START_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": JobStartIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {
                        "kind": {"type": "string", "description": "the job kind's code"},
                        "parameters": {"type": "string", "description": "the parameters as a JSON object"},
                    },
                    "additionalProperties": {
                        "type": "string",
                        "format": "binary",
                        "description": "a file, under the name of the file parameter it is for",
                    },
                }
            },
        },
    }
}


# --- helpers --------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _field_type(field: forms.Field) -> str:
    if isinstance(field, InboxFileField):
        return "file"
    for kind, name in (
        (forms.BooleanField, "boolean"),
        (forms.IntegerField, "integer"),
        (forms.DecimalField, "number"),
        (forms.FloatField, "number"),
        (forms.DateTimeField, "datetime"),
        (forms.DateField, "date"),
        (forms.MultipleChoiceField, "multiple_choice"),
        (forms.ChoiceField, "choice"),
        (forms.JSONField, "json"),
    ):
        if isinstance(field, kind):
            return name
    return "text"


def _kind_out(kind: JobKind, user: User) -> dict[str, Any]:
    fields = kind.form.base_fields if kind.form is not None else {}
    parameters = []
    for name, field in fields.items():
        choices = None
        if isinstance(field, forms.ChoiceField):
            choices = [
                {"value": str(value), "label": str(label)}
                for value, label in choice_pairs(field)
                if value not in ("", None)
            ]
        initial = field.initial() if callable(field.initial) else field.initial
        parameters.append(
            {
                "name": name,
                "label": str(field.label or name),
                "required": bool(field.required),
                "help": str(field.help_text or ""),
                "type": _field_type(field),
                "file": isinstance(field, InboxFileField),
                "choices": choices,
                "initial": initial if isinstance(initial, str | int | float | bool | type(None)) else str(initial),
            }
        )
    return {
        "code": kind.code,
        "label": str(kind.label),
        "description": str(kind.description),
        "queue": kind.queue,
        "startable": kind.startable,
        "may_start": may_start(user, kind),
        "parameters": parameters,
    }


def _visible_job(user: User, job_id: int) -> Job:
    job = Job.objects.select_related("schedule").filter(pk=job_id).first()
    if job is None or not may_see(user, job):
        raise ApiError(404, "not_found", f"There is no job {job_id} that you may see.")
    return job


def _refused(refusal: JobRefused) -> ApiError:
    return ApiError(400, "bad_request", str(refusal))


def _start_request(request: HttpRequest) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(kind, parameters, files)`` from a JSON body or a multipart form."""
    content_type = request.content_type or ""
    if content_type.startswith("multipart/form-data"):
        kind = request.POST.get("kind", "")
        raw = request.POST.get("parameters", "") or "{}"
        try:
            parameters = json.loads(raw)
        except json.JSONDecodeError:
            raise ApiError(400, "bad_request", "The field 'parameters' must be a JSON object.") from None
        files = dict(request.FILES.items())
    else:
        try:
            body = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(
                400, "bad_request", 'The body must be JSON ({"kind": ..., "parameters": {...}}) or multipart.'
            ) from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "The body must be a JSON object with 'kind' and 'parameters'.")
        kind, parameters, files = body.get("kind") or "", body.get("parameters") or {}, {}
    if not isinstance(kind, str) or not kind:
        raise ApiError(
            400, "bad_request", "Name the job to start in 'kind'; GET /api/v1/jobs/kinds lists the job kinds."
        )
    if not isinstance(parameters, dict):
        raise ApiError(400, "bad_request", "The parameters must be a JSON object of names and values.")
    return kind, parameters, files


def _schedule_out(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.pk,
        "code": schedule.code,
        "name": schedule.display_label,
        "kind": schedule.kind,
        "kind_label": kind_label(schedule.kind),
        "cron": schedule.cron,
        "next_run_at": next_run(schedule),
        "enabled": schedule.enabled,
        "parameters": dict(schedule.parameters or {}),
        "last_run_at": schedule.last_run_at,
        "last_job_id": schedule.last_job_id,
        "updated_at": schedule.updated_at,
        "updated_by": schedule.updated_by,
    }


def _schedule(user: User, schedule_id: int, permission: str, message: str) -> Schedule:
    if not user.has_perm(permission):
        raise ApiError(403, "permission_denied", message)
    schedule = Schedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        raise ApiError(404, "not_found", f"There is no schedule {schedule_id}.")
    return schedule


# --- jobs -----------------------------------------------------------------------------------------


class _JobPage:
    """The jobs of a list, serialised only for the page the paginator slices (it counts with ``len``)."""

    def __init__(self, queryset: QuerySet[Job]) -> None:
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [job_out(job, log=False) for job in self.queryset[index]]


@router.get(
    "/jobs",
    response={200: list[JobSummaryOut], **errors(422)},
    summary="Jobs: yours, or everyone's with the right to manage jobs; newest first",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def job_list(request: HttpRequest, status: StatusFilter | None = None, kind: str | None = None) -> _JobPage:
    return _JobPage(jobs_filtered(user=_user(request), status=status, kind=kind))


@router.get(
    "/jobs/kinds", response={200: list[JobKindOut], **errors()}, summary="The kinds of job and their parameters"
)
def job_kind_list(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    return [_kind_out(kind, user) for kind in job_kinds().values()]


@router.get("/jobs/{int:job_id}", response={200: JobOut, **errors(404)}, summary="One job, with its log")
def job_detail(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(_visible_job(_user(request), job_id))


@router.post(
    "/jobs",
    response={202: JobOut, **errors(400, 403, 422)},
    summary="Start a job: JSON {kind, parameters}, or multipart with files for file parameters",
    description=(
        "Answers 202 with the queued job; follow it at GET /api/v1/jobs/{id}. A file parameter (see "
        "GET /api/v1/jobs/kinds, 'file': true) is sent as multipart/form-data: the field 'kind', the field "
        "'parameters' as a JSON object, and the file under the parameter's name."
    ),
    openapi_extra=START_BODY,
)
def job_start(request: HttpRequest) -> Status[dict[str, Any]]:
    user = _user(request)
    code, parameters, files = _start_request(request)
    try:
        kind = get_job_kind(code)
    except JobRefused as refusal:
        raise _refused(refusal) from refusal
    if not may_start(user, kind):
        raise ApiError(403, "permission_denied", f"Your role may not start the job “{kind.label}”.")
    file_fields = {
        name
        for name, field in (kind.form.base_fields if kind.form else {}).items()
        if isinstance(field, InboxFileField)
    }
    unexpected = sorted(set(files) - file_fields)
    if unexpected:
        raise ApiError(
            400,
            "bad_request",
            f"The job “{kind.label}” takes no file called {', '.join(unexpected)}"
            + (f"; its file parameters are {', '.join(sorted(file_fields))}." if file_fields else "."),
        )
    stored = []
    for name, upload in files.items():
        parameters[name] = inbox_save(name=upload.name or name, chunks=upload.chunks())
        stored.append(parameters[name])
    try:
        job = job_enqueue(kind=code, parameters=parameters, actor=user, trigger=TRIGGER)
    except JobRefused as refusal:
        inbox_discard(stored)
        raise _refused(refusal) from refusal
    return Status(202, job_out(job))


@router.post(
    "/jobs/{int:job_id}/cancel",
    response={200: JobOut, **errors(400, 404)},
    summary="Cancel a job: a waiting one at once, a running one at its next step",
)
def job_cancel_endpoint(request: HttpRequest, job_id: int) -> dict[str, Any]:
    user = _user(request)
    job = _visible_job(user, job_id)
    if not may_cancel(user, job):
        raise ApiError(400, "bad_request", f"The job {job.pk} has already finished ({job.get_status_display()}).")
    return job_out(job_cancel(job=job, actor=user))


@router.post(
    "/jobs/{int:job_id}/retry",
    response={202: JobOut, **errors(400, 403, 404)},
    summary="Start a failed or cancelled job again, as a new job with the same parameters",
)
def job_retry_endpoint(request: HttpRequest, job_id: int) -> Status[dict[str, Any]]:
    user = _user(request)
    job = _visible_job(user, job_id)
    kind = job_kinds().get(job.kind)
    if kind is not None and not may_start(user, kind):
        raise ApiError(403, "permission_denied", f"Your role may not start the job “{kind.label}”.")
    try:
        again = job_retry(job=job, actor=user, trigger=TRIGGER)
    except JobRefused as refusal:
        raise _refused(refusal) from refusal
    return Status(202, job_out(again))


# --- schedules ------------------------------------------------------------------------------------


@router.get(
    "/schedules",
    response={200: list[ScheduleOut], **errors(403)},
    summary="Schedules: which job starts when (cron in UTC), and its next run",
)
def schedule_list(request: HttpRequest) -> list[dict[str, Any]]:
    if not _user(request).has_perm("core.view_schedule"):
        raise ApiError(403, "permission_denied", "Your role may not see the schedules.")
    return [_schedule_out(schedule) for schedule in Schedule.objects.order_by("code")]


@router.patch(
    "/schedules/{int:schedule_id}",
    response={200: ScheduleOut, **errors(400, 403, 404, 422)},
    summary="Change a schedule: its cron expression, whether it is enabled, its job's parameters",
)
def schedule_change(request: HttpRequest, schedule_id: int, payload: ScheduleIn) -> dict[str, Any]:
    user = _user(request)
    schedule = _schedule(user, schedule_id, "core.change_schedule", "Your role may not change schedules.")
    try:
        schedule = schedule_update(
            schedule=schedule, actor=user, cron=payload.cron, enabled=payload.enabled, parameters=payload.parameters
        )
    except JobRefused as refusal:
        raise _refused(refusal) from refusal
    return _schedule_out(schedule)


@router.post(
    "/schedules/{int:schedule_id}/run",
    response={202: JobOut, **errors(400, 403, 404)},
    summary="Start a schedule's job now (a job of it still waiting is answered instead)",
)
def schedule_run(request: HttpRequest, schedule_id: int) -> Status[dict[str, Any]]:
    user = _user(request)
    schedule = _schedule(user, schedule_id, "core.change_schedule", "Your role may not run schedules.")
    try:
        job = schedule_run_now(schedule=schedule, actor=user)
    except JobRefused as refusal:
        raise _refused(refusal) from refusal
    return Status(202, job_out(job))
