"""Selection of declarations for full verification, the verifier's workflow, and who may do what.

* **Risk selection** (``select_by_risk``): a declaration's risk score is the sum of the weights of
  its open or confirmed flags (``declarations.selectors.risk_scores``); the highest in the queue
  (``selectors.risk_queue``) are selected for verification as ``VerificationCase(reason=risk)``.
* **Verifiable random sample** (``draw_sample``; ``selectors.redraw`` draws it again): the
  population is the sorted ids of the declarations that match the criteria and had a version
  submitted at the moment of the draw; the draw ranks each id by ``HMAC-SHA256(key=seed,
  message=id)`` and takes the smallest (``sampling``). The seed, the population's size and SHA-256,
  and the selected ids are stored (``SampleDraw``) and written to the audit log, so that anyone can
  draw the same sample again (``sampling.ALGORITHM_DESCRIPTION``).
* **Workflow** (``case_assign``, ``case_start``, ``case_finding_decide``, ``case_record_outcome``,
  ``case_close``): queued → assigned → in progress → completed; each step is checked against
  ``TRANSITIONS`` and written to the audit log (``VerificationCase`` is audited; the finding decisions
  go through core's finding triage and add an entry that names the case).

**Permissions**: the pages and the API ask the same ``may_*`` functions below before calling a
service (``may_view``, ``may_select``, ``may_draw``, ``may_assign``, ``may_work_on`` …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from probity.core.audit import actor_name, audit_as, audit_record
from probity.core.models import AuditEntry, Finding
from probity.core.roles import VERIFIER, user_roles
from probity.core.services import finding_triage
from probity.declarations.models import SampleDraw, VerificationCase
from probity.declarations.selectors import risk_scores
from probity.declarations.services import may_see_findings
from probity.declarations.verification.sampling import ALGORITHM, clean_seed, draw, population_hash
from probity.declarations.verification.selectors import clean_criteria, open_cases, population, risk_queue

Status = VerificationCase.Status
Outcome = VerificationCase.Outcome

# Which status may follow which (a re-assignment keeps the status of an assigned case).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.ASSIGNED}),
    Status.ASSIGNED: frozenset({Status.ASSIGNED, Status.IN_PROGRESS}),
    Status.IN_PROGRESS: frozenset({Status.IN_PROGRESS, Status.COMPLETED}),
    Status.COMPLETED: frozenset(),
}


class TransitionError(ValueError):
    """A workflow step that the case's status does not allow (the message says why)."""


# --- who may do what (the pages and the API ask the same questions) -----------------------------


def may_view(*, user: User | AnonymousUser) -> bool:
    """See the verification queue and cases (verifiers, analysts, administrators, auditors)."""
    return bool(user.is_authenticated and user.has_perm("declarations.view_verificationcase"))


def may_see_samples(*, user: User | AnonymousUser) -> bool:
    """See the random samples and draw them again."""
    return bool(user.has_perm("declarations.view_sampledraw"))


def may_select(*, user: User | AnonymousUser) -> bool:
    """Select declarations for verification by risk (administrators)."""
    return bool(user.has_perm("declarations.add_verificationcase"))


def may_draw(*, user: User | AnonymousUser) -> bool:
    """Draw a random sample (administrators)."""
    return bool(user.has_perm("declarations.add_sampledraw") and user.has_perm("declarations.add_verificationcase"))


def is_verifier(*, user: User | AnonymousUser) -> bool:
    """An active user in the verifier role who may work on cases: who may be assigned one."""
    return bool(
        user.is_active and VERIFIER in user_roles(user) and user.has_perm("declarations.change_verificationcase")
    )


def may_assign_any(*, user: User | AnonymousUser) -> bool:
    """Assign any case to any verifier (administrators)."""
    return bool(user.has_perm("declarations.add_verificationcase"))


def may_assign(*, user: User | AnonymousUser, case: VerificationCase, verifier: User | AnonymousUser) -> bool:
    """Administrators assign any verifier; a verifier may take a case that nobody else holds."""
    if may_assign_any(user=user):
        return True
    return bool(
        user.has_perm("declarations.change_verificationcase")
        and verifier.pk == user.pk
        and case.verifier_id in (None, user.pk)
    )


def may_work_on(*, user: User | AnonymousUser, case: VerificationCase) -> bool:
    """Only the assigned verifier starts a case, decides on its findings and records its outcome."""
    return bool(user.has_perm("declarations.change_verificationcase") and case.verifier_id == user.pk)


def may_decide_findings(*, user: User | AnonymousUser) -> bool:
    """Confirm or dismiss findings (core's finding triage)."""
    return bool(user.has_perm("core.triage_finding"))


