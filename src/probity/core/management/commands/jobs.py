"""probity jobs: follow, start, cancel and retry background jobs, run a worker, and edit schedules.

The command acts as the system (``system:cli`` in the audit log): it sees every job, and a job it starts is
recorded as started from the command line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.job_views import (
    inbox_discard,
    log_lines,
    parameter_rows,
    result_rows,
    schedule_run_now,
    schedule_update,
)
from probity.core.jobs import (
    QUEUES,
    JobRefused,
    get_job_kind,
    inbox_save,
    job_cancel,
    job_enqueue,
    job_kinds,
    job_retry,
    kind_label,
    status_sentence,
    wait_for,
)
from probity.core.models import Job, Schedule
from probity.core.scheduler import next_run
from probity.core.worker import run_worker

CLI_ACTOR = "system:cli"
STATUSES = [status.value for status in Job.Status]
FILE_CHUNK = 1024 * 1024


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _progress(job: Job) -> str:
    if job.progress_total:
        return f"{job.progress_done} of {job.progress_total}"
    return str(job.progress_done) if job.progress_done else "—"


def _pairs(values: Sequence[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"{option} {value!r} must be NAME=VALUE.", returncode=2)
        pairs.append((name.strip(), rest))
    return pairs


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


class Command(SubcommandCommand):
    help = (
        "Background jobs: list, show, kinds, start KIND [--set NAME=VALUE] [--file NAME=PATH] [--wait], "
        "cancel ID, retry ID, worker, schedules, schedule CODE."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        listing = subcommands.add("list", self.list_jobs, help="the latest jobs, newest first")
        listing.add_argument("--status", choices=STATUSES, help="only jobs with this status")
        listing.add_argument("--kind", help="only jobs of this kind (see 'probity jobs kinds')")
        listing.add_argument("--limit", type=int, default=20, help="how many jobs (default 20)")
        show = subcommands.add("show", self.show, help="one job: where it stands, its parameters, result and log")
        show.add_argument("job_id", type=int, metavar="ID")
        subcommands.add("kinds", self.kinds, help="the kinds of job and their parameters")
        start = subcommands.add("start", self.start, help="queue a job (run by a worker: 'probity jobs worker')")
        start.add_argument("kind", metavar="KIND", help="the kind's code, e.g. core.audit_verify")
        start.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a parameter (repeatable)")
        start.add_argument(
            "--file",
            action="append",
            default=[],
            metavar="NAME=PATH",
            help="a file parameter: the file is copied into the job inbox (repeatable)",
        )
        start.add_argument(
            "--wait",
            nargs="?",
            type=float,
            const=0.0,
            default=None,
            metavar="SECONDS",
            help="wait for the job to finish (at most SECONDS; no limit without a number) with a progress bar; "
            "exit 1 if it failed, was cancelled or did not finish in time",
        )
        cancel = subcommands.add("cancel", self.cancel, help="cancel a job (a running one stops at its next step)")
        cancel.add_argument("job_id", type=int, metavar="ID")
        retry = subcommands.add("retry", self.retry, help="start a failed or cancelled job again, as a new job")
        retry.add_argument("job_id", type=int, metavar="ID")
        worker = subcommands.add("worker", self.worker, help="run queued jobs until stopped (SIGTERM, Ctrl+C)")
        worker.add_argument(
            "--queue",
            default=",".join(QUEUES),
            help=f"comma-separated queues to serve (default {','.join(QUEUES)}); run one worker per installation "
            "for the warehouse queue",
        )
        worker.add_argument("--batch", action="store_true", help="stop when the queue is empty")
        worker.add_argument("--max-jobs", type=int, default=None, metavar="N", help="stop after N jobs")
        worker.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between looks (1)")
        subcommands.add("schedules", self.schedules, help="the schedules: which job starts when, and the next run")
        schedule = subcommands.add("schedule", self.schedule, help="show or change one schedule, or run it now")
        schedule.add_argument("code", metavar="CODE")
        schedule.add_argument("--cron", metavar="EXPR", help="five-field cron expression in UTC, e.g. '30 2 * * *'")
        switch = schedule.add_mutually_exclusive_group()
        switch.add_argument("--enable", action="store_true", help="switch the schedule on")
        switch.add_argument("--disable", action="store_true", help="switch the schedule off")
        schedule.add_argument("--run-now", action="store_true", help="queue the schedule's job now")

    # --- output ---------------------------------------------------------------------------------

    def _table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> None:
        if not rows:
            self.stdout.write(empty)
            return
        widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
        for line in (headers, *rows):
            cells = [str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)]
            self.stdout.write("  ".join(cells).rstrip())

    def _facts(self, facts: Sequence[tuple[str, str]]) -> None:
        width = max(len(label) for label, _value in facts)
        for label, value in facts:
            self.stdout.write(f"{(label + ':').ljust(width + 1)}  {value}")

    def _job(self, job_id: int) -> Job:
        job = Job.objects.select_related("schedule").filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"There is no job {job_id}; see 'probity jobs list'.", returncode=2)
        return job

    # --- jobs -----------------------------------------------------------------------------------

    def list_jobs(self, *, status: str | None, kind: str | None, limit: int, **options: Any) -> None:
        queryset = Job.objects.all()  # the command acts as the system, which sees every job
        if status:
            queryset = queryset.filter(status=status)
        if kind:
            queryset = queryset.filter(kind=kind)
        jobs = list(queryset.order_by("-created_at", "-pk")[: max(limit, 0)])
        rows = [
            [
                str(job.pk),
                kind_label(job.kind),
                str(job.get_status_display()),
                job.requested_by_name,
                str(job.get_trigger_display()),
                _when(job.created_at),
                _when(job.finished_at),
                _progress(job),
                status_sentence(job),
            ]
            for job in jobs
        ]
        headers = ["ID", "Job", "Status", "Requested by", "Started how", "Queued", "Finished", "Progress", "Sentence"]
        self._table(headers, rows, empty="No jobs.")

    def show(self, *, job_id: int, **options: Any) -> None:
        job = self._job(job_id)
        self.stdout.write(f"Job {job.pk}: {kind_label(job.kind)}")
        self.stdout.write(status_sentence(job))
        facts = [
            ("Status", str(job.get_status_display())),
            ("Requested by", job.requested_by_name),
            ("Started how", str(job.get_trigger_display()) + (f" ({job.schedule.label})" if job.schedule else "")),
            ("Queue", job.queue),
            ("Queued", _when(job.created_at)),
            ("Started", _when(job.started_at)),
            ("Finished", _when(job.finished_at)),
            ("Progress", f"{job.progress_label} {_progress(job)}".strip()),
            ("Attempts", f"{job.attempts} of {job.max_attempts}"),
        ]
        if job.error:
            facts.append(("Why it failed", job.error))
        self._facts(facts)
        parameters = parameter_rows(kind=job.kind, parameters=job.parameters or {})
        if parameters:
            self.stdout.write("\nParameters")
            self._table(["Name", "Value"], parameters, empty="")
        results = result_rows(result=job.result or {})
        if results:
            self.stdout.write("\nResult")
            self._table(["What", "Count"], results, empty="")
        lines = log_lines(job=job)
        if lines:
            self.stdout.write("\nLog")
            self._table(["When", "What happened"], [[_when(line["at"]), line["message"]] for line in lines], empty="")

    def kinds(self, **options: Any) -> None:
        rows = [
            [code, str(kind.label), kind.queue, "yes" if kind.startable else "no", kind.permission]
            for code, kind in job_kinds().items()
        ]
        self._table(["Code", "Job", "Queue", "Startable", "Permission"], rows, empty="No job kinds are registered.")
        for code, kind in job_kinds().items():
            fields = kind.form.base_fields if kind.form is not None else {}
            if not fields:
                continue
            self.stdout.write(f"\n{code}: {kind.description}")
            self._table(
                ["  Parameter", "Label", "Required", "Help"],
                [
                    [f"  {name}", str(field.label or name), "yes" if field.required else "no", str(field.help_text)]
                    for name, field in fields.items()
                ],
                empty="",
            )

    def start(
        self, *, kind: str, set: list[str], file: list[str], wait: float | None, verbosity: int, **options: Any
    ) -> int:
        parameters: dict[str, Any] = {}
        for name, value in _pairs(set, "--set"):
            if name in parameters:  # a repeated name is a list (several choices)
                previous = parameters[name]
                parameters[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                parameters[name] = value
        stored: list[str] = []
        with audit_actor(CLI_ACTOR):
            try:
                get_job_kind(kind)
                for name, path_text in _pairs(file, "--file"):
                    path = Path(path_text).expanduser()
                    if not path.is_file():
                        raise CommandError(f"--file {name}: there is no file {path}.", returncode=2)
                    parameters[name] = inbox_save(name=path.name, chunks=_file_chunks(path))
                    stored.append(parameters[name])
                job = job_enqueue(kind=kind, parameters=parameters, actor=None, trigger=Job.Trigger.CLI)
            except JobRefused as refusal:
                inbox_discard(stored)
                raise CommandError(str(refusal), returncode=2) from refusal
        self.stdout.write(f"Job {job.pk} queued: {status_sentence(job)}")
        if wait is None:
            self.stdout.write(f"Follow it with: probity jobs show {job.pk}")
            return 0
        return self._wait(job, limit=wait or None, show_bar=verbosity >= 1)

    def _wait(self, job: Job, *, limit: float | None, show_bar: bool) -> int:
        deadline = time.monotonic() + limit if limit else None
        bar = tqdm(desc=kind_label(job.kind), unit="step", file=sys.stderr, disable=not show_bar)
        try:
            while not job.finished:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                step = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
                job = wait_for(job, timeout=step, poll=0.2)
                if job.progress_label:
                    bar.set_description(f"{kind_label(job.kind)}: {job.progress_label}", refresh=False)
                bar.total = job.progress_total
                bar.n = job.progress_done
                bar.refresh()
        finally:
            bar.close()
        self.stdout.write(status_sentence(job))
        if not job.finished:
            self.stdout.write(f"Job {job.pk} has not finished yet; follow it with: probity jobs show {job.pk}")
            return 1
        return 0 if job.status == Job.Status.SUCCEEDED else 1

    def cancel(self, *, job_id: int, **options: Any) -> int:
        job = self._job(job_id)
        if job.finished:
            self.stdout.write(f"Job {job.pk} has already finished: {status_sentence(job)}")
            return 1
        with audit_actor(CLI_ACTOR):
            job = job_cancel(job=job, actor=None)
        if job.status == Job.Status.CANCELLED:
            self.stdout.write(f"Job {job.pk} was cancelled.")
        else:
            self.stdout.write(f"Job {job.pk} will stop at its next step; work already done stays.")
        return 0

    def retry(self, *, job_id: int, **options: Any) -> None:
        job = self._job(job_id)
        with audit_actor(CLI_ACTOR):
            try:
                again = job_retry(job=job, actor=None, trigger=Job.Trigger.CLI)
            except JobRefused as refusal:
                raise CommandError(str(refusal), returncode=2) from refusal
        self.stdout.write(f"Job {job.pk} was queued again as job {again.pk}: {status_sentence(again)}")

    def worker(self, *, queue: str, batch: bool, max_jobs: int | None, interval: float, **options: Any) -> None:
        queues = [name.strip() for name in queue.split(",") if name.strip()]
        try:
            with audit_actor("system:jobs"):
                run_worker(queues=queues, interval=interval, batch=batch, max_jobs=max_jobs, startup_delay=not batch)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc

    # --- schedules ------------------------------------------------------------------------------

    def schedules(self, **options: Any) -> None:
        rows = [
            [
                schedule.code,
                schedule.label,
                kind_label(schedule.kind),
                schedule.cron,
                _when(next_run(schedule)),
                "yes" if schedule.enabled else "no",
                _when(schedule.last_run_at),
                str(schedule.last_job_id or "—"),
            ]
            for schedule in Schedule.objects.order_by("code")
        ]
        headers = ["Code", "Name", "Job", "When (UTC)", "Next run", "Enabled", "Last run", "Last job"]
        self._table(headers, rows, empty="No schedules.")

    def schedule(
        self, *, code: str, cron: str | None, enable: bool, disable: bool, run_now: bool, **options: Any
    ) -> None:
        schedule = Schedule.objects.filter(code=code).first()
        if schedule is None:
            raise CommandError(f"There is no schedule {code!r}; see 'probity jobs schedules'.", returncode=2)
        enabled = True if enable else False if disable else None
        with audit_actor(CLI_ACTOR):
            try:
                if cron is not None or enabled is not None:
                    schedule = schedule_update(schedule=schedule, actor=None, cron=cron, enabled=enabled)
                    self.stdout.write(f"The schedule {schedule.code} was saved.")
                job = schedule_run_now(schedule=schedule, actor=None) if run_now else None
            except (ValueError, JobRefused) as refusal:
                raise CommandError(str(refusal), returncode=2) from refusal
        self._facts(
            [
                ("Schedule", f"{schedule.code} ({schedule.label})"),
                ("Job", kind_label(schedule.kind)),
                ("When (UTC)", schedule.cron),
                ("Enabled", "yes" if schedule.enabled else "no"),
                ("Next run", _when(next_run(schedule))),
                ("Last run", _when(schedule.last_run_at)),
            ]
        )
        if job is not None:
            self.stdout.write(f"Job {job.pk} queued: {status_sentence(job)}")
