"""Background jobs: what kinds of long work exist, and how one is queued, run, cancelled and retried.

The queue is Django's Tasks framework (the ``django-tasks`` backport of Django 6.0's ``django.tasks``) with
its database backend (``django-tasks-db``): the queue lives in the same database as everything else, so it
needs no extra server on SQLite, and enqueuing a job commits or rolls back with the write that caused it.
Workers (``probity serve --worker``, ``probity jobs worker``) claim entries with row locks
(``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL). One django-tasks task, ``run_job``, runs every kind;
the ``Job`` row is what people see: progress, log lines, the result, why it failed.

A module contributes job kinds by listing packages in its ``ModuleConfig.jobs``; each decorates functions
with ``@job_kind``. A job function takes a ``JobContext`` and its parameters as keywords, reports progress
through the context, and returns a ``JobOutcome`` (a sentence for people, and counts). It raises
``JobFailed`` with a sentence when it cannot go on; any other exception is reported as an unexpected
failure with its type only (the server log has the traceback). Parameters and log lines never hold personal
data: file names, codes, counts.

Kinds whose work writes the DuckDB warehouse go to the ``warehouse`` queue, which exactly one worker serves
(DuckDB allows one writing process); everything else goes to ``default``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.db import IntegrityError, OperationalError, close_old_connections, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _g
from django_tasks import task

from probity.core.audit import actor_name, audit_actor, audit_record
from probity.core.models import Job, Schedule

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger("probity.jobs")

QUEUES = ("default", "warehouse")
LOG_LINES_KEPT = 500
# A running job whose worker has shown no sign of life for this long is taken as dead.
STALE_AFTER = timedelta(minutes=3)
HEARTBEAT_EVERY = 30.0  # seconds
PROGRESS_SAVE_EVERY = 1.0  # seconds: progress is written at most this often


class JobFailed(Exception):
    """Raised by a job function that cannot go on; the message is shown to people as the reason."""


class JobCancelled(Exception):
    """Raised inside a job when someone asked to cancel it."""


class JobRefused(Exception):
    """A job cannot be queued (unknown kind, invalid parameters, not allowed); the message says why."""


@dataclass
class JobOutcome:
    """What a finished job tells people: one sentence, and the numbers behind it."""

    summary: str
    counts: dict[str, int | float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobKind:
    """A kind of long work. ``form`` validates its parameters on the page, in the API and on the command line."""

    code: str
    label: str | Promise
    description: str | Promise
    function: Callable[..., JobOutcome | str | None]
    permission: str
    queue: str = "default"
    max_attempts: int = 1
    form: type[forms.Form] | None = None
    # Exceptions after which another attempt may succeed (a locked database, a lost connection).
    retry_on: tuple[type[BaseException], ...] = (OperationalError,)
    # Shown on the Jobs page's "start a job" form; kinds started only by events or schedules say False.
    startable: bool = True

    def clean_parameters(self, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validated parameters, JSON-ready; ``JobRefused`` names every field that is wrong."""
        data = dict(parameters or {})
        if self.form is None:
            if data:
                raise JobRefused(_g("The job “%(job)s” takes no parameters.") % {"job": self.label})
            return {}
        form = self.form(data=data)
        if not form.is_valid():
            problems = "; ".join(
                f"{form.fields[name].label if name in form.fields else name}: {' '.join(str(e) for e in errors)}"
                for name, errors in form.errors.items()
            )
            raise JobRefused(
                _g("The job “%(job)s” cannot start: %(problems)s") % {"job": self.label, "problems": problems}
            )
        return {name: _jsonable(value) for name, value in form.cleaned_data.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | timedelta) or hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if hasattr(value, "pk"):
        return value.pk
    return value


_KINDS: dict[str, JobKind] = {}


def job_kind(
    code: str,
    *,
    label: str | Promise,
    description: str | Promise,
    permission: str,
    queue: str = "default",
    max_attempts: int = 1,
    form: type[forms.Form] | None = None,
    startable: bool = True,
) -> Callable[[Callable[..., JobOutcome | str | None]], Callable[..., JobOutcome | str | None]]:
    """Registers the decorated function as the job kind ``code`` (``module.verb``)."""
    if queue not in QUEUES:
        raise ValueError(f"Job kind {code}: unknown queue {queue!r}; queues are {', '.join(QUEUES)}.")

    def register(function: Callable[..., JobOutcome | str | None]) -> Callable[..., JobOutcome | str | None]:
        if code in _KINDS and _KINDS[code].function is not function:
            raise ValueError(f"The job kind {code!r} is registered twice.")
        _KINDS[code] = JobKind(
            code=code,
            label=label,
            description=description,
            function=function,
            permission=permission,
            queue=queue,
            max_attempts=max_attempts,
            form=form,
            startable=startable,
        )
        return function

    return register


