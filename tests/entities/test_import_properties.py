"""FtM import never loses good entities: each bad record (a number too big, JSON 10 000 levels deep, invalid
UTF-8, a wrong type, a truncated array) is reported with its place, every good entity is stored once."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probity.entities import services
from probity.entities.models import Entity
from tests.record_files import write_records

pytestmark = pytest.mark.django_db

BAD_RECORDS: dict[str, bytes] = {
    "float_overflow": b'{"id": "bad-f", "schema": "Person", "properties": {"name": ["A B"], "weight": [1e400]}}',
    "huge_integer": b'{"id": "bad-i", "schema": "Person", "properties": {"name": [' + b"9" * 5000 + b"]}}",
    "deep": b'{"id": "bad-d", "schema": "Person", "properties": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "invalid_utf8": b'{"id": "bad-u", "schema": "Person", "properties": {"name": ["\xff\xfe"]}}',
    "wrong_type": b'{"id": "bad-t", "schema": "Person", "properties": {"name": {"first": "A"}}}',
    "id_type": b'{"id": 17, "schema": "Person", "properties": {"name": ["A B"]}}',
    "schema_type": b'{"id": "bad-s", "schema": ["Person"], "properties": {}}',
    "nan": b'{"id": "bad-n", "schema": "Person", "properties": {"name": [NaN]}}',
    "nul": b'{"id": "bad-z", "schema": "Person", "properties": {"name": ["A\\u0000B"]}}',
    "syntax": b'{"id": "bad-x", "schema": "Person", "properties": {"name": ["A"]]}',
}


def good(n: int) -> dict[str, Any]:
    if n % 2:
        return {"id": f"good-{n}", "schema": "Person", "properties": {"name": [f"Person {n}"]}}
    return {"id": f"good-{n}", "schema": "Company", "properties": {"name": [f"Company {n} Ltd"]}}


CUT = b'{"id": "cut'  # the start of a record the truncated array stops in


def write(path: Path, items: list[bytes], lines: bool, truncate: bool = False) -> None:
    write_records(path, items, lines=lines, truncate=CUT if truncate else b"")


def stored(dataset: str) -> list[str]:
    return list(Entity.objects.filter(dataset=dataset).values_list("ftm_id", flat=True))


@pytest.mark.parametrize("lines", [False, True], ids=["array", "json-lines"])
def test_every_kind_of_bad_record_is_reported_and_its_neighbours_stored(tmp_path: Path, lines: bool) -> None:
    items: list[bytes] = []
    goods: list[str] = []
    bad: dict[int, str] = {}
    for number, (kind, text) in enumerate(BAD_RECORDS.items()):
        items.append(json.dumps(good(number)).encode())
        goods.append(f"good-{number}")
        items.append(text)
        bad[len(items)] = kind
    path = tmp_path / ("mixed.ftm.jsonl" if lines else "mixed.json")
    write(path, items, lines)
    report = services.ftm_import(source=path, dataset="mixed")
    assert sorted(stored("mixed")) == sorted(goods)
    assert {error["record"] for error in report.errors} == set(bad)
    reasons = {bad[error["record"]]: error["reason"] for error in report.errors}
    assert "1e400 is too large" in reasons["float_overflow"]
    assert "5000 characters" in reasons["huge_integer"]
    assert "nested 10001 levels deep" in reasons["deep"]
    assert "not valid UTF-8" in reasons["invalid_utf8"]
    assert reasons["id_type"] == "the entity has no id"
    assert "NUL" in reasons["nul"]
    if not lines:
        assert all(error["line"] == error["record"] + 1 for error in report.errors)  # one record a line after "["
    again = services.ftm_import(source=path, dataset="mixed")
    assert sorted(stored("mixed")) == sorted(goods)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(goods))


def test_a_truncated_array_keeps_the_entities_before_the_break_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    write(path, [json.dumps(good(n)).encode() for n in range(3)], lines=False, truncate=True)
    report = services.ftm_import(source=path, dataset="cut")
    assert sorted(stored("cut")) == ["good-0", "good-1", "good-2"]
    assert report.errors == [
        {
            "line": 5,
            "record": 4,
            "id": None,
            "reason": "the file ends in the middle of this record; the rest of the file was not read",
        }
    ]


def test_the_command_goes_on_with_later_files_and_exits_1_without_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    write(folder / "a.ftm.jsonl", [json.dumps(good(1)).encode(), BAD_RECORDS["invalid_utf8"]], lines=True)
    write(folder / "b.json", [json.dumps(good(2)).encode(), BAD_RECORDS["deep"]], lines=False)
    write(folder / "c.ftm.jsonl", [json.dumps(good(3)).encode()], lines=True)
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("entities", "import-ftm", str(folder), verbosity=0, stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert sorted(Entity.objects.values_list("ftm_id", flat=True)) == ["good-1", "good-2", "good-3"]
    printed = err.getvalue()
    assert "a.ftm.jsonl: line 2 (no id): the record is not valid UTF-8 text" in printed
    assert "b.json: record 2 (line 3) (no id): the record is nested 10001 levels deep" in printed


RECORD = st.one_of(
    st.integers(min_value=0, max_value=10_000).map(lambda n: ("good", n)),
    st.sampled_from(sorted(BAD_RECORDS)).map(lambda kind: ("bad", kind)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(records=st.lists(RECORD, max_size=12), lines=st.booleans(), truncate=st.booleans())
def test_mixed_files_store_each_good_entity_once_and_report_each_bad_one(
    tmp_path: Path, records: list[tuple[str, Any]], lines: bool, truncate: bool
) -> None:
    dataset = uuid.uuid4().hex[:12]
    Entity.objects.all().delete()  # ids are global: each example starts from no entity
    items: list[bytes] = []
    goods: set[str] = set()
    bad: set[int] = set()
    for kind, value in records:
        if kind == "good":
            entity = good(value)
            if entity["id"] in goods:
                continue
            goods.add(entity["id"])
            items.append(json.dumps(entity).encode())
        else:
            items.append(BAD_RECORDS[value])
            bad.add(len(items))
    truncate = truncate and not lines
    if truncate:
        bad.add(len(items) + 1)
    path = tmp_path / f"{dataset}.{'jsonl' if lines else 'json'}"
    write(path, items, lines, truncate)
    report = services.ftm_import(source=path, dataset=dataset)
    assert sorted(stored(dataset)) == sorted(goods)
    assert {error["record"] for error in report.errors} == bad
    assert report.created == len(goods)
    again = services.ftm_import(source=path, dataset=dataset)
    assert sorted(stored(dataset)) == sorted(goods) and again.unchanged == len(goods)
