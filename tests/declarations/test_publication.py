"""Publication: redaction profiles, publish/replace/withdraw, the public register, its API, CLI and staff page."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from probity.core.models import AuditEntry, Person
from probity.declarations.models import Declaration, PublishedDeclaration, RedactionProfile
from probity.declarations.publication import redaction
from probity.declarations.publication import services as publication
from probity.declarations.selectors import declarations_matching
from probity.declarations.services import declaration_submit

pytestmark = pytest.mark.django_db

PUBLIC = "/declarations/public/"
API = "/api/v1/declarations/public"


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else bytes(response.content)


def _submit(payload: dict[str, Any], name: str = "Ana Test") -> Declaration:
    person = Person.objects.filter(name=name).first() or Person.objects.create(name=name)
    return declaration_submit(declarant=person, payload=payload).declaration


# --- profiles and redaction ------------------------------------------------------------------------


def test_the_default_profile_is_created_on_first_use_with_the_issue_fields() -> None:
    assert not RedactionProfile.objects.exists()
    profile = publication.default_profile()
    assert profile.is_default and profile.name == "default"
    assert publication.default_profile().pk == profile.pk and RedactionProfile.objects.count() == 1
    for path in (
        "declarant.national_id",
        "declarant.birth_date",
        "declarant.address",
        "real_estate[].location",
        "cash_and_accounts[].account_number",
        "vehicles[].registration",
        "family_members[minor].name",
    ):
        assert path in profile.fields
    assert any(p.startswith("private:") for p in profile.fields)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("declarant.passport", "declarant.passport is not a field"),
        ("real_estate.location", "real_estate.location is not a field"),
        ("vehicles[].registraton", "vehicles.registraton is not a field"),
        ("real_estate[minor].location", "[minor] applies to family_members only"),
        ("income[kind].source", "must be [], [minor] or [key=value]"),
        ("Declarant Name", "is not a field name"),
    ],
)
def test_profile_paths_are_checked_against_the_schema(path: str, message: str) -> None:
    with pytest.raises(redaction.ProfileInvalid, match=message.replace("[", r"\[").replace("]", r"\]")):
        publication.profile_set(name="strict", fields=[path])
    assert not RedactionProfile.objects.filter(name="strict").exists()


def test_redaction_removes_values_and_decides_minors_at_the_period_end(payload: dict[str, Any]) -> None:
    payload["period"] = {"year": 2023, "end": "2023-06-30"}
    payload["family_members"] = [
        {"id": "k1", "relation": "child", "name": "Turns Eighteen Later", "birth_date": "2005-07-01"},
        {"id": "k2", "relation": "child", "name": "Turned Eighteen", "birth_date": "2005-06-30"},
        {"id": "k3", "relation": "child", "name": "No Birth Date", "birth_date": {"not_provided": "unknown"}},
        {"id": "k4", "relation": "spouse", "name": "Spouse Name"},
        {"id": "k5", "relation": "child", "name": "Spouse Name", "birth_date": "2010-01-01"},  # a "junior"
    ]
    payload["vehicles"][0]["owner"] = "k4"
    payload["vehicles"][0]["notes"] = "registered as AB-123-CD"
    payload["vehicles"][0]["registration"] = "AB-123-CD"
    profile = publication.default_profile()
    redacted = redaction.redact(payload, profile)
    names = [m["name"] for m in redacted["family_members"]]
    assert names[0] == {"withheld": "redaction profile default", "label": "child"}
    assert names[1] == "Turned Eighteen"
    assert names[2]["label"] == "child"  # unknown birth date: withheld, when in doubt
    assert names[3] == "Spouse Name"  # public in its own right, though the minor "junior" shares it
    assert names[4]["label"] == "child"
    vehicle = redacted["vehicles"][0]
    assert vehicle["registration"] == {"withheld": "redaction profile default"}
    assert vehicle["notes"] == "registered as [withheld]"  # cut out of other free text too
    assert vehicle["owner"] == "member-4"
    assert payload["vehicles"][0]["registration"] == "AB-123-CD"  # the filed content is not touched
    assert "AB-123-CD" not in json.dumps(redacted) and "ab-123-cd" not in redaction.search_text(redacted)


def test_withheld_texts_are_cut_from_free_text_but_never_from_amounts_or_codes(payload: dict[str, Any]) -> None:
    payload["declarant"]["id"] = "1200"
    payload["declarant"]["address"] = "Straße 9, Town"
    payload["real_estate"][0]["value"]["amount"] = "12000.00"
    payload["real_estate"][0]["description"] = "flat 1200 at STRASSE 9, TOWN"
    payload["family_members"][0]["id"] = "Ben Test"  # an id that is a name: made opaque before anything else
    payload["vehicles"][0]["owner"] = "Ben Test"
    redacted = redaction.redact(payload, publication.default_profile())
    estate = redacted["real_estate"][0]
    assert estate["value"] == {"amount": "12000.00", "currency": "EUR"}
    assert estate["description"] == "[withheld]"  # a case variant re cannot cut out: the whole text goes
    assert redacted["vehicles"][0]["owner"] == "member-1" and redacted["family_members"][0]["id"] == "member-1"
    assert redacted["declarant"]["name"] == "Ana Test"

    # a whole withheld row: its texts are cut from other texts, its codes ("apartment") are not
    payload["valuables"] = [
        {
            "owner": "declarant",
            "kind": "painting",
            "description": "Old Master",
            "value": {"amount": "5", "currency": "EUR"},
        }
    ]
    payload["real_estate"][0]["description"] = "apartment with the Old Master painting"
    profile = publication.profile_set(name="rows", fields=["valuables[]"])
    redacted = redaction.redact(payload, profile)
    assert redacted["valuables"] == [{"withheld": "redaction profile rows"}]
    declaration = _submit(payload)
    publication.publish(declarations=[declaration], profile=profile)
    page = Client().get(f"{PUBLIC}{declaration.pk}/").content.decode()
    assert "Old Master" not in page and '<td class="withheld"><em>withheld</em></td>' in page
    assert redacted["real_estate"][0]["description"] == "apartment with the [withheld] painting"


def test_private_paths_row_filters_and_wildcards(payload: dict[str, Any]) -> None:
    payload["income"].append(
        {
            "owner": "declarant",
            "kind": "gift",
            "source": "Secret Benefactor",
            "amount": {"amount": "100", "currency": "EUR"},
        }
    )
    payload["real_estate"][0]["notes"] = "a note"
    profile = publication.profile_set(
        name="gifts", fields=["*[].notes"], private=["income[kind=gift].source"], description="test"
    )
    assert profile.fields == ["*[].notes", "private:income[kind=gift].source"]
    redacted = redaction.redact(payload, profile)
    assert redacted["income"][0]["source"] == "Ministry of Roads"
    assert redacted["income"][1]["source"] == {"withheld": "private (redaction profile gifts)"}
    assert redacted["real_estate"][0]["notes"] == {"withheld": "redaction profile gifts"}
    # set keeps the list that is not given
    publication.profile_set(name="gifts", fields=[])
    assert RedactionProfile.objects.get(name="gifts").fields == ["private:income[kind=gift].source"]


# --- publishing ----------------------------------------------------------------------------------------


def test_publish_is_idempotent_replaces_on_a_new_version_and_withdraws(payload: dict[str, Any]) -> None:
    payload["declarant"]["national_id"] = "ID-777"
    declaration = _submit(payload)
    report = publication.publish(declarations=[declaration])
    assert (report.published, report.replaced, report.unchanged) == (1, 0, 0)
    published = PublishedDeclaration.objects.get()
    first_at = published.published_at
    assert published.version.number == 1 and "id-777" not in published.search_text
    assert "ana test" in published.search_text and published.body_name == "Ministry of Roads"

    again = publication.publish(declarations=declarations_matching(year=2023))
    assert (again.published, again.replaced, again.unchanged) == (0, 0, 1)
    assert PublishedDeclaration.objects.get().published_at == first_at

    corrected = copy.deepcopy(payload)
    corrected["real_estate"][0]["description"] = "Home, renovated"
    _submit(corrected)
    report = publication.publish(declarations=declarations_matching(ids=[declaration.pk]))
    assert report.replaced == 1 and PublishedDeclaration.objects.count() == 1
    published = PublishedDeclaration.objects.get()
    assert published.version.number == 2 and "renovated" in published.search_text

    # a changed profile replaces the public copy too
    publication.profile_set(name="default", fields=["declarant.birth_date"], private=[])
    assert publication.publish(declarations=[declaration]).replaced == 1
    assert PublishedDeclaration.objects.get().content["declarant"]["national_id"] == "ID-777"

    assert publication.withdraw(declaration_ids=[declaration.pk]) == 1
    published = PublishedDeclaration.objects.get()
    assert published.withdrawn_at is not None and published.content == {} and published.search_text == ""
    skipped = publication.publish(declarations=declarations_matching(year=2023))
    assert len(skipped.skipped) == 1 and "withdrawn" in skipped.skipped[0]
    restored = publication.publish(declarations=[declaration], include_withdrawn=True)
    assert restored.replaced == 1 and PublishedDeclaration.objects.get().withdrawn_at is None
    assert AuditEntry.objects.filter(object_type="declarations.publisheddeclaration").count() >= 5


def test_a_profile_may_withhold_even_the_name_and_body_and_nothing_refills_them(payload: dict[str, Any]) -> None:
    declaration = _submit(payload)
    profile = publication.profile_set(name="anonymous", fields=["declarant.name", "position.body"])
    publication.publish(declarations=[declaration], profile=profile)
    published = PublishedDeclaration.objects.get()
    assert (published.declarant_name, published.body_name) == ("", "")
    assert "ana test" not in published.search_text and "ministry of roads" not in published.search_text
    client = Client()
    page = client.get(f"{PUBLIC}{declaration.pk}/").content.decode()
    assert "(name withheld)" in page and "Ana Test" not in page and "Ministry of Roads" not in page
    assert "Ana Test" not in client.get(PUBLIC).content.decode()
    assert "Head of Procurement" in page


def test_public_outputs_never_load_a_declaration_versions_content(payload: dict[str, Any], tmp_path: Path) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    declaration = _submit(payload)
    publication.publish(declarations=[declaration])
    client = Client()
    urls = [
        PUBLIC,
        f"{PUBLIC}?q=ana",
        f"{PUBLIC}{declaration.pk}/",
        f"{PUBLIC}{declaration.pk}.json",
        f"{PUBLIC}{declaration.pk}.csv",
        f"{PUBLIC}export.json",
        f"{PUBLIC}export.csv",
        f"{API}/search?q=ana",
        f"{API}/{declaration.pk}",
        f"{API}/export?format=csv",
    ]
    with CaptureQueriesContext(connection) as queries:
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            _body(response)
        publication.export_open_data(directory=tmp_path)
    sql = [q["sql"] for q in queries.captured_queries]
    assert any("declarations_publisheddeclaration" in q for q in sql)
    version_columns = [q for q in sql if '"declarations_declarationversion"."content"' in q]
    assert version_columns == []


def test_public_pages_read_the_published_copy_not_the_latest_version(payload: dict[str, Any]) -> None:
    declaration = _submit(payload)
    publication.publish(declarations=[declaration])
    corrected = copy.deepcopy(payload)
    corrected["real_estate"][0]["description"] = "Unpublished correction"
    _submit(corrected)
    client = Client()
    page = client.get(f"{PUBLIC}{declaration.pk}/").content.decode()
    assert "Home" in page and "Unpublished correction" not in page
    assert "<td>spouse (member-1)</td>" in page and "<td>bank account</td>" in page
    assert "Unpublished correction" not in client.get(f"{API}/{declaration.pk}").content.decode()


# --- public register (anonymous) ---------------------------------------------------------------------


def _three_declarations(payload: dict[str, Any]) -> list[Declaration]:
    declarations = [_submit(payload)]
    other = copy.deepcopy(payload)
    other.update(external_id="decl-test-2", declaration_type="exit")
    other["declarant"] = {"id": "p2", "name": "Boris Other"}
    other["position"] = {"title": "Judge", "body": {"name": "Supreme Court"}}
    declarations.append(_submit(other, "Boris Other"))
    older = copy.deepcopy(payload)
    older.update(external_id="decl-test-3", period={"year": 2022})
    declarations.append(_submit(older))
    publication.publish(declarations=declarations)
    return declarations


def test_register_searches_by_name_body_year_and_type_without_sign_in(
    payload: dict[str, Any], verified_client: Callable[..., Client]
) -> None:
    first, second, older = _three_declarations(payload)
    client = Client()
    page = client.get(PUBLIC)
    assert page.status_code == 200 and '<html lang="en"' in page.content.decode()
    assert page.content.decode().count(f'href="{PUBLIC}') >= 3

    def ids(query: str) -> set[int]:
        body = client.get(f"{API}/search?{query}").json()
        return {item["id"] for item in body["items"]}

    assert ids("q=boris") == {second.pk}
    assert ids("q=ANA%20test") == {first.pk, older.pk}
    assert ids("body=supreme") == {second.pk}
    assert ids("year=2022") == {older.pk}
    assert ids("type=exit") == {second.pk}
    assert client.get(f"{API}/search?type=nonsense").status_code == 422
    result = client.get(f"{PUBLIC}?body=supreme&year=2023&type=exit").content.decode()
    assert "Boris Other" in result and "Ana Test" not in result
    bad = client.get(f"{PUBLIC}?year=twenty").content.decode()
    assert "The year must be a number" in bad
    assert "between 1900 and 2200" in client.get(f"{PUBLIC}?year=99999999").content.decode()
    assert client.get(f"{API}/search?year=99999999").status_code == 422
    assert client.get(f"{API}/search?q={'x' * 201}").status_code == 422
    # also for a signed-in staff member (the second-factor middleware is active) and in Chinese
    assert verified_client("verifier").get(PUBLIC).status_code == 200
    chinese = client.get(PUBLIC, headers={"accept-language": "zh-hans"}).content.decode()
    assert '<html lang="zh-hans"' in chinese


def test_register_is_paginated(payload: dict[str, Any]) -> None:
    for n in range(27):
        item = copy.deepcopy(payload)
        item.update(external_id=f"bulk-{n}")
        item["declarant"] = {"id": f"bulk-{n}", "name": f"Person {n:02d}"}
        publication.publish(declarations=[_submit(item, f"Person {n:02d}")])
    client = Client()
    first = client.get(PUBLIC).content.decode()
    assert "Page 1 of 2" in first and "Person 00" in first and "Person 26" not in first
    second = client.get(f"{PUBLIC}?page=2").content.decode()
    assert "Person 26" in second
    tail = client.get(f"{API}/search?limit=5&offset=25").json()
    assert tail["count"] == 27 and [i["declarant"] for i in tail["items"]] == ["Person 25", "Person 26"]


def test_downloads_one_and_bulk_in_json_and_csv(payload: dict[str, Any]) -> None:
    payload["real_estate"][0]["description"] = '=HYPERLINK("http://evil")'
    first, second, older = _three_declarations(payload)
    client = Client()
    one = client.get(f"{PUBLIC}{first.pk}.json")
    assert one["Content-Disposition"] == f'attachment; filename="declaration-{first.pk}.json"'
    record = json.loads(one.content)[0]
    assert record["id"] == first.pk and record["redaction_profile"] == "default"
    assert record["content"]["declarant"]["birth_date"] == {"withheld": "redaction profile default"}

    rows = list(csv.DictReader(io.StringIO(client.get(f"{PUBLIC}{first.pk}.csv").content.decode())))
    assert {r["declaration_id"] for r in rows} == {str(first.pk)}
    descriptions = [r["value"] for r in rows if r["section"] == "real_estate" and r["field"] == "description"]
    assert descriptions == ['\'=HYPERLINK("http://evil")']  # formula neutralised
    assert any(r["field"] == "value.amount" and r["value"] == "120000.00" for r in rows)

    bulk = client.get(f"{PUBLIC}export.json?year=2023")
    assert bulk["Content-Disposition"] == 'attachment; filename="declarations-2023.json"'
    assert {r["id"] for r in json.loads(_body(bulk))} == {first.pk, second.pk}
    bulk_csv = _body(client.get(f"{PUBLIC}export.csv?q=boris")).decode()
    assert {r["declaration_id"] for r in csv.DictReader(io.StringIO(bulk_csv))} == {str(second.pk)}
    api_csv = _body(client.get(f"{API}/export?format=csv")).decode()
    assert {r["declaration_id"] for r in csv.DictReader(io.StringIO(api_csv))} == {
        str(d.pk) for d in (first, second, older)
    }
    assert client.get(f"{PUBLIC}{first.pk}.xml").status_code == 404


def test_unpublished_and_withdrawn_declarations_are_not_public(payload: dict[str, Any]) -> None:
    declaration = _submit(payload)
    client = Client()
    assert client.get(f"{PUBLIC}{declaration.pk}/").status_code == 404
    assert client.get(f"{API}/{declaration.pk}").json()["error"]["code"] == "not_found"
    publication.publish(declarations=[declaration])
    assert client.get(f"{PUBLIC}{declaration.pk}/").status_code == 200
    publication.withdraw(declaration_ids=[declaration.pk])
    assert client.get(f"{PUBLIC}{declaration.pk}/").status_code == 404
    assert client.get(f"{PUBLIC}{declaration.pk}.json").status_code == 404
    assert client.get(f"{API}/{declaration.pk}").status_code == 404
    assert client.get(f"{API}/search").json()["count"] == 0


# --- API: schema and publishing permissions ----------------------------------------------------------


def test_public_endpoints_are_anonymous_in_the_openapi_schema(verified_client: Callable[..., Client]) -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path in (f"{API}/search", f"{API}/export", f"{API}/{{declaration_id}}"):
        assert "security" not in paths[path]["get"], path
    assert paths[f"{API}/publish"]["post"]["security"]
    assert {"403", "404"} <= set(paths[f"{API}/publish"]["post"]["responses"])


def test_only_administrators_publish_through_the_api(
    payload: dict[str, Any], verified_client: Callable[..., Client]
) -> None:
    declaration = _submit(payload)
    body = json.dumps({"year": 2023})
    assert Client().post(f"{API}/publish", body, content_type="application/json").status_code == 401
    verifier = verified_client("verifier")
    denied = verifier.post(f"{API}/publish", body, content_type="application/json")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    admin = verified_client("administrator")
    assert (
        admin.post(f"{API}/publish", json.dumps({"profile": "nope"}), content_type="application/json").status_code
        == 404
    )
    done = admin.post(f"{API}/publish", body, content_type="application/json")
    assert done.status_code == 200 and done.json()["published"] == 1 and done.json()["profile"] == "default"
    assert admin.post(f"{API}/publish", body, content_type="application/json").json()["unchanged"] == 1
    missing = admin.post(
        f"{API}/publish", json.dumps({"ids": [declaration.pk, 999999]}), content_type="application/json"
    )
    assert missing.json()["unchanged"] == 1
    assert missing.json()["skipped"] == ["declaration 999999: there is no submitted declaration with this id"]
    assert [p["name"] for p in admin.get(f"{API}/profiles").json()] == ["default"]
    withdrawn = admin.post(f"{API}/withdraw", json.dumps({"ids": [declaration.pk]}), content_type="application/json")
    assert withdrawn.json() == {"withdrawn": 1}
    assert (
        verifier.post(f"{API}/withdraw", json.dumps({"ids": [1]}), content_type="application/json").status_code == 403
    )


# --- CLI --------------------------------------------------------------------------------------------------


def test_cli_publishes_exports_and_sets_profiles(
    payload: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, older = _three_declarations(payload)
    PublishedDeclaration.objects.all().delete()
    call_command("declarations", "publish", "--year", "2023", "--type", "annual")
    assert list(PublishedDeclaration.objects.values_list("declaration_id", flat=True)) == [first.pk]
    assert "1 published" in capsys.readouterr().out
    call_command("declarations", "publish")
    assert "2 published, 0 replaced, 1 unchanged" in capsys.readouterr().out

    call_command("declarations", "publish", "--withdraw", "--ids", str(second.pk))
    assert PublishedDeclaration.objects.get(declaration=second).withdrawn_at is not None
    call_command("declarations", "publish", "--export", str(tmp_path / "out"))
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "declarations-2022.csv",
        "declarations-2022.json",
        "declarations-2023.csv",
        "declarations-2023.json",
        "declarations.csv",
        "declarations.json",
    ]
    exported = json.loads((tmp_path / "out" / "declarations.json").read_text())
    assert {r["id"] for r in exported} == {first.pk, older.pk}

    with pytest.raises(SystemExit) as exited:
        call_command("declarations", "profiles", "set", "strict", "--field", "declarant.passport")
    assert exited.value.code == 2 and "declarant.passport is not a field" in capsys.readouterr().err
    call_command(
        "declarations", "profiles", "set", "strict", "--field", "declarant.birth_date", "--private", "income[].source"
    )
    capsys.readouterr()
    call_command("declarations", "profiles", "show", "strict")
    shown = json.loads(capsys.readouterr().out)
    assert shown["fields"] == ["declarant.birth_date"] and shown["private"] == ["income[].source"]
    call_command("declarations", "profiles", "list")
    assert "default (default)" in capsys.readouterr().out
    call_command("declarations", "publish", "--ids", f"{first.pk},{second.pk}", "--profile", "strict")
    published = PublishedDeclaration.objects.get(declaration=first)
    assert published.profile.name == "strict"
    assert published.content["income"][0]["source"] == {"withheld": "private (redaction profile strict)"}
    assert PublishedDeclaration.objects.get(declaration=second).withdrawn_at is None  # named by id: restored
    with pytest.raises(SystemExit) as exited:
        call_command("declarations", "publish", "--profile", "missing")
    assert exited.value.code == 2


# --- staff page -------------------------------------------------------------------------------------------


def test_staff_page_edits_profiles_publishes_and_withdraws(
    payload: dict[str, Any], verified_client: Callable[..., Client]
) -> None:
    declaration = _submit(payload)
    assert Client().get(f"{PUBLIC}manage/").status_code == 302  # sign-in required
    assert verified_client("declarant").get(f"{PUBLIC}manage/").status_code == 403
    assert verified_client("verifier").get(f"{PUBLIC}manage/").status_code == 200
    assert verified_client("verifier").post(f"{PUBLIC}manage/publish/", {"year": "2023"}).status_code == 403
    admin = verified_client("administrator")
    page = admin.get(f"{PUBLIC}manage/").content.decode()
    assert "declarant.national_id" in page and "family_members[minor].name" in page

    bad = admin.post(f"{PUBLIC}manage/profiles/new/", {"name": "bad", "fields": "declarant.shoe_size"})
    assert bad.status_code == 400 and "declarant.shoe_size is not a field" in bad.content.decode()
    made = admin.post(
        f"{PUBLIC}manage/profiles/new/",
        {"name": "light", "fields": "declarant.national_id\n\nvehicles[].registration", "private": ""},
    )
    assert made.status_code == 302
    assert RedactionProfile.objects.get(name="light").fields == ["declarant.national_id", "vehicles[].registration"]

    done = admin.post(f"{PUBLIC}manage/publish/", {"year": "2023", "profile": "light"}, follow=True)
    assert "1 published" in done.content.decode()
    assert PublishedDeclaration.objects.get().profile.name == "light"
    admin.post(f"{PUBLIC}manage/{declaration.pk}/withdraw/")
    assert PublishedDeclaration.objects.get().withdrawn_at is not None


# --- the demo country --------------------------------------------------------------------------------------


def test_demo_country_publishes_without_birth_dates_or_minor_children_names(demo_dir: Path, tmp_path: Path) -> None:
    from probity.declarations.services import declaration_import

    assert declaration_import(path=demo_dir / "declarations").errors == []
    report = publication.publish(declarations=declarations_matching())
    assert report.published == Declaration.objects.count() > 10 and report.skipped == []
    assert publication.publish(declarations=declarations_matching()).unchanged == report.published

    minors = 0
    for path in sorted((demo_dir / "declarations").glob("*.json")):
        filed = json.loads(path.read_text())
        published = PublishedDeclaration.objects.get(declaration__external_id=filed["id"])
        # The declarant's and adult relatives' names are public; in the demo a minor child may share one of
        # them (a "junior"): the child's entry is withheld all the same, and the name appears only as theirs.
        public_names = [published.declarant_name] + [
            m["name"] for m in published.content.get("family_members", []) if isinstance(m["name"], str)
        ]
        text = json.dumps(published.content, ensure_ascii=False) + published.search_text
        for name in public_names:
            text = text.replace(json.dumps(name, ensure_ascii=False), "").replace(name.casefold(), "")
        secrets = [filed["declarant"]["birth_date"]] + [m["birth_date"] for m in filed.get("family", [])]
        shown = published.content.get("family_members", [])
        for member, public in zip(filed.get("family", []), shown, strict=True):
            born = member["birth_date"]
            age = filed["year"] - int(born[:4])  # at 31 December of the declaration's year
            if member["relation"] == "child" and age < 18:
                secrets.append(member["name"])
                minors += 1
                assert public["name"] == {"withheld": "redaction profile default", "label": "child"}
            else:
                assert public["name"] == member["name"]
        leaked = [s for s in secrets if s in text or s.casefold() in text]
        assert leaked == [], (filed["id"], leaked)
        assert published.content["declarant"]["birth_date"] == {"withheld": "redaction profile default"}
    export = tmp_path / "demo-open-data"
    call_command("declarations", "publish", "--export", str(export))
    assert len(json.loads((export / "declarations.json").read_text())) == report.published
    assert minors > 0