def job_kinds() -> dict[str, JobKind]:
    return dict(sorted(_KINDS.items()))


def get_job_kind(code: str) -> JobKind:
    try:
        return _KINDS[code]
    except KeyError:
        raise JobRefused(_g("There is no job called “%(code)s”.") % {"code": code}) from None


def kind_label(code: str) -> str:
    kind = _KINDS.get(code)
    return str(kind.label) if kind else code


def may_start(user: User | AnonymousUser, kind: JobKind) -> bool:
    return bool(user.is_authenticated and user.has_perm(kind.permission))


def may_see(user: User | AnonymousUser, job: Job) -> bool:
    if not user.is_authenticated:
        return False
    return bool(user.has_perm("core.manage_jobs") or job.requested_by_id == user.pk)


def may_cancel(user: User | AnonymousUser, job: Job) -> bool:
    return may_see(user, job) and not job.finished


def job_url(job: Job) -> str:
    """The page that follows a job."""
    return reverse("core:job", kwargs={"pk": job.pk})


def start_links(*, user: User | AnonymousUser, codes: Iterable[str]) -> list[dict[str, Any]]:
    """Links to start these job kinds on the Jobs page (label, description, url), for those ``user`` may
    start; a module's page shows them beside its data."""
    start = reverse("core:job_start")
    links = []
    for code in codes:
        kind = _KINDS.get(code)
        if kind is not None and kind.startable and may_start(user, kind):
            links.append({"label": kind.label, "description": kind.description, "url": f"{start}?kind={code}"})
    return links


# --- files given to jobs ---------------------------------------------------------------------------


def inbox_dir() -> Path:
    """Where files handed to jobs wait (uploads from pages and the API): ``VAR_DIR/inbox``, never served."""
    folder = Path(settings.VAR_DIR) / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def inbox_save(*, name: str, chunks: Iterable[bytes]) -> str:
    """Stores an uploaded file in the inbox; returns the name a job parameter refers to it by."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).name).strip(".-")[:80] or "upload"
    stored = f"{uuid.uuid4().hex[:12]}-{safe}"
    with (inbox_dir() / stored).open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    return stored


def inbox_path(name: str) -> Path:
    """The file an inbox name refers to; ``JobFailed`` for a name outside the inbox or a missing file."""
    folder = inbox_dir().resolve()
    path = (folder / name).resolve()
    if path.parent != folder:
        raise JobFailed(_g("“%(name)s” is not a file in the job inbox.") % {"name": name})
    if not path.is_file():
        raise JobFailed(_g("The file “%(name)s” is no longer in the job inbox.") % {"name": name})
    return path


class InboxFileField(forms.CharField):
    """A job parameter naming a file in the inbox (the page and the API upload it there first)."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value:
            try:
                inbox_path(value)
            except JobFailed as exc:
                raise forms.ValidationError(str(exc)) from None


# --- queueing ----------------------------------------------------------------------------------


