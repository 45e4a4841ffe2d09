"""The entities API and the yente-compatible screening endpoint POST /api/v1/match/{dataset}."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from probity.core.jobs import job_run
from probity.core.models import Job
from probity.core.services import api_token_create
from probity.entities import services
from probity.entities.models import Entity, MatchCandidate

pytestmark = pytest.mark.django_db

LIST = "\n".join(
    [
        '{"id": "NK-putin", "schema": "Person", "properties": {"name": ["Владимир Владимирович Путин"],'
        ' "alias": ["Vladimir Putin"], "birthDate": ["1952-10-07"], "nationality": ["ru"], "topics": ["sanction"]}}',
        '{"id": "NK-zhang", "schema": "Person", "properties": {"name": ["张伟"], "birthDate": ["1971-03-02"],'
        ' "innCode": ["7701234567"]}}',
        '{"id": "NK-acme", "schema": "Company", "properties": {"name": ["ACME Holdings Limited"],'
        ' "registrationNumber": ["HRB-123"]}}',
    ]
)


@pytest.fixture
def lists() -> None:
    services.ftm_import(source=io.StringIO(LIST), dataset="sanctions")


def _token_client(make_user: Callable[..., Any], *roles: str) -> Client:
    _token, secret = api_token_create(user=make_user(*roles), name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _match(client: Client, dataset: str, body: dict[str, Any], query: str = "") -> Any:
    return client.post(f"/api/v1/match/{dataset}{query}", data=json.dumps(body), content_type="application/json")


def test_match_accepts_and_answers_in_yente_shapes(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "analyst")
    body = {
        "queries": {"q1": {"schema": "Person", "properties": {"name": ["Wladimir Putin"], "birthDate": ["1952-10-07"]}}}
    }
    response = _match(client, "sanctions", body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) >= {"responses", "limit"}
    q1 = data["responses"]["q1"]
    assert q1["status"] == 200
    assert q1["total"] == {"value": 1, "relation": "eq"}
    assert q1["query"]["schema"] == "Person"
    result = q1["results"][0]
    assert set(result) >= {
        "id",
        "caption",
        "schema",
        "properties",
        "datasets",
        "referents",
        "target",
        "first_seen",
        "last_seen",
        "score",
        "match",
        "features",
    }
    assert result["id"] == "NK-putin" and result["match"] is True and result["target"] is True
    assert result["datasets"] == ["sanctions"]
    assert result["features"]["name_score"] >= 0.8


def test_limit_threshold_and_cutoff_are_honoured(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "analyst")
    body = {"queries": {"a": {"schema": "Person", "properties": {"name": ["Putin"]}}}}
    strict = _match(client, "default", body, "?threshold=0.99&cutoff=0.1&limit=1").json()["responses"]["a"]
    assert len(strict["results"]) == 1 and strict["results"][0]["match"] is False


def test_a_different_birth_year_lowers_the_score(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "analyst")
    same = {"schema": "Person", "properties": {"name": ["Zhang Wei"], "birthDate": ["1971"]}}
    other = {"schema": "Person", "properties": {"name": ["Zhang Wei"], "birthDate": ["1985"]}}
    data = _match(client, "default", {"queries": {"same": same, "other": other}}, "?cutoff=0").json()
    same_result = data["responses"]["same"]["results"][0]
    other_result = data["responses"]["other"]["results"][0]
    assert same_result["match"] is True
    assert other_result["score"] < same_result["score"]
    assert other_result["features"]["dob_year_disjoint"] == 1.0
    assert other_result["match"] is False


def test_an_identifier_alone_finds_the_entity(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "analyst")
    body = {
        "queries": {
            "c": {"schema": "Company", "properties": {"name": ["Acme Holdings Ltd"], "registrationNumber": ["hrb 123"]}}
        }
    }
    result = _match(client, "sanctions", body).json()["responses"]["c"]["results"][0]
    assert result["id"] == "NK-acme" and result["features"]["identifier_match"] == 1.0


def test_bad_queries_get_the_api_error_shape(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "analyst")
    bad = _match(client, "sanctions", {"queries": {"x": {"schema": "Spaceship", "properties": {}}}})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"] == {"x": "unknown schema 'Spaceship'"}
    assert (
        _match(client, "nope", {"queries": {"x": {"schema": "Person", "properties": {"name": ["A"]}}}}).status_code
        == 404
    )
    algo = _match(
        client, "default", {"queries": {"x": {"schema": "Person", "properties": {"name": ["A"]}}}}, "?algorithm=magic"
    )
    assert algo.status_code == 400 and algo.json()["error"]["code"] == "bad_request"


def test_screening_needs_a_role_that_sees_entities(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "declarant")
    response = _match(client, "default", {"queries": {"x": {"schema": "Person", "properties": {"name": ["A"]}}}})
    assert response.status_code == 403
    assert Client().post("/api/v1/match/default", data="{}", content_type="application/json").status_code == 401


def test_match_endpoint_is_in_the_openapi_schema() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/match/{dataset}" in schema["paths"]
    assert "/api/v1/entities/entities/{entity_id}" in schema["paths"]


def test_entity_search_finds_a_cyrillic_name_from_latin(lists: None, make_user: Callable[..., Any]) -> None:
    client = _token_client(make_user, "auditor")
    items = client.get("/api/v1/entities/entities?q=Putin").json()["items"]
    assert [i["ftm_id"] for i in items] == ["NK-putin"]
    detail = client.get(f"/api/v1/entities/entities/{items[0]['id']}").json()
    assert "Vladimir Putin" in [n["name"] for n in detail["names"]]
    assert {n["script"] for n in detail["names"]} >= {"Cyrl", "Latn"}


def test_decisions_through_the_api(make_user: Callable[..., Any]) -> None:
    services.ftm_import(
        source=io.StringIO(
            "\n".join(
                [
                    '{"id": "a", "schema": "Person", "properties": {"name": ["Zhang Wei"], "birthDate": ["1971-03-02"]}}',  # noqa: E501
                    '{"id": "b", "schema": "Person", "properties": {"name": ["张伟"], "birthDate": ["1971-03-02"]}}',
                ]
            )
        ),
        dataset="t",
    )
    analyst = _token_client(make_user, "analyst")
    queued = analyst.post("/api/v1/entities/link", data="{}", content_type="application/json")
    assert queued.status_code == 202  # a background job (tests/entities/test_jobs.py)
    job = Job.objects.get(pk=queued.json()["job"])
    job_run(job.pk)
    job.refresh_from_db()
    assert job.result["created"] == 1
    candidate = MatchCandidate.objects.get()
    auditor = _token_client(make_user, "auditor")
    url = f"/api/v1/entities/candidates/{candidate.pk}/decision"
    denied = auditor.post(url, data=json.dumps({"decision": "confirmed"}), content_type="application/json")
    assert denied.status_code == 403
    listed = auditor.get("/api/v1/entities/candidates?status=open").json()
    assert listed["count"] == 1 and listed["items"][0]["explanation"]["birth"]["level"] == "same date"
    no_reason = analyst.post(url, data=json.dumps({"decision": "rejected"}), content_type="application/json")
    assert no_reason.status_code == 400
    ok = analyst.post(url, data=json.dumps({"decision": "confirmed"}), content_type="application/json")
    assert ok.status_code == 200 and ok.json()["decision"] == "confirmed"
    assert Entity.objects.get(ftm_id="b").cluster == "a"
    twice = analyst.post(url, data=json.dumps({"decision": "rejected", "reason": "x"}), content_type="application/json")
    assert twice.status_code == 409
