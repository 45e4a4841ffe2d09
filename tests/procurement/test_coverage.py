"""Data coverage: Cardinal's ``coverage`` counts exactly, and each indicator's fields are judged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from probity.procurement.coverage import (
    IndicatorFields,
    count_releases_with_all,
    dotted_field,
    indicator_coverage,
    indicator_requirements,
    json_coverage,
)

# The examples of Cardinal's documentation (docs/cli/coverage.md) and its edge cases.
CARDINAL_EXAMPLES = [
    (
        '{"phoneNumbers":[{"type": "home","number": "212 555-1234"},{"type": "office","number": "646 555-4567"}]}',
        {
            "": 1,
            "/": 1,
            "/phoneNumbers": 1,
            "/phoneNumbers[]": 2,
            "/phoneNumbers[]/": 2,
            "/phoneNumbers[]/type": 2,
            "/phoneNumbers[]/number": 2,
        },
    ),
    ('{"a": 0, "a": null}', {}),
    ('{"": 0}', {"": 1, "/": 2}),
    ('{"a[]": 0, "a": [0]}', {"": 1, "/": 1, "/a": 1, "/a[]": 2}),
    # Empty nodes are "", [], {}, null and containers of empty nodes; 0 and false are values.
    (
        '{"x":[{"y":null},{"y":false},{"y":0},{"y":""},{"y":[]},{"y":{}},{"y":"0"},{"y":[0]},{"y":{"a":0}}]}',
        {"": 1, "/": 1, "/x": 1, "/x[]": 5, "/x[]/": 5, "/x[]/y": 5, "/x[]/y[]": 1, "/x[]/y/": 1, "/x[]/y/a": 1},
    ),
    ('[null,false,0,"",[],{},"0",[0],{"a":0}]', {"": 1, "[]": 5, "[][]": 1, "[]/": 1, "[]/a": 1}),
]


@pytest.mark.parametrize(("line", "expected"), CARDINAL_EXAMPLES)
def test_counts_match_cardinal_documentation(line: str, expected: dict[str, int]) -> None:
    assert json_coverage([line]).cardinal() == expected


def test_blank_and_invalid_lines_are_skipped_and_invalid_ones_listed() -> None:
    report = json_coverage(['{"ocid": "a"}', "", "   ", "{not json", '{"ocid": "b"}'])
    assert report.total_releases == 2
    assert report.invalid_lines == [4]
    assert report.cardinal() == {"": 2, "/": 2, "/ocid": 2}


def test_counts_equal_the_rust_cardinal_on_its_conformance_suite(shared_data: Path) -> None:
    ocdscardinal = pytest.importorskip("ocdscardinal")
    files = sorted((shared_data / "cardinal").glob("*.jsonl"))
    assert files
    for path in files:
        with path.open(encoding="utf-8") as handle:
            mine = json_coverage(handle).cardinal()
        assert mine == dict(ocdscardinal.coverage(str(path))), path.name


def test_counts_equal_the_rust_cardinal_on_real_publishers(shared_data: Path, tmp_path: Path) -> None:
    ocdscardinal = pytest.importorskip("ocdscardinal")
    lines = []
    for path in sorted((shared_data / "ocds" / "real").rglob("*.json"))[:200]:
        try:
            package = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # malformed on purpose: the ingest's tests read those
        if not isinstance(package, dict):
            continue
        for record in package.get("records", []) or []:
            if isinstance(record, dict) and isinstance(record.get("compiledRelease"), dict):
                lines.append(json.dumps(record["compiledRelease"], ensure_ascii=False))
        for release in package.get("releases", []) or []:
            if isinstance(release, dict):
                lines.append(json.dumps(release, ensure_ascii=False))
    assert len(lines) > 50
    jsonl = tmp_path / "real.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with jsonl.open(encoding="utf-8") as handle:
        assert json_coverage(handle).cardinal() == dict(ocdscardinal.coverage(str(jsonl)))


def test_paths_become_ocds_fields() -> None:
    assert dotted_field("/bids/details[]/value/amount") == "bids.details.value.amount"
    assert dotted_field("/tender/") == "tender"
    assert dotted_field("") == ""


def test_a_field_counts_once_per_release_however_often_it_appears() -> None:
    release = {"awards": [{"suppliers": [{"id": "a"}, {"id": "b"}]}, {"suppliers": [{"id": "c"}]}]}
    report, _ = count_releases_with_all([release, {"awards": []}], [])
    assert report.nodes["/awards[]/suppliers[]/id"] == 3
    assert report.releases["awards.suppliers.id"] == 1
    assert report.share("awards.suppliers.id") == 0.5


def test_indicator_coverage_counts_releases_having_every_field() -> None:
    requirement = IndicatorFields("X1", "Example", ("tender.value.amount", "awards.value.amount"))
    releases: list[dict[str, Any]] = [
        {"tender": {"value": {"amount": 1}}, "awards": [{"value": {"amount": 1}}]},
        {"tender": {"value": {"amount": 1}}},
        {"awards": [{"value": {"amount": 0}}]},
        {"tender": {"value": {"amount": None}}, "awards": [{"value": {}}]},
    ]
    report, with_all = count_releases_with_all(releases, [requirement])
    [result] = indicator_coverage(report, [requirement], all_fields=with_all)
    assert [(f.field, f.releases, f.share) for f in result.fields] == [
        ("tender.value.amount", 2, 0.5),
        ("awards.value.amount", 2, 0.5),
    ]
    assert result.releases_with_all == 1 and result.share_with_all == 0.25


@pytest.mark.django_db
def test_every_procurement_indicator_declares_the_fields_it_needs() -> None:
    requirements = {item.code: item for item in indicator_requirements()}
    for code in ("R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058"):
        assert requirements[code].fields, code
    assert "tender.numberOfTenderers" in requirements["R018"].fields
    assert all(item.fields for item in requirements.values())


@pytest.mark.django_db
def test_command_prints_cardinal_json_and_the_indicator_table(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_data / "cardinal" / "R018.jsonl"
    call_command("procurement", "coverage", str(path), "--format", "cardinal")
    printed = json.loads(capsys.readouterr().out)
    assert printed["/tender/numberOfTenderers"] == printed[""]
    call_command("procurement", "coverage", str(path))
    table = capsys.readouterr().out
    assert "R018" in table and "tender.numberOfTenderers" in table and "100%" in table


@pytest.mark.django_db
def test_command_stores_the_result_for_the_page(settings: Any, tmp_path: Path) -> None:
    from probity.config import WarehouseSetting
    from probity.procurement.coverage import coverage_load
    from probity.warehouse.services import warehouse_connection

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "w.duckdb"))
    path = tmp_path / "compiled.jsonl"
    path.write_text('{"ocid": "a", "tender": {"numberOfTenderers": 1}}\n{"ocid": "b"}\n')
    call_command("procurement", "coverage", str(path), "--store", "--format", "json")
    with warehouse_connection() as warehouse:
        report = coverage_load(warehouse=warehouse)
    assert report is not None and report.total_releases == 2
    assert report.releases["tender.numberOfTenderers"] == 1 and report.nodes["/ocid"] == 2


@pytest.mark.django_db
def test_command_exits_1_on_lines_that_are_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ocid": "a"}\nnot json\n')
    with pytest.raises(SystemExit) as exit_info:
        call_command("procurement", "coverage", str(path))
    assert exit_info.value.code == 1


@pytest.mark.django_db
def test_command_exits_2_on_a_missing_file(tmp_path: Path) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError) as error:
        call_command("procurement", "coverage", str(tmp_path / "missing.jsonl"))
    assert error.value.returncode == 2


@pytest.mark.django_db
def test_command_reads_the_ingested_compiled_releases_by_default(settings: Any, tmp_path: Path) -> None:
    from probity.config import WarehouseSetting
    from probity.procurement.coverage import coverage_load
    from probity.procurement.ingest import procurement_ingest
    from probity.warehouse.services import warehouse_connection
    from tests.procurement.test_views import RELEASES

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "w.duckdb"))
    source = tmp_path / "releases.jsonl"
    source.write_text("".join(json.dumps(release) + "\n" for release in RELEASES), encoding="utf-8")
    procurement_ingest(paths=[source])
    call_command("procurement", "coverage", "--format", "json")
    with warehouse_connection() as warehouse:
        report = coverage_load(warehouse=warehouse)
    assert report is not None and report.total_releases == len(RELEASES)
    assert report.source == "warehouse:ocds_compiled_release"
    assert report.releases["tender.numberOfTenderers"] == len(RELEASES)
