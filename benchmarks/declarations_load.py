"""Loopback load test of e-filing: N concurrent declarants sign in, save drafts and submit or correct their
declaration through the web pages of a real HTTP server on 127.0.0.1 for a fixed time; then a check that
no acknowledged submission was lost and none was stored twice.

    .venv/bin/python benchmarks/declarations_load.py                            # 100 declarants, 120 s, SQLite
    .venv/bin/python benchmarks/declarations_load.py --users 20 --duration 30   # a short run
    .venv/bin/python benchmarks/declarations_load.py --database postgres://postgres@127.0.0.1:5432/probity_bench

What it does:

1. Creates a fresh installation in a temporary folder, migrates it, and creates N declarants (user account
   with the password hasher of production, a person, a position in a ministry) and the annual deadline.
2. Starts the application under gunicorn (``--workers`` processes with ``--threads`` threads each) bound to
   127.0.0.1 only. Sign-in lockout is off for this process (every declarant comes from one address).
3. Starts all N declarants at once (one thread each). Each signs in like a browser (GET the form, POST the
   password with the CSRF token), then until the time is up repeats: open the draft (the first time a new
   declaration, afterwards a correction), GET the first step, POST it, POST the income step with a row whose
   amount is unique to this declarant and round, GET the review page, POST "submit", and read the version
   number and content hash off the receipt page. Each request is timed by its type.
4. Compares the client's log of acknowledged submissions (declarant, version, hash, amount) with the
   versions in the database: every acknowledged version must be there with the same hash and amount (no
   loss), and the database must hold no version that was not acknowledged and no content twice (no
   duplicate). A submission whose answer never came (time-out, connection error) is reported separately.

Prints p50/p95/p99 and max latency per request type, throughput, and the verification; exits 1 on any loss
or duplicate.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from loopback import GUNICORN, PYTHON, environment, free_port, percentile, wait_for_server

PASSWORD = "correct horse battery staple 42"  # noqa: S105  (benchmark accounts in a throw-away database)
YEAR = 2024


@dataclass
class Log:
    username: str
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    acknowledged: list[dict[str, object]] = field(default_factory=list)
    unanswered_submits: int = 0
    errors: list[str] = field(default_factory=list)


def write_settings(folder: Path) -> None:
    (folder / "bench_settings.py").write_text(
        textwrap.dedent("""
        from probity.settings import *  # noqa: F401,F403

        EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    """)
    )


SETUP = """
import sys
from datetime import date
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from probity.core.models import Person, Position, PublicBody
from probity.core.services import user_create
from probity.declarations.deadlines import deadline_set
users, password, year = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = PublicBody.objects.create(name="Ministry of Load", kind="ministry")
for number in range(users):
    user = user_create(username=f"declarant-{number:04d}", password=password, roles=["declarant"])
    person = Person.objects.create(name=f"Declarant {number:04d}", user=user)
    Position.objects.create(body=body, title="Inspector", holder=person, start_date=date(2020, 1, 1))
deadline_set(declaration_type="annual", year=year, due_date=date(year + 1, 4, 1))
"""

VERIFY = """
import json, sys
import django
django.setup()
from probity.declarations.models import DeclarationVersion
expected = json.load(open(sys.argv[1]))
year = int(sys.argv[2])
stored = {}
for v in DeclarationVersion.objects.select_related("declaration__declarant__user").filter(declaration__year=year):
    user = v.declaration.declarant.user.username
    income = (v.content.get("income") or [{}])[0].get("amount", {})
    stored.setdefault(user, []).append({"version": v.number, "hash": v.content_hash,
                                        "amount": income.get("amount")})
lost, extra, duplicate, mismatch = [], [], [], []
for user, acks in expected.items():
    in_db = {s["version"]: s for s in stored.get(user, [])}
    for ack in acks:
        row = in_db.get(ack["version"])
        if row is None:
            lost.append(f"{user} v{ack['version']}")
        elif row["hash"] != ack["hash"] or row["amount"] != ack["amount"]:
            mismatch.append(f"{user} v{ack['version']}")
    acked = {a["version"] for a in acks}
    extra += [f"{user} v{n}" for n in in_db if n not in acked]
for user, rows in stored.items():
    hashes = [r["hash"] for r in rows]
    if len(hashes) != len(set(hashes)):
        duplicate.append(user)
    numbers = sorted(r["version"] for r in rows)
    if numbers != list(range(1, len(numbers) + 1)):
        duplicate.append(f"{user}: version numbers {numbers}")