def may_compare(*, user: User | AnonymousUser) -> bool:
    """Open the side-by-side page: every declaration, with its findings."""
    return bool(user.has_perm("declarations.view_declaration") and may_see_findings(user=user))


def may_see_case_history(*, user: User | AnonymousUser) -> bool:
    """Read a case's audit entries (administrators and auditors)."""
    return bool(user.has_perm("core.view_auditentry"))


@dataclass
class SelectionResult:
    created: list[VerificationCase] = field(default_factory=list)
    already_open: list[int] = field(default_factory=list)  # declaration ids that already had an open case


def select_by_risk(
    *,
    actor: User | None = None,
    criteria: dict[str, Any] | None = None,
    top: int | None = None,
    min_score: float | None = None,
) -> SelectionResult:
    """Opens a case (reason: risk) for the highest-ranked declarations that have no open case.

    ``top``: the N highest-ranked declarations without an open case; ``min_score``: every one whose
    score is at least X. One of the two is required; both together mean "the top N of those at X or
    more". Declarations with a score of 0 are never selected by risk. ``actor``: who selects (``None``:
    the system, named by the current ``audit_actor``).
    """
    if top is None and min_score is None:
        raise ValueError("give the number of declarations to select (top) or the lowest risk score (min_score)")
    if top is not None and top < 1:
        raise ValueError("top must be at least 1")
    if min_score is not None and min_score <= 0:
        raise ValueError("min_score must be greater than 0: a declaration without flags is not selected by risk")
    criteria = clean_criteria(criteria=criteria)
    # A declaration whose latest version is not judged yet waits for its verification (its score is stale).
    rows = [r for r in risk_queue(criteria=criteria, case_status="none") if r.judged and r.score > 0]
    if min_score is not None:
        rows = [r for r in rows if r.score >= min_score]
    if top is not None:
        rows = rows[:top]
    result = SelectionResult()
    with audit_as(actor), transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():
                    case = VerificationCase.objects.create(
                        declaration=row.declaration, reason=VerificationCase.Reason.RISK, risk_score=row.score
                    )
            except IntegrityError:  # a case was opened meanwhile
                result.already_open.append(row.declaration.pk)
                continue
            result.created.append(case)
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="declarations.verificationcase",
            object_label="risk selection",
            details={
                "event": "verification_selected_by_risk",
                "criteria": criteria,
                "top": top,
                "min_score": min_score,
                "selected": [{"declaration": c.declaration_id, "score": c.risk_score} for c in result.created],
            },
        )
    return result


# --- the verifiable random sample -----------------------------------------------------------------


@dataclass
class SampleResult:
    sample: SampleDraw
    created: list[VerificationCase]
    already_open: list[int]


def draw_sample(
    *,
    size: int,
    actor: User | None = None,
    criteria: dict[str, Any] | None = None,
    seed: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> SampleResult:
    """Draws a verifiable random sample, records it and opens a case (reason: random) for each one
    selected that has no open case. The audit entry carries the seed and the result. ``actor``: who draws
    (``None``: the system, named by the current ``audit_actor``)."""
    if size < 1:
        raise ValueError("the sample size must be at least 1")
    criteria = clean_criteria(criteria=criteria)
    seed = clean_seed(seed)
    now = timezone.now()
    criteria["submitted_before"] = now.isoformat()
    ids = population(criteria=criteria, submitted_before=now)
    if size > len(ids):
        raise ValueError(
            f"the sample size {size} is larger than the population: {len(ids)} declaration(s) match the criteria"
        )
    selected = draw(seed, ids, size, progress)
    digest = population_hash(ids)
    created: list[VerificationCase] = []
    already_open: list[int] = []
    with audit_as(actor), transaction.atomic():
        sample = SampleDraw.objects.create(
            drawn_at=now,
            drawn_by=actor_name(actor),
            seed=seed,
            algorithm=ALGORITHM,
            criteria=criteria,
            population_size=len(ids),
            population_hash=digest,
            size=size,
            selected=selected,
        )
        busy = open_cases(declaration_ids=selected)
        for declaration_id in selected:
            if declaration_id in busy:
                already_open.append(declaration_id)
                continue
            created.append(
                VerificationCase.objects.create(
                    declaration_id=declaration_id,
                    reason=VerificationCase.Reason.RANDOM,
                    sample=sample,
                    risk_score=risk_scores(declaration_ids=[declaration_id]).get(declaration_id, 0.0),
                )
            )
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="declarations.sampledraw",
            object_id=str(sample.pk),
            object_label=str(sample),
            details={
                "event": "sample_drawn",
                "algorithm": ALGORITHM,
                "seed": seed,
                "criteria": criteria,
                "population_size": len(ids),
                "population_hash": digest,
                "size": size,
                "selected": selected,
                "cases_opened": [c.declaration_id for c in created],
                "already_open": already_open,
            },
        )
    return SampleResult(sample, created, already_open)


