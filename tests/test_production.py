"""The production process model, end to end: ``probity serve --web`` (gunicorn), ``--worker`` and
``--scheduler`` as separate processes on one database, a declaration filed through the API and verified by
the worker, the health endpoints, static files under gunicorn, and a clean stop on SIGTERM.

The processes see committed data only, so they get a database of their own: a temporary SQLite file, or on
PostgreSQL a database created for this test (``DATABASE_URL`` names the server) and dropped afterwards.
Redis (``redis://127.0.0.1:6379/15``) is the cache when it answers; in CI it must.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from probity.core.management.commands.serve import Supervisor, default_workers
from tests.declarations.conftest import BASE

IN_CI = bool(os.environ.get("CI"))
REDIS_URL = "redis://127.0.0.1:6379/15"
START_TIMEOUT = 240.0  # seconds: migrations on an empty database, then gunicorn
VERIFY_TIMEOUT = 180.0  # seconds for the worker to verify the submitted declaration
STOP_TIMEOUT = 60.0  # seconds each process may take to stop after SIGTERM


# --- fast checks of the supervisor and the sizing (no Django processes) ------------------------------------


def test_default_workers_follow_cores_and_memory() -> None:
    assert default_workers(threads=4, cores=1, memory_mib=64_000) == 3
    assert default_workers(threads=4, cores=32, memory_mib=256_000) == 8  # capped
    # 2 GiB: half of it at 200 MiB + 4 × 100 MiB per worker leaves room for one worker.
    assert default_workers(threads=4, cores=8, memory_mib=2048) == 1
    assert default_workers(threads=1, cores=8, memory_mib=4096) == 6


def test_the_supervisor_stops_the_others_when_one_child_dies() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    crasher = [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(3)"]
    started = time.monotonic()
    code = Supervisor({"web": sleeper, "worker": crasher, "scheduler": sleeper}).run()
    assert code == 3
    assert time.monotonic() - started < 30


# --- the smoke test -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own for the processes: a SQLite file, or a PostgreSQL database created and dropped."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://", "postgis://")):
        yield f"sqlite:///{tmp_path / 'probity.sqlite3'}"
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = f"probity_smoke_{uuid.uuid4().hex[:12]}"
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": config.get("NAME") or "postgres",
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        parts = urlsplit(url)
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def production_env(tmp_path: Path, database_url: str) -> Iterator[dict[str, str]]:
    env = {key: value for key, value in os.environ.items() if key not in {"PROBITY_TESTING", "PROBITY_CACHE_URL"}}
    var = tmp_path / "var"
    env.update(
        {
            "PROBITY_VAR_DIR": str(var),
            "PROBITY_WAREHOUSE": str(var / "warehouse.duckdb"),
            "DATABASE_URL": database_url,
            "PROBITY_HTTPS": "false",
            "PROBITY_DEBUG": "false",
            "PROBITY_LOG_FORMAT": "json",
            "PROBITY_SECRET_KEY": uuid.uuid4().hex * 2,
            "PROBITY_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if _redis_answers():
        env["PROBITY_CACHE_URL"] = REDIS_URL
    elif IN_CI:
        pytest.fail(f"Redis at {REDIS_URL} does not answer; CI runs the smoke test with Redis")
    yield env
    if "PROBITY_CACHE_URL" in env:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()


@dataclass
class Processes:
    """The processes a test started; every one is stopped (its whole process group) when the test ends."""

    folder: Path
    env: dict[str, str]
    started: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        self.logs[name] = log
        process = subprocess.Popen(
            [sys.executable, "-m", "probity.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,  # so that a failed test can stop gunicorn's workers with their master
        )
        self.started[name] = process
        return process

    def log(self, name: str) -> str:
        self.logs[name].flush()
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def all_logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)[-4000:]}" for name in self.started)

    def stop_all(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
            _signal_group(process, signal.SIGKILL)  # anything left in its group (gunicorn's workers)
        for log in self.logs.values():
            log.close()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


@pytest.fixture
def processes(tmp_path: Path, production_env: dict[str, str]) -> Iterator[Processes]:
    running = Processes(tmp_path, production_env)
    try:
        yield running
    finally:
        running.stop_all()


def _probity(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "probity.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


def _http(
    base: str, path: str, *, token: str = "", body: Any = None, method: str | None = None
) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - a loopback URL we built
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b"", {}


def _wait_for(what: str, condition: Callable[[], bool], timeout: float, processes: Processes) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for name, process in processes.started.items():
            if process.poll() is not None:
                pytest.fail(
                    f"{name} stopped (exit code {process.returncode}) while waiting for {what}\n{processes.all_logs()}"
                )
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{processes.all_logs()}")


SETUP_USERS = """
from probity.core.models import Person
from probity.core.services import user_create
user_create(username="smoke-declarant", password="correct horse battery staple 42", roles=["declarant"])
user_create(username="smoke-verifier", password="correct horse battery staple 42", roles=["verifier"])
from django.contrib.auth.models import User
Person.objects.create(name="Ana Test", user=User.objects.get(username="smoke-declarant"))
"""


@pytest.mark.slow
def test_web_worker_and_scheduler_serve_verify_and_stop(processes: Processes) -> None:
    env = processes.env
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    web = processes.start("web", "serve", "--web", "--migrate", "--port", str(port), "--workers", "2", "--threads", "2")

    def ready() -> bool:
        if web.poll() is not None:
            log = processes.log("web")
            if not IN_CI and ("Can't connect" in log or "Address already in use" in log):
                pytest.skip(f"gunicorn cannot bind 127.0.0.1:{port} here")
        return _http(base, "/readyz")[0] == 200

    _wait_for("/readyz", ready, START_TIMEOUT, processes)
    worker = processes.start("worker", "serve", "--worker", "--queues", "default,warehouse")
    scheduler = processes.start("scheduler", "serve", "--scheduler")

    _probity(env, "shell", "-c", SETUP_USERS)
    declarant_token = _probity(env, "token", "create", "smoke-declarant", "--name", "smoke").strip().splitlines()[-1]
    verifier_token = _probity(env, "token", "create", "smoke-verifier", "--name", "smoke").strip().splitlines()[-1]

    # A declarant files through the API; the submission queues the verification (an event) and the worker
    # runs it: the findings and the risk score appear for the verifier.
    status, content, _headers = _http(base, "/api/v1/declarations", token=declarant_token, body=BASE)
    assert status == 201, content[:2000]
    declaration_id = json.loads(content)["id"]
    result: dict[str, Any] = {}

    def verified() -> bool:
        status, content, _headers = _http(base, f"/api/v1/declarations/{declaration_id}", token=verifier_token)
        assert status == 200, content[:2000]
        result.update(json.loads(content))
        return bool(result["findings"])

    _wait_for("the worker's findings on the submitted declaration", verified, VERIFY_TIMEOUT, processes)
    assert {finding["detector"] for finding in result["findings"]} >= {"DECL-ARITHMETIC"}
    assert isinstance(result["risk_score"], float)

    status, content, headers = _http(base, "/healthz")
    assert (status, json.loads(content)) == (200, {"status": "ok"})
    status, content, _headers = _http(base, "/readyz")
    readiness = json.loads(content)
    assert status == 200 and readiness["status"] == "ok", readiness
    assert readiness["checks"]["cache"]["status"] == "ok"
    assert readiness["checks"]["queue"]["status"] == "ok"
    status, content, headers = _http(base, "/static/probity/probity.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and len(content) > 100

    # The web log is JSON lines, without the access log (no client address anywhere).
    for line in processes.log("web").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            assert {"time", "level", "logger", "message", "process"} <= set(entry)
    assert "127.0.0.1 -" not in processes.log("web")

    # SIGTERM stops each process gracefully, within the timeout, with exit code 0.
    for name, process in (("scheduler", scheduler), ("worker", worker), ("web", web)):
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM\n{processes.all_logs()}")
        assert code == 0, f"{name} exited with {code}\n{processes.all_logs()}"
