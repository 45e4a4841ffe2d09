"""``probity declarations import`` never loses a good record to a bad one beside it (issue 15, section 2).

Each bad class (a number too big for a float, a 5 000-digit integer, JSON nested 10 000 levels deep,
invalid UTF-8, a wrong type, a truncated array, a NUL character) sits between valid declarations, in the
same file and before later files of the same folder: every valid one is stored once, every bad one is
reported with where it is and why, re-running adds nothing, and the command exits 1 without a traceback.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from probity.declarations.models import Declaration, DeclarationVersion
from probity.declarations.services import declaration_import

pytestmark = pytest.mark.django_db


def _good(payload: dict[str, Any], n: int) -> dict[str, Any]:
    record = copy.deepcopy(payload)
    record["external_id"] = f"good-{n}"
    record["declarant"] = {"id": f"person-{n}", "name": f"Person {n}"}
    return record


def _dump(record: Any) -> bytes:
    return json.dumps(record).encode()


def _stored() -> set[str]:
    return {str(key) for key in Declaration.objects.values_list("external_id", flat=True)}


BAD_VALUES: dict[str, bytes] = {
    "1e400": b'{"schema_version": "1.0", "external_id": "bad", "period": {"year": 1e400}}',
    "5000 digits": b'{"schema_version": "1.0", "period": {"year": ' + b"9" * 5000 + b"}}",
    "20 digits": b'{"schema_version": "1.0", "period": {"year": 2023}, "real_estate": [{"area_m2": '
    + b"9" * 20
    + b"}]}",
    "deep": b'{"declarant": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "bad utf-8": b'{"declarant": {"id": "x", "name": "\xff\xfe"}}',
    "wrong type": b'{"declarant": {"id": ["x"], "name": "A"}, "position": "clerk", "period": [2023]}',
    "demo wrong type": b'{"schema": "probity-declaration/0.1", "declarant": "Ana", "family": [1, 2]}',
    "nul": b'{"declarant": {"id": "x", "name": "A\\u0000"}}',
    "lone surrogate": b'{"declarant": {"id": "x", "name": "\\ud800"}}',
}


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_a_bad_record_in_an_array_is_reported_and_the_others_are_stored(
    kind: str, payload: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "batch.json"
    path.write_bytes(
        b"[\n" + _dump(_good(payload, 1)) + b",\n" + BAD_VALUES[kind] + b",\n" + _dump(_good(payload, 2)) + b"\n]"
    )
    report = declaration_import(path=path)
    assert report.created == 2, report.errors
    assert len(report.errors) == 1
    assert report.errors[0].startswith("batch.json item 1"), report.errors
    assert "Traceback" not in report.errors[0] and len(report.errors[0]) < 400
    assert _stored() == {"good-1", "good-2"}


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_a_bad_line_of_json_lines_is_reported_and_the_other_lines_are_stored(
    kind: str, payload: dict[str, Any], tmp_path: Path
) -> None:
    bad = BAD_VALUES[kind]
    path = tmp_path / "lines.jsonl"
    path.write_bytes(_dump(_good(payload, 1)) + b"\n" + bad + b"\n" + _dump(_good(payload, 2)) + b"\n")
    report = declaration_import(path=path)
    assert report.created == 2, report.errors
    assert len(report.errors) == 1 and report.errors[0].startswith("lines.jsonl line 2:"), report.errors
    assert _stored() == {"good-1", "good-2"}


def test_plain_reasons_name_the_problem(payload: dict[str, Any], tmp_path: Path) -> None:
    lines = [BAD_VALUES[k] for k in ("1e400", "5000 digits", "20 digits", "deep", "bad utf-8", "nul")]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    errors = declaration_import(path=path).errors
    assert len(errors) == 6
    assert "too large" in errors[0] and "too large" in errors[1] and "too large" in errors[2], errors
    assert "real_estate[0].area_m2" in errors[2]
    assert "nested" in errors[3], errors[3]
    assert "UTF-8" in errors[4], errors[4]
    assert "declarant.name" in errors[5] and "U+0000" in errors[5], errors[5]


def test_a_truncated_array_keeps_the_records_before_the_break_and_says_where(
    payload: dict[str, Any], tmp_path: Path
) -> None:
    text = b"[\n" + b",\n".join(_dump(_good(payload, n)) for n in range(3)) + b",\n" + _dump(_good(payload, 3))
    path = tmp_path / "cut.json"
    path.write_bytes(text[:-40])  # the fourth declaration is cut in the middle
    report = declaration_import(path=path)
    assert report.created == 3 and _stored() == {"good-0", "good-1", "good-2"}
    assert len(report.errors) == 1
    assert report.errors[0].startswith("cut.json item 3 (line 5)"), report.errors
    assert "ends" in report.errors[0]


def test_an_unclosed_array_keeps_every_complete_record(payload: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "open.json"
    path.write_bytes(b"[" + _dump(_good(payload, 1)) + b"," + _dump(_good(payload, 2)))
    report = declaration_import(path=path)
    assert report.created == 2 and len(report.errors) == 1 and "not closed" in report.errors[0]


def test_a_bad_file_does_not_stop_the_later_files_of_a_folder(payload: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_bytes(b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")
    (folder / "b.json").write_bytes(b'{"period": {"year": ' + b"1" * 5000 + b"}}")
    (folder / "c.jsonl").write_bytes(b"\xff\xfe\n" + _dump(_good(payload, 1)) + b"\n")
    (folder / "d.csv").write_bytes(
        b"declaration_id,declarant_id,declarant_name,declaration_type,year,position_title,reporting_currency\n"
        b"D1,P1,Ana \xff,annual,2023,Clerk,EUR\n"
        b"D2,P2,Bo,annual,2023,Clerk,EUR\n"
        b"D3,P3,Cy,annual,2023,Clerk,EUR\x00\n"
    )
    (folder / "e.json").write_text(json.dumps(_good(payload, 2)))
    report = declaration_import(path=folder)
    assert _stored() == {"good-1", "good-2", "D2"}, report.errors
    errors = "\n".join(report.errors)
    assert "a.json:" in errors and "b.json:" in errors and "c.jsonl line 1:" in errors
    assert "d.csv declaration 'D1'" in errors and "row 2" in errors
    again = declaration_import(path=folder)
    assert again.created == 0 and again.unchanged == 3
    assert DeclarationVersion.objects.count() == 3


def test_a_csv_with_a_huge_share_or_year_is_reported_by_row(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    header = (
        "declaration_id,declarant_id,declarant_name,declaration_type,year,position_title,body_name,"
        "reporting_currency,section,owner,kind,description,amount,currency,share_percent,date\n"
    )
    path.write_text(
        header
        + "D1,P1,Ana,annual,2023,Clerk,,EUR,real_estate,declarant,apartment,Flat,100,EUR,1e400,\n"
        + "D2,P2,Bo,annual,"
        + "9" * 5000
        + ",Clerk,,EUR,,,,,,,,\n"
        + "D3,P3,Cy,annual,2023,Clerk,,EUR,real_estate,declarant,apartment,Flat,100,EUR,nan,\n"
        + "D4,P4,Di,annual,2023,Clerk,,EUR,real_estate,declarant,apartment,Flat,100,EUR,50,\n"
    )
    report = declaration_import(path=path)
    assert _stored() == {"D4"}, report.errors
    errors = "\n".join(report.errors)
    assert "row 2: share_percent" in errors and "row 3: year" in errors and "row 4: share_percent" in errors


def test_the_command_exits_1_without_a_traceback(
    payload: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(_dump(_good(payload, 1)) + b"\n" + BAD_VALUES["5000 digits"] + b"\n" + BAD_VALUES["deep"] + b"\n")
    with pytest.raises(SystemExit) as exited:
        call_command("declarations", "import", str(path))
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "1 stored" in captured.out and "2 rejected" in captured.out
    assert "mixed.jsonl line 2:" in captured.err and "mixed.jsonl line 3:" in captured.err
    assert _stored() == {"good-1"}


@pytest.mark.parametrize("batch_size", [1, 500])
def test_one_by_one_and_batched_agree_on_bad_records(batch_size: int, payload: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "both.jsonl"
    path.write_bytes(b"\n".join([_dump(_good(payload, 1)), *BAD_VALUES.values(), _dump(_good(payload, 2))]))
    report = declaration_import(path=path, batch_size=batch_size)
    assert report.created == 2 and len(report.errors) == len(BAD_VALUES), report.errors
    assert _stored() == {"good-1", "good-2"}
