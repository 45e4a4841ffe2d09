"""Screening people read: one name or a CSV of names, answered with the reasons for each score, as CSV and
Excel; broken rows are screened around and listed with their line and reason (page, API and CLI)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import load_workbook  # type: ignore[import-untyped]

from probity.core.jobs import job_run
from probity.core.models import Job
from probity.core.services import api_token_create
from probity.entities import batch, services
from probity.entities.models import ScreeningBatch

pytestmark = pytest.mark.django_db

LIST = "\n".join(
    [
        '{"id": "NK-putin", "schema": "Person", "properties": {"name": ["Владимир Владимирович Путин"],'
        ' "alias": ["Vladimir Putin"], "birthDate": ["1952-10-07"], "nationality": ["ru"], "topics": ["sanction"]}}',
        '{"id": "NK-acme", "schema": "Company", "properties": {"name": ["ACME Holdings Limited"],'
        ' "registrationNumber": ["HRB-123"], "jurisdiction": ["de"]}}',
    ]
)

BROKEN_CSV = (
    "name,kind,birth_date,country,reference\n"
    "Vladimir Putin,person,1952-10-07,Russia,R1\n"  # line 2: good, a match
    ",person,,,R2\n"  # line 3: no name
    "Ivan Nobody,person,1952-13-45,,R3\n"  # line 4: no such date
    "Acme Holdings,company,,Atlantis,R4\n"  # line 5: no such country
    "Someone,spaceship,,,R5\n"  # line 6: unknown kind
    "\n"  # line 7: blank, skipped
    "Jane Doe,person,,,R8,extra\n"  # line 8: one value too many
    "ACME Holdings Limited,company,,de,R9\n"  # line 9: good, a match
    '=HYPERLINK("x"),,,,R10\n'  # line 10: good, a formula that must not run in Excel
)


@pytest.fixture
def lists() -> None:
    services.ftm_import(source=io.StringIO(LIST), dataset="sanctions")


def _token_client(make_user: Callable[..., Any], *roles: str) -> Client:
    _token, secret = api_token_create(user=make_user(*roles), name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_a_csv_with_broken_rows_keeps_the_good_ones_and_names_each_broken_line() -> None:
    read = batch.screening_csv_read(content=BROKEN_CSV.encode(), file_name="names.csv")
    assert [row.line for row in read.rows] == [2, 9, 10]
    assert read.rows[0].country == "ru" and read.rows[0].schema == "Person"
    problems = {p.line: p.reason for p in read.problems}
    assert set(problems) == {3, 4, 5, 6, 8}
    assert "no name" in problems[3]
    assert "1952-13-45" in problems[4] and "not a date" in problems[4]
    assert "Atlantis" in problems[5]
    assert "spaceship" in problems[6]
    assert "6 values" in problems[8] and "5 columns" in problems[8]


def test_semicolons_aliases_and_a_byte_order_mark_are_understood() -> None:
    content = "\ufeffFull name;Date of birth;Nationality\nVladimir Putin;1952;RU\n".encode()
    read = batch.screening_csv_read(content=content, file_name="excel.csv")
    assert read.problems == []
    (row,) = read.rows
    assert (row.name, row.birth_date, row.country, row.schema) == ("Vladimir Putin", "1952", "ru", "LegalEntity")
    assert row.example()["schema"] == "Person"  # a birth date makes it a person


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfen\x00a\x00", "not UTF-8"),
        (b"", "empty"),
        (b"surname,age\nPutin,70\n", "no \u201cname\u201d column"),
        (b"Vladimir Putin\nIvan Ivanov\n", "first line"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_the_reason(content: bytes, expected: str) -> None:
    with pytest.raises(batch.BatchFileError, match=expected):
        batch.screening_csv_read(content=content, file_name="names.csv")


def test_each_score_is_explained_in_sentences(lists: None) -> None:
    row = batch.row_check(line=1, name="Vladimir Putin", kind="person", birth_date="1952-10-07")
    result = batch.screen_row(row=row, threshold=0.7)
    best = result.matches[0]
    assert best.entity_id == "NK-putin" and best.match
    assert any("same on both sides" in s or "alike" in s for s in best.explanation)
    assert best.explanation[-1].startswith("The score") and "at or above the threshold 0.70" in best.explanation[-1]
    other = batch.screen_row(row=batch.row_check(line=1, name="Vladimir Putin", birth_date="1960-01-01"))
    sentences = " ".join(other.matches[0].explanation)
    assert "no year agrees" in sentences


def test_the_answer_is_written_as_csv_and_excel_with_the_rejected_rows(lists: None, tmp_path: Path) -> None:
    read = batch.screening_csv_read(content=BROKEN_CSV.encode(), file_name="names.csv")
    results, refused = batch.screen_rows(rows=read.rows, threshold=0.7)
    problems = read.problems + refused
    csv_path = batch.result_write(results=results, problems=problems, path=tmp_path / "out.csv")
    lines = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    putin = [line for line in lines if line["reference"] == "R1"]
    assert putin[0]["matched name"] == "Владимир Владимирович Путин"
    assert putin[0]["match"] == "yes" and putin[0]["status"] == "match"
    assert "threshold" in putin[0]["explanation"]
    rejected = [line for line in lines if line["status"] == "rejected"]
    assert [int(line["line"]) for line in rejected] == [3, 4, 5, 6, 8]
    formula = [line for line in lines if line["reference"] == "R10"]
    assert formula[0]["name screened"].startswith("'=")

    xlsx_path = batch.result_write(results=results, problems=problems, path=tmp_path / "out.xlsx")
    workbook = load_workbook(xlsx_path, read_only=True)
    assert workbook.sheetnames == ["Screening", "Rejected rows"]
    screened = list(workbook["Screening"].iter_rows(values_only=True))
    assert screened[0][0] == "line" and screened[0][-1] == "explanation"
    assert any(row[5] == "ACME Holdings Limited" and row[7] == "yes" for row in screened[1:])
    broken = list(workbook["Rejected rows"].iter_rows(values_only=True))
    assert [row[0] for row in broken[1:]] == [3, 4, 5, 6, 8]


def test_api_screens_one_name_with_reasons(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "analyst")
    response = client.post(
        "/api/v1/entities/screening",
        data=json.dumps({"name": "Vladimir Putin", "kind": "person", "country": "Russia"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["matched"] is True and body["kind"] == "Person"
    best = body["matches"][0]
    assert best["entity_id"] == "NK-putin" and best["match"] is True
    assert best["explanation"][-1].startswith("The score")
    bad = client.post(
        "/api/v1/entities/screening",
        data=json.dumps({"name": "Vladimir Putin", "birth_date": "yesterday"}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert "yesterday" in bad.json()["error"]["message"]


def test_api_batch_small_at_once_large_in_the_background_and_only_for_the_uploader(
    lists: None, make_user: Callable[..., Any]
) -> None:
    client = _token_client(make_user, "analyst")
    upload = io.BytesIO(BROKEN_CSV.encode())
    upload.name = "names.csv"
    response = client.post("/api/v1/entities/screening/batches", {"file": upload})
    assert response.status_code == 200, response.content
    done = response.json()
    assert (done["status"], done["rows"], done["matched"], done["rejected"]) == ("done", 3, 2, 5)
    got = client.get(done["downloads"]["csv"])
    assert got.status_code == 200
    assert "Владимир Владимирович Путин" in got.getvalue().decode()
    stranger = _token_client(make_user, "analyst")
    assert stranger.get(done["downloads"]["csv"]).status_code == 404
    assert stranger.get(f"/api/v1/entities/screening/batches/{done['id']}").status_code == 404

    upload = io.BytesIO(BROKEN_CSV.encode())
    upload.name = "big.csv"
    queued = client.post("/api/v1/entities/screening/batches", {"file": upload, "background": "true"})
    assert queued.status_code == 202, queued.content
    body = queued.json()
    assert body["status"] == "queued" and body["downloads"] == {}
    record = ScreeningBatch.objects.get(pk=body["id"])
    assert record.job is not None
    job = job_run(record.job.pk)
    assert job is not None and job.status == Job.Status.SUCCEEDED, job.error if job else None
    after = client.get(f"/api/v1/entities/screening/batches/{body['id']}").json()
    assert after["status"] == "done" and after["rejected"] == 5
    excel = client.get(after["downloads"]["xlsx"])
    assert excel.status_code == 200
    assert excel["Content-Type"].startswith("application/vnd.openxmlformats")


def test_api_refuses_an_unreadable_file_with_the_reason(make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "analyst")
    upload = io.BytesIO(b"surname\nPutin\n")
    upload.name = "names.csv"
    response = client.post("/api/v1/entities/screening/batches", {"file": upload})
    assert response.status_code == 422
    assert "names.csv" in response.json()["error"]["message"]
    assert ScreeningBatch.objects.count() == 0


def test_screening_needs_a_role_that_sees_entities(make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "declarant")
    response = client.post(
        "/api/v1/entities/screening", data=json.dumps({"name": "x"}), content_type="application/json"
    )
    assert response.status_code == 403


def test_screening_endpoints_are_in_the_openapi_schema() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/entities/screening",
        "/api/v1/entities/screening/batches",
        "/api/v1/entities/screening/batches/{batch_id}",
        "/api/v1/entities/screening/batches/{batch_id}/result.{fmt}",
    ):
        assert path in paths, path


def test_the_page_answers_a_name_and_a_csv(lists: None, verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    page = client.get("/entities/screening/", {"name": "Vladimir Putin", "kind": "person"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Владимир Владимирович Путин" in html
    assert "at or above the threshold" in html
    upload = io.BytesIO(BROKEN_CSV.encode())
    upload.name = "names.csv"
    posted = client.post("/entities/screening/", {"file": upload, "dataset": "default", "threshold": "0.7"})
    assert posted.status_code == 302
    record = ScreeningBatch.objects.get()
    assert posted["Location"] == f"/entities/screening/batches/{record.pk}/"
    shown = client.get(posted["Location"]).content.decode()
    assert "3 name(s) screened, 2 with a match" in shown and "5 row(s) rejected" in shown
    download = client.get(f"/entities/screening/batches/{record.pk}/result.xlsx")
    assert download.status_code == 200
    other = verified_client("analyst")
    assert other.get(f"/entities/screening/batches/{record.pk}/result.xlsx").status_code == 404


def test_the_page_says_why_a_name_cannot_be_screened(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    page = client.get("/entities/screening/", {"name": "Ivan", "birth_date": "31/31/1990"})
    assert page.status_code == 200
    assert "is not a date" in page.content.decode()


def test_cli_screens_a_csv_to_excel_and_exits_1_on_broken_rows(lists: None, tmp_path: Path) -> None:
    source = tmp_path / "names.csv"
    source.write_text(BROKEN_CSV, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as stopped:
        call_command("entities", "screen", str(source), "--out", str(tmp_path / "r.xlsx"), stdout=out, stderr=err)
    assert stopped.value.returncode == 1
    assert "3 names screened, 2 with a match" in out.getvalue()
    assert "line 4:" in err.getvalue()
    assert load_workbook(tmp_path / "r.xlsx", read_only=True).sheetnames == ["Screening", "Rejected rows"]
    clean = tmp_path / "clean.csv"
    clean.write_text("name\nACME Holdings Limited\n", encoding="utf-8")
    call_command("entities", "screen", str(clean), "--out", str(tmp_path / "r.csv"), verbosity=0, stdout=out)
    assert "ACME Holdings Limited" in (tmp_path / "r.csv").read_text(encoding="utf-8")
    with pytest.raises(CommandError) as usage:
        call_command("entities", "screen", str(clean), "--out", str(tmp_path / "r.txt"), stdout=out)
    assert usage.value.returncode == 2
