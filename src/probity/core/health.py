"""Health and readiness: ``GET /healthz`` and ``GET /readyz``, answered by the first middleware.

* ``/healthz``: 200 ``{"status": "ok"}`` whenever the process serves requests; it touches nothing else,
  so a supervisor restarts the process only when the process itself is stuck.
* ``/readyz``: 200 when the database answers ``SELECT 1``, the cache stores and returns a key, the
  warehouse can be read and the job queue can be counted; 503 otherwise. The body names each check and its
  status, and for the queue the jobs waiting per queue and the age of the oldest one (seconds), which tells
  whether the workers keep up.

Both are answered before every other middleware: before the HTTPS redirect (a load balancer or container
probe speaks plain HTTP to the process, behind the TLS proxy), before the host check (a probe uses the
container's address as ``Host``; the answer never contains the host) and before sessions and CSRF. The
answers hold no personal data, no secret, no path or address and no library version: a failed check says
only which one failed and the kind of error; the server log has the detail.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = logging.getLogger("probity.health")

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
CACHE_KEY_TTL = 30  # seconds

Check = dict[str, Any]


def _json(status: int, body: dict[str, Any]) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _failed(check: str, exc: BaseException) -> Check:
    # The exception's text may name a host, a user or a file: it goes to the server log, not to the answer.
    logger.warning("readiness check %s failed: %s: %s", check, type(exc).__name__, exc)
    return {"status": "error", "error": type(exc).__name__}


def check_database() -> Check:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failed("database", exc)
    return {"status": "ok"}


def check_cache() -> Check:
    from django.core.cache import cache

    key = f"probity:readyz:{os.getpid()}"
    value = uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=CACHE_KEY_TTL)
        if cache.get(key) != value:
            return {"status": "error", "error": "the value read back differs"}
        cache.delete(key)
    except Exception as exc:
        return _failed("cache", exc)
    return {"status": "ok"}


def check_warehouse() -> Check:
    """The DuckDB file is readable and is a DuckDB file; a file not created yet is an empty warehouse.

    The file's header is read without opening it in DuckDB: DuckDB lets one process write a file only while
    no other process has it open, so a probe every few seconds must not take DuckDB's lock from the
    warehouse worker. A Spark warehouse is not started for a probe ("not checked").
    """
    setting = settings.PROBITY_WAREHOUSE
    if setting.engine != "duckdb":
        return {"status": "not checked"}
    if setting.location == ":memory:":
        return {"status": "ok"}
    path = Path(setting.location)
    try:
        if not path.exists():
            if not path.parent.is_dir():
                return {"status": "error", "error": "the warehouse folder does not exist"}
            return {"status": "empty"}
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as exc:
        return _failed("warehouse", exc)
    if len(header) < 12 or header[8:12] != DUCKDB_MAGIC:
        logger.warning("readiness check warehouse failed: %s is not a DuckDB database file", path)
        return {"status": "error", "error": "not a DuckDB database file"}
    return {"status": "ok"}


def check_queue() -> Check:
    from django.db.models import Q

    from probity.core.jobs import queue_depth
    from probity.core.models import Job

    try:
        waiting = queue_depth()
        now = timezone.now()
        due = Job.objects.filter(Q(run_after__isnull=True) | Q(run_after__lte=now), status=Job.Status.QUEUED)
        oldest = due.order_by("created_at").values_list("created_at", "run_after").first()
    except Exception as exc:
        return _failed("queue", exc)
    age = 0
    if oldest is not None:
        created_at, run_after = oldest
        since = max(created_at, run_after) if run_after else created_at
        age = max(0, int((now - since).total_seconds()))
    return {"status": "ok", "waiting": waiting, "oldest_waiting_seconds": age}


CHECKS: dict[str, Callable[[], Check]] = {
    "database": check_database,
    "cache": check_cache,
    "warehouse": check_warehouse,
    "queue": check_queue,
}
OK_STATUSES = {"ok", "empty", "not checked"}


def readiness() -> tuple[bool, dict[str, Check]]:
    """Runs every check; ``(all passed, {name: result})``."""
    results: dict[str, Check] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        result = check()
        result["ms"] = round((time.monotonic() - started) * 1000, 1)
        results[name] = result
    return all(result["status"] in OK_STATUSES for result in results.values()), results


class HealthCheckMiddleware:
    """Answers ``/healthz`` and ``/readyz``; first in ``MIDDLEWARE`` (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path not in (HEALTH_PATH, READY_PATH):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = _json(405, {"status": "method not allowed"})
            response["Allow"] = "GET, HEAD"
            return response
        if path == HEALTH_PATH:
            return _json(200, {"status": "ok"})
        ready, checks = readiness()
        return _json(200 if ready else 503, {"status": "ok" if ready else "unavailable", "checks": checks})
