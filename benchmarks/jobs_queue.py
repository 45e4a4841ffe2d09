"""Queue overhead of Probity's background jobs: N trivial jobs queued, then drained by worker processes,
beside the same number of raw django-tasks tasks drained by django-tasks-db's own ``db_worker``.

    .venv/bin/python benchmarks/jobs_queue.py                                  # 10 000 jobs, 1 worker, SQLite
    .venv/bin/python benchmarks/jobs_queue.py --jobs 2000 --workers 2          # a short run, 2 workers
    .venv/bin/python benchmarks/jobs_queue.py --database postgres://postgres@127.0.0.1:5432/probity_jobs_bench

What it does:

1. Creates a throw-away installation in a temporary folder (``PROBITY_VAR_DIR`` there, never the
   repository's ``var/``) with one extra module, ``bench_module``, which contributes a job kind
   ``bench.echo`` (returns a sentence) the way a Probity module does, and a raw django-tasks task
   ``raw_echo`` (returns the same sentence). Both note each run they make in a file of their process, so
   that runs are counted outside the database too. With ``--database postgres://…`` the named database
   is created (it must not exist) and dropped at the end; otherwise a new SQLite file is used.
2. For each side, in a fresh queue (both tables emptied and analysed between sides):
   - reference: N × ``raw_echo.enqueue(n)`` in one process, then ``--workers`` processes of
     ``django-admin db_worker --batch --interval 0 --no-startup-delay`` (django-tasks-db's own command);
   - Probity: N × ``job_enqueue(kind="bench.echo")`` (a ``Job`` record, its queue entry, the entry's id
     on the record, one transaction each), then ``--workers`` processes calling
     ``probity.core.worker.run_worker(batch=True, startup_delay=False, interval=0)``, which runs each entry
     through ``core.jobs.run_job`` → ``job_run`` (row lock on the record, running, heartbeat thread,
     audit actor, finished).
   Each enqueue is its own transaction, as when a page or an event queues work. The drain rate is N over
   the time from the first claim to the last finish (read off the queue rows), so Python's start-up is
   not in it; the wall time of the worker processes, start-up included, is printed beside it.
3. Checks each side: every entry (and for Probity every ``Job``) succeeded, was claimed by exactly one
   worker and ran exactly once according to the run files (none lost, none twice).

Prints jobs/s for enqueue and drain on each side and the ratio Probity ÷ reference in time per job
(above 1: Probity's overhead); exits 1 if any job was lost, failed or ran twice.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

from loopback import PYTHON, environment, postgres_database

DJANGO_ADMIN = PYTHON.parent / "django-admin"

MODULE_APPS = """
from probity.core.modules import ModuleConfig


class BenchConfig(ModuleConfig):
    name = "bench_module"
    label = "bench_module"
    verbose_name = "Benchmark"
    jobs = ("jobs",)
"""

MODULE_JOBS = """
import os

from django_tasks import task

from probity.core.jobs import JobContext, job_kind

_runs = None


def _noted(side, number):
    # One line per run, in a file of this process: counted afterwards, outside the database.
    global _runs
    if _runs is None:
        _runs = open(os.path.join(os.environ["BENCH_RUNS"], f"{side}-{os.getpid()}.txt"), "a", buffering=1)
    _runs.write(f"{number}\\n")


@job_kind(
    "bench.echo",
    label="Benchmark echo",
    description="Returns a sentence (queue overhead benchmark).",
    permission="core.manage_jobs",
    startable=False,
)
def echo(context: JobContext) -> str:
    _noted("probity", context.job.pk)
    return f"Job {context.job.pk} ran."


@task(queue_name="default")
def raw_echo(number: int) -> str:
    _noted("reference", number)
    return f"Job {number} ran."
"""

SETTINGS = """
from probity.settings import *  # noqa: F401,F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench_module"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
"""

MIGRATE = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
"""

