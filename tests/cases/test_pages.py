"""The work pages of cases through the Django test client: my work, the list, opening a case by hand and from
findings, and every action of the case page, with their refusals shown as messages (never an error page)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from probity.cases import services
from probity.cases.models import Case, CaseEvent, CaseFinding, CaseOutcome, CaseTask, CustodyEvent, Draw, Pool
from probity.core.models import Finding, Organisation

pytestmark = pytest.mark.django_db

ClientFor = Callable[..., Client]


@pytest.fixture
def analyst(make_officer: Callable[..., User]) -> User:
    return make_officer("analyst", username="analyst-ana")


@pytest.fixture
def second_analyst(make_officer: Callable[..., User]) -> User:
    return make_officer("analyst", username="analyst-bo")


@pytest.fixture
def client_for(verified_client: Callable[..., Client]) -> ClientFor:
    """A client signed in (second factor passed) as ``user``."""
    return lambda user: verified_client(user=user)


def detail(case: Case) -> str:
    return reverse("cases:detail", args=[case.reference])


def act(case: Case, action: str) -> str:
    return reverse("cases:action", args=[case.reference, action])


def page_text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- my work -----------------------------------------------------------------------------------------------


def test_my_work_lists_my_cases_by_due_date_my_tasks_and_cases_to_take(
    client_for: ClientFor, analyst: User, make_case: Callable[..., Case], make_officer: Callable[..., User]
) -> None:
    late = make_case(title="Late road contract")
    Case.objects.filter(pk=late.pk).update(assignee=analyst, due_on=timezone.localdate() - timedelta(days=3))
    soon = make_case(title="Bridge tender")
    Case.objects.filter(pk=soon.pk).update(assignee=analyst)
    free = make_case(title="Unclaimed school tender")
    hidden = make_case(case_type="protected-report", title="Report on the mayor")  # case handlers only
    CaseTask.objects.create(case=soon, title="Call the buyer", assignee=analyst, due_on=timezone.localdate())

    html = page_text(client_for(analyst).get(reverse("cases:my_work")))
    mine = html.split('id="my-cases"')[1].split("</section>")[0]
    assert mine.index("Late road contract") < mine.index("Bridge tender")  # by due date
    assert "overdue" in mine.split("Late road contract")[1].split("</tr>")[0]
    assert "overdue" not in mine.split("Bridge tender")[1].split("</tr>")[0]
    assert "Call the buyer" in html.split('id="my-tasks"')[1]
    to_take = html.split('id="unassigned"')[1]
    assert free.reference in to_take and "Take" in to_take
    assert hidden.reference not in html
    assert late.reference not in to_take
    # Links between the pages of cases.
    for name in ("cases:list", "cases:promote", "cases:new"):
        assert f'href="{reverse(name)}"' in html

    # Someone who does not work cases has no queue.
    auditor = make_officer("auditor")
    assert client_for(auditor).get(reverse("cases:my_work")).status_code == 403


def test_take_from_my_work_assigns_the_case_and_a_second_take_is_refused(
    client_for: ClientFor, analyst: User, second_analyst: User, open_case: Case
) -> None:
    response = client_for(analyst).post(act(open_case, "take"), follow=True)
    assert response.redirect_chain[-1][0] == detail(open_case)
    assert f"You took case {open_case.reference}." in messages_of(response)
    open_case.refresh_from_db()
    assert open_case.assignee == analyst
    assert open_case.events.filter(kind=CaseEvent.Kind.TAKEN).count() == 1

    response = client_for(second_analyst).post(act(open_case, "take"), follow=True)
    assert response.status_code == 200
    (message,) = messages_of(response)
    assert "already assigned" in message
    open_case.refresh_from_db()
    assert open_case.assignee == analyst


# --- the list ----------------------------------------------------------------------------------------------


def test_the_list_pages_by_fifty_without_counting_and_filters(
    client_for: ClientFor, analyst: User, make_case: Callable[..., Case], case_admin: User
) -> None:
    first = make_case(title="Road resurfacing")
    Case.objects.filter(pk=first.pk).update(assignee=analyst, due_on=timezone.localdate() - timedelta(days=1))
    report = make_case(case_type="protected-report", title="Report on the mayor")
    template = Case.objects.get(pk=first.pk)
    Case.objects.bulk_create(
        Case(
            reference=f"CASE-1999-{n:06d}",
            case_type=template.case_type,
            title=f"Bulk case {n}",
            status=template.status,
            opened_by="test",
            due_on=timezone.localdate() + timedelta(days=30),
        )
        for n in range(1, 56)
    )
    client = client_for(analyst)
    with CaptureQueriesContext(connection) as queries:
        html = page_text(client.get(reverse("cases:list")))
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    rows = html.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 50
    assert report.reference not in html  # a protected report is the case handlers'
    assert 'rel="next"' in html and 'rel="prev"' not in html
    html = page_text(client.get(reverse("cases:list"), {"page": 2}))
    assert html.split("<tbody>")[1].count("<tr>") == 6  # 56 visible cases in all
    assert 'rel="prev"' in html and 'rel="next"' not in html

    def shown(**filters: str) -> str:
        return page_text(client.get(reverse("cases:list"), filters)).split("<tbody>")[1].split("</tbody>")[0]

    assert first.reference in shown(q=first.reference)
    assert "Bulk case" not in shown(q=first.reference)
    assert first.reference in shown(q="resurfacing")
    assert shown(q="CASE-1999-00001").count("<tr>") == 10  # the beginning of a reference
    assert shown(overdue="on").count("<tr>") == 1 and first.reference in shown(overdue="on")
    assert shown(assignee="me").count("<tr>") == 1
    assert shown(assignee=analyst.username).count("<tr>") == 1
    assert shown(assignee="none").count("<tr>") == 50
    assert "No case passes these filters." in shown(state="closed")
    assert "No case passes these filters." in shown(case_type="declaration-verification")
    assert first.reference in shown(case_type="procurement-review", status="new", state="open", assignee="me")
    assert "No case passes these filters." in shown(status="decision")

    # An administrator oversees every case, the protected report included.
    assert report.reference in page_text(client_for(case_admin).get(reverse("cases:list"), {"q": "mayor"}))


# --- opening a case ----------------------------------------------------------------------------------------


def test_open_a_case_by_hand(client_for: ClientFor, analyst: User, body: Any) -> None:
    client = client_for(analyst)
    html = page_text(client.get(reverse("cases:new")))
    assert "Procurement red-flag review" in html
    assert "Protected report" not in html  # not a type an analyst works
    choice = html.split('name="case_type"')[1].split("</select>")[0]
    value = next(part.split('"')[1] for part in choice.split("<option")[1:] if "Conflict-of-interest inquiry" in part)

    response = client.post(reverse("cases:new"), {"case_type": value, "title": "", "priority": "high", "complexity": 2})
    assert response.status_code == 400
    assert not Case.objects.exists()

    response = client.post(
        reverse("cases:new"),
        {
            "case_type": value,
            "title": "Minister's brother on the tender board",
            "summary": "A tip by telephone.",
            "body": body.pk,
            "priority": "high",
            "complexity": 3,
        },
        follow=True,
    )
    case = Case.objects.get()
    assert response.redirect_chain[-1][0] == detail(case)
    assert f"Case {case.reference} is open." in messages_of(response)
    assert (case.case_type.code, case.priority, case.complexity, case.body) == ("conflict-of-interest", "high", 3, body)
    assert case.opened_by == analyst.username
    html = page_text(response)
    assert "Conflict-of-interest inquiry (version 1)" in html
    assert "Ministry of Roads" in html


def test_promote_findings_to_a_new_case_or_join_them_to_an_open_one(
    client_for: ClientFor,
    analyst: User,
    make_finding: Callable[..., Finding],
    organisation: Organisation,
    make_case: Callable[..., Case],
    make_officer: Callable[..., User],
) -> None:
    bid = make_finding(subject=organisation, detector_code="R018")
    other = make_finding(detector_code="R003", label="Tender for asphalt")
    third = same_run(other, "Tender for gravel")
    passed = same_run(bid, "Tender that passed", outcome=Finding.Outcome.PASS)
    taken = same_run(other, "Tender already in a case")
    services.case_join_findings(case=make_case(), findings=[taken], actor=analyst)
    neighbour = make_case(title="Earlier case about the company", organisations=[organisation])

    client = client_for(analyst)
    html = page_text(client.get(reverse("cases:promote")))
    table = html.split('id="findings"')[1].split("</table>")[0]
    for finding in (bid, other, third):
        assert f'value="{finding.pk}"' in table
    assert passed.subject_label not in table and taken.subject_label not in table
    assert "Flagged by a test detector." in table
    filtered = page_text(client.get(reverse("cases:promote"), {"detector": "R018"})).split('id="findings"')[1]
    assert f'value="{bid.pk}"' in filtered and f'value="{other.pk}"' not in filtered

    response = client.post(reverse("cases:promote"), {"findings": [bid.pk, other.pk], "mode": "new"}, follow=True)
    case = Case.objects.get(finding_links__finding=bid)
    assert response.redirect_chain[-1][0] == detail(case)
    assert f"Case {case.reference} is open with 2 findings." in messages_of(response)
    assert case.case_type.code == "procurement-review"  # chosen from the findings' subjects
    assert case.source == Case.Source.FINDING
    assert set(case.finding_links.values_list("finding_id", flat=True)) == {bid.pk, other.pk}
    html = page_text(response)
    findings = html.split('id="findings"')[1].split("</section>")[0]
    assert "R018" in findings and organisation.name in findings and "Flagged by a test detector." in findings
    assert organisation.name in html.split('id="parties"')[1]
    assert neighbour.reference in html.split('id="related-heading"')[1].split("</section>")[0]

    response = client.post(
        reverse("cases:promote"), {"findings": [third.pk], "mode": "join", "reference": case.reference.lower()},
        follow=True,
    )  # fmt: skip
    assert f"1 finding joined case {case.reference}." in messages_of(response)
    assert CaseFinding.objects.get(finding=third).case == case

    # Findings already in a case are no longer offered (a tampered form is refused).
    response = client.post(reverse("cases:promote"), {"findings": [bid.pk], "mode": "new"}, follow=True)
    assert response.status_code == 200 and any("not one of the available choices" in m for m in messages_of(response))
    fresh = make_finding(detector_code="R003", label="Tender for cement")
    response = client.post(
        reverse("cases:promote"), {"findings": [fresh.pk], "mode": "join", "reference": "CASE-2000-999999"},
        follow=True,
    )  # fmt: skip
    assert "No open case you may see has the reference CASE-2000-999999." in messages_of(response)
    response = client.post(reverse("cases:promote"), {"mode": "new"}, follow=True)
    assert "Choose at least one finding." in messages_of(response)
    assert not CaseFinding.objects.filter(finding=fresh).exists()

    # Opening cases needs cases.add_case.
    assert client_for(make_officer("auditor")).get(reverse("cases:promote")).status_code == 403


def same_run(finding: Finding, label: str, outcome: str = Finding.Outcome.FLAG) -> Finding:
    """Another finding of the same detector run (only each detector's latest run is offered)."""
    return Finding.objects.create(
        run=finding.run,
        detector_code=finding.detector_code,
        subject_type="tender",
        subject_id=f"t-{label}",
        subject_label=label,
        outcome=outcome,
        score=0.5,
        explanation="Flagged by a test detector.",
    )


# --- the case page -----------------------------------------------------------------------------------------


def test_the_case_page_shows_the_header_and_a_case_of_another_type_is_not_found(
    client_for: ClientFor, analyst: User, make_case: Callable[..., Case], make_officer: Callable[..., User]
) -> None:
    report = make_case(case_type="protected-report", title="Report on the mayor")
    client = client_for(analyst)
    assert client.get(detail(report)).status_code == 404
    assert client.post(act(report, "take")).status_code == 404
    assert client.get(reverse("cases:detail", args=["CASE-2000-000404"])).status_code == 404

    # a protected report is confidential: a case handler sees it once it is theirs
    handler = make_officer("case_handler")
    assert client_for(handler).get(detail(report)).status_code == 404
    services.case_assign(case=report, officer=handler, reason="On duty", actor=None)
    html = page_text(client_for(handler).get(detail(report)))
    assert "<h1>" + report.reference in html
    assert "Protected report (version 1)" in html
    assert "Acknowledge by" in html and "Feedback by" in html
    assert report.acknowledge_by is not None and report.acknowledge_by.isoformat() in html
    assert "Opened as Protected report" in html.split('id="timeline"')[1]
    # an unassigned case of a type one works can be taken
    review = make_case(case_type="procurement-review", title="Tender review")
    assert "Take this case" in page_text(client_for(analyst).get(detail(review)))


def test_draw_assign_and_status_with_their_refusals(
    client_for: ClientFor, case_admin: User, open_case: Case, pool: Pool, officers: list[User], analyst: User
) -> None:
    admin = client_for(case_admin)
    response = admin.post(act(open_case, "draw"), follow=True)
    draw = Draw.objects.get(case=open_case)
    open_case.refresh_from_db()
    assert open_case.assignee == draw.chosen and draw.chosen in officers
    assert f"{draw.chosen.username} was drawn for case {open_case.reference}." in messages_of(response)
    html = page_text(response)
    assert "Drawn at random from Procurement reviewers" in html.split('id="timeline"')[1]
    assert "Random draw" in html.split('id="allocation"')[1]

    # Assigning by hand needs a reason; with one it is recorded as a manual draw.
    response = admin.post(act(open_case, "assign"), {"officer": officers[0].pk, "reason": ""}, follow=True)
    assert any(m.startswith("Reason for assigning by hand:") for m in messages_of(response))
    other = next(o for o in officers if o != open_case.assignee)
    response = admin.post(act(open_case, "assign"), {"officer": other.pk, "reason": "Speaks the language"}, follow=True)
    open_case.refresh_from_db()
    assert open_case.assignee == other
    assert Draw.objects.filter(case=open_case, method=Draw.Method.MANUAL, reason="Speaks the language").exists()

    # A working officer may neither draw nor assign.
    assert client_for(analyst).post(act(open_case, "draw")).status_code == 403

    # The assigned officer changes the status with a reason; a final status is reached only by an outcome.
    worker = client_for(other)
    statuses = {s.code: s for s in open_case.case_type.statuses.all()}
    response = worker.post(act(open_case, "status"), {"status": statuses["assessment"].pk, "reason": ""}, follow=True)
    assert any(m.startswith("Reason:") for m in messages_of(response))
    response = worker.post(
        act(open_case, "status"), {"status": statuses["assessment"].pk, "reason": "Documents received"}, follow=True
    )
    assert "The status is now “Assessment”." in messages_of(response)
    assert "New → Assessment: Documents received" in page_text(response)
    response = worker.post(act(open_case, "status"), {"status": statuses["closed"].pk, "reason": "Done"}, follow=True)
    (message,) = messages_of(response)
    assert "closes only with an outcome approved by a second officer" in message
    open_case.refresh_from_db()
    assert open_case.status.code == "assessment" and not open_case.closed

    # Someone else who sees the case cannot work it.
    response = client_for(analyst).post(act(open_case, "status"), {"status": statuses["decision"].pk, "reason": "x"})
    assert response.status_code == 302
    open_case.refresh_from_db()
    assert open_case.status.code == "assessment"


def test_a_draw_from_an_empty_pool_is_a_message(
    client_for: ClientFor, case_admin: User, open_case: Case, make_case: Callable[..., Case]
) -> None:
    response = client_for(case_admin).post(act(open_case, "draw"), follow=True)
    (message,) = messages_of(response)
    assert "There is no pool of officers for Procurement red-flag review" in message
    Pool.objects.create(name="Empty pool", case_type_code="procurement-review")
    response = client_for(case_admin).post(act(open_case, "draw"), follow=True)
    (message,) = messages_of(response)
    assert message.startswith("This could not be done:")
    assert not Draw.objects.exists()


def test_handlers_only_notes_are_read_by_the_officer_and_those_who_allocate(
    client_for: ClientFor, analyst: User, second_analyst: User, case_admin: User, open_case: Case
) -> None:
    services.case_take(case=open_case, actor=analyst)
    worker = client_for(analyst)
    worker.post(act(open_case, "note"), {"text": "The buyer's brother owns the winner.", "handlers_only": "on"})
    worker.post(act(open_case, "note"), {"text": "Asked the registry for the file."})
    response = worker.post(act(open_case, "note"), {"text": "  "}, follow=True)
    assert any(m.startswith("Note:") for m in messages_of(response))

    for reader in (analyst, case_admin):
        timeline = page_text(client_for(reader).get(detail(open_case))).split('id="timeline"')[1]
        assert "brother owns the winner" in timeline and "officers only" in timeline
        assert "Asked the registry" in timeline
    timeline = page_text(client_for(second_analyst).get(detail(open_case))).split('id="timeline"')[1]
    assert "brother owns the winner" not in timeline
    assert "Asked the registry" in timeline
    # …and the other analyst may not add notes to a case they are not assigned to.
    response = client_for(second_analyst).post(act(open_case, "note"), {"text": "Hello"}, follow=True)
    assert any("Only the officer assigned to case" in m for m in messages_of(response))


def test_tasks_are_added_and_marked_done(
    client_for: ClientFor, analyst: User, second_analyst: User, open_case: Case
) -> None:
    services.case_take(case=open_case, actor=analyst)
    client = client_for(analyst)
    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    response = client.post(
        act(open_case, "task"), {"title": "Interview the buyer", "assignee": second_analyst.pk, "due_on": due},
        follow=True,
    )  # fmt: skip
    assert "The task is added." in messages_of(response)
    task = CaseTask.objects.get(title="Interview the buyer")
    assert task.due_on is not None and (task.assignee, task.due_on.isoformat()) == (second_analyst, due)
    html = page_text(response)
    assert f"Task added for {second_analyst.username}, due {due}: Interview the buyer" in html
    response = client.post(act(open_case, "task"), {"title": "Past", "due_on": "2000-01-01"}, follow=True)
    assert any("cannot be due in the past" in m for m in messages_of(response))

    # The task's assignee marks it done (although not the case's officer).
    response = client_for(second_analyst).post(
        reverse("cases:task_done", args=[open_case.reference, task.pk]), follow=True
    )
    assert "The task “Interview the buyer” is done." in messages_of(response)
    task.refresh_from_db()
    assert task.done_by == second_analyst.username
    assert "Task done: Interview the buyer" in page_text(response).split('id="timeline"')[1]
    # Anyone else who only sees the case may not.
    template_task = open_case.tasks.filter(done_at=None).first()
    assert template_task is not None
    other = client_for(second_analyst).post(
        reverse("cases:task_done", args=[open_case.reference, template_task.pk]), follow=True
    )
    assert any("Only the officer assigned" in m for m in messages_of(other))


def _upload(client: Client, case: Case, content: bytes, name: str = "contract.pdf", **extra: Any) -> Any:
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    return client.post(act(case, "document"), {"file": upload, **extra}, follow=True)


def test_documents_are_stored_by_hash_with_a_custody_log_and_a_tampered_file_is_reported(
    client_for: ClientFor, analyst: User, open_case: Case
) -> None:
    services.case_take(case=open_case, actor=analyst)
    client = client_for(analyst)
    content = b"%PDF-1.4 contract " + uuid.uuid4().bytes
    evidence = open_case.case_type.document_types.get(code="evidence")
    response = _upload(client, open_case, content, document_type=evidence.pk)
    document = open_case.documents.get()
    assert f"contract.pdf is added; its SHA-256 is {document.sha256}." in messages_of(response)
    assert document.document_type == evidence and document.size == len(content)

    url = reverse("cases:document", args=[open_case.reference, document.pk])
    opened = client.get(url)
    assert opened.status_code == 200 and opened.content == content
    assert opened["Content-Disposition"].startswith("inline")
    exported = client.get(url, {"export": "1"})
    assert exported["Content-Disposition"].startswith("attachment") and exported.content == content
    actions = list(document.custody.values_list("action", flat=True))
    assert actions == [CustodyEvent.Action.ADDED, CustodyEvent.Action.VIEWED, CustodyEvent.Action.EXPORTED]
    html = page_text(client.get(detail(open_case)))
    custody = html.split('id="documents"')[1].split("</section>")[0]
    assert "Custody log" in custody and "Viewed" in custody and "Exported" in custody and "Evidence" in custody

    # Someone overwrites the stored file: the download is refused with a sentence, and the mismatch logged.
    stored = Path(services.documents_dir()) / document.sha256[:2] / document.sha256
    stored.chmod(0o600)
    stored.write_bytes(b"forged")
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == detail(open_case) + "#documents"
    (message,) = messages_of(response)
    assert f"The document contract.pdf of case {open_case.reference} no longer matches" in message
    assert document.custody.filter(action=CustodyEvent.Action.MISMATCH).exists()
    # An empty upload is refused by the form.
    response = client.post(act(open_case, "document"), {}, follow=True)
    assert any(m.startswith("File:") for m in messages_of(response))


def test_outcome_needs_its_details_and_a_second_officer(
    client_for: ClientFor, analyst: User, second_analyst: User, open_case: Case
) -> None:
    services.case_take(case=open_case, actor=analyst)
    client = client_for(analyst)
    fine = open_case.case_type.outcome_types.get(code="fine")
    html = page_text(client.get(detail(open_case)))
    assert "Amount of the fine" in html and "Only for: Fine." in html
    assert "Authority referred to" in html  # referral is an outcome of this type too

    response = client.post(
        act(open_case, "outcome"), {"outcome_type": fine.pk, "reasoning": "Overpriced."}, follow=True
    )
    (message,) = messages_of(response)
    assert "needs: amount of the fine" in message
    assert not CaseOutcome.objects.exists()
    response = client.post(
        act(open_case, "outcome"),
        {"outcome_type": fine.pk, "reasoning": "Overpriced by half.", "detail_amount": "12,500"},
        follow=True,
    )
    assert any("another officer must approve it" in m for m in messages_of(response))
    outcome = CaseOutcome.objects.get()
    assert outcome.details == {"amount": "12500"}
    html = page_text(response)
    assert "You proposed this outcome: another officer must approve it before the case closes." in html
    assert "Amount of the fine: 12500" in html
    assert "Propose the outcome" not in html  # one outcome waits at a time

    # The proposer cannot approve it.
    response = client.post(act(open_case, "approve"), follow=True)
    (message,) = messages_of(response)
    assert "needs a second officer to approve the outcome you proposed" in message
    open_case.refresh_from_db()
    assert not open_case.closed

    # The second officer sends it back without a reason: refused; with one: sent back.
    second = client_for(second_analyst)
    html = page_text(second.get(detail(open_case)))
    assert "Approve and close the case" in html and "Send it back" in html
    response = second.post(act(open_case, "reject"), {"reason": ""}, follow=True)
    assert any("Say why the outcome is sent back." in m for m in messages_of(response))
    response = second.post(act(open_case, "reject"), {"reason": "Compute the amount again."}, follow=True)
    assert "The outcome is sent back to the case's officer." in messages_of(response)
    assert "Sent back: Compute the amount again." in page_text(response)

    client.post(
        act(open_case, "outcome"),
        {"outcome_type": fine.pk, "reasoning": "Overpriced by 40%.", "detail_amount": "10000"},
    )
    response = second.post(act(open_case, "approve"), {"reason": "Agreed."}, follow=True)
    assert f"The outcome is approved and case {open_case.reference} is closed." in messages_of(response)
    open_case.refresh_from_db()
    assert open_case.closed and open_case.status.final and open_case.retain_until is not None
    html = page_text(response)
    assert f"approved by {second_analyst.username}" in html
    timeline = html.split('id="timeline"')[1]
    for line in ("Outcome proposed", "Outcome sent back", "Outcome approved", "Closed: Fine."):
        assert line in timeline
    assert 'id="actions"' not in html  # a closed case has no actions
    response = second.post(act(open_case, "approve"), follow=True)
    assert any("has no outcome waiting for a decision" in m for m in messages_of(response))
    response = client.post(act(open_case, "note"), {"text": "One more thing."}, follow=True)
    assert f"This could not be done: Case {open_case.reference} is closed." in messages_of(response)
    assert not open_case.events.filter(text="One more thing.").exists()


def test_unknown_actions_and_get_requests_are_refused(client_for: ClientFor, analyst: User, open_case: Case) -> None:
    client = client_for(analyst)
    assert client.post(act(open_case, "explode")).status_code == 404
    assert client.get(act(open_case, "take")).status_code == 405
    assert client.get(reverse("cases:list")).status_code == 200
