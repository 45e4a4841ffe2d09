"""The OpenRefine Reconciliation Service API (v0.2) at /api/v1/reconcile/{dataset}."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from probity.core.services import api_token_create
from probity.entities import services

pytestmark = pytest.mark.django_db

LIST = "\n".join(
    [
        '{"id": "NK-putin", "schema": "Person", "properties": {"name": ["Владимир Владимирович Путин"],'
        ' "alias": ["Vladimir Putin"], "birthDate": ["1952-10-07"], "topics": ["sanction"]}}',
        '{"id": "NK-acme", "schema": "Company", "properties": {"name": ["ACME Holdings Limited"],'
        ' "registrationNumber": ["HRB-123"]}}',
    ]
)


@pytest.fixture
def lists() -> None:
    services.ftm_import(source=io.StringIO(LIST), dataset="sanctions")


@pytest.fixture
def secret(make_user: Callable[..., Any]) -> str:
    _token, value = api_token_create(user=make_user("analyst"), name="openrefine")
    return value


def test_the_manifest_follows_the_v02_specification(lists: None, secret: str) -> None:
    response = Client().get(f"/api/v1/reconcile/default?api_key={secret}")
    assert response.status_code == 200
    manifest = response.json()
    assert manifest["versions"] == ["0.2"]
    assert manifest["identifierSpace"].endswith("/entities/ftm/")
    assert manifest["schemaSpace"].startswith("https://")
    assert {"id": "Person", "name": "Person"} in manifest["defaultTypes"]
    assert manifest["view"]["url"].endswith("/entities/ftm/{{id}}/")


def test_a_batch_of_queries_sent_as_openrefine_does(lists: None, secret: str) -> None:
    queries = {
        "q0": {
            "query": "Vladimir Putin",
            "type": "Person",
            "limit": 2,
            "properties": [{"pid": "birthDate", "v": "1952-10-07"}, {"pid": "unknownColumn", "v": "x"}],
        },
        "q1": {"query": "Acme Holdings Ltd", "type": "Company"},
        "q2": {"query": "Nobody Atall"},
    }
    response = Client().post(f"/api/v1/reconcile/sanctions?api_key={secret}", {"queries": json.dumps(queries)})
    assert response.status_code == 200, response.content
    answers = response.json()
    assert set(answers) == {"q0", "q1", "q2"}
    best = answers["q0"]["result"][0]
    assert best["id"] == "NK-putin" and best["name"] == "Владимир Владимирович Путин"
    assert best["type"] == [{"id": "Person", "name": "Person"}]
    assert best["match"] is True and 70 <= best["score"] <= 100
    assert "threshold" in best["description"]
    assert any(feature["id"] == "name_score" for feature in best["features"])
    assert answers["q1"]["result"][0]["id"] == "NK-acme"
    assert answers["q2"]["result"] == []


def test_a_different_birth_year_lowers_the_score(lists: None, secret: str) -> None:
    def score(year: str) -> float:
        queries = {"q0": {"query": "Vladimir Putin", "type": "Person", "properties": [{"pid": "birthDate", "v": year}]}}
        answer = Client().get(f"/api/v1/reconcile/default?api_key={secret}&queries={json.dumps(queries)}").json()
        return float(answer["q0"]["result"][0]["score"]) if answer["q0"]["result"] else 0.0

    assert score("1990") < score("1952") - 20


def test_bearer_tokens_work_and_no_token_is_refused(lists: None, secret: str) -> None:
    queries = json.dumps({"q0": {"query": "Vladimir Putin"}})
    with_header = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post("/api/v1/reconcile/default", {"queries": queries})
    assert with_header.status_code == 200
    assert with_header.json()["q0"]["result"][0]["id"] == "NK-putin"
    assert Client().get("/api/v1/reconcile/default").status_code == 401
    assert Client().get("/api/v1/reconcile/default?api_key=prb_wrong").status_code == 401


def test_bad_requests_are_explained(lists: None, secret: str, make_user: Callable[..., Any]) -> None:
    client = Client()
    broken = client.post(f"/api/v1/reconcile/default?api_key={secret}", {"queries": "{not json"})
    assert broken.status_code == 400
    assert "not JSON" in broken.json()["error"]["message"]
    bad_type = client.post(
        f"/api/v1/reconcile/default?api_key={secret}",
        {"queries": json.dumps({"a": {"query": "x", "type": "Spaceship"}})},
    )
    assert bad_type.status_code == 400
    assert "query 'a'" in bad_type.json()["error"]["message"] and "Spaceship" in bad_type.json()["error"]["message"]
    assert client.get(f"/api/v1/reconcile/nosuchlist?api_key={secret}").status_code == 404
    _token, declarant = api_token_create(user=make_user("declarant"), name="x")
    assert client.get(f"/api/v1/reconcile/default?api_key={declarant}").status_code == 403


def test_the_view_url_opens_the_entity_page(lists: None, verified_client: Callable[..., Client]) -> None:
    response = verified_client("analyst").get("/entities/ftm/NK-acme/")
    assert response.status_code == 302 and response["Location"].startswith("/entities/")


def test_reconciliation_is_in_the_openapi_schema() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/reconcile/{dataset}"])
