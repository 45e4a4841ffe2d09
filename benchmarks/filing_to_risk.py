"""Filing to risk score through the production processes: N declarants submit at once to ``probity serve
--web`` (gunicorn), the submissions queue their verification (``declarations.verify``), ``probity serve
--worker`` runs it and ``probity serve --scheduler`` runs beside them; measured is the time from each
submission's answer until its declaration has been judged (findings and risk score stored).

    .venv/bin/python benchmarks/filing_to_risk.py                                     # 100 declarants, SQLite
    .venv/bin/python benchmarks/filing_to_risk.py --users 20                          # a short run
    .venv/bin/python benchmarks/filing_to_risk.py --existing 30000 \\
        --database postgres://postgres@127.0.0.1:5432/probity_filing_bench          # created and dropped

What it does:

1. Creates a fresh installation in a temporary folder (``PROBITY_VAR_DIR`` there), migrates it, creates
   the declarants as ``declarations_load.py`` does and, with ``--existing N``, first bulk-loads N
   synthetic declarations (``declarations.py``'s generator) so that each verification run is a full run of
   realistic size. A ``postgres://`` database must not exist: it is created and dropped at the end.
2. Starts the three production processes as separate children, as systemd would: ``probity serve --web
   --host 127.0.0.1 --port P --workers W --threads T``, ``probity serve --worker --queues
   default,warehouse`` and ``probity serve --scheduler``; waits until the site answers and the worker and
   the scheduler have said they started.
3. All N declarants start at once (one thread each): sign in, open a new declaration, fill the header and
   income steps, review, submit (``--rounds`` submissions each, corrections after the first), read the
   receipt. The client notes the wall-clock moment each submission was answered.
4. Polls the database (every second, at most ``--wait`` seconds) until no acknowledged declaration is
   "not judged" (``selectors.not_judged``) and no verification or detector job waits or runs. Then, per
   acknowledged version: the first successful run of each verification detector that started after the version was
   stored and holds a finding about its declaration, and the ``declarations.verify`` job it ran in;
   "filing to risk score" = the later of that job's end and the runs' ends, minus the moment the
   submission was answered. Detectors that read the warehouse (DECL-COI-AWARD) run as their own job on
   the warehouse queue after the verification; the time until they too have judged the version is
   printed beside it (their flags count in the risk score; "judged" is decided without them).
5. Checks that nothing was lost or duplicated: every acknowledged version stored with its hash, version
   numbers 1…n without gaps or repeats, no content stored twice; each version judged exactly once by each
   verification detector in the run that covers it (one finding per detector, no more); no verification
   job failed; a run that started after a version was stored but holds no finding about it is reported.

Prints p50/p95/max filing to risk score (goal p95 < 60 s), the verification jobs (how submissions were
coalesced), the submit latency, the load average, and the checks; exits 1 on a loss, a duplicate or a
declaration never judged.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from declarations_load import PASSWORD, SETUP, VERIFY, YEAR, declarant, write_settings
from loopback import PYTHON, ROOT, environment, free_port, percentile, postgres_database, serve_production, stop

JUDGED = """
import json, sys, time
from collections import defaultdict
import django
django.setup()
from probity.core.models import DetectorRun, Finding, Job
from probity.declarations.jobs import VERIFY
from probity.declarations.models import DeclarationVersion
from probity.declarations.selectors import detector_codes, not_judged, risk_scores, verification_codes

expected = json.load(open(sys.argv[1]))
year, wait = int(sys.argv[2]), float(sys.argv[3])
versions = {}
for v in DeclarationVersion.objects.select_related("declaration__declarant__user").filter(declaration__year=year):
    versions[(v.declaration.declarant.user.username, v.number)] = v
acked = [(user, ack) for user, acks in expected.items() for ack in acks]
ids = sorted({versions[(u, a["version"])].declaration_id for u, a in acked if (u, a["version"]) in versions})

