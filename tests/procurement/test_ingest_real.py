"""OCDS ingest on the seven real publishers in shared/data/ocds/real: nothing valid is lost.

Each publisher folder is ingested, and the result is checked against an independent count made
here with nothing but ``json.loads``: every release in the input is stored or reported, and every
distinct (ocid, release id) that has an ocid, an id and a date ends up in ``ocds_release``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from probity.config import WarehouseSetting
from probity.procurement.ingest import procurement_ingest

PUBLISHERS = ["canada", "colombia", "moldova", "nigeria", "paraguay", "uk-contracts-finder", "ukraine"]
# What the real data may be rejected for; anything else would mean valid data was turned away.
EXPECTED_CODES = {"empty_file", "linked_releases_only", "duplicate_release_id"}


@pytest.fixture(autouse=True)
def warehouse_file(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    return path


@dataclass
class InputCount:
    """The input as counted independently of the ingest."""

    items: int = 0  # releases, plus files and records that cannot give any
    unusable: int = 0  # empty files, records with only links
    keys: set[tuple[str, str]] = field(default_factory=set)  # usable (ocid, release id)
    ocids: set[str] = field(default_factory=set)


def _is_link(release: Any) -> bool:
    return isinstance(release, dict) and "url" in release and "id" not in release and "ocid" not in release


def _count_record(record: dict[str, Any], count: InputCount) -> None:
    releases = [release for release in record.get("releases", []) if not _is_link(release)]
    if not releases and isinstance(record.get("compiledRelease"), dict):
        releases = [record["compiledRelease"]]
    if not releases:
        count.items += 1
        count.unusable += 1
    for release in releases:
        count.items += 1
        if release.get("ocid") and release.get("id") is not None and release.get("date"):
            count.keys.add((release["ocid"], str(release["id"])))
            count.ocids.add(release["ocid"])


def count_input(folder: Path) -> InputCount:
    count = InputCount()
    for path in sorted(folder.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            count.items += 1
            count.unusable += 1
            continue
        document = json.loads(text)
        if "records" in document:
            for record in document["records"]:
                _count_record(record, count)
        elif "releases" in document:
            _count_record(document, count)
        else:
            _count_record({"releases": [document]}, count)
    return count


def table(warehouse_file: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("publisher", PUBLISHERS)
def test_real_publisher_ingests_with_nothing_valid_lost(
    publisher: str, shared_data: Path, warehouse_file: Path
) -> None:
    folder = shared_data / "ocds" / "real" / publisher
    expected = count_input(folder)
    report = procurement_ingest(paths=[folder], register=False)

    # Every item read is accounted for: stored (as new or as an identical copy) or rejected.
    assert report.read == expected.items
    assert report.accepted + report.rejected == report.read
    assert report.accepted == report.new + report.duplicates
    # Nothing valid is lost: every usable release id is stored, each process compiled.
    stored = set(table(warehouse_file, "SELECT ocid, release_id FROM ocds_release"))
    assert stored == expected.keys
    assert {ocid for (ocid,) in table(warehouse_file, "SELECT ocid FROM ocds_compiled_release")} == expected.ocids
    # Every rejection is one of the known real-data problems, with a place and a reason.
    rejected = Counter(rejection.code for rejection in report.rejections)
    assert set(rejected) <= EXPECTED_CODES
    assert rejected["empty_file"] + rejected["linked_releases_only"] == expected.unusable
    for rejection in report.rejections:
        assert rejection.source_file.startswith(str(folder)) and rejection.position and rejection.reason
        if rejection.code == "duplicate_release_id":
            assert (rejection.ocid, rejection.release_id) in stored
            assert rejection.payload


def test_all_real_publishers_together_then_again_changes_nothing(shared_data: Path, warehouse_file: Path) -> None:
    folder = shared_data / "ocds" / "real"
    first = procurement_ingest(paths=[folder], register=False)
    snapshot = "SELECT ocid, release_id, hash, run_id FROM ocds_release ORDER BY ALL"
    compiled = (
        "SELECT ocid, inputs_hash, run_id, md5(compiled_release::VARCHAR) FROM ocds_compiled_release ORDER BY ALL"
    )
    before = (table(warehouse_file, snapshot), table(warehouse_file, compiled))
    second = procurement_ingest(paths=[folder], register=False)

    assert (table(warehouse_file, snapshot), table(warehouse_file, compiled)) == before
    assert (second.new, second.replaced, second.compiled) == (0, 0, 0)
    assert second.processes == first.processes == len(count_input(folder).ocids)
    # Every publisher's data is in: releases from all seven OCID prefixes.
    prefixes = {ocid.split("-")[1] for (ocid,) in table(warehouse_file, "SELECT DISTINCT ocid FROM ocds_release")}
    assert len(prefixes) >= 7
