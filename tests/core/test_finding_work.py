"""Working a finding: who looks into it, notes about it, and the case it went into (through core's
``finding_cases`` hook, which the cases module answers) — by service, on the pages and through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from probity.cases.hooks import finding_cases
from probity.cases.services import case_from_findings
from probity.core import services
from probity.core.models import AuditEntry, DetectorRun, Finding, FindingNote

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_finding(db: None) -> Callable[..., Finding]:
    """A finding of a detector's latest (succeeded) run, flagged unless told otherwise."""
    counter = iter(range(1, 10_000))

    def make(*, detector_code: str = "TEST-FLAG", outcome: str = Finding.Outcome.FLAG) -> Finding:
        number = next(counter)
        now = timezone.now()
        run = DetectorRun.objects.create(
            detector_code=detector_code,
            started_at=now,
            finished_at=now,
            status=DetectorRun.Status.SUCCEEDED,
            dataset="test",
            started_by="test",
        )
        return Finding.objects.create(
            run=run,
            detector_code=detector_code,
            subject_type="organisation",
            subject_id=str(number),
            subject_label=f"Acme Roads {number}",
            outcome=outcome,
            score=0.9,
            explanation="Flagged by a test detector.",
        )

    return make


@pytest.fixture
def finding(make_finding: Callable[..., Finding]) -> Finding:
    return make_finding()


def bearer(user: User) -> dict[str, str]:
    _token, secret = services.api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def post(client: Client, url: str, data: dict[str, str]) -> tuple[str, list[str]]:
    """Posts a form, follows the redirect; answers where it landed and the messages the page shows."""
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    (target, status), *_more = response.redirect_chain
    assert status == 302
    return target, [str(message) for message in response.context["messages"]]


# --- services ---------------------------------------------------------------------------------------------


def test_a_finding_is_assigned_and_unassigned_and_each_change_is_audited(
    finding: Finding, make_user: Callable[..., User]
) -> None:
    lead, verifier = make_user("analyst"), make_user("verifier")
    services.finding_assign(finding=finding, assignee=verifier, actor=lead)
    finding.refresh_from_db()
    assert finding.assignee == verifier
    assert list(verifier.assigned_findings.all()) == [finding]
    services.finding_assign(finding=finding, assignee=None, actor=lead)
    finding.refresh_from_db()
    assert finding.assignee is None
    entries = AuditEntry.objects.filter(
        object_type="core.finding", object_id=str(finding.pk), action=AuditEntry.Action.UPDATE
    )
    assert entries.count() == 2
    assert {entry.actor for entry in entries} == {lead.username}


def test_only_someone_who_may_see_findings_can_be_given_one(finding: Finding, make_user: Callable[..., User]) -> None:
    lead, handler, auditor = make_user("analyst"), make_user("case_handler"), make_user("auditor")
    with pytest.raises(ValueError, match="may not see findings"):
        services.finding_assign(finding=finding, assignee=handler, actor=lead)
    handler_inactive = make_user("verifier")
    handler_inactive.is_active = False
    handler_inactive.save()
    with pytest.raises(ValueError, match="may not see findings"):
        services.finding_assign(finding=finding, assignee=handler_inactive, actor=lead)
    finding.refresh_from_db()
    assert finding.assignee is None
    assert auditor in services.finding_assignees()  # reads findings, so may be asked to look into one
    assert handler not in services.finding_assignees()


def test_a_note_is_kept_with_its_author_and_an_empty_one_is_refused(
    finding: Finding, make_user: Callable[..., User]
) -> None:
    analyst = make_user("analyst")
    note = services.finding_note_add(finding=finding, text="  Same address as the bidder.  ", actor=analyst)
    assert (note.author, note.text) == (analyst.username, "Same address as the bidder.")
    assert AuditEntry.objects.filter(object_type="core.findingnote", object_id=str(note.pk)).exists()
    with pytest.raises(ValueError, match="needs some text"):
        services.finding_note_add(finding=finding, text="   ", actor=analyst)
    assert list(finding.notes.values_list("text", flat=True)) == ["Same address as the bidder."]


