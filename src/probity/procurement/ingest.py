"""OCDS ingest: read release and record packages into the warehouse and compile one release per process.

Interface (stable; see ``docs/reference/procurement-data.md`` for the tables)::

    from probity.procurement.ingest import procurement_ingest, ingest_rejections_write

    report = procurement_ingest(paths=[Path("data/")])   # -> IngestReport (counts, first rejections)

The compiled releases are read through ``probity.procurement.selectors`` (``compiled_releases_iter``,
``compiled_releases_write``), as every other module reads them.

Inputs: OCDS 1.0 and 1.1 release packages, record packages, single releases or records, JSON Lines
and concatenated JSON, plain or gzip, files or folders (searched recursively for ``*.json``,
``*.jsonl``, ``*.ndjson``, each optionally ``.gz``). Packages are streamed with ijson, so a file is
never held in memory; accepted releases are staged in the DuckDB warehouse and compiled per OCID
in batches. OCDS 1.0 data is upgraded to 1.1 (ocdskit), dates are normalised to UTC, and every
release is validated against the bundled OCDS 1.1.5 schema with the bid extension
(``probity.standards.ocds``); nothing is fetched.

A release that cannot be used is *rejected* (table ``ocds_ingest_rejection``: file, line or
position, ocid and release id where known, a code and a plain reason). A release that is usable
but imperfect is kept and gets a *warning* (table ``ocds_ingest_warning``). Re-ingesting the same
data changes neither ``ocds_release`` nor ``ocds_compiled_release``; each run is logged in
``ocds_ingest_run``.

The ingest writes to the DuckDB warehouse only (``PROBITY_WAREHOUSE`` a DuckDB file); with a Spark
warehouse it stops with a ``ConfigurationError``.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import json
import logging
import math
import re
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from django.db import DatabaseError

from probity.config import ConfigurationError
from probity.standards.ocds import date_time_fields, merge_rules, release_is_valid, release_validator
from probity.warehouse.services import warehouse_connection, warehouse_register_table

logger = logging.getLogger(__name__)

# --- tables -------------------------------------------------------------------------------------

RELEASE_TABLE = "ocds_release"
COMPILED_TABLE = "ocds_compiled_release"
RUN_TABLE = "ocds_ingest_run"
REJECTION_TABLE = "ocds_ingest_rejection"
WARNING_TABLE = "ocds_ingest_warning"
STAGE_TABLE = "ocds_ingest_stage"  # this run's accepted releases; dropped when the run ends
LOSERS_TABLE = "ocds_ingest_duplicates"  # this run's duplicate copies, while they are reported

_RELEASE_COLUMNS = """
    ocid VARCHAR NOT NULL, release_id VARCHAR NOT NULL, date TIMESTAMP, tag VARCHAR,
    declared_version VARCHAR, upgraded BOOLEAN, hash VARCHAR NOT NULL, source_file VARCHAR,
    line BIGINT, position VARCHAR, run_id VARCHAR, release JSON
