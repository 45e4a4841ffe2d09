"""Fuzz target: the BODS ingest (``probity.ownership.services.ownership_ingest``) on arbitrary bytes and on
mutated BODS JSON; every input is read or reported record by record, nothing escapes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probity.ownership.models import IngestIssue, Statement
from probity.ownership.services import ownership_ingest
from tests.fuzz.conftest import fuzz_settings, mutated
from tests.ownership.test_ingest import entity, holds, person

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

SEED = json.dumps([entity("c1"), person("p1"), holds("r1", "p1", "c1", 50)], indent=1).encode()


def _ingest(tmp_path: Path, content: bytes, suffix: str) -> None:
    dataset = uuid.uuid4().hex[:12]
    path = tmp_path / f"{dataset}{suffix}"
    path.write_bytes(content)
    result = ownership_ingest(path=path, dataset=dataset)
    batch = result.batch
    assert batch.statements_read == batch.statements_stored + batch.statements_unchanged + batch.statements_rejected
    assert Statement.objects.filter(dataset=dataset).count() == batch.statements_stored
    assert IngestIssue.objects.filter(batch=batch, severity="error").count() == batch.statements_rejected


@fuzz_settings
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".json", ".jsonl"]))
def test_arbitrary_bytes_never_escape(tmp_path: Path, content: bytes, suffix: str) -> None:
    _ingest(tmp_path, content, suffix)


@fuzz_settings
@given(content=mutated(SEED, b"["), suffix=st.sampled_from([".json", ".jsonl"]))
def test_mutated_bods_never_escapes(tmp_path: Path, content: bytes, suffix: str) -> None:
    _ingest(tmp_path, content, suffix)