def test_the_cases_module_answers_which_case_a_finding_is_in(
    make_finding: Callable[..., Finding], make_user: Callable[..., User]
) -> None:
    inside, outside = make_finding(), make_finding()
    assert services.finding_cases([inside.pk, outside.pk]) == {}
    case = case_from_findings(findings=[inside], actor=make_user("analyst"))
    answer = {inside.pk: {"reference": case.reference, "url": f"/cases/{case.reference}/"}}
    assert services.finding_cases([inside.pk, outside.pk]) == answer
    assert finding_cases(finding_ids=[outside.pk]) == {} and finding_cases(finding_ids=[]) == {}


# --- pages ------------------------------------------------------------------------------------------------


def test_the_finding_page_assigns_and_takes_notes(
    finding: Finding, verified_client: Callable[..., Client], make_user: Callable[..., User]
) -> None:
    client = verified_client("analyst")
    colleague = make_user("verifier", username="wei-verifier")
    page = reverse("core:finding", args=[finding.pk])

    assign, note = reverse("core:finding_assign", args=[finding.pk]), reverse("core:finding_note", args=[finding.pk])

    assert post(client, assign, {"assignee": colleague.username}) == (
        page,
        ["The finding is now assigned to wei-verifier."],
    )
    finding.refresh_from_db()
    assert finding.assignee == colleague

    assert post(client, note, {"text": "Called the registry."}) == (f"{page}#notes", ["Note added."])

    html = client.get(page).content.decode()
    assert "Called the registry." in html
    assert '<option value="wei-verifier" selected>wei-verifier</option>' in html
    author = client.user.username  # type: ignore[attr-defined]
    assert f'<p class="meta">{author} · ' in html  # who wrote the note

    assert post(client, assign, {"assignee": ""}) == (page, ["The finding is no longer assigned to anyone."])
    finding.refresh_from_db()
    assert finding.assignee is None


def test_refusals_on_the_finding_page_become_messages(
    finding: Finding, verified_client: Callable[..., Client], make_user: Callable[..., User]
) -> None:
    client = verified_client("analyst")
    handler = make_user("case_handler", username="handler-x")
    assign, note = reverse("core:finding_assign", args=[finding.pk]), reverse("core:finding_note", args=[finding.pk])
    _page, shown = post(client, assign, {"assignee": handler.username})
    assert shown == ["handler-x may not see findings, so cannot be given one: choose someone else."]
    _page, shown = post(client, note, {"text": "   "})
    assert shown == ["Write the note before adding it."]
    finding.refresh_from_db()
    assert finding.assignee is None and not finding.notes.exists()
    assert client.get(note).status_code == 405


def test_a_role_that_may_not_triage_cannot_assign_or_write_notes(
    finding: Finding, verified_client: Callable[..., Client], make_user: Callable[..., User]
) -> None:
    auditor = verified_client("auditor")
    colleague = make_user("analyst")
    html = auditor.get(reverse("core:finding", args=[finding.pk])).content.decode()
    assert reverse("core:finding_assign", args=[finding.pk]) not in html
    assert reverse("core:finding_note", args=[finding.pk]) not in html
    response = auditor.post(reverse("core:finding_assign", args=[finding.pk]), {"assignee": colleague.username})
    assert response.status_code == 403
    response = auditor.post(reverse("core:finding_note", args=[finding.pk]), {"text": "Not mine to write."})
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.assignee is None and not FindingNote.objects.exists()
    handler = verified_client("case_handler")
    assert handler.post(reverse("core:finding_note", args=[finding.pk]), {"text": "x"}).status_code == 403


