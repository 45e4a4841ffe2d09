"""Writes the files the importers' property tests feed them: records as a JSON array or as JSON Lines."""

from __future__ import annotations

from pathlib import Path


def write_records(path: Path, items: list[bytes], *, lines: bool, truncate: bytes = b"") -> None:
    """``items`` (each one record's bytes, good or bad) as JSON Lines or as one JSON array; ``truncate``, the
    start of one more record, makes the array stop in the middle of it."""
    if lines:
        path.write_bytes(b"\n".join(items) + b"\n")
        return
    text = b"[\n" + b",\n".join(items) + b"\n]"
    if truncate:  # the file stops in the middle of a record
        text = text[:-2] + (b",\n" if items else b"") + truncate
    path.write_bytes(text)
