"""Fuzz target: the declaration import's record readers (JSON array or object, JSON Lines, the long CSV).

Arbitrary bytes and mutated declarations go in; every record comes out either read (a JSON value within
the bounds: finite numbers below 10^15, at most 64 levels, writable again as JSON) or rejected with a short
plain reason. No exception escapes the reader.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probity.declarations.services import MAX_DEPTH, NUMBER_LIMIT, _csv_records, _json_records
from tests.declarations.conftest import BASE
from tests.fuzz.conftest import fuzz_settings

pytestmark = pytest.mark.fuzz

SEED = json.dumps([BASE, {**BASE, "external_id": "second"}], indent=1).encode()
CSV_SEED = (
    b"declaration_id,declarant_id,declarant_name,declaration_type,year,position_title,body_name,"
    b"reporting_currency,section,owner,kind,description,amount,currency,share_percent,date\n"
    b"D1,P1,Ana,annual,2023,Clerk,Ministry,EUR,real_estate,declarant,apartment,Flat,100000,EUR,50,2010-01-01\n"
    b"D1,P1,Ana,annual,2023,Clerk,Ministry,EUR,income,declarant,salary,Job,4000,EUR,,\n"
    b"D2,P2,Bo,annual,2023,Clerk,Ministry,EUR,,,,,,,,\n"
)
NASTY = [b"1e400", b"9" * 5000, b"[" * 3000, b"]", b"}", b'"', b"\\", b"\xff", b"\x00", b"\\u0000", b"\\ud800", b"NaN"]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few cuts, insertions and replacements (nasty fragments or random bytes)."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "insert", "replace", "truncate"]))
        piece = draw(st.one_of(st.sampled_from(NASTY), st.binary(min_size=1, max_size=12)))
        if action == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = piece
        elif action == "replace":
            data[at : at + len(piece)] = piece
        else:
            del data[at:]
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


def _bounded(value: Any, depth: int = 0) -> None:
    assert depth <= MAX_DEPTH
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _bounded(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _bounded(item, depth + 1)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        assert math.isfinite(value) and -NUMBER_LIMIT < value < NUMBER_LIMIT


def _read(name: str, data: bytes) -> Iterator[tuple[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield from (_csv_records(path) if name.endswith(".csv") else _json_records(path))


def _assert_contained(name: str, data: bytes) -> None:
    for label, record in _read(name, data):
        assert isinstance(label, str) and label.startswith(name)
        if isinstance(record, Exception):
            assert isinstance(record, ValueError)
            assert str(record) and len(str(record)) < 400 and "Traceback" not in str(record)
        elif name.endswith(".csv"):
            content, rows = record
            json.dumps(content, allow_nan=False)
            assert isinstance(rows, dict)
        else:
            _bounded(record)
            json.dumps(record, allow_nan=False)


@fuzz_settings
@given(data=st.binary(max_size=2000), name=st.sampled_from(["any.json", "any.jsonl", "any.csv"]))
def test_arbitrary_bytes_never_escape_the_readers(data: bytes, name: str) -> None:
    _assert_contained(name, data)


@fuzz_settings
@given(data=mutated(SEED), name=st.sampled_from(["mutated.json", "mutated.jsonl"]))
def test_mutated_declaration_json_never_escapes_the_readers(data: bytes, name: str) -> None:
    if name.endswith(".jsonl"):
        data = data.replace(b"\n", b" ").replace(b"}, {", b"}\n{")
    _assert_contained(name, data)


@fuzz_settings
@given(data=mutated(CSV_SEED))
def test_mutated_csv_never_escapes_the_reader(data: bytes) -> None:
    _assert_contained("mutated.csv", data)


@fuzz_settings
@given(values=st.lists(JSON_VALUES, max_size=5))
def test_any_json_values_are_read_or_rejected(values: list[Any]) -> None:
    text = json.dumps(values).encode()
    _assert_contained("values.json", text)
    _assert_contained("values.jsonl", b"\n".join(json.dumps(v).encode() for v in values))