print(json.dumps({"versions_in_database": sum(len(r) for r in stored.values()), "lost": lost[:20],
                  "lost_count": len(lost), "extra": extra[:20], "extra_count": len(extra),
                  "duplicate": duplicate[:20], "duplicate_count": len(duplicate), "mismatch": mismatch[:20],
                  "mismatch_count": len(mismatch)}))
"""


class Timed:
    """Times each request by type and fails on an unexpected status."""

    def __init__(self, session: requests.Session, log: Log, timeout: float) -> None:
        self.session, self.log, self.timeout = session, log, timeout

    def __call__(self, kind: str, method: str, url: str, expect: int, **kwargs: object) -> requests.Response:
        started = time.perf_counter()
        response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)  # type: ignore[arg-type]
        self.log.timings[kind].append(time.perf_counter() - started)
        if response.status_code != expect:
            raise RuntimeError(f"{kind}: answered {response.status_code}, expected {expect}")
        return response


def declarant(
    base: str, number: int, barrier: threading.Barrier, end: float, timeout: float, rounds: int | None = None
) -> Log:
    """One declarant's session: files (and then corrects) until ``end``, or for ``rounds`` submissions."""
    log = Log(f"declarant-{number:04d}")
    session = requests.Session()
    call = Timed(session, log, timeout)
    try:
        barrier.wait(timeout=timeout)
        sign_in = f"{base}/account/sign-in/?next=/declarations/file/"
        call("sign_in_form", "GET", sign_in, 200)
        call(
            "sign_in",
            "POST",
            sign_in,
            302,
            data={"username": log.username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": sign_in},
        )
        call("home", "GET", f"{base}/declarations/file/", 200)
        round_number = 0
        while time.monotonic() < end and (rounds is None or round_number < rounds):
            round_number += 1
            csrf = session.cookies["csrftoken"]
            headers = {"Referer": f"{base}/declarations/file/"}
            opened = call(
                "open_draft",
                "POST",
                f"{base}/declarations/file/start/",
                302,
                data={"declaration_type": "annual", "year": YEAR, "csrfmiddlewaretoken": csrf},
                headers=headers,
            )
            match = re.search(r"/declarations/file/(\d+)/step/", opened.headers["Location"])
            if not match:
                raise RuntimeError(f"open_draft went to {opened.headers['Location']}")
            step = f"{base}/declarations/file/{match.group(1)}/step"
            call("step_page", "GET", f"{step}/header/", 200)
            header = {
                "csrfmiddlewaretoken": csrf,
                "declarant_name": f"Declarant {number:04d}",
                "position_title": "Inspector",
                "body_name": "Ministry of Load",
                "reporting_currency": "EUR",
                "action": "next",
            }
            call("save_step", "POST", f"{step}/header/", 302, data=header, headers=headers)
            amount = f"{30000 + round_number}.{number % 100:02d}"
            income = {
                "csrfmiddlewaretoken": csrf,
                "income-count": "1",
                "income-0-owner": "declarant",
                "income-0-kind": "salary",
                "income-0-source": f"Ministry of Load <b>{number}</b>",
                "income-0-amount_amount": amount,
                "income-0-amount_currency": "EUR",
                "action": "save",
            }
            page = call("save_step", "POST", f"{step}/income/", 200, data=income, headers=headers)
            if "There is a problem" in page.text:
                raise RuntimeError("the income step reported a problem")
            call("review_page", "GET", f"{step}/review/", 200)
            try:
                submitted = call(
                    "submit",
                    "POST",
                    f"{step}/review/",
                    302,
                    data={"csrfmiddlewaretoken": csrf, "action": "submit"},
                    headers=headers,
                )
            except requests.RequestException:
                log.unanswered_submits += 1
                raise
            answered_at = time.time()  # wall clock, comparable with the database's timestamps
            receipt = call("receipt", "GET", f"{base}{submitted.headers['Location']}", 200)
            version = re.search(r'data-testid="version">(\d+)<', receipt.text)
            digest = re.search(r'data-testid="hash">([0-9a-f]{64})<', receipt.text)
            if not version or not digest:
                raise RuntimeError("no version or hash on the receipt")
            log.acknowledged.append(
                {
                    "version": int(version.group(1)),
                    "hash": digest.group(1),
                    "amount": amount,
                    "answered_at": answered_at,
                    "declaration": int(match.group(1)),
                }
            )
    except Exception as exc:  # noqa: BLE001  (reported in the summary)
        log.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    return log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="concurrent declarants (default 100)")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of filing (default 120)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--database", help="DATABASE_URL (default: a new SQLite file in the temporary folder)")
    parser.add_argument("--timeout", type=float, default=120.0, help="limit per request, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary installation")
    args = parser.parse_args()
    if not 1 <= args.users <= 1000:
        parser.error("--users must be between 1 and 1000")

    folder = Path(tempfile.mkdtemp(prefix="probity-declarations-load-"))
    (folder / "var").mkdir()
    write_settings(folder)
    env = environment(folder, args.database)
    print(f"installation in {folder}; database: {args.database or 'SQLite (temporary)'}")
    setup_started = time.perf_counter()
    subprocess.run([str(PYTHON), "-c", SETUP, str(args.users), PASSWORD, str(YEAR)], env=env, check=True, cwd=folder)
    print(f"{args.users} declarants created in {time.perf_counter() - setup_started:.1f} s")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        str(GUNICORN), "probity.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--worker-class", "gthread",
        "--threads", str(args.threads), "--timeout", str(int(args.timeout)), "--backlog", "2048",
        "--error-logfile", "-", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=folder)
    try:
        wait_for_server(f"{base}/account/sign-in/", server, time.monotonic() + 60)
        barrier = threading.Barrier(args.users)
        started = time.perf_counter()
        end = time.monotonic() + args.duration
        with ThreadPoolExecutor(max_workers=args.users) as pool:
            futures = [pool.submit(declarant, base, n, barrier, end, args.timeout) for n in range(args.users)]
            logs = [f.result() for f in futures]
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    timings: dict[str, list[float]] = defaultdict(list)
    for log in logs:
        for kind, values in log.timings.items():
            timings[kind].extend(values)
    submissions = sum(len(log.acknowledged) for log in logs)
    requests_made = sum(len(v) for v in timings.values())
    print(
        f"\n{args.users} declarants, {wall:.1f} s ({args.duration:.0f} s of filing plus the last rounds), "
        f"gunicorn {args.workers} workers x {args.threads} threads"
    )
    print(
        f"{submissions} submissions acknowledged ({submissions / wall:.2f}/s), {requests_made} requests "
        f"({requests_made / wall:.1f}/s)"
    )
    print(f"{'request':<14}{'count':>7}{'p50 s':>9}{'p95 s':>9}{'p99 s':>9}{'max s':>9}")
    order = ["sign_in_form", "sign_in", "home", "open_draft", "step_page", "save_step", "review_page", "submit",
             "receipt"]  # fmt: skip
    for kind in order:
        values = timings.get(kind)
        if values:
            print(
                f"{kind:<14}{len(values):>7}{statistics.median(values):>9.3f}{percentile(values, 0.95):>9.3f}"
                f"{percentile(values, 0.99):>9.3f}{max(values):>9.3f}"
            )
    failed = [log for log in logs if log.errors]
    for log in failed[:10]:
        print(f"  {log.username}: {log.errors[0]}")
    if failed:
        print(f"  {len(failed)} declarants stopped on an error")
    unanswered = sum(log.unanswered_submits for log in logs)

    expected = {log.username: log.acknowledged for log in logs}
    (folder / "expected.json").write_text(json.dumps(expected))
    verification = subprocess.run(
        [str(PYTHON), "-c", VERIFY, str(folder / "expected.json"), str(YEAR)],
        env=env,
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(verification.stdout.strip().splitlines()[-1])
    print(
        f"verification: {result['versions_in_database']} versions in the database, {submissions} acknowledged; "
        f"lost {result['lost_count']}, content differs {result['mismatch_count']}, "
        f"duplicated {result['duplicate_count']}, stored without an answer {result['extra_count']} "
        f"(submissions left unanswered: {unanswered})"
    )
    for key in ("lost", "mismatch", "duplicate", "extra"):
        for item in result[key]:
            print(f"  {key}: {item}")
    bad = result["lost_count"] + result["mismatch_count"] + result["duplicate_count"]
    bad += max(0, result["extra_count"] - unanswered)  # a version nobody submitted, or one submitted twice
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    print("no submission lost or duplicated" if bad == 0 else f"LOST OR DUPLICATED: {bad}")
    return 0 if bad == 0 and submissions > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
