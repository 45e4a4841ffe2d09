"""The cases API, mounted at ``/api/v1/cases`` (``CasesConfig.api_routers``).

A case is addressed by its reference (``CASE-2026-000001``), people by user name, and a task or a document by
its number within the case. Reading needs ``cases.view_case`` (every case) or ``cases.work_case`` (the cases of
the types one's role works, and those assigned to one); a case the caller may not see answers 404. Writes go
through ``probity.cases.services``; a refusal (``CaseError``) answers the API's error body with the service's
sentence: 409 when the case's state refuses it (closed, already decided, an empty pool), 403 when only
someone else may do it, 400 for anything missing from the request.

The case list and the allocation register are ordered newest first and paginated with an opaque ``cursor``
(``next_cursor`` of the previous page) and ``limit``: they never count or skip rows, so a page costs the same
at the millionth case as at the first.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any, Literal, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _g
from ninja import File, Form, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from probity.cases import selectors, services
from probity.cases.models import (
    OUTCOME_FIELDS,
    Case,
    CaseDocument,
    CaseOutcome,
    CaseTask,
    CaseType,
    Draw,
    Pool,
    Recusal,
)
from probity.cases.names import shown
from probity.cases.schemas import (
    AllocationReportOut,
    AssignIn,
    CaseDetailOut,
    CaseIn,
    CaseListOut,
    CaseTypeOut,
    DecisionIn,
    DocumentOut,
    DrawIn,
    DrawListOut,
    DrawOut,
    JoinIn,
    JoinOut,
    MyWorkOut,
    NoteIn,
    OutcomeIn,
    OutcomeOut,
    PromoteIn,
    RecusalIn,
    RecusalOut,
    StatisticsOut,
    StatusIn,
    TaskIn,
    TaskOut,
    TimelineOut,
    VerifyDrawsIn,
    VerifyDrawsOut,
)
from probity.core.api import ApiError, _get_visible, errors
from probity.core.models import Finding, Organisation, Person, PublicBody
from probity.core.rules import visible_to

router = Router(tags=["cases"])

MAX_PAGE = 500
READ = errors(403, 404)
WRITE = errors(400, 403, 404, 409, 422)

# Parts of a refusal's sentence that say the case's state refuses it (409) or that someone else must act (403);
# anything else is a request to correct (400).
_CONFLICT_WORDS = (
    " is closed",
    "already",
    "second officer",
    "waiting for approval",
    "pool",
    "no closing status",
    "declared a conflict",
)
_FORBIDDEN_WORDS = ("Only the officer", "You may not", "Your roles do not")


# --- helpers -------------------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _forbidden(message: str) -> ApiError:
    return ApiError(403, "permission_denied", message)


def _require(user: User, permission: str, message: str) -> None:
    if not user.has_perm(permission):
        raise _forbidden(message)


def _require_any(user: User, permissions: tuple[str, ...], message: str) -> None:
    if not any(user.has_perm(p) for p in permissions):
        raise _forbidden(message)


def _refused(refusal: services.CaseError) -> ApiError:
    """A service's refusal as the API's error: its sentence, with the status its kind calls for."""
    message = str(refusal)
    status = getattr(refusal, "status", None)
    if status is None:
        if any(word in message for word in _FORBIDDEN_WORDS):
            status = 403
        elif any(word in message for word in _CONFLICT_WORDS):
            status = 409
        else:
            status = 400
    code = {403: "permission_denied", 404: "not_found", 409: "conflict"}.get(int(status), "bad_request")
    return ApiError(int(status), code, message)


def _may_read(user: User) -> None:
    _require_any(user, ("cases.view_case", "cases.work_case"), _g("Your role may not see cases."))


def _may_work(user: User) -> None:
    _require_any(user, ("cases.work_case", "cases.allocate_case"), _g("Your role may not work cases."))


def _reads_handler_notes(user: User, case: Case) -> bool:
    """Notes meant for handlers: the case's officer, those who allocate, and those who oversee every case (the
    same rule as the case page)."""
    return case.assignee_id == user.pk or user.has_perm("cases.allocate_case") or user.has_perm("cases.view_case")


def _case(user: User, reference: str) -> Case:
    """The case with ``reference`` if the caller may see it (``selectors.cases_visible``); 404 otherwise."""
    _may_read(user)
    case = selectors.cases_visible(user).filter(reference=reference.strip().upper()).first()
    if case is None:
        raise ApiError(
            404, "not_found", _g("There is no case %(reference)s that you may see.") % {"reference": reference}
        )
    return case


def _officer(username: str) -> User:
    officer = get_user_model().objects.filter(username=username.strip()).first()
    if officer is None:
        raise ApiError(400, "bad_request", _g("There is no user %(name)s.") % {"name": username})
    return cast(User, officer)


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"after:{pk}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _sep, number = text.partition(":")
        if prefix != "after":
            raise ValueError(text)
        return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(
            422, "validation_error", _g("The cursor is not one this API gave; start again without it.")
        ) from None


def _page(queryset: QuerySet[Any], cursor: str, limit: int) -> tuple[list[Any], str | None]:
    """One page of ``queryset`` newest first (by primary key), after ``cursor``; the next page's cursor."""
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, "validation_error", _g("limit must be between 1 and %(max)d.") % {"max": MAX_PAGE})
    if cursor:
        queryset = queryset.filter(pk__lt=_decode_cursor(cursor))
    rows = list(queryset.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, _encode_cursor(rows[-1].pk) if more and rows else None


def _name(user: Any) -> str | None:
    return (user.get_full_name() or user.get_username()) if user is not None else None


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


# --- shaping ---------------------------------------------------------------------------------------------------


def _case_out(case: Case, today: date) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "title": case.title,
        "type": case.case_type.code,
        "type_name": shown(case.case_type.name),
        "type_version": case.case_type.version,
        "status": case.status.code,
        "status_name": shown(case.status.name),
        "closed": case.closed,
        "priority": case.priority,
        "complexity": case.complexity,
        "source": case.source,
        "source_label": str(case.get_source_display()),
        "body": case.body.name if case.body is not None else None,
        "assignee": _username(case.assignee),
        "assignee_name": _name(case.assignee),
        "opened_by": case.opened_by,
        "opened_at": case.opened_at,
        "due_on": case.due_on,
        "acknowledge_by": case.acknowledge_by,
        "feedback_by": case.feedback_by,
        "closed_at": case.closed_at,
        "overdue": not case.closed and case.due_on is not None and case.due_on < today,
    }