# --- the workflow ----------------------------------------------------------------------------------


def _move(case: VerificationCase, to: str) -> None:
    if to not in TRANSITIONS[case.status]:
        raise TransitionError(
            f"verification case {case.pk} is {case.get_status_display()}; it cannot become {Status(to).label}"
        )
    case.status = to


def case_assign(*, case: VerificationCase, verifier: User, actor: User) -> VerificationCase:
    """Assigns (or re-assigns) a case to a user in the verifier role."""
    if not is_verifier(user=verifier):
        raise ValueError(f"{verifier.get_username()} is not an active verifier and cannot be assigned a case")
    with audit_as(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        _move(case, Status.IN_PROGRESS if case.status == Status.IN_PROGRESS else Status.ASSIGNED)
        case.verifier = verifier
        case.assigned_at = timezone.now()
        case.save(update_fields=["status", "verifier", "assigned_at"])
    return case


def case_start(*, case: VerificationCase, actor: User) -> VerificationCase:
    with audit_as(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        if case.status == Status.ASSIGNED:
            _move(case, Status.IN_PROGRESS)
        else:
            raise TransitionError(
                f"verification case {case.pk} is {case.get_status_display()}; only an assigned case can be started"
            )
        case.save(update_fields=["status"])
    return case


def case_finding_decide(
    *, case: VerificationCase, finding: Finding, decision: str, reason: str, actor: User
) -> Finding:
    """Confirms or dismisses one finding of the case's declaration through core's finding triage."""
    if case.status != Status.IN_PROGRESS:
        raise TransitionError(
            f"verification case {case.pk} is {case.get_status_display()}; start it before deciding on findings"
        )
    if finding.subject_type != "declaration" or finding.subject_id != str(case.declaration_id):
        raise ValueError(f"finding {finding.pk} is not about the declaration of verification case {case.pk}")
    with audit_as(actor), transaction.atomic():
        finding = finding_triage(finding=finding, decision=decision, reason=reason, actor=actor)
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="declarations.verificationcase",
            object_id=str(case.pk),
            object_label=str(case),
            details={
                "event": "verification_finding_decided",
                "finding": finding.pk,
                "detector": finding.detector_code,
                "decision": decision,
            },
        )
    return finding


def case_record_outcome(
    *,
    case: VerificationCase,
    outcome: str,
    actor: User,
    notes: str = "",
    referred_to: str = "",
    sanction: str = "",
    close: bool = False,
) -> VerificationCase:
    """Records the outcome of a case in progress (and closes it when ``close``).

    A referral names the authority (``referred_to``); a sanction says what it is (``sanction``).
    """
    if outcome not in Outcome.values or outcome == Outcome.NONE:
        raise ValueError(f"unknown outcome {outcome!r}; outcomes are: {', '.join(v for v in Outcome.values if v)}")
    referred_to, sanction = referred_to.strip(), sanction.strip()
    if outcome == Outcome.REFERRAL and not referred_to:
        raise ValueError("a referral needs the authority it is referred to (referred_to)")
    if outcome == Outcome.SANCTION and not sanction:
        raise ValueError("a sanction outcome needs the sanction imposed (sanction)")
    with audit_as(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        if case.status != Status.IN_PROGRESS:
            raise TransitionError(
                f"verification case {case.pk} is {case.get_status_display()}; "
                "an outcome is recorded on a case in progress"
            )
        case.outcome = outcome
        case.outcome_notes = notes.strip()
        case.referred_to = referred_to
        case.sanction = sanction
        fields = ["outcome", "outcome_notes", "referred_to", "sanction"]
        if close:
            _move(case, Status.COMPLETED)
            case.closed_at = timezone.now()
            fields += ["status", "closed_at"]
        case.save(update_fields=fields)
    return case


def case_close(*, case: VerificationCase, actor: User) -> VerificationCase:
    """Completes a case in progress whose outcome is recorded."""
    with audit_as(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        if case.status == Status.IN_PROGRESS and not case.outcome:
            raise TransitionError(f"verification case {case.pk} has no outcome yet; record the outcome first")
        _move(case, Status.COMPLETED)
        case.closed_at = timezone.now()
        case.save(update_fields=["status", "closed_at"])
    return case
