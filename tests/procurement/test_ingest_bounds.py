"""OCDS ingest bounds numbers and nesting: a release holding a number no reader can hold, or one too large
to be real, or nested absurdly deep, is rejected naming the field; its neighbours are stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from probity.procurement.ingest import MAX_DEPTH, IngestReport, procurement_ingest
from tests.procurement.test_ingest import OCID, package, release, stored, warehouse_file, write_json

__all__ = ["warehouse_file"]  # the fixture, used by every test here


def ingest(*paths: Path) -> IngestReport:
    return procurement_ingest(paths=list(paths), register=False)


def with_amount(release_id: str, amount_text: str) -> str:
    """A release as JSON text whose tender amount is ``amount_text`` written as is."""
    text = json.dumps(release(release_id, tender={"id": "t", "value": {"amount": 1, "currency": "EUR"}}))
    return text.replace('"amount": 1', f'"amount": {amount_text}')


def nested(release_id: str, depth: int) -> str:
    return json.dumps(release(release_id))[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"


BAD_AMOUNTS = {
    "digits401": "9" * 401,
    "digits5000": "9" * 5000,
    "overflow": "1e400",
    "negative_overflow": "-1e400",
    "too_large": "1e19",
    "nan": "NaN",
    "infinity": "Infinity",
}


def rejected_by_id(report: IngestReport) -> dict[str | None, tuple[str, str]]:
    by_id: dict[str | None, tuple[str, str]] = {}
    for rejection in report.rejections:
        key = rejection.release_id or (f"line {rejection.line}" if rejection.line else rejection.position)
        by_id[key] = (rejection.code, rejection.reason)
    return by_id


def test_json_lines_out_of_range_numbers_are_rejected_naming_the_field(tmp_path: Path, warehouse_file: Path) -> None:
    lines = [json.dumps(release("good-1"))]
    lines += [with_amount(name, text) for name, text in BAD_AMOUNTS.items()]
    lines += [json.dumps(release("good-2"))]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ingest(path)

    assert set(stored(warehouse_file)) == {(OCID, "good-1"), (OCID, "good-2")}
    assert report.rejected == len(BAD_AMOUNTS)
    rejected = rejected_by_id(report)
    for name in ("digits401", "overflow", "negative_overflow", "too_large", "nan", "infinity"):
        code, reason = rejected[name]
        assert code == "number_out_of_range", (name, code, reason)
        assert "tender.value.amount" in reason, reason
    code, reason = rejected["line 3"]  # Python's parser refuses 5000 digits: the whole line is unreadable
    assert code == "number_out_of_range"
    assert "digits" in reason and "4300" not in reason and "sys." not in reason


@pytest.mark.parametrize("name", ["digits401", "digits5000", "overflow", "too_large"])
def test_streamed_package_keeps_the_releases_after_an_unreadable_number(
    tmp_path: Path, warehouse_file: Path, name: str
) -> None:
    before = json.dumps(release("before"))
    after = json.dumps(release("after"))
    text = '{"version": "1.1", "releases": [' + ",".join([before, with_amount("bad", BAD_AMOUNTS[name]), after])
    path = tmp_path / "package.json"
    path.write_text(text + "]}", encoding="utf-8")

    report = ingest(path)

    assert set(stored(warehouse_file)) == {(OCID, "before"), (OCID, "after")}
    assert report.rejected == 1
    (rejection,) = report.rejections
    assert rejection.code == "number_out_of_range"
    assert "tender.value.amount" in rejection.reason
    assert rejection.position == "releases[1]"


def test_other_numbers_are_bounded_by_their_digits(tmp_path: Path, warehouse_file: Path) -> None:
    big_quantity = release("quantity", tender={"id": "t", "items": [{"id": "1", "quantity": 10**41}]})
    fine = release("fine", tender={"id": "t", "items": [{"id": "1", "quantity": 10**20}]})
    write_json(tmp_path / "p.json", package(big_quantity, fine))

    report = ingest(tmp_path / "p.json")

    assert set(stored(warehouse_file)) == {(OCID, "fine")}
    (rejection,) = report.rejections
    assert rejection.code == "number_out_of_range"
    assert "tender.items[0].quantity" in rejection.reason and "42-digit" in rejection.reason


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_nesting_is_bounded_and_the_rest_of_the_file_is_read(tmp_path: Path, warehouse_file: Path, suffix: str) -> None:
    items = [json.dumps(release("before")), nested("deep", MAX_DEPTH + 5), nested("abyss", 5_000)]
    items.append(json.dumps(release("after")))
    path = tmp_path / f"deep{suffix}"
    if suffix == ".json":
        path.write_text('{"version": "1.1", "releases": [' + ",".join(items) + "]}", encoding="utf-8")
    else:
        path.write_text("\n".join(items) + "\n", encoding="utf-8")

    report = ingest(path)

    assert set(stored(warehouse_file)) == {(OCID, "before"), (OCID, "after")}
    assert [r.code for r in report.rejections] == ["too_deep", "too_deep"]
    assert all("nested" in r.reason for r in report.rejections)


def test_a_release_of_ordinary_depth_and_numbers_is_untouched(tmp_path: Path, warehouse_file: Path) -> None:
    data: dict[str, Any] = release("ok", tender={"id": "t", "value": {"amount": 999_999_999_999.5, "currency": "EUR"}})
    write_json(tmp_path / "p.json", package(data))

    report = ingest(tmp_path / "p.json")

    assert report.rejected == 0
    assert stored(warehouse_file)[(OCID, "ok")]["tender"]["value"]["amount"] == 999_999_999_999.5


def test_broken_json_with_a_number_of_thousands_of_digits_is_reported(tmp_path: Path, warehouse_file: Path) -> None:
    (tmp_path / "a-broken.json").write_text("[" + "9" * 5000 + "{", encoding="utf-8")
    write_json(tmp_path / "b-fine.json", package(release("r1")))

    report = ingest(tmp_path)

    assert set(stored(warehouse_file)) == {(OCID, "r1")}
    assert report.rejections[-1].code == "invalid_json"
    assert all(rejection.source_file.endswith("a-broken.json") for rejection in report.rejections)