def _task_out(task: CaseTask, number: int, today: date) -> dict[str, Any]:
    return {
        "number": number,
        "title": shown(task.title),
        "assignee": _username(task.assignee),
        "due_on": task.due_on,
        "done": task.done_at is not None,
        "done_at": task.done_at,
        "done_by": task.done_by,
        "overdue": task.done_at is None and task.due_on is not None and task.due_on < today,
    }


def _document_out(document: CaseDocument, number: int) -> dict[str, Any]:
    kind = document.document_type
    return {
        "number": number,
        "name": document.name,
        "document_type": kind.code if kind else None,
        "document_type_name": shown(kind.name) if kind else None,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "added_by": document.added_by,
        "added_at": document.added_at,
        "custody": [
            {"at": c.at, "actor": c.actor, "action": c.action, "action_label": str(c.get_action_display())}
            for c in document.custody.all()
        ],
    }


def _outcome_out(outcome: CaseOutcome) -> dict[str, Any]:
    kind = outcome.outcome_type
    state = "pending" if outcome.decided_at is None else "rejected" if outcome.rejected else "approved"
    return {
        "outcome": kind.code,
        "name": shown(kind.name),
        "kind": kind.kind,
        "kind_label": str(kind.get_kind_display()),
        "details": {str(k): str(v) for k, v in (outcome.details or {}).items()},
        "reasoning": outcome.reasoning,
        "state": state,
        "proposed_by": outcome.proposed_by.get_username(),
        "proposed_at": outcome.proposed_at,
        "decided_by": _username(outcome.approved_by),
        "decided_at": outcome.decided_at,
        "decision_reason": outcome.decision_reason,
    }


def _draw_out(draw: Draw) -> dict[str, Any]:
    inputs = draw.inputs or {}
    return {
        "case": draw.case.reference,
        "method": draw.method,
        "method_label": str(draw.get_method_display()),
        "pool": draw.pool.name if draw.pool is not None else None,
        "chosen": _username(draw.chosen),
        "chosen_name": _name(draw.chosen),
        "reason": draw.reason,
        "drawn_by": draw.drawn_by,
        "drawn_at": draw.drawn_at,
        "algorithm": draw.algorithm,
        "seed": draw.seed,
        "inputs_hash": draw.inputs_hash,
        "eligible": [
            {
                "officer": str(row.get("name", "")),
                "share": float(row.get("share", 0)),
                "load": float(row.get("load", 0)),
                "weight": float(row.get("weight", 0)),
            }
            for row in inputs.get("eligible") or ()
            if isinstance(row, dict)
        ],
        "excluded": [
            {"officer": str(row.get("name", "")), "reason": str(row.get("reason", ""))}
            for row in inputs.get("excluded") or ()
            if isinstance(row, dict)
        ],
        "inputs": inputs,
    }


def _draws(queryset: QuerySet[Draw]) -> QuerySet[Draw]:
    return queryset.select_related("case", "pool", "chosen")


