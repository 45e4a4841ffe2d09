"""What the loopback load tests share (``reporting_load.py``, ``declarations_load.py``): a free port,
the environment of a throw-away installation, waiting for gunicorn, and percentiles."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

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
