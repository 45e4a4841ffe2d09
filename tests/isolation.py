"""A pytest plugin loaded before Django starts (``-p tests.isolation`` in the pytest options): the test run
gets its own data folder, so that not even Django's start-up (the secret key, the static folder) touches
``var/``. ``tests/conftest.py`` then gives the session its own folder inside it.

The plugin also proves it: it notes every file under the checkout's ``var/`` (name, size, modification time)
when the session starts and fails the run if any was created, changed or removed when it ends. So
``make run`` then ``make test`` (the README's order) cannot pass while a test reads the demo that
``make run`` loaded or writes beside it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

if "PROBITY_VAR_DIR" not in os.environ:
    os.environ["PROBITY_VAR_DIR"] = tempfile.mkdtemp(prefix="probity-test-var-")

PROJECT_VAR = Path(__file__).resolve().parents[1] / "var"

Snapshot = dict[str, tuple[int, int]]


def var_snapshot(folder: Path = PROJECT_VAR) -> Snapshot:
    """Every file under ``folder`` with its size and modification time (nanoseconds)."""
    if not folder.is_dir():
        return {}
    found: Snapshot = {}
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                stat = path.stat()
                found[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
        except OSError:  # removed while we looked
            continue
    return found


def var_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """Sentences naming each file of ``var/`` that appeared, changed or disappeared."""
    changes = [f"var/{name} was created" for name in sorted(after.keys() - before.keys())]
    changes += [f"var/{name} was removed" for name in sorted(before.keys() - after.keys())]
    changes += [
        f"var/{name} was changed" for name in sorted(before.keys() & after.keys()) if before[name] != after[name]
    ]
    return changes


_BEFORE: Snapshot = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update(var_snapshot())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("PROBITY_ALLOW_VAR_CHANGES") == "1":  # a developer serving from var/ while testing
        return
    changes = var_changes(_BEFORE, var_snapshot())
    if changes:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [
            "Tests must never read or write var/, but during this run:",
            *changes[:20],
            "(If another process, such as `make run`, was using var/ meanwhile, set PROBITY_ALLOW_VAR_CHANGES=1.)",
        ]
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
