"""Fuzz target: the FollowTheMoney import (``probity.entities.services.ftm_import``) on arbitrary bytes and
on mutated FtM JSON Lines; every input is read or reported record by record, nothing escapes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probity.entities import services
from probity.entities.models import Entity
from tests.fuzz.conftest import fuzz_settings, mutated

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

SEED = "\n".join(
    json.dumps(entity)
    for entity in [
        {"id": "p-1", "schema": "Person", "properties": {"name": ["Anna Berg"], "birthDate": ["1980-01-02"]}},
        {"id": "c-1", "schema": "Company", "properties": {"name": ["Berg GmbH"], "country": ["de"]}},
        {"id": "o-1", "schema": "Ownership", "properties": {"owner": ["p-1"], "asset": ["c-1"], "percentage": ["50"]}},
    ]
).encode()


def _import(tmp_path: Path, content: bytes, suffix: str) -> None:
    Entity.objects.all().delete()  # ids are global: each example starts from no entity
    dataset = uuid.uuid4().hex[:12]
    path = tmp_path / f"{dataset}{suffix}"
    path.write_bytes(content)
    report = services.ftm_import(source=path, dataset=dataset)
    assert report.read == report.created + report.updated + report.unchanged + report.rejected
    assert Entity.objects.filter(dataset=dataset).count() == report.created  # a repeated id updates its entity


@fuzz_settings
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".json", ".ftm.jsonl"]))
def test_arbitrary_bytes_never_escape(tmp_path: Path, content: bytes, suffix: str) -> None:
    _import(tmp_path, content, suffix)


@fuzz_settings
@given(content=mutated(SEED, b"{"), suffix=st.sampled_from([".json", ".ftm.jsonl"]))
def test_mutated_ftm_never_escapes(tmp_path: Path, content: bytes, suffix: str) -> None:
    _import(tmp_path, content, suffix)