CLEAR = """
import django
django.setup()
from django.db import connection
from django_tasks_db.models import DBTaskResult
from probity.core.models import Job
DBTaskResult.objects.all().delete()
Job.objects.all().delete()
with connection.cursor() as cursor:
    cursor.execute("VACUUM" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    if connection.vendor == "sqlite":
        cursor.execute("ANALYZE")
"""

ENQUEUE = """
import json, sys, time
import django
django.setup()
side, count = sys.argv[1], int(sys.argv[2])
if side == "probity":
    from probity.core.jobs import job_enqueue
    from probity.core.models import Job
    job_enqueue(kind="bench.echo", trigger=Job.Trigger.CLI).delete()  # warm-up, not counted
    from django_tasks_db.models import DBTaskResult
    DBTaskResult.objects.all().delete()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        job_enqueue(kind="bench.echo", trigger=Job.Trigger.CLI)
else:
    from bench_module.jobs import raw_echo
    raw_echo.enqueue(-1).db_result.delete()  # warm-up, not counted
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(count):
        raw_echo.enqueue(number)
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}))
"""

PROBITY_WORKER = """
import django
django.setup()
from probity.core.worker import run_worker
run_worker(batch=True, startup_delay=False, interval=0)
"""

CHECK = """
import json, sys
import django
django.setup()
from django.db.models import Max, Min
from django_tasks_db.models import DBTaskResult
from probity.core.models import Job
side, count = sys.argv[1], int(sys.argv[2])
entries = DBTaskResult.objects.all()
span = entries.aggregate(first=Min("started_at"), last=Max("finished_at"), queued=Min("enqueued_at"))
statuses = {}
for status in entries.values_list("status", flat=True):
    statuses[status] = statuses.get(status, 0) + 1
claims = [len(ids) for ids in entries.values_list("worker_ids", flat=True)]
per_worker = {}
for ids in entries.values_list("worker_ids", flat=True):
    for worker in ids:
        per_worker[worker] = per_worker.get(worker, 0) + 1
result = {
    "entries": len(claims),
    "statuses": statuses,
    "claimed_twice": sum(1 for n in claims if n > 1),
    "never_claimed": sum(1 for n in claims if n == 0),
    "drain_seconds": (span["last"] - span["first"]).total_seconds() if span["first"] and span["last"] else None,
    "per_worker": sorted(per_worker.values(), reverse=True),
}
if side == "probity":
    jobs = Job.objects.all()
    job_statuses = {}
    for status in jobs.values_list("status", flat=True):
        job_statuses[status] = job_statuses.get(status, 0) + 1
    task_ids = list(jobs.values_list("task_id", flat=True))
    entry_ids = {str(i) for i in entries.values_list("id", flat=True)}
    result.update({
        "jobs": len(task_ids),
        "job_statuses": job_statuses,
        "jobs_attempted_more_than_once": jobs.filter(attempts__gt=1).count(),
        "jobs_without_their_entry": sum(1 for t in task_ids if t not in entry_ids),
        "entries_shared": len(task_ids) - len(set(task_ids)),
        "job_ids": list(jobs.values_list("id", flat=True)),
    })
print(json.dumps(result))
"""


def run(command: list[str], env: dict[str, str], folder: Path, timeout: float) -> str:
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} {' '.join(command[1:3])[:60]}… failed:\n{done.stderr[-3000:]}")
    return done.stdout


def worker_command(side: str) -> list[str]:
    if side == "probity":
        return [str(PYTHON), "-c", PROBITY_WORKER]
    return [
        str(DJANGO_ADMIN), "db_worker", "--batch", "--interval", "0", "--no-startup-delay", "--no-reload",
        "--queue-name", "default,warehouse", "--verbosity", "0",
    ]  # fmt: skip


