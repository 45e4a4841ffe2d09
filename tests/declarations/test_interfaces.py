"""API (filing, reading with the object rule), web pages (risk ranking, escaping, Chinese), CLI."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from probity.core.models import Person
from probity.core.services import detector_run
from probity.declarations.models import Declaration, DeclarationVersion
from probity.declarations.services import declaration_submit
from tests.core.test_i18n import untranslated_words

pytestmark = pytest.mark.django_db

API = "/api/v1/declarations"


def _declarant_client(make_user: Callable[..., Any], name: str = "Ana") -> tuple[Client, Person]:
    user = make_user("declarant")
    person = Person.objects.create(name=name, user=user)
    client = Client()
    client.force_login(user)
    return client, person


def test_endpoints_are_in_the_openapi_schema(verified_client: Callable[..., Client]) -> None:
    paths = verified_client("analyst").get("/api/v1/openapi.json").json()["paths"]
    assert {"401", "403", "422", "500"} <= set(paths[API]["post"]["responses"])
    assert "404" in paths[f"{API}/{{declaration_id}}"]["get"]["responses"]


def test_a_declarant_files_through_the_api_and_reads_only_their_own(
    make_user: Callable[..., Any], payload: dict[str, Any], verified_client: Callable[..., Client]
) -> None:
    client, person = _declarant_client(make_user)
    response = client.post(API, json.dumps(payload), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1 and len(body["content_hash"]) == 64
    again = client.post(API, json.dumps(payload), content_type="application/json")
    assert again.status_code == 200 and again.json()["created"] is False

    bad = copy.deepcopy(payload)
    bad["real_estate"][0]["value"]["amount"] = "lots"
    refused = client.post(API, json.dumps(bad), content_type="application/json")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["path"] == "real_estate[0].value"
    assert DeclarationVersion.objects.count() == 1

    own = client.get(f"{API}/{body['id']}")
    assert own.status_code == 200 and own.json()["latest_version"]["content"]["declarant"]["name"] == "Ana Test"

    other_client, _other = _declarant_client(make_user, "Bo")
    assert other_client.get(f"{API}/{body['id']}").status_code == 404  # not theirs: as if it did not exist
    assert verified_client("verifier").get(f"{API}/{body['id']}").status_code == 200
    assert client.get(f"{API}/999999").status_code == 404


def test_an_account_without_a_person_cannot_file(make_user: Callable[..., Any], payload: dict[str, Any]) -> None:
    client = Client()
    client.force_login(make_user("declarant"))
    response = client.post(API, json.dumps(payload), content_type="application/json")
    assert response.status_code == 403 and "not linked to a person" in response.json()["error"]["message"]


def test_verifier_pages_rank_by_risk_escape_free_text_and_show_the_diff(
    verified_client: Callable[..., Client], payload: dict[str, Any]
) -> None:
    person = Person.objects.create(name="Ana <b>Bold</b>")
    before = copy.deepcopy(payload)
    before["external_id"], before["period"]["year"] = "y2022", 2022
    declaration_submit(declarant=person, payload=before)
    payload["cash_and_accounts"][0]["amount"]["amount"] = "900000"
    payload["real_estate"][0]["description"] = "<script>alert(1)</script>"
    later = declaration_submit(declarant=person, payload=payload).declaration
    payload["cash_and_accounts"][0]["amount"]["amount"] = "900001"
    declaration_submit(declarant=person, payload=payload)
    detector_run(code="DECL-WEALTH")

    client = verified_client("verifier")
    listing = client.get("/declarations/").content.decode()
    assert listing.index(f"/declarations/{later.pk}/") < listing.index(
        f"/declarations/{Declaration.objects.get(external_id='y2022').pk}/"
    )
    assert "<b>Bold</b>" not in listing and "&lt;b&gt;Bold&lt;/b&gt;" in listing
    page = client.get(f"/declarations/{later.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "DECL-WEALTH" in page and "is not explained" in page and "cash_and_accounts[0].amount.amount" in page


def test_pages_in_chinese_show_no_english(
    verified_client: Callable[..., Client], make_user: Callable[..., Any], payload: dict[str, Any]
) -> None:
    payload["position"] = {"title": "采购处长", "body": {"name": "交通部"}}
    declaration_submit(declarant=Person.objects.create(name="王芳"), payload=payload)
    client = verified_client(user=make_user("verifier", username="核查员"))
    client.cookies["django_language"] = "zh-hans"
    response = client.get("/declarations/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert untranslated_words(response.content.decode()) == []


def test_declarant_sees_only_their_own_declarations_in_the_list(
    make_user: Callable[..., Any], payload: dict[str, Any]
) -> None:
    client, person = _declarant_client(make_user)
    mine = declaration_submit(declarant=person, payload=payload).declaration
    other = copy.deepcopy(payload)
    other["external_id"] = "someone-else"
    theirs = declaration_submit(declarant=Person.objects.create(name="Zed"), payload=other).declaration
    page = client.get("/declarations/").content.decode()
    assert f"/declarations/{mine.pk}/" in page and f"/declarations/{theirs.pk}/" not in page
    assert client.get(f"/declarations/{theirs.pk}/").status_code == 404
    detector_run(code="DECL-ARITHMETIC")
    own = client.get(f"/declarations/{mine.pk}/").content.decode()
    assert "DECL-ARITHMETIC" not in own  # findings are for verifiers
    assert client.get(f"{API}/{mine.pk}").json()["findings"] == []


def test_cli_import_rates_and_verify_with_exit_codes(
    tmp_path: Path, payload: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(payload))
    call_command("declarations", "import", str(good))
    assert "1 stored" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    with pytest.raises(SystemExit) as exited:
        call_command("declarations", "import", str(bad))
    assert exited.value.code == 1
    with pytest.raises(SystemExit) as exited:
        call_command("declarations", "import", str(tmp_path / "missing.json"))
    assert exited.value.code == 2
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,base_currency,rate\n2023-01-01,USD,EUR,0.9\n")
    call_command("declarations", "rates", str(rates))
    call_command("declarations", "verify")
    out = capsys.readouterr().out
    assert "1 rates stored" in out and "DECL-WEALTH: 1 checked" in out
    with pytest.raises(SystemExit) as exited:
        call_command("declarations", "verify", "--param", "DECL-WEALTH.nope=1")
    assert exited.value.code == 2
