"""The scheduler process: APScheduler fires each enabled ``Schedule`` at its cron times by queueing a job.

Schedules live in the database, so an administrator edits them on the Schedules page (or in the admin);
the process re-reads them every ``RELOAD_EVERY`` seconds. Each firing queues an ordinary ``Job`` (trigger
"schedule"), recorded and shown like any other; a schedule whose previous job still waits is not queued
twice. Run exactly one scheduler per installation (``probity serve --scheduler``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _g

from probity.core.jobs import JobRefused, get_job_kind, job_enqueue
from probity.core.models import Job, Schedule
from probity.core.modules import schedule_defaults

logger = logging.getLogger("probity.scheduler")
RELOAD_EVERY = 30  # seconds


def cron_trigger(expression: str) -> CronTrigger:
    """The trigger for a five-field cron expression in UTC; ``ValueError`` with a sentence if it is not one."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            _g("“%(cron)s” is not a cron expression: write five fields, minute hour day month weekday.")
            % {"cron": expression}
        )
    try:
        return CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ValueError(
            _g("“%(cron)s” is not a valid cron expression: %(why)s") % {"cron": expression, "why": exc}
        ) from None


def next_run(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    if not schedule.enabled:
        return None
    try:
        trigger = cron_trigger(schedule.cron)
    except ValueError:
        return None
    now = now or timezone.now()
    return trigger.get_next_fire_time(None, now)


def schedules_sync() -> int:
    """Creates the schedules modules propose that do not exist yet (never changes an edited one)."""
    created = 0
    for default in schedule_defaults():
        _schedule, was_created = Schedule.objects.get_or_create(
            code=default.code,
            defaults={
                "label": str(default.label),
                "kind": default.kind,
                "cron": default.cron,
                "parameters": dict(default.parameters),
                "enabled": default.enabled,
                "updated_by": "system:modules",
            },
        )
        created += int(was_created)
    return created


def schedule_fire(schedule_id: int) -> Job | None:
    """Queues the job of one schedule now (what the scheduler does at each firing, and "run now")."""
    schedule = Schedule.objects.filter(pk=schedule_id, enabled=True).first()
    if schedule is None:
        return None
    try:
        with transaction.atomic():
            job = job_enqueue(
                kind=schedule.kind,
                parameters=schedule.parameters,
                actor=None,
                trigger=Job.Trigger.SCHEDULE,
                schedule=schedule,
                dedupe_key=f"schedule:{schedule.code}",
            )
            Schedule.objects.filter(pk=schedule.pk).update(last_run_at=timezone.now(), last_job=job)
    except JobRefused as exc:
        logger.error("schedule %s cannot queue its job: %s", schedule.code, exc)
        return None
    logger.info("schedule %s queued job %s", schedule.code, job.pk)
    return job


def _fire(schedule_id: int) -> None:
    """A firing in the scheduler process: drop a connection the database closed meanwhile, then queue."""
    close_old_connections()
    schedule_fire(schedule_id)


class _Scheduler:
    def __init__(self) -> None:
        self.scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "misfire_grace_time": 300})
        self.loaded: dict[str, tuple[str, bool]] = {}

    def reload(self) -> None:
        close_old_connections()
        wanted: dict[str, tuple[str, bool]] = {}
        for schedule in Schedule.objects.all():
            apscheduler_id = f"schedule-{schedule.pk}"
            wanted[apscheduler_id] = (schedule.cron, schedule.enabled)
            if self.loaded.get(apscheduler_id) == wanted[apscheduler_id]:
                continue
            if self.scheduler.get_job(apscheduler_id):
                self.scheduler.remove_job(apscheduler_id)
            if not schedule.enabled:
                continue
            try:
                get_job_kind(schedule.kind)
                trigger = cron_trigger(schedule.cron)
            except (ValueError, JobRefused) as exc:
                logger.error("schedule %s is not loaded: %s", schedule.code, exc)
                continue
            self.scheduler.add_job(_fire, trigger, args=[schedule.pk], id=apscheduler_id)
            logger.info("schedule %s loaded (%s)", schedule.code, schedule.cron)
        for apscheduler_id in set(self.loaded) - set(wanted):
            if self.scheduler.get_job(apscheduler_id):
                self.scheduler.remove_job(apscheduler_id)
        self.loaded = wanted

    def run(self) -> None:
        schedules_sync()
        self.reload()
        self.scheduler.add_job(self.reload, "interval", seconds=RELOAD_EVERY, id="probity-reload")
        logger.info("scheduler started")
        self.scheduler.start()


def run_scheduler() -> None:
    """Runs until SIGTERM or Ctrl+C."""
    import signal

    runner = _Scheduler()

    def stop(signum: int, frame: object) -> None:
        runner.scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    runner.run()
