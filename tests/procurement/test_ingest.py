"""OCDS ingest on hand-made input: every package shape and format, and every kind of bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from probity.config import WarehouseSetting
from probity.procurement.ingest import IngestError, IngestReport, ingest_rejections_write, procurement_ingest
from probity.procurement.selectors import compiled_releases_iter, compiled_releases_write

OCID = "ocds-213czf-000-00001"


@pytest.fixture(autouse=True)
def warehouse_file(settings: Any, tmp_path: Path) -> Path:
    """Each test gets its own DuckDB warehouse file."""
    path = tmp_path / "warehouse" / "test.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    return path


def release(
    release_id: str = "r1", ocid: str = OCID, date: str = "2020-01-01T00:00:00Z", **fields: Any
) -> dict[str, Any]:
    return {"ocid": ocid, "id": release_id, "date": date, "tag": ["tender"], "initiationType": "tender", **fields}


def package(*releases: Any, version: str | None = "1.1") -> dict[str, Any]:
    data: dict[str, Any] = {"uri": "https://example.org/package.json", "publishedDate": "2020-02-01T00:00:00Z"}
    if version:
        data["version"] = version
    data["releases"] = list(releases)
    return data


def write_json(path: Path, data: Any, *, indent: int | None = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent), encoding="utf-8")
    return path


def ingest(*paths: Path) -> IngestReport:
    return procurement_ingest(paths=list(paths), register=False)


def query(warehouse_file: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def stored(warehouse_file: Path) -> dict[tuple[str, str], dict[str, Any]]:
    rows = query(warehouse_file, "SELECT ocid, release_id, release::VARCHAR FROM ocds_release")
    return {(ocid, release_id): json.loads(text) for ocid, release_id, text in rows}


def compiled(warehouse_file: Path) -> dict[str, dict[str, Any]]:
    rows = query(warehouse_file, "SELECT ocid, compiled_release::VARCHAR FROM ocds_compiled_release")
    return {ocid: json.loads(text) for ocid, text in rows}


def codes(report: IngestReport) -> list[str]:
    return [rejection.code for rejection in report.rejections]


# --- shapes and formats ---------------------------------------------------------------------------


def test_release_package_is_stored_and_compiled_into_one_process(tmp_path: Path, warehouse_file: Path) -> None:
    first = release("r1", tender={"id": "t1", "title": "Road repair", "value": {"amount": 100, "currency": "USD"}})
    second = release(
        "r2",
        date="2020-03-01T00:00:00Z",
        tag=["award"],
        awards=[{"id": "a1", "value": {"amount": 90, "currency": "USD"}, "status": "active"}],
        tender={"id": "t1", "status": "complete"},
    )
    report = ingest(write_json(tmp_path / "package.json", package(first, second)))

    assert (report.read, report.accepted, report.rejected, report.new, report.compiled) == (2, 2, 0, 2, 1)
    assert set(stored(warehouse_file)) == {(OCID, "r1"), (OCID, "r2")}
    process = compiled(warehouse_file)[OCID]
    assert process["tag"] == ["compiled"]
    assert process["tender"] == {
        "id": "t1",
        "title": "Road repair",
        "status": "complete",
        "value": {"amount": 100, "currency": "USD"},
    }
    assert process["awards"][0]["value"]["amount"] == 90
    assert process["date"] == "2020-03-01T00:00:00Z"


def test_record_package_uses_the_records_full_releases(tmp_path: Path, warehouse_file: Path) -> None:
    record_package = {
        "uri": "https://example.org/records.json",
        "version": "1.1",
        "records": [
            {
                "ocid": OCID,
                "releases": [release("r1"), release("r2", date="2020-02-01T00:00:00Z")],
                "compiledRelease": release("ignored"),
            },
            {"ocid": "ocds-213czf-000-00002", "releases": [release("x1", ocid="ocds-213czf-000-00002")]},
        ],
    }
    report = ingest(write_json(tmp_path / "records.json", record_package))

    assert report.rejected == 0
    assert set(stored(warehouse_file)) == {(OCID, "r1"), (OCID, "r2"), ("ocds-213czf-000-00002", "x1")}
    assert report.processes == 2


def test_record_with_only_linked_releases_uses_its_compiled_release_or_is_rejected(
    tmp_path: Path, warehouse_file: Path
) -> None:
    linked = [{"url": "https://example.org/r1.json", "date": "2020-01-01T00:00:00Z", "tag": ["tender"]}]
    with_compiled = {"ocid": OCID, "releases": linked, "compiledRelease": release(f"{OCID}-2020", tag=["compiled"])}
    without = {"ocid": "ocds-213czf-000-00002", "releases": linked}
    report = ingest(write_json(tmp_path / "records.json", {"version": "1.1", "records": [with_compiled, without]}))

    assert (OCID, f"{OCID}-2020") in stored(warehouse_file)
    assert codes(report) == ["linked_releases_only"]
    rejection = report.rejections[0]
    assert rejection.ocid == "ocds-213czf-000-00002"
    assert rejection.position == "records[1]"
    warnings = query(warehouse_file, "SELECT code FROM ocds_ingest_warning WHERE ocid = ?", [OCID])
    assert ("compiled_release_used",) in warnings


def test_json_lines_invalid_line_is_rejected_and_its_neighbours_kept(tmp_path: Path, warehouse_file: Path) -> None:
    path = tmp_path / "releases.jsonl"
    path.write_text(
        json.dumps(release("r1"))
        + "\n"
        + '{"ocid": "ocds-213czf-000-00009", "id": "r9", "date": \n'
        + "\n"
        + json.dumps(release("r3", date="2020-02-01T00:00:00Z"))
        + "\n",
        encoding="utf-8",
    )
    report = ingest(path)

    assert set(stored(warehouse_file)) == {(OCID, "r1"), (OCID, "r3")}
    assert codes(report) == ["invalid_json"]
    rejection = report.rejections[0]
    assert (rejection.line, rejection.ocid) == (2, "ocds-213czf-000-00009")
    assert rejection.source_file == str(path.resolve())
    assert "Invalid JSON" in rejection.reason


def test_json_lines_are_recognised_without_the_jsonl_suffix(tmp_path: Path, warehouse_file: Path) -> None:
    path = tmp_path / "releases.json"
    path.write_text("\n".join(json.dumps(package(release(f"r{n}"))) for n in range(3)) + "\n", encoding="utf-8")
    report = ingest(path)

    assert report.accepted == 3
    assert query(warehouse_file, "SELECT line FROM ocds_release ORDER BY line") == [(1,), (2,), (3,)]


def test_concatenated_json_documents_are_all_read(tmp_path: Path, warehouse_file: Path) -> None:
    path = tmp_path / "concatenated.json"
    path.write_text(
        json.dumps(package(release("r1")), indent=2) + "\n" + json.dumps(package(release("r2")), indent=2),
        encoding="utf-8",
    )
    report = ingest(path)

    assert report.accepted == 2
    positions = dict(query(warehouse_file, "SELECT release_id, position FROM ocds_release"))
    assert positions == {"r1": "releases[0]", "r2": "value 2: releases[0]"}


def test_gzip_is_read_whatever_the_file_is_called(tmp_path: Path, warehouse_file: Path) -> None:
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(json.dumps(package(release("r1"))).encode()))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress((json.dumps(release("r2")) + "\n").encode()))
    (tmp_path / "c.json").write_bytes(gzip.compress(json.dumps(release("r3")).encode()))
    report = ingest(tmp_path / "a.json.gz", tmp_path / "b.jsonl.gz", tmp_path / "c.json")

    assert report.rejected == 0
    assert set(stored(warehouse_file)) == {(OCID, "r1"), (OCID, "r2"), (OCID, "r3")}


def test_folders_are_searched_recursively_for_ocds_files(tmp_path: Path, warehouse_file: Path) -> None:
    data = tmp_path / "data"
    write_json(data / "2019" / "q1" / "one.json", package(release("r1")))
    write_json(data / "2020" / "two.json", release("r2"))
    (data / "2020" / "three.jsonl.gz").write_bytes(gzip.compress((json.dumps(release("r3")) + "\n").encode()))
    (data / "notes.txt").write_text("not OCDS")
    write_json(data / ".hidden" / "four.json", release("r4"))
    report = ingest(data)

    assert report.files == 3
    assert set(stored(warehouse_file)) == {(OCID, "r1"), (OCID, "r2"), (OCID, "r3")}


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="does not exist"):
        ingest(tmp_path / "nowhere")


# --- versions -------------------------------------------------------------------------------------


def test_ocds_10_is_upgraded_to_11(tmp_path: Path, warehouse_file: Path) -> None:
    old = release(
        "r1",
        buyer={"name": "Ministry of Roads", "identifier": {"scheme": "XI-EORI", "id": "GB1"}},
        tender={
            "id": "t1",
            "tenderers": [{"name": "Acme Ltd", "identifier": {"scheme": "XI-EORI", "id": "GB2"}}],
            "amendment": {"date": "2020-01-05T00:00:00Z", "rationale": "typo"},
        },
    )
    report = ingest(write_json(tmp_path / "old.json", package(old, version=None)))

    assert report.rejected == 0
    upgraded = stored(warehouse_file)[(OCID, "r1")]
    roles = {party["name"]: party["roles"] for party in upgraded["parties"]}
    assert roles == {"Ministry of Roads": ["buyer"], "Acme Ltd": ["tenderer"]}
    assert set(upgraded["buyer"]) == {"id", "name"}
    assert upgraded["tender"]["amendments"] == [{"date": "2020-01-05T00:00:00Z", "rationale": "typo"}]
    assert query(warehouse_file, "SELECT declared_version, upgraded FROM ocds_release") == [("1.0", True)]


def test_version_after_the_releases_is_still_honoured(tmp_path: Path, warehouse_file: Path) -> None:
    path = tmp_path / "late-version.json"
    buyer = {"name": "Ministry", "identifier": {"id": "1"}}
    path.write_text('{"releases": [' + json.dumps(release("r1", buyer=buyer)) + '], "version": "1.1"}')
    ingest(path)

    assert stored(warehouse_file)[(OCID, "r1")]["buyer"] == buyer  # left alone: not upgraded
    assert query(warehouse_file, "SELECT declared_version, upgraded FROM ocds_release") == [("1.1", False)]


# --- bad input ------------------------------------------------------------------------------------


def test_invalid_json_document_keeps_the_releases_before_the_error(tmp_path: Path, warehouse_file: Path) -> None:
    text = json.dumps(package(release("r1"), release("r2"), release("r3")), indent=2)
    broken = text.replace('"id": "r3"', '"id": "r3" "oops"')
    path = tmp_path / "broken.json"
    path.write_text(broken)
    report = ingest(path)

    assert set(stored(warehouse_file)) == {(OCID, "r1"), (OCID, "r2")}
    assert codes(report) == ["invalid_json"]
    rejection = report.rejections[0]
    assert rejection.position == "after releases[1]"
    line = broken.splitlines().index(next(row for row in broken.splitlines() if '"oops"' in row)) + 1
    assert rejection.line == line
    assert f"line {line}" in rejection.reason


def test_empty_file_and_non_object_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "blank.json").write_text("   \n")
    (tmp_path / "list.jsonl").write_text('[1, 2]\n"text"\n')
    report = ingest(tmp_path)

    assert sorted(codes(report)) == ["empty_file", "empty_file", "not_an_object", "not_an_object"]


def test_missing_ocid_id_or_date_is_rejected_with_what_is_known(tmp_path: Path, warehouse_file: Path) -> None:
    no_ocid = release("r1")
    del no_ocid["ocid"]
    no_id = release("r2")
    del no_id["id"]
    no_date = release("r3")
    del no_date["date"]
    bad_date = release("r4", date="last Tuesday")
    report = ingest(write_json(tmp_path / "bad.json", package(no_ocid, no_id, no_date, bad_date, release("ok"))))

    assert set(stored(warehouse_file)) == {(OCID, "ok")}
    by_code = {rejection.code: rejection for rejection in report.rejections}
    assert set(by_code) == {"missing_ocid", "missing_release_id", "missing_date", "invalid_date"}
    assert (by_code["missing_ocid"].ocid, by_code["missing_ocid"].release_id) == (None, "r1")
    assert by_code["missing_release_id"].ocid == OCID
    assert by_code["missing_date"].release_id == "r3"
    assert by_code["invalid_date"].position == "releases[3]"
    assert json.loads(by_code["missing_ocid"].payload or "")["id"] == "r1"


def test_wrong_types_reject_structure_and_non_numeric_amounts_only(tmp_path: Path, warehouse_file: Path) -> None:
    structure = release("r1", tender="tender notice")
    words = release("r2", tender={"id": "t", "value": {"amount": "twelve", "currency": "USD"}})
    numeric_text = release("r3", tender={"id": "t", "value": {"amount": "12.50", "currency": "USD"}})
    blank = release("r4", tender={"id": "t", "value": {"amount": "", "currency": "USD"}})
    harmless = release("r5", tender={"id": 7, "title": 42}, tag="tender")
    report = ingest(write_json(tmp_path / "types.json", package(structure, words, numeric_text, blank, harmless)))

    assert sorted(codes(report)) == ["invalid_amount", "wrong_structure"]
    kept = stored(warehouse_file)
    assert set(kept) == {(OCID, "r3"), (OCID, "r4"), (OCID, "r5")}
    assert kept[(OCID, "r3")]["tender"]["value"]["amount"] == 12.5
    assert kept[(OCID, "r4")]["tender"]["value"]["amount"] is None
    warnings = set(query(warehouse_file, "SELECT release_id, code FROM ocds_ingest_warning"))
    assert {("r3", "amount_converted"), ("r4", "amount_blank"), ("r5", "schema")} <= warnings


def test_unknown_currency_is_kept_with_a_warning(tmp_path: Path, warehouse_file: Path) -> None:
    odd = release("r1", tender={"id": "t", "value": {"amount": 5, "currency": "DOLLARS"}})
    report = ingest(write_json(tmp_path / "currency.json", package(odd)))

    assert report.rejected == 0
    assert (OCID, "r1") in stored(warehouse_file)
    assert query(warehouse_file, "SELECT code, path FROM ocds_ingest_warning") == [
        ("unknown_currency", "tender.value.currency")
    ]


def test_mixed_time_zones_are_normalised_to_utc_and_compiled_in_true_order(
    tmp_path: Path, warehouse_file: Path
) -> None:
    # As text, "…10:00:00+05:00" sorts after "…06:00:00Z", but it is 05:00 UTC: the earlier release.
    earlier = release("r1", date="2020-01-01T10:00:00+05:00", tender={"id": "t", "title": "first"})
    later = release("r2", date="2020-01-01T06:00:00Z", tender={"id": "t", "title": "second"})
    naive = release(
        "r3",
        ocid="ocds-213czf-000-00002",
        date="2020-01-01T06:00:00",
        tender={"id": "t", "tenderPeriod": {"endDate": "2020-02-01"}},
    )
    report = ingest(write_json(tmp_path / "zones.json", package(later, earlier, naive)))

    assert report.rejected == 0
    kept = stored(warehouse_file)
    assert kept[(OCID, "r1")]["date"] == "2020-01-01T05:00:00Z"
    assert kept[("ocds-213czf-000-00002", "r3")]["tender"]["tenderPeriod"]["endDate"] == "2020-02-01T00:00:00Z"
    assert compiled(warehouse_file)[OCID]["tender"]["title"] == "second"
    notes = dict(
        query(warehouse_file, "SELECT release_id, message FROM ocds_ingest_warning WHERE code = 'dates_normalised'")
    )
    assert "+0500" in notes["r1"]
    assert "without a time zone" in notes["r3"]
    assert "r2" not in notes


def test_duplicate_release_ids_identical_are_counted_different_are_reported(
    tmp_path: Path, warehouse_file: Path
) -> None:
    original = release("r1", tender={"id": "t", "title": "first"})
    changed = release("r1", tender={"id": "t", "title": "changed"})
    report = ingest(write_json(tmp_path / "dupes.json", package(original, original, changed)))

    assert report.duplicates == 1
    assert codes(report) == ["duplicate_release_id"]
    rejection = report.rejections[0]
    assert (rejection.ocid, rejection.release_id, rejection.position) == (OCID, "r1", "releases[2]")
    assert "releases[0]" in rejection.reason
    assert json.loads(rejection.payload or "")["tender"]["title"] == "changed"
    assert stored(warehouse_file)[(OCID, "r1")]["tender"]["title"] == "first"
    assert report.accepted + report.rejected == report.read


def test_declared_11_copy_wins_over_an_upgraded_10_copy(tmp_path: Path, warehouse_file: Path) -> None:
    old = release("r1", tender={"id": "t", "title": "from 1.0"})
    new = release("r1", tender={"id": "t", "title": "from 1.1"})
    ingest(write_json(tmp_path / "a-old.json", package(old, version="1.0")))
    report = ingest(write_json(tmp_path / "b-new.json", package(new, version="1.1")))

    assert report.replaced == 1
    assert stored(warehouse_file)[(OCID, "r1")]["tender"]["title"] == "from 1.1"
    assert compiled(warehouse_file)[OCID]["tender"]["title"] == "from 1.1"
    again = ingest(tmp_path / "a-old.json")
    assert codes(again) == ["duplicate_release_id"]
    assert stored(warehouse_file)[(OCID, "r1")]["tender"]["title"] == "from 1.1"


def test_releases_that_cannot_be_merged_stay_stored_without_a_compiled_release(
    tmp_path: Path, warehouse_file: Path
) -> None:
    first = release("r1", tender={"id": "t", "title": "Roads"})
    second = release("r2", date="2020-02-01T00:00:00Z", tender={"id": "t", "title": {"en": "Roads"}})  # kept, warned
    report = ingest(write_json(tmp_path / "clash.json", package(first, second)))

    assert len(stored(warehouse_file)) == 2
    assert codes(report) == ["compile_failed"]
    assert report.rejections[0].ocid == OCID
    assert compiled(warehouse_file) == {}


# --- idempotency and outputs ----------------------------------------------------------------------


def snapshot(warehouse_file: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    releases = query(
        warehouse_file, "SELECT * EXCLUDE (release), release::VARCHAR FROM ocds_release ORDER BY ocid, release_id"
    )
    processes = query(
        warehouse_file,
        "SELECT * EXCLUDE (compiled_release), compiled_release::VARCHAR FROM ocds_compiled_release ORDER BY ocid",
    )
    return releases, processes


def test_ingesting_the_same_data_twice_changes_nothing(tmp_path: Path, warehouse_file: Path) -> None:
    data = tmp_path / "data"
    write_json(data / "a.json", package(release("r1"), release("r2", date="2020-02-01T00:00:00Z")))
    write_json(data / "b.json", package(release("x1", ocid="ocds-213czf-000-00002"), version=None))
    (data / "c.jsonl").write_text(json.dumps(release("r1")) + "\nnot json\n")
    first = ingest(data)
    before = snapshot(warehouse_file)
    second = ingest(data)

    assert snapshot(warehouse_file) == before
    assert (second.new, second.replaced, second.compiled) == (0, 0, 0)
    assert second.unchanged == first.new + first.duplicates
    assert (first.rejected, second.rejected) == (1, 1)
    assert query(warehouse_file, "SELECT count(*) FROM ocds_ingest_run WHERE status = 'finished'") == [(2,)]


def test_compiled_releases_can_be_read_and_written_as_json_lines(tmp_path: Path) -> None:
    ingest(write_json(tmp_path / "p.json", package(release("r1"), release("x1", ocid="ocds-213czf-000-00002"))))

    assert [item["ocid"] for item in compiled_releases_iter()] == [OCID, "ocds-213czf-000-00002"]
    assert [item["ocid"] for item in compiled_releases_iter(ocids=["ocds-213czf-000-00002"])] == [
        "ocds-213czf-000-00002"
    ]
    out = tmp_path / "out" / "compiled.jsonl.gz"
    assert compiled_releases_write(path=out) == 2
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert [json.loads(line)["tag"] for line in lines] == [["compiled"], ["compiled"]]


def test_rejections_can_be_written_as_csv_and_json_lines(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("{broken\n" + json.dumps(release("r1")) + "\n")
    report = ingest(tmp_path / "in.jsonl")
    csv_path = tmp_path / "rejected.csv"
    jsonl_path = tmp_path / "rejected.jsonl"

    assert ingest_rejections_write(run_id=report.run_id, path=csv_path) == 1
    assert ingest_rejections_write(run_id=report.run_id, path=jsonl_path) == 1
    assert csv_path.read_text().splitlines()[0] == "source_file,line,position,ocid,release_id,code,reason"
    assert json.loads(jsonl_path.read_text())["code"] == "invalid_json"


@pytest.mark.django_db
def test_tables_are_recorded_in_the_warehouse_catalogue(tmp_path: Path) -> None:
    from probity.warehouse.models import WarehouseTable

    procurement_ingest(paths=[write_json(tmp_path / "p.json", package(release("r1")))])

    entries = dict(WarehouseTable.objects.filter(name__startswith="ocds_").values_list("name", "row_count"))
    assert entries["ocds_release"] == 1
    assert entries["ocds_compiled_release"] == 1


def test_ingest_works_without_network(tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from probity.standards import ocds

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the ingest tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for cached in (ocds._release_schema, ocds.release_validator, ocds._fast_release_check, ocds.merge_rules):
        cached.cache_clear()
    old = release("r1", buyer={"name": "Ministry", "identifier": {"id": "1"}}, tender={"id": "t", "title": ["x"]})
    report = ingest(write_json(tmp_path / "old.json", package(old, release("r2"), version="1.0")))

    assert (report.accepted, report.compiled) == (2, 1)


def test_single_record_file_without_releases_uses_its_compiled_release(tmp_path: Path, warehouse_file: Path) -> None:
    record = {"ocid": OCID, "releases": [], "compiledRelease": release(f"{OCID}-compiled", tag=["compiled"])}
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record, indent=2))
    report = ingest(path, write_json(tmp_path / "empty-package.json", package()))

    assert (report.rejected, report.accepted) == (0, 1)
    assert (OCID, f"{OCID}-compiled") in stored(warehouse_file)


def test_compiled_release_stand_in_is_left_out_when_the_real_releases_are_ingested(
    tmp_path: Path, warehouse_file: Path
) -> None:
    linked = [{"url": "https://example.org/r.json", "date": "2020-01-01T00:00:00Z", "tag": ["tender"]}]
    stand_in = release(
        f"{OCID}-2020", date="2020-06-01T00:00:00Z", tag=["compiled"], tender={"id": "t", "title": "old"}
    )
    records = {"version": "1.1", "records": [{"ocid": OCID, "releases": linked, "compiledRelease": stand_in}]}
    real = package(release("r1", tender={"id": "t", "title": "new"}), release("r2", date="2020-02-01T00:00:00Z"))
    ingest(write_json(tmp_path / "records.json", records), write_json(tmp_path / "releases.json", real))

    assert len(stored(warehouse_file)) == 3
    assert query(warehouse_file, "SELECT release_count FROM ocds_compiled_release") == [(2,)]
    assert compiled(warehouse_file)[OCID]["tender"]["title"] == "new"


def test_deeply_nested_json_is_rejected_without_stopping_the_run(tmp_path: Path, warehouse_file: Path) -> None:
    (tmp_path / "a-deep.json").write_text('{"ocid": "x", "id": "1", "extra": ' + "[" * 5_000 + "]" * 5_000 + "}")
    write_json(tmp_path / "b-fine.json", package(release("r1")))
    report = ingest(tmp_path)

    assert (OCID, "r1") in stored(warehouse_file)
    assert report.rejected == 1
    assert report.rejections[0].source_file.endswith("a-deep.json")
