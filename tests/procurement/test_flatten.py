"""Flattening compiled releases into the procurement warehouse tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probity.procurement.flatten import flatten_file, flatten_into_warehouse, flatten_to_parquet
from probity.procurement.tables import TABLES, warehouse_name
from probity.warehouse.services import DuckDBWarehouse

RELEASE = {
    "ocid": "ocds-1",
    "id": "ocds-1-compiled",
    "date": "2024-02-01T00:00:00Z",
    "buyer": {"id": "B1", "name": "Ministry"},
    "parties": [
        {
            "id": "B1",
            "name": "Ministry",
            "roles": ["buyer", "procuringEntity"],
            "identifier": {"scheme": "XX-REG", "id": "123"},
            "address": {"countryName": "Testland"},
        },
        {
            "id": "T1",
            "name": "Firm",
            "roles": ["tenderer", "supplier"],
            "contactPoint": {"name": "A. Clerk", "email": "bids@firm.example", "telephone": "+1 555 0100"},
        },
    ],
    "tender": {
        "id": "t",
        "status": "complete",
        "procurementMethod": "open",
        "procurementMethodDetails": "Open tender",
        "mainProcurementCategory": "goods",
        "value": {"amount": 100.5, "currency": "USD"},
        "procuringEntity": {"id": "B1", "name": "Ministry"},
        "tenderPeriod": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-01-20T00:00:00+02:00"},
        "awardPeriod": {"startDate": "2024-01-21"},
        "numberOfTenderers": 2,
        "items": [
            {
                "id": "1",
                "classification": {"scheme": "CPV", "id": "30192000"},
                "quantity": 3,
                "unit": {"name": "box", "value": {"amount": 10, "currency": "USD"}},
            }
        ],
        "lots": [{"id": "L1", "title": "Paper", "value": {"amount": 50, "currency": "USD"}}],
    },
    "bids": {
        "details": [
            {
                "id": "b1",
                "status": "valid",
                "date": "2024-01-19T00:00:00Z",
                "value": {"amount": 90, "currency": "USD"},
                "tenderers": [{"id": "T1", "name": "Firm"}],
                "relatedLots": ["L1"],
            },
            {"id": "b2", "status": "disqualified", "tenderers": [{"id": "T2"}, {"id": 7}]},
            {"id": "b3", "status": "valid"},
        ]
    },
    "awards": [
        {
            "id": 1,
            "status": "active",
            "value": {"amount": 90, "currency": "USD"},
            "suppliers": [{"id": "T1"}],
            "items": [{"classification": {"id": "30192000"}}],
            "relatedBid": "b1",
        }
    ],
    "contracts": [
        {
            "id": "c1",
            "awardID": "1",
            "dateSigned": "2024-02-01T10:00:00Z",
            "value": {"amount": 90},
            "amendments": [{"id": "a1", "date": "2024-03-01", "rationale": "more paper"}],
        }
    ],
}


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    path = tmp_path / "releases.jsonl"
    lines = [
        json.dumps(RELEASE),
        "this line is not JSON",
        json.dumps({"id": "no ocid"}),
        json.dumps({"ocid": "ocds-2", "tender": {"value": {"amount": "a lot"}, "status": "active"}, "awards": []}),
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def test_every_table_is_written_with_its_documented_columns(releases: Path) -> None:
    with DuckDBWarehouse(":memory:") as warehouse:
        report = flatten_into_warehouse(warehouse, releases)
        for name, table in TABLES.items():
            schema = warehouse.table(warehouse_name(name)).schema()
            assert list(schema.names) == table.column_names, name
    assert report.releases == 2
    assert report.rows == {
        "processes": 2,
        "parties": 2,
        "lots": 1,
        "items": 1,
        "bids": 3,
        "bid_tenderers": 3,
        "awards": 1,
        "award_suppliers": 1,
        "award_items": 1,
        "contracts": 1,
        "contract_amendments": 1,
    }


def test_lines_without_json_or_ocid_are_counted_and_skipped(releases: Path) -> None:
    with DuckDBWarehouse(":memory:") as warehouse:
        report = flatten_into_warehouse(warehouse, releases, tables=["processes"])
    assert report.skipped == report.lines - 2
    assert report.skipped >= 2


def test_values_are_flattened_with_keys_and_order(releases: Path) -> None:
    with DuckDBWarehouse(":memory:") as warehouse:
        flatten_into_warehouse(warehouse, releases)
        con = warehouse.backend.con
        process = con.execute(
            "SELECT ocid, buyer_id, procuring_entity_id, procurement_method_details, tender_value_amount, "
            "tender_period_end_date, epoch(tender_period_end_at)::BIGINT, has_awards, has_bid_details, bid_count, "
            "award_period_start_date FROM procurement_processes ORDER BY ocid"
        ).fetchall()
        bids = con.execute(
            "SELECT bid_index, bid_id, status, value_amount, has_tenderers, tenderer_count, related_lots "
            "FROM procurement_bids ORDER BY bid_index"
        ).fetchall()
        tenderers = con.execute(
            "SELECT bid_index, tenderer_index, tenderer_id FROM procurement_bid_tenderers ORDER BY 1, 2"
        ).fetchall()
        award = con.execute("SELECT award_id, related_bids, supplier_count FROM procurement_awards").fetchall()
        parties = con.execute("SELECT party_id, roles, identifier_id FROM procurement_parties ORDER BY 1").fetchall()
    assert process[0] == (
        "ocds-1",
        "B1",
        "B1",
        "Open tender",
        100.5,
        "2024-01-20T00:00:00+02:00",
        1705701600,
        True,
        True,
        3,
        "2024-01-21",
    )
    # A wrong type becomes NULL, the rest of the release is kept; an empty awards array is present.
    assert process[1][0] == "ocds-2"
    assert process[1][4] is None
    assert process[1][7:10] == (True, False, 0)
    assert bids == [
        (1, "b1", "valid", 90.0, True, 1, ["L1"]),
        (2, "b2", "disqualified", None, True, 2, None),
        (3, "b3", "valid", None, False, 0, None),
    ]
    assert tenderers == [(1, 1, "T1"), (2, 1, "T2"), (2, 2, "7")]  # a numeric id becomes text
    assert award == [("1", ["b1"], 1)]
    assert parties == [("B1", ["buyer", "procuringEntity"], "123"), ("T1", ["tenderer", "supplier"], None)]


def test_parties_keep_their_contact_point(releases: Path) -> None:
    """``contact_point_telephone`` is what ownership's bidder-links detector compares."""
    with DuckDBWarehouse(":memory:") as warehouse:
        flatten_into_warehouse(warehouse, releases, tables=["parties"])
        rows = warehouse.backend.con.execute(
            "SELECT party_id, contact_point_name, contact_point_email, contact_point_telephone "
            "FROM procurement_parties ORDER BY 1"
        ).fetchall()
    assert rows == [("B1", None, None, None), ("T1", "A. Clerk", "bids@firm.example", "+1 555 0100")]


