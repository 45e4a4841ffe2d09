"""Ids in the declarations API tell nothing about records the caller may not see: "not yours" and "does not
exist" are the same 404 (issue 15); the detector registry, with its thresholds, is for the roles that
run or review detectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from probity.core import services
from probity.core.models import Person
from probity.declarations.filing import services as filing
from probity.declarations.models import Declaration
from probity.declarations.services import declaration_submit

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer(user: User) -> dict[str, str]:
    _token, secret = services.api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def _declarant(make_user: Callable[..., User], name: str) -> tuple[User, Person]:
    user = make_user("declarant")
    return user, Person.objects.create(name=name, user=user)


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def _missing_id() -> int:
    return (Declaration.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def test_another_declarants_declaration_answers_the_same_404_as_a_missing_one(
    make_user: Callable[..., User], payload: dict[str, Any]
) -> None:
    _owner, owner_person = _declarant(make_user, "Ana Owner")
    theirs = declaration_submit(declarant=owner_person, payload=payload).declaration
    snooper, _person = _declarant(make_user, "Bo Snooper")
    headers, missing = bearer(snooper), _missing_id()

    hidden = Client().get(f"{API}/declarations/{theirs.pk}", headers=headers)
    absent = Client().get(f"{API}/declarations/{missing}", headers=headers)
    assert hidden.status_code == absent.status_code == 404
    hidden_error, absent_error = _error(hidden), _error(absent)
    assert hidden_error["code"] == absent_error["code"] == "not_found"
    # The same sentence, with only the id asked for changed.
    assert hidden_error["message"].replace(str(theirs.pk), "ID") == absent_error["message"].replace(str(missing), "ID")
    assert "Ana Owner" not in hidden.content.decode()


def test_an_account_without_a_person_also_gets_404(make_user: Callable[..., User], payload: dict[str, Any]) -> None:
    _owner, owner_person = _declarant(make_user, "Ana Owner")
    theirs = declaration_submit(declarant=owner_person, payload=payload).declaration
    response = Client().get(f"{API}/declarations/{theirs.pk}", headers=bearer(make_user("declarant")))
    assert response.status_code == 404 and _error(response)["code"] == "not_found"


def test_staff_and_the_owner_still_read_it(make_user: Callable[..., User], payload: dict[str, Any]) -> None:
    owner, owner_person = _declarant(make_user, "Ana Owner")
    theirs = declaration_submit(declarant=owner_person, payload=payload).declaration
    for user in (owner, make_user("verifier"), make_user("auditor")):
        response = Client().get(f"{API}/declarations/{theirs.pk}", headers=bearer(user))
        assert response.status_code == 200, (user.username, response.content)


def test_drafts_of_another_declarant_answer_the_same_404_as_missing_ones(make_user: Callable[..., User]) -> None:
    owner, owner_person = _declarant(make_user, "Ana Owner")
    draft = filing.draft_start(person=owner_person, declaration_type="annual", year=2023, actor=owner)
    snooper, _person = _declarant(make_user, "Bo Snooper")
    headers, missing = bearer(snooper), _missing_id()
    paths = ["/drafts/{id}", "/drafts/{id}/sections/income"]
    for path in paths:
        hidden = Client().get(API + "/declarations/filing" + path.format(id=draft.declaration_id), headers=headers)
        absent = Client().get(API + "/declarations/filing" + path.format(id=missing), headers=headers)
        assert hidden.status_code == absent.status_code == 404, path
    for method in ("delete", "post"):
        suffix = "" if method == "delete" else "/submit"
        hidden = getattr(Client(), method)(
            f"{API}/declarations/filing/drafts/{draft.declaration_id}{suffix}", headers=headers
        )
        absent = getattr(Client(), method)(f"{API}/declarations/filing/drafts/{missing}{suffix}", headers=headers)
        assert hidden.status_code == absent.status_code == 404, method
    hidden = Client().put(
        f"{API}/declarations/filing/drafts/{draft.declaration_id}/sections/income",
        "[]",
        content_type="application/json",
        headers=headers,
    )
    assert hidden.status_code == 404
    draft.refresh_from_db()  # still there, untouched
    assert draft.declaration.declarant == owner_person


@pytest.mark.parametrize("role", ["declarant", "case_handler"])
def test_roles_that_do_not_run_or_review_detectors_cannot_read_the_registry(
    make_user: Callable[..., User], role: str
) -> None:
    response = Client().get(f"{API}/detectors", headers=bearer(make_user(role)))
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"
    assert "schemes" not in response.content.decode()


@pytest.mark.parametrize("role", ["administrator", "analyst", "verifier", "auditor"])
def test_roles_that_run_or_review_detectors_read_the_registry(make_user: Callable[..., User], role: str) -> None:
    response = Client().get(f"{API}/detectors", headers=bearer(make_user(role)))
    assert response.status_code == 200
    assert any(item["code"] == "CORE-ID-SHARED" for item in response.json()["items"])
