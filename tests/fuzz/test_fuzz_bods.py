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
from tests.fuzz.conftest import fuzz_settings
from tests.ownership.test_ingest import entity, holds, person

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

SEED = json.dumps([entity("c1"), person("p1"), holds("r1", "p1", "c1", 50)], indent=1).encode()
JSON_BYTES = st.sampled_from(list(b'[]{}",:0123456789.eE+-\\ \n\xff\xc3tfnu'))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The seed package with a few bytes replaced, inserted or deleted, or cut short."""
    data = bytearray(SEED)
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        if action == "replace":
            data[at] = draw(JSON_BYTES)
        elif action == "insert":
            data[at:at] = bytes(draw(st.lists(JSON_BYTES, min_size=1, max_size=20)))
        elif action == "delete" and len(data) > 1:
            del data[at]
        elif action == "cut":
            del data[at:]
        if not data:
            data = bytearray(b"[")
    return bytes(data)


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
@given(content=mutated(), suffix=st.sampled_from([".json", ".jsonl"]))
def test_mutated_bods_never_escapes(tmp_path: Path, content: bytes, suffix: str) -> None:
    _ingest(tmp_path, content, suffix)