def _detail(user: User, case: Case) -> dict[str, Any]:
    today = timezone.localdate()
    events = case.events.order_by("at", "pk")
    if not _reads_handler_notes(user, case):
        events = events.filter(handlers_only=False)
    tasks = case.tasks.select_related("assignee").order_by("pk")
    documents = case.documents.select_related("document_type").prefetch_related("custody").order_by("pk")
    parties = case.parties.select_related("person", "organisation").order_by("pk")
    links = case.finding_links.select_related("finding").order_by("added_at", "pk")
    outcomes = case.outcomes.select_related("outcome_type", "proposed_by", "approved_by").order_by("proposed_at", "pk")
    return {
        **_case_out(case, today),
        "summary": case.summary,
        "source_key": case.source_key,
        "retain_until": case.retain_until,
        "timeline": [
            {
                "at": e.at,
                "actor": e.actor,
                "kind": e.kind,
                "kind_label": str(e.get_kind_display()),
                "text": e.shown_text,
                "handlers_only": e.handlers_only,
            }
            for e in events
        ],
        "tasks": [_task_out(task, n, today) for n, task in enumerate(tasks, 1)],
        "documents": [_document_out(document, n) for n, document in enumerate(documents, 1)],
        "parties": [
            {
                "kind": "person" if p.person_id else "organisation",
                "id": p.person_id or p.organisation_id,
                "name": p.person.name if p.person_id else p.organisation.name,  # type: ignore[union-attr]
                "role": p.role,
            }
            for p in parties
        ],
        "findings": [
            {
                "id": link.finding.pk,
                "detector": link.finding.detector_code,
                "subject_type": link.finding.subject_type,
                "subject": link.finding.subject_label or link.finding.subject_id,
                "outcome": link.finding.outcome,
                "score": link.finding.score,
                "explanation": link.finding.localized_explanation,
                "added_by": link.added_by,
                "added_at": link.added_at,
            }
            for link in links
        ],
        "outcomes": [_outcome_out(o) for o in outcomes],
        "draws": [_draw_out(d) for d in _draws(case.draws.order_by("drawn_at", "pk"))],
        "related": [
            {"reference": r.reference, "title": r.title, "status_name": shown(r.status.name)}
            for r in selectors.related_cases(case, user=user).order_by("-pk")[:20]
        ],
    }


def _nth(queryset: QuerySet[Any], number: int, what: str, case: Case) -> Any:
    found = queryset.order_by("pk")[number - 1 : number].first() if number >= 1 else None
    if found is None:
        raise ApiError(
            404,
            "not_found",
            _g("Case %(reference)s has no %(what)s %(number)d.")
            % {"reference": case.reference, "what": what, "number": number},
        )
    return found


def _findings(user: User, ids: list[int]) -> list[Finding]:
    _require(user, "core.view_finding", _g("Your role may not see findings."))
    return [cast(Finding, _get_visible(user, Finding.objects.all(), pk)) for pk in dict.fromkeys(ids)]


# --- lists and the queue -----------------------------------------------------------------------------------------


@router.get(
    "",
    response={200: CaseListOut, **errors(403, 422)},
    summary="Cases you may see, newest first (filters; cursor pagination)",
    description=(
        "Filters: 'type' (a case type's code), 'status' (a status code), 'assignee' (a user name, or 'me'), "
        "'open' (true: open cases, false: closed ones), 'overdue' (open and past the due date), 'q' (a "
        "reference, or words of the title). Pass the answer's 'next_cursor' as 'cursor' for the next page."
    ),
)
def case_list(
    request: HttpRequest,
    type: str = "",
    status: str = "",
    assignee: str = "",
    open: bool | None = None,
    overdue: bool = False,
    q: str = "",
    cursor: str = "",
    limit: int = 50,
) -> dict[str, Any]:
    user = _user(request)
    _may_read(user)
    today = timezone.localdate()
    cases = selectors.cases_visible(user)
    if type.strip():
        cases = cases.filter(case_type__code=type.strip())
    if status.strip():
        cases = cases.filter(status__code=status.strip())
    if assignee.strip():
        cases = cases.filter(assignee__username=user.get_username() if assignee.strip() == "me" else assignee.strip())
    if open is not None:
        cases = cases.filter(closed=not open)
    if overdue:
        cases = cases.filter(closed=False, due_on__lt=today)
    if q.strip():
        cases = cases.filter(Q(reference__iexact=q.strip()) | Q(title__icontains=q.strip()))
    rows, next_cursor = _page(cases, cursor, limit)
    return {"items": [_case_out(case, today) for case in rows], "next_cursor": next_cursor}


