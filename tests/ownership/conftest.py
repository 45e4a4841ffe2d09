"""Fixtures of the ownership tests: ingest a BODS file, written from Python values or taken from the examples."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from probity.ownership.services import IngestResult, ownership_ingest


@pytest.fixture
def bods_examples(shared_data: Path) -> Path:
    folder = shared_data / "bods" / "examples"
    if not folder.is_dir():
        pytest.skip(f"BODS examples folder {folder} is absent")
    return folder


@pytest.fixture
def ingest_statements(db: None, tmp_path: Path) -> Callable[..., IngestResult]:
    """Writes statements (or raw text) to a file and ingests it into ``dataset``."""
    counter = iter(range(1, 1000))

    def ingest(statements: list[Any] | str, dataset: str = "test", lines: bool = False) -> IngestResult:
        path = tmp_path / f"statements-{next(counter)}.{'jsonl' if lines else 'json'}"
        if isinstance(statements, str):
            path.write_text(statements, encoding="utf-8")
        elif lines:
            path.write_text("\n".join(json.dumps(s) for s in statements) + "\n", encoding="utf-8")
        else:
            path.write_text(json.dumps(statements), encoding="utf-8")
        return ownership_ingest(path=path, dataset=dataset)

    return ingest