def test_the_finding_page_links_its_case_or_offers_to_open_one(
    make_finding: Callable[..., Finding], verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    finding = make_finding(detector_code="PROC-SINGLE-BID")
    passed = make_finding(outcome=Finding.Outcome.PASS)

    html = client.get(reverse("core:finding", args=[finding.pk])).content.decode()
    assert "Open a case from this finding" in html
    assert 'href="/cases/promote/?detector=PROC-SINGLE-BID"' in html
    assert "Open a case from this finding" not in client.get(reverse("core:finding", args=[passed.pk])).content.decode()

    case = case_from_findings(findings=[finding], actor=client.user)  # type: ignore[attr-defined]
    html = client.get(reverse("core:finding", args=[finding.pk])).content.decode()
    assert f'<a href="/cases/{case.reference}/">{case.reference}</a>' in html
    assert "Open a case from this finding" not in html


def test_the_findings_list_shows_assignee_and_case_and_filters_assigned_to_me(
    make_finding: Callable[..., Finding], verified_client: Callable[..., Client], make_user: Callable[..., User]
) -> None:
    client = verified_client("analyst")
    me: User = client.user  # type: ignore[attr-defined]
    other = make_user("verifier", username="other-verifier")
    mine, theirs, nobodys = (make_finding(detector_code=code) for code in ("DET-A", "DET-B", "DET-C"))
    services.finding_assign(finding=mine, assignee=me, actor=me)
    services.finding_assign(finding=theirs, assignee=other, actor=me)
    case = case_from_findings(findings=[theirs], actor=me)

    html = client.get(reverse("core:findings")).content.decode()
    assert "Assignee" in html and "Case" in html
    for found in (mine, theirs, nobodys):
        assert found.subject_label in html
    assert "other-verifier" in html
    assert f'<a href="/cases/{case.reference}/">{case.reference}</a>' in html

    html = client.get(reverse("core:findings"), {"mine": "on"}).content.decode()
    assert mine.subject_label in html
    assert theirs.subject_label not in html and nobodys.subject_label not in html
    assert "1 finding" in html


# --- API --------------------------------------------------------------------------------------------------


def test_the_api_assigns_takes_notes_and_shows_the_case(
    finding: Finding, make_user: Callable[..., User], make_finding: Callable[..., Finding]
) -> None:
    analyst = make_user("analyst")
    colleague = make_user("verifier", username="api-verifier")
    headers = bearer(analyst)
    client = Client()

    response = client.post(
        f"{API}/findings/{finding.pk}/assign",
        {"assignee": "api-verifier"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == "api-verifier"
    assert response.json()["case_reference"] is None
    finding.refresh_from_db()
    assert finding.assignee == colleague

    response = client.post(
        f"{API}/findings/{finding.pk}/notes",
        {"text": "Asked for the bids."},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["author"] == analyst.username and note["text"] == "Asked for the bids."
    listed = client.get(f"{API}/findings/{finding.pk}/notes", headers=headers).json()
    assert listed["count"] == 1 and listed["items"][0]["text"] == "Asked for the bids."

    case = case_from_findings(findings=[finding], actor=analyst)
    make_finding(detector_code="OTHER")
    detail = client.get(f"{API}/findings/{finding.pk}", headers=headers).json()
    assert (detail["assignee"], detail["case_reference"]) == ("api-verifier", case.reference)
    items = {item["id"]: item for item in client.get(f"{API}/findings", headers=headers).json()["items"]}
    assert items[finding.pk]["case_reference"] == case.reference
    assert [item["case_reference"] for key, item in items.items() if key != finding.pk] == [None]
    assigned = client.get(f"{API}/findings", {"assignee": "api-verifier"}, headers=headers).json()
    assert [item["id"] for item in assigned["items"]] == [finding.pk]

    response = client.post(
        f"{API}/findings/{finding.pk}/assign", {"assignee": None}, content_type="application/json", headers=headers
    )
    assert response.status_code == 200 and response.json()["assignee"] is None


def test_the_api_refuses_with_its_error_body(finding: Finding, make_user: Callable[..., User]) -> None:
    client = Client()
    analyst_headers = bearer(make_user("analyst"))
    make_user("case_handler", username="no-findings")

    def error(response: Any, status: int, code: str) -> str:
        assert response.status_code == status, response.content
        body = response.json()
        assert set(body) == {"error"} and body["error"]["code"] == code
        return str(body["error"]["message"])

    message = error(
        client.post(
            f"{API}/findings/{finding.pk}/assign",
            {"assignee": "no-findings"},
            content_type="application/json",
            headers=analyst_headers,
        ),
        400,
        "bad_request",
    )
    assert "no-findings" in message
    message = error(
        client.post(
            f"{API}/findings/{finding.pk}/notes",
            {"text": "  "},
            content_type="application/json",
            headers=analyst_headers,
        ),
        400,
        "bad_request",
    )
    assert message == "A note needs some text."
    error(
        client.post(
            f"{API}/findings/999999/notes", {"text": "x"}, content_type="application/json", headers=analyst_headers
        ),
        404,
        "not_found",
    )

    auditor_headers = bearer(make_user("auditor"))
    error(
        client.post(
            f"{API}/findings/{finding.pk}/assign",
            {"assignee": None},
            content_type="application/json",
            headers=auditor_headers,
        ),
        403,
        "permission_denied",
    )
    error(
        client.post(
            f"{API}/findings/{finding.pk}/notes",
            {"text": "x"},
            content_type="application/json",
            headers=auditor_headers,
        ),
        403,
        "permission_denied",
    )
    assert client.get(f"{API}/findings/{finding.pk}/notes", headers=auditor_headers).status_code == 200
    handler_headers = bearer(make_user("case_handler"))
    error(client.get(f"{API}/findings/{finding.pk}/notes", headers=handler_headers), 403, "permission_denied")
    assert not FindingNote.objects.exists()
    finding.refresh_from_db()
    assert finding.assignee is None


def test_a_new_run_of_the_detector_keeps_the_assignee_of_the_subject(make_user: Callable[..., User]) -> None:
    from probity.core.models import Organisation
    from probity.core.services import detector_run

    analyst = make_user("analyst")
    for name in ("Alpha Ltd", "Beta Ltd"):
        Organisation.objects.create(name=name).identifiers.create(scheme="tax_id", issuer="XA", value="123")
    detector_run(code="CORE-ID-SHARED")
    first = Finding.objects.filter(outcome="flag").order_by("pk").first()
    assert first is not None
    services.finding_assign(finding=first, assignee=analyst, actor=analyst)
    detector_run(code="CORE-ID-SHARED")
    again = Finding.objects.filter(subject_id=first.subject_id, detector_code="CORE-ID-SHARED").order_by("-pk").first()
    assert again is not None and again.pk != first.pk
    assert again.assignee == analyst
    others = Finding.objects.filter(detector_code="CORE-ID-SHARED").exclude(subject_id=first.subject_id)
    assert not others.exclude(assignee=None).exists()


def test_the_evidence_is_a_labelled_table_never_a_dump(verified_client: Callable[..., Client]) -> None:
    from probity.core.views import evidence_rows

    assert evidence_rows({"amount": 12, "owners": [{"name": "A", "share": 0.5}, {"name": "B"}], "ids": ["x", "y"]}) == [
        ("amount", "12"),
        ("owners 1 › name", "A"),
        ("owners 1 › share", "0.5"),
        ("owners 2 › name", "B"),
        ("ids", "x, y"),
    ]
    from probity.core.models import Organisation
    from probity.core.services import detector_run

    for name in ("Alpha Ltd", "Beta Ltd"):
        Organisation.objects.create(name=name).identifiers.create(scheme="tax_id", issuer="XA", value="123")
    detector_run(code="CORE-ID-SHARED")
    finding = Finding.objects.filter(outcome="flag").first()
    assert finding is not None and finding.evidence
    html = verified_client("analyst").get(reverse("core:finding", args=[finding.pk])).content.decode()
    assert '<table class="evidence">' in html
    assert "{&#x27;" not in html and "{'" not in html and '{"' not in html