@router.get(
    "/my-work",
    response={200: MyWorkOut, **errors(403, 422)},
    summary="Your queue: your open cases by due date, your open tasks, unassigned cases you may take",
)
def my_work(request: HttpRequest, limit: int = 100) -> dict[str, list[dict[str, Any]]]:
    user = _user(request)
    _require(user, "cases.work_case", _g("Your role does not work cases."))
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(422, "validation_error", _g("limit must be between 1 and %(max)d.") % {"max": MAX_PAGE})
    queue = selectors.my_work(user)
    today = queue["today"]
    open_tasks = list(queue["tasks"].select_related("case", "assignee")[:limit])
    numbers: dict[int, int] = {}  # a task's number within its case
    counted: dict[int, int] = {}
    siblings = CaseTask.objects.filter(case_id__in={t.case_id for t in open_tasks}).order_by("case_id", "pk")
    for case_id, pk in siblings.values_list("case_id", "pk"):
        counted[case_id] = counted.get(case_id, 0) + 1
        numbers[pk] = counted[case_id]
    tasks = [{"case": task.case.reference, **_task_out(task, numbers[task.pk], today)} for task in open_tasks]
    return {
        "cases": [_case_out(c, today) for c in queue["cases"][:limit]],
        "unassigned": [_case_out(c, today) for c in queue["unassigned"][:limit]],
        "tasks": tasks,
    }


# --- allocation register, recusals, catalogue, statistics (before /{reference}) ---------------------------------


@router.get(
    "/draws",
    response={200: DrawListOut, **errors(403, 422)},
    summary="The allocation register: every draw and manual assignment, newest first",
)
def draw_list(
    request: HttpRequest,
    case: str = "",
    method: Literal["random", "manual"] | None = None,
    cursor: str = "",
    limit: int = 50,
) -> dict[str, Any]:
    user = _user(request)
    _require(user, "cases.audit_allocation", _g("Your role may not read the allocation register."))
    draws = _draws(Draw.objects.all())
    if case.strip():
        draws = draws.filter(case__reference=case.strip().upper())
    if method:
        draws = draws.filter(method=method)
    rows, next_cursor = _page(draws, cursor, limit)
    return {"items": [_draw_out(d) for d in rows], "next_cursor": next_cursor}


@router.post(
    "/draws/verify",
    response={200: VerifyDrawsOut, **errors(400, 403, 404, 422)},
    summary="Re-run recorded random draws (of the cases given, or all) and report any that fail",
)
def draws_verify(request: HttpRequest, payload: VerifyDrawsIn) -> dict[str, Any]:
    user = _user(request)
    _require(user, "cases.audit_allocation", _g("Your role may not re-run draws."))
    draws = _draws(Draw.objects.filter(method=Draw.Method.RANDOM))
    if not payload.all:
        if not payload.cases:
            raise ApiError(400, "bad_request", _g("Name the cases whose draws to re-run, or ask for all."))
        references = [r.strip().upper() for r in payload.cases]
        known = set(Case.objects.filter(reference__in=references).values_list("reference", flat=True))
        missing = [r for r in references if r not in known]
        if missing:
            raise ApiError(404, "not_found", _g("There is no case %(reference)s.") % {"reference": missing[0]})
        draws = draws.filter(case__reference__in=references)
    checks = services.draws_verify(draws.order_by("pk").iterator(), actor=user)
    problems = [
        {"case": c.draw.case.reference, "drawn_at": c.draw.drawn_at, "sentence": c.sentence} for c in checks if not c.ok
    ]
    if problems:
        message = _g("%(failed)d of %(checked)d draws failed the re-run.") % {
            "failed": len(problems),
            "checked": len(checks),
        }
    else:
        message = _g("All %(checked)d draws give the same officer when run again.") % {"checked": len(checks)}
    return {"checked": len(checks), "failed": len(problems), "problems": problems, "message": message}


def pool_states() -> list[dict[str, Any]]:
    """Each pool in use with how many officers can be drawn now; a sentence when fewer than two."""
    today = timezone.localdate()
    out = []
    pools = (
        Pool.objects.filter(active=True)
        .select_related("body")
        .annotate(
            officers=Count("members"),
            available=Count(
                "members",
                filter=Q(members__officer__is_active=True)
                & (Q(members__absent_until__isnull=True) | Q(members__absent_until__lt=today)),
            ),
        )
        .order_by("name")
    )
    for pool in pools:
        available = int(pool.officers and pool.available)
        if available == 0:
            warning = _g("Nobody in the pool %(pool)s can be drawn now.") % {"pool": pool.name}
        elif available == 1:
            warning = _g("Only one officer in the pool %(pool)s can be drawn now: a draw would be no draw.") % {
                "pool": pool.name
            }
        else:
            warning = ""
        out.append(
            {
                "pool": pool.name,
                "case_type": pool.case_type_code,
                "body": pool.body.name if pool.body is not None else None,
                "officers": pool.officers,
                "available": available,
                "warning": warning,
            }
        )
    return out


@router.get(
    "/allocation-report",
    response={200: AllocationReportOut, **errors(403, 422)},
    summary="Who allocated cases how: random draws, manual assignments and their share; pools too small to draw",
)
def allocation_report(request: HttpRequest, since: date | None = None) -> dict[str, Any]:
    user = _user(request)
    _require(user, "cases.audit_allocation", _g("Your role may not read the allocation report."))
    rows = services.allocation_report(since=since)
    return {
        "allocators": [
            {
                "allocated_by": row["drawn_by"],
                "random": row["random"],
                "manual": row["manual"],
                "total": row["total"],
                "manual_share": round(row["manual_share"], 3),
            }
            for row in rows
        ],
        "pools": pool_states(),
    }


