"""probity serve: the production processes: the web server (gunicorn), the job worker and the scheduler.

``probity serve --web`` serves HTTP with gunicorn (``probity.wsgi:application``); ``probity serve --worker``
runs queued jobs; ``probity serve --scheduler`` queues the jobs of the schedules at their times. Under
systemd each runs as its own service (``deploy/systemd/``). With none of the three flags, or with more than
one, this command starts each as a child process and watches them: SIGTERM or Ctrl+C is passed on to every
child (a worker finishes the job in hand first), and if one child dies the others are stopped and the
command exits non-zero, so that whatever started it notices. ``--migrate`` applies migrations first.

Sizing the web server: each gunicorn worker is a process with ``--threads`` threads; a password check
(Argon2id, Django's default cost: 100 MiB for a moment) or a reporter's receipt (64 MiB) can run in every
thread at once. The default number of workers is 2 × cores + 1, at most 8, and no more than half of the
machine's memory allows at ``BASE_WORKER_MIB`` plus ``ARGON2_MIB`` per thread.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

logger = logging.getLogger("probity.serve")

ROLES = ("web", "worker", "scheduler")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 4
DEFAULT_TIMEOUT = 60  # seconds a request may take before gunicorn restarts its worker
MAX_DEFAULT_WORKERS = 8
BASE_WORKER_MIB = 200  # a web worker's own memory (Django, the libraries, the warehouse client)
ARGON2_MIB = 100  # Django's Argon2id password hasher: memory_cost 102400 KiB per hash
STOP_POLL = 0.2  # seconds between looks at the children


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def physical_memory_mib() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024))
    except (AttributeError, OSError, ValueError):
        return None


def default_workers(*, threads: int, cores: int | None = None, memory_mib: int | None = None) -> int:
    """2 × cores + 1, at most ``MAX_DEFAULT_WORKERS``, and within half the memory at peak Argon2id use."""
    cores = cores or available_cores()
    by_cpu = min(2 * cores + 1, MAX_DEFAULT_WORKERS)
    memory_mib = memory_mib if memory_mib is not None else physical_memory_mib()
    if not memory_mib:
        return by_cpu
    by_memory = (memory_mib // 2) // (BASE_WORKER_MIB + threads * ARGON2_MIB)
    return max(1, min(by_cpu, by_memory))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


# --- the web server ------------------------------------------------------------------------


def gunicorn_options(*, host: str, port: int, workers: int, threads: int, timeout: int) -> dict[str, Any]:
    """gunicorn's settings: access log off (the reporting channel must leave no address in any log), the
    error log through Django's logging (``PROBITY_LOG_FORMAT``), no control socket (one per user would be
    shared by every instance, and a hardened service cannot write it)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        # A worker is replaced after this many requests (spread out), so slow memory growth cannot pile up.
        "max_requests": 2000,
        "max_requests_jitter": 200,
        "accesslog": None,
        "errorlog": "-",
        "logger_class": "probity.core.management.commands.serve.GunicornLogger",
        "proc_name": "probity-web",
        "control_socket_disable": True,
    }


class GunicornLogger(glogging.Logger):
    """gunicorn's messages go to Django's logging handlers (JSON or plain); access lines are never written."""

    def setup(self, cfg: Any) -> None:
        self.cfg = cfg
        self._access_log_enabled = False
        self.loglevel = self.LOG_LEVELS.get(cfg.loglevel.lower(), logging.INFO)
        self.error_log.setLevel(self.loglevel)
        self.error_log.propagate = True
        self.access_log.propagate = False
        self.access_log.disabled = True

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


class ProbityApplication(BaseApplication):
    """gunicorn serving ``probity.wsgi:application`` with the settings given (no command line, no config file)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        from probity.wsgi import application

        return application


def run_web(options: dict[str, Any]) -> None:
    """Runs gunicorn in this process until SIGTERM (graceful) or SIGINT; gunicorn's master exits itself."""
    # The workers are forked from this process: none may inherit its database connections.
    connections.close_all()
    ProbityApplication(options).run()


