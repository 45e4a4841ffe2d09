"""E-filing endpoints (mounted at ``/api/v1/declarations/filing/``).

For the declarant (a user linked to a ``core.Person``; only their own drafts):

* ``GET  obligations`` — what they must file, due dates and status;
* ``POST drafts`` — open the draft of a declaration (new, pre-filled from last year, or a correction);
* ``GET  drafts/{id}`` — the draft with all its problems; ``DELETE drafts/{id}`` discards it;
* ``GET|PUT drafts/{id}/sections/{section}`` — one top-level part of the content (``income``,
  ``family_members``, ``declarant`` …); a PUT stores it even with problems and answers them;
* ``POST drafts/{id}/submit`` — validates everything and stores the immutable version (422 with one
  ``{path, message}`` per problem otherwise; the draft is kept).

For administrators: ``deadlines`` (list, create or change, delete) and ``nonfilers`` (overdue and
late filers, filterable by type, year and body); who may is asked of ``services`` (``may_*``), as the
pages do.

The operation ids are those the endpoints had when this module was ``declarations/api_filing.py``
(``operation_id``): the published OpenAPI document does not change with the layout of the code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal, cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from ninja import Body, Router, Schema, Status
from ninja.errors import HttpError

from probity.core.api import ApiError, errors
from probity.core.models import PublicBody
from probity.declarations import deadlines as deadline_service
from probity.declarations.filing import selectors, services, steps
from probity.declarations.models import DeclarationDraft, FilingDeadline
from probity.declarations.schema import ROW_SECTIONS, DeclarationInvalid, FieldError, validate_content

router = Router(tags=["declarations"])

SECTIONS = ("declarant", "position", "period", "reporting_currency", "family_members", *ROW_SECTIONS)
DeclarationType = Literal["entry", "annual", "exit", "post_exit"]


class ProblemOut(Schema):
    path: str
    message: str


class ObligationOut(Schema):
    declaration_type: str
    year: int
    due_date: date
    status: str
    overdue: bool
    late: bool
    declaration_id: int | None
    versions: int
    body: str
    position: str


class DraftStartIn(Schema):
    declaration_type: DeclarationType
    year: int


class DraftOut(Schema):
    declaration_id: int
    declaration_type: str
    year: int
    correction: bool
    based_on_version: int | None
    step: str
    updated_at: str
    content: dict[str, Any]
    problems: list[ProblemOut]


class SectionOut(Schema):
    declaration_id: int
    section: str
    value: Any = None
    problems: list[ProblemOut]


class SubmittedOut(Schema):
    declaration_id: int
    version: int
    content_hash: str
    submitted_at: str
    created: bool


class DeadlineIn(Schema):
    declaration_type: DeclarationType
    year: int
    due_date: date
    body_id: int | None = None
    reminder_days: list[int] = []


class DeadlineOut(Schema):
    id: int
    declaration_type: str
    year: int
    due_date: date
    body_id: int | None
    body: str | None
    reminder_days: list[int]


class NonFilerOut(Schema):
    person_id: int
    name: str
    body: str
    position: str
    declaration_type: str
    year: int
    due_date: date
    status: str
    submitted_at: str | None
    late: bool


def _user(request: HttpRequest) -> User:
    user = getattr(request, "auth", None)
    if user is None:
        raise HttpError(401, "Authentication is required.")
    return cast(User, user)


def _person(request: HttpRequest) -> Any:
    person = selectors.person_for_user(user=_user(request))
    if person is None:
        raise ApiError(403, "permission_denied", "Your account is not linked to a declarant; you have nothing to file.")
    return person


def _problems(items: list[FieldError]) -> list[dict[str, str]]:
    return [{"path": e.path, "message": e.message} for e in items]


def _draft(request: HttpRequest, declaration_id: int) -> DeclarationDraft:
    person = _person(request)
    try:
        return services.draft_for(person=person, declaration_id=declaration_id)
    except services.FilingError as exc:
        raise ApiError(404, "not_found", f"You have no draft of declaration {declaration_id}.") from exc


def _draft_out(draft: DeclarationDraft) -> dict[str, Any]:
    return {
        "declaration_id": draft.declaration_id,
        "declaration_type": draft.declaration.declaration_type,
        "year": draft.declaration.year,
        "correction": draft.declaration.versions.exists(),
        "based_on_version": draft.based_on_version.number if draft.based_on_version else None,
        "step": draft.step,
        "updated_at": draft.updated_at.isoformat(),
        "content": draft.content,
        "problems": _problems(steps.step_errors(draft.content, "review")),
    }


@router.get(
    "/obligations",
    response={200: list[ObligationOut], **errors(403)},
    summary="What I must file",
    operation_id="probity_declarations_api_filing_obligations_mine",
)
def obligations_mine(request: HttpRequest) -> list[dict[str, Any]]:
    person = _person(request)
    today = timezone.localdate()
    return [
        {
            "declaration_type": o.deadline.declaration_type,
            "year": o.deadline.year,
            "due_date": o.due_date,
            "status": o.status,
            "overdue": o.overdue(today),
            "late": o.late,
            "declaration_id": o.declaration.pk if o.declaration else None,
            "versions": o.declaration.versions.count() if o.declaration else 0,
            "body": o.position.body.name,
            "position": o.position.title,
        }
        for o in deadline_service.obligations(person=person)
    ]


@router.post(
    "/drafts",
    response={201: DraftOut, 200: DraftOut, **errors(403, 422)},
    summary="Open the draft of a declaration (new, pre-filled, or a correction)",
    operation_id="probity_declarations_api_filing_draft_open",
)
def draft_open(request: HttpRequest, payload: DraftStartIn) -> Status:
    person = _person(request)
    existing = DeclarationDraft.objects.filter(
        declaration__declarant=person,
        declaration__declaration_type=payload.declaration_type,
        declaration__year=payload.year,
    ).exists()
    try:
        draft = services.draft_start(
            person=person,
            declaration_type=payload.declaration_type,
            year=payload.year,
            actor=_user(request),
        )
    except services.FilingError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return Status(200 if existing else 201, _draft_out(draft))


@router.get(
    "/drafts/{declaration_id}",
    response={200: DraftOut, **errors(403, 404)},
    summary="My draft",
    operation_id="probity_declarations_api_filing_draft_get",
)
def draft_get(request: HttpRequest, declaration_id: int) -> dict[str, Any]:
    return _draft_out(_draft(request, declaration_id))


@router.delete(
    "/drafts/{declaration_id}",
    response={204: None, **errors(403, 404)},
    summary="Discard my draft",
    operation_id="probity_declarations_api_filing_draft_delete",
)
def draft_delete(request: HttpRequest, declaration_id: int) -> Status:
    services.draft_discard(draft=_draft(request, declaration_id), actor=_user(request))
    return Status(204, None)


def _section(section: str) -> str:
    if section not in SECTIONS:
        raise ApiError(404, "not_found", f"There is no section {section!r}; the sections are {', '.join(SECTIONS)}.")
    return section


def _section_problems(content: dict[str, Any], section: str) -> list[dict[str, str]]:
    found = validate_content(content)
    mine = [e for e in found if e.path == section or e.path.startswith((f"{section}.", f"{section}["))]
    if section in ("declarant", "position", "period"):
        mine += [e for e in found if not e.path and f"'{section}'" in e.message]
    return _problems(mine)


@router.get(
    "/drafts/{declaration_id}/sections/{section}",
    response={200: SectionOut, **errors(403, 404)},
    summary="One section of my draft, with its problems",
    operation_id="probity_declarations_api_filing_draft_section_get",
)
def draft_section_get(request: HttpRequest, declaration_id: int, section: str) -> dict[str, Any]:
    draft = _draft(request, declaration_id)
    name = _section(section)
    return {
        "declaration_id": draft.declaration_id,
        "section": name,
        "value": draft.content.get(name),
        "problems": _section_problems(draft.content, name),
    }


@router.put(
    "/drafts/{declaration_id}/sections/{section}",
    response={200: SectionOut, **errors(403, 404, 422)},
    summary="Store one section of my draft (kept even with problems, which are answered)",
    operation_id="probity_declarations_api_filing_draft_section_put",
)
def draft_section_put(
    request: HttpRequest, declaration_id: int, section: str, value: Body[Any] = None
) -> dict[str, Any]:
    draft = _draft(request, declaration_id)
    name = _section(section)
    expected = list if name in (*ROW_SECTIONS, "family_members") else str if name == "reporting_currency" else dict
    if value is not None and not isinstance(value, expected):
        kind = {list: "a JSON array", str: "a JSON string", dict: "a JSON object"}[expected]
        raise ApiError(422, "validation_error", f"The section {name!r} must be {kind} (or null to remove it).")
    draft, _errors = services.draft_save(
        draft=draft, step=steps.step_of_path(name), values={name: value}, actor=_user(request)
    )
    return {
        "declaration_id": draft.declaration_id,
        "section": name,
        "value": draft.content.get(name),
        "problems": _section_problems(draft.content, name),
    }


@router.post(
    "/drafts/{declaration_id}/submit",
    response={201: SubmittedOut, 200: SubmittedOut, **errors(403, 404, 409, 422)},
    summary="Submit my draft as an immutable version",
    operation_id="probity_declarations_api_filing_draft_submit",
)
def draft_submit(request: HttpRequest, declaration_id: int) -> Status:
    draft = _draft(request, declaration_id)
    try:
        result = services.draft_submit(draft=draft, actor=_user(request), source="api")
    except DeclarationInvalid as exc:
        raise ApiError(
            422,
            "validation_error",
            "The declaration is not valid; nothing was stored and the draft is kept.",
            details=_problems(exc.errors),
        ) from exc
    except services.FilingError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    body = {
        "declaration_id": result.declaration.pk,
        "version": result.version.number,
        "content_hash": result.version.content_hash,
        "submitted_at": result.version.submitted_at.isoformat(),
        "created": result.created,
    }
    return Status(201 if result.created else 200, body)


# --- administrators ---------------------------------------------------------------------------------


def _require(request: HttpRequest, may: Callable[..., bool]) -> User:
    """The caller, if ``may(user=…)`` (one of the services' ``may_*``); 403 otherwise."""
    user = _user(request)
    if not may(user=user):
        raise ApiError(403, "permission_denied", "You do not have permission to do this.")
    return user


def _deadline_out(deadline: FilingDeadline) -> dict[str, Any]:
    return {
        "id": deadline.pk,
        "declaration_type": deadline.declaration_type,
        "year": deadline.year,
        "due_date": deadline.due_date,
        "body_id": deadline.body_id,
        "body": deadline.body.name if deadline.body else None,
        "reminder_days": list(deadline.reminder_days or []),
    }


def _body(body_id: int | None) -> PublicBody | None:
    if body_id is None:
        return None
    body = PublicBody.objects.filter(pk=body_id).first()
    if body is None:
        raise ApiError(422, "validation_error", f"There is no public body {body_id}.")
    return body


@router.get(
    "/deadlines",
    response={200: list[DeadlineOut], **errors(403)},
    summary="Filing deadlines",
    operation_id="probity_declarations_api_filing_deadlines_list",
)
def deadlines_list(request: HttpRequest, year: int | None = None) -> list[dict[str, Any]]:
    _require(request, services.may_see_deadlines)
    queryset = FilingDeadline.objects.select_related("body").order_by("-year", "declaration_type", "pk")
    if year is not None:
        queryset = queryset.filter(year=year)
    return [_deadline_out(d) for d in queryset]


def _set(payload: DeadlineIn) -> tuple[FilingDeadline, bool]:
    try:
        return deadline_service.deadline_set(
            declaration_type=payload.declaration_type,
            year=payload.year,
            due_date=payload.due_date,
            body=_body(payload.body_id),
            reminder_days=payload.reminder_days,
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc


@router.post(
    "/deadlines",
    response={201: DeadlineOut, 200: DeadlineOut, **errors(403, 422)},
    summary="Set a deadline (creates it, or changes the one for the same type, year and body)",
    operation_id="probity_declarations_api_filing_deadline_create",
)
def deadline_create(request: HttpRequest, payload: DeadlineIn) -> Status:
    _require(request, services.may_set_deadlines)
    deadline, created = _set(payload)
    return Status(201 if created else 200, _deadline_out(deadline))


@router.put(
    "/deadlines/{deadline_id}",
    response={200: DeadlineOut, **errors(403, 404, 409, 422)},
    summary="Change a deadline",
    operation_id="probity_declarations_api_filing_deadline_update",
)
def deadline_update(request: HttpRequest, deadline_id: int, payload: DeadlineIn) -> dict[str, Any]:
    _require(request, services.may_change_deadlines)
    deadline = FilingDeadline.objects.filter(pk=deadline_id).first()
    if deadline is None:
        raise ApiError(404, "not_found", f"There is no deadline {deadline_id}.")
    same_key = (deadline.declaration_type, deadline.year, deadline.body_id) == (
        payload.declaration_type,
        payload.year,
        payload.body_id,
    )
    if (
        not same_key
        and FilingDeadline.objects.filter(
            declaration_type=payload.declaration_type, year=payload.year, body_id=payload.body_id
        ).exists()
    ):
        raise ApiError(409, "conflict", "Another deadline exists for this type, year and body; change that one.")
    if not same_key:
        deadline.declaration_type = payload.declaration_type
        deadline.year = payload.year
        deadline.body = _body(payload.body_id)
        deadline.save()
    updated, _created = _set(payload)
    return _deadline_out(updated)


@router.delete(
    "/deadlines/{deadline_id}",
    response={204: None, **errors(403, 404)},
    summary="Delete a deadline",
    operation_id="probity_declarations_api_filing_deadline_delete",
)
def deadline_delete(request: HttpRequest, deadline_id: int) -> Status:
    _require(request, services.may_delete_deadlines)
    deadline = FilingDeadline.objects.filter(pk=deadline_id).first()
    if deadline is None:
        raise ApiError(404, "not_found", f"There is no deadline {deadline_id}.")
    deadline.delete()
    return Status(204, None)


@router.get(
    "/nonfilers",
    response={200: list[NonFilerOut], **errors(403, 422)},
    summary="Overdue (not filed past the due date) and late filers",
    operation_id="probity_declarations_api_filing_nonfilers_list",
)
def nonfilers_list(
    request: HttpRequest,
    declaration_type: DeclarationType | None = None,
    year: int | None = None,
    body_id: int | None = None,
    show: Literal["all", "overdue", "late"] = "all",
) -> list[dict[str, Any]]:
    _require(request, services.may_see_deadlines)
    today = timezone.localdate()
    items = deadline_service.nonfilers(today, declaration_type=declaration_type, year=year, body=_body(body_id))
    if show == "overdue":
        items = [o for o in items if o.overdue(today)]
    elif show == "late":
        items = [o for o in items if o.late]
    return [
        {
            "person_id": o.person.pk,
            "name": o.person.name,
            "body": o.position.body.name,
            "position": o.position.title,
            "declaration_type": o.deadline.declaration_type,
            "year": o.deadline.year,
            "due_date": o.due_date,
            "status": o.status,
            "submitted_at": o.submitted_at.isoformat() if o.submitted_at else None,
            "late": o.late,
        }
        for o in items
    ]