def job_enqueue(
    *,
    kind: str,
    parameters: Mapping[str, Any] | None = None,
    actor: User | None = None,
    trigger: str = Job.Trigger.PAGE,
    schedule: Schedule | None = None,
    dedupe_key: str = "",
    run_after: datetime | None = None,
    check_permission: bool = True,
) -> Job:
    """Queues one job and returns it. The queue entry commits with the caller's transaction.

    With ``dedupe_key``, a job with the same key still waiting is returned instead of a second one.
    ``actor`` None is the system (events, schedules); with an actor the kind's permission is checked.
    """
    job_kind_ = get_job_kind(kind)
    if actor is not None and check_permission and not actor.has_perm(job_kind_.permission):
        raise JobRefused(_g("You may not start the job “%(job)s”.") % {"job": job_kind_.label})
    cleaned = job_kind_.clean_parameters(parameters)
    with transaction.atomic():
        if dedupe_key:
            # Joining a waiting job locks its row until the caller's transaction ends: a worker cannot start
            # it (job_run takes the same lock) before the write that joined it has committed and is visible.
            waiting = Job.objects.select_for_update().filter(dedupe_key=dedupe_key, status=Job.Status.QUEUED).first()
            if waiting is not None:
                return waiting
        try:
            with transaction.atomic():
                job = Job.objects.create(
                    kind=kind,
                    parameters=cleaned,
                    queue=job_kind_.queue,
                    trigger=trigger,
                    requested_by=actor,
                    requested_by_name=actor_name(actor),
                    schedule=schedule,
                    dedupe_key=dedupe_key,
                    run_after=run_after,
                    max_attempts=job_kind_.max_attempts,
                )
                _send(job, run_after=run_after)
        except IntegrityError:
            # Another process queued the same work between our look and our write.
            waiting = Job.objects.filter(dedupe_key=dedupe_key, status=Job.Status.QUEUED).first()
            if waiting is None:
                raise
            return waiting
    if actor is not None:  # people's requests are audited; the Job row records the system's own
        _audit(job, "job_start", actor)
    return job


def _audit(job: Job, action: str, actor: User | None) -> None:
    audit_record(
        action=action,
        object_type="core.job",
        object_id=str(job.pk),
        object_label=kind_label(job.kind),
        details={"kind": job.kind, "trigger": job.trigger},
        actor=actor_name(actor),
    )


def _send(job: Job, *, run_after: datetime | None) -> None:
    """Puts the job's entry on the django-tasks queue (same database, same transaction)."""
    task = (
        run_job.using(queue_name=job.queue, run_after=run_after) if run_after else run_job.using(queue_name=job.queue)
    )
    result = task.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.task_id = str(result.id)


def job_cancel(*, job: Job, actor: User | None) -> Job:
    """A waiting job is cancelled at once; a running one stops at its next progress report."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.finished:
            return job
        if job.status == Job.Status.QUEUED:
            job.status = Job.Status.CANCELLED
            job.finished_at = timezone.now()
            job.summary = _g("Cancelled by %(name)s before it started.") % {"name": actor_name(actor)}
            job.dedupe_key = ""
        else:
            job.cancel_requested = True
            _log(job, _g("Cancellation requested by %(name)s.") % {"name": actor_name(actor)})
        job.save()
    _audit(job, "job_cancel", actor)
    return job


def job_retry(*, job: Job, actor: User | None, trigger: str | None = None) -> Job:
    """Queues a finished (failed or cancelled) job again with the same parameters, as a new job.

    ``trigger`` says where the new start came from (API, command line); by default a page for a person,
    and the first job's own trigger for the system.
    """
    if job.status not in {Job.Status.FAILED, Job.Status.CANCELLED}:
        raise JobRefused(_g("Only a failed or cancelled job can be started again."))
    return job_enqueue(
        kind=job.kind,
        parameters=job.parameters,
        actor=actor,
        trigger=trigger or (job.trigger if actor is None else Job.Trigger.PAGE),
        schedule=job.schedule,
    )


# --- running -----------------------------------------------------------------------------------


def _log(job: Job, message: str) -> None:
    lines = list(job.log or [])
    lines.append({"at": timezone.now().isoformat(timespec="seconds"), "message": message})
    job.log = lines[-LOG_LINES_KEPT:]


class JobContext:
    """Given to a job function: report progress and log lines, and learn whether to stop."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._saved = 0.0
        self._dirty = False

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.job.parameters)

    def log(self, message: str) -> None:
        """A line in the job's log: plain words, no personal data."""
        _log(self.job, message)
        self._save(force=True)

    def stage(self, label: str, total: int | None = None) -> None:
        """Starts a stage: its name, how many steps it has (if known); progress restarts at 0."""
        self.job.progress_label = label[:200]
        self.job.progress_total = total
        self.job.progress_done = 0
        self._save(force=True)

    def total(self, total: int | None) -> None:
        self.job.progress_total = total
        self._save(force=True)

    def advance(self, steps: int = 1) -> None:
        """Counts ``steps`` more done; usable as the ``progress`` callback of Probity's services."""
        self.job.progress_done += int(steps)
        self._save()

    def check_cancelled(self) -> None:
        """Raises ``JobCancelled`` if someone asked to cancel this job (read from the database)."""
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled

    def _save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved < PROGRESS_SAVE_EVERY:
            return
        self._saved = now
        self.check_cancelled()
        Job.objects.filter(pk=self.job.pk).update(
            progress_done=self.job.progress_done,
            progress_total=self.job.progress_total,
            progress_label=self.job.progress_label,
            log=self.job.log,
            heartbeat_at=timezone.now(),
        )