# --- supervising several processes ------------------------------------------------------------


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child gets SIGTERM if the supervisor dies (Linux), so no process is left behind."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Supervisor:
    """Starts one child per role, forwards SIGTERM/SIGINT, stops all when one dies."""

    def __init__(self, commands: dict[str, list[str]]) -> None:
        self.commands = commands
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False
        self.failed: str | None = None

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        logger.info("serve: %s received, stopping %s", signal.Signals(signum).name, ", ".join(self.children))
        self.stopping = True
        self._terminate()

    def _terminate(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for role, command in self.commands.items():
                # Own process group: Ctrl+C at a terminal reaches the supervisor only, which passes on one
                # SIGTERM (a second signal to the worker would stop the job in hand instead of letting it end).
                self.children[role] = subprocess.Popen(  # noqa: S603 - our own executable and arguments
                    command, process_group=0, preexec_fn=_child_setup if sys.platform == "linux" else None
                )
                logger.info("serve: started %s (pid %s)", role, self.children[role].pid)
            while True:
                running = {role: child for role, child in self.children.items() if child.poll() is None}
                if not running:
                    break
                if not self.stopping:
                    for role, child in self.children.items():
                        if child.returncode is not None:
                            self.failed = role
                            logger.error(
                                "serve: %s (pid %s) stopped with exit code %s; stopping the others",
                                role,
                                child.pid,
                                child.returncode,
                            )
                            self.stopping = True
                            self._terminate()
                            break
                time.sleep(STOP_POLL)
        finally:
            self._terminate()
            for child in self.children.values():
                child.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        for role, child in self.children.items():
            logger.info("serve: %s (pid %s) exited with code %s", role, child.pid, child.returncode)
        if self.failed is not None:
            return self.children[self.failed].returncode or 1
        return 0 if all(child.returncode in (0, -signal.SIGTERM) for child in self.children.values()) else 1


# --- the command ---------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Run Probity in production: --web (gunicorn), --worker (the job worker), --scheduler (the job "
        "scheduler); with none or several of them, each as a watched child process.\n"
        "SIGTERM or Ctrl+C stops them gracefully; --migrate applies migrations first."
    )
    requires_system_checks: list[str] = []  # checked once by --migrate or `probity check --deploy`, not per start

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--web", action="store_true", help="serve HTTP with gunicorn")
        parser.add_argument("--worker", action="store_true", help="run queued jobs")
        parser.add_argument("--scheduler", action="store_true", help="queue the schedules' jobs at their times")
        parser.add_argument("--migrate", action="store_true", help="apply database migrations before starting")
        parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
        parser.add_argument("--port", type=_positive, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
        parser.add_argument(
            "--workers",
            type=_positive,
            default=None,
            help=f"web worker processes (default: 2 × cores + 1, at most {MAX_DEFAULT_WORKERS}, fewer if memory "
            f"is short: each thread may need {ARGON2_MIB} MiB for a password check)",
        )
        parser.add_argument(
            "--threads",
            type=_positive,
            default=DEFAULT_THREADS,
            help=f"threads per web worker (default {DEFAULT_THREADS})",
        )
        parser.add_argument(
            "--timeout",
            type=_positive,
            default=DEFAULT_TIMEOUT,
            help=f"seconds a request may take before its worker is restarted (default {DEFAULT_TIMEOUT})",
        )
        parser.add_argument(
            "--queues",
            default="default,warehouse",
            help="queues the worker serves, comma-separated (default: default,warehouse). The warehouse queue "
            "must be served by exactly one worker in the installation.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        roles = [role for role in ROLES if options[role]]
        queues = [name.strip() for name in str(options["queues"]).split(",") if name.strip()]
        from probity.core.jobs import QUEUES

        unknown = sorted(set(queues) - set(QUEUES))
        if unknown or not queues:
            raise CommandError(
                f"--queues: unknown queue {', '.join(unknown) or '(none)'}; the queues are {', '.join(QUEUES)}"
            )
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=max(0, int(options["verbosity"]) - 1))
        connections.close_all()
        if len(roles) == 1:
            self._run_one(roles[0], options, queues)
            return
        commands = {role: self._child_command(role, options) for role in roles or ROLES}
        code = Supervisor(commands).run()
        if code:
            raise CommandError("a process stopped unexpectedly; see the log above", returncode=max(code, 1))

    def _run_one(self, role: str, options: dict[str, Any], queues: list[str]) -> None:
        if role == "web":
            threads = int(options["threads"])
            workers = options["workers"] or default_workers(threads=threads)
            logger.info(
                "serve: web on %s:%s, %s workers × %s threads", options["host"], options["port"], workers, threads
            )
            run_web(
                gunicorn_options(
                    host=options["host"],
                    port=int(options["port"]),
                    workers=int(workers),
                    threads=threads,
                    timeout=int(options["timeout"]),
                )
            )
        elif role == "worker":
            from probity.core.worker import run_worker

            run_worker(queues=queues)
        else:
            from probity.core.scheduler import run_scheduler

            # SIGTERM stops the scheduler (run_scheduler's handler); Ctrl+C at a terminal does the same.
            with contextlib.suppress(KeyboardInterrupt):
                run_scheduler()

    @staticmethod
    def _child_command(role: str, options: dict[str, Any]) -> list[str]:
        command = [sys.executable, "-m", "probity.cli", "serve", f"--{role}"]
        if role == "web":
            command += ["--host", str(options["host"]), "--port", str(options["port"])]
            command += ["--threads", str(options["threads"]), "--timeout", str(options["timeout"])]
            if options["workers"]:
                command += ["--workers", str(options["workers"])]
        elif role == "worker":
            command += ["--queues", str(options["queues"])]
        return command