def _recusal_out(recusal: Recusal) -> dict[str, Any]:
    return {
        "id": recusal.pk,
        "officer": recusal.officer.get_username(),
        "person": recusal.person.name if recusal.person_id else None,  # type: ignore[union-attr]
        "person_id": recusal.person_id,
        "organisation": recusal.organisation.name if recusal.organisation_id else None,  # type: ignore[union-attr]
        "organisation_id": recusal.organisation_id,
        "body": recusal.body.name if recusal.body_id else None,  # type: ignore[union-attr]
        "body_id": recusal.body_id,
        "reason": recusal.reason,
        "declared_at": recusal.declared_at,
        "withdrawn_at": recusal.withdrawn_at,
    }


def _conflict_with(user: User, model: type[Any], pk: int | None) -> Any:
    """The person, organisation or body a recusal names: one the caller may see in the register, or one that is
    a party (or the body) of a case the caller may see (case handlers see people only through their cases)."""
    if pk is None:
        return None
    found = visible_to(user, model.objects.filter(pk=pk)).first()
    if found is None:
        cases = selectors.cases_visible(user)
        if model is PublicBody:
            found = model.objects.filter(pk=pk, cases__in=cases).first()
        else:
            found = model.objects.filter(pk=pk, case_parties__case__in=cases).first()
    if found is None:
        raise ApiError(
            404,
            "not_found",
            _g("There is no %(what)s %(id)d that you may see.") % {"what": model._meta.verbose_name, "id": pk},
        )
    return found


def _sees_all_recusals(user: User) -> bool:
    return user.has_perm("cases.audit_allocation") or user.has_perm("cases.allocate_case")


@router.get(
    "/recusals",
    response={200: list[RecusalOut], **errors(403, 422)},
    summary="Declared conflicts: your own, or everyone's for those who allocate or audit allocation",
)
def recusal_list(request: HttpRequest, officer: str = "", current: bool = True) -> list[dict[str, Any]]:
    user = _user(request)
    _require_any(
        user,
        ("cases.work_case", "cases.allocate_case", "cases.audit_allocation"),
        _g("Your role may not see recusals."),
    )
    recusals = Recusal.objects.select_related("officer", "person", "organisation", "body")
    if not _sees_all_recusals(user):
        recusals = recusals.filter(officer=user)
    if officer.strip():
        recusals = recusals.filter(officer__username=officer.strip())
    if current:
        recusals = recusals.filter(withdrawn_at=None)
    return [_recusal_out(r) for r in recusals.order_by("-declared_at", "-pk")[:MAX_PAGE]]


@router.post(
    "/recusals",
    response={201: RecusalOut, **WRITE},
    summary="Declare a conflict with a person, an organisation or a body: no draw touching it picks the officer",
)
def recusal_declare(request: HttpRequest, payload: RecusalIn) -> Status[dict[str, Any]]:
    user = _user(request)
    _may_work(user)
    officer: User = user
    if payload.officer and payload.officer.strip() != user.get_username():
        _require(
            user, "cases.allocate_case", _g("Only those who allocate cases may declare another officer's conflict.")
        )
        officer = _officer(payload.officer)
    person = _conflict_with(user, Person, payload.person_id)
    organisation = _conflict_with(user, Organisation, payload.organisation_id)
    body = _conflict_with(user, PublicBody, payload.body_id)
    try:
        recusal = services.recusal_declare(
            officer=officer, reason=payload.reason, actor=user, person=person, organisation=organisation, body=body
        )
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(201, _recusal_out(recusal))


@router.post(
    "/recusals/{int:recusal_id}/withdraw",
    response={200: RecusalOut, **errors(403, 404, 409)},
    summary="Withdraw a declared conflict (only the officer who declared it)",
)
def recusal_withdraw(request: HttpRequest, recusal_id: int) -> dict[str, Any]:
    user = _user(request)
    _may_work(user)
    recusals = Recusal.objects.select_related("officer", "person", "organisation", "body")
    recusal = recusals.filter(pk=recusal_id, officer=user).first()
    if recusal is None:
        raise ApiError(404, "not_found", _g("There is no recusal %(id)d that you may withdraw.") % {"id": recusal_id})
    if recusal.withdrawn_at is not None:
        raise ApiError(409, "conflict", _g("That recusal was already withdrawn."))
    services.recusal_withdraw(recusal=recusal, actor=user)
    return _recusal_out(recusal)


