"""Managing people and organisations through the API, the pages and ``probity people``; who may do what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from probity.core import people
from probity.core.models import AuditEntry, FamilyRelation, Finding, Person, Position
from probity.declarations.models import Declaration
from tests.core.test_api import API, assert_error, bearer

pytestmark = pytest.mark.django_db


# --- API ---------------------------------------------------------------------------------------------


def test_an_analyst_creates_edits_merges_and_undoes_through_the_api(make_user: Callable[..., User]) -> None:
    client = Client()
    headers = bearer(make_user("analyst"))
    created = client.post(
        f"{API}/people",
        {"name": "Tomas Berg", "birth_date": "1971-02-03", "national_id": "710203-1111", "national_id_issuer": "SE"},
        content_type="application/json",
        headers=headers,
    )
    assert created.status_code == 201, created.content
    keep_id = created.json()["id"]
    other = client.post(f"{API}/people", {"name": "Tomas Bergh"}, content_type="application/json", headers=headers)
    other_id = other.json()["id"]
    changed = client.patch(
        f"{API}/people/{other_id}", {"nationality": "SE"}, content_type="application/json", headers=headers
    )
    assert changed.json()["nationality"] == "SE" and changed.json()["name"] == "Tomas Bergh"

    merged = client.post(
        f"{API}/people/{keep_id}/merge", {"merged_id": other_id}, content_type="application/json", headers=headers
    )
    assert merged.status_code == 200, merged.content
    assert "Tomas Bergh was merged into Tomas Berg" in merged.json()["message"]
    assert not Person.objects.filter(pk=other_id).exists()

    undone = client.post(f"{API}/records/undo/{merged.json()['sequence']}", headers=headers)
    assert undone.status_code == 200, undone.content
    assert Person.objects.filter(pk=other_id, name="Tomas Bergh").exists()
    again = client.post(f"{API}/records/undo/{merged.json()['sequence']}", headers=headers)
    assert "already been undone" in assert_error(again, 409, "conflict")["message"]


def test_a_merge_of_different_national_ids_is_refused_with_the_reason(make_user: Callable[..., User]) -> None:
    analyst = make_user("analyst")
    one = people.person_save(actor=analyst, name="Ola Nordmann", national_id="1", national_id_issuer="NO")
    two = people.person_save(actor=analyst, name="Ola Nordman", national_id="2", national_id_issuer="NO")
    response = Client().post(
        f"{API}/people/{one.pk}/merge", {"merged_id": two.pk}, content_type="application/json", headers=bearer(analyst)
    )
    message = assert_error(response, 409, "conflict")["message"]
    assert "different national identity numbers" in message and "Ola Nordman" in message


def test_a_verifier_may_read_but_not_change(make_user: Callable[..., User]) -> None:
    person = people.person_save(actor=None, name="Read Only")
    headers = bearer(make_user("verifier"))
    client = Client()
    assert client.get(f"{API}/people/{person.pk}/profile", headers=headers).status_code == 200
    refused = client.patch(f"{API}/people/{person.pk}", {"name": "X"}, content_type="application/json", headers=headers)
    assert_error(refused, 403, "permission_denied")
    refused = client.post(f"{API}/people", {"name": "X"}, content_type="application/json", headers=headers)
    assert_error(refused, 403, "permission_denied")
    person.refresh_from_db()
    assert person.name == "Read Only"


def test_split_and_family_and_positions_through_the_api(make_user: Callable[..., User]) -> None:
    analyst = make_user("analyst")
    headers = bearer(analyst)
    client = Client()
    body = people.public_body_save(actor=analyst, name="Tax Office")
    person = people.person_save(actor=analyst, name="Kari Holm")
    spouse = people.person_save(actor=analyst, name="Nils Holm")
    tie = client.post(
        f"{API}/people/{person.pk}/family",
        {"relative_id": spouse.pk, "relation": "spouse"},
        content_type="application/json",
        headers=headers,
    )
    assert tie.status_code == 201, tie.content
    position_in = {"body_id": body.pk, "title": "Director", "start_date": "2020-01-01"}
    # Positions (like public bodies) are the administrators' to set up: an analyst may not add one.
    refused = client.post(
        f"{API}/people/{person.pk}/positions", position_in, content_type="application/json", headers=headers
    )
    assert refused.status_code == 403, refused.content
    post = client.post(
        f"{API}/people/{person.pk}/positions",
        position_in,
        content_type="application/json",
        headers=bearer(make_user("administrator")),
    )
    assert post.status_code == 201, post.content
    position = Position.objects.get(holder=person)
    split = client.post(
        f"{API}/people/{person.pk}/split",
        {"name": "Kari Holm (tax)", "records": [{"kind": "core.position", "id": position.pk}]},
        content_type="application/json",
        headers=headers,
    )
    assert split.status_code == 200, split.content
    assert Position.objects.get(pk=position.pk).holder_id == split.json()["record_id"]
    assert FamilyRelation.objects.filter(person=person, relative=spouse).exists()


def test_import_through_the_api_lists_broken_rows(make_user: Callable[..., User]) -> None:
    upload = SimpleUploadedFile("p.csv", b"key,name\nk1,Ann Lee\nk2,\n", content_type="text/csv")
    response = Client().post(
        f"{API}/people/import", {"file": upload, "what": "people"}, headers=bearer(make_user("analyst"))
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 1 and body["rejected"][0]["line"] == 3


def test_the_profile_api_gives_labelled_sections_and_no_internal_ids(make_user: Callable[..., User]) -> None:
    analyst = make_user("analyst")
    body = people.public_body_save(actor=analyst, name="Port Authority")
    person = people.person_save(actor=analyst, name="Rui Costa", birth_date=date(1965, 1, 2))
    spouse = people.person_save(actor=analyst, name="Ana Costa")
    people.family_relation_add(actor=analyst, person=person, relative=spouse, kind="spouse")
    people.position_save(actor=analyst, body=body, title="Chair", holder=person, start_date=date(2019, 4, 1))
    Declaration.objects.create(declarant=person, declaration_type="annual", year=2024)

    response = Client().get(f"{API}/people/{person.pk}/profile", headers=bearer(analyst))
    assert response.status_code == 200, response.content
    profile = response.json()
    codes = [section["code"] for section in profile["sections"]]
    assert codes[:4] == ["identity", "positions", "family", "declarations"]
    assert "lists" in codes and "companies_owned" in codes
    positions = next(s for s in profile["sections"] if s["code"] == "positions")
    assert positions["rows"][0]["Public body"] == "Port Authority"
    family = next(s for s in profile["sections"] if s["code"] == "family")
    assert family["rows"] == [{"Relative": "Ana Costa", "Relation": "Spouse or partner"}]
    assert {"date": "2019-04-01", "event": "Took office: Chair, Port Authority"} in profile["timeline"]
    assert str(spouse.pk) not in str(family)  # people read names, not ids
    openapi = Client().get(f"{API}/openapi.json").json()
    assert "/api/v1/people/{person_id}/profile" in openapi["paths"]
    assert "post" in openapi["paths"]["/api/v1/people"] and "get" in openapi["paths"]["/api/v1/people"]


def test_a_declarant_sees_only_the_sections_their_role_allows(make_user: Callable[..., User]) -> None:
    declarant = make_user("declarant")
    person = people.person_save(actor=None, name="Own Record")
    person.user = declarant
    person.save()
    response = Client().get(f"{API}/people/{person.pk}/profile", headers=bearer(declarant))
    assert response.status_code == 200, response.content
    codes = {section["code"] for section in response.json()["sections"]}
    assert "findings" not in codes and "companies_owned" not in codes and "lists" not in codes
    stranger = people.person_save(actor=None, name="Someone Else")
    assert_error(Client().get(f"{API}/people/{stranger.pk}/profile", headers=bearer(declarant)), 404, "not_found")


# --- pages -------------------------------------------------------------------------------------------


def test_the_person_page_shows_sections_timeline_graph_and_undo(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    analyst = client.user  # type: ignore[attr-defined]
    body = people.public_body_save(actor=analyst, name="Water Board")
    person = people.person_save(actor=analyst, name="Ida Berg")
    dup = people.person_save(actor=analyst, name="Ida Bergh")
    people.position_save(actor=analyst, body=body, title="Treasurer", holder=dup, start_date=date(2018, 1, 1))
    Finding.objects.none()  # findings come from detector runs; none here

    merge_page = client.get(f"/records/person/{person.pk}/merge/?q=Bergh")
    assert "Ida Bergh" in merge_page.content.decode()
    response = client.post(f"/records/person/{person.pk}/merge/", {"merged": dup.pk})
    assert response.status_code == 302
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert "Treasurer" in page and "Water Board" in page
    assert "<svg" in page and "Took office: Treasurer, Water Board" in page
    assert "was merged into Ida Berg" in page and "Undo" in page
    entry = AuditEntry.objects.filter(details__event=people.MERGE_EVENT).get()
    client.post(f"/records/undo/{entry.sequence}/")
    assert Person.objects.filter(name="Ida Bergh").exists()
    export = client.get(f"/records/person/{person.pk}/export.ftm")
    assert export.status_code == 200 and b'"schema": "Person"' in export.content


def test_a_merge_refused_on_the_page_says_why(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    one = people.person_save(actor=None, name="Jon Moe", national_id="1", national_id_issuer="NO")
    two = people.person_save(actor=None, name="Jon Mo", national_id="2", national_id_issuer="NO")
    response = client.post(f"/records/person/{one.pk}/merge/", {"merged": two.pk}, follow=True)
    assert "different national identity numbers" in response.content.decode()
    assert Person.objects.filter(pk=two.pk).exists()


def test_an_auditor_cannot_open_the_edit_pages(verified_client: Callable[..., Client]) -> None:
    client = verified_client("auditor")
    person = people.person_save(actor=None, name="Audit Me")
    assert client.get(f"/people/{person.pk}/").status_code == 200
    assert client.get(f"/people/{person.pk}/edit/").status_code == 403
    assert client.post(f"/records/person/{person.pk}/merge/", {"merged": person.pk}).status_code == 403
    assert client.get("/people/import/").status_code == 403


def test_the_import_page_lists_broken_rows_with_their_line(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    upload = SimpleUploadedFile("o.csv", b"key,name,founded\no1,Nord AS,2001-01-01\no2,Sud AS,yesterday\n")
    page = client.post("/people/import/", {"what": "organisations", "file": upload}).content.decode()
    assert "1 created" in page and "yesterday" in page and "<td>3</td>" in page


def test_create_and_edit_pages(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    response = client.post("/people/new/", {"name": "Page Person", "gender": "", "birth_date": "1980-01-01"})
    assert response.status_code == 302, response.content
    person = Person.objects.get(name="Page Person")
    client.post(f"/people/{person.pk}/edit/", {"name": "Page Person", "gender": "female", "nationality": "NO"})
    person.refresh_from_db()
    assert person.nationality == "NO" and person.birth_date is None  # the form sent no birth date


# --- command line ------------------------------------------------------------------------------------


def test_the_people_command_imports_merges_and_undoes(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    source = folder / "people.csv"
    source.write_text("key,name,national_id,national_id_issuer\na,Per Dahl,1,DK\nb,Per Dal,1,DK\nc,,,\n")
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("people", "import", str(source), "--what", "people", stdout=out, stderr=err)
    assert exit_status.value.code == 1  # a rejected row
    assert "2 created" in out.getvalue() and "Line 4" in err.getvalue()
    keep, gone = Person.objects.get(source_key="csv:a"), Person.objects.get(source_key="csv:b")

    out = StringIO()
    call_command("people", "merge", str(keep.pk), str(gone.pk), stdout=out)
    assert "Per Dal was merged into Per Dahl" in out.getvalue()
    entry = AuditEntry.objects.get(details__event=people.MERGE_EVENT)
    assert entry.actor == "system:cli"
    call_command("people", "undo", str(entry.sequence), stdout=StringIO())
    assert Person.objects.filter(source_key="csv:b").exists()

    out = StringIO()
    call_command("people", "show", str(keep.pk), stdout=out)
    assert "Per Dahl" in out.getvalue() and "Identity" in out.getvalue()
