"""An analyst screens one name on the screening page, then a CSV of names screened in the background, and
downloads the answer as CSV and Excel, in a real browser."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST = "\n".join(
    [
        '{"id": "NK-putin", "schema": "Person", "properties": {"name": ["Владимир Владимирович Путин"],'
        ' "alias": ["Vladimir Putin"], "birthDate": ["1952-10-07"], "topics": ["sanction"]}}',
        '{"id": "NK-acme", "schema": "Company", "properties": {"name": ["ACME Holdings Limited"]}}',
    ]
)


def _sign_in(page: Any, live_server: Any, user: Any, path: str) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(f"{live_server.url}{path}")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/second-factor/**")
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"**{path}")


def test_the_screening_page_answers_a_name_and_a_csv_batch_gives_downloadable_results(
    page: Any, live_server: Any, make_user: Any, tmp_path: Path
) -> None:
    from probity.core.jobs import job_run
    from probity.entities.batch import INLINE_ROWS, row_check, screen_row
    from probity.entities.models import ScreeningBatch
    from probity.entities.services import ftm_import

    ftm_import(source=io.StringIO(LIST), dataset="sanctions")
    # rigour's name data loads once per process, on the first comparison of people's names (seconds)
    screen_row(row=row_check(line=1, name="Vladimir Putin", kind="person"))
    user = make_user("analyst")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    _sign_in(page, live_server, user, "/entities/screening/")

    # one name: a labelled table of matches, each score explained in sentences
    page.get_by_label("Name, in any script").fill("Vladimir Putin")
    page.get_by_label("Kind").first.select_option("person")
    page.get_by_role("button", name="Screen", exact=True).click()
    page.wait_for_url("**/entities/screening/?*")
    table = page.locator("table.screening-results")
    assert "for “Vladimir Putin”" in table.locator("caption").inner_text()
    header = [cell.inner_text() for cell in table.locator("thead th").all()]
    assert header[:3] == ["Name on the list", "Kind", "List"] and header[-1] == "Why"
    best = table.locator("tbody tr").first
    assert "Владимир Владимирович Путин" in best.inner_text()
    assert "at or above the threshold 0.70" in best.locator("ul.explanation").inner_text()

    # a CSV larger than what is answered at once: screened in the background, broken rows listed
    source = tmp_path / "suppliers.csv"
    rows = [["name", "kind", "birth_date"], ["Vladimir Putin", "person", "1952"], ["Broken", "person", "13/13/13"]]
    rows += [[f"Company number {n}", "company", ""] for n in range(INLINE_ROWS)]
    with source.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    page.locator("input[type=file]").set_input_files(str(source))
    page.get_by_role("button", name="Upload and screen").click()
    page.wait_for_url("**/entities/screening/batches/*/")
    assert "being screened in the background" in page.locator("p.summary").inner_text()
    record = ScreeningBatch.objects.get(requested_by=user)
    assert record.job is not None
    job_run(record.job.pk)  # what a worker does
    page.reload()
    summary = page.locator("p.summary").inner_text()
    assert f"{INLINE_ROWS + 1} name(s) screened, 1 with a match" in summary and "1 row(s) rejected" in summary

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Result as CSV").click()
    saved = tmp_path / "result.csv"
    csv_download.value.save_as(saved)
    lines = list(csv.DictReader(saved.open(encoding="utf-8")))
    assert any(line["matched name"] == "Владимир Владимирович Путин" and line["match"] == "yes" for line in lines)
    assert [line["line"] for line in lines if line["status"] == "rejected"] == ["3"]
    with page.expect_download() as excel_download:
        page.get_by_role("link", name="Result as Excel").click()
    assert excel_download.value.suggested_filename == "suppliers-screened.xlsx"
    assert problems == []
