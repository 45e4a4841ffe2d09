"""Loopback load test of the reporting channel: N concurrent report submissions with attachments through
a real HTTP server on 127.0.0.1, then a check that no report was lost.

    .venv/bin/python benchmarks/reporting_load.py                       # 200 reporters, gunicorn, SQLite
    .venv/bin/python benchmarks/reporting_load.py --reports 200 --kdf moderate
    .venv/bin/python benchmarks/reporting_load.py --database postgres://postgres@127.0.0.1:5432/probity_bench
    .venv/bin/python benchmarks/reporting_load.py --production                     # probity serve, Redis cache

What it does:

1. Creates a fresh installation in a temporary folder (database, encrypted file store), migrates it and
   sets up one channel with a case handler who has a key pair.
2. Starts the application under gunicorn (one worker, ``--threads``; the cache of challenges and rate
   limits is per process, as with Django's default LocMemCache) — or ``probity runserver`` with
   ``--server runserver`` — bound to 127.0.0.1 only. Flood limits are lifted for this process: the test
   measures throughput, and every request comes from the same address. With ``--production``: the
   production process model instead, ``probity serve --web`` (``--workers`` processes × ``--threads``),
   ``probity serve --worker`` and ``probity serve --scheduler`` as separate children, with Redis as the
   cache (``--cache-url``, default ``redis://127.0.0.1:6379/14``, emptied before and after), so challenges,
   rate limits and reporter sessions are shared by the web workers; the limits are lifted by a small app of
   the benchmark installation (``bench_limits``), as ``probity serve`` loads Probity's own WSGI module.
3. Starts all N reporters at once (one thread each). Each does what a browser does: GET the form, POST
   the first step, solve the form's proof of work, POST the second step with two attachments (a JPEG
   photo with EXIF data, which gets a stripped copy, and 64 KiB of random bytes), and reads the receipt
   off the confirmation page. Every request has a time limit; the whole run has a deadline.
4. Counts the reports in the database and opens every one with its receipt (Argon2id, decryption of the
   answers and of both attachments) to prove that each submission arrived whole.

Prints the latency of the submission request (p50, p95, max), the whole reporter flow, throughput, and
the verification result; exits 1 if any report is missing or unreadable.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from loopback import GUNICORN, PYTHON, environment, free_port, percentile, serve_production, stop, wait_for_server


@dataclass
class Outcome:
    marker: str
    receipt: str | None
    submit_seconds: float
    flow_seconds: float
    error: str | None = None


def write_settings(folder: Path, *, kdf: str, pow_bits: int) -> None:
    """A settings module for the benchmark installation, and a WSGI module and an app (for ``probity serve``)
    that lift the flood limits."""
    (folder / "bench_limits").mkdir()
    (folder / "bench_limits" / "__init__.py").write_text("")
    (folder / "bench_limits" / "apps.py").write_text(
        textwrap.dedent("""
        from django.apps import AppConfig


        class BenchLimitsConfig(AppConfig):
            name = "bench_limits"

            def ready(self):
                from probity.reporting import services

                # Every reporter of the benchmark comes from 127.0.0.1: lift the per-client and global limits.
                services.SUBMIT_CLIENT_LIMIT = services.SUBMIT_GLOBAL_LIMIT = 10**9
    """)
    )
    (folder / "bench_settings.py").write_text(
        textwrap.dedent(f"""
        from probity.settings import *  # noqa: F401,F403

        INSTALLED_APPS = [*INSTALLED_APPS, "bench_limits"]
        PROBITY_REPORTING_KDF = {kdf!r}
        PROBITY_REPORTING_STORE = {str(folder / "store")!r}
        PROBITY_REPORTING_POW_BITS = {pow_bits}
        EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    """)
    )
    (folder / "bench_wsgi.py").write_text(
        textwrap.dedent("""
        from probity.wsgi import application  # noqa: F401  (sets Django up)
        from probity.reporting import services

        # Every reporter of the benchmark comes from 127.0.0.1: lift the per-client and global limits.
        services.SUBMIT_CLIENT_LIMIT = services.SUBMIT_GLOBAL_LIMIT = 10**9
    """)
    )


SETUP = """
import django
django.setup()
from django.core.cache import cache
from django.core.management import call_command
cache.clear()  # Redis: the benchmark's own database number
call_command("migrate", verbosity=0)
from probity.core.services import user_create
from probity.reporting import services
user = user_create(username="handler", password="correct horse battery staple 42", roles=["case_handler"])
services.staff_keys_create(user=user, password="correct horse battery staple 42")
services.channel_save(slug="general", name="General", recipients=[user],
                      max_attachments=5, max_attachment_bytes=5 * 1024 * 1024, questionnaire=[
    {"id": "what", "kind": "textarea", "label": "What happened?", "required": True},
    {"id": "who", "kind": "choice", "label": "Who?", "choices": ["official", "company", "other"]},
    {"id": "who_other", "kind": "text", "label": "Who else?", "show_if": {"question": "who", "equals": "other"}},
    {"id": "amount", "kind": "amount", "label": "Amount"},
])
"""

VERIFY = """
import json, sys
import django
django.setup()
from django.core.cache import cache
from probity.reporting import selectors, services
from probity.reporting.models import Report
expected = json.load(open(sys.argv[1]))
found = Report.objects.count()
problems = []
for marker, receipt in expected.items():
    cache.clear()  # the throttle of wrong receipts must not interfere with this check
    try:
        session = services.reporter_sign_in(receipt=receipt, client="verify")
        items = selectors.report_timeline(keys=session.keys, for_reporter=True)
        answers = items[0].body
        if marker not in answers.get("what", ""):
            problems.append(f"{marker}: answers do not match")
        files = items[0].attachments
        if len(files) != 2:
            problems.append(f"{marker}: {len(files)} attachments instead of 2")
        for info in files:
            attachment = session.report.attachments.get(pk=info.id)
            _info, stream = selectors.attachment_open(attachment=attachment, keys=session.keys)
            if sum(len(chunk) for chunk in stream) != info.size:
                problems.append(f"{marker}: {info.name} does not decrypt to its size")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{marker}: {type(exc).__name__}: {exc}")
