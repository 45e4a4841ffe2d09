"""Pages for background jobs and their schedules, and what the pages share with the API and the command.

People follow their jobs here (a declarant sees their own, whoever holds ``core.manage_jobs`` sees everyone's),
start a job by filling in its kind's form (a file parameter is uploaded into the job inbox first), cancel a job
or start a failed one again, and an administrator edits the schedules that start jobs at set times.

``job_start_form`` and ``start_job_from_request`` are for module pages too: a module page that starts one
kind of job renders ``job_start_form(code)`` and, on POST, calls ``start_job_from_request(request, code)``,
which answers the queued ``Job`` or the form with its errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from probity.core.audit import actor_name, audit_record
from probity.core.jobs import (
    QUEUES,
    InboxFileField,
    JobFailed,
    JobKind,
    JobRefused,
    get_job_kind,
    inbox_path,
    inbox_save,
    job_cancel,
    job_enqueue,
    job_kinds,
    job_retry,
    kind_label,
    labels_for_kinds,
    may_cancel,
    may_see,
    may_start,
    queue_depth,
    status_sentence,
)
from probity.core.models import Job, Schedule
from probity.core.scheduler import cron_trigger, next_run, schedule_fire

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

PAGE_SIZE = 50
REFRESH_SECONDS = 3

# --- shared by the pages, the API and the command -------------------------------------------------


def jobs_visible(*, user: User | AnonymousUser) -> QuerySet[Job]:
    """The jobs ``user`` may see: everyone's with ``core.manage_jobs``, otherwise the ones they asked for."""
    queryset = Job.objects.select_related("schedule")
    if not user.is_authenticated:
        return queryset.none()
    if user.has_perm("core.manage_jobs"):
        return queryset
    return queryset.filter(requested_by=user)


def jobs_filtered(*, user: User | AnonymousUser, status: str | None = None, kind: str | None = None) -> QuerySet[Job]:
    queryset = jobs_visible(user=user)
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("-created_at", "-pk")


def humanise(key: str) -> str:
    """A result or parameter key as a reader sees it: ``queue_entries`` → “Queue entries” (translated if known)."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return _g(words[:1].upper() + words[1:]) if words else key


def value_text(value: Any, field: forms.Field | None = None) -> str:
    """A parameter or result value in words: yes/no, lists joined, a choice by its label."""
    if field is not None and isinstance(field, forms.ChoiceField) and not isinstance(value, list | dict):
        labels = {str(code): str(label) for code, label in choice_pairs(field)}
        if str(value) in labels and value not in (None, ""):
            return labels[str(value)]
    if isinstance(value, bool):
        return _g("yes") if value else _g("no")
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple | set):
        return ", ".join(value_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {value_text(item)}" for key, item in value.items()) or "—"
    return str(value)


def choice_pairs(field: forms.ChoiceField) -> list[tuple[Any, Any]]:
    """A choice field's ``(value, label)`` pairs, groups flattened."""
    pairs: list[tuple[Any, Any]] = []
    for value, label in cast("Iterable[tuple[Any, Any]]", field.choices):
        if isinstance(label, list | tuple):
            pairs.extend(label)
        else:
            pairs.append((value, label))
    return pairs


def _kind_fields(code: str) -> dict[str, forms.Field]:
    try:
        kind = get_job_kind(code)
    except JobRefused:
        return {}
    return dict(kind.form.base_fields) if kind.form is not None else {}


