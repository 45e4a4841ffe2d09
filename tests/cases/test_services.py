"""The cases services and selectors: opening, findings, allocation (re-runnable draws, recusals, absences,
caseload, manual picks, refused draws), working a case, four-eyes closing, outcomes, evidence documents,
retention, catalogue versions, visibility, related cases, statistics and the ``case_open`` hook."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from probity.cases import selectors, services
from probity.cases.models import (
    Case,
    CaseDocument,
    CaseEvent,
    CaseFinding,
    CaseOutcome,
    CaseType,
    CustodyEvent,
    Draw,
    Pool,
    PoolMember,
    Recusal,
)
from probity.cases.services import CaseError
from probity.core.models import AuditEntry, Finding, Organisation, Person, PublicBody
from probity.core.modules import hook_call

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"^CASE-(\d{4})-(\d{6,})$")


def _audits(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("sequence"))


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _kinds(case: Case) -> list[str]:
    return list(case.events.values_list("kind", flat=True))


# --- opening -------------------------------------------------------------------------------------------------


def test_open_creates_the_types_tasks_deadlines_and_a_reference(make_case: Callable[..., Case]) -> None:
    today = timezone.localdate()
    case = make_case()
    case_type = CaseType.objects.get(code="procurement-review", version=1)
    assert case.case_type == case_type
    match = REFERENCE.match(case.reference)
    assert match is not None and int(match.group(1)) == today.year
    assert case.status.code == "new"
    assert case.due_on == today + timedelta(days=case_type.lead_time_days)
    assert case.acknowledge_by is None and case.feedback_by is None
    tasks = list(case.tasks.order_by("id").values_list("title", "due_on"))
    assert tasks == [
        (template.title, today + timedelta(days=template.due_days)) for template in case_type.task_templates.all()
    ]
    assert len(tasks) == 2
    assert _kinds(case) == [CaseEvent.Kind.OPENED]
    second = make_case(title="Second")
    assert int(second.reference.rsplit("-", 1)[1]) == int(case.reference.rsplit("-", 1)[1]) + 1


def test_a_protected_report_gets_its_acknowledge_and_feedback_deadlines(make_case: Callable[..., Case]) -> None:
    today = timezone.localdate()
    case = make_case(case_type="protected-report", source=Case.Source.REPORT, source_key="R-1")
    assert case.acknowledge_by == today + timedelta(days=7)
    assert case.feedback_by == today + timedelta(days=90)
    assert case.status.code == "received"


def test_references_keep_counting_past_six_digits(make_case: Callable[..., Case]) -> None:
    case = make_case()
    year = timezone.localdate().year
    Case.objects.filter(pk=case.pk).update(reference=f"CASE-{year}-999999")
    assert make_case().reference == f"CASE-{year}-1000000"
    assert make_case().reference == f"CASE-{year}-1000001"


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        ({"title": "  "}, "A case needs a title."),
        ({"complexity": 9}, "Complexity is a number from 1 (simple) to 5."),
        ({"complexity": "x"}, "Complexity is a number from 1 (simple) to 5."),
        ({"priority": "urgent"}, "'urgent' is not a priority (low, normal or high)."),
        ({"source": "rumour"}, "'rumour' is not a source a case can come from."),
        ({"case_type": "no-such-type"}, "There is no case type 'no-such-type' valid on"),
    ],
)
def test_opening_refuses_bad_input_with_a_sentence(
    make_case: Callable[..., Case], arguments: dict[str, object], sentence: str
) -> None:
    with pytest.raises(CaseError) as refused:
        make_case(**arguments)
    assert str(refused.value).startswith(sentence)
    assert not Case.objects.exists()


# --- findings ------------------------------------------------------------------------------------------------


def test_promote_findings_links_them_and_adds_their_parties(
    make_finding: Callable[..., Finding], organisation: Organisation, person: Person, officers: list[User]
) -> None:
    about_org = make_finding(subject=organisation, detector_code="PROC-SINGLE-BID")
    about_person = make_finding(subject=person, detector_code="COI-SHARED-ADDRESS")
    about_tender = make_finding(detector_code="PROC-SHORT-PERIOD")
    case = services.case_from_findings(findings=[about_org, about_person, about_tender], actor=officers[0])
    assert case.case_type.code == "procurement-review"
    assert case.source == Case.Source.FINDING
    assert case.title == "Blue River Construction Ltd: PROC-SINGLE-BID"
    assert set(CaseFinding.objects.filter(case=case).values_list("finding_id", flat=True)) == {
        about_org.pk,
        about_person.pk,
        about_tender.pk,
    }
    assert set(case.parties.values_list("organisation_id", flat=True)) - {None} == {organisation.pk}
    assert set(case.parties.values_list("person_id", flat=True)) - {None} == {person.pk}
    assert _kinds(case).count(CaseEvent.Kind.FINDING) == 3


def test_a_person_finding_opens_a_conflict_of_interest_inquiry(
    make_finding: Callable[..., Finding], person: Person, officers: list[User]
) -> None:
    case = services.case_from_findings(findings=[make_finding(subject=person)], actor=officers[0])
    assert case.case_type.code == "conflict-of-interest"
    assert list(case.parties.values_list("person__name", flat=True)) == ["Ana Petrović"]


def test_a_finding_belongs_to_one_case_only(
    make_finding: Callable[..., Finding],
    flagged_finding: Finding,
    make_case: Callable[..., Case],
    officers: list[User],
) -> None:
    first = services.case_from_findings(findings=[flagged_finding], actor=officers[0])
    other = make_case(title="Other")
    with pytest.raises(CaseError) as refused:
        services.case_join_findings(case=other, findings=[flagged_finding], actor=officers[0])
    assert str(refused.value) == (
        f"The finding PROC-SINGLE-BID on Blue River Construction Ltd is already in case {first.reference}."
    )
    # joining it again to its own case is nothing new
    assert services.case_join_findings(case=first, findings=[flagged_finding], actor=officers[0]) == 0
    # promoting it into a new case is refused and leaves no half-made case behind
    count = Case.objects.count()
    with pytest.raises(CaseError):
        services.case_from_findings(findings=[make_finding(), flagged_finding], actor=officers[0])
    assert Case.objects.count() == count
    assert CaseFinding.objects.count() == 1


def test_joining_findings_to_an_open_case(
    make_finding: Callable[..., Finding], organisation: Organisation, open_case: Case, officers: list[User]
) -> None:
    findings = [make_finding(subject=organisation), make_finding()]
    assert services.case_join_findings(case=open_case, findings=findings, actor=officers[0]) == 2
    assert list(open_case.parties.values_list("organisation__name", flat=True)) == ["Blue River Construction Ltd"]
    open_case.closed = True
    with pytest.raises(CaseError, match="is closed; findings join only open cases"):
        services.case_join_findings(case=open_case, findings=[make_finding()], actor=officers[0])


# --- allocation ----------------------------------------------------------------------------------------------


def test_re_running_recorded_draws_gives_the_same_officers(
    pool: Pool, make_case: Callable[..., Case], case_admin: User, case_auditor: User, officers: list[User]
) -> None:
    drawn: dict[int, int | None] = {}
    for n in range(12):
        case = make_case(title=f"Case {n}", complexity=1 + n % 3)
        draw = services.case_draw(case=case, actor=case_admin)
        assert draw.method == Draw.Method.RANDOM
        assert draw.inputs["seed"] == draw.seed
        assert len(draw.inputs_hash) == 64
        case.refresh_from_db()
        assert case.assignee_id == draw.chosen_id
        drawn[draw.pk] = draw.chosen_id
    assert set(drawn.values()) <= {o.pk for o in officers}
    assert len(set(drawn.values())) > 1
    services.case_assign(case=make_case(), officer=officers[0], reason="urgent", actor=case_admin)

    checks = services.draws_verify(Draw.objects.all(), actor=case_auditor)  # read back from the database
    assert len(checks) == 12  # the manual assignment has nothing to re-run
    assert all(check.ok for check in checks), [check.sentence for check in checks if not check.ok]
    assert {check.draw.pk: check.draw.chosen_id for check in checks} == drawn
    entry = _audits("draws_verified")[-1]
    assert entry.actor == "case-auditor"
    assert entry.details == {"draws": 12, "failed": 0}

    # a changed record no longer verifies
    tampered = Draw.objects.filter(method=Draw.Method.RANDOM).order_by("id").first()
    assert tampered is not None
    other = next(o for o in officers if o.pk != tampered.chosen_id)
    Draw.objects.filter(pk=tampered.pk).update(chosen=other)
    reseeded = Draw.objects.filter(method=Draw.Method.RANDOM).order_by("id")[1]
    Draw.objects.filter(pk=reseeded.pk).update(seed="0" * 64)
    failed = [c for c in services.draws_verify(Draw.objects.all()) if not c.ok]
    assert {c.draw.pk for c in failed} == {tampered.pk, reseeded.pk}
    assert _audits("draws_verified")[-1].details == {"draws": 12, "failed": 2}


def test_a_recusal_removes_an_officer_from_every_draw_touching_its_party(
    pool: Pool, make_case: Callable[..., Case], case_admin: User, officers: list[User], organisation: Organisation
) -> None:
    recused = officers[0]
    recusal = services.recusal_declare(
        officer=recused, organisation=organisation, reason="My brother owns it.", actor=recused
    )
    seeds = [f"seed-{n}" for n in range(15)]
    picked_without_party = set()
    for seed in seeds:
        plain = make_case(title="Unrelated")
        picked_without_party.add(services.case_draw(case=plain, actor=case_admin, seed=seed).chosen_id)
        Case.objects.filter(pk=plain.pk).update(closed=True)  # keep the caseloads equal
    assert recused.pk in picked_without_party  # the same seeds do pick them when no party is touched

    for seed in seeds:
        case = make_case(title="Blue River contract", organisations=[organisation])
        draw = services.case_draw(case=case, actor=case_admin, seed=seed)
        assert draw.chosen_id != recused.pk
        assert {
            "officer": recused.pk,
            "name": "officer-1",
            "reason": "recused: conflict with Blue River Construction Ltd",
        } in draw.inputs["excluded"]
        assert recused.pk not in {row["officer"] for row in draw.inputs["eligible"]}
        Case.objects.filter(pk=case.pk).update(closed=True)

    case = make_case(title="Blue River again", organisations=[organisation])
    with pytest.raises(CaseError, match="officer-1 has declared a conflict with a party of case"):
        services.case_assign(case=case, officer=recused, reason="knows the file", actor=case_admin)
    with pytest.raises(CaseError, match="You have declared a conflict"):
        services.case_take(case=case, actor=recused)

    # once withdrawn, the recusal no longer excludes
    Recusal.objects.filter(pk=recusal.pk).update(withdrawn_at=timezone.now())
    draw = services.case_draw(case=case, actor=case_admin, seed="after")
    assert recused.pk in {row["officer"] for row in draw.inputs["eligible"]}


def test_recusals_on_a_person_or_a_body(
    pool: Pool,
    make_case: Callable[..., Case],
    case_admin: User,
    officers: list[User],
    person: Person,
    body: PublicBody,
) -> None:
    services.recusal_declare(officer=officers[1], person=person, reason="A neighbour.", actor=officers[1])
    services.recusal_declare(officer=officers[2], body=body, reason="I worked there.", actor=officers[2])
    with pytest.raises(CaseError, match="A recusal needs a reason"):
        services.recusal_declare(officer=officers[0], person=person, reason=" ", actor=officers[0])
    with pytest.raises(CaseError, match="names a person, an organisation or a body"):
        services.recusal_declare(officer=officers[0], reason="?", actor=officers[0])
    case = make_case(people=[person], body=body)
    draw = services.case_draw(case=case, actor=case_admin, allow_single=True)
    assert draw.chosen_id == officers[0].pk
    reasons = {row["officer"]: row["reason"] for row in draw.inputs["excluded"]}
    assert reasons == {
        officers[1].pk: "recused: conflict with Ana Petrović",
        officers[2].pk: "recused: conflict with Ministry of Roads",
    }


def test_an_absent_officer_is_excluded(
    pool: Pool, make_case: Callable[..., Case], case_admin: User, officers: list[User]
) -> None:
    today = timezone.localdate()
    PoolMember.objects.filter(pool=pool, officer=officers[0]).update(
        absent_until=today + timedelta(days=3), absence_reason="annual leave"
    )
    PoolMember.objects.filter(pool=pool, officer=officers[1]).update(absent_until=today - timedelta(days=1))
    for n in range(15):
        draw = services.case_draw(case=make_case(), actor=case_admin, seed=f"absent-{n}")
        assert draw.chosen_id != officers[0].pk
    assert draw.inputs["excluded"] == [
        {
            "officer": officers[0].pk,
            "name": "officer-1",
            "reason": f"absent until {(today + timedelta(days=3)).isoformat()}: annual leave",
        }
    ]
    officers[2].is_active = False
    officers[2].save()
    draw = services.case_draw(case=make_case(), actor=case_admin, allow_single=True)
    assert draw.chosen_id == officers[1].pk
    assert {"officer": officers[2].pk, "name": "officer-3", "reason": "account disabled"} in draw.inputs["excluded"]


def test_caseload_lowers_the_weight(
    pool: Pool, make_case: Callable[..., Case], case_admin: User, officers: list[User]
) -> None:
    busy = officers[0]
    for complexity in (3, 2):
        services.case_assign(case=make_case(complexity=complexity), officer=busy, reason="expert", actor=case_admin)
    finished = make_case(complexity=5)
    services.case_assign(case=finished, officer=busy, reason="expert", actor=case_admin)
    Case.objects.filter(pk=finished.pk).update(closed=True)  # closed cases are no load
    draw = services.case_draw(case=make_case(), actor=case_admin, seed="load")
    rows = {row["officer"]: row for row in draw.inputs["eligible"]}
    assert rows[busy.pk]["load"] == 5.0
    assert rows[busy.pk]["weight"] == pytest.approx(1 / 6)
    assert rows[officers[1].pk]["weight"] == 1.0


def test_manual_assignment_needs_a_reason_and_counts_in_the_report(
    pool: Pool, make_case: Callable[..., Case], case_admin: User, case_auditor: User, officers: list[User]
) -> None:
    case = make_case()
    with pytest.raises(CaseError, match="by hand needs a reason"):
        services.case_assign(case=case, officer=officers[0], reason="  ", actor=case_admin)
    with pytest.raises(CaseError, match="does not work cases"):
        services.case_assign(case=case, officer=case_auditor, reason="help", actor=case_admin)
    draw = services.case_assign(case=case, officer=officers[0], reason="speaks the language", actor=case_admin)
    assert draw.method == Draw.Method.MANUAL
    assert draw.reason == "speaks the language"
    case.refresh_from_db()
    assert case.assignee == officers[0]
    assert case.events.filter(kind=CaseEvent.Kind.ASSIGNED).get().text == (
        "Assigned by hand to officer-1: speaks the language"
    )
    for _n in range(3):
        services.case_draw(case=make_case(), actor=case_admin)
    services.case_draw(case=make_case(), actor=officers[1])
    report = {row["drawn_by"]: row for row in services.allocation_report()}
    assert report["case-admin"]["random"] == 3
    assert report["case-admin"]["manual"] == 1
    assert report["case-admin"]["total"] == 4
    assert report["case-admin"]["manual_share"] == 0.25
    assert report["officer-2"]["manual"] == 0
    assert next(iter(report)) == "case-admin"  # whoever overrode most comes first


def test_drawing_an_assigned_case_again_needs_a_reason_and_leaves_its_officer_out(
    pool: Pool, make_case: Callable[..., Case], case_admin: User
) -> None:
    case = make_case()
    first = services.case_draw(case=case, actor=case_admin)
    case.refresh_from_db()
    with pytest.raises(CaseError, match="is already assigned to officer-.; drawing it again needs a reason"):
        services.case_draw(case=case, actor=case_admin)
    again = services.case_draw(case=case, actor=case_admin, reason="the officer left the unit")
    assert again.chosen_id != first.chosen_id
    assert again.reason == "the officer left the unit"
    assert {row["officer"]: row["reason"] for row in again.inputs["excluded"]} == {
        first.chosen_id: "held the case before this draw"
    }
    assert case.draws.count() == 2


@pytest.mark.parametrize("members", [0, 1])
def test_a_draw_from_an_empty_or_one_person_pool_is_refused_and_audited(
    make_pool: Callable[..., Pool],
    make_case: Callable[..., Case],
    case_admin: User,
    officers: list[User],
    members: int,
) -> None:
    make_pool("procurement-review", officers[:members], name="Small pool")
    case = make_case()
    with pytest.raises(CaseError) as refused:
        services.case_draw(case=case, actor=case_admin)
    sentence = str(refused.value)
    expected = "has no officer who can be drawn" if members == 0 else "has only one officer who can be drawn"
    assert sentence.startswith(f"The pool Small pool {expected} for {case.reference}")
    assert not Draw.objects.exists()
    case.refresh_from_db()
    assert case.assignee is None
    entry = _audits("draw_refused")[-1]
    assert entry.object_label == case.reference
    assert entry.actor == "case-admin"
    assert entry.details == {"pool": "Small pool", "reason": sentence}


def test_a_draw_without_a_pool_is_refused_and_audited(make_case: Callable[..., Case], case_admin: User) -> None:
    case = make_case()
    with pytest.raises(CaseError, match="There is no pool of officers for Procurement red-flag review"):
        services.case_draw(case=case, actor=case_admin)
    assert _audits("draw_refused")[-1].object_label == case.reference


def test_a_pool_for_the_body_comes_before_the_pool_for_every_body(
    pool: Pool, make_pool: Callable[..., Pool], make_officer: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    local = make_pool("procurement-review", [make_officer(), make_officer()], body=PublicBody.objects.create(name="B"))
    assert services.pool_for(make_case(body=local.body)) == local
    assert services.pool_for(make_case()) == pool


def test_taking_a_case(make_case: Callable[..., Case], officers: list[User], make_officer: Callable[..., User]) -> None:
    case = make_case()
    services.case_take(case=case, actor=officers[0])
    assert case.assignee == officers[0]
    services.case_take(case=case, actor=officers[0])  # taking it again changes nothing
    assert _kinds(case).count(CaseEvent.Kind.TAKEN) == 1
    with pytest.raises(CaseError, match="is already assigned to officer-1"):
        services.case_take(case=case, actor=officers[1])
    report = make_case(case_type="protected-report", source=Case.Source.REPORT)
    with pytest.raises(CaseError, match="Your roles do not work cases of the type Protected report"):
        services.case_take(case=report, actor=make_officer("analyst"))


# --- working a case ------------------------------------------------------------------------------------------


def test_status_changes_need_a_reason_and_never_reach_a_final_status(
    open_case: Case, officers: list[User], make_case: Callable[..., Case]
) -> None:
    with pytest.raises(CaseError, match="Only the officer assigned"):
        services.case_status(case=open_case, status="assessment", reason="first look", actor=officers[0])
    services.case_take(case=open_case, actor=officers[0])
    with pytest.raises(CaseError, match="Say why the status changes"):
        services.case_status(case=open_case, status="assessment", reason=" ", actor=officers[0])
    with pytest.raises(CaseError, match="closes only with an outcome approved by a second officer"):
        services.case_status(case=open_case, status="closed", reason="done", actor=officers[0])
    with pytest.raises(CaseError, match="has no status 'nowhere'"):
        services.case_status(case=open_case, status="nowhere", reason="x", actor=officers[0])
    other = make_case(case_type="screening-review")
    with pytest.raises(CaseError, match="belongs to another case type"):
        services.case_status(
            case=open_case, status=other.case_type.statuses.get(code="review"), reason="x", actor=officers[0]
        )
    with pytest.raises(CaseError, match="is already at New"):
        services.case_status(case=open_case, status="new", reason="x", actor=officers[0])
    services.case_status(case=open_case, status="assessment", reason="the file arrived", actor=officers[0])
    open_case.refresh_from_db()
    assert open_case.status.code == "assessment"
    assert not open_case.closed
    assert open_case.events.filter(kind=CaseEvent.Kind.STATUS).get().text == "New → Assessment: the file arrived"


def test_notes_and_tasks(open_case: Case, officers: list[User]) -> None:
    services.case_take(case=open_case, actor=officers[0])
    note = services.case_note(case=open_case, text=" Called the buyer. ", actor=officers[0])
    assert note.text == "Called the buyer." and note.handlers_only
    with pytest.raises(CaseError, match="cannot be empty"):
        services.case_note(case=open_case, text="", actor=officers[0])
    with pytest.raises(CaseError, match="Only the officer assigned"):
        services.case_note(case=open_case, text="hello", actor=officers[1])
    due = timezone.localdate() + timedelta(days=5)
    task = services.task_add(
        case=open_case, title="Visit the site", actor=officers[0], assignee=officers[1], due_on=due
    )
    services.task_done(task=task, actor=officers[1])  # the task's own assignee may mark it done
    task.refresh_from_db()
    assert task.done_by == "officer-2" and task.done_at is not None
    texts = list(open_case.events.filter(kind=CaseEvent.Kind.TASK).values_list("text", flat=True))
    assert texts == [f"Task added for officer-2, due {due.isoformat()}: Visit the site", "Task done: Visit the site"]


# --- outcomes and four-eyes closing --------------------------------------------------------------------------


@pytest.fixture
def worked_case(open_case: Case, officers: list[User]) -> Case:
    services.case_take(case=open_case, actor=officers[0])
    return open_case


def test_four_eyes_the_proposer_cannot_approve_and_approval_closes(
    worked_case: Case, officers: list[User], approver: User
) -> None:
    outcome = services.outcome_propose(
        case=worked_case,
        outcome_type="fine",
        reasoning="Split contracts.",
        details={"amount": "12,500.50"},
        actor=officers[0],
    )
    assert outcome.details == {"amount": "12500.50"}
    with pytest.raises(CaseError, match="already has an outcome waiting for approval"):
        services.outcome_propose(case=worked_case, outcome_type="no-violation", reasoning="x", actor=officers[0])
    with pytest.raises(CaseError, match="needs a second officer to approve the outcome you proposed"):
        services.outcome_approve(outcome=outcome, actor=officers[0])
    worked_case.refresh_from_db()
    assert not worked_case.closed

    services.outcome_approve(outcome=outcome, actor=approver, reason="agreed")
    worked_case.refresh_from_db()
    today = timezone.localdate()
    assert worked_case.closed and worked_case.closed_at is not None
    assert worked_case.status.code == "closed" and worked_case.status.final
    assert worked_case.retain_until == _years_after(today, 10)  # the fine is kept ten years
    outcome.refresh_from_db()
    assert outcome.approved_by == approver and not outcome.rejected
    assert _kinds(worked_case)[-2:] == [CaseEvent.Kind.APPROVED, CaseEvent.Kind.CLOSED]
    with pytest.raises(CaseError, match="was already decided"):
        services.outcome_approve(outcome=outcome, actor=officers[1])
    stale = CaseOutcome.objects.get(pk=outcome.pk)
    stale.decided_at = None  # a second approver holding an old copy of the outcome
    with pytest.raises(CaseError, match="was already decided"):
        services.outcome_approve(outcome=stale, actor=officers[1])
    with pytest.raises(CaseError, match="is closed"):
        services.case_status(case=worked_case, status="assessment", reason="reopen?", actor=officers[0])


def test_a_rejected_outcome_keeps_the_case_open(
    worked_case: Case, officers: list[User], approver: User, case_auditor: User
) -> None:
    outcome = services.outcome_propose(
        case=worked_case, outcome_type="no-violation", reasoning="Nothing found.", actor=officers[0]
    )
    with pytest.raises(CaseError, match="You may not approve outcomes"):
        services.outcome_approve(outcome=outcome, actor=case_auditor)
    with pytest.raises(CaseError, match="You may not decide on outcomes"):
        services.outcome_reject(outcome=outcome, actor=case_auditor, reason="no")
    with pytest.raises(CaseError, match="A second officer decides"):
        services.outcome_reject(outcome=outcome, actor=officers[0], reason="changed my mind")
    with pytest.raises(CaseError, match="Say why the outcome is sent back"):
        services.outcome_reject(outcome=outcome, actor=approver, reason="")
    services.outcome_reject(outcome=outcome, actor=approver, reason="Check the bank records first.")
    worked_case.refresh_from_db()
    assert not worked_case.closed and worked_case.retain_until is None
    outcome.refresh_from_db()
    assert outcome.rejected and outcome.decision_reason == "Check the bank records first."
    assert worked_case.events.filter(kind=CaseEvent.Kind.REJECTED).get().text == (
        "Sent back: Check the bank records first."
    )
    # a new outcome may be proposed after the rejection
    services.outcome_propose(case=worked_case, outcome_type="administrative", reasoning="Warning.", actor=officers[0])


@pytest.mark.parametrize(
    ("code", "details", "sentence"),
    [
        ("fine", {}, "needs: amount of the fine."),
        ("fine", {"amount": "-5"}, "Amount of the fine of case {ref} cannot be negative."),
        ("fine", {"amount": "a lot"}, "Amount of the fine of case {ref} must be a number, not 'a lot'."),
        ("fine", {"amount": "NaN"}, "Amount of the fine of case {ref} must be a number, not 'NaN'."),
        ("fine", {"amount": "Infinity"}, "must be a number"),
        ("recovery", {"amount_frozen": "1", "amount_confiscated": "2"}, "needs: amount returned."),
        ("recovery", {"amount_frozen": "1", "amount_confiscated": "-2", "amount_returned": "0"}, "cannot be negative"),
        ("referral", {"authority": " "}, "needs: authority referred to."),
        ("debarment", {"years": "2.5"}, "must be a whole number of years from 1 to 100."),
        ("debarment", {"years": "0"}, "must be a whole number of years from 1 to 100."),
    ],
)
def test_outcomes_need_their_fields(
    worked_case: Case, officers: list[User], code: str, details: dict[str, str], sentence: str
) -> None:
    with pytest.raises(CaseError) as refused:
        services.outcome_propose(
            case=worked_case, outcome_type=code, reasoning="Because.", details=details, actor=officers[0]
        )
    assert sentence.format(ref=worked_case.reference) in str(refused.value)
    assert not worked_case.outcomes.exists()


def test_a_recovery_records_its_three_amounts(worked_case: Case, officers: list[User]) -> None:
    outcome = services.outcome_propose(
        case=worked_case,
        outcome_type="recovery",
        reasoning="Assets traced.",
        details={"amount_frozen": "1000", "amount_confiscated": "800.5", "amount_returned": "0", "extra": "x"},
        actor=officers[0],
    )
    assert outcome.details == {"amount_frozen": "1000", "amount_confiscated": "800.5", "amount_returned": "0"}
    with pytest.raises(CaseError, match="has no outcome 'pardon'"):
        services.outcome_propose(case=worked_case, outcome_type="pardon", reasoning="x", actor=officers[0])


# --- documents -----------------------------------------------------------------------------------------------


def _add(case: Case, actor: User, data: bytes, name: str = "contract.pdf") -> CaseDocument:
    return services.document_add(case=case, name=name, content=io.BytesIO(data), actor=actor)


def test_documents_are_stored_by_sha256_once_with_their_custody(
    worked_case: Case, officers: list[User], case_files: Path, make_case: Callable[..., Case]
) -> None:
    data = b"%PDF-1.4 the signed contract"
    sha = hashlib.sha256(data).hexdigest()
    first = _add(worked_case, officers[0], data, name="../../etc/contract.pdf")
    assert first.sha256 == sha and first.size == len(data) and first.name == "contract.pdf"
    stored = case_files / sha[:2] / sha
    assert stored.read_bytes() == data
    second = _add(worked_case, officers[0], data, name="copy.pdf")
    assert second.sha256 == sha
    assert [p.name for p in case_files.rglob("*") if p.is_file()] == [sha]  # the same bytes are stored once
    assert services.document_open(document=first, actor=officers[0]) == data
    assert services.document_open(document=first, actor=officers[0], export=True) == data
    assert list(first.custody.values_list("action", "actor")) == [
        (CustodyEvent.Action.ADDED, "officer-1"),
        (CustodyEvent.Action.VIEWED, "officer-1"),
        (CustodyEvent.Action.EXPORTED, "officer-1"),
    ]
    event = worked_case.events.filter(kind=CaseEvent.Kind.DOCUMENT).first()
    assert event is not None and event.text == f"Document added: contract.pdf (SHA-256 {sha[:12]}…)."
    other_type = make_case(case_type="screening-review").case_type.document_types.first()
    with pytest.raises(CaseError, match="belongs to another case type"):
        services.document_add(
            case=worked_case, name="x", content=io.BytesIO(b"x"), actor=officers[0], document_type=other_type
        )
    with pytest.raises(CaseError, match="Only the officer assigned"):
        _add(worked_case, officers[1], b"not mine")
    assert worked_case.documents.count() == 2


def test_a_changed_file_is_refused_logged_and_found_by_verify(
    worked_case: Case, officers: list[User], case_files: Path, case_auditor: User
) -> None:
    changed = _add(worked_case, officers[0], b"original evidence", name="ledger.xlsx")
    intact = _add(worked_case, officers[0], b"other evidence", name="minutes.txt")
    missing = _add(worked_case, officers[0], b"soon gone", name="photo.jpg")
    path = case_files / changed.sha256[:2] / changed.sha256
    path.chmod(0o600)
    path.write_bytes(b"edited evidence")
    (case_files / missing.sha256[:2] / missing.sha256).unlink()

    with pytest.raises(CaseError) as refused:
        services.document_open(document=changed, actor=officers[0])
    assert str(refused.value) == (
        f"The document ledger.xlsx of case {worked_case.reference} no longer matches the SHA-256 recorded when it "
        "was added."
    )
    assert changed.custody.last().action == CustodyEvent.Action.MISMATCH  # type: ignore[union-attr]
    entry = _audits("document_mismatch")[-1]
    assert entry.object_label == "ledger.xlsx" and entry.details["case"] == worked_case.reference
    with pytest.raises(CaseError, match="photo.jpg of case .* is missing"):
        services.document_open(document=missing, actor=officers[0])

    failed = services.documents_verify(CaseDocument.objects.order_by("id"), actor=case_auditor)
    assert [(document.name, problem) for document, problem in failed] == [
        ("ledger.xlsx", "the file no longer matches its SHA-256"),
        ("photo.jpg", "the file is missing"),
    ]
    assert intact.custody.last().action == CustodyEvent.Action.VERIFIED  # type: ignore[union-attr]
    assert missing.custody.filter(action=CustodyEvent.Action.MISMATCH, actor="case-auditor").exists()


def test_documents_join_only_open_cases(worked_case: Case, officers: list[User]) -> None:
    Case.objects.filter(pk=worked_case.pk).update(closed=True)
    worked_case.refresh_from_db()
    with pytest.raises(CaseError, match="is closed; documents are added to open cases"):
        _add(worked_case, officers[0], b"late")


# --- retention -----------------------------------------------------------------------------------------------


def _closed(case: Case, officer: User, approver: User, *, retain_until: date) -> Case:
    if case.assignee_id is None:
        services.case_take(case=case, actor=officer)
    outcome = services.outcome_propose(case=case, outcome_type="no-violation", reasoning="Nothing.", actor=officer)
    services.outcome_approve(outcome=outcome, actor=approver)
    Case.objects.filter(pk=case.pk).update(retain_until=retain_until)
    case.refresh_from_db()
    return case


def test_retention_deletes_only_closed_cases_past_their_date_and_audits_each(
    make_case: Callable[..., Case],
    officers: list[User],
    approver: User,
    case_files: Path,
    flagged_finding: Finding,
) -> None:
    today = timezone.localdate()
    expired = services.case_from_findings(findings=[flagged_finding], actor=officers[0])
    services.case_take(case=expired, actor=officers[0])
    _add(expired, officers[0], b"only in the expired case", name="a.txt")
    _add(expired, officers[0], b"shared bytes", name="b.txt")
    expired = _closed(expired, officers[0], approver, retain_until=today - timedelta(days=1))
    kept_closed = make_case(title="Still kept")
    services.case_take(case=kept_closed, actor=officers[0])
    _add(kept_closed, officers[0], b"shared bytes", name="c.txt")
    kept_closed = _closed(kept_closed, officers[0], approver, retain_until=today + timedelta(days=1))
    still_open = make_case(title="Open")
    Case.objects.filter(pk=still_open.pk).update(retain_until=today - timedelta(days=30))
    due_today = _closed(make_case(title="Due today"), officers[0], approver, retain_until=today)

    only = hashlib.sha256(b"only in the expired case").hexdigest()
    shared = hashlib.sha256(b"shared bytes").hexdigest()
    assert services.retention_run(on=today) == 1
    assert not Case.objects.filter(pk=expired.pk).exists()
    assert set(Case.objects.values_list("pk", flat=True)) == {kept_closed.pk, still_open.pk, due_today.pk}
    assert Finding.objects.filter(pk=flagged_finding.pk).exists()  # the finding stays; only its link goes
    assert not CaseFinding.objects.exists()
    assert not (case_files / only[:2] / only).exists()  # no other document used it
    assert (case_files / shared[:2] / shared).exists()  # another case's document still uses it
    entry = _audits("case_deleted")[-1]
    assert entry.object_label == expired.reference
    assert entry.actor == "system:cases.retention"
    assert entry.details == {
        "reason": "retention period over",
        "retain_until": (today - timedelta(days=1)).isoformat(),
        "documents": 2,
    }
    assert len(_audits("case_deleted")) == 1
    assert services.retention_run(on=today) == 0  # nothing else is past its date


# --- catalogue -----------------------------------------------------------------------------------------------


def test_revising_a_used_type_makes_version_2_and_the_case_keeps_version_1(
    make_case: Callable[..., Case], case_admin: User
) -> None:
    case = make_case()
    v1 = case.case_type
    v2 = services.case_type_revise(
        case_type=v1, changes={"name": "Procurement review", "lead_time_days": "45"}, actor=case_admin
    )
    assert (v2.code, v2.version, v2.name, v2.lead_time_days) == ("procurement-review", 2, "Procurement review", 45)
    assert v2.valid_from == timezone.localdate()
    assert list(v2.statuses.values_list("code", flat=True)) == list(v1.statuses.values_list("code", flat=True))
    assert v2.task_templates.count() == v1.task_templates.count() == 2
    assert v2.outcome_types.count() == v1.outcome_types.count()
    v1.refresh_from_db()
    assert v1.version == 1 and v1.name == "Procurement red-flag review"
    assert v1.valid_until == timezone.localdate() - timedelta(days=1)
    case.refresh_from_db()
    assert case.case_type_id == v1.pk
    newer = make_case()
    assert newer.case_type_id == v2.pk and newer.due_on == timezone.localdate() + timedelta(days=45)
    with pytest.raises(CaseError, match="has a newer version \\(2\\) than 1"):
        services.case_type_revise(case_type=v1, changes={"name": "x"}, actor=case_admin)


def test_revising_an_unused_type_edits_it_in_place_and_checks_values(case_admin: User) -> None:
    unused = CaseType.objects.get(code="screening-review")
    same = services.case_type_revise(case_type=unused, changes={"roles": ["analyst", "analyst"]}, actor=case_admin)
    assert same.pk == unused.pk and same.version == 1 and same.roles == ["analyst"]
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"code": "x"}, "A case type has no field 'code' that can be edited."),
        ({"roles": ["janitor"]}, "'janitor' is not one of the roles a case type can name."),
        ({"roles": "analyst"}, "must be a list"),
        ({"lead_time_days": -1}, "must be from 0 to 36500 days"),
        ({"remind_days": "soon"}, "must be a whole number"),
        ({"name": " "}, "A case type needs a name."),
        ({"valid_until": "tomorrow"}, "'tomorrow' is not a date"),
    ]
    for changes, sentence in refusals:
        with pytest.raises(CaseError) as refused:
            services.case_type_revise(case_type=unused, changes=changes, actor=case_admin)
        assert sentence in str(refused.value)


# --- visibility, queue, related cases, statistics ------------------------------------------------------------


def test_cases_visible_follows_the_roles_each_type_may_be_worked_by(
    make_case: Callable[..., Case],
    make_officer: Callable[..., User],
    case_admin: User,
    case_auditor: User,
) -> None:
    procurement = make_case(title="Procurement")
    declaration = make_case(case_type="declaration-verification", title="Declaration")
    report = make_case(case_type="protected-report", source=Case.Source.REPORT, title="Report")
    analyst = make_officer("analyst")
    verifier = make_officer("verifier")
    handler = make_officer("case_handler")
    declarant = make_officer("declarant")
    every = {procurement.pk, declaration.pk, report.pk}
    expected = {
        case_admin: every,
        case_auditor: every,
        handler: {procurement.pk, declaration.pk},  # a protected report is confidential: only when theirs
        verifier: {procurement.pk, declaration.pk},
        analyst: {procurement.pk},
        declarant: set(),
    }
    for user, cases in expected.items():
        assert set(selectors.cases_visible(user).values_list("pk", flat=True)) == cases, user.username
        for case in (procurement, declaration, report):
            assert selectors.can_see(user, case) == (case.pk in cases), (user.username, case.title)
    # a case assigned to someone is visible to them whatever its type
    services.case_assign(case=declaration, officer=analyst, reason="knows the declarant's sector", actor=case_admin)
    declaration.refresh_from_db()
    assert set(selectors.cases_visible(analyst).values_list("pk", flat=True)) == {procurement.pk, declaration.pk}
    assert selectors.can_see(analyst, declaration)
    # the protected report once it is the handler's
    services.case_assign(case=report, officer=handler, reason="on duty", actor=case_admin)
    report.refresh_from_db()
    assert report.pk in set(selectors.cases_visible(handler).values_list("pk", flat=True))
    assert selectors.can_see(handler, report)
    from django.contrib.auth.models import AnonymousUser

    assert not selectors.cases_visible(AnonymousUser()).exists()


def test_my_work_lists_my_cases_my_tasks_and_cases_to_take(
    make_case: Callable[..., Case], officers: list[User]
) -> None:
    mine = make_case(title="Mine")
    services.case_take(case=mine, actor=officers[0])
    theirs = make_case(title="Theirs")
    services.case_take(case=theirs, actor=officers[1])
    task = services.task_add(case=theirs, title="Help with the ledger", actor=officers[1], assignee=officers[0])
    free = make_case(title="Free")
    work = selectors.my_work(officers[0])
    assert [c.pk for c in work["cases"]] == [mine.pk]
    assert task.pk in {t.pk for t in work["tasks"]}
    assert {t.case_id for t in work["tasks"]} == {mine.pk, theirs.pk}  # mine's own tasks have no assignee
    assert [c.pk for c in work["unassigned"]] == [free.pk]


def test_related_cases_share_a_person_or_an_organisation(
    make_case: Callable[..., Case], organisation: Organisation, person: Person, make_officer: Callable[..., User]
) -> None:
    first = make_case(organisations=[organisation])
    by_org = make_case(organisations=[organisation], title="Same company")
    by_person = make_case(case_type="declaration-verification", people=[person], title="Same person")
    make_case(title="Nothing shared")
    first_person = services.case_party_add(case=first, person=person, actor=None)
    assert first_person.person == person
    assert set(selectors.related_cases(first).values_list("pk", flat=True)) == {by_org.pk, by_person.pk}
    analyst = make_officer("analyst")  # may not work declaration verifications
    assert set(selectors.related_cases(first, user=analyst).values_list("pk", flat=True)) == {by_org.pk}


def test_statistics(make_case: Callable[..., Case], officers: list[User], approver: User, body: PublicBody) -> None:
    closed = make_case(title="Closed", body=body)
    services.case_take(case=closed, actor=officers[0])
    outcome = services.outcome_propose(
        case=closed, outcome_type="fine", reasoning="Yes.", details={"amount": "10"}, actor=officers[0]
    )
    services.outcome_approve(outcome=outcome, actor=approver)
    late = make_case(title="Late")
    Case.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    make_case(case_type="screening-review", title="Screening")
    stats = selectors.statistics()
    assert (stats["opened"], stats["open"], stats["closed"], stats["overdue"]) == (3, 2, 1, 1)
    assert stats["mean_days_to_close"] == 0.0
    assert stats["closed_on_time_share"] == 1.0
    assert stats["by_outcome"] == [{"kind": "fine", "n": 1}]
    assert {row["case_type__code"]: row["n"] for row in stats["by_type"]} == {
        "procurement-review": 2,
        "screening-review": 1,
    }
    assert {row["body__name"]: row["n"] for row in stats["by_body"]} == {"Ministry of Roads": 1, None: 2}
    assert {row["status__name"]: row["n"] for row in stats["by_status"]} == {"New": 2, "Closed": 1}
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert selectors.statistics(since=tomorrow)["opened"] == 0


def test_overdue_and_reminders_follow_each_types_reminder_period(
    make_case: Callable[..., Case], officers: list[User]
) -> None:
    today = timezone.localdate()
    soon = make_case(title="Soon")  # procurement review: reminded 7 days before
    later = make_case(title="Later")
    past = make_case(title="Past")
    report = make_case(case_type="protected-report", source=Case.Source.REPORT, title="Report")
    Case.objects.filter(pk=soon.pk).update(due_on=today + timedelta(days=5))
    Case.objects.filter(pk=later.pk).update(due_on=today + timedelta(days=20))
    Case.objects.filter(pk=past.pk).update(due_on=today - timedelta(days=2))
    assert [c.pk for c in services.reminders_due(on=today)] == [past.pk, soon.pk]
    CaseType.objects.filter(code="procurement-review").update(remind_days=30)
    assert [c.pk for c in services.reminders_due(on=today)] == [past.pk, soon.pk, later.pk]

    late_ack = today + timedelta(days=8)
    counts = services.overdue(on=late_ack)
    assert counts["acknowledgements"] == 1
    services.case_take(case=report, actor=officers[0])
    services.case_status(case=report, status="acknowledged", reason="Letter sent.", actor=officers[0])
    assert services.overdue(on=late_ack)["acknowledgements"] == 0
    assert services.overdue(on=today)["cases"] == 1
    # on day 15: the first task of each procurement review (due on day 14) and both tasks of the report (day 7)
    assert services.overdue(on=today + timedelta(days=15))["tasks"] == 3 + 2


# --- the case_open hook --------------------------------------------------------------------------------------


def test_the_case_open_hook_is_idempotent_per_source_record(
    officers: list[User], approver: User, person: Person, body: PublicBody
) -> None:
    arguments = {
        "source": "report",
        "source_key": "RPT-7Q2X",
        "case_type": "protected-report",
        "title": "Protected report RPT-7Q2X",
        "actor": officers[0],
        "assignee": officers[0],
        "person_ids": [person.pk],
        "body_id": body.pk,
    }
    [reference] = hook_call("case_open", **arguments)
    case = Case.objects.get(reference=reference)
    assert (case.source, case.source_key, case.assignee, case.body) == ("report", "RPT-7Q2X", officers[0], body)
    assert list(case.parties.values_list("person_id", flat=True)) == [person.pk]
    assert services.case_open_hook(**arguments) == reference
    assert Case.objects.filter(source_key="RPT-7Q2X").count() == 1
    outcome = services.outcome_propose(
        case=case, outcome_type="no-violation", reasoning="Unfounded.", actor=officers[0]
    )
    services.outcome_approve(outcome=outcome, actor=approver)
    assert services.case_open_hook(**arguments) == reference  # a closed case is still the record's case
    assert Case.objects.count() == 1
    other = services.case_open_hook(**{**arguments, "source_key": "RPT-OTHER", "assignee": None})
    assert other != reference and Case.objects.get(reference=other).assignee is None
    no_key = {**arguments, "source_key": "", "assignee": None}
    assert services.case_open_hook(**no_key) != services.case_open_hook(**no_key)