print(json.dumps({"reports_in_database": found, "problems": problems[:20], "problem_count": len(problems)}))
"""


JOBS = """
import django
django.setup()
from django.core.cache import cache
from probity.core.models import Job
print(", ".join(f"{j.kind} {j.status}" for j in Job.objects.order_by("pk")) or "none")
cache.clear()  # Redis: the benchmark's own database number
"""


def photo_with_exif() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (320, 240), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=80)
    return buffer.getvalue()


def solve(token: str, bits: int) -> str:
    import hashlib

    counter = 0
    while True:
        digest = hashlib.sha256(f"{token}:{counter}".encode()).digest()
        value = int.from_bytes(digest, "big")
        if value >> (256 - bits) == 0:
            return str(counter)
        counter += 1


def reporter(base: str, number: int, photo: bytes, barrier: threading.Barrier, timeout: float) -> Outcome:
    marker = f"bench-{number:04d}-{secrets.token_hex(4)}"
    session = requests.Session()
    form_url = f"{base}/reporting/report/general/"
    started = time.perf_counter()
    submit_seconds = 0.0
    try:
        barrier.wait(timeout=timeout)
        started = time.perf_counter()
        page = session.get(form_url, timeout=timeout)
        page.raise_for_status()
        csrf = session.cookies.get("csrftoken", "")
        first = {
            "csrfmiddlewaretoken": csrf,
            "step": "1",
            "q_what": f"Report {marker}: the tender was split.",
            "q_who": "other",
            "q_amount": "125000.50",
        }
        step_two = session.post(form_url, data=first, timeout=timeout, headers={"Referer": form_url})
        step_two.raise_for_status()
        html = step_two.text
        ticket = re.search(r'name="ticket" value="([^"]+)"', html)
        bits = re.search(r'data-bits="(\d+)"', html)
        if not ticket or not bits:
            raise RuntimeError("the second step carries no ticket")
        data = {
            **first,
            "step": "2",
            "action": "submit",
            "ticket": ticket.group(1),
            "pow_nonce": solve(ticket.group(1), int(bits.group(1))),
            "q_who_other": "the mayor's cousin",
            "identity_name": "",
            "identity_contact": "",
        }
        files = [
            ("attachments", (f"photo-{number}.jpg", photo, "image/jpeg")),
            ("attachments", (f"ledger-{number}.bin", os.urandom(64 * 1024), "application/octet-stream")),
        ]
        submit_started = time.perf_counter()
        done = session.post(form_url, data=data, files=files, timeout=timeout, headers={"Referer": form_url})
        submit_seconds = time.perf_counter() - submit_started
        if done.status_code != 200:
            raise RuntimeError(f"submission answered {done.status_code}")
        receipt = re.search(r'data-testid="receipt">([\d ]+)<', done.text)
        if not receipt:
            raise RuntimeError("no receipt on the confirmation page")
        return Outcome(marker, receipt.group(1), submit_seconds, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001  (reported in the summary)
        return Outcome(marker, None, submit_seconds, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=200, help="concurrent reporters (default 200)")
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--threads", type=int, default=8, help="server threads (gunicorn, default 8)")
    parser.add_argument(
        "--production",
        action="store_true",
        help="probity serve --web/--worker/--scheduler with Redis as the cache instead of bare gunicorn",
    )
    parser.add_argument("--workers", type=int, default=2, help="web worker processes with --production (default 2)")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/14", help="PROBITY_CACHE_URL with --production")
    parser.add_argument(
        "--kdf",
        default="interactive",
        choices=["min", "interactive", "moderate", "sensitive"],
        help="Argon2id limits for receipts (default interactive, 64 MiB; production: moderate)",
    )
    parser.add_argument("--pow-bits", type=int, default=12, help="proof-of-work difficulty (default 12)")
    parser.add_argument("--database", help="DATABASE_URL (default: a new SQLite file in the temporary folder)")
    parser.add_argument("--timeout", type=float, default=300.0, help="limit per request, seconds")
    parser.add_argument("--deadline", type=float, default=1200.0, help="limit for the whole run, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary installation")
    args = parser.parse_args()
    if not 1 <= args.reports <= 1000:
        parser.error("--reports must be between 1 and 1000")

    if args.production and urlsplit(args.cache_url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("--cache-url must be on the loopback address")

    folder = Path(tempfile.mkdtemp(prefix="probity-reporting-load-"))
    (folder / "var").mkdir()
    write_settings(folder, kdf=args.kdf, pow_bits=args.pow_bits)
    env = environment(folder, args.database)
    if args.production:
        env["PROBITY_CACHE_URL"] = args.cache_url
    print(f"installation in {folder}; database: {args.database or 'SQLite (temporary)'}; KDF: {args.kdf}")
    subprocess.run([str(PYTHON), "-c", SETUP], env=env, check=True, cwd=folder)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    load = [os.getloadavg()[0]]
    if args.production:
        server_name = f"probity serve --web ({args.workers} × {args.threads} threads), --worker, --scheduler; Redis"
        command = []
    elif args.server == "gunicorn":
        server_name = f"gunicorn (1 × {args.threads} threads)"
        command = [
            str(GUNICORN),
            "bench_wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--timeout",
            str(int(args.timeout)),
            "--backlog",
            "2048",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ]
    else:
        server_name = "runserver"
        command = [str(PYTHON), "-m", "probity.cli", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if args.production:
            processes = serve_production(
                folder, env, port, workers=args.workers, threads=args.threads, timeout=int(args.timeout)
            )
        else:
            processes = [subprocess.Popen(command, env=env, cwd=folder)]
            wait_for_server(f"{base}/reporting/", processes[0], time.monotonic() + 60)
        run_deadline = time.monotonic() + args.deadline
        load.append(os.getloadavg()[0])
        photo = photo_with_exif()
        barrier = threading.Barrier(args.reports)
        started = time.perf_counter()
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=args.reports) as pool:
            futures = [pool.submit(reporter, base, n, photo, barrier, args.timeout) for n in range(args.reports)]
            for future in as_completed(futures, timeout=max(1.0, run_deadline - time.monotonic())):
                outcomes.append(future.result())
        wall = time.perf_counter() - started
        load.append(os.getloadavg()[0])
    finally:
        stop(processes)

    succeeded = [o for o in outcomes if o.receipt]
    failed = [o for o in outcomes if not o.receipt]
    submits = [o.submit_seconds for o in succeeded]
    flows = [o.flow_seconds for o in succeeded]
    print(
        f"\n{len(succeeded)}/{args.reports} submissions answered with a receipt in {wall:.1f} s "
        f"({len(succeeded) / wall:.2f} reports/s) via {server_name}"
    )
    print(
        f"load average (1 min): {', '.join(f'{x:.2f}' for x in load)} (start, load test, end); {os.cpu_count()} cores"
    )
    if submits:
        print(
            f"submission request: p50 {statistics.median(submits):.2f} s, p95 {percentile(submits, 0.95):.2f} s, "
            f"max {max(submits):.2f} s"
        )
        print(f"whole reporter flow: p50 {statistics.median(flows):.2f} s, p95 {percentile(flows, 0.95):.2f} s")
    for outcome in failed[:10]:
        print(f"  failed {outcome.marker}: {outcome.error}")

    import json

    expected = {o.marker: o.receipt for o in succeeded}
    (folder / "expected.json").write_text(json.dumps(expected))
    verification = subprocess.run(
        [str(PYTHON), "-c", VERIFY, str(folder / "expected.json")],
        env=env,
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(verification.stdout.strip().splitlines()[-1])
    print(
        f"verification: {result['reports_in_database']} reports in the database; "
        f"{len(expected) - result['problem_count']}/{len(expected)} opened with their receipt, answers and both "
        f"attachments intact"
    )
    for problem in result["problems"]:
        print(f"  {problem}")
    lost = args.reports - len(succeeded) + result["problem_count"]
    if result["reports_in_database"] != len(succeeded):
        print("  the number of reports in the database differs from the receipts handed out")
        lost += 1
    if args.production:
        jobs = subprocess.run(
            [str(PYTHON), "-c", JOBS], env=env, cwd=folder, capture_output=True, text=True, check=False
        )
        print(f"jobs run meanwhile: {jobs.stdout.strip() or jobs.stderr.strip()[-500:]}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    print("no report lost" if lost == 0 else f"LOST OR DAMAGED: {lost}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
