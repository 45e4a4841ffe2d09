"""Property tests of the OCDS ingest: generated files mixing good and bad releases (JSON Lines and release
packages) store every good release exactly once and report every bad one in ``ocds_ingest_rejection``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probity.procurement.ingest import MAX_DEPTH, procurement_ingest
from tests.procurement.test_ingest import warehouse_file

__all__ = ["warehouse_file"]  # the fixture, used by every test here

# Ways a release goes wrong: each turns the JSON text of a good release into a bad one.
BAD_KINDS = (
    "no_ocid",
    "no_id",
    "no_date",
    "bad_date",
    "text_amount",
    "huge_amount",
    "long_integer",
    "overflow",
    "nan",
    "deep",
    "not_object",
    "wrong_structure",
)

amounts = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False),
)
titles = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@st.composite
def releases(draw: st.DrawFn) -> list[tuple[str | None, str]]:
    """(bad kind or None, JSON text) for 1–12 releases with distinct ids."""
    prefix = f"ocds-prop-{uuid.uuid4().hex[:10]}"
    count = draw(st.integers(min_value=1, max_value=12))
    items: list[tuple[str | None, str]] = []
    for number in range(count):
        data: dict[str, Any] = {
            "ocid": f"{prefix}-{draw(st.integers(0, 3))}",
            "id": f"r{number}",
            "date": f"2021-0{draw(st.integers(1, 9))}-01T00:00:00{draw(st.sampled_from(['Z', '+02:00', '']))}",
            "tag": ["tender"],
            "tender": {
                "id": "t",
                "title": draw(titles),
                "value": {"amount": draw(amounts), "currency": "EUR"},
            },
        }
        kind = draw(st.none() | st.sampled_from(BAD_KINDS))
        items.append((kind, spoil(data, kind)))
    return items


def spoil(data: dict[str, Any], kind: str | None) -> str:
    amount = '"amount": ' + json.dumps(data["tender"]["value"]["amount"])
    if kind == "no_ocid":
        del data["ocid"]
    elif kind == "no_id":
        del data["id"]
    elif kind == "no_date":
        del data["date"]
    elif kind == "bad_date":
        data["date"] = "the first of May"
    elif kind == "text_amount":
        data["tender"]["value"]["amount"] = "a lot"
    elif kind == "wrong_structure":
        data["tender"] = "closed"
    elif kind == "not_object":
        return json.dumps([data["id"]])
    text = json.dumps(data, ensure_ascii=False)
    if kind == "huge_amount":
        return text.replace(amount, '"amount": 1e25')
    if kind == "long_integer":
        return text.replace(amount, '"amount": ' + "7" * 401)
    if kind == "overflow":
        return text.replace(amount, '"amount": 1e400')
    if kind == "nan":
        return text.replace(amount, '"amount": NaN')
    if kind == "deep":
        return text[:-1] + ', "x": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}"
    return text


def run_rows(warehouse: Path, sql: str, run_id: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, [run_id]).fetchall()
    finally:
        con.close()


PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@PROPERTY_SETTINGS
@given(items=releases(), as_lines=st.booleans())
def test_every_good_release_is_stored_once_and_every_bad_one_reported(
    tmp_path: Path, warehouse_file: Path, items: list[tuple[str | None, str]], as_lines: bool
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    if as_lines:
        path = folder / "mixed.jsonl"
        path.write_text("\n".join(text for _kind, text in items) + "\n", encoding="utf-8")
    else:
        path = folder / "mixed.json"
        path.write_text('{"version": "1.1", "releases": [\n' + ",\n".join(t for _k, t in items) + "]}", "utf-8")

    report = procurement_ingest(paths=[path], register=False)

    good = {json.loads(text)["id"] for kind, text in items if kind is None}
    bad = {number for number, (kind, _text) in enumerate(items) if kind is not None}
    kept = run_rows(warehouse_file, "SELECT release_id FROM ocds_release WHERE run_id = ?", report.run_id)
    assert sorted(row[0] for row in kept) == sorted(good)  # each good release once, nothing else
    rejections = run_rows(
        warehouse_file, "SELECT line, position, code, reason FROM ocds_ingest_rejection WHERE run_id = ?", report.run_id
    )
    where = {
        (line - 1) if as_lines else int(position.split("[")[1].rstrip("]")) for line, position, _c, _r in rejections
    }
    assert where == bad
    assert len(rejections) == len(bad) == report.rejected
    assert all(reason and "Traceback" not in reason for _l, _p, _c, reason in rejections)
