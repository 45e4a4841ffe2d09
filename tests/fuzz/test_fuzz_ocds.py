"""Fuzz target of the OCDS reader (``probity.procurement.ingest``): arbitrary bytes, and valid release
packages and JSON Lines with bytes flipped, cut, repeated or replaced by absurd numbers, are read as
files; every item the reader yields is either a candidate release that the checks accept or reject, or a
rejection with a plain reason. No exception escapes."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probity.procurement.ingest import Rejection, _Accepted, _Candidate, _check, _file_items
from tests.fuzz.conftest import fuzz_settings

pytestmark = pytest.mark.fuzz

RELEASE = {
    "ocid": "ocds-fuzz-1",
    "id": "r1",
    "date": "2021-03-01T10:00:00+01:00",
    "tag": ["award"],
    "tender": {"id": "t", "value": {"amount": 1200.5, "currency": "EUR"}, "procurementMethod": "open"},
    "awards": [{"id": "a", "status": "active", "suppliers": [{"id": "s", "name": "S"}], "value": {"amount": 9}}],
}
SEEDS = [
    json.dumps({"version": "1.1", "releases": [RELEASE, {**RELEASE, "id": "r2"}]}).encode(),
    (json.dumps(RELEASE) + "\n" + json.dumps({**RELEASE, "id": "r2"}) + "\n").encode(),
    json.dumps({"version": "1.1", "records": [{"ocid": "ocds-fuzz-1", "releases": [RELEASE]}]}).encode(),
    json.dumps({"releases": [RELEASE], "version": "1.0"}).encode(),
]
ODD = [b"1e400", b"-1e400", b"9" * 401, b"9" * 5000, b"NaN", b"Infinity", b"[" * 3000, b"{", b"\xff\xfe", b'"\\ud800"']


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete", "repeat"]))
        if action == "flip" and data:
            data[where] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[where:]
        elif action == "insert":
            data[where:where] = draw(st.sampled_from(ODD) | st.binary(max_size=8))
        elif action == "delete":
            del data[where : where + draw(st.integers(1, 20))]
        elif action == "repeat":
            data[where:where] = data[where : where + draw(st.integers(1, 40))]
    return bytes(data)


def read_everything(content: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
        for item in _file_items(path):
            if isinstance(item, Rejection):
                assert item.reason and "Traceback" not in item.reason
                continue
            assert isinstance(item, _Candidate)
            checked = _check(item)
            assert isinstance(checked, _Accepted | Rejection)
            if isinstance(checked, Rejection):
                assert checked.reason
            else:
                json.loads(checked.release)  # what is stored is valid JSON


@fuzz_settings
@given(content=st.binary(max_size=2_000), name=st.sampled_from(["a.json", "a.jsonl", "a.json.gz"]))
def test_arbitrary_bytes_never_escape_the_reader(content: bytes, name: str) -> None:
    read_everything(content, name)


@fuzz_settings
@given(content=mutated(), name=st.sampled_from(["a.json", "a.jsonl", "a.json.gz"]))
def test_mutated_ocds_never_escapes_the_reader(content: bytes, name: str) -> None:
    read_everything(content, name)