@router.get(
    "/types",
    response={200: list[CaseTypeOut], **errors(403)},
    summary="The case-type catalogue: every type with its versions, statuses, tasks, documents and outcomes",
)
def case_types(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    _require(user, "cases.view_casetype", _g("Your role may not see the case types."))
    versions = (
        CaseType.objects.annotate(n_cases=Count("cases"))
        .prefetch_related("statuses", "task_templates", "document_types", "outcome_types")
        .order_by("code", "-version")
    )
    grouped: dict[str, list[CaseType]] = {}
    for version in versions:
        grouped.setdefault(version.code, []).append(version)
    out = []
    for code, rows in grouped.items():
        try:
            current: CaseType | None = services.case_type_current(code)
        except services.CaseError:
            current = None
        out.append(
            {
                "code": code,
                "name": shown((current or rows[0]).name),
                "current_version": current.version if current else None,
                "versions": [_type_version_out(row, current) for row in rows],
            }
        )
    return out


def _type_version_out(case_type: CaseType, current: CaseType | None) -> dict[str, Any]:
    return {
        "version": case_type.version,
        "name": shown(case_type.name),
        "description": shown(case_type.description) if case_type.description else "",
        "valid_from": case_type.valid_from,
        "valid_until": case_type.valid_until,
        "current": current is not None and current.pk == case_type.pk,
        "lead_time_days": case_type.lead_time_days,
        "acknowledge_days": case_type.acknowledge_days,
        "feedback_days": case_type.feedback_days,
        "remind_days": case_type.remind_days,
        "roles": list(case_type.roles or ()),
        "sources": list(case_type.sources or ()),
        "cases": case_type.n_cases,  # type: ignore[attr-defined]
        "statuses": [{"code": s.code, "name": shown(s.name), "final": s.final} for s in case_type.statuses.all()],
        "tasks": [{"title": shown(t.title), "due_days": t.due_days} for t in case_type.task_templates.all()],
        "document_types": [{"code": d.code, "name": shown(d.name)} for d in case_type.document_types.all()],
        "outcome_types": [
            {
                "code": o.code,
                "name": shown(o.name),
                "kind": o.kind,
                "retention_years": o.retention_years,
                "fields": [{"name": n, "label": _g(label)} for n, label in OUTCOME_FIELDS.get(o.kind, ())],
            }
            for o in case_type.outcome_types.all()
        ],
    }


def statistics_out(figures: dict[str, Any]) -> dict[str, Any]:
    """``selectors.statistics`` as ``StatisticsOut`` (labels, never query keys)."""
    from probity.cases.models import OutcomeKind

    kinds = dict(OutcomeKind.choices)
    return {
        **{k: figures[k] for k in ("opened", "open", "closed", "overdue", "mean_days_to_close")},
        "closed_on_time_share": figures["closed_on_time_share"],
        "by_type": [
            {"key": r["case_type__code"], "label": shown(r["case_type__name"]), "cases": r["n"]}
            for r in figures["by_type"]
        ],
        "by_body": [
            {"key": r["body__name"] or "", "label": r["body__name"] or _g("No body"), "cases": r["n"]}
            for r in figures["by_body"]
        ],
        "by_status": [
            {"key": r["status__name"], "label": shown(r["status__name"]), "cases": r["n"]} for r in figures["by_status"]
        ],
        "by_outcome": [
            {"key": r["kind"] or "", "label": str(kinds.get(r["kind"], r["kind"] or "")), "cases": r["n"]}
            for r in figures["by_outcome"]
        ],
    }


@router.get(
    "/statistics",
    response={200: StatisticsOut, **errors(403, 422)},
    summary="Case statistics: counts by type, body, status and outcome, time to close, deadline compliance",
)
def case_statistics(request: HttpRequest, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    user = _user(request)
    _require(user, "cases.view_case_statistics", _g("Your role may not see case statistics."))
    return statistics_out(selectors.statistics(since=since, until=until))


# --- opening --------------------------------------------------------------------------------------------------


@router.post("", response={201: CaseDetailOut, **WRITE}, summary="Open a case by hand")
def case_open(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    user = _user(request)
    _require(user, "cases.add_case", _g("Your role may not open cases."))
    body = _get_visible(user, PublicBody.objects.all(), payload.body_id) if payload.body_id else None
    people = [_get_visible(user, Person.objects.all(), pk) for pk in dict.fromkeys(payload.person_ids)]
    organisations = [
        _get_visible(user, Organisation.objects.all(), pk) for pk in dict.fromkeys(payload.organisation_ids)
    ]
    try:
        case = services.case_open(
            case_type=payload.type,
            title=payload.title,
            summary=payload.summary,
            actor=user,
            body=body,
            priority=payload.priority,
            complexity=payload.complexity,
            people=people,
            organisations=organisations,
        )
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(201, _detail(user, case))


@router.post(
    "/promote",
    response={201: CaseDetailOut, **WRITE},
    summary="Open a case from findings (by their ids); the type is chosen from them when not given",
)
def case_promote(request: HttpRequest, payload: PromoteIn) -> Status[dict[str, Any]]:
    user = _user(request)
    _require(user, "cases.add_case", _g("Your role may not open cases."))
    findings = _findings(user, payload.finding_ids)
    try:
        case = services.case_from_findings(
            findings=findings, actor=user, case_type=payload.type or None, title=payload.title
        )
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(201, _detail(user, case))


# --- one case -------------------------------------------------------------------------------------------------


@router.get(
    "/{reference}",
    response={200: CaseDetailOut, **READ},
    summary="One case: timeline, tasks, documents (with SHA-256), parties, findings, outcomes and draws",
)
def case_detail(request: HttpRequest, reference: str) -> dict[str, Any]:
    user = _user(request)
    return _detail(user, _case(user, reference))


@router.post(
    "/{reference}/findings", response={200: JoinOut, **WRITE}, summary="Join findings (by their ids) to an open case"
)
def case_join(request: HttpRequest, reference: str, payload: JoinIn) -> dict[str, Any]:
    user = _user(request)
    case = _case(user, reference)
    _may_work(user)
    findings = _findings(user, payload.finding_ids)
    try:
        joined = services.case_join_findings(case=case, findings=findings, actor=user)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    message = _g("%(joined)d findings joined case %(reference)s.") % {"joined": joined, "reference": case.reference}
    return {"joined": joined, "message": message}


@router.post(
    "/{reference}/draw",
    response={201: DrawOut, **WRITE},
    summary="Draw the case's officer at random from its pool (recorded, re-runnable); again only with a reason",
)
def case_draw(request: HttpRequest, reference: str, payload: DrawIn | None = None) -> Status[dict[str, Any]]:
    user = _user(request)
    case = _case(user, reference)
    _require(user, "cases.allocate_case", _g("Your role may not draw officers for cases."))
    try:
        draw = services.case_draw(
            case=case,
            actor=user,
            allow_single=bool(payload and payload.allow_single),
            reason=payload.reason if payload else "",
        )
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(201, _draw_out(_draws(Draw.objects.filter(pk=draw.pk)).get()))


@router.post(
    "/{reference}/assign",
    response={201: DrawOut, **WRITE},
    summary="Assign an officer by hand, with a reason (counted on the allocation report)",
)
def case_assign(request: HttpRequest, reference: str, payload: AssignIn) -> Status[dict[str, Any]]:
    user = _user(request)
    case = _case(user, reference)
    _require(user, "cases.allocate_case", _g("Your role may not assign officers to cases."))
    officer = _officer(payload.username)
    try:
        draw = services.case_assign(case=case, officer=officer, reason=payload.reason, actor=user)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(201, _draw_out(_draws(Draw.objects.filter(pk=draw.pk)).get()))


@router.post("/{reference}/take", response={200: CaseDetailOut, **WRITE}, summary="Take an unassigned case")
def case_take(request: HttpRequest, reference: str) -> dict[str, Any]:
    user = _user(request)
    case = _case(user, reference)
    _require(user, "cases.work_case", _g("Your role does not work cases."))
    try:
        services.case_take(case=case, actor=user)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return _detail(user, case)


# --- working a case ---------------------------------------------------------------------------------------------


@router.post(
    "/{reference}/status",
    response={200: CaseDetailOut, **WRITE},
    summary="Move the case to another status, with a reason (closing needs an approved outcome)",
)
def case_status(request: HttpRequest, reference: str, payload: StatusIn) -> dict[str, Any]:
    user = _user(request)
    case = _case(user, reference)
    _may_work(user)
    try:
        services.case_status(case=case, status=payload.status, reason=payload.reason, actor=user)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return _detail(user, case)


@router.post(
    "/{reference}/notes",
    response={201: TimelineOut, **WRITE},
    summary="Add a note to the timeline (for the officers only, unless handlers_only is false)",
)
def case_note(request: HttpRequest, reference: str, payload: NoteIn) -> Status[dict[str, Any]]:
    user = _user(request)
    case = _case(user, reference)
    _may_work(user)
    try:
        event = services.case_note(case=case, text=payload.text, actor=user, handlers_only=payload.handlers_only)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(
        201,
        {
            "at": event.at,
            "actor": event.actor,
            "kind": event.kind,
            "kind_label": str(event.get_kind_display()),
            "text": event.shown_text,
            "handlers_only": event.handlers_only,
        },
    )


@router.post(
    "/{reference}/tasks", response={201: TaskOut, **WRITE}, summary="Add a task, optionally for an officer and a date"
)
def task_add(request: HttpRequest, reference: str, payload: TaskIn) -> Status[dict[str, Any]]:
    user = _user(request)
    case = _case(user, reference)
    _may_work(user)
    assignee = _officer(payload.assignee) if payload.assignee else None
    try:
        task = services.task_add(case=case, title=payload.title, actor=user, assignee=assignee, due_on=payload.due_on)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(201, _task_out(task, case.tasks.filter(pk__lte=task.pk).count(), timezone.localdate()))


@router.post(
    "/{reference}/tasks/{int:number}/done", response={200: TaskOut, **WRITE}, summary="Mark a task of the case done"
)
def task_done(request: HttpRequest, reference: str, number: int) -> dict[str, Any]:
    user = _user(request)
    case = _case(user, reference)
    _may_work(user)
    task = _nth(case.tasks.select_related("case", "assignee"), number, _g("task"), case)
    try:
        services.task_done(task=task, actor=user)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return _task_out(task, number, timezone.localdate())


@router.post(
    "/{reference}/documents",
    response={201: DocumentOut, **WRITE},
    summary="Upload an evidence document (multipart); it is stored under its SHA-256",
)
def document_add(
    request: HttpRequest,
    reference: str,
    file: UploadedFile = File(...),  # noqa: B008 - ninja's way of declaring an upload
    document_type: str = Form(""),  # noqa: B008
) -> Status[dict[str, Any]]:
    user = _user(request)
    case = _case(user, reference)
    _may_work(user)
    kind = None
    if document_type.strip():
        kind = case.case_type.document_types.filter(code=document_type.strip()).first()
        if kind is None:
            raise ApiError(
                400,
                "bad_request",
                _g("%(type)s has no document type %(code)s.")
                % {"type": shown(case.case_type.name), "code": document_type.strip()},
            )
    try:
        document = services.document_add(
            case=case,
            name=file.name or "document",
            content=file,
            actor=user,
            content_type=file.content_type or "",
            document_type=kind,
        )
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    number = case.documents.filter(pk__lte=document.pk).count()
    return Status(201, _document_out(document, number))


@router.get(
    "/{reference}/documents/{int:number}",
    response={200: None, **errors(403, 404, 409)},
    summary="Download a document (checked against its SHA-256; the export is written to its custody log)",
)
def document_download(request: HttpRequest, reference: str, number: int) -> HttpResponse:
    user = _user(request)
    case = _case(user, reference)
    document = _nth(case.documents.select_related("case"), number, _g("document"), case)
    try:
        data = services.document_open(document=document, actor=user, export=True)
    except services.CaseError as refusal:
        raise ApiError(409, "conflict", str(refusal)) from None
    response = HttpResponse(data, content_type="application/octet-stream")
    safe = "".join(ch for ch in document.name if ch.isascii() and (ch.isalnum() or ch in "._- ")) or "document"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["X-Content-SHA256"] = document.sha256
    return response


# --- outcome and four-eyes closing -------------------------------------------------------------------------------


def _pending(case: Case) -> CaseOutcome:
    outcome = (
        case.outcomes.select_related("case", "outcome_type", "proposed_by", "approved_by")
        .filter(decided_at=None)
        .first()
    )
    if outcome is None:
        raise ApiError(
            409,
            "conflict",
            _g("Case %(reference)s has no outcome waiting for a decision.") % {"reference": case.reference},
        )
    return outcome


@router.post(
    "/{reference}/outcome",
    response={201: OutcomeOut, **WRITE},
    summary="Propose the outcome (a second officer approves it)",
)
def outcome_propose(request: HttpRequest, reference: str, payload: OutcomeIn) -> Status[dict[str, Any]]:
    user = _user(request)
    case = _case(user, reference)
    _may_work(user)
    try:
        outcome = services.outcome_propose(
            case=case, outcome_type=payload.outcome, reasoning=payload.reasoning, actor=user, details=payload.details
        )
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return Status(201, _outcome_out(outcome))


@router.post(
    "/{reference}/outcome/approve",
    response={200: CaseDetailOut, **WRITE},
    summary="Approve the proposed outcome as the second officer; the case closes",
)
def outcome_approve(request: HttpRequest, reference: str, payload: DecisionIn | None = None) -> dict[str, Any]:
    user = _user(request)
    case = _case(user, reference)
    _require(user, "cases.approve_outcome", _g("Your role may not approve outcomes."))
    outcome = _pending(case)
    try:
        services.outcome_approve(outcome=outcome, actor=user, reason=payload.reason if payload else "")
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return _detail(user, _case(user, reference))


@router.post(
    "/{reference}/outcome/reject",
    response={200: OutcomeOut, **WRITE},
    summary="Send the proposed outcome back, with a reason",
)
def outcome_reject(request: HttpRequest, reference: str, payload: DecisionIn) -> dict[str, Any]:
    user = _user(request)
    case = _case(user, reference)
    _require(user, "cases.approve_outcome", _g("Your role may not decide on outcomes."))
    outcome = _pending(case)
    try:
        services.outcome_reject(outcome=outcome, actor=user, reason=payload.reason)
    except services.CaseError as refusal:
        raise _refused(refusal) from None
    return _outcome_out(outcome)
