"""The Links page and API: why each link was made, confirm and reject by analysts only, audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from probity.core.models import AuditEntry, LinkTouch, Person, RecordLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def link() -> RecordLink:
    spouse = Person.objects.create(name="Daria Rossi", birth_date="1966-09-30")
    return RecordLink.objects.create(
        source="ownership.party",
        source_key="7",
        source_label="Daria Rossi",
        person=spouse,
        rule="register_name_birth",
        reason_params={"name": "Daria Rossi", "month": "1966-09"},
    )


def test_the_page_lists_the_reason_and_an_analyst_rejects_a_link(
    link: RecordLink, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    page = client.get("/links/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "The same name (Daria Rossi) and birth month (1966-09)." in text
    assert "Ownership register party" in text
    answer = client.post(f"/links/{link.pk}/decide/", {"state": "rejected"})
    assert answer.status_code == 302
    link.refresh_from_db()
    assert (link.state, link.decided_by) == ("rejected", client.user.username)  # type: ignore[attr-defined]
    entry = AuditEntry.objects.filter(object_type="core.recordlink", object_id=str(link.pk)).get()
    assert entry.details["to"] == "rejected"
    assert LinkTouch.objects.filter(kind="ownership.party", key="7").exists()  # linked again in the background
    assert "rejected" in client.get("/links/?state=rejected").content.decode().lower()
    assert "No links to show." in client.get("/links/?state=confirmed").content.decode()


def test_a_verifier_sees_no_links_and_an_auditor_may_not_decide(
    link: RecordLink, verified_client: Callable[..., Client]
) -> None:
    assert verified_client("verifier").get("/links/").status_code == 403
    auditor = verified_client("auditor")
    assert auditor.get("/links/").status_code == 200
    assert auditor.post(f"/links/{link.pk}/decide/", {"state": "confirmed"}).status_code == 403
    link.refresh_from_db()
    assert link.state == "automatic"


def test_the_api_lists_links_with_their_reason_and_confirms_one(
    link: RecordLink, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    listed = client.get("/api/v1/links?state=automatic").json()
    assert [(row["id"], row["reason"], row["linked_to"]) for row in listed["items"]] == [
        (link.pk, "The same name (Daria Rossi) and birth month (1966-09).", "Daria Rossi")
    ]
    answer = client.post(f"/api/v1/links/{link.pk}/decision", {"state": "confirmed"}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "confirmed"
    assert client.get("/api/v1/links/999999").status_code == 404
    refused: Any = verified_client("auditor").post(
        f"/api/v1/links/{link.pk}/decision", {"state": "rejected"}, content_type="application/json"
    )
    assert refused.status_code == 403
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/links/{link_id}/decision" in schema["paths"]