"""
TABLE_DDL = {
    RELEASE_TABLE: f"CREATE TABLE IF NOT EXISTS {RELEASE_TABLE} ({_RELEASE_COLUMNS}, PRIMARY KEY (ocid, release_id))",
    COMPILED_TABLE: f"""CREATE TABLE IF NOT EXISTS {COMPILED_TABLE} (
        ocid VARCHAR PRIMARY KEY, date TIMESTAMP, release_count INTEGER, inputs_hash VARCHAR,
        run_id VARCHAR, compiled_release JSON)""",
    RUN_TABLE: f"""CREATE TABLE IF NOT EXISTS {RUN_TABLE} (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, paths VARCHAR,
        files INTEGER, releases_read BIGINT, accepted BIGINT, rejected BIGINT, warnings BIGINT,
        new BIGINT, replaced BIGINT, unchanged BIGINT, duplicates BIGINT, compiled BIGINT,
        status VARCHAR)""",
    REJECTION_TABLE: f"""CREATE TABLE IF NOT EXISTS {REJECTION_TABLE} (
        run_id VARCHAR, source_file VARCHAR, line BIGINT, position VARCHAR, ocid VARCHAR,
        release_id VARCHAR, code VARCHAR, reason VARCHAR, payload VARCHAR)""",
    WARNING_TABLE: f"""CREATE TABLE IF NOT EXISTS {WARNING_TABLE} (
        run_id VARCHAR, source_file VARCHAR, line BIGINT, position VARCHAR, ocid VARCHAR,
        release_id VARCHAR, code VARCHAR, path VARCHAR, message VARCHAR)""",
}
TABLE_DESCRIPTIONS = {
    RELEASE_TABLE: "OCDS releases as ingested (upgraded to 1.1, dates in UTC), one row per (ocid, release id)",
    COMPILED_TABLE: "OCDS compiled releases, one per contracting process (ocid)",
    RUN_TABLE: "OCDS ingest runs and their counts",
    REJECTION_TABLE: "OCDS input that was rejected, with file, position and reason",
    WARNING_TABLE: "OCDS releases kept with a warning (schema, codelist, time zone …)",
}

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
BATCH_SIZE = 2_000  # releases staged per insert …
BATCH_BYTES = 8 * 1024 * 1024  # … or fewer, once their JSON reaches this size
COMPILE_BATCH = 500  # processes compiled per query
REPORT_REJECTIONS = 1_000  # rejections kept in the in-memory report (all are in the warehouse)
MAX_WARNINGS_PER_RELEASE = 20
PAYLOAD_LIMIT = 100_000  # characters of a rejected item kept in the warehouse
PEEK_LIMIT = 1024 * 1024  # bytes read to decide whether a file is JSON Lines (longer lines: streamed)
EXACT_POSITION_LIMIT = 64 * 1024 * 1024  # files up to this size are re-read to locate a JSON error
MEMORY_LIMIT = "1GB"  # DuckDB's own memory for the ingest connection; it spills to disk beyond
LISTS_OF_OBJECTS = ("parties", "awards", "contracts")  # read as a list of one when written as one object
MAX_DEPTH = 64  # nesting levels of a release (OCDS itself needs about ten)
MAX_AMOUNT = 1e18  # largest absolute amount (``….amount``) accepted: beyond, the figure cannot be real
MAX_NUMBER = 1e40  # largest absolute number anywhere in a release (40 digits before the decimal point)
# Markers put in place of values the reader cannot hold; a release holding one is rejected, naming the field.
_NUMBER_MARK = "\x00probity:number:"
_DEEP_MARK = "\x00probity:too-deep"

# Rejection codes (the release is not used) and what they mean.
REJECTION_CODES = {
    "invalid_json": "the text is not valid JSON",
    "empty_file": "the file is empty",
    "not_an_object": "a release, record or package is not a JSON object",
    "missing_ocid": "the release has no ocid (or it is not a non-empty string)",
    "missing_release_id": "the release has no id",
    "missing_date": "the release has no date, so it cannot be ordered for compiling",
    "invalid_date": "the release date is not an ISO 8601 date-time",
    "invalid_amount": "an amount is not a number",
    "number_out_of_range": "a number is too large to be real, has too many digits, or is not finite (1e400, NaN)",
    "too_deep": f"the release is nested more than {MAX_DEPTH} levels deep",
    "wrong_structure": "a field that must be an object or a list of objects is something else",
    "upgrade_failed": "OCDS 1.0 data could not be upgraded to 1.1",
    "linked_releases_only": "a record only links to releases published elsewhere and has no compiledRelease",
    "duplicate_release_id": "the same release id appears again for the OCID with different content",
    "compile_failed": "the releases of a process could not be merged into a compiled release",
    "unusable": "checking the release failed in a way no other code describes (the reason names the error)",
}


# A background job's progress: ``stages(name, total)`` starts a stage and returns what counts its steps.
Stages = Callable[[str, int | None], Callable[[int], object]]


class IngestError(ValueError):
    """The ingest cannot start: a path does not exist or holds no OCDS files."""


@dataclass
class Rejection:
    """One piece of input that was not used, and why."""

    source_file: str
    position: str
    code: str
    reason: str
    line: int | None = None
    ocid: str | None = None
    release_id: str | None = None
    payload: str | None = None

    def as_row(self, run_id: str) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "source_file": self.source_file,
            "line": self.line,
            "position": self.position,
            "ocid": self.ocid,
            "release_id": self.release_id,
            "code": self.code,
            "reason": self.reason,
            "payload": self.payload,
        }


@dataclass
class IngestReport:
    """What one ingest run read, kept, rejected and compiled."""

    run_id: str
    warehouse: str = ""
    files: int = 0
    read: int = 0  # releases (or unreadable items) found in the input
    accepted: int = 0  # releases that passed the checks (before duplicates are resolved)
    rejected: int = 0
    warnings: int = 0
    new: int = 0  # releases stored for the first time
    replaced: int = 0  # stored releases replaced by a better copy (native OCDS 1.1 over upgraded 1.0)
    unchanged: int = 0  # releases already stored with the same content
    duplicates: int = 0  # identical copies of a release met again in this run
    compiled: int = 0  # compiled releases written (new or changed)
    processes: int = 0  # compiled releases in the warehouse after the run
    rejections: list[Rejection] = field(default_factory=list)  # the first REPORT_REJECTIONS

    @property
    def ok(self) -> bool:
        return self.rejected == 0


# --- reading -------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    """One release as read from the input, before any check."""

    data: Any
    version: str | None
    source_file: str
    position: str
    line: int | None = None
    note: str | None = None  # e.g. "the record's compiledRelease was used"


_Item = _Candidate | Rejection
_OCID_IN_TEXT = re.compile(rb'"ocid"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


def _open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, transparently un-gzipped."""
    handle = path.open("rb")
    magic = handle.read(2)
    handle.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def _plain_name(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def ocds_files(paths: Iterable[Path]) -> list[Path]:
    """The files to read: files as given, folders searched recursively for JSON / JSON Lines (+ .gz)."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_file():
            found.append(path.resolve())
        elif path.is_dir():
            found.extend(
                sorted(
                    child.resolve()
                    for child in path.rglob("*")
                    if child.is_file()
                    and not any(part.startswith(".") for part in child.relative_to(path).parts)
                    and _plain_name(child).endswith(JSON_SUFFIXES)
                )
            )
        else:
            raise IngestError(f"{path} does not exist.")
    return found


def _looks_like_json_lines(path: Path) -> bool:
    if _plain_name(path).endswith(JSON_LINES_SUFFIXES):
        return True
    with _open_binary(path) as handle:
        first = handle.readline(PEEK_LIMIT)
        while first and not first.strip():
            first = handle.readline(PEEK_LIMIT)
        if not first.endswith(b"\n"):
            return False  # one line only, or a line too long to be a record: a JSON document
        try:
            value = json.loads(first)
        except (ValueError, RecursionError):
            return False
        if not isinstance(value, dict):
            return False
        while True:
            line = handle.readline(PEEK_LIMIT)
            if not line:
                return False
            if line.strip():
                return True


def _is_linked(release: Any) -> bool:
    """A record's link to a release published elsewhere (url, date, tag) rather than the release itself."""
    return isinstance(release, dict) and "url" in release and "id" not in release and "ocid" not in release


def _record_items(record: Any, version: str | None, source: str, position: str, line: int | None) -> Iterator[_Item]:
    """Releases of a record (or of a release package): full releases, else the compiledRelease."""
    where = f"{position}." if position else ""
    if not isinstance(record, dict):
        yield Rejection(source, position or "record", "not_an_object", "The record is not a JSON object.", line)
        return
    ocid = record.get("ocid") if isinstance(record.get("ocid"), str) else None
    releases = record.get("releases")
    if releases is not None and not isinstance(releases, list):
        yield Rejection(
            source,
            f"{where}releases",
            "wrong_structure",
            "'releases' is not a list.",
            line,
            ocid,
            payload=_payload(record),
        )
        return
    linked = 0
    full = 0
    for index, release in enumerate(releases or []):
        if _is_linked(release):
            linked += 1
            continue
        full += 1
        yield _Candidate(release, version, source, f"{where}releases[{index}]", line)
    if full:
        return
    compiled = record.get("compiledRelease")
    if isinstance(compiled, dict):
        yield _Candidate(
            compiled,
            version,
            source,
            f"{where}compiledRelease",
            line,
            note="the record has only linked releases; its compiledRelease was used",
        )
    elif linked:
        yield Rejection(
            source,
            where.rstrip(".") or "record",
            "linked_releases_only",
            f"The record lists {linked} release(s) only as links to files published elsewhere and has no "
            "compiledRelease; ingest the linked release packages instead.",
            line,
            ocid,
            payload=_payload(record),
        )


def _document_items(
    document: Any, version: str | None, source: str, position: str, line: int | None
) -> Iterator[_Item]:
    """Releases of one parsed JSON document: a release, a record, or a release or record package."""
    if not isinstance(document, dict):
        yield Rejection(
            source,
            position or "document",
            "not_an_object",
            f"Expected a JSON object (release, record or package), found {_json_type(document)}.",
            line,
            payload=_payload(document),
        )
        return
    own_version = document.get("version")
    version = own_version if isinstance(own_version, str) else version
    where = f"{position}." if position else ""
    if "records" in document:
        records = document["records"]
        if not isinstance(records, list):
            yield Rejection(source, f"{where}records", "wrong_structure", "'records' is not a list.", line)
            return
        for index, record in enumerate(records):
            yield from _record_items(record, version, source, f"{where}records[{index}]", line)
    elif "releases" in document:
        yield from _record_items(document, version, source, position, line)
    else:
        yield _Candidate(document, version, source, position or (f"line {line}" if line else "document"), line)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _payload(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    except RecursionError:
        text = f"({_json_type(value)} nested too deeply to be shown)"
    return text[:PAYLOAD_LIMIT]


def _json_lines_items(path: Path, source: str) -> Iterator[_Item]:
    with _open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                document = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                match = _OCID_IN_TEXT.search(raw)
                code, reason = _unreadable_line(exc)
                yield Rejection(
                    source,
                    f"line {number}",
                    code,
                    reason,
                    number,
                    match.group(1).decode("utf-8", "replace") if match else None,
                    payload=raw[:PAYLOAD_LIMIT].decode("utf-8", "replace"),
                )
                continue
            yield from _document_items(document, None, source, "", number)


def _unreadable_line(exc: BaseException) -> tuple[str, str]:
    """The rejection code and plain reason for a line Python's JSON parser refused."""
    if isinstance(exc, RecursionError):
        return "too_deep", f"The line is nested too deeply to be read (OCDS needs at most {MAX_DEPTH} levels)."
    if "integer string conversion" in str(exc):  # Python refuses integers of more than 4300 digits
        return "number_out_of_range", "The line holds a number with thousands of digits, which cannot be real."
    if isinstance(exc, UnicodeDecodeError):
        return "invalid_json", f"The line is not UTF-8 text ({exc.reason} at byte {exc.start})."
    return "invalid_json", f"Invalid JSON: {exc}."


# Streaming JSON documents (single documents, top-level lists, concatenated JSON) with ijson.

_Events = Iterator[tuple[str, Any]]


def _build(event: str, value: Any, events: _Events, depth: int = 0) -> Any:
    """The value starting with ``event``; a container deeper than ``MAX_DEPTH`` is skipped and marked."""
    if event == "start_map":
        if depth >= MAX_DEPTH:
            _skip(event, events)
            return _DEEP_MARK
        built: dict[str, Any] = {}
        for inner, key in events:
            if inner == "end_map":
                return built
            first, first_value = next(events)
            built[key] = _build(first, first_value, events, depth + 1)
        return built
    if event == "start_array":
        if depth >= MAX_DEPTH:
            _skip(event, events)
            return _DEEP_MARK
        items: list[Any] = []
        for inner, inner_value in events:
            if inner == "end_array":
                return items
            items.append(_build(inner, inner_value, events, depth + 1))
        return items
    return value


def _skip(event: str, events: _Events) -> None:
    if event not in ("start_map", "start_array"):
        return
    depth = 1
    for inner, _value in events:
        if inner in ("start_map", "start_array"):
            depth += 1
        elif inner in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return


def _array(events: _Events) -> Iterator[Any]:
    for event, value in events:
        if event == "end_array":
            return
        yield _build(event, value, events)


def _declared_version(path: Path, document_index: int, bounded: bool = False) -> str | None:
    """The top-level ``version`` of the ``document_index``-th JSON value, found by a second streaming pass.

    Needed only when a package puts ``version`` after its releases, which is legal JSON.
    """
    import ijson  # heavy (a tenth of a second with its backend): only when a file is streamed

    depth = 0
    index = -1
    expect_version = False
    with _open_binary(path) as raw:
        handle = _BoundedNumbers(raw) if bounded else raw
        for _prefix, event, value in ijson.parse(handle, multiple_values=True, use_float=True):
            if depth == 0:
                index += 1
            if expect_version:
                if index == document_index:
                    return value if isinstance(value, str) else None
                expect_version = False
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
                if depth == 0 and index == document_index:
                    return None
            elif event == "map_key" and depth == 1 and value == "version" and index == document_index:
                expect_version = True
    return None


def _top_object(
    events: _Events, path: Path, source: str, index: int, prefix: str, bounded: bool = False
) -> Iterator[_Item]:
    """One top-level JSON object, streamed: the items of ``releases`` and ``records`` one at a time."""
    head: dict[str, Any] = {}
    version: str | None = None
    version_known = False
    streamed = False
    saw_releases = False
    linked = 0
    full = 0
    for event, key in events:
        if event == "end_map":
            break
        first, first_value = next(events)
        if key in ("releases", "records") and first == "start_array":
            streamed = True
            saw_releases = saw_releases or key == "releases"
            if not version_known:
                version = (
                    head["version"] if isinstance(head.get("version"), str) else _declared_version(path, index, bounded)
                )
                version_known = True
            for number, item in enumerate(_array(events)):
                position = f"{prefix}{key}[{number}]"
                if key == "records":
                    yield from _record_items(item, version, source, position, None)
                elif _is_linked(item):
                    linked += 1
                else:
                    full += 1
                    yield _Candidate(item, version, source, position)
        elif key == "versionedRelease":
            _skip(first, events)
        else:
            head[key] = _build(first, first_value, events)
    if not streamed:
        yield from _document_items(head, None, source, prefix.rstrip(": "), None)
    elif saw_releases and not full:  # a record without full releases: its compiledRelease, if any
        head["releases"] = [{"url": "…"}] * linked
        yield from _record_items(head, version, source, prefix.rstrip(": "), None)


def _stream_items(path: Path, source: str) -> Iterator[_Item]:
    """The items of a JSON file, streamed. yajl stops at a number it cannot hold (1e400, an integer beyond
    64 bits); the file is then read again with such numbers marked, from the item where it stopped."""
    done = 0
    try:
        for item in _streamed(path, source, bounded=False):
            done += 1
            yield item
    except _NumberOverflow:
        for number, item in enumerate(_streamed(path, source, bounded=True)):
            if number >= done:
                yield item


class _NumberOverflow(Exception):
    """yajl met a number it cannot hold."""


def _streamed(path: Path, source: str, *, bounded: bool) -> Iterator[_Item]:
    import ijson  # heavy: only when a file is streamed

    with _open_binary(path) as raw:
        handle = _BoundedNumbers(raw) if bounded else raw
        # basic_parse: the events without the prefix ijson.parse builds for each (a tenth of the time).
        events: _Events = ijson.basic_parse(handle, multiple_values=True, use_float=True)
        index = 0
        seen = False
        last_position = "the start of the file"
        try:
            for event, value in events:
                seen = True
                prefix = f"value {index + 1}: " if index else ""
                if event == "start_map":
                    for item in _top_object(events, path, source, index, prefix, bounded):
                        last_position = item.position
                        yield item
                elif event == "start_array":
                    for number, document in enumerate(_array(events)):
                        last_position = f"{prefix}[{number}]"
                        yield from _document_items(document, None, source, last_position, None)
                else:
                    yield Rejection(
                        source,
                        prefix.rstrip(": ") or "document",
                        "not_an_object",
                        f"Expected a JSON object or list, found {_json_type(value)}.",
                        payload=_payload(value),
                    )
                index += 1
        except ijson.JSONError as exc:
            if not bounded and ("overflow" in str(exc) or "invalid char" in str(exc)):
                raise _NumberOverflow from exc
            if seen or _has_content(path):
                yield _invalid_json(path, source, exc, last_position)
                return
    if not seen:
        yield Rejection(source, "file", "empty_file", "The file is empty (no JSON value in it).")


_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|-?[0-9][0-9.eE+-]*|-?(?:NaN|Infinity)')


class _BoundedNumbers:
    """A byte stream of JSON in which the numbers yajl cannot hold are replaced by marked strings.

    Only used after yajl stopped at such a number: it tokenises every string and number in Python.
    """

    CHUNK = 1024 * 1024

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.pending = b""  # a token that may continue in the next chunk
        self.ready = bytearray()
        self.finished = False

    def read(self, size: int = -1) -> bytes:
        while not self.finished and (size < 0 or len(self.ready) < size):
            chunk = self.handle.read(self.CHUNK)
            self.finished = not chunk
            self.ready += self._rewrite(self.pending + chunk)
        if size < 0:
            size = len(self.ready)
        out = bytes(self.ready[:size])
        del self.ready[:size]
        return out

    def _rewrite(self, data: bytes) -> bytes:
        parts: list[bytes] = []
        start = 0
        self.pending = b""
        for match in _TOKEN.finditer(data):
            token = match.group()
            if match.end() == len(data) and not self.finished:
                parts.append(data[start : match.start()])
                self.pending = data[match.start() :]
                return b"".join(parts)
            if token[:1] != b'"':
                replacement = _readable_number(token)
                if replacement is not None:
                    parts.append(data[start : match.start()])
                    parts.append(replacement)
                    start = match.end()
        parts.append(data[start:])
        return b"".join(parts)


def _readable_number(token: bytes) -> bytes | None:
    """What to put in place of a number token yajl cannot hold (None: it can, or it is no number at all).

    An integer beyond 64 bits that is not absurdly long is read as a float; anything else is marked.
    """
    digits = len(token.lstrip(b"-"))
    if token.lstrip(b"-")[:1] in (b"N", b"I"):  # NaN, Infinity: Python's JSON, not JSON
        return b'"\\u0000probity:number:' + token + b'"'
    try:
        if b"." in token or b"e" in token or b"E" in token:
            return None if math.isfinite(float(token)) else b'"\\u0000probity:number:' + token[:40] + b'"'
        if digits <= 18:
            return None
        int(token[:18])  # a number, not something yajl will refuse for its own reasons
        return token + b".0" if digits <= 40 else b'"\\u0000probity:number:a %d-digit number"' % digits
    except ValueError:
        return None


def _has_content(path: Path) -> bool:
    """Whether a file has anything but white space."""
    with _open_binary(path) as handle:
        while chunk := handle.read(1024 * 1024):
            if chunk.strip():
                return True
    return False


def _invalid_json(path: Path, source: str, exc: Exception, after: str) -> Rejection:
    """Rejection for a JSON syntax error in a streamed document, with the line where Python's parser finds it."""
    line: int | None = None
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if path.stat().st_size <= EXACT_POSITION_LIMIT:
        with _open_binary(path) as handle:
            text = handle.read().decode("utf-8", "replace")
        decoder = json.JSONDecoder()
        offset = 0
        try:
            while True:
                while offset < len(text) and text[offset].isspace():
                    offset += 1
                if offset >= len(text):
                    break
                _value, offset = decoder.raw_decode(text, offset)
        except json.JSONDecodeError as decode_error:
            line = decode_error.lineno
            detail = f"{decode_error.msg} at line {decode_error.lineno}, column {decode_error.colno}"
        except (ValueError, RecursionError):  # a number of thousands of digits, nesting too deep: yajl's words
            pass
    if not detail:
        detail = "unreadable"
    return Rejection(
        source,
        f"after {after}",
        "invalid_json",
        f"Invalid JSON ({detail}); the rest of this file could not be read, the items before it were kept.",
        line,
    )


def _file_items(path: Path) -> Iterator[_Item]:
    source = str(path)
    try:
        if path.stat().st_size == 0:
            yield Rejection(source, "file", "empty_file", "The file is empty.")
            return
        if _looks_like_json_lines(path):
            yield from _json_lines_items(path, source)
        else:
            yield from _stream_items(path, source)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        yield Rejection(source, "file", "invalid_json", f"The file cannot be read ({exc}).")
    except UnicodeDecodeError as exc:
        yield Rejection(source, "file", "invalid_json", f"The file is not UTF-8 text ({exc.reason}).")
    except RecursionError:
        yield Rejection(
            source,
            "file",
            "invalid_json",
            "The JSON is nested too deeply to be read; the rest of the file was skipped.",
        )


# --- checking one release -----------------------------------------------------------------------


@dataclass
class _Warning:
    code: str
    path: str
    message: str


@dataclass
class _Accepted:
    ocid: str
    release_id: str
    date: datetime
    tag: str
    declared_version: str
    upgraded: bool
    hash: str
    release: str
    warnings: list[_Warning]


def _json_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(release)"


def _parse_date(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _OutOfBounds(Exception):
    """A value of the release that cannot be used: a rejection ``code`` and its plain ``reason``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _bounds_error(value: Any, path: tuple[Any, ...]) -> _OutOfBounds | None:
    """Why a number (or a marker left by the reader) at ``path`` cannot be used, or None."""
    where = _json_path(path)
    if isinstance(value, str):
        if value.startswith(_NUMBER_MARK):
            shown = value[len(_NUMBER_MARK) :]
            if shown.lstrip("-") in ("NaN", "Infinity"):
                return _OutOfBounds(
                    "number_out_of_range", f"The number at {where} is {shown}, which is not a finite number."
                )
            return _OutOfBounds(
                "number_out_of_range",
                f"The number at {where} is {shown}, too large to be read; no real figure is that large.",
            )
        if value == _DEEP_MARK:
            return _OutOfBounds("too_deep", f"The release is nested more than {MAX_DEPTH} levels deep at {where}.")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return _OutOfBounds(
            "number_out_of_range",
            f"The number at {where} is not a finite number ({value}: too large for a number, or NaN).",
        )
    limit = MAX_AMOUNT if path and path[-1] == "amount" else MAX_NUMBER
    if abs(value) > limit:
        size = f"a {_digits(value)}-digit number" if isinstance(value, int) else f"{value:.3g}"
        return _OutOfBounds(
            "number_out_of_range",
            f"The {'amount' if limit == MAX_AMOUNT else 'number'} at {where} is {size}, beyond the largest "
            f"accepted ({limit:.0e}); no real figure is that large.",
        )
    return None


def _digits(value: int) -> int:
    """How many digits an integer has (Python will not print one of more than 4300)."""
    try:
        return len(str(abs(value)))
    except ValueError:
        return int(abs(value).bit_length() * math.log10(2)) + 1


class _NeedsPaths(Exception):
    """The quick walk met something whose message names a field (an invalid date, a number out of bounds,
    nesting too deep) or a value it does not expect: the walk that tracks paths takes over."""


def _date_in_utc(value: str) -> tuple[str, str | None, bool] | None:
    """A date-time text in UTC ('…Z'), the offset it was converted from ('+0100', None if none or zero), and
    whether it had no time zone (taken as UTC); None if it is not an ISO 8601 date."""
    return _date_in_utc_cached(value) if len(value) <= 40 else _date_in_utc_uncached(value)


def _date_in_utc_uncached(value: str) -> tuple[str, str | None, bool] | None:
    moment = _parse_date(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        return _utc_text(moment.replace(tzinfo=UTC)), None, True
    return _utc_text(moment), moment.strftime("%z") if moment.utcoffset() else None, False


_date_in_utc_cached = lru_cache(maxsize=8192)(_date_in_utc_uncached)  # publishers repeat dates


def _normalise_dates(release: dict[str, Any], fields: frozenset[str]) -> list[_Warning]:
    """Rewrites date-time fields in UTC ('…Z'); notes offsets and missing time zones once per release.

    Raises ``_OutOfBounds`` for a number that is not finite or too large, a number or a level of nesting
    the reader could not hold (marked), or nesting deeper than ``MAX_DEPTH``.

    A quick walk, which builds no paths, does the common case; at the first thing whose message needs a
    path it undoes its changes and ``_normalise_dates_traced`` walks the release instead (same order,
    same result).
    """
    offsets: set[str] = set()
    counts = [0, 0]  # converted from an offset, taken as UTC
    undo: list[tuple[dict[str, Any], str, str]] = []

    def walk(node: Any, depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise _NeedsPaths
        if type(node) is dict:
            for key, value in node.items():
                kind = type(value)
                if kind is str:
                    if value[:1] == "\x00":
                        raise _NeedsPaths
                    if key in fields:
                        utc = _date_in_utc(value)
                        if utc is None:
                            raise _NeedsPaths
                        text, offset, assumed = utc
                        if assumed:
                            counts[1] += 1
                        elif offset is not None:
                            offsets.add(offset)
                            counts[0] += 1
                        if text != value:
                            undo.append((node, key, value))
                            node[key] = text
                elif kind is float or kind is int:
                    if not -MAX_AMOUNT <= value <= MAX_AMOUNT:
                        raise _NeedsPaths
                elif kind is dict or kind is list:
                    walk(value, depth + 1)
                elif value is not None and kind is not bool:
                    raise _NeedsPaths
        else:
            for value in node:
                kind = type(value)
                if kind is dict or kind is list:
                    walk(value, depth + 1)
                elif kind is float or kind is int:
                    if not -MAX_AMOUNT <= value <= MAX_AMOUNT:
                        raise _NeedsPaths
                elif kind is str:
                    if value[:1] == "\x00":
                        raise _NeedsPaths
                elif value is not None and kind is not bool:
                    raise _NeedsPaths

    if type(release) is dict:
        try:
            walk(release, 0)
        except _NeedsPaths:
            for node, key, value in reversed(undo):
                node[key] = value
        else:
            return _dates_note([], counts[0], counts[1], offsets)
    return _normalise_dates_traced(release, fields)


def _dates_note(invalid: list[_Warning], converted: int, assumed: int, offsets: set[str]) -> list[_Warning]:
    notes = invalid
    if converted or assumed:
        parts = []
        if converted:
            parts.append(f"{converted} date(s) converted to UTC from offset(s) {', '.join(sorted(offsets))}")
        if assumed:
            parts.append(f"{assumed} date(s) without a time zone taken as UTC")
        notes.append(_Warning("dates_normalised", "", "; ".join(parts) + "."))
    return notes


def _normalise_dates_traced(release: dict[str, Any], fields: frozenset[str]) -> list[_Warning]:
    """``_normalise_dates`` keeping each field's path, for the messages that name it."""
    offsets: set[str] = set()
    converted = 0
    assumed = 0
    invalid: list[_Warning] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        nonlocal converted, assumed
        if len(path) >= MAX_DEPTH:
            raise _OutOfBounds(
                "too_deep", f"The release is nested more than {MAX_DEPTH} levels deep at {_json_path(path)}."
            )
        if isinstance(node, dict):
            for key, value in node.items():
                kind = type(value)
                if kind is float or kind is int:
                    if -MAX_AMOUNT <= value <= MAX_AMOUNT:
                        continue
                    error = _bounds_error(value, (*path, key))
                    if error is not None:
                        raise error
                    continue
                if kind is str and value[:1] == "\x00":
                    error = _bounds_error(value, (*path, key))
                    if error is not None:
                        raise error
                    continue
                if key in fields and kind is str:
                    moment = _parse_date(value)
                    if moment is None:
                        invalid.append(
                            _Warning(
                                "invalid_date", _json_path((*path, key)), f"{value[:40]!r} is not an ISO 8601 date"
                            )
                        )
                        continue
                    if moment.tzinfo is None:
                        assumed += 1
                        moment = moment.replace(tzinfo=UTC)
                    else:
                        offset = moment.utcoffset()
                        if offset:
                            offsets.add(moment.strftime("%z"))
                            converted += 1
                    text = _utc_text(moment)
                    if text != value:
                        node[key] = text
                elif isinstance(value, dict | list):
                    walk(value, (*path, key))
        elif isinstance(node, list):
            for number, value in enumerate(node):
                kind = type(value)
                if kind is dict or kind is list:
                    walk(value, (*path, number))
                elif (kind is float or kind is int) and -MAX_AMOUNT <= value <= MAX_AMOUNT:
                    continue
                elif kind is float or kind is int or (kind is str and value[:1] == "\x00"):
                    error = _bounds_error(value, (*path, number))
                    if error is not None:
                        raise error

    walk(release, ())
    return _dates_note(invalid, converted, assumed, offsets)


def _numeric(value: str) -> float | None:
    try:
        number = float(value.strip().replace(" ", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _structural(schema: dict[str, Any]) -> bool:
    """Whether a schema node is an object, or a list of objects (which merging matches by id)."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:
        return True
    if "array" in types:
        items = schema.get("items") or {}
        return "$ref" in items or items.get("type") == "object" or "properties" in items
    return False


def _set_at(document: Any, path: list[Any], value: Any) -> None:
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _upgrade_changes_nothing(release: dict[str, Any]) -> bool:
    """Whether ocdskit's ``upgrade_release_10_11`` would leave ``release`` exactly as it is, log nothing and
    raise nothing, so that it need not run (JSON Lines declare no version: 1.1 data is read as 1.0).

    True only for the shape of OCDS 1.1: ``parties`` a list of objects with distinct-enough string ids;
    every organization reference (buyer, procuringEntity, tenderers, suppliers) an object of ``id`` (a
    string) and ``name``, in that order, naming a party with the same name whose ``roles`` — a sorted list
    of strings, as the upgrade would leave them — already hold the reference's role; no ``amendment``
    object in the tender, awards or contracts; every transaction with a ``value``, and no
    ``providerOrganization`` / ``receiverOrganization`` without its ``payer`` / ``payee``. Anything else
    (including what would make the upgrade fail) answers False, and the upgrade runs as before.
    """
    parties: dict[str, Any] = {}
    if "parties" in release:
        listed = release["parties"]
        if type(listed) is not list:
            return False
        for party in listed:
            if type(party) is not dict or type(party.get("id")) is not str:
                return False
            parties[party["id"]] = party  # as ocdskit reads them: the last of a repeated id

    def known(reference: Any, role: str) -> bool:
        if type(reference) is not dict:
            return False
        keys = list(reference)
        if keys != ["id"] and keys != ["id", "name"]:
            return False
        identifier = reference["id"]
        if type(identifier) is not str:
            return False
        party = parties.get(identifier)
        if party is None:
            return False
        if "name" in reference and ("name" not in party or reference["name"] != party["name"]):
            return False  # the upgrade would log the difference
        roles = party.get("roles")
        if type(roles) is not list or role not in roles:
            return False
        return all(type(name) is str for name in roles) and roles == sorted(roles)

    def present(node: dict[str, Any], key: str) -> bool:
        return key in node and node[key] is not None

    def blocks(key: str) -> list[dict[str, Any]] | None:
        """The awards or contracts (empty if absent), None if they are not a list of objects."""
        if not present(release, key):
            return []
        value = release[key]
        if type(value) is not list or any(type(block) is not dict or "amendment" in block for block in value):
            return None
        return value

    if present(release, "buyer") and not known(release["buyer"], "buyer"):
        return False
    if present(release, "tender"):
        tender = release["tender"]
        if type(tender) is not dict or "amendment" in tender:
            return False
        if present(tender, "procuringEntity") and not known(tender["procuringEntity"], "procuringEntity"):
            return False
        if present(tender, "tenderers"):
            tenderers = tender["tenderers"]
            if type(tenderers) is not list or not all(known(item, "tenderer") for item in tenderers):
                return False
    awards = blocks("awards")
    contracts = blocks("contracts")
    if awards is None or contracts is None:
        return False
    for award in awards:
        if present(award, "suppliers"):
            suppliers = award["suppliers"]
            if type(suppliers) is not list or not all(known(item, "supplier") for item in suppliers):
                return False
    for contract in contracts:
        if not present(contract, "implementation"):
            continue
        implementation = contract["implementation"]
        if type(implementation) is not dict:
            return False
        if not present(implementation, "transactions"):
            continue
        transactions = implementation["transactions"]
        if type(transactions) is not list:
            return False
        for transaction in transactions:
            if type(transaction) is not dict or "value" not in transaction:
                return False
            if ("providerOrganization" in transaction and "payer" not in transaction) or (
                "receiverOrganization" in transaction and "payee" not in transaction
            ):
                return False
    return True


def _check(candidate: _Candidate) -> _Accepted | Rejection:
    release = candidate.data

    def reject(code: str, reason: str, ocid: str | None = None, release_id: str | None = None) -> Rejection:
        return Rejection(
            candidate.source_file,
            candidate.position or (f"line {candidate.line}" if candidate.line else "document"),
            code,
            reason,
            candidate.line,
            ocid,
            release_id,
            payload=_payload(release),
        )

    if not isinstance(release, dict):
        return reject("not_an_object", f"The release is {_json_type(release)}, not a JSON object.")
    ocid = release.get("ocid")
    if not isinstance(ocid, str) or not ocid.strip():
        reason = "The release has no ocid." if ocid in (None, "") else f"The ocid is {_json_type(ocid)}, not a string."
        raw_id = release.get("id")
        return reject("missing_ocid", reason, None, None if raw_id is None else str(raw_id))
    raw_id = release.get("id")
    if raw_id is None or raw_id == "" or isinstance(raw_id, dict | list | bool):
        return reject("missing_release_id", "The release has no id (a string unique within its ocid).", ocid)
    release_id = str(raw_id)
    notes: list[_Warning] = []
    if candidate.note:
        notes.append(_Warning("compiled_release_used", "", candidate.note))
    if not isinstance(raw_id, str):
        notes.append(
            _Warning("schema", "id", f"The release id is {_json_type(raw_id)}; read as the text {release_id!r}.")
        )

    declared = release.pop("version", None) if "version" in release else None
    version = candidate.version or (declared if isinstance(declared, str) else None) or "1.0"
    minor = version[:3]
    upgraded = False
    if minor == "1.0" and _upgrade_changes_nothing(release):
        upgraded = True  # upgraded as far as the data goes: it is the same as what the upgrade gives
    elif minor == "1.0":
        from ocdskit.upgrade import upgrade_release_10_11  # heavy, and only for OCDS 1.0 input

        logs = _CapturedLogs()
        try:
            with logs.capture("ocdskit"):
                upgrade_release_10_11(release, reorder=False)
        except Exception as exc:  # ocdskit assumes 1.0's shapes; anything else means the data is malformed
            return reject(
                "upgrade_failed",
                f"The OCDS 1.0 release could not be upgraded to 1.1 ({type(exc).__name__}: {exc}).",
                ocid,
                release_id,
            )
        upgraded = True
        if logs.count:
            notes.append(
                _Warning(
                    "upgrade_party_conflict",
                    "parties",
                    f"{logs.count} organisation(s) appear with different details under the same identifier; "
                    "the upgrade to 1.1 kept the first.",
                )
            )
    elif minor != "1.1":
        notes.append(_Warning("unknown_version", "version", f"OCDS version {version!r} is unknown; read as 1.1."))

    for key in LISTS_OF_OBJECTS:
        if isinstance(release.get(key), dict):  # a publisher wrote one award as the object itself
            release[key] = [release[key]]
            notes.append(
                _Warning(
                    "object_for_list",
                    key,
                    f"'{key}' is one object where OCDS requires a list of objects; read as a list of one.",
                )
            )
    try:
        notes.extend(_normalise_dates(release, date_time_fields()))
    except _OutOfBounds as bounds:
        return reject(bounds.code, bounds.reason, ocid, release_id)
    raw_date = release.get("date")
    if raw_date in (None, ""):
        return reject(
            "missing_date",
            "The release has no date, so it cannot be ordered among the process's releases.",
            ocid,
            release_id,
        )
    moment = _parse_date(raw_date) if isinstance(raw_date, str) else None
    if moment is None:
        return reject(
            "invalid_date", f"The release date {str(raw_date)[:40]!r} is not an ISO 8601 date-time.", ocid, release_id
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)

    schema_notes: list[_Warning] = []
    for error in () if release_is_valid(release) else release_validator().iter_errors(release):
        path = list(error.absolute_path)
        where = _json_path(path)
        if error.validator == "type" and path and path[-1] == "amount":
            instance = error.instance
            if isinstance(instance, str) and not instance.strip():
                _set_at(release, path, None)
                schema_notes.append(_Warning("amount_blank", where, "The amount was an empty text; read as no amount."))
                continue
            number = _numeric(instance) if isinstance(instance, str) else None
            if number is None:
                return reject(
                    "invalid_amount",
                    f"The amount at {where} is {str(instance)[:40]!r}, not a number.",
                    ocid,
                    release_id,
                )
            _set_at(release, path, number)
            schema_notes.append(
                _Warning("amount_converted", where, f"The amount {instance!r} was text; read as {number}.")
            )
        elif (
            error.validator == "type"
            and isinstance(error.schema, dict)
            and _structural(error.schema)
            and not isinstance(error.instance, dict | list)
        ):
            return reject(
                "wrong_structure",
                f"{where} is {_json_type(error.instance)}, but OCDS requires "
                f"{'an object' if 'object' in str(error.schema.get('type')) else 'a list of objects'} there.",
                ocid,
                release_id,
            )
        elif error.validator == "enum" and path and path[-1] == "currency":
            schema_notes.append(
                _Warning("unknown_currency", where, f"{error.instance!r} is not in the ISO 4217 currency codelist.")
            )
        elif error.validator == "enum":
            schema_notes.append(_Warning("codelist", where, _short(error.message)))
        elif error.validator == "required":
            schema_notes.append(_Warning("missing_field", where, _short(error.message)))
        else:
            schema_notes.append(_Warning("schema", where, _short(error.message)))
    if len(schema_notes) > MAX_WARNINGS_PER_RELEASE:
        extra = len(schema_notes) - MAX_WARNINGS_PER_RELEASE
        schema_notes = schema_notes[:MAX_WARNINGS_PER_RELEASE]
        schema_notes.append(_Warning("schema", "", f"… and {extra} more schema message(s) for this release."))
    notes.extend(schema_notes)

    text = json.dumps(release, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    tag = release.get("tag")
    return _Accepted(
        ocid=ocid,
        release_id=release_id,
        date=moment.astimezone(UTC).replace(tzinfo=None),
        tag=json.dumps(tag if isinstance(tag, list) else [tag] if tag else [], ensure_ascii=False),
        declared_version=version,
        upgraded=upgraded,
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        release=text,
        warnings=notes,
    )


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


class _CapturedLogs(logging.Handler):
    """Counts a library's warnings instead of logging them (ocdskit logs organisations' details)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    @contextlib.contextmanager
    def capture(self, name: str) -> Iterator[None]:
        target = logging.getLogger(name)
        propagate = target.propagate
        target.addHandler(self)
        target.propagate = False
        try:
            yield
        finally:
            target.removeHandler(self)
            target.propagate = propagate


# --- the warehouse side --------------------------------------------------------------------------


def ocds_connection(warehouse: Any) -> Any:
    """The DuckDB connection of ``warehouse``, which holds the ingest's tables; a ``ConfigurationError`` for
    another engine."""
    if warehouse.engine != "duckdb":
        raise ConfigurationError(
            "The OCDS ingest writes to a DuckDB warehouse; set PROBITY_WAREHOUSE to a DuckDB file "
            "(Spark can read the tables once exported)."
        )
    con = warehouse.backend.con
    return getattr(con, "wrapped", con)


def ocds_tables_create(con: Any) -> None:
    """Creates the ingest's tables if they are missing."""
    for ddl in TABLE_DDL.values():
        con.execute(ddl)


def _insert(con: Any, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    import pyarrow as pa  # heavy: only when rows are written

    view = f"probity_batch_{uuid.uuid4().hex[:8]}"
    columns = list(rows[0])
    batch = pa.Table.from_pylist(rows)
    con.register(view, batch)
    try:
        names = ", ".join(columns)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {view}")  # noqa: S608 - fixed names
    finally:
        con.unregister(view)


class _Writer:
    """Batches rows for the stage, rejection and warning tables; keeps the report's counts."""

    def __init__(self, con: Any, report: IngestReport) -> None:
        self.con = con
        self.report = report
        self.stage: list[dict[str, Any]] = []
        self.rejections: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.sequence = 0
        self.staged_bytes = 0

    def reject(self, rejection: Rejection) -> None:
        self.report.rejected += 1
        if len(self.report.rejections) < REPORT_REJECTIONS:
            self.report.rejections.append(rejection)
        self.rejections.append(rejection.as_row(self.report.run_id))
        if len(self.rejections) >= BATCH_SIZE:
            self.flush()

    def warn(self, candidate: _Candidate, ocid: str | None, release_id: str | None, note: _Warning) -> None:
        self.report.warnings += 1
        self.warnings.append(
            {
                "run_id": self.report.run_id,
                "source_file": candidate.source_file,
                "line": candidate.line,
                "position": candidate.position,
                "ocid": ocid,
                "release_id": release_id,
                "code": note.code,
                "path": note.path,
                "message": note.message,
            }
        )

    def accept(self, candidate: _Candidate, accepted: _Accepted) -> None:
        self.report.accepted += 1
        self.sequence += 1
        for note in accepted.warnings:
            self.warn(candidate, accepted.ocid, accepted.release_id, note)
        self.stage.append(
            {
                "seq": self.sequence,
                "ocid": accepted.ocid,
                "release_id": accepted.release_id,
                "date": accepted.date,
                "tag": accepted.tag,
                "declared_version": accepted.declared_version,
                "upgraded": accepted.upgraded,
                "hash": accepted.hash,
                "source_file": candidate.source_file,
                "line": candidate.line,
                "position": candidate.position,
                "run_id": self.report.run_id,
                "release": accepted.release,
            }
        )
        self.staged_bytes += len(accepted.release)
        if len(self.stage) >= BATCH_SIZE or self.staged_bytes >= BATCH_BYTES or len(self.warnings) >= BATCH_SIZE * 5:
            self.flush()

    def flush(self) -> None:
        _insert(self.con, STAGE_TABLE, self.stage)
        _insert(self.con, REJECTION_TABLE, self.rejections)
        _insert(self.con, WARNING_TABLE, self.warnings)
        self.stage, self.rejections, self.warnings = [], [], []
        self.staged_bytes = 0


def _resolve_duplicates(con: Any, writer: _Writer) -> None:
    """Moves this run's staged releases into ``ocds_release``: one row per (ocid, release id).

    Among copies of one release the kept one is, in order: declared OCDS 1.1 (not upgraded by us),
    already stored, read first. Identical copies are counted; a copy with different content is
    reported as ``duplicate_release_id`` (its JSON kept in the rejection's payload).
    """
    report = writer.report
    run_id = report.run_id
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE ocds_candidates AS
        SELECT ocid, release_id, hash, upgraded, 0 AS fresh, 0 AS seq, source_file, position, line
          FROM {RELEASE_TABLE} WHERE (ocid, release_id) IN (SELECT ocid, release_id FROM {STAGE_TABLE})
        UNION ALL
        SELECT ocid, release_id, hash, upgraded, 1 AS fresh, seq, source_file, position, line FROM {STAGE_TABLE}"""  # noqa: S608
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE ocds_ranked AS
        SELECT *, row_number() OVER (PARTITION BY ocid, release_id ORDER BY upgraded, fresh, seq) AS rank
          FROM ocds_candidates"""
    )
    con.execute("""CREATE OR REPLACE TEMP TABLE ocds_winners AS SELECT * FROM ocds_ranked WHERE rank = 1""")
    # Copies of a release that lose to another copy: identical ones are counted, different ones reported.
    # Kept in a table of the file (not a temporary one) so that a second cursor can read it while
    # ``con`` writes the rejections.
    con.execute(
        f"""CREATE OR REPLACE TABLE {LOSERS_TABLE} AS
        SELECT l.fresh, l.hash = w.hash AS same, l.source_file, l.line, l.position, l.ocid, l.release_id,
               w.source_file AS kept_file, w.position AS kept_position, w.fresh AS kept_fresh, l.seq
          FROM ocds_ranked l JOIN ocds_winners w USING (ocid, release_id)
         WHERE l.rank > 1"""  # noqa: S608
    )
    scan = con.cursor()
    losers = scan.execute(f"SELECT * FROM {LOSERS_TABLE}")  # noqa: S608
    while rows := losers.fetchmany(BATCH_SIZE):
        conflicting = [row[-1] for row in rows if row[0] and not row[1]]
        texts = (
            dict(
                con.execute(
                    f"SELECT seq, release::VARCHAR FROM {STAGE_TABLE} WHERE seq IN (SELECT unnest(?))",  # noqa: S608
                    [conflicting],
                ).fetchall()
            )
            if conflicting
            else {}
        )
        for fresh, same, source, line, position, ocid, release_id, kept_file, kept_position, kept_fresh, seq in rows:
            text = texts.get(seq)
            if same:
                if fresh and not kept_fresh:
                    report.unchanged += 1
                elif fresh:
                    report.duplicates += 1
                continue
            if fresh:
                report.accepted -= 1  # counted as rejected instead
                writer.reject(
                    Rejection(
                        source,
                        position,
                        "duplicate_release_id",
                        f"Release id {release_id!r} appears again for this ocid with different content; "
                        f"the copy kept is from {kept_file} ({kept_position or 'document'}).",
                        line,
                        ocid,
                        release_id,
                        payload=(text or "")[:PAYLOAD_LIMIT],
                    )
                )
            else:  # a stored copy displaced by a declared-1.1 copy read now
                writer.warnings.append(
                    {
                        "run_id": run_id,
                        "source_file": source,
                        "line": line,
                        "position": position,
                        "ocid": ocid,
                        "release_id": release_id,
                        "code": "release_replaced",
                        "path": "",
                        "message": f"The stored copy (upgraded from OCDS 1.0) was replaced by the OCDS 1.1 copy from "
                        f"{kept_file} ({kept_position or 'document'}).",
                    }
                )
                report.warnings += 1
    scan.close()
    con.execute(f"DROP TABLE {LOSERS_TABLE}")
    writer.flush()
    # Winners read in this run: new releases, or replacements for a stored copy with other content.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE ocds_changed AS
        SELECT s.seq, s.ocid, s.release_id, r.hash IS NOT NULL AS existed FROM {STAGE_TABLE} s
          JOIN ocds_winners w ON w.fresh = 1 AND w.seq = s.seq
          LEFT JOIN {RELEASE_TABLE} r ON r.ocid = s.ocid AND r.release_id = s.release_id
         WHERE r.hash IS NULL OR r.hash <> s.hash"""  # noqa: S608
    )
    new, replaced = con.execute(
        "SELECT count(*) FILTER (NOT existed), count(*) FILTER (existed) FROM ocds_changed"
    ).fetchone()
    report.new += int(new)
    report.replaced += int(replaced)
    # A fresh winner identical to the stored row is "unchanged".
    (same_as_stored,) = con.execute(
        f"""SELECT count(*) FROM {STAGE_TABLE} s JOIN ocds_winners w ON w.fresh = 1 AND w.seq = s.seq
            JOIN {RELEASE_TABLE} r ON r.ocid = s.ocid AND r.release_id = s.release_id AND r.hash = s.hash"""  # noqa: S608
    ).fetchone()
    report.unchanged += int(same_as_stored)
    columns = (
        "ocid, release_id, date, tag, declared_version, upgraded, hash, source_file, line, position, run_id, release"
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"DELETE FROM {RELEASE_TABLE} WHERE (ocid, release_id) IN "  # noqa: S608
            "(SELECT ocid, release_id FROM ocds_changed WHERE existed)"
        )
        con.execute(
            f"INSERT INTO {RELEASE_TABLE} ({columns}) SELECT {columns} FROM {STAGE_TABLE} "  # noqa: S608
            "WHERE seq IN (SELECT seq FROM ocds_changed)"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _compile(con: Any, writer: _Writer, *, ocids_query: str, progress: bool, stages: Stages | None = None) -> None:
    """Merges the releases of each process named by ``ocids_query`` into its compiled release."""
    # ocdsmerge takes a third of a second to import: only when releases are compiled.
    from ocdsmerge.exceptions import OCDSMergeError, OCDSMergeWarning
    from ocdsmerge.merge import CompiledRelease
    from tqdm import tqdm

    report = writer.report
    rules = merge_rules()
    # Batches of at most COMPILE_BATCH processes and about BATCH_BYTES of release JSON.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE ocds_compile_queue AS
        SELECT ocid, row_number() OVER (ORDER BY ocid) AS n, sum(bytes) OVER (ORDER BY ocid) AS cumulative
          FROM (SELECT ocid, sum(strlen(release::VARCHAR)) AS bytes FROM {RELEASE_TABLE}
                 WHERE ocid IN ({ocids_query}) GROUP BY ocid)"""  # noqa: S608
    )
    (total,) = con.execute("SELECT count(*) FROM ocds_compile_queue").fetchone()
    bar = tqdm(total=total, unit="process", desc="compiling", disable=not progress, leave=False)
    advance = stages("compiling", int(total)) if stages is not None else None
    start, reached = 0, 0
    while True:
        end, end_bytes = con.execute(
            "SELECT max(n), max(cumulative) FROM ocds_compile_queue "
            "WHERE n > ? AND n <= ? AND (n = ? OR cumulative <= ?)",
            [start, start + COMPILE_BATCH, start + 1, reached + BATCH_BYTES],
        ).fetchone()
        if end is None:
            break
        rows = con.execute(
            f"""SELECT r.ocid, r.release_id, r.hash, r.date, r.release::VARCHAR, r.source_file, r.position, r.tag
                  FROM {RELEASE_TABLE} r JOIN ocds_compile_queue q USING (ocid)
                 WHERE q.n > ? AND q.n <= ? ORDER BY r.ocid, r.date, r.release_id""",  # noqa: S608
            [start, end],
        ).fetchall()
        grouped: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(row)
        existing = dict(
            con.execute(
                f"SELECT c.ocid, c.inputs_hash FROM {COMPILED_TABLE} c JOIN ocds_compile_queue q USING (ocid) "  # noqa: S608
                "WHERE q.n > ? AND q.n <= ?",
                [start, end],
            ).fetchall()
        )
        output: list[dict[str, Any]] = []
        for ocid, releases in grouped.items():
            # A record's compiledRelease stands in for its releases only when none of them was ingested.
            own = [row for row in releases if row[7] != '["compiled"]']
            if own and len(own) < len(releases):
                releases = own
            inputs_hash = hashlib.sha256("\n".join(sorted(row[2] for row in releases)).encode()).hexdigest()
            if existing.get(ocid) == inputs_hash:
                continue
            compiled = CompiledRelease(merge_rules=rules)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", OCDSMergeWarning)
                    for row in releases:
                        compiled.append(json.loads(row[4]))
                    result = compiled.asdict()
            except (OCDSMergeError, TypeError, ValueError, KeyError) as exc:
                writer.reject(
                    Rejection(
                        releases[-1][5] or "",
                        "compiled release",
                        "compile_failed",
                        f"The {len(releases)} release(s) of this process could not be merged ({type(exc).__name__}: "
                        f"{_short(str(exc), 200)}); they are stored, but there is no compiled release.",
                        None,
                        ocid,
                    )
                )
                continue
            for warning in caught:
                if issubclass(warning.category, OCDSMergeWarning):
                    writer.warnings.append(
                        {
                            "run_id": report.run_id,
                            "source_file": releases[-1][5],
                            "line": None,
                            "position": "compiled release",
                            "ocid": ocid,
                            "release_id": None,
                            "code": "merge_warning",
                            "path": "",
                            "message": _short(str(warning.message)),
                        }
                    )
                    report.warnings += 1
            output.append(
                {
                    "ocid": ocid,
                    "date": releases[-1][3],
                    "release_count": len(releases),
                    "inputs_hash": inputs_hash,
                    "run_id": report.run_id,
                    "compiled_release": json.dumps(result, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                }
            )
        if output:
            view_ocids = [row["ocid"] for row in output]
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {COMPILED_TABLE} WHERE ocid IN (SELECT unnest(?))", [view_ocids])  # noqa: S608
                _insert(con, COMPILED_TABLE, output)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            report.compiled += len(output)
        writer.flush()
        bar.update(len(grouped))
        if advance is not None:
            advance(len(grouped))
        start, reached = int(end), int(end_bytes)
    bar.close()


def _register_catalogue(con: Any, source: str) -> None:
    """Records the ingest's tables in the warehouse catalogue (the Django database)."""
    for table, description in TABLE_DESCRIPTIONS.items():
        (count,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        warehouse_register_table(
            name=table, row_count=int(count), engine="duckdb", description=description, source=source
        )


def procurement_ingest(
    *,
    paths: list[Path],
    progress: bool = False,
    recompile: bool = False,
    register: bool = True,
    stages: Stages | None = None,
) -> IngestReport:
    """Reads OCDS files or folders into the warehouse and compiles the processes they touch.

    ``recompile`` compiles every stored process again (after a change of schema or merge rules);
    ``register`` records the tables in the warehouse catalogue (needs the Django database).
    ``progress`` shows bars on a terminal; ``stages`` reports to a background job instead:
    ``stages("reading", None)`` and ``stages("compiling", total)`` each return the callable that
    counts the items done in that stage (releases read, processes compiled).
    Raises ``IngestError`` for a missing path, ``ConfigurationError`` for an unusable warehouse.
    """
    from tqdm import tqdm  # a tenth of a second to import: only when a run starts

    files = ocds_files(paths)
    report = IngestReport(run_id=uuid.uuid4().hex, files=len(files))
    started = datetime.now(UTC).replace(tzinfo=None)
    with warehouse_connection() as warehouse:
        con = ocds_connection(warehouse)
        report.warehouse = warehouse.location
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")  # DuckDB's own bar would print on standard output
        # Written table blocks leave memory only once checkpointed into the file: checkpoint often.
        con.execute("SET checkpoint_threshold = '32MB'")
        ocds_tables_create(con)
        con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        con.execute(f"CREATE TABLE {STAGE_TABLE} (seq BIGINT, {_RELEASE_COLUMNS})")
        con.execute(
            f"INSERT INTO {RUN_TABLE} (run_id, started_at, paths, files, status) "  # noqa: S608
            "VALUES (?, ?, ?, ?, 'running')",
            [report.run_id, started, json.dumps([str(path) for path in paths]), len(files)],
        )
        writer = _Writer(con, report)
        try:
            bar = tqdm(files, unit="file", desc="reading", disable=not progress, leave=False)
            advance = stages("reading", None) if stages is not None else None
            for path in bar:
                for item in _file_items(path):
                    report.read += 1
                    if advance is not None:
                        advance(1)
                    if isinstance(item, Rejection):
                        writer.reject(item)
                        continue
                    try:
                        checked = _check(item)
                    except Exception as exc:  # an input nobody foresaw must not end the run for the others
                        checked = Rejection(
                            item.source_file,
                            item.position,
                            "unusable",
                            f"The release could not be checked ({type(exc).__name__}: {_short(str(exc), 200)}).",
                            item.line,
                            payload=_payload(item.data),
                        )
                    if isinstance(checked, Rejection):
                        writer.reject(checked)
                    else:
                        writer.accept(item, checked)
            writer.flush()
            _resolve_duplicates(con, writer)
            everything = f"SELECT DISTINCT ocid FROM {RELEASE_TABLE}"  # noqa: S608
            ocids = everything if recompile else "SELECT DISTINCT ocid FROM ocds_changed"
            _compile(con, writer, ocids_query=ocids, progress=progress, stages=stages)
            writer.flush()
            (report.processes,) = con.execute(f"SELECT count(*) FROM {COMPILED_TABLE}").fetchone()  # noqa: S608
            status = "finished"
        except BaseException:
            status = "failed"
            raise
        finally:
            with contextlib.suppress(Exception):
                writer.flush()
            con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            con.execute(
                f"""UPDATE {RUN_TABLE} SET finished_at = ?, releases_read = ?, accepted = ?, rejected = ?,
                    warnings = ?, new = ?, replaced = ?, unchanged = ?, duplicates = ?, compiled = ?, status = ?
                    WHERE run_id = ?""",  # noqa: S608
                [
                    datetime.now(UTC).replace(tzinfo=None),
                    report.read,
                    report.accepted,
                    report.rejected,
                    report.warnings,
                    report.new,
                    report.replaced,
                    report.unchanged,
                    report.duplicates,
                    report.compiled,
                    status,
                    report.run_id,
                ],
            )
        if register:
            try:
                _register_catalogue(con, ", ".join(str(path) for path in paths))
            except DatabaseError as exc:  # the data is in the warehouse; only the catalogue entry is missing
                logger.warning("the OCDS tables could not be recorded in the warehouse catalogue: %s", exc)
    return report


# --- reading the results -------------------------------------------------------------------------


def ingest_rejections_iter(*, run_id: str) -> Iterator[dict[str, Any]]:
    """The rejections of one run, in the order they were written (payload left out)."""
    columns = ["source_file", "line", "position", "ocid", "release_id", "code", "reason"]
    with warehouse_connection() as warehouse:
        con = ocds_connection(warehouse)
        ocds_tables_create(con)
        query = f"SELECT {', '.join(columns)} FROM {REJECTION_TABLE} WHERE run_id = ?"  # noqa: S608
        result = con.execute(query, [run_id])
        while True:
            rows = result.fetchmany(BATCH_SIZE)
            if not rows:
                return
            for row in rows:
                yield dict(zip(columns, row, strict=True))


def ingest_rejections_write(*, run_id: str, path: Path) -> int:
    """Writes a run's rejections to ``path``: CSV if it ends in .csv, else JSON Lines; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".csv":
            writer: csv.DictWriter[str] | None = None
            for row in ingest_rejections_iter(run_id=run_id):
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                count += 1
            if writer is None:
                handle.write("source_file,line,position,ocid,release_id,code,reason\n")
        else:
            for row in ingest_rejections_iter(run_id=run_id):
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    return count


__all__ = [
    "IngestError",
    "IngestReport",
    "REJECTION_CODES",
    "Rejection",
    "ingest_rejections_iter",
    "ingest_rejections_write",
    "ocds_files",
    "procurement_ingest",
]
