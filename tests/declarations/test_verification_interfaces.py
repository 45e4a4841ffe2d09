"""Verification pages (queue, samples, case, side by side) and API: what each role sees and may do."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from probity.core.models import AuditEntry, Finding, Person
from probity.declarations.models import Declaration, SampleDraw, VerificationCase
from probity.declarations.verification import selectors
from probity.declarations.verification import services as verification
from tests.declarations.test_verification import SEED, independent_redraw, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

API = "/api/v1/declarations/verification"


def _url(name: str, *args: Any) -> str:
    return reverse(f"declarations:{name}", args=args)


# --- pages -----------------------------------------------------------------------------------------------


def test_the_queue_page_ranks_and_filters(
    world: dict[str, Declaration],  # noqa: F811
    verified_client: Callable[..., Client],
) -> None:
    client = verified_client("verifier")
    page = client.get(_url("verification_queue")).content.decode()
    assert page.index(_url("declaration_compare", world["after"].pk)) < page.index(
        _url("declaration_compare", world["odd"].pk)
    )
    filtered = client.get(_url("verification_queue"), {"year": 2022}).content.decode()
    assert _url("declaration_compare", world["before"].pk) in filtered
    assert _url("declaration_compare", world["after"].pk) not in filtered
    # A verifier sees neither the selection nor the sample form, and cannot post them.
    assert 'value="draw"' not in page and 'value="select"' not in page
    response = client.post(_url("verification_queue"), {"action": "draw", "sample-size": 1})
    assert response.status_code == 403 and not SampleDraw.objects.exists()
    assert client.post(_url("verification_queue"), {"action": "select", "risk-top": 1}).status_code == 403


def test_an_administrator_selects_and_draws_from_the_queue_page(
    world: dict[str, Declaration],  # noqa: F811
    verified_client: Callable[..., Client],
) -> None:
    client = verified_client("administrator")
    response = client.post(_url("verification_queue") + "?year=2023", {"action": "select", "risk-top": 1})
    assert response.status_code == 302
    case = VerificationCase.objects.get()
    assert case.declaration == world["after"] and case.reason == "risk"

    response = client.post(
        _url("verification_queue") + "?year=2023", {"action": "draw", "sample-size": 2, "sample-seed": SEED}
    )
    sample = SampleDraw.objects.get()
    assert response.status_code == 302 and response["Location"] == _url("verification_sample", sample.pk)
    assert sample.criteria["year"] == 2023 and sample.seed == SEED
    page = client.get(response["Location"]).content.decode()
    assert SEED in page and sample.population_hash in page
    checked = client.get(response["Location"], {"check": 1}).content.decode()
    assert "check-ok" in checked and "selects exactly the recorded declarations" in checked
    SampleDraw.objects.filter(pk=sample.pk).update(selected=list(reversed(sample.selected)))
    assert "check-broken" in client.get(response["Location"], {"check": 1}).content.decode()
    assert _url("verification_sample", sample.pk) in client.get(_url("verification_samples")).content.decode()

    bad = client.post(_url("verification_queue"), {"action": "draw", "sample-size": 2, "sample-seed": "xyz"})
    assert bad.status_code == 200 and "hexadecimal" in bad.content.decode()


def test_a_declarant_sees_no_verification_page(
    world: dict[str, Declaration],  # noqa: F811
    make_user: Callable[..., Any],
) -> None:
    user = make_user("declarant")
    world["after"].declarant.user = user
    world["after"].declarant.save()
    client = Client()
    client.force_login(user)
    case = verification.select_by_risk(top=1).created[0]
    sample = verification.draw_sample(size=1).sample
    for url in (
        _url("verification_queue"),
        _url("verification_case", case.pk),
        _url("verification_samples"),
        _url("verification_sample", sample.pk),
        _url("declaration_compare", world["after"].pk),  # even their own: the findings are for verifiers
    ):
        assert client.get(url).status_code == 403, url


def test_the_compare_page_highlights_changes_and_explains_findings(
    payload: dict[str, Any], verified_client: Callable[..., Client]
) -> None:
    from probity.core.services import detector_run
    from probity.declarations.services import declaration_submit

    person = Person.objects.create(name="Ana")
    before = copy.deepcopy(payload)
    before["external_id"], before["period"]["year"], before["submitted"] = "a-2022", 2022, "2023-03-01"
    before["valuables"] = [
        {
            "owner": "declarant",
            "kind": "watch",
            "description": "Old watch",
            "value": {"amount": "500", "currency": "EUR"},
        }
    ]
    declaration_submit(declarant=person, payload=before)
    payload["cash_and_accounts"][0]["amount"]["amount"] = "900000"
    payload["vehicles"].append(
        {
            "owner": "declarant",
            "kind": "car",
            "make_model": "<b>Porsche</b>",
            "value": {"amount": "1", "currency": "EUR"},
        }
    )
    later = declaration_submit(declarant=person, payload=payload).declaration
    detector_run(code="DECL-WEALTH")
    detector_run(code="DECL-CROSSYEAR")

    client = verified_client("verifier")
    page = client.get(_url("declaration_compare", later.pk)).content.decode()
    assert "<b>Porsche</b>" not in page and "&lt;b&gt;Porsche&lt;/b&gt;" in page
    # The changed bank balance: old struck through, new inserted, labelled in words, not colour alone.
    assert re.search(r'class="old cell-changed"><del>10000 EUR</del>', page)
    assert re.search(r'class="new cell-changed"><ins>900000 EUR</ins>', page)
    assert '<span class="change">changed</span>' in page
    assert 'tbody class="row change-added"' in page and 'tbody class="row change-removed"' in page
    assert '<td class="change">added</td>' in page and '<td class="change">removed</td>' in page
    # Each finding explained: the wealth arithmetic with its terms and weight, the cross-year issues by section.
    assert "DECL-WEALTH" in page and "is not explained" in page and "= unexplained amount" in page
    wealth = Finding.objects.get(detector_code="DECL-WEALTH", subject_id=str(later.pk))
    assert wealth.evidence["arithmetic"] in page and "Weight in the risk score" in page
    assert "vanished: valuables watch" in page
    assert 'value="confirmed"' in page and 'value="dismissed"' in page
    assert "style=" not in page and "<script" not in page
    assert "Row 1: bank_account — Bank (declarant)" in page and 'id="section-income"' in page

    changes_only = client.get(_url("declaration_compare", later.pk), {"changes": "1"}).content.decode()
    assert 'id="section-income"' not in changes_only  # nothing changed there
    assert "<ins>900000 EUR</ins>" in changes_only and "Old watch" in changes_only

    response = client.post(
        _url("declaration_compare", later.pk), {"action": "decide", "finding": wealth.pk, "decision": "dismissed"}
    )
    assert response.status_code == 302
    wealth.refresh_from_db()
    assert wealth.triage == "open"  # a dismissal without a reason is refused
    client.post(
        _url("declaration_compare", later.pk),
        {"action": "decide", "finding": wealth.pk, "decision": "dismissed", "reason": "inheritance, documented"},
    )
    wealth.refresh_from_db()
    assert wealth.triage == "dismissed" and wealth.triage_reason == "inheritance, documented"

    auditor = verified_client("auditor")
    auditor_page = auditor.get(_url("declaration_compare", later.pk)).content.decode()
    assert "DECL-WEALTH" in auditor_page and 'value="confirmed"' not in auditor_page
    refused = auditor.post(
        _url("declaration_compare", later.pk), {"action": "decide", "finding": wealth.pk, "decision": "confirmed"}
    )
    assert refused.status_code == 403
    wealth.refresh_from_db()
    assert wealth.triage == "dismissed"


def test_the_case_page_runs_the_workflow(
    world: dict[str, Declaration],  # noqa: F811
    verified_client: Callable[..., Client],
    make_user: Callable[..., Any],
) -> None:
    case = verification.select_by_risk(top=1).created[0]
    verifier = make_user("verifier")
    admin = verified_client("administrator")
    url = _url("verification_case", case.pk)
    assert admin.post(url, {"action": "assign", "assign-verifier": verifier.pk}).status_code == 302
    case.refresh_from_db()
    assert case.verifier == verifier and case.status == "assigned"

    outsider = verified_client("verifier")
    assert outsider.post(url, {"action": "start"}).status_code == 403

    client = verified_client(user=verifier)
    page = client.get(url).content.decode()
    assert 'value="start"' in page and "DECL-WEALTH" in page
    client.post(url, {"action": "start"})
    flag = selectors.case_findings(case=case)[0]
    client.post(url, {"action": "decide", "finding": flag.pk, "decision": "confirmed"})
    flag.refresh_from_db()
    assert flag.triage == "confirmed"
    assert AuditEntry.objects.filter(details__event="verification_finding_decided", object_id=str(case.pk)).exists()
    refused = client.post(url, {"action": "outcome", "outcome-outcome": "sanction"})
    assert refused.status_code == 200 and "Say which sanction was imposed." in refused.content.decode()
    client.post(
        url,
        {"action": "outcome", "outcome-outcome": "sanction", "outcome-sanction": "fine of 1000", "outcome-close": "on"},
    )
    case.refresh_from_db()
    assert case.status == "completed" and case.outcome == "sanction" and case.sanction == "fine of 1000"
    assert "History (audit log)" not in client.get(url).content.decode()  # verifiers do not read the audit log
    history = verified_client("auditor").get(url).content.decode()
    assert "History (audit log)" in history and "verification_finding_decided" in history
    assert history.count(f"<td>{verifier.username}</td>") == 3  # start, decision, outcome with closing


# --- API ---------------------------------------------------------------------------------------------------


def test_verification_endpoints_are_in_the_openapi_schema(verified_client: Callable[..., Client]) -> None:
    paths = verified_client("auditor").get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/queue",
        "/select",
        "/samples",
        "/samples/{sample_id}",
        "/samples/{sample_id}/check",
        "/cases/{case_id}",
        "/cases/{case_id}/assign",
        "/cases/{case_id}/outcome",
    ):
        assert f"{API}{path}" in paths, path
    assert {"403", "422"} <= set(paths[f"{API}/samples"]["post"]["responses"])


def test_the_api_selects_draws_checks_and_runs_a_case(
    world: dict[str, Declaration],  # noqa: F811
    verified_client: Callable[..., Client],
) -> None:
    admin = verified_client("administrator")
    verifier = verified_client("verifier")
    auditor = verified_client("auditor")

    queue = auditor.get(f"{API}/queue", {"year": 2023}).json()
    assert queue["count"] == 3 and queue["items"][0]["declaration_id"] == world["after"].pk
    assert queue["items"][0]["risk_score"] == 5.0 and queue["items"][0]["rank"] == 1

    def post(client: Client, path: str, body: dict[str, Any]) -> Any:
        return client.post(f"{API}{path}", json.dumps(body), content_type="application/json")

    assert post(verifier, "/samples", {"size": 1}).status_code == 403
    assert post(auditor, "/select", {"top": 1}).status_code == 403
    bad = post(admin, "/select", {})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    selected = post(admin, "/select", {"top": 1, "year": 2023})
    assert selected.status_code == 201
    case_id = selected.json()["created"][0]["id"]

    drawn = post(admin, "/samples", {"size": 2, "seed": SEED, "year": 2023})
    assert drawn.status_code == 201, drawn.content
    body = drawn.json()
    population = sorted(Declaration.objects.filter(year=2023).values_list("pk", flat=True))
    assert (body["population_hash"], body["selected"]) == independent_redraw(SEED, population, 2)
    check = auditor.get(f"{API}/samples/{body['id']}/check").json()
    assert check["ok"] is True and check["population"] is None
    check = auditor.get(f"{API}/samples/{body['id']}/check", {"include_population": "true"}).json()
    assert check["ok"] is True and check["population"] == population
    too_big = post(admin, "/samples", {"size": 50})
    assert too_big.status_code == 400 and "larger than the population" in too_big.json()["error"]["message"]
    assert post(admin, "/samples", {"size": 0}).status_code == 422

    # The verifier takes the case, starts it, decides a finding, records the outcome and closes it.
    assert post(verifier, f"/cases/{case_id}/start", {}).status_code == 403  # not theirs yet
    taken = post(verifier, f"/cases/{case_id}/assign", {})
    assert taken.status_code == 200 and taken.json()["status"] == "assigned"
    assert post(verified_client("verifier"), f"/cases/{case_id}/assign", {}).status_code == 403
    early = post(verifier, f"/cases/{case_id}/outcome", {"outcome": "no_violation"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "conflict"
    assert post(verifier, f"/cases/{case_id}/start", {}).json()["status"] == "in_progress"
    detail = verifier.get(f"{API}/cases/{case_id}").json()
    flag = next(f for f in detail["findings"] if f["outcome"] == "flag")
    decided = post(verifier, f"/cases/{case_id}/findings/{flag['id']}", {"decision": "dismissed", "reason": "ok"})
    assert decided.status_code == 200 and decided.json()["triage"] == "dismissed"
    referral = post(verifier, f"/cases/{case_id}/outcome", {"outcome": "referral"})
    assert referral.status_code == 400 and "referred" in referral.json()["error"]["message"]
    done = post(
        verifier, f"/cases/{case_id}/outcome", {"outcome": "referral", "referred_to": "Prosecutor", "close": True}
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert post(verifier, f"/cases/{case_id}/close", {}).status_code == 409
    assert auditor.get(f"{API}/cases/999999").status_code == 404


def test_a_declarant_gets_nothing_from_the_api(
    world: dict[str, Declaration],  # noqa: F811
    make_user: Callable[..., Any],
) -> None:
    client = Client()
    client.force_login(make_user("declarant"))
    sample = verification.draw_sample(size=1).sample
    for path in ("/queue", "/samples", f"/samples/{sample.pk}", f"/samples/{sample.pk}/check", "/cases"):
        response = client.get(f"{API}{path}")
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied", path
    assert client.post(f"{API}/samples", json.dumps({"size": 1}), content_type="application/json").status_code == 403
    assert Client().get(f"{API}/queue").status_code == 401
