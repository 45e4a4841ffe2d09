"""Health and readiness endpoints (``probity.core.health``) and the JSON log formatter (``probity.core.logging``)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory, override_settings

from probity.config import ConfigurationError, warehouse_setting
from probity.core import health
from probity.core.jobs import job_enqueue
from probity.core.logging import JsonFormatter, log_format

CLOSED_REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


def test_the_health_middleware_comes_first() -> None:
    from django.conf import settings

    assert settings.MIDDLEWARE[0] == "probity.core.health.HealthCheckMiddleware"


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No database access is allowed in this test: touching it would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response


@pytest.mark.django_db
def test_readyz_reports_every_check_and_the_queue(client: Client) -> None:
    job_enqueue(kind="core.audit_verify", actor=None)
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "warehouse", "queue"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"
    assert body["checks"]["warehouse"]["status"] in {"ok", "empty"}
    queue = body["checks"]["queue"]
    assert queue["status"] == "ok" and queue["waiting"] == {"default": 1}
    assert queue["oldest_waiting_seconds"] >= 0


@pytest.mark.django_db
def test_readyz_is_503_and_names_the_failing_check_without_its_details(client: Client) -> None:
    with override_settings(CACHES=CLOSED_REDIS):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    assert body["checks"]["database"]["status"] == "ok"
    assert "127.0.0.1" not in response.content.decode()  # no address, host or message of the error


@pytest.mark.django_db
def test_readyz_fails_for_a_warehouse_file_that_is_not_duckdb(client: Client, tmp_path: Path) -> None:
    impostor = tmp_path / "warehouse.duckdb"
    impostor.write_bytes(b"this is not a database at all")
    with override_settings(PROBITY_WAREHOUSE=warehouse_setting(str(impostor), tmp_path)):
        response = client.get("/readyz")
    assert response.status_code == 503
    warehouse = response.json()["checks"]["warehouse"]
    assert warehouse["status"] == "error" and warehouse["error"] == "not a DuckDB database file"
    assert str(tmp_path) not in response.content.decode()


@pytest.mark.django_db
def test_readyz_reads_a_real_duckdb_file_without_opening_it(client: Client, tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    writer = duckdb.connect(str(path))  # a writer holds the file: the probe must neither fail nor block it
    writer.execute("CREATE TABLE t AS SELECT 1 AS a")
    try:
        with override_settings(PROBITY_WAREHOUSE=warehouse_setting(str(path), tmp_path)):
            response = client.get("/readyz")
    finally:
        writer.close()
    assert response.status_code == 200
    assert response.json()["checks"]["warehouse"]["status"] == "ok"


@pytest.mark.django_db
def test_a_failing_database_is_reported(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    def broken() -> health.Check:
        return health._failed("database", OperationalError("connection to server at db.internal failed"))

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "error"
    assert "db.internal" not in response.content.decode()


@pytest.mark.django_db
def test_probes_are_not_redirected_to_https_and_answer_any_host(client: Client) -> None:
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        assert client.get("/").status_code == 301  # the redirect is on for everything else
        for path in ("/healthz", "/readyz"):
            response = client.get(path, HTTP_HOST="10.4.0.17:8000")
            assert response.status_code == 200, (path, response.status_code)
            assert "10.4.0.17" not in response.content.decode()
            assert "Location" not in response
            assert "Strict-Transport-Security" not in response
    assert client.get("/", HTTP_HOST="10.4.0.17:8000").status_code == 400  # other paths still check the host


def test_only_get_and_head_are_answered(client: Client) -> None:
    assert client.head("/healthz").status_code == 200
    refused = client.post("/healthz")
    assert refused.status_code == 405 and refused["Allow"] == "GET, HEAD"


# --- logs -----------------------------------------------------------------------------------------


def _record(**attributes: Any) -> logging.LogRecord:
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", ("/x",), None)
    for name, value in attributes.items():
        setattr(record, name, value)
    return record


def test_the_json_formatter_writes_one_object_without_who_made_the_request() -> None:
    request = RequestFactory().get(
        "/reporting/submit/?receipt=SECRET-RECEIPT",
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="Mozilla/5.0 (Whistleblower)",
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    request.user = User(username="alice.secret")
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = _record(request=request, status_code=500, username="alice.secret", client_ip="203.0.113.9")
    record.exc_info = exc_info
    line = JsonFormatter().format(record)

    assert len(line.splitlines()) == 1  # one line, the traceback's newlines escaped
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "process", "path", "status", "exception"}
    assert entry["level"] == "ERROR" and entry["logger"] == "django.request"
    assert entry["path"] == "/reporting/submit/" and entry["status"] == 500
    assert entry["message"] == "Internal Server Error: /x" and "ValueError: boom" in entry["exception"]
    for secret in ("SECRET-RECEIPT", "203.0.113.9", "198.51.100.4", "Whistleblower", "alice.secret"):
        assert secret not in line


def test_the_json_formatter_keeps_non_ascii_text_and_plain_records() -> None:
    record = logging.LogRecord("probity.jobs", logging.INFO, __file__, 1, "job %s: 王芳 %d", ("x", 3), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "job x: 王芳 3"
    assert "path" not in entry and "status" not in entry and entry["process"] > 0
    assert entry["time"].endswith("+00:00")


def test_the_log_format_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBITY_LOG_FORMAT", "JSON")
    assert log_format(debug=True, testing=True) == "json"
    monkeypatch.setenv("PROBITY_LOG_FORMAT", "plain")
    assert log_format(debug=False, testing=False) == "plain"
    monkeypatch.setenv("PROBITY_LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError, match="PROBITY_LOG_FORMAT must be json or plain"):
        log_format(debug=False, testing=False)
    monkeypatch.delenv("PROBITY_LOG_FORMAT")
    assert log_format(debug=False, testing=True) == "plain"  # tests and development: plain lines
    assert log_format(debug=True, testing=False) == "plain"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert log_format(debug=False, testing=False) == "json"  # systemd, containers