def parameter_rows(*, kind: str, parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` for each parameter, labelled as the kind's form labels its fields."""
    fields = _kind_fields(kind)
    rows = []
    for name, value in parameters.items():
        field = fields.get(name)
        label = str(field.label) if field is not None and field.label else humanise(name)
        rows.append((label, value_text(value, field)))
    return rows


def result_rows(*, result: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(humanise(str(key)), value_text(value)) for key, value in result.items()]


def log_lines(*, job: Job) -> list[dict[str, Any]]:
    """The job's log as ``{"at": datetime | None, "message": str}``, oldest first."""
    lines = []
    for line in job.log or []:
        at = line.get("at") if isinstance(line, dict) else None
        try:
            when = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            when = None
        message = line.get("message", "") if isinstance(line, dict) else str(line)
        lines.append({"at": when, "message": str(message)})
    return lines


def may_retry(user: User | AnonymousUser, job: Job) -> bool:
    if job.status not in {Job.Status.FAILED, Job.Status.CANCELLED} or not may_see(user, job):
        return False
    kind = job_kinds().get(job.kind)
    return kind is not None and may_start(user, kind)


def startable_kinds(*, user: User | AnonymousUser) -> dict[str, JobKind]:
    """The kinds ``user`` may start from the Jobs page."""
    return {code: kind for code, kind in job_kinds().items() if kind.startable and may_start(user, kind)}


def job_start_form(
    kind_code: str,
    data: Mapping[str, Any] | None = None,
    files: Any = None,
    *,
    initial: Mapping[str, Any] | None = None,
    prefix: str | None = None,
) -> forms.Form:
    """The parameter form of the job kind ``kind_code`` (``JobRefused`` if there is none), for a page:
    each ``InboxFileField`` becomes a file upload. Give it to ``job_parameters_from_form`` once valid."""
    kind = get_job_kind(kind_code)
    form_class = kind.form or forms.Form
    form = form_class(data=data, files=files, initial=dict(initial) if initial else None, prefix=prefix)
    for name, field in list(form.fields.items()):
        if isinstance(field, forms.JSONField) and field.initial is None and name not in form.initial:
            form.initial[name] = {}  # an empty object to fill in, rather than the word "null"
        if isinstance(field, InboxFileField):
            form.fields[name] = forms.FileField(label=field.label, required=field.required, help_text=field.help_text)
    return form


def job_parameters_from_form(form: forms.Form) -> tuple[dict[str, Any], list[str]]:
    """The parameters a valid ``job_start_form`` gives: each field's value as it was sent (the job
    kind validates it again), and each upload stored in the job inbox and named by its inbox name.
    Returns the parameters and the inbox names stored (to remove if the job is refused)."""
    parameters: dict[str, Any] = {}
    stored: list[str] = []
    for name, field in form.fields.items():
        if isinstance(field, forms.FileField):
            upload = form.cleaned_data.get(name)
            if upload:
                inbox_name = inbox_save(name=upload.name or name, chunks=upload.chunks())
                stored.append(inbox_name)
                parameters[name] = inbox_name
            else:
                parameters[name] = ""
            continue
        parameters[name] = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
    return parameters, stored


def inbox_discard(names: list[str]) -> None:
    """Removes files stored for a job that was then refused."""
    for name in names:
        with contextlib.suppress(JobFailed, OSError):  # already gone: nothing to remove
            inbox_path(name).unlink(missing_ok=True)


def start_job_from_request(
    request: HttpRequest,
    kind_code: str,
    *,
    prefix: str | None = None,
    trigger: str = Job.Trigger.PAGE,
    dedupe_key: str = "",
) -> Job | forms.Form:
    """Starts a job of ``kind_code`` from a POSTed ``job_start_form`` (uploads go to the job inbox), for the
    signed-in user. Answers the queued job, or the form with the errors (a refusal as a form error)."""
    form = job_start_form(kind_code, request.POST, request.FILES, prefix=prefix)
    if not form.is_valid():
        return form
    parameters, stored = job_parameters_from_form(form)
    try:
        return job_enqueue(
            kind=kind_code,
            parameters=parameters,
            actor=cast("User", request.user),
            trigger=trigger,
            dedupe_key=dedupe_key,
        )
    except JobRefused as refusal:
        inbox_discard(stored)
        form.add_error(None, str(refusal))
        return form


def schedule_update(
    *,
    schedule: Schedule,
    actor: User | None,
    cron: str | None = None,
    enabled: bool | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Schedule:
    """Changes a schedule's times, switch and parameters; ``ValueError`` for a cron expression that is not
    one and ``JobRefused`` for parameters its job does not accept, each with a sentence. Audited."""
    changed: dict[str, Any] = {}
    if cron is not None:
        cron = " ".join(cron.split())
        cron_trigger(cron)
        if cron != schedule.cron:
            changed["cron"] = cron
    if enabled is not None and enabled != schedule.enabled:
        changed["enabled"] = enabled
    if parameters is not None:
        cleaned = get_job_kind(schedule.kind).clean_parameters(parameters)
        if cleaned != schedule.parameters:
            changed["parameters"] = cleaned
    if not changed:
        return schedule
    for name, value in changed.items():
        setattr(schedule, name, value)
    schedule.updated_by = actor_name(actor)
    schedule.save()
    audit_record(
        action="update",
        object_type="core.schedule",
        object_id=str(schedule.pk),
        object_label=schedule.code,
        details={
            "changed": sorted(changed),
            "cron": schedule.cron,
            "enabled": schedule.enabled,
        },
        actor=actor_name(actor),
    )
    return schedule


def schedule_run_now(*, schedule: Schedule, actor: User | None) -> Job:
    """Queues the schedule's job now (a job of this schedule already waiting is answered instead);
    ``JobRefused`` with a sentence when the schedule is switched off or its job cannot be queued."""
    if not schedule.enabled:
        raise JobRefused(
            _g("The schedule “%(name)s” is switched off; switch it on to run it.") % {"name": schedule.display_label}
        )
    job = schedule_fire(schedule.pk)
    if job is None:
        raise JobRefused(
            _g("The schedule “%(name)s” could not queue its job; check its parameters.")
            % {"name": schedule.display_label}
        )
    audit_record(
        action="job_start",
        object_type="core.job",
        object_id=str(job.pk),
        object_label=kind_label(job.kind),
        details={"kind": job.kind, "trigger": job.trigger, "schedule": schedule.code},
        actor=actor_name(actor),
    )
    return job


# --- the jobs pages -------------------------------------------------------------------------------------


def _all_choice() -> list[tuple[str, str]]:
    return [("", _g("All"))]


def _status_choices() -> list[tuple[str, str]]:
    return [*_all_choice(), *((value, str(label)) for value, label in Job.Status.choices)]


def _kind_choices() -> list[tuple[str, str]]:
    return [*_all_choice(), *labels_for_kinds()]


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_status_choices)
    kind = forms.ChoiceField(label=_("Job"), required=False, choices=_kind_choices)


class KindChoiceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Job to start"), choices=())

    def __init__(self, *args: Any, kinds: Mapping[str, JobKind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["kind"])
        field.choices = [("", _g("Choose a job"))] + [(code, str(kind.label)) for code, kind in kinds.items()]


def _person(request: HttpRequest) -> User | AnonymousUser:
    return cast("User | AnonymousUser", request.user)


@login_required
def jobs(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    queryset = jobs_filtered(
        user=_person(request), status=filters.get("status") or None, kind=filters.get("kind") or None
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"job": job, "label": kind_label(job.kind), "sentence": status_sentence(job)} for job in page]
    depth = queue_depth()
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "queues": [(queue, depth.get(queue, 0)) for queue in QUEUES],
        "everyone": request.user.has_perm("core.manage_jobs"),
        "can_start": bool(startable_kinds(user=_person(request))),
    }
    return render(request, "core/jobs/jobs.html", context)


def _visible_job(request: HttpRequest, pk: int) -> Job:
    job = get_object_or_404(Job.objects.select_related("schedule"), pk=pk)
    if not may_see(_person(request), job):
        raise Http404
    return job


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _visible_job(request, pk)
    context = {
        "job": job,
        "label": kind_label(job.kind),
        "sentence": status_sentence(job),
        "log": log_lines(job=job),
        "results": result_rows(result=job.result or {}),
        "parameters": parameter_rows(kind=job.kind, parameters=job.parameters or {}),
        "may_cancel": may_cancel(_person(request), job),
        "may_retry": may_retry(_person(request), job),
        "refreshes": not job.finished,
        "refresh_seconds": REFRESH_SECONDS,
    }
    response = render(request, "core/jobs/job.html", context)
    if not job.finished:
        # The page follows a job that is still waiting or running (the HTML standard's Refresh header,
        # equal to a meta refresh; no script needed under the site's Content-Security-Policy).
        response["Refresh"] = str(REFRESH_SECONDS)
    return response


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = _visible_job(request, pk)
    if not may_cancel(_person(request), job):
        messages.info(request, _g("This job has already finished."))
        return redirect("core:job", pk=job.pk)
    job = job_cancel(job=job, actor=cast("User", request.user))
    if job.status == Job.Status.CANCELLED:
        messages.success(request, _g("The job was cancelled."))
    else:
        messages.success(request, _g("The job will stop at its next step; work already done stays."))
    return redirect("core:job", pk=job.pk)


@login_required
@require_POST
def job_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = _visible_job(request, pk)
    if not may_retry(_person(request), job):
        messages.error(request, _g("You may not start this job again."))
        return redirect("core:job", pk=job.pk)
    try:
        again = job_retry(job=job, actor=cast("User", request.user), trigger=Job.Trigger.PAGE)
    except JobRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("core:job", pk=job.pk)
    messages.success(request, _g("The job was queued again."))
    return redirect("core:job", pk=again.pk)


@login_required
@require_http_methods(["GET", "POST"])
def job_start(request: HttpRequest) -> HttpResponse:
    kinds = startable_kinds(user=_person(request))
    code = (request.POST.get("kind") if request.method == "POST" else request.GET.get("kind")) or ""
    chooser = KindChoiceForm(initial={"kind": code}, kinds=kinds, auto_id="choose_%s")
    kind = kinds.get(code)
    refusal = ""
    status = 200
    form: forms.Form | None = None
    if code and kind is None:
        refusal = _g("There is no job called “%(code)s” that you may start.") % {"code": code}
        status = 404
    elif kind is not None:
        if request.method == "POST":
            outcome = start_job_from_request(request, code)
            if isinstance(outcome, Job):
                messages.success(request, _g("The job was queued."))
                return redirect("core:job", pk=outcome.pk)
            form = outcome
        else:
            form = job_start_form(code)
    context = {"chooser": chooser, "kind": kind, "kinds": kinds, "form": form, "refusal": refusal}
    return render(request, "core/jobs/start.html", context, status=status)


# --- the schedules pages ----------------------------------------------------------------------------


class ScheduleForm(forms.Form):
    cron = forms.CharField(
        label=_("When (cron expression, UTC)"),
        max_length=100,
        help_text=_("Minute hour day-of-month month day-of-week, e.g. 30 2 * * * for 02:30 every day."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False)

    def clean_cron(self) -> str:
        cron = " ".join(str(self.cleaned_data.get("cron", "")).split())
        try:
            cron_trigger(cron)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cron


PARAMETERS_PREFIX = "parameters"


@login_required
@permission_required("core.view_schedule", raise_exception=True)
def schedules(request: HttpRequest) -> HttpResponse:
    rows = [
        {"schedule": schedule, "label": kind_label(schedule.kind), "next_run": next_run(schedule)}
        for schedule in Schedule.objects.select_related("last_job").order_by("code")
    ]
    return render(request, "core/jobs/schedules.html", {"rows": rows})


@login_required
@permission_required("core.view_schedule", raise_exception=True)
@require_http_methods(["GET", "POST"])
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("last_job"), pk=pk)
    may_change = request.user.has_perm("core.change_schedule")
    if request.method == "POST" and not may_change:
        return HttpResponse(status=403)
    kind_known = schedule.kind in job_kinds()
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    form = ScheduleForm(data, initial={"cron": schedule.cron, "enabled": schedule.enabled})
    parameters_form = (
        job_start_form(schedule.kind, data, files, initial=schedule.parameters, prefix=PARAMETERS_PREFIX)
        if kind_known
        else None
    )
    if request.method == "POST" and form.is_valid() and (parameters_form is None or parameters_form.is_valid()):
        stored: list[str] = []
        parameters = None
        if parameters_form is not None:
            parameters, stored = job_parameters_from_form(parameters_form)
            for name, value in list(parameters.items()):
                # A file parameter left empty keeps the file the schedule already names.
                if isinstance(parameters_form.fields[name], forms.FileField) and not value:
                    parameters[name] = schedule.parameters.get(name, "")
        try:
            schedule_update(
                schedule=schedule,
                actor=cast("User", request.user),
                cron=form.cleaned_data["cron"],
                enabled=form.cleaned_data["enabled"],
                parameters=parameters,
            )
        except (ValueError, JobRefused) as refusal:
            inbox_discard(stored)
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _g("The schedule was saved."))
            return redirect("core:schedule", pk=schedule.pk)
    context = {
        "schedule": schedule,
        "label": kind_label(schedule.kind),
        "kind_known": kind_known,
        "next_run": next_run(schedule),
        "form": form,
        "parameters_form": parameters_form,
        "parameters": parameter_rows(kind=schedule.kind, parameters=schedule.parameters or {}),
        "may_change": may_change,
    }
    return render(request, "core/jobs/schedule.html", context)


@login_required
@permission_required("core.change_schedule", raise_exception=True)
@require_POST
def schedule_run(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule, pk=pk)
    try:
        job = schedule_run_now(schedule=schedule, actor=cast("User", request.user))
    except JobRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("core:schedule", pk=schedule.pk)
    messages.success(request, _g("The schedule's job was queued."))
    return redirect("core:job", pk=job.pk)
