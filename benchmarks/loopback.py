"""What the loopback benchmarks share (``reporting_load.py``, ``declarations_load.py``, ``filing_to_risk.py``,
``jobs_queue.py``): a free port, the environment of a throw-away installation, a throw-away PostgreSQL
database, waiting for the web server, and percentiles."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(folder: Path, database: str | None) -> dict[str, str]:
    """The environment of an installation in ``folder`` (settings module ``bench_settings`` there)."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": f"{folder}{os.pathsep}{ROOT / 'src'}",
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "PROBITY_VAR_DIR": str(folder / "var"),
            "PROBITY_SECRET_KEY": secrets.token_urlsafe(48),
            "PROBITY_HTTPS": "false",
            "PROBITY_DEBUG": "false",
            "PROBITY_LOCKOUT": "false",
        }
    )
    if database:
        env["DATABASE_URL"] = database
    else:
        env.pop("DATABASE_URL", None)
    return env


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def wait_for_server(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    """Waits until ``url`` answers 200, or fails when the server stops or ``deadline`` passes."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped (exit {process.returncode})")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in time")


def postgres_database(url: str, action: str) -> None:
    """Creates (``action`` "create"; it must not exist) or drops ("drop") the database ``url`` names, through
    the server's ``postgres`` database. Only on the loopback address."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"{url}: benchmarks use PostgreSQL on the loopback address only")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"{url}: the database name may hold letters, digits and _ only")
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        if action == "create":
            connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        else:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    """Waits until the log file ``path`` of ``process`` holds ``text``."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{path.name}: the process stopped (exit {process.returncode})")
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise SystemExit(f"{path.name}: no “{text}” in time")


def serve_production(
    folder: Path, env: dict[str, str], port: int, *, workers: int, threads: int, timeout: int
) -> list[subprocess.Popen[bytes]]:
    """Starts the production processes as separate children, as systemd would: ``probity serve --web`` on
    127.0.0.1, ``probity serve --worker --queues default,warehouse`` and ``probity serve --scheduler``; their
    output goes to ``web.log``, ``worker.log``, ``scheduler.log`` in ``folder``. Returns once the site answers
    and the worker and the scheduler have said they started; stops them all if one does not."""
    serve = [str(PYTHON), "-m", "probity.cli", "serve"]
    roles = {
        "web": [*serve, "--web", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--threads", str(threads), "--timeout", str(timeout)],
        "worker": [*serve, "--worker", "--queues", "default,warehouse"],
        "scheduler": [*serve, "--scheduler"],
    }  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for role, command in roles.items():
            with (folder / f"{role}.log").open("wb") as log:
                processes.append(subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 180
        wait_for_server(f"http://127.0.0.1:{port}/account/sign-in/", processes[0], deadline)
        wait_for_line(folder / "worker.log", "serving queues", processes[1], deadline)
        wait_for_line(folder / "scheduler.log", "scheduler started", processes[2], deadline)
    except BaseException:
        stop(processes)
        raise
    return processes


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each (a worker finishes the job in hand, gunicorn its requests), SIGKILL after 30 s; by PID."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
