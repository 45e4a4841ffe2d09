"""The ownership pages, API endpoints and command: permissions, owners and chains, Chinese pages, exit codes."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from probity.ownership.models import IngestBatch, Party
from probity.ownership.services import IngestResult
from tests.core.test_i18n import untranslated_words
from tests.ownership.test_ingest import entity, holds, person

Ingest = Callable[..., IngestResult]


@pytest.fixture
def chain(ingest_statements: Ingest) -> dict[str, Party]:
    """张伟 owns 60 % of 甲控股, which owns 50 % of 乙公司; 李娜 owns 20 % of 乙公司 directly."""
    ingest_statements(
        [
            entity("hold", "甲控股"),
            entity("target", "乙公司"),
            person("p1", "张伟"),
            person("p2", "李娜"),
            holds("r1", "p1", "hold", 60),
            holds("r2", "hold", "target", 50),
            holds("r3", "p2", "target", 20),
        ]
    )
    return {p.record_id: p for p in Party.objects.all()}


def test_party_page_shows_owners_graph_data_and_chains(
    verified_client: Callable[..., Client], chain: dict[str, Party]
) -> None:
    client = verified_client("analyst")
    response = client.get(reverse("ownership:party", args=[chain["target"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "张伟" in html and "30 %" in html  # 60 % × 50 %
    assert 'id="ownership-graph-data"' in html and "ownership/graph.js" in html
    assert "<script>" not in html.replace('<script id="ownership-graph-data" type="application/json">', "")
    graph = response.context["graph"]
    assert {n["name"] for n in graph["nodes"]} == {"甲控股", "乙公司", "张伟", "李娜"}
    chains = [[s["party"].name for s in c] for c in response.context["chains"]]
    assert ["张伟", "甲控股", "乙公司"] in chains and ["李娜", "乙公司"] in chains
    # At 25 % 李娜 (20 %) is below the threshold; at 10 % she is an owner.
    statuses = {o.party.name: o.status for o in response.context["owners"]}
    assert statuses == {"张伟": "owner", "李娜": "below"}
    ten = client.get(reverse("ownership:party", args=[chain["target"].pk]), {"threshold": 10})
    assert {o.party.name: o.status for o in ten.context["owners"]}["李娜"] == "owner"


def test_ownership_pages_need_the_permission(verified_client: Callable[..., Client], chain: dict[str, Party]) -> None:
    client = verified_client("case_handler")
    assert client.get(reverse("ownership:index")).status_code == 403
    assert client.get(reverse("ownership:party", args=[chain["target"].pk])).status_code == 403
    assert Client().get(reverse("ownership:index")).status_code == 302


def test_ownership_pages_show_no_english_in_chinese(
    verified_client: Callable[..., Client], chain: dict[str, Party]
) -> None:
    from probity.core.services import user_create

    client = verified_client(user=user_create(username="分析员", password="x" * 20, roles=["analyst"]))
    client.cookies["django_language"] = "zh-hans"
    batch = IngestBatch.objects.first()
    assert batch is not None
    paths = [
        reverse("ownership:index"),
        reverse("ownership:party", args=[chain["target"].pk]),
        reverse("ownership:party", args=[chain["p1"].pk]),
        reverse("ownership:batch", args=[batch.pk]),
    ]
    problems = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        words = [w for w in untranslated_words(response.content.decode()) if "test" not in w]
        if words:
            problems[path] = words[:8]
    assert not problems, problems


def test_api_lists_owners_with_ranges_and_chains(
    verified_client: Callable[..., Client], chain: dict[str, Party]
) -> None:
    client = verified_client("analyst")
    target = chain["target"].pk
    owners = client.get(f"/api/v1/ownership/parties/{target}/owners?threshold=10").json()
    by_name = {o["name"]: o for o in owners["owners"]}
    assert by_name["张伟"]["ownership"] == {"min": pytest.approx(0.3), "max": pytest.approx(0.3), "unknown": False}
    assert by_name["李娜"]["status"] == "owner"
    chains = client.get(f"/api/v1/ownership/parties/{target}/chains").json()
    assert len(chains["chains"]) == 2 and len(chains["nodes"]) == 4
    listed = client.get("/api/v1/ownership/parties?q=乙").json()
    assert [p["name"] for p in listed["items"]] == ["乙公司"]
    holdings = client.get(f"/api/v1/ownership/parties/{chain['p1'].pk}/holdings").json()
    assert {h["name"] for h in holdings} == {"甲控股", "乙公司"}
    assert client.get("/api/v1/ownership/parties/999999").json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/ownership/parties/{target}/owners?threshold=0").status_code == 422


def test_ownership_endpoints_are_in_the_openapi_schema(verified_client: Callable[..., Client]) -> None:
    schema = verified_client("analyst").get("/api/v1/openapi.json").json()
    for path in (
        "/parties",
        "/parties/{party_id}",
        "/parties/{party_id}/owners",
        "/parties/{party_id}/chains",
        "/parties/{party_id}/holdings",
        "/ingest",
        "/ingests",
        "/ingests/{batch_id}/issues",
    ):
        assert f"/api/v1/ownership{path}" in schema["paths"], path


def test_api_ingest_reports_rejected_statements_and_needs_the_permission(
    verified_client: Callable[..., Client], run_jobs: Callable[[], list[Any]], db: None
) -> None:
    broken = holds("r9", "p1", "c1", 10)
    del broken["recordDetails"]["subject"]
    body = {"dataset": "api", "statements": [entity("c1"), person("p1"), broken]}
    analyst = verified_client("analyst")
    response = analyst.post("/api/v1/ownership/ingest", body, content_type="application/json")
    assert response.status_code == 202, response.content  # a background job (tests/ownership/test_jobs.py)
    run_jobs()
    batch = analyst.get("/api/v1/ownership/ingests").json()["items"][0]
    assert (batch["statements_stored"], batch["statements_rejected"]) == (2, 1)
    issues = analyst.get(f"/api/v1/ownership/ingests/{batch['id']}/issues").json()["items"]
    assert issues[0]["position"] == 3 and issues[0]["code"] == "schema"
    verifier = verified_client("verifier")
    denied = verifier.post("/api/v1/ownership/ingest", body, content_type="application/json")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"


def test_command_ingests_shows_owners_and_uses_exit_codes(ingest_statements: Ingest, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps([entity("c1", "Cee Ltd"), person("p1", "Pat"), holds("r1", "p1", "c1", 40)]))
    out = io.StringIO()
    call_command("ownership", "ingest", str(good), "--dataset", "cli", stdout=out, stderr=io.StringIO())
    assert "3 stored" in out.getvalue()
    out = io.StringIO()
    call_command("ownership", "owners", "c1", "--dataset", "cli", stdout=out)
    assert "owner; Pat; owns 40 %" in out.getvalue()
    out = io.StringIO()
    call_command("ownership", "chains", "c1", "--dataset", "cli", "--json", stdout=out)
    assert json.loads(out.getvalue())["chains"][0][0]["name"] == "Pat"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([entity("c2"), {"recordType": "entity"}]))
    with pytest.raises(CommandError) as rejected:
        call_command("ownership", "ingest", str(bad), stdout=io.StringIO(), stderr=io.StringIO())
    assert rejected.value.returncode == 1
    with pytest.raises(CommandError) as missing:
        call_command("ownership", "ingest", str(tmp_path / "nope.json"), stdout=io.StringIO())
    assert missing.value.returncode == 2
    with pytest.raises(CommandError) as usage:
        call_command("ownership", "owners", "c1", "--dataset", "cli", "--threshold", "abc", stdout=io.StringIO())
    assert usage.value.returncode == 2