def test_dates_that_are_not_rfc3339_have_no_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "dates.jsonl"
    starts = ["2024-01-01T00:00:00Z", "2024-01-01", "2024-01-01T00:00:00", "invalid", "2024-01-01t00:00:00.5-05:00"]
    path.write_text(
        "\n".join(
            json.dumps({"ocid": str(n), "tender": {"tenderPeriod": {"startDate": s}}}) for n, s in enumerate(starts)
        )
    )
    import duckdb

    connection = duckdb.connect()
    flatten_file(connection, path, tables=["processes"])
    rows = connection.execute(
        "SELECT tender_period_start_at IS NOT NULL FROM procurement_processes ORDER BY ocid"
    ).fetchall()
    assert [row[0] for row in rows] == [True, False, False, False, True]


def test_parquet_output_has_one_folder_per_table(releases: Path, tmp_path: Path) -> None:
    report = flatten_to_parquet(releases, tmp_path / "out", tables=["processes", "bids"])
    assert report.rows == {"processes": 2, "bids": 3}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["procurement_bids", "procurement_processes"]


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    import duckdb

    with pytest.raises(FileNotFoundError):
        flatten_file(duckdb.connect(), tmp_path / "none.jsonl")


def test_contract_counts_are_the_same_when_contracts_are_not_flattened(releases: Path) -> None:
    """Without the contracts tables, contracts are read as raw JSON and only counted."""
    import duckdb

    full, light = duckdb.connect(), duckdb.connect()
    flatten_file(full, releases)
    flatten_file(light, releases, tables=["processes"])
    query = "SELECT ocid, has_contracts, contract_count FROM procurement_processes ORDER BY ocid"
    assert (
        full.execute(query).fetchall() == light.execute(query).fetchall() == [("ocds-1", True, 1), ("ocds-2", False, 0)]
    )


def test_a_clean_file_reads_the_same_strictly_and_leniently(tmp_path: Path) -> None:
    """``flatten_file`` reads strictly first (cheaper) and leniently only when that fails: on a file
    without errors both readers must give the same rows; on a file with one bad line the strict
    reader fails, so the lenient one runs and keeps the good lines."""
    import duckdb

    from probity.procurement.flatten import read_json_sql

    clean = tmp_path / "clean.jsonl"
    second = {**RELEASE, "ocid": "ocds-9", "id": "r9"}
    clean.write_text("\n".join(json.dumps(release) for release in (RELEASE, second)) + "\n")
    connection = duckdb.connect(":memory:")
    rows = [
        connection.execute(f"SELECT * FROM {read_json_sql(clean, strict=strict)} ORDER BY ocid").fetchall()
        for strict in (True, False)
    ]
    assert rows[0] == rows[1] and len(rows[0]) == 2
    dirty = tmp_path / "dirty.jsonl"
    dirty.write_text(clean.read_text() + "not JSON\n")
    with pytest.raises(duckdb.InvalidInputException):
        connection.execute(f"SELECT * FROM {read_json_sql(dirty, strict=True)}").fetchall()
    report = flatten_file(connection, dirty, tables=["processes", "awards"])
    assert (report.lines, report.releases, report.skipped) == (3, 2, 1)
    assert report.rows["processes"] == 2