def drain(side: str, workers: int, env: dict[str, str], folder: Path, timeout: float) -> tuple[float, float]:
    """Starts ``workers`` worker processes at once and waits until all have emptied the queue.

    Returns the wall seconds (start-up included) and the CPU seconds of all of them (user + system)."""
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    cpu = 0.0
    started = time.perf_counter()
    try:
        for number in range(workers):
            log = (folder / f"worker-{side}-{number}.log").open("ab")
            logs.append(log)
            processes.append(
                subprocess.Popen(worker_command(side), env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
            )
        deadline = time.monotonic() + timeout
        waiting = list(processes)
        while waiting and time.monotonic() < deadline:
            for process in list(waiting):
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    process.returncode = os.waitstatus_to_exitcode(status)
                    cpu += usage.ru_utime + usage.ru_stime
                    waiting.remove(process)
            time.sleep(0.05)
        wall = time.perf_counter() - started
        if waiting:
            raise SystemExit(f"{len(waiting)} {side} worker(s) still running after {timeout:.0f} s")
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in logs:
            log.close()
    failed = [p.returncode for p in processes if p.returncode != 0]
    if failed:
        tail = (folder / f"worker-{side}-0.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"{len(failed)} {side} worker(s) ended with an error:\n{tail}")
    return wall, cpu


def runs_noted(folder: Path, side: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for path in (folder / "runs").glob(f"{side}-*.txt"):
        for line in path.read_text().split():
            counts[int(line)] = counts.get(int(line), 0) + 1
    return counts


def side_run(side: str, args: argparse.Namespace, env: dict[str, str], folder: Path) -> dict[str, object]:
    run([str(PYTHON), "-c", CLEAR], env, folder, 600)
    for path in (folder / "runs").glob(f"{side}-*.txt"):
        path.unlink()
    enqueue = json.loads(run([str(PYTHON), "-c", ENQUEUE, side, str(args.jobs)], env, folder, args.timeout))
    wall, cpu = drain(side, args.workers, env, folder, args.timeout)
    check = json.loads(run([str(PYTHON), "-c", CHECK, side, str(args.jobs)], env, folder, 600))
    # The CPU a worker spends starting and finding the queue empty, taken off so that only jobs count.
    _idle_wall, idle_cpu = drain(side, 1, env, folder, args.timeout)
    noted = runs_noted(folder, side)
    expected = set(check.pop("job_ids")) if side == "probity" else set(range(args.jobs))
    problems = []
    if check["entries"] != args.jobs:
        problems.append(f"{check['entries']} queue entries instead of {args.jobs}")
    if check["statuses"] != {"SUCCESSFUL": args.jobs}:
        problems.append(f"queue entries by status: {check['statuses']}")
    if check["claimed_twice"] or check["never_claimed"]:
        problems.append(f"claimed twice {check['claimed_twice']}, never claimed {check['never_claimed']}")
    if side == "probity":
        if check["jobs"] != args.jobs or check["job_statuses"] != {"succeeded": args.jobs}:
            problems.append(f"{check['jobs']} jobs, by status {check['job_statuses']}")
        for key in ("jobs_attempted_more_than_once", "jobs_without_their_entry", "entries_shared"):
            if check[key]:
                problems.append(f"{key.replace('_', ' ')}: {check[key]}")
    lost = expected - set(noted)
    twice = [n for n, c in noted.items() if c > 1]
    strange = set(noted) - expected
    if lost or twice or strange:
        problems.append(f"runs noted: {len(lost)} never ran, {len(twice)} ran more than once, {len(strange)} unknown")
    return {
        "enqueue_seconds": enqueue["seconds"],
        "enqueue_cpu": enqueue["cpu"],
        "drain_cpu": max(0.0, cpu - args.workers * idle_cpu),
        "startup_cpu": idle_cpu,
        "drain_seconds": check["drain_seconds"],
        "worker_wall_seconds": wall,
        "per_worker": check["per_worker"],
        "runs_noted": sum(noted.values()),
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per side (default 10 000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--database", help="postgres://… of a database to create and drop (default: a new SQLite file)")
    parser.add_argument("--timeout", type=float, default=900.0, help="limit for each enqueue and each drain, s")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (the worker logs)")
    args = parser.parse_args()
    if not 1 <= args.jobs <= 100_000:
        parser.error("--jobs must be between 1 and 100 000")
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be between 1 and 16")
    if args.database and urlsplit(args.database).hostname not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("--database must be on the loopback address")

    folder = Path(tempfile.mkdtemp(prefix="probity-jobs-queue-"))
    (folder / "var").mkdir()
    (folder / "runs").mkdir()
    (folder / "bench_module").mkdir()
    (folder / "bench_module" / "__init__.py").write_text("")
    (folder / "bench_module" / "apps.py").write_text(textwrap.dedent(MODULE_APPS))
    (folder / "bench_module" / "jobs.py").write_text(textwrap.dedent(MODULE_JOBS))
    (folder / "bench_settings.py").write_text(textwrap.dedent(SETTINGS))
    env = environment(folder, args.database)
    env["BENCH_RUNS"] = str(folder / "runs")
    created = False
    database_name = urlsplit(args.database).path.lstrip("/") if args.database else ""
    load_before = os.getloadavg()
    results: dict[str, dict[str, object]] = {}
    try:
        if args.database:
            postgres_database(args.database, "create")
            created = True
        print(
            f"{args.jobs} jobs per side, {args.workers} worker process(es); database: "
            f"{'PostgreSQL ' + database_name if args.database else 'SQLite (temporary)'}; folder {folder}"
        )
        run([str(PYTHON), "-c", MIGRATE], env, folder, 600)
        for side in ("reference", "probity"):
            results[side] = side_run(side, args, env, folder)
            outcome = results[side]
            print(
                f"  {side:<10} enqueue {outcome['enqueue_seconds']:.1f} s, drain {outcome['drain_seconds']:.1f} s "
                f"(worker processes {outcome['worker_wall_seconds']:.1f} s with start-up, "
                f"start-up CPU {outcome['startup_cpu']:.1f} s each), "
                f"jobs per worker {outcome['per_worker']}"
            )
    finally:
        if created:
            postgres_database(args.database, "drop")
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()

    reference, probity = results["reference"], results["probity"]
    n = args.jobs

    def rate(seconds: object) -> float:
        return n / float(seconds)  # type: ignore[arg-type]

    print(f"\n{'':<34}{'Probity':>12}{'reference':>12}{'ratio':>8}")
    for label, key in (("enqueue, jobs/s", "enqueue_seconds"), ("drain, jobs/s", "drain_seconds")):
        print(
            f"{label:<34}{rate(probity[key]):>12.0f}{rate(reference[key]):>12.0f}"
            f"{float(probity[key]) / float(reference[key]):>8.2f}"  # type: ignore[arg-type]
        )
    for label, key in (
        ("wall per job enqueued, ms", "enqueue_seconds"),
        ("wall per job drained, ms", "drain_seconds"),
        ("CPU per job enqueued, ms", "enqueue_cpu"),
        ("CPU per job drained, ms", "drain_cpu"),
    ):
        p, r = 1000 * float(probity[key]) / n, 1000 * float(reference[key]) / n  # type: ignore[arg-type]
        print(f"{label:<34}{p:>12.2f}{r:>12.2f}{p / r if r else float('nan'):>8.2f}")
    print(
        "ratio = Probity's time ÷ the reference's (Job record and run_job over raw django-tasks); CPU is the "
        "client processes' (enqueuer, workers less their start-up), not the database server's"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); {os.cpu_count()} cores")
    bad = 0
    for side, outcome in results.items():
        problems = outcome["problems"]
        assert isinstance(problems, list)
        for problem in problems:
            print(f"  {side}: {problem}")
        bad += len(problems)
        print(
            f"{side}: {outcome['runs_noted']} runs noted for {n} jobs"
            + ("; every job succeeded exactly once" if not problems else "")
        )
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
