"""Structured logs: one JSON object per line, for the journal and log collectors (``PROBITY_LOG_FORMAT=json``).

Each line holds the time (UTC, ISO 8601), the level, the logger, the message and the process id; a record
about a request (``django.request``, ``django.security.*``) adds the request's path, without its query
string, and the response status. Nothing else of the request is written: no user name, no address, no
browser, no headers, no body. Fields passed with ``extra=`` are not written either, so that a call cannot
add personal data to the log by accident; what a line must say goes into its message, which Probity's
code keeps free of personal data (codes, counts, ids).

``plain_or_json()`` is what ``settings.LOGGING`` uses when ``PROBITY_LOG_FORMAT`` is not set: plain lines
for a person at a terminal, in debug mode and in tests; JSON lines everywhere else (systemd, containers).
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

LOG_FORMATS = ("json", "plain")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with a fixed set of fields (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str):
            entry["path"] = path  # ``path`` never holds the query string
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def log_format(*, debug: bool, testing: bool) -> str:
    """``PROBITY_LOG_FORMAT`` if set, else plain at a terminal, in debug mode and in tests, JSON otherwise."""
    from probity.config import ConfigurationError

    raw = os.environ.get("PROBITY_LOG_FORMAT", "").strip().lower()
    if raw:
        if raw not in LOG_FORMATS:
            raise ConfigurationError(f"PROBITY_LOG_FORMAT must be json or plain, not {raw!r}.")
        return raw
    if debug or testing or sys.stderr.isatty():
        return "plain"
    return "json"
