"""Property tests of ``declaration_import`` (hypothesis): mixed good and bad records, in JSON Lines, a JSON array
(possibly cut off at the end) and the long CSV format.

Whatever the mix: every good declaration is stored exactly once (a repeated one is "unchanged"), every bad
record is reported once at its own line, item or row, and re-running the import stores nothing more.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probity.declarations.models import Declaration, DeclarationVersion
from probity.declarations.services import declaration_import
from tests.declarations.conftest import BASE

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    database=None,
)


def good_record(n: int, amount: int, year: int) -> dict[str, Any]:
    """The fixtures' valid declaration, as declarant ``n``'s own (one declaration per declarant)."""
    record = copy.deepcopy(BASE)
    record["external_id"] = f"good-{n}"
    record["declarant"] = {"id": f"person-{n}", "name": f"Person {n}"}
    record["period"]["year"] = year
    record["cash_and_accounts"][0]["amount"]["amount"] = str(amount)
    return record


def _nested(depth: int) -> bytes:
    return b'{"schema_version": "1.0", "declarant": ' + b"[" * depth + b"]" * depth + b"}"


_WRONG = st.one_of(st.integers(-5, 5), st.text(max_size=5), st.lists(st.integers(), min_size=1, max_size=2), st.none())

# Each strategy gives the bytes of one record that must be rejected.
BAD_RECORDS = st.one_of(
    st.integers(400, 5000).map(lambda e: b'{"period": {"year": 1e' + str(e).encode() + b"}}"),
    st.integers(16, 6000).map(lambda n: b'{"schema_version": "1.0", "period": {"year": ' + b"7" * n + b"}}"),
    st.integers(65, 12_000).map(_nested),
    st.binary(min_size=1, max_size=8).map(
        lambda b: b'{"declarant": {"name": "' + b"\xff" + b.replace(b"\n", b"") + b'"}}'
    ),
    st.tuples(st.sampled_from(["period", "declarant", "position", "real_estate", "income"]), _WRONG).map(
        lambda pair: json.dumps({**good_record(999, 1, 2020), "external_id": "wrong", pair[0]: pair[1]}).encode()
    ),
    st.sampled_from([b"1", b'"text"', b"null", b"[]", b'{"declarant": {"id": "x", "name": "A\\u0000"}}']),
)

ENTRIES = st.lists(
    st.one_of(
        st.tuples(st.just("good"), st.integers(0, 10**12), st.integers(2010, 2023)),
        st.tuples(st.just("bad"), BAD_RECORDS),
        st.just(("again",)),  # the previous good record once more: unchanged, not a second version
    ),
    min_size=1,
    max_size=12,
)


def _plan(entries: list[tuple[Any, ...]]) -> tuple[list[bytes], list[int], set[str], int]:
    """The records' bytes, the positions of the bad ones, the good external ids and how many repeat one."""
    records: list[bytes] = []
    bad: list[int] = []
    good: set[str] = set()
    repeats = 0
    last: bytes | None = None
    for entry in entries:
        if entry[0] == "good":
            last = json.dumps(good_record(len(records), entry[1], entry[2])).encode()
            good.add(f"good-{len(records)}")
            records.append(last)
        elif entry[0] == "bad":
            bad.append(len(records))
            records.append(entry[1])
        elif last is not None:
            records.append(last)
            repeats += 1
    return records, bad, good, repeats


def _stored() -> list[str]:
    return sorted(str(key) for key in Declaration.objects.values_list("external_id", flat=True))


def _check(folder: Path, bad: list[int], good: set[str], repeats: int, where: str) -> None:
    report = declaration_import(path=folder)
    assert _stored() == sorted(good), report.errors
    assert DeclarationVersion.objects.count() == len(good)
    assert report.created == len(good) and report.unchanged == repeats, report
    positions = sorted(int(m.group(1)) for e in report.errors if (m := re.match(where, e)))
    assert positions == bad and len(report.errors) == len(bad), report.errors
    again = declaration_import(path=folder)
    assert again.created == 0 and again.unchanged == len(good) + repeats
    assert DeclarationVersion.objects.count() == len(good)


@PROPERTY_SETTINGS
@given(entries=ENTRIES)
def test_json_lines_store_every_good_record_once_and_report_every_bad_line(entries: list[tuple[Any, ...]]) -> None:
    records, bad, good, repeats = _plan(entries)
    with tempfile.TemporaryDirectory() as name, transaction.atomic():
        folder = Path(name)
        (folder / "mixed.jsonl").write_bytes(b"\n".join(records) + b"\n")
        _check(folder, [n + 1 for n in bad], good, repeats, r"mixed\.jsonl line (\d+):")
        transaction.set_rollback(True)


@PROPERTY_SETTINGS
@given(entries=ENTRIES, cut=st.one_of(st.none(), st.floats(0.05, 0.95)))
def test_a_json_array_stores_every_good_item_once_and_reports_every_bad_one(
    entries: list[tuple[Any, ...]], cut: float | None
) -> None:
    records, bad, good, repeats = _plan(entries)
    tail = b""
    if cut is not None:  # the file ends in the middle of one more record: reported as the break
        extra = json.dumps(good_record(10_000, 1, 2020)).encode()
        tail = (b",\n" if records else b"") + extra[: max(1, int(len(extra) * cut))]
        bad = [*bad, len(records)]
    with tempfile.TemporaryDirectory() as name, transaction.atomic():
        folder = Path(name)
        body = b"[\n" + b",\n".join(records) + (tail if cut is not None else b"\n]")
        (folder / "mixed.json").write_bytes(body)
        _check(folder, bad, good, repeats, r"mixed\.json item (\d+)[ :]")
        transaction.set_rollback(True)


CSV_HEADER = (
    b"declaration_id,declarant_id,declarant_name,declaration_type,year,position_title,body_name,"
    b"reporting_currency,section,owner,kind,description,amount,currency,share_percent,date\n"
)
BAD_CELLS = st.one_of(
    st.sampled_from([b"1e400", b"nan", b"inf", b"-1e16", b"9" * 5000]).map(lambda share: (14, share)),
    st.integers(5, 5000).map(lambda n: (4, b"9" * n)),  # the year
    st.binary(min_size=1, max_size=4).map(lambda b: (2, b"Ana \xff" + b.translate(None, b',\r\n"'))),
    st.just((11, b"flat \x00 one")),
)


@PROPERTY_SETTINGS
@given(rows=st.lists(st.one_of(st.none(), BAD_CELLS), min_size=1, max_size=10))
def test_csv_stores_every_good_declaration_once_and_names_every_bad_row(rows: list[Any]) -> None:
    lines, good, bad = [CSV_HEADER], set(), []
    for number, bad_cell in enumerate(rows):
        cells = [
            f"D{number}".encode(),
            f"P{number}".encode(),
            f"Person {number}".encode(),
            b"annual",
            b"2023",
            b"Clerk",
            b"Ministry",
            b"EUR",
            b"real_estate",
            b"declarant",
            b"apartment",
            b"Flat",
            b"100000",
            b"EUR",
            b"50",
            b"2010-01-01",
        ]
        if bad_cell is None:
            good.add(f"D{number}")
        else:
            cells[bad_cell[0]] = bad_cell[1]
            bad.append(number + 2)  # the header is row 1
        lines.append(b",".join(cells) + b"\n")
    with tempfile.TemporaryDirectory() as name, transaction.atomic():
        folder = Path(name)
        (folder / "rows.csv").write_bytes(b"".join(lines))
        _check(folder, bad, good, 0, r"rows\.csv declaration 'D\d+' \(from row (\d+)\)")
        transaction.set_rollback(True)
