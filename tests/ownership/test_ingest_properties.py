"""BODS ingest never loses good statements: each bad one (a number too big, JSON 10 000 levels deep,
invalid UTF-8, a wrong type, a truncated array) is reported with its place, every good one is stored once."""

from __future__ import annotations

import copy
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probity.ownership.models import IngestIssue, Statement
from probity.ownership.services import ownership_ingest, statement_check_fast
from probity.standards import bods
from tests.ownership.test_ingest import entity, person
from tests.record_files import write_records

# Bad records as the text a publisher's file holds; each must be rejected on its own.
BAD_RECORDS: dict[str, bytes] = {
    "float_overflow": b'{"statementId": "' + b"b" * 32 + b'", "recordDetails": {"share": 1e400}}',
    "huge_integer": b'{"statementId": "' + b"c" * 32 + b'", "n": ' + b"7" * 5000 + b"}",
    "deep": b'{"statementId": "' + b"d" * 32 + b'", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "invalid_utf8": b'{"statementId": "' + b"e" * 32 + b'", "recordId": "\xff\xfe\xc3"}',
    "wrong_type": json.dumps({**entity("wt"), "recordDetails": ["not", "an", "object"]}).encode(),
    "old_wrong_type": json.dumps(
        {"statementID": "old-1", "statementType": "entityStatement", "replacesStatements": 5}
    ).encode(),
    "old_publication_text": json.dumps({"statementID": "old-2", "publicationDetails": "2024"}).encode(),
    "nan": b'{"statementId": "' + b"f" * 32 + b'", "n": NaN}',
    "syntax": b'{"statementId": "' + b"g" * 32 + b'", "n": tru}',
    "nul": b'{"statementId": "' + b"h" * 32 + b'", "n": "a\\u0000b"}',
    "not_an_object": b'"just text"',
}


def good(n: int, tag: str) -> dict[str, Any]:
    statement = entity(f"{tag}-{n}") if n % 2 else person(f"{tag}-{n}")
    statement["statementId"] = f"{tag}{n:0>24}"[:64].ljust(32, "0")
    return statement


CUT = b'{"statementId": "cut'  # the start of a record the truncated array stops in


def write(path: Path, items: list[bytes], lines: bool, truncate: bool = False) -> None:
    write_records(path, items, lines=lines, truncate=CUT if truncate else b"")


