"""A worker process: claims queued jobs from the database queue and runs them, one at a time.

It is django-tasks-db's worker loop (row locks; ``SKIP LOCKED`` on PostgreSQL, an exclusive transaction on
SQLite) with Probity's start: jobs left "running" by a worker that died are failed or queued again first.
Stop it with SIGTERM: it finishes the job in hand, then exits; a second SIGTERM stops the job (marked failed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Worker

from probity.core.jobs import QUEUES, jobs_recover, worker_name

logger = logging.getLogger("probity.jobs")


def run_worker(
    *,
    queues: list[str] | None = None,
    interval: float = 1.0,
    batch: bool = False,
    max_jobs: int | None = None,
    startup_delay: bool = True,
) -> None:
    """Runs jobs from ``queues`` (default: all) until stopped; with ``batch``, until the queue is empty."""
    names = list(queues or QUEUES)
    unknown = sorted(set(names) - set(QUEUES))
    if unknown:
        raise ValueError(f"Unknown queue {', '.join(unknown)}; the queues are {', '.join(QUEUES)}.")
    recovered = jobs_recover()
    if recovered:
        logger.warning("worker start: %d job(s) left running by a stopped worker were recovered", len(recovered))
    worker = Worker(
        queue_names=names,
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=startup_delay,
        max_tasks=max_jobs,
        worker_id=worker_name()[:64],
        excluded_queue_names=[],
    )
    logger.info("worker %s serving queues %s", worker.worker_id, ",".join(names))
    if not batch:
        worker.configure_signals()
    with _connection_kept_inside_a_transaction():
        worker.run()


@contextmanager
def _connection_kept_inside_a_transaction() -> Iterator[None]:
    """The worker loop drops stale database connections between tasks. Run inside a transaction (a test, or
    ``probity jobs worker --batch`` called from code that holds one), that would close the caller's own
    transaction; there the connection is kept."""
    if not transaction.get_connection().in_atomic_block:
        yield
        return
    original = db_worker.close_old_connections
    db_worker.close_old_connections = lambda **kwargs: None
    try:
        yield
    finally:
        db_worker.close_old_connections = original
