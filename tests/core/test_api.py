"""The HTTP API at /api/v1/ as its clients see it: tokens and sessions, permissions, error bodies, schema."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from probity.core import services
from probity.core.audit import audit_actor
from probity.core.models import (
    APIToken,
    AuditEntry,
    DetectorRun,
    FamilyRelation,
    Finding,
    Identifier,
    Job,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer(user: User, **kwargs: Any) -> dict[str, str]:
    """Request headers for a new token of ``user``."""
    _token, secret = services.api_token_create(user=user, name="test", **kwargs)
    return {"Authorization": f"Bearer {secret}"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response has ``status`` and the API's one error body with ``code``; returns the error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"].strip()
    assert "Traceback" not in response.content.decode()
    return error


@pytest.fixture
def country() -> dict[str, Any]:
    """A small register: a ministry and its agency, two companies sharing a registry number, a family."""
    ministry = PublicBody.objects.create(name="Ministry of Roads", kind="ministry", country="XX")
    agency = PublicBody.objects.create(name="Roads Agency", kind="agency", country="XX", parent=ministry)
    minister = Person.objects.create(name="Ana Minister", nationality="XX")
    PersonName.objects.create(person=minister, name="Анна Министр", script="Cyrl")
    Identifier.objects.create(person=minister, scheme="national_id", issuer="XX", value="8001011234")
    spouse = Person.objects.create(name="Boris Spouse")
    FamilyRelation.objects.create(person=minister, relative=spouse, kind="spouse")
    stranger = Person.objects.create(name="Carl Stranger")
    position = Position.objects.create(body=ministry, title="Minister", holder=minister, is_pep=True)
    acme = Organisation.objects.create(name="Acme Roads LLC")
    front = Organisation.objects.create(name="Front Roads LLC")
    lone = Organisation.objects.create(name="Lone Builders")
    PersonName.objects.create(organisation=lone, name="Lone Bauunternehmen", script="Latn")
    for organisation in (acme, front):
        Identifier.objects.create(organisation=organisation, scheme="company_register", issuer="XX", value="123-45")
    Identifier.objects.create(organisation=lone, scheme="company_register", issuer="XX", value="999")
    return {
        "ministry": ministry,
        "agency": agency,
        "minister": minister,
        "spouse": spouse,
        "stranger": stranger,
        "position": position,
        "acme": acme,
        "front": front,
        "lone": lone,
    }


@pytest.fixture
def flagged_finding(country: dict[str, Any]) -> Finding:
    with audit_actor("test"):
        run = services.detector_run(code="CORE-ID-SHARED")
    return Finding.objects.get(run=run, subject_id=str(country["acme"].pk))


# --- authentication -------------------------------------------------------------------------


def test_a_machine_client_with_a_valid_token_sees_who_it_is(make_user: Callable[..., User]) -> None:
    analyst = make_user("analyst")
    response = Client().get(f"{API}/me", headers=bearer(analyst))
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == analyst.username
    assert me["roles"] == ["analyst"]
    assert "core.run_detector" in me["permissions"]
    assert me["authenticated_by"] == "token"
    assert APIToken.objects.get(user=analyst).last_used_at is not None


@pytest.mark.parametrize("problem", ["revoked", "expired", "wrong", "garbage", "missing", "basic"])
def test_a_revoked_expired_wrong_or_missing_token_gets_401_with_the_error_body(
    make_user: Callable[..., User], problem: str
) -> None:
    analyst = make_user("analyst")
    token, secret = services.api_token_create(user=analyst, name="ci")
    headers = {"Authorization": f"Bearer {secret}"}
    if problem == "revoked":
        services.api_token_revoke(token=token, actor=analyst)
    elif problem == "expired":
        APIToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    elif problem == "wrong":
        headers = {"Authorization": f"Bearer {secret[:-4]}XXXX"}
    elif problem == "garbage":
        headers = {"Authorization": "Bearer not-a-token"}
    elif problem == "missing":
        headers = {}
    elif problem == "basic":
        headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    response = Client().get(f"{API}/me", headers=headers)
    error = assert_error(response, 401, "not_authenticated")
    assert "Bearer" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_refused_even_when_a_session_cookie_is_also_sent(
    verified_client: Callable[..., Client],
) -> None:
    client = verified_client("analyst")
    response = client.get(f"{API}/me", headers={"Authorization": "Bearer prb_wrong"})
    assert_error(response, 401, "not_authenticated")


def test_a_token_of_a_deactivated_user_stops_working(make_user: Callable[..., User]) -> None:
    analyst = make_user("analyst")
    headers = bearer(analyst)
    analyst.is_active = False
    analyst.save()
    assert_error(Client().get(f"{API}/me", headers=headers), 401, "not_authenticated")


def test_staff_signed_in_without_the_second_factor_is_refused(make_user: Callable[..., User]) -> None:
    client = Client()
    client.force_login(make_user("analyst"))
    error = assert_error(client.get(f"{API}/me"), 401, "second_factor_required")
    assert "second factor" in error["message"]


def test_staff_who_passed_the_second_factor_can_use_the_api_from_the_browser(
    verified_client: Callable[..., Client],
) -> None:
    response = verified_client("analyst").get(f"{API}/me")
    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "session"


def test_a_declarant_session_needs_no_second_factor(make_user: Callable[..., User]) -> None:
    client = Client()
    client.force_login(make_user("declarant"))
    assert client.get(f"{API}/me").json()["roles"] == ["declarant"]


def test_a_session_post_without_the_csrf_token_is_refused_and_with_it_succeeds(
    make_user: Callable[..., User], verified_client: Callable[..., Client]
) -> None:
    user = make_user("declarant")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert_error(client.post(f"{API}/tokens", {"name": "laptop"}, content_type="application/json"), 403, "csrf_failed")
    docs = client.get(f"{API}/docs").content.decode()
    csrf_token = re.search(r'data-csrf-token="([^"]+)"', docs)
    assert csrf_token is not None
    response = client.post(
        f"{API}/tokens",
        {"name": "laptop"},
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token.group(1)},
    )
    assert response.status_code == 201


# --- one error body for every kind of error -------------------------------------------------


def test_unknown_paths_under_the_api_get_404_with_the_error_body(make_user: Callable[..., User]) -> None:
    client = Client()
    error = assert_error(client.get(f"{API}/nope"), 404, "not_found")
    assert "/api/v1/nope" in error["message"]
    assert_error(client.post(f"{API}/nope/deeper", {}), 404, "not_found")
    assert client.head(f"{API}/nope").status_code == 404
    assert_error(client.get(f"{API}/"), 404, "not_found")
    headers = bearer(make_user("analyst"))
    assert_error(client.get(f"{API}/people/not-a-number", headers=headers), 404, "not_found")


def test_a_record_that_does_not_exist_gets_404(make_user: Callable[..., User]) -> None:
    headers = bearer(make_user("analyst"))
    for path in (
        "people/999999",
        "organisations/999999",
        "public-bodies/999999",
        "findings/999999",
        "detector-runs/999999",
        "tokens/999999",
    ):
        method = Client().delete if path.startswith("tokens") else Client().get
        assert_error(method(f"{API}/{path}", headers=headers), 404, "not_found")


def test_an_unknown_detector_code_gets_404_with_the_registry_in_the_message(
    make_user: Callable[..., User],
) -> None:
    response = Client().post(
        f"{API}/detectors/NO-SUCH/runs",
        {"parameters": {}},
        content_type="application/json",
        headers=bearer(make_user("analyst")),
    )
    error = assert_error(response, 404, "not_found")
    assert "CORE-ID-SHARED" in error["message"]


def test_an_unknown_detector_parameter_gets_400_and_runs_nothing(make_user: Callable[..., User]) -> None:
    response = Client().post(
        f"{API}/detectors/CORE-ID-SHARED/runs",
        {"parameters": {"colour": "red"}},
        content_type="application/json",
        headers=bearer(make_user("analyst")),
    )
    error = assert_error(response, 400, "bad_request")
    assert error["message"] == "Detector CORE-ID-SHARED has no parameter 'colour'; it has: schemes."
    assert not DetectorRun.objects.exists()
    assert not Job.objects.exists()


def test_an_invalid_request_body_gets_422_with_each_problem_in_details(
    make_user: Callable[..., User], flagged_finding: Finding
) -> None:
    response = Client().post(
        f"{API}/findings/{flagged_finding.pk}/triage",
        {"decision": "maybe"},
        content_type="application/json",
        headers=bearer(make_user("analyst")),
    )
    error = assert_error(response, 422, "validation_error")
    assert isinstance(error["details"], list) and error["details"]
    assert error["details"][0]["loc"][-1] == "decision"


def test_a_malformed_json_body_gets_an_error_body(make_user: Callable[..., User]) -> None:
    response = Client().post(
        f"{API}/detectors/CORE-ID-SHARED/runs",
        "{not json",
        content_type="application/json",
        headers=bearer(make_user("analyst")),
    )
    assert_error(response, 400, "bad_request")


def test_a_service_refusal_gets_400_with_its_sentence(make_user: Callable[..., User], flagged_finding: Finding) -> None:
    response = Client().post(
        f"{API}/findings/{flagged_finding.pk}/triage",
        {"decision": "dismissed", "reason": "  "},
        content_type="application/json",
        headers=bearer(make_user("analyst")),
    )
    error = assert_error(response, 400, "bad_request")
    assert "reason" in error["message"]


def test_a_wrong_method_gets_405_with_the_error_body(make_user: Callable[..., User]) -> None:
    response = Client().delete(f"{API}/me", headers=bearer(make_user("analyst")))
    error = assert_error(response, 405, "method_not_allowed")
    assert error["details"] == {"allowed": ["GET"]}
    assert response["Allow"] == "GET"


def test_an_unexpected_failure_gets_500_without_internals(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(user: Any) -> dict[str, int]:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("probity.core.selectors.dashboard_counts", broken)
    response = Client().get(f"{API}/stats", headers=bearer(make_user("analyst")))
    assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()


# --- the published schema and docs ----------------------------------------------------------

MODULE_ROUTERS = (
    "warehouse",
    "procurement",
    "ownership",
    "entities",
    "match",
    "reconcile",
    "reporting",
    "declarations",
    "cases",  # tests/cases/test_api.py lists its operations
)
EXPECTED_OPERATIONS = {
    ("get", "/api/v1/me"),
    ("get", "/api/v1/stats"),
    ("get", "/api/v1/public-bodies"),
    ("get", "/api/v1/public-bodies/{body_id}"),
    ("get", "/api/v1/positions"),
    ("get", "/api/v1/people"),
    ("get", "/api/v1/people/{person_id}"),
    ("get", "/api/v1/organisations"),
    ("get", "/api/v1/organisations/{organisation_id}"),
    ("get", "/api/v1/detectors"),
    ("post", "/api/v1/detectors/{code}/runs"),
    ("get", "/api/v1/detector-runs"),
    ("get", "/api/v1/detector-runs/{run_id}"),
    ("get", "/api/v1/findings"),
    ("get", "/api/v1/findings/{finding_id}"),
    ("post", "/api/v1/findings/{finding_id}/triage"),
    ("post", "/api/v1/findings/{finding_id}/assign"),
    ("get", "/api/v1/findings/{finding_id}/notes"),
    ("post", "/api/v1/findings/{finding_id}/notes"),
    ("post", "/api/v1/audit/verify"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{token_id}"),
    ("get", "/api/v1/jobs"),
    ("post", "/api/v1/jobs"),
    ("get", "/api/v1/jobs/kinds"),
    ("get", "/api/v1/jobs/{job_id}"),
    ("post", "/api/v1/jobs/{job_id}/cancel"),
    ("post", "/api/v1/jobs/{job_id}/retry"),
    ("get", "/api/v1/schedules"),
    ("patch", "/api/v1/schedules/{schedule_id}"),
    ("post", "/api/v1/schedules/{schedule_id}/run"),
    # The graph of people and organisations: managed records, profiles across sources, links and undo.
    ("post", "/api/v1/people"),
    ("patch", "/api/v1/people/{person_id}"),
    ("post", "/api/v1/people/import"),
    ("post", "/api/v1/people/{person_id}/family"),
    ("post", "/api/v1/people/{person_id}/positions"),
    ("post", "/api/v1/people/{person_id}/merge"),
    ("post", "/api/v1/people/{person_id}/split"),
    ("get", "/api/v1/people/{person_id}/profile"),
    ("get", "/api/v1/people/{person_id}/neighbourhood.ftm"),
    ("post", "/api/v1/organisations"),
    ("patch", "/api/v1/organisations/{organisation_id}"),
    ("post", "/api/v1/organisations/{organisation_id}/merge"),
    ("post", "/api/v1/organisations/{organisation_id}/split"),
    ("get", "/api/v1/organisations/{organisation_id}/profile"),
    ("get", "/api/v1/organisations/{organisation_id}/neighbourhood.ftm"),
    ("post", "/api/v1/public-bodies"),
    ("patch", "/api/v1/public-bodies/{body_id}"),
    ("post", "/api/v1/records/undo/{sequence}"),
    ("get", "/api/v1/links"),
    ("get", "/api/v1/links/{link_id}"),
    ("post", "/api/v1/links/{link_id}/decision"),
}


def test_the_openapi_schema_lists_every_endpoint_and_declares_bearer_auth() -> None:
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Probity API"
    assert schema["info"]["version"] == "1"
    module_prefixes = tuple(f"/api/v1/{module}" for module in MODULE_ROUTERS)  # each module tests its own
    operations = {
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if not path.startswith(module_prefixes)
    }
    assert {path.split("/")[3] for path in schema["paths"]} >= set(MODULE_ROUTERS)
    assert operations == EXPECTED_OPERATIONS
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerTokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["BearerTokenAuth"]["description"],
    }
    assert schemes["VerifiedSessionAuth"]["in"] == "cookie"
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert operation["tags"], (method, path)
            for status in ("401", "500"):  # every operation, also other apps' routers
                assert operation["responses"][status]["content"]["application/json"]["schema"] == error_ref
            if (method, path) not in EXPECTED_OPERATIONS:
                continue
            if (method, path) == ("post", "/api/v1/tokens"):
                assert operation["security"] == [{"VerifiedSessionAuth": []}]
            else:
                assert operation["security"] == [{"BearerTokenAuth": []}, {"VerifiedSessionAuth": []}]
            assert all(
                r["content"]["application/json"]["schema"] == error_ref
                for status, r in operation["responses"].items()
                if int(status) >= 400
            )
    assert "error" in schema["components"]["schemas"]["ErrorOut"]["properties"]
    assert schema["paths"]["/api/v1/findings/{finding_id}/triage"]["post"]["responses"].keys() >= {
        "200",
        "400",
        "401",
        "403",
        "404",
        "422",
        "500",
    }
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', response.content.decode()))
    assert refs and refs <= set(schema["components"]["schemas"])  # every reference resolves


def test_every_schema_in_the_openapi_document_is_valid_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")  # not a declared dependency of the project (yet)
    schema = Client().get(f"{API}/openapi.json").json()
    for component in schema["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(component)  # OpenAPI 3.1 uses draft 2020-12


def test_the_docs_page_loads_swagger_ui_from_this_site_only() -> None:
    response = Client().get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in sources)
    assert all(s.startswith("/static/") for s in sources), sources
    assert "<script>" not in html and "style=" not in html  # no inline code for the CSP to block
    for source in sources:
        asset = Client().get(source)
        assert asset.status_code == 200, source
        asset.close()


# --- what each role sees and may do ---------------------------------------------------------


def test_a_declarant_sees_only_their_own_person_and_family(
    make_user: Callable[..., User], country: dict[str, Any]
) -> None:
    declarant = make_user("declarant")
    minister = country["minister"]
    minister.user = declarant
    minister.save()
    client, headers = Client(), bearer(declarant)

    listed = client.get(f"{API}/people", headers=headers).json()
    assert listed["count"] == 2
    assert {p["name"] for p in listed["items"]} == {"Ana Minister", "Boris Spouse"}

    own = client.get(f"{API}/people/{minister.pk}", headers=headers).json()
    assert own["family"] == [
        {"person": {"id": country["spouse"].pk, "name": "Boris Spouse"}, "relation": "spouse", "direction": "relative"}
    ]
    spouse = client.get(f"{API}/people/{country['spouse'].pk}", headers=headers).json()
    assert spouse["family"][0]["direction"] == "relative_of"
    assert_error(client.get(f"{API}/people/{country['stranger'].pk}", headers=headers), 404, "not_found")
    assert client.get(f"{API}/me", headers=headers).json()["person_id"] == minister.pk
    assert_error(client.get(f"{API}/organisations", headers=headers), 403, "permission_denied")
    assert_error(client.get(f"{API}/findings", headers=headers), 403, "permission_denied")
    assert client.get(f"{API}/stats", headers=headers).json()["people"] == 2


def test_an_analyst_finds_people_by_any_spelling_and_never_sees_a_national_id(
    make_user: Callable[..., User], country: dict[str, Any]
) -> None:
    client, headers = Client(), bearer(make_user("analyst"))
    found = client.get(f"{API}/people", {"q": "Анна"}, headers=headers).json()
    assert [p["name"] for p in found["items"]] == ["Ana Minister"]

    response = client.get(f"{API}/people/{country['minister'].pk}", headers=headers)
    person = response.json()
    assert person["alternative_names"] == [{"name": "Анна Министр", "script": "Cyrl"}]
    assert person["identifiers"] == [{"scheme": "national_id", "issuer": "XX", "value": None, "hashed": True}]
    assert "8001011234" not in response.content.decode()
    value_hash = Identifier.objects.get(person=country["minister"]).value_hash
    assert value_hash not in response.content.decode()
    assert person["positions"][0]["title"] == "Minister"
    assert person["positions"][0]["body_name"] == "Ministry of Roads"


def test_public_bodies_show_their_parent_and_children(make_user: Callable[..., User], country: dict[str, Any]) -> None:
    client, headers = Client(), bearer(make_user("case_handler"))
    ministry = client.get(f"{API}/public-bodies/{country['ministry'].pk}", headers=headers).json()
    assert ministry["parent_id"] is None
    assert ministry["children_ids"] == [country["agency"].pk]
    agency = client.get(f"{API}/public-bodies/{country['agency'].pk}", headers=headers).json()
    assert agency["parent_id"] == country["ministry"].pk
    listed = client.get(f"{API}/public-bodies", {"limit": 1}, headers=headers).json()
    assert listed["count"] == 2 and len(listed["items"]) == 1


def test_a_case_handler_sees_positions_but_not_the_person_behind_them(
    make_user: Callable[..., User], country: dict[str, Any]
) -> None:
    client = Client()
    as_case_handler = client.get(f"{API}/positions", headers=bearer(make_user("case_handler"))).json()
    assert as_case_handler["items"][0]["title"] == "Minister"
    assert as_case_handler["items"][0]["holder"] is None
    as_analyst = client.get(f"{API}/positions", headers=bearer(make_user("analyst"))).json()
    assert as_analyst["items"][0]["holder"] == {"id": country["minister"].pk, "name": "Ana Minister"}
    refused = client.get(f"{API}/people", headers=bearer(make_user("case_handler")))
    assert_error(refused, 403, "permission_denied")


def test_organisations_can_be_searched_and_show_their_identifiers(
    make_user: Callable[..., User], country: dict[str, Any]
) -> None:
    client, headers = Client(), bearer(make_user("verifier"))
    found = client.get(f"{API}/organisations", {"q": "bauunternehmen"}, headers=headers).json()
    assert [o["name"] for o in found["items"]] == ["Lone Builders"]
    acme = client.get(f"{API}/organisations/{country['acme'].pk}", headers=headers).json()
    assert acme["identifiers"] == [{"scheme": "company_register", "issuer": "XX", "value": "123-45", "hashed": False}]


def test_an_auditor_can_verify_the_audit_log_but_not_triage_findings(
    make_user: Callable[..., User], flagged_finding: Finding
) -> None:
    client, headers = Client(), bearer(make_user("auditor"))
    verified = client.post(f"{API}/audit/verify", headers=headers)
    assert verified.status_code == 200
    result = verified.json()
    assert result["ok"] is True and result["problems"] == []
    assert result["entries_checked"] == AuditEntry.objects.count() > 0
    assert len(result["head_hash"]) == 64

    refused = client.post(
        f"{API}/findings/{flagged_finding.pk}/triage",
        {"decision": "confirmed"},
        content_type="application/json",
        headers=headers,
    )
    error = assert_error(refused, 403, "permission_denied")
    assert "confirm or dismiss" in error["message"]
    assert Finding.objects.get(pk=flagged_finding.pk).triage == "open"
    assert_error(
        client.post(f"{API}/detectors/CORE-ID-SHARED/runs", {}, content_type="application/json", headers=headers),
        403,
        "permission_denied",
    )


def test_an_analyst_cannot_verify_the_audit_log(make_user: Callable[..., User]) -> None:
    response = Client().post(f"{API}/audit/verify", headers=bearer(make_user("analyst")))
    assert_error(response, 403, "permission_denied")


def test_an_audit_log_with_a_broken_chain_is_reported(make_user: Callable[..., User]) -> None:
    headers = bearer(make_user("administrator"))
    AuditEntry.objects.filter(sequence=1).update(actor="someone-else")
    result = Client().post(f"{API}/audit/verify", headers=headers).json()
    assert result["ok"] is False
    assert result["problems"][0]["sequence"] == 1
    assert "changed" in result["problems"][0]["reason"]


def test_the_detector_registry_lists_codes_parameters_and_defaults(make_user: Callable[..., User]) -> None:
    registry = Client().get(f"{API}/detectors", headers=bearer(make_user("analyst"))).json()
    shared = next(d for d in registry["items"] if d["code"] == "CORE-ID-SHARED")
    assert shared["title"] == "Identifier shared by several organisations"
    assert shared["subject_type"] == "organisation"
    assert shared["fields"]
    assert shared["parameters"] == [
        {
            "name": "schemes",
            "default": ["company_register", "tax_id", "vat", "lei"],
            "kind": "list",
            "description": "identifier schemes to compare (comma-separated)",
        }
    ]


def test_an_analyst_runs_the_shared_identifier_detector_and_triages_its_findings(
    make_user: Callable[..., User], country: dict[str, Any], run_jobs: Callable[[], list[Job]]
) -> None:
    analyst = make_user("analyst")
    client, headers = Client(), bearer(analyst)
    started = client.post(
        f"{API}/detectors/CORE-ID-SHARED/runs",
        {"parameters": {"schemes": "company_register"}},
        content_type="application/json",
        headers=headers,
    )
    assert started.status_code == 202, started.content
    job = started.json()
    assert (job["kind"], job["status"], job["trigger"]) == ("core.detector_run", "queued", "api")
    assert job["requested_by"] == analyst.username
    assert job["parameters"] == {"detector": "CORE-ID-SHARED", "parameters": {"schemes": "company_register"}}
    assert not DetectorRun.objects.exists()  # queued, not run inside the request
    run_jobs()
    finished = client.get(f"{API}/jobs/{job['id']}", headers=headers).json()
    assert finished["status"] == "succeeded" and finished["result"]["flagged"] == 2, finished
    run = client.get(f"{API}/detector-runs", headers=headers).json()["items"][0]
    assert run["status"] == "succeeded"
    assert run["started_by"] == analyst.username
    assert run["parameters"] == {"schemes": ["company_register"]}
    assert (run["subjects_checked"], run["flagged"], run["passed"]) == (3, 2, 1)
    assert AuditEntry.objects.filter(action="detector_run", actor=analyst.username).exists()

    assert client.get(f"{API}/detector-runs/{run['id']}", headers=headers).json()["id"] == run["id"]
    assert client.get(f"{API}/detector-runs", headers=headers).json()["count"] == 1

    flagged = client.get(f"{API}/findings", {"detector": "CORE-ID-SHARED", "outcome": "flag"}, headers=headers).json()
    assert flagged["count"] == 2
    assert {f["subject_label"] for f in flagged["items"]} == {"Acme Roads LLC", "Front Roads LLC"}
    assert all(f["run_id"] == run["id"] and f["score"] == 1.0 for f in flagged["items"])
    first = flagged["items"][0]
    assert client.get(f"{API}/findings/{first['id']}", headers=headers).json() == first

    dismissed = client.post(
        f"{API}/findings/{first['id']}/triage",
        {"decision": "dismissed", "reason": "same firm, renamed"},
        content_type="application/json",
        headers=headers,
    )
    assert dismissed.status_code == 200
    assert dismissed.json()["triage"] == "dismissed"
    entry = AuditEntry.objects.filter(object_type="core.finding", object_id=str(first["id"])).last()
    assert entry is not None and entry.actor == analyst.username
    still_open = client.get(f"{API}/findings", {"outcome": "flag", "triage": "open"}, headers=headers).json()
    assert still_open["count"] == 1
    invalid = client.get(f"{API}/findings", {"outcome": "maybe"}, headers=headers)
    assert_error(invalid, 422, "validation_error")


def test_a_detector_run_without_a_body_uses_the_default_parameters(
    make_user: Callable[..., User], country: dict[str, Any], run_jobs: Callable[[], list[Job]]
) -> None:
    response = Client().generic(
        "POST", f"{API}/detectors/CORE-ID-SHARED/runs", b"", headers=bearer(make_user("administrator"))
    )
    assert response.status_code == 202
    assert response.json()["parameters"] == {"detector": "CORE-ID-SHARED", "parameters": {}}
    run_jobs()
    run = DetectorRun.objects.get()
    assert run.parameters == {"schemes": ["company_register", "tax_id", "vat", "lei"]}


# --- tokens ---------------------------------------------------------------------------------


def test_a_signed_in_person_creates_a_token_that_is_shown_once_and_works(
    verified_client: Callable[..., Client],
) -> None:
    client = verified_client("analyst")
    created = client.post(
        f"{API}/tokens", {"name": "nightly export", "expires_days": 30}, content_type="application/json"
    )
    assert created.status_code == 201
    token = created.json()
    assert token["secret"].startswith(token["prefix"])
    assert token["active"] is True
    assert 29 <= (datetime.fromisoformat(token["expires_at"]) - timezone.now()).days <= 30

    listed = client.get(f"{API}/tokens").json()
    assert listed["count"] == 1
    assert "secret" not in listed["items"][0]
    assert token["secret"] not in client.get(f"{API}/tokens").content.decode()

    machine = Client()
    me = machine.get(f"{API}/me", headers={"Authorization": f"Bearer {token['secret']}"})
    assert me.json()["username"] == client.user.username  # type: ignore[attr-defined]


def test_a_token_cannot_create_more_tokens(make_user: Callable[..., User]) -> None:
    response = Client().post(
        f"{API}/tokens", {"name": "more"}, content_type="application/json", headers=bearer(make_user("analyst"))
    )
    error = assert_error(response, 403, "permission_denied")
    assert "sign in" in error["message"]
    assert APIToken.objects.count() == 1


def test_a_user_revokes_their_own_token_but_not_someone_elses(make_user: Callable[..., User]) -> None:
    alice, bob = make_user("analyst"), make_user("analyst")
    alice_headers = bearer(alice)
    bob_token, _secret = services.api_token_create(user=bob, name="bob's")
    alice_token = APIToken.objects.get(user=alice)

    assert_error(Client().delete(f"{API}/tokens/{bob_token.pk}", headers=alice_headers), 404, "not_found")
    assert APIToken.objects.get(pk=bob_token.pk).revoked_at is None

    revoked = Client().delete(f"{API}/tokens/{alice_token.pk}", headers=alice_headers)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert_error(Client().get(f"{API}/me", headers=alice_headers), 401, "not_authenticated")
    revocations = AuditEntry.objects.filter(action="update", object_type="core.apitoken")
    assert revocations.filter(actor=alice.username).exists()


def test_the_served_openapi_document_has_no_duplicated_keys() -> None:
    """An ``openapi_extra`` with ``"200"`` beside ninja's ``200`` serialises as two equal keys: JSON
    parsers keep one, but Swagger UI's YAML parser refuses the whole document."""
    duplicated: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _value in pairs]
        duplicated.extend(sorted({key for key in keys if keys.count(key) > 1}))
        return dict(pairs)

    response = Client().get(f"{API}/openapi.json")
    json.loads(response.content, object_pairs_hook=pairs_hook)
    assert duplicated == []