def stored(dataset: str) -> list[str]:
    return list(Statement.objects.filter(dataset=dataset).values_list("statement_id", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("lines", [False, True], ids=["array", "json-lines"])
def test_every_kind_of_bad_statement_is_reported_and_its_neighbours_stored(tmp_path: Path, lines: bool) -> None:
    items: list[bytes] = []
    goods: list[str] = []
    bad_positions: dict[int, str] = {}
    for number, (kind, text) in enumerate(BAD_RECORDS.items()):
        statement = good(number, "nb")
        items.append(json.dumps(statement).encode())
        goods.append(statement["statementId"])
        items.append(text)
        bad_positions[len(items)] = kind
    path = tmp_path / ("mixed.jsonl" if lines else "mixed.json")
    write(path, items, lines)
    result = ownership_ingest(path=path, dataset="mixed")
    assert sorted(stored("mixed")) == sorted(goods)
    rejected = dict(result.batch.issues.filter(severity=IngestIssue.Severity.ERROR).values_list("position", "code"))
    assert set(rejected) == set(bad_positions), (rejected, bad_positions)
    assert result.exit_code == 1 and result.errors == len(BAD_RECORDS)
    messages = dict(result.batch.issues.values_list("position", "message"))
    by_kind = {kind: messages[position] for position, kind in bad_positions.items()}
    assert "1e400 is too large" in by_kind["float_overflow"]
    assert "5000 characters" in by_kind["huge_integer"]
    assert "nested 10001 levels deep" in by_kind["deep"]
    assert "not valid UTF-8" in by_kind["invalid_utf8"]
    assert "NUL" in by_kind["nul"]
    assert "could not be upgraded" in by_kind["old_wrong_type"]
    if not lines:  # an array's statements are named by their line too
        assert messages[2].startswith("line 3: ")
    again = ownership_ingest(path=path, dataset="mixed")
    assert sorted(stored("mixed")) == sorted(goods)  # re-running never duplicates
    assert again.batch.statements_unchanged == len(goods) and again.batch.statements_stored == 0


@pytest.mark.django_db
def test_a_truncated_array_keeps_the_statements_before_the_break_and_names_it(tmp_path: Path) -> None:
    goods = [good(n, "tr") for n in range(3)]
    path = tmp_path / "cut.json"
    write(path, [json.dumps(s).encode() for s in goods], lines=False, truncate=True)
    result = ownership_ingest(path=path, dataset="cut")
    assert sorted(stored("cut")) == sorted(s["statementId"] for s in goods)
    issue = result.batch.issues.get(severity=IngestIssue.Severity.ERROR)
    assert issue.position == 4 and issue.code == "invalid_json"
    assert issue.message == ("line 5: the file ends in the middle of this record; the rest of the file was not read")
    assert result.exit_code == 1


@pytest.mark.django_db
def test_the_command_goes_on_with_later_files_and_exits_1_without_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "register"
    folder.mkdir()
    write(folder / "a.json", [json.dumps(good(1, "fa")).encode(), BAD_RECORDS["deep"]], lines=False)
    write(folder / "b.json", [json.dumps(good(2, "fb")).encode(), BAD_RECORDS["huge_integer"]], lines=False)
    write(folder / "c.jsonl", [json.dumps(good(3, "fc")).encode()], lines=True)
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("ownership", "ingest", str(folder), "--dataset", "folder", verbosity=0, stdout=out)
    assert caught.value.returncode == 1
    assert len(stored("folder")) == 3
    printed = out.getvalue()
    assert "a.json: 2 read, 1 stored" in printed and "c.jsonl: 1 read, 1 stored" in printed
    assert "error #2" in printed and "nested 10001 levels deep" in printed
    assert "Traceback" not in printed


RECORD = st.one_of(
    st.integers(min_value=0, max_value=10_000).map(lambda n: ("good", n)),
    st.sampled_from(sorted(BAD_RECORDS)).map(lambda kind: ("bad", kind)),
)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(records=st.lists(RECORD, max_size=12), lines=st.booleans(), truncate=st.booleans())
def test_mixed_files_store_each_good_statement_once_and_report_each_bad_one(
    tmp_path: Path, records: list[tuple[str, Any]], lines: bool, truncate: bool
) -> None:
    dataset = uuid.uuid4().hex[:12]
    items: list[bytes] = []
    goods: set[str] = set()
    bad_positions: set[int] = set()
    for kind, value in records:
        if kind == "good":
            statement = good(value, "pg")
            if statement["statementId"] in goods:
                continue
            goods.add(statement["statementId"])
            items.append(json.dumps(statement).encode())
        else:
            items.append(BAD_RECORDS[value])
            bad_positions.add(len(items))
    truncate = truncate and not lines
    if truncate:
        bad_positions.add(len(items) + 1)
    path = tmp_path / f"{dataset}.{'jsonl' if lines else 'json'}"
    write(path, items, lines, truncate)
    result = ownership_ingest(path=path, dataset=dataset)
    assert sorted(stored(dataset)) == sorted(goods)
    errors = set(result.batch.issues.filter(severity=IngestIssue.Severity.ERROR).values_list("position", flat=True))
    assert errors == bad_positions
    assert result.exit_code == (1 if bad_positions else 0)
    ownership_ingest(path=path, dataset=dataset)
    assert sorted(stored(dataset)) == sorted(goods)


def _examples(folder: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        found.extend(document if isinstance(document, list) else document.get("statements", [document]))
    return found


MUTATIONS = st.sampled_from(["drop", "number", "text", "list", "null", "negative", "code", "other_code"])
# Codes of other codelists: each is a known code somewhere, so it can pass one test and fail another
# (an entity address of type "placeOfBirth", an "arrangement" whose subtype is "stateAgency" …).
OTHER_CODES = ["placeOfBirth", "registered", "arrangement", "stateAgency", "trust", "entity", "noBeneficialOwners"]


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_the_compiled_validator_agrees_with_the_full_one(bods_examples: Path, data: st.DataObject) -> None:
    """A statement the compiled validator accepts is one the full validator has nothing to say about, and
    every statement it refuses gets the full validator's own messages."""
    statement = copy.deepcopy(data.draw(st.sampled_from(_examples(bods_examples))))
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        node: Any = statement
        while isinstance(node, dict | list) and node and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            if not isinstance(node[key], dict | list) or not node[key]:
                break
            node = node[key]
        if not isinstance(node, dict) or not node:
            continue
        key = data.draw(st.sampled_from(sorted(node)))
        change = data.draw(MUTATIONS)
        if change == "drop":
            del node[key]
        elif change == "other_code":
            node[key] = data.draw(st.sampled_from(OTHER_CODES))
        else:
            node[key] = {"number": 7, "text": "x", "list": ["x"], "null": None, "negative": -5, "code": "nope"}[change]
    assert statement_check_fast(statement) == bods.statement_check(statement)


def _with_unknown_codes(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Copies of ``statement`` with one codelist value (a string field named like a coded one) changed."""
    coded = {"type", "subtype", "reason", "personType", "recordStatus", "directOrIndirect", "motivation", "status"}

    def walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in coded and isinstance(value, str):
                    yield (*path, key)
                yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, (*path, index))

    for path in walk(statement, ()):
        for code in ("nope", *OTHER_CODES):
            changed = copy.deepcopy(statement)
            node: Any = changed
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = code
            yield changed


def test_codelist_warnings_come_without_the_full_validator(
    bods_examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement whose only problems are codelist values gets the full validator's warnings, in its
    order and words, without the full validator being run (it cost most of a re-ingest's validation)."""
    cases = [
        (changed, bods.statement_check(changed))
        for statement in _examples(bods_examples)
        for changed in _with_unknown_codes(statement)
    ]
    warned = [(changed, expected) for changed, expected in cases if expected.ok and expected.warnings]
    assert len(warned) > 100

    def refuse(statement: Any) -> bods.StatementCheck:
        raise AssertionError("the full validator was asked")

    for changed, expected in cases:  # structural problems still get the full validator's messages
        if not expected.ok:
            assert statement_check_fast(changed) == expected
    monkeypatch.setattr(bods, "statement_check", refuse)
    for changed, expected in warned:
        if not any(code == "share_out_of_range" for code, _ in expected.warnings):
            assert statement_check_fast(changed) == expected


def test_a_code_allowed_in_general_but_not_for_the_record_is_reported(bods_examples: Path) -> None:
    """An entity's address of type "placeOfBirth" is a known address type but not one an entity may
    have: the full validator warns, and so must the fast check (it used to ignore the entity's own list)."""
    statement = next(s for s in _examples(bods_examples) if s.get("recordType") == "entity")
    statement = copy.deepcopy(statement)
    statement["recordDetails"]["addresses"] = [{"type": "placeOfBirth", "address": "1 Main Street"}]
    expected = bods.statement_check(statement)
    assert expected.warnings == [
        ("unknown_code", "recordDetails/addresses/0/type: 'placeOfBirth' is not in the codelist")
    ]
    assert statement_check_fast(statement) == expected
