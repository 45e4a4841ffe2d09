"""Declarations API: selection for verification and the verification workflow.

Mounted at ``/api/v1/declarations/verification``:

* ``GET /queue``: declarations ranked by risk score (filters ``year``, ``declaration_type``,
  ``body_id``, ``status``), paginated with ``limit``/``offset``.
* ``POST /select``: open cases for the highest-ranked declarations (``top`` or ``min_score``).
* ``POST /samples``: draw a verifiable random sample; ``GET /samples``, ``GET /samples/{id}``, and
  ``GET /samples/{id}/check`` (draw again from the recorded seed and population, and compare).
* ``GET /cases``, ``GET /cases/{id}``; ``POST /cases/{id}/assign``, ``/start``,
  ``/findings/{finding_id}`` (confirm or dismiss), ``/outcome``, ``/close``.

Permissions (the ``may_*`` functions of ``verification.services``, which the pages ask too): reading
needs ``declarations.view_verificationcase`` (verifiers, analysts, administrators, auditors);
selecting and drawing need ``add_verificationcase`` and ``add_sampledraw`` (administrators); working
on a case needs ``change_verificationcase`` and being its verifier. A step the case's status does not
allow answers 409.

The operation ids are those the endpoints had when this module was ``declarations/api_verification.py``
(``operation_id``): the published OpenAPI document does not change with the layout of the code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from probity.core.api import ApiError, errors
from probity.declarations.models import SampleDraw, VerificationCase
from probity.declarations.selectors import latest_findings
from probity.declarations.services import may_see_findings
from probity.declarations.verification import sampling, selectors, services

router = Router(tags=["declarations"])

DeclarationType = Literal["entry", "annual", "exit", "post_exit"]
CaseStatus = Literal["queued", "assigned", "in_progress", "completed"]
QueueStatus = Literal["none", "queued", "assigned", "in_progress", "completed"]
OutcomeValue = Literal["no_violation", "corrected", "violation", "referral", "sanction"]


class CriteriaIn(Schema):
    year: int | None = Field(None, ge=1900, le=2200)
    declaration_type: DeclarationType | None = None
    body_id: int | None = None


class SelectIn(CriteriaIn):
    top: int | None = Field(None, ge=1, description="the N highest-ranked declarations without an open case")
    min_score: float | None = Field(None, gt=0, description="every declaration with at least this risk score")


class SampleIn(CriteriaIn):
    size: int = Field(..., ge=1)
    seed: str | None = Field(None, description="32 to 128 hex digits; drawn with secrets.token_hex(32) when absent")


class AssignIn(Schema):
    verifier_id: int | None = Field(None, description="a user in the verifier role; absent: the caller")


class DecisionIn(Schema):
    decision: Literal["confirmed", "dismissed"]
    reason: str = Field("", max_length=5000, description="required when dismissing")


class OutcomeIn(Schema):
    outcome: OutcomeValue
    notes: str = Field("", max_length=20000)
    referred_to: str = Field("", max_length=300, description="required for a referral")
    sanction: str = Field("", max_length=300, description="required for a sanction")
    close: bool = False


class CaseOut(Schema):
    id: int
    declaration_id: int
    declarant: str
    declaration_type: str
    year: int
    reason: str
    risk_score: float
    sample_id: int | None
    status: str
    verifier: str | None
    assigned_at: datetime | None
    outcome: str
    outcome_notes: str
    referred_to: str
    sanction: str
    created_at: datetime
    closed_at: datetime | None


class QueueItemOut(Schema):
    rank: int
    declaration_id: int
    declarant: str
    declaration_type: str
    year: int
    body_name: str
    risk_score: float
    judged: bool = Field(
        description="false while the verification detectors have not judged the latest version (just submitted "
        "or corrected): its risk_score is then about an earlier version, or 0 for nothing"
    )
    case: CaseOut | None


class QueueOut(Schema):
    items: list[QueueItemOut]
    count: int


class SelectOut(Schema):
    created: list[CaseOut]
    already_open: list[int]


class SampleOut(Schema):
    id: int
    drawn_at: datetime
    drawn_by: str
    seed: str
    algorithm: str
    criteria: dict[str, Any]
    population_size: int
    population_hash: str
    size: int
    selected: list[int]
    cases: list[int] = Field(description="ids of the verification cases opened for the sample")


class SampleDrawnOut(SampleOut):
    already_open: list[int] = Field(description="selected declarations that already had an open case")


class SampleCheckOut(Schema):
    sample_id: int
    ok: bool
    population_matches: bool
    selected_matches: bool
    population_hash: str
    recorded_population_hash: str
    selected: list[int]
    recorded_selected: list[int]
    population: list[int] | None = Field(description="the population's ids, with include_population=true")
    algorithm: str


class FindingDecisionOut(Schema):
    finding_id: int
    detector: str
    triage: str
    triage_reason: str


class CaseDetailOut(CaseOut):
    findings: list[dict[str, Any]]


def _user(request: HttpRequest) -> User:
    user = getattr(request, "auth", None)
    if user is None:
        raise HttpError(401, "Authentication is required.")
    return cast(User, user)


def _forbidden(message: str) -> ApiError:
    return ApiError(403, "permission_denied", message)


def _reader(request: HttpRequest) -> User:
    user = _user(request)
    if not services.may_view(user=user):
        raise _forbidden("Your role may not see verification cases.")
    return user


def _case_out(case: VerificationCase) -> dict[str, Any]:
    declaration = case.declaration
    return {
        "id": case.pk,
        "declaration_id": declaration.pk,
        "declarant": declaration.declarant.name,
        "declaration_type": declaration.declaration_type,
        "year": declaration.year,
        "reason": case.reason,
        "risk_score": case.risk_score,
        "sample_id": case.sample_id,
        "status": case.status,
        "verifier": case.verifier.get_username() if case.verifier else None,
        "assigned_at": case.assigned_at,
        "outcome": case.outcome,
        "outcome_notes": case.outcome_notes,
        "referred_to": case.referred_to,
        "sanction": case.sanction,
        "created_at": case.created_at,
        "closed_at": case.closed_at,
    }


def _sample_out(sample: SampleDraw) -> dict[str, Any]:
    return {
        "id": sample.pk,
        "drawn_at": sample.drawn_at,
        "drawn_by": sample.drawn_by,
        "seed": sample.seed,
        "algorithm": sample.algorithm,
        "criteria": sample.criteria,
        "population_size": sample.population_size,
        "population_hash": sample.population_hash,
        "size": sample.size,
        "selected": list(sample.selected),
        "cases": sorted(sample.cases.values_list("pk", flat=True)),
    }


def _get_case(case_id: int) -> VerificationCase:
    case = VerificationCase.objects.select_related("declaration__declarant", "verifier").filter(pk=case_id).first()
    if case is None:
        raise ApiError(404, "not_found", f"There is no verification case {case_id}.")
    return case


def _transition(exc: services.TransitionError) -> ApiError:
    message = str(exc)
    return ApiError(409, "conflict", message[0].upper() + message[1:] + ".")


# --- the queue and selection ------------------------------------------------------------------------


@router.get(
    "/queue",
    response={200: QueueOut, **errors(403, 422)},
    summary="Declarations ranked by risk score",
    operation_id="probity_declarations_api_verification_queue",
)
def queue(
    request: HttpRequest,
    year: int | None = None,
    declaration_type: DeclarationType | None = None,
    body_id: int | None = None,
    status: QueueStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    _reader(request)
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    rows = selectors.risk_queue(
        criteria={"year": year, "declaration_type": declaration_type, "body_id": body_id}, case_status=status or ""
    )
    items = [
        {
            "rank": offset + index + 1,
            "declaration_id": row.declaration.pk,
            "declarant": row.declaration.declarant.name,
            "declaration_type": row.declaration.declaration_type,
            "year": row.declaration.year,
            "body_name": row.declaration.body_name,
            "risk_score": row.score,
            "judged": row.judged,
            "case": _case_out(row.case) if row.case else None,
        }
        for index, row in enumerate(rows[offset : offset + limit])
    ]
    return {"items": items, "count": len(rows)}


@router.post(
    "/select",
    response={201: SelectOut, **errors(400, 403, 422)},
    summary="Select declarations for verification by risk",
    operation_id="probity_declarations_api_verification_select",
)
def select(request: HttpRequest, payload: SelectIn) -> Status:
    user = _user(request)
    if not services.may_select(user=user):
        raise _forbidden("Your role may not select declarations for verification.")
    result = services.select_by_risk(
        actor=user,
        criteria=payload.dict(include={"year", "declaration_type", "body_id"}),
        top=payload.top,
        min_score=payload.min_score,
    )
    created = VerificationCase.objects.select_related("declaration__declarant", "verifier").filter(
        pk__in=[c.pk for c in result.created]
    )
    return Status(201, {"created": [_case_out(c) for c in created], "already_open": result.already_open})


# --- samples ----------------------------------------------------------------------------------------


@router.post(
    "/samples",
    response={201: SampleDrawnOut, **errors(400, 403, 422)},
    summary="Draw a verifiable random sample",
    operation_id="probity_declarations_api_verification_sample_draw",
)
def sample_draw(request: HttpRequest, payload: SampleIn) -> Status:
    user = _user(request)
    if not services.may_draw(user=user):
        raise _forbidden("Your role may not draw random samples.")
    result = services.draw_sample(
        size=payload.size,
        seed=payload.seed,
        criteria=payload.dict(include={"year", "declaration_type", "body_id"}),
        actor=user,
    )
    return Status(201, {**_sample_out(result.sample), "already_open": result.already_open})


@router.get(
    "/samples",
    response={200: list[SampleOut], **errors(403)},
    summary="Random samples, newest first",
    operation_id="probity_declarations_api_verification_sample_list",
)
def sample_list(request: HttpRequest, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    user = _user(request)
    if not services.may_see_samples(user=user):
        raise _forbidden("Your role may not see random samples.")
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    return [_sample_out(s) for s in SampleDraw.objects.order_by("-drawn_at", "-pk")[offset : offset + limit]]


def _get_sample(request: HttpRequest, sample_id: int) -> SampleDraw:
    user = _user(request)
    if not services.may_see_samples(user=user):
        raise _forbidden("Your role may not see random samples.")
    sample = SampleDraw.objects.filter(pk=sample_id).first()
    if sample is None:
        raise ApiError(404, "not_found", f"There is no random sample {sample_id}.")
    return sample


@router.get(
    "/samples/{int:sample_id}",
    response={200: SampleOut, **errors(403, 404)},
    summary="One random sample",
    operation_id="probity_declarations_api_verification_sample_detail",
)
def sample_detail(request: HttpRequest, sample_id: int) -> dict[str, Any]:
    return _sample_out(_get_sample(request, sample_id))


@router.get(
    "/samples/{int:sample_id}/check",
    response={200: SampleCheckOut, **errors(400, 403, 404)},
    summary="Draw a sample again from its recorded seed and population, and compare",
    operation_id="probity_declarations_api_verification_sample_check",
)
def sample_check(request: HttpRequest, sample_id: int, include_population: bool = False) -> dict[str, Any]:
    """``include_population=true`` adds the ids of the population, to re-draw the sample elsewhere."""
    sample = _get_sample(request, sample_id)
    check = selectors.redraw(sample=sample)
    return {
        "sample_id": sample.pk,
        "ok": check.ok,
        "population_matches": check.population_matches,
        "selected_matches": check.selected_matches,
        "population_hash": check.population_hash,
        "recorded_population_hash": sample.population_hash,
        "selected": check.selected,
        "recorded_selected": list(sample.selected),
        "population": check.population if include_population else None,
        "algorithm": sampling.ALGORITHM_DESCRIPTION,
    }


# --- cases ------------------------------------------------------------------------------------------


@router.get(
    "/cases",
    response={200: list[CaseOut], **errors(403, 422)},
    summary="Verification cases",
    operation_id="probity_declarations_api_verification_case_list",
)
def case_list(
    request: HttpRequest,
    status: CaseStatus | None = None,
    mine: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    user = _reader(request)
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    cases = VerificationCase.objects.select_related("declaration__declarant", "verifier")
    if status:
        cases = cases.filter(status=status)
    if mine:
        cases = cases.filter(verifier=user)
    return [_case_out(c) for c in cases[offset : offset + limit]]


@router.get(
    "/cases/{int:case_id}",
    response={200: CaseDetailOut, **errors(403, 404)},
    summary="A verification case",
    operation_id="probity_declarations_api_verification_case_detail",
)
def case_detail(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = _reader(request)
    case = _get_case(case_id)
    findings = selectors.case_findings(case=case) if may_see_findings(user=user) else []
    return {
        **_case_out(case),
        "findings": [
            {
                "id": f.pk,
                "detector": f.detector_code,
                "outcome": f.outcome,
                "explanation": f.localized_explanation,
                "evidence": f.evidence,
                "triage": f.triage,
                "triage_reason": f.triage_reason,
            }
            for f in findings
        ],
    }


@router.post(
    "/cases/{int:case_id}/assign",
    response={200: CaseOut, **errors(400, 403, 404, 409, 422)},
    summary="Assign a verifier (administrators; a verifier may take an unassigned case)",
    operation_id="probity_declarations_api_verification_case_assign",
)
def case_assign(request: HttpRequest, case_id: int, payload: AssignIn) -> dict[str, Any]:
    user = _reader(request)
    case = _get_case(case_id)
    verifier = user
    if payload.verifier_id is not None and payload.verifier_id != user.pk:
        found = User.objects.filter(pk=payload.verifier_id).first()
        if found is None:
            raise ApiError(404, "not_found", f"There is no user {payload.verifier_id}.")
        verifier = found
    if not services.may_assign(user=user, case=case, verifier=verifier):
        raise _forbidden("Your role may not assign this case to this user.")
    try:
        case = services.case_assign(case=case, verifier=verifier, actor=user)
    except services.TransitionError as exc:
        raise _transition(exc) from exc
    return _case_out(case)


def _worker(request: HttpRequest, case_id: int) -> tuple[User, VerificationCase]:
    user = _reader(request)
    case = _get_case(case_id)
    if not services.may_work_on(user=user, case=case):
        raise _forbidden("Only the verifier assigned to this case may work on it.")
    return user, case


@router.post(
    "/cases/{int:case_id}/start",
    response={200: CaseOut, **errors(403, 404, 409)},
    summary="Start the verification of an assigned case",
    operation_id="probity_declarations_api_verification_case_start",
)
def case_start(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user, case = _worker(request, case_id)
    try:
        case = services.case_start(case=case, actor=user)
    except services.TransitionError as exc:
        raise _transition(exc) from exc
    return _case_out(case)


@router.post(
    "/cases/{int:case_id}/findings/{int:finding_id}",
    response={200: FindingDecisionOut, **errors(400, 403, 404, 409, 422)},
    summary="Confirm or dismiss a finding of the case's declaration (core finding triage)",
    operation_id="probity_declarations_api_verification_case_finding_decide",
)
def case_finding_decide(request: HttpRequest, case_id: int, finding_id: int, payload: DecisionIn) -> dict[str, Any]:
    user, case = _worker(request, case_id)
    if not services.may_decide_findings(user=user):
        raise _forbidden("Your role may not confirm or dismiss findings.")
    finding = latest_findings(declaration_ids=[case.declaration_id]).filter(pk=finding_id).first()
    if finding is None:
        raise ApiError(
            404, "not_found", f"Finding {finding_id} is not a current finding about the declaration of this case."
        )
    try:
        finding = services.case_finding_decide(
            case=case, finding=finding, decision=payload.decision, reason=payload.reason, actor=user
        )
    except services.TransitionError as exc:
        raise _transition(exc) from exc
    return {
        "finding_id": finding.pk,
        "detector": finding.detector_code,
        "triage": finding.triage,
        "triage_reason": finding.triage_reason,
    }


@router.post(
    "/cases/{int:case_id}/outcome",
    response={200: CaseOut, **errors(400, 403, 404, 409, 422)},
    summary="Record the outcome of a case in progress (referral, sanction…), optionally closing it",
    operation_id="probity_declarations_api_verification_case_outcome",
)
def case_outcome(request: HttpRequest, case_id: int, payload: OutcomeIn) -> dict[str, Any]:
    user, case = _worker(request, case_id)
    try:
        case = services.case_record_outcome(
            case=case,
            outcome=payload.outcome,
            notes=payload.notes,
            referred_to=payload.referred_to,
            sanction=payload.sanction,
            close=payload.close,
            actor=user,
        )
    except services.TransitionError as exc:
        raise _transition(exc) from exc
    return _case_out(_get_case(case.pk))


@router.post(
    "/cases/{int:case_id}/close",
    response={200: CaseOut, **errors(403, 404, 409)},
    summary="Close a case whose outcome is recorded",
    operation_id="probity_declarations_api_verification_case_close",
)
def case_close(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user, case = _worker(request, case_id)
    try:
        case = services.case_close(case=case, actor=user)
    except services.TransitionError as exc:
        raise _transition(exc) from exc
    return _case_out(_get_case(case.pk))