class _Heartbeat(threading.Thread):
    """Marks a running job alive every ``HEARTBEAT_EVERY`` seconds, even while it reports no progress."""

    def __init__(self, job_id: int) -> None:
        super().__init__(daemon=True, name=f"probity-job-{job_id}-heartbeat")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_EVERY):
                with contextlib.suppress(OperationalError):  # a busy database: the next beat will do
                    Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            close_old_connections()
            from django.db import connections

            connections.close_all()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_run(job_id: int) -> Job | None:
    """Runs one queued job in this process (called by the worker through ``run_job``)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Job.Status.QUEUED:
            return job  # cancelled while waiting, or already taken
        job.status = Job.Status.RUNNING
        job.started_at = job.heartbeat_at = timezone.now()
        job.attempts += 1
        job.worker = worker_name()
        job.dedupe_key = ""  # a new event for the same subject may queue again while this one runs
        job.cancel_requested = False
        job.save()
    kind = _KINDS.get(job.kind)
    if kind is None:
        return _finish(
            job,
            Job.Status.FAILED,
            error=_g("This installation has no job called “%(code)s” (was a module removed?).") % {"code": job.kind},
        )
    context = JobContext(job)
    heartbeat = _Heartbeat(job.pk)
    heartbeat.start()
    started = time.monotonic()
    try:
        with audit_actor(job.requested_by_name or "system:jobs"):
            outcome = kind.function(context, **job.parameters)
    except JobCancelled:
        return _finish(job, Job.Status.CANCELLED, summary=_g("Cancelled while running; work already committed stays."))
    except JobFailed as exc:
        return _failed(job, kind, str(exc), retryable=False)
    except kind.retry_on as exc:
        logger.warning("job %s (%s) attempt %s: %s", job.pk, job.kind, job.attempts, type(exc).__name__)
        return _failed(job, kind, _unexpected(exc), retryable=True)
    except Exception as exc:
        logger.exception("job %s (%s) failed unexpectedly", job.pk, job.kind)
        return _failed(job, kind, _unexpected(exc), retryable=False)
    except BaseException:
        # The worker is being stopped (a second SIGTERM, Ctrl+C): the job ends failed, never "running".
        _finish(job, Job.Status.FAILED, error=_g("The worker was stopped while this job ran; start it again."))
        raise
    finally:
        heartbeat.stopped.set()
    if isinstance(outcome, JobOutcome):
        summary, counts = outcome.summary, outcome.counts
    else:
        summary, counts = str(outcome or _g("Done.")), {}
    elapsed = time.monotonic() - started
    _log(job, _g("Finished in %(seconds).1f s.") % {"seconds": elapsed})
    return _finish(job, Job.Status.SUCCEEDED, summary=summary, result=counts)


@task(queue_name="default")
def run_job(job_id: int) -> str:
    """The one django-tasks task: runs the Probity ``Job`` with this id (every kind goes through it)."""
    job = job_run(job_id)
    return job.status if job is not None else "missing"


def _unexpected(exc: BaseException) -> str:
    if isinstance(exc, OperationalError):
        return _g("The database could not be used (%(kind)s); the job may be tried again.") % {
            "kind": type(exc).__name__
        }
    return _g("An unexpected error (%(kind)s) stopped the job; the server log has the details.") % {
        "kind": type(exc).__name__
    }


def _failed(job: Job, kind: JobKind, reason: str, *, retryable: bool) -> Job:
    if retryable and job.attempts < job.max_attempts:
        delay = timedelta(seconds=30 * 2 ** (job.attempts - 1))
        when = timezone.now() + delay
        _log(
            job,
            _g("Attempt %(n)s failed: %(reason)s It will be tried again at %(when)s UTC.")
            % {
                "n": job.attempts,
                "reason": reason,
                "when": when.strftime("%H:%M:%S"),
            },
        )
        with transaction.atomic():
            job.status = Job.Status.QUEUED
            job.error = reason
            job.run_after = when
            job.save()
            _send(job, run_after=when)
        return job
    return _finish(job, Job.Status.FAILED, error=reason)


def _finish(
    job: Job, status: str, *, summary: str = "", error: str = "", result: Mapping[str, Any] | None = None
) -> Job:
    job.status = status
    job.finished_at = timezone.now()
    job.summary = summary
    job.error = error
    job.result = dict(result or {})
    if error:
        _log(job, error)
    for attempt in range(5):
        try:
            job.save()
            break
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    if job.schedule_id:
        Schedule.objects.filter(pk=job.schedule_id).update(last_job=job)
    return job


def jobs_recover(*, stale_after: timedelta = STALE_AFTER, actor: User | None = None) -> list[Job]:
    """Running jobs whose worker stopped answering: failed, or queued again if their kind retries.

    A job function writes in transactions, so a dead worker leaves committed batches and nothing
    half-written; imports are idempotent, so the retried or re-started job does not duplicate.
    """
    cutoff = timezone.now() - stale_after
    recovered: list[Job] = []
    for job in Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff):
        kind = _KINDS.get(job.kind)
        reason = _g("The worker running this job stopped answering (last sign of life %(when)s UTC).") % {
            "when": job.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S") if job.heartbeat_at else "?"
        }
        if kind is not None:
            recovered.append(_failed(job, kind, reason, retryable=True))
        else:
            recovered.append(_finish(job, Job.Status.FAILED, error=reason))
    return recovered


def progress_callbacks(context: JobContext, stage: str) -> tuple[Callable[[int], object], Callable[[int | None], None]]:
    """``(progress, total_hint)`` for a Probity service, reporting into ``context`` under ``stage``."""
    context.stage(stage)
    return context.advance, context.total


def wait_for(job: Job, *, timeout: float = 60.0, poll: float = 0.2) -> Job:
    """Blocks until ``job`` has finished or ``timeout`` seconds pass (for the CLI's ``--wait``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            return job
        time.sleep(poll)
    job.refresh_from_db()
    return job


def status_sentence(job: Job) -> str:
    """One sentence on where the job stands, for pages, the API and the CLI."""
    label = kind_label(job.kind)
    if job.status == Job.Status.QUEUED:
        if job.run_after and job.run_after > timezone.now():
            return _g("%(job)s waits until %(when)s UTC.") % {
                "job": label,
                "when": job.run_after.strftime("%Y-%m-%d %H:%M"),
            }
        return _g("%(job)s is waiting for a worker.") % {"job": label}
    if job.status == Job.Status.RUNNING:
        if job.progress_total:
            return _g("%(job)s is running: %(stage)s %(done)s of %(total)s.") % {
                "job": label,
                "stage": job.progress_label,
                "done": job.progress_done,
                "total": job.progress_total,
            }
        return _g("%(job)s is running: %(stage)s %(done)s done.") % {
            "job": label,
            "stage": job.progress_label,
            "done": job.progress_done,
        }
    if job.status == Job.Status.SUCCEEDED:
        return job.summary or _g("%(job)s finished.") % {"job": label}
    if job.status == Job.Status.CANCELLED:
        return job.summary or _g("%(job)s was cancelled.") % {"job": label}
    return _g("%(job)s failed: %(reason)s") % {"job": label, "reason": job.error}


def queue_depth() -> dict[str, int]:
    """Waiting jobs per queue (for readiness and the Jobs page)."""
    from django.db.models import Count

    rows = Job.objects.filter(status=Job.Status.QUEUED).values("queue").annotate(n=Count("id"))
    return {row["queue"]: row["n"] for row in rows}


def labels_for_kinds() -> list[tuple[str, str]]:
    return [(code, str(kind.label)) for code, kind in job_kinds().items()]


__all__ = [
    "QUEUES",
    "JobCancelled",
    "JobContext",
    "JobFailed",
    "JobKind",
    "JobOutcome",
    "JobRefused",
    "get_job_kind",
    "job_cancel",
    "job_enqueue",
    "job_kind",
    "job_kinds",
    "job_retry",
    "job_run",
    "jobs_recover",
    "kind_label",
    "may_cancel",
    "may_see",
    "may_start",
    "progress_callbacks",
    "queue_depth",
    "status_sentence",
    "wait_for",
]
