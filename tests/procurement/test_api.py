"""The procurement API: processes with filters, a process with its results, profiles, coverage,
ingest runs and debarments; permissions; the endpoints are in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from probity.config import WarehouseSetting
from tests.procurement.test_views import BUYER, LOSER, RELEASES, procurement_data, procurement_warehouse  # noqa: F401

pytestmark = pytest.mark.django_db

API = "/api/v1/procurement"


def test_endpoints_are_in_the_openapi_schema(verified_client: Callable[..., Client]) -> None:
    schema = verified_client("analyst").get("/api/v1/openapi.json").json()
    for path in (
        "/processes",
        "/processes/{ocid}",
        "/buyers",
        "/buyers/{buyer_id}",
        "/suppliers",
        "/suppliers/{supplier_id}",
        "/coverage",
        "/ingest-runs",
        "/ingest-rejections",
        "/debarments",
        "/debarments/import",
    ):
        assert f"{API}{path}" in schema["paths"], path


@pytest.mark.usefixtures("procurement_data")
def test_process_list_filters_and_counts(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    everything = client.get(f"{API}/processes").json()
    assert everything["count"] == 3 and {item["ocid"] for item in everything["items"]} == {r["ocid"] for r in RELEASES}
    flagged = client.get(f"{API}/processes", {"flag": "P-NONOPEN"}).json()
    assert flagged["count"] == 1 and flagged["items"][0]["ocid"] == "ocds-xd-000-001"
    assert "P-NONOPEN" in flagged["items"][0]["flags"]
    by_supplier = client.get(f"{API}/processes", {"supplier": LOSER["id"]}).json()
    assert [item["ocid"] for item in by_supplier["items"]] == ["ocds-xd-000-003"]
    page = client.get(f"{API}/processes", {"sort": "-value", "limit": 1, "offset": 1}).json()
    assert page["count"] == 3 and [item["ocid"] for item in page["items"]] == ["ocds-xd-000-003"]


@pytest.mark.usefixtures("procurement_data")
def test_bad_filters_answer_422_in_the_error_shape(verified_client: Callable[..., Client]) -> None:
    response = verified_client("analyst").get(f"{API}/processes", {"date_from": "yesterday"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    too_many = verified_client("analyst").get(f"{API}/processes", {"limit": 100_000})
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "validation_error"


@pytest.mark.usefixtures("procurement_data")
def test_process_has_its_results_explained(verified_client: Callable[..., Client]) -> None:
    body = verified_client("analyst").get(f"{API}/processes/ocds-xd-000-001").json()
    assert body["process"]["buyer_id"] == BUYER["id"]
    results = {item["code"]: item for item in body["results"]}
    assert results["P-NONOPEN"]["outcome"] == "flag"
    assert results["P-NONOPEN"]["explanation"] == "Procured by a non-open method: direct (direct)."
    assert results["P-NONOPEN"]["evidence"]["method"] == "direct"
    assert body["score"] is not None and 0 < body["score"] <= 1
    assert len(body["awards"]) == 1 and len(body["bids"]) == 1


@pytest.mark.usefixtures("procurement_data")
def test_unknown_process_is_404(verified_client: Callable[..., Client]) -> None:
    response = verified_client("analyst").get(f"{API}/processes/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.usefixtures("procurement_data")
def test_profiles(verified_client: Callable[..., Client]) -> None:
    client = verified_client("auditor")
    buyer = client.get(f"{API}/buyers/{BUYER['id']}").json()
    assert buyer["processes"] == 2 and [year["year"] for year in buyer["years"]] == [2023, 2024]
    assert buyer["score"] is not None
    supplier = client.get(f"{API}/suppliers/{LOSER['id']}").json()
    assert supplier["processes"] == 1 and supplier["recent"][0]["ocid"] == "ocds-xd-000-003"
    buyers = client.get(f"{API}/buyers").json()
    assert buyers["count"] == 2
    assert client.get(f"{API}/suppliers/nobody").status_code == 404


@pytest.mark.usefixtures("procurement_data")
def test_coverage(verified_client: Callable[..., Client]) -> None:
    body = verified_client("analyst").get(f"{API}/coverage").json()
    assert body["computed"] is True and body["total_releases"] == 3
    r018 = next(item for item in body["indicators"] if item["code"] == "R018")
    assert {field["field"]: field["releases"] for field in r018["fields"]} == {
        "tender.procurementMethod": 3,
        "tender.numberOfTenderers": 3,
    }
    assert body["paths"]["/ocid"] == 3


def test_ingest_runs_and_rejections(settings: Any, tmp_path: Path, verified_client: Callable[..., Client]) -> None:
    import json

    from probity.procurement.ingest import procurement_ingest

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(RELEASES[0]) + "\n{not json\n")
    procurement_ingest(paths=[source])
    client = verified_client("analyst")
    runs = client.get(f"{API}/ingest-runs").json()
    assert runs["count"] == 1
    rejections = client.get(f"{API}/ingest-rejections", {"run_id": runs["items"][0]["run_id"]}).json()
    assert rejections["count"] == 1 and "payload" not in rejections["items"][0]


def test_debarment_import_and_list(settings: Any, tmp_path: Path, verified_client: Callable[..., Client]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = (
        b"id,name,identifiers,country,authority,start_date,end_date,grounds\n"
        b"1,Bad Builders Ltd,REG-1,XD,Procurement Office,2020-01-01,,fraud\n"
        b"2,,REG-2,XD,Procurement Office,2020-01-01,,no name\n"
    )
    client = verified_client("analyst")
    response = client.post(f"{API}/debarments/import", {"file": SimpleUploadedFile("list.csv", csv), "format": "csv"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 1 and len(body["errors"]) == 1
    again = client.post(f"{API}/debarments/import", {"file": SimpleUploadedFile("list.csv", csv), "format": "csv"})
    assert again.json()["created"] == 0
    listed = client.get(f"{API}/debarments", {"q": "bad"}).json()
    assert listed["count"] == 1 and listed["items"][0]["authority"] == "Procurement Office"


def test_auditors_may_read_but_not_import(verified_client: Callable[..., Client]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = verified_client("auditor")
    assert client.get(f"{API}/debarments").status_code == 200
    response = client.post(f"{API}/debarments/import", {"file": SimpleUploadedFile("x.csv", b"id,name\n")})
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("path", ["/processes", "/buyers", "/coverage", "/ingest-runs", "/debarments"])
def test_declarants_are_refused(verified_client: Callable[..., Client], path: str) -> None:
    response = verified_client("declarant").get(f"{API}{path}")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