# 1. Poll until every acknowledged declaration is judged and no verification waits or runs.
started = time.monotonic()
polls = 0
while True:
    polls += 1
    pending = not_judged(declaration_ids=ids)
    active = Job.objects.filter(kind__in=[VERIFY, "core.detector_run"],
                                status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).count()
    if (not pending and not active) or time.monotonic() - started > wait:
        break
    time.sleep(1.0)
waited = time.monotonic() - started

# 2. Per acknowledged version: the covering run of each verification detector and its job.
codes = verification_codes()
# Detectors that read the warehouse (DECL-COI-AWARD) run as their own job on the warehouse queue; the risk
# score counts their flags too, but "judged" is decided by the verification's own detectors.
later_codes = [code for code in detector_codes() if code not in codes]
runs = {code: list(DetectorRun.objects.filter(detector_code=code, status=DetectorRun.Status.SUCCEEDED)
                   .order_by("started_at", "pk")) for code in [*codes, *later_codes]}
jobs = list(Job.objects.filter(kind=VERIFY).order_by("pk"))
findings = defaultdict(int)
for run_id, subject in Finding.objects.filter(subject_type="declaration",
                                              run__detector_code__in=[*codes, *later_codes],
                                              subject_id__in=[str(i) for i in ids]).values_list("run_id", "subject_id"):
    findings[(run_id, int(subject))] += 1
latencies, complete, never, duplicate_outcomes, skipped_runs = [], [], [], [], []
for user, ack in acked:
    version = versions.get((user, ack["version"]))
    if version is None:
        never.append(f"{user} v{ack['version']}: not stored")
        continue
    done_at = None
    for code in codes:
        covering = None
        for run in runs[code]:
            if run.started_at < version.submitted_at:
                continue
            count = findings.get((run.pk, version.declaration_id), 0)
            if count == 0:
                skipped_runs.append(f"{user} v{ack['version']}: {code} run {run.pk} started after it, no finding")
                continue
            if count > 1:
                duplicate_outcomes.append(f"{user} v{ack['version']}: {count} findings in {code} run {run.pk}")
            covering = run
            break
        if covering is None:
            done_at = None
            never.append(f"{user} v{ack['version']}: {code} never judged it")
            break
        job = next((j for j in jobs if j.started_at and j.finished_at and j.started_at <= covering.started_at
                    and covering.finished_at <= j.finished_at), None)
        end = max(covering.finished_at, job.finished_at) if job else covering.finished_at
        done_at = end if done_at is None else max(done_at, end)
    if done_at is not None:
        latencies.append(done_at.timestamp() - ack["answered_at"])
        complete_at = done_at
        for code in later_codes:
            covering = next((run for run in runs[code] if run.started_at >= version.submitted_at
                             and findings.get((run.pk, version.declaration_id), 0)), None)
            if covering is None:
                complete_at = None
                break
            complete_at = max(complete_at, covering.finished_at)
        if complete_at is not None:
            complete.append(complete_at.timestamp() - ack["answered_at"])
scores = risk_scores(declaration_ids=ids)
statuses = defaultdict(int)
for job in jobs:
    statuses[job.status] += 1
