"""The one django-tasks task: run a Probity ``Job`` by its id (see ``probity.core.jobs``)."""

from __future__ import annotations

from django_tasks import task

from probity.core.jobs import job_run


@task(queue_name="default")
def run_job(job_id: int) -> str:
    job = job_run(job_id)
    return job.status if job is not None else "missing"
