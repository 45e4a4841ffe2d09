"""Contracts exported to FollowTheMoney: Contract and ContractAward linked to the buyer and the supplier."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from followthemoney import model

from probity.config import WarehouseSetting
from probity.core.models import Identifier, Organisation
from probity.entities.contracts import contract_proxies
from probity.entities.models import Entity
from probity.entities.services import entities_sync_core, ftm_export, organisation_ftm_id
from probity.procurement.flatten import flatten_into_warehouse
from probity.warehouse.services import warehouse_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouse_file(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "warehouse.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    return path


def _release(ocid: str, *, contract: bool) -> dict[str, Any]:
    release: dict[str, Any] = {
        "ocid": ocid,
        "id": f"{ocid}-1",
        "date": "2024-03-01T00:00:00Z",
        "tag": ["compiled"],
        "initiationType": "tender",
        "buyer": {"id": "XD-GOV-001", "name": "Ministry of Roads"},
        "parties": [
            {
                "id": "XD-GOV-001",
                "name": "Ministry of Roads",
                "roles": ["buyer", "procuringEntity"],
                "identifier": {"scheme": "XD-GOV", "id": "001"},
            },
            {
                "id": "XD-CR-7",
                "name": "Alpha Build",
                "roles": ["tenderer", "supplier"],
                "identifier": {"scheme": "XD-CR", "id": "7", "legalName": "Alpha Build LLC"},
                "address": {"streetAddress": "Hill Road 46", "locality": "Highmoor", "postalCode": "50713"},
            },
            {
                "id": "XD-CR-8",
                "name": "Beta Roads",
                "roles": ["supplier"],
                "identifier": {"scheme": "XD-CR", "id": "8"},
            },
        ],
        "tender": {
            "id": f"{ocid}-t",
            "title": "Road repairs",
            "status": "complete",
            "procurementMethod": "open",
            "procurementMethodDetails": "Open tender",
            "mainProcurementCategory": "works",
        },
        "awards": [
            {
                "id": f"{ocid}-a1",
                "status": "active",
                "date": "2024-02-10T00:00:00Z",
                "value": {"amount": 120000.5, "currency": "XTS"},
                "suppliers": [{"id": "XD-CR-7", "name": "Alpha Build"}, {"id": "XD-CR-8", "name": "Beta Roads"}],
            },
        ],
    }
    if contract:
        release["contracts"] = [
            {
                "id": f"{ocid}-c1",
                "awardID": f"{ocid}-a1",
                "title": "Repair of the Hill Road",
                "status": "active",
                "value": {"amount": 125000.0, "currency": "XTS"},
                "dateSigned": "2024-02-20T00:00:00Z",
            }
        ]
    return release


def _flatten(tmp_path: Path, releases: list[dict[str, Any]]) -> None:
    path = tmp_path / "releases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in releases) + "\n", encoding="utf-8")
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, path)


def test_contracts_and_awards_link_the_buyer_and_each_supplier(warehouse_file: Path, tmp_path: Path) -> None:
    alpha = Organisation.objects.create(name="Alpha Build LLC")
    Identifier.objects.create(organisation=alpha, scheme="company_register", issuer="XD", value="7")
    _flatten(tmp_path, [_release("ocds-x-1", contract=True), _release("ocds-x-2", contract=False)])

    proxies = list(contract_proxies())
    by_schema: dict[str, list[Any]] = {}
    for proxy in proxies:
        model.get_proxy(proxy.to_dict())  # every entity is valid FtM
        by_schema.setdefault(proxy.schema.name, []).append(proxy)
    assert len(by_schema["Contract"]) == 2
    assert len(by_schema["ContractAward"]) == 4  # two suppliers of each award
    (buyer,) = by_schema["PublicBody"]
    assert buyer.get("name") == ["Ministry of Roads"]
    # Alpha is one of Probity's organisations (same register number): referenced, not duplicated
    (beta,) = by_schema["Company"]
    assert beta.get("name") == ["Beta Roads"] and beta.get("registrationNumber") == ["8"]

    contracts = {c.get("procedureNumber")[0]: c for c in by_schema["Contract"]}
    signed = contracts["ocds-x-1"]
    assert signed.get("title") == ["Repair of the Hill Road"]
    assert signed.get("amount") == ["125000.00"] and signed.get("currency") == ["XTS"]
    assert signed.get("contractDate") == ["2024-02-20"]
    assert signed.get("method") == ["Open tender"] and signed.get("type") == ["works"]
    assert signed.get("authority") == [buyer.id]
    # without an OCDS contract, the award is the contract: the tender's title, the award's value
    unsigned = contracts["ocds-x-2"]
    assert unsigned.get("title") == ["Road repairs"] and unsigned.get("amount") == ["120000.50"]
    assert unsigned.get("contractDate") == []

    awards = [a for a in by_schema["ContractAward"] if a.get("contract") == [signed.id]]
    assert {a.get("supplier")[0] for a in awards} == {organisation_ftm_id(alpha.pk), beta.id}
    assert all(a.get("amount") == ["120000.50"] and a.get("date") == ["2024-02-10"] for a in awards)

    # stable ids: a second export gives the same entities
    assert sorted(p.id for p in contract_proxies()) == sorted(p.id for p in proxies)
    # in the FtM export file, and taken in by sync-core: the contract's page reaches the supplier
    out = io.StringIO()
    ftm_export(out=out)
    exported = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {e["id"] for e in exported} >= {p.id for p in proxies}
    entities_sync_core()
    entities_sync_core()  # idempotent
    assert Entity.objects.filter(schema="Contract").count() == 2
    assert Entity.objects.filter(schema="ContractAward").count() == 4


def test_no_warehouse_tables_means_no_contracts(warehouse_file: Path) -> None:
    assert list(contract_proxies()) == []


def test_export_through_the_api_and_the_page_for_administrators_only(
    warehouse_file: Path, tmp_path: Path, make_user: Any, verified_client: Any, settings: Any
) -> None:
    from django.test import Client

    from probity.core.jobs import job_run
    from probity.core.models import AuditEntry, Job
    from probity.core.services import api_token_create

    settings.VAR_DIR = tmp_path / "var"
    _flatten(tmp_path, [_release("ocds-x-1", contract=True)])
    _token, secret = api_token_create(user=make_user("administrator"), name="test")
    admin_api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    queued = admin_api.post("/api/v1/entities/export")
    assert queued.status_code == 202
    job = Job.objects.get(pk=queued.json()["job"])
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    response = admin_api.get(f"/api/v1/entities/exports/{job.result['file']}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    content = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    schemas = {json.loads(line)["schema"] for line in content.splitlines()}
    assert {"Contract", "ContractAward", "PublicBody", "Company"} <= schemas
    _token, analyst = api_token_create(user=make_user("analyst"), name="test")
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {analyst}").post("/api/v1/entities/export")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    denied = Client(HTTP_AUTHORIZATION=f"Bearer {analyst}").get(f"/api/v1/entities/exports/{job.result['file']}")
    assert denied.status_code == 403
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/entities/export" in paths and "/api/v1/entities/exports/{name}" in paths

    admin = verified_client("administrator")
    assert "export.ftm" in admin.get("/entities/").content.decode()
    page = admin.post("/entities/export.ftm")
    assert page.status_code == 302
    started = Job.objects.filter(kind="entities.export_ftm").latest("pk")
    assert started.requested_by == admin.user and started.trigger == Job.Trigger.PAGE
    download = admin.get(job.result["download"])
    assert download.status_code == 200 and b'"ContractAward"' in b"".join(download.streaming_content)
    assert verified_client("analyst").post("/entities/export.ftm").status_code == 403
    assert "export.ftm" not in verified_client("analyst").get("/entities/").content.decode()
    # the export itself, and each of the two downloads
    assert AuditEntry.objects.filter(object_type="entities.ftm", action=AuditEntry.Action.EXPORT).count() == 3