print(json.dumps({
    "latencies": latencies,
    "complete": complete,
    "later_codes": later_codes,
    "waited": waited,
    "polls": polls,
    "still_not_judged": len(not_judged(declaration_ids=ids)),
    "never": never[:20], "never_count": len(never),
    "duplicate_outcomes": duplicate_outcomes[:20], "duplicate_outcome_count": len(duplicate_outcomes),
    "skipped_runs": skipped_runs[:20], "skipped_run_count": len(skipped_runs),
    "verification_codes": list(codes),
    "jobs": [{"id": j.pk, "kind": j.kind, "status": j.status, "attempts": j.attempts, "trigger": j.trigger,
              "queued": j.created_at.timestamp(),
              "started": j.started_at.timestamp() if j.started_at else None,
              "finished": j.finished_at.timestamp() if j.finished_at else None}
             for j in Job.objects.order_by("pk")],
    "job_statuses": dict(statuses),
    "declarations": len(ids),
    "with_score": sum(1 for i in ids if scores.get(i, 0) > 0),
}))
"""


def load_existing(count: int, env: dict[str, str], folder: Path) -> None:
    """Bulk-loads ``count`` synthetic declarations with ``declarations.py --stage load`` (not timed)."""
    subprocess.run(
        [
            str(PYTHON), str(ROOT / "benchmarks" / "declarations.py"), "--stage", "load",
            "--declarations", str(count), "--database", env["DATABASE_URL"],
        ],
        env=env, cwd=folder, check=True,
    )  # fmt: skip


def script(code: str, arguments: list[str], env: dict[str, str], folder: Path, wait: float) -> dict[str, Any]:
    """Runs ``code`` with Django set up in a child process; the JSON of its last line."""
    done = subprocess.run(
        [str(PYTHON), "-c", code, *arguments],
        env=env, cwd=folder, capture_output=True, text=True, timeout=wait + 600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"a check failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="declarants filing at once (default 100)")
    parser.add_argument("--rounds", type=int, default=1, help="submissions per declarant (default 1)")
    parser.add_argument("--existing", type=int, default=0, help="declarations loaded beforehand (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (default 8)")
    parser.add_argument("--database", help="postgres://… to create and drop (default: a new SQLite file)")
    parser.add_argument("--cache-url", help="PROBITY_CACHE_URL, e.g. redis://127.0.0.1:6379/14 (default: memory)")
    parser.add_argument("--timeout", type=float, default=120.0, help="limit per request, seconds")
    parser.add_argument("--wait", type=float, default=900.0, help="limit for the verification to finish, s")
    parser.add_argument("--keep", action="store_true", help="keep the temporary installation (and its logs)")
    args = parser.parse_args()
    if not 1 <= args.users <= 1000 or not 1 <= args.rounds <= 20:
        parser.error("--users must be between 1 and 1000, --rounds between 1 and 20")
    for url in (args.database, args.cache_url):
        if url and urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
            parser.error(f"{url}: only the loopback address")

    folder = Path(tempfile.mkdtemp(prefix="probity-filing-to-risk-"))
    (folder / "var").mkdir()
    write_settings(folder)
    database = args.database or f"sqlite:///{folder / 'var' / 'probity.sqlite3'}"
    env = environment(folder, database)
    if args.cache_url:
        env["PROBITY_CACHE_URL"] = args.cache_url
    created = False
    processes: list[subprocess.Popen[bytes]] = []
    load = [os.getloadavg()[0]]
    try:
        if args.database:
            postgres_database(args.database, "create")
            created = True
        print(f"installation in {folder}; database: {'PostgreSQL' if args.database else 'SQLite'}")
        setup_started = time.perf_counter()
        if args.existing:
            load_existing(args.existing, env, folder)
        subprocess.run(
            [str(PYTHON), "-c", SETUP, str(args.users), PASSWORD, str(YEAR)], env=env, check=True, cwd=folder
        )
        print(
            f"{args.existing} declarations loaded, {args.users} declarants created in "
            f"{time.perf_counter() - setup_started:.1f} s"
        )

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes = serve_production(
            folder, env, port, workers=args.workers, threads=args.threads, timeout=int(args.timeout)
        )
        print(f"probity serve --web ({args.workers} × {args.threads} threads), --worker and --scheduler running")

        load.append(os.getloadavg()[0])
        barrier = threading.Barrier(args.users)
        started = time.perf_counter()
        end = time.monotonic() + args.timeout * (6 + 6 * args.rounds)  # a bound; the rounds end it
        with ThreadPoolExecutor(max_workers=args.users) as pool:
            futures = [
                pool.submit(declarant, base, n, barrier, end, args.timeout, args.rounds) for n in range(args.users)
            ]
            client_logs = [f.result() for f in futures]
        filing_wall = time.perf_counter() - started
        expected = {log.username: log.acknowledged for log in client_logs}
        (folder / "expected.json").write_text(json.dumps(expected))
        result = script(JUDGED, [str(folder / "expected.json"), str(YEAR), str(args.wait)], env, folder, args.wait)
        load.append(os.getloadavg()[0])
        versions = script(VERIFY, [str(folder / "expected.json"), str(YEAR)], env, folder, 0)
    finally:
        stop(processes)
        if created:
            postgres_database(args.database, "drop")
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    submissions = sum(len(log.acknowledged) for log in client_logs)
    submits = [t for log in client_logs for t in log.timings.get("submit", [])]
    failed = [log for log in client_logs if log.errors]
    print(
        f"\n{args.users} declarants × {args.rounds} submission(s): {submissions} acknowledged in {filing_wall:.1f} s; "
        f"submit p50 {statistics.median(submits):.2f} s, p95 {percentile(submits, 0.95):.2f} s"
        if submits
        else "\nno submission answered"
    )
    for log in failed[:10]:
        print(f"  {log.username}: {log.errors[0]}")
    latencies = result["latencies"]
    if latencies:
        p95 = percentile(latencies, 0.95)
        print(
            f"filing to risk score ({len(latencies)} versions): p50 {statistics.median(latencies):.1f} s, "
            f"p95 {p95:.1f} s, max {max(latencies):.1f} s (goal p95 < 60 s: {'met' if p95 < 60 else 'NOT met'})"
        )
    if result["later_codes"]:
        complete = result["complete"]
        print(
            f"with {', '.join(result['later_codes'])} too (its own job on the warehouse queue; its flags count in "
            f"the risk score, not in “judged”): {len(complete)} versions covered"
            + (
                f", p50 {statistics.median(complete):.1f} s, p95 {percentile(complete, 0.95):.1f} s, "
                f"max {max(complete):.1f} s"
                if complete
                else ""
            )
        )
    first = min((j["queued"] for j in result["jobs"]), default=0.0)
    print(
        f"verification jobs: {result['job_statuses']}; every job the worker ran (one worker serves both queues), "
        "seconds after the first was queued:"
    )
    for job in result["jobs"]:

        def at(moment: float | None) -> str:
            return f"{moment - first:6.1f}" if moment else "     —"

        print(
            f"  job {job['id']} {job['kind']}: {job['status']}, {job['trigger']}, attempts {job['attempts']}; "
            f"queued {at(job['queued'])}, started {at(job['started'])}, finished {at(job['finished'])}"
        )
    print(
        f"{result['declarations']} declarations, {result['with_score']} with a risk score above 0; "
        f"judged by {', '.join(result['verification_codes'])}; waited {result['waited']:.1f} s after the filing"
    )
    print(f"load average (1 min): {', '.join(f'{x:.2f}' for x in load)} (start, filing, end); {os.cpu_count()} cores")
    problems = {
        "lost": versions["lost_count"],
        "content differs": versions["mismatch_count"],
        "duplicated versions": versions["duplicate_count"],
        "stored without an answer": versions["extra_count"],
        "never judged": result["never_count"],
        "still not judged": result["still_not_judged"],
        "more than one outcome in a run": result["duplicate_outcome_count"],
        "verification jobs not succeeded": sum(n for s, n in result["job_statuses"].items() if s != "succeeded"),
    }
    print("checks: " + ", ".join(f"{name} {count}" for name, count in problems.items()))
    for key in ("never", "duplicate_outcomes", "skipped_runs"):
        for item in result[key]:
            print(f"  {key}: {item}")
    if result["skipped_run_count"]:
        print(f"  runs that started after a version was stored but did not judge it: {result['skipped_run_count']}")
    bad = sum(problems.values())
    print("nothing lost or duplicated; every submission judged" if bad == 0 else f"PROBLEMS: {bad}")
    return 0 if bad == 0 and submissions > 0 and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
