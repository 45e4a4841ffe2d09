"""Declarations API: the public register (no sign-in) and publication (administrators).

Mounted at ``/api/v1/declarations/public``. The reading endpoints have ``auth=None``: anyone may call
them, and they read ``PublishedDeclaration`` only (the redacted copy), never a declaration version.

* ``GET  /api/v1/declarations/public/search`` search (``q``, ``body``, ``year``, ``type``; ``limit``/``offset``)
* ``GET  /api/v1/declarations/public/{id}`` one published declaration with its redacted content
* ``GET  /api/v1/declarations/public/export?format=json|csv`` bulk download of a search (streamed)
* ``POST /api/v1/declarations/public/publish`` publish (``declarations.add_publisheddeclaration``); with
  ``background`` or more than ``BACKGROUND_OVER`` declarations it queues the job ``declarations.publish``
  and answers 202 with the job's id
* ``POST /api/v1/declarations/public/withdraw`` withdraw (``declarations.change_publisheddeclaration``)
* ``GET  /api/v1/declarations/public/profiles`` redaction profiles (``declarations.view_redactionprofile``)

Who may publish, withdraw and see the profiles is asked of ``services`` (``may_*``), as the pages do.
The operation ids are those the endpoints had when this module was ``declarations/api_public.py``
(``operation_id``): the published OpenAPI document does not change with the layout of the code.
"""

from datetime import datetime
from typing import Any, Literal, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from probity.core.api import MAX_PAGE, ApiError, errors
from probity.declarations.models import PublishedDeclaration, RedactionProfile
from probity.declarations.publication import redaction, selectors, services
from probity.declarations.selectors import declarations_matching, missing_ids

router = Router(tags=["declarations: public register"])

DeclarationType = Literal["entry", "annual", "exit", "post_exit"]


class PublicSummaryOut(Schema):
    id: int = Field(alias="declaration_id")
    declarant: str = Field(alias="declarant_name")
    body: str = Field(alias="body_name")
    position: str = Field(alias="position_title")
    declaration_type: str
    year: int
    published_at: datetime


class PublicDeclarationOut(Schema):
    id: int
    declarant: str
    body: str
    position: str
    declaration_type: str
    year: int
    version: int
    published_at: str
    redaction_profile: str
    content: dict[str, Any]


# A publication of more declarations than this is queued as a job (202) instead of being done in the request.
BACKGROUND_OVER = 500


class SearchIn(Schema):
    q: str = Field("", max_length=200)
    body: str = Field("", max_length=200)
    year: int | None = Field(None, ge=1900, le=2200)
    type: DeclarationType | None = None


class PublishIn(Schema):
    year: int | None = None
    type: DeclarationType | None = None
    ids: list[int] | None = None
    profile: str = ""
    background: bool = Field(
        False,
        description="queue the job declarations.publish and answer 202 at once (always so when more than "
        f"{BACKGROUND_OVER} declarations are chosen); follow it at /api/v1/jobs/{{id}}",
    )


class JobQueuedOut(Schema):
    job: int = Field(description="the job's id: GET /api/v1/jobs/{id} shows its progress and result")
    kind: str
    status: str
    message: str


class PublishOut(Schema):
    published: int
    replaced: int
    unchanged: int
    skipped: list[str]
    profile: str


class WithdrawIn(Schema):
    ids: list[int]


class WithdrawOut(Schema):
    withdrawn: int


class ProfileOut(Schema):
    name: str
    description: str
    fields: list[str]
    private: list[str]
    is_default: bool


def _search(search: SearchIn) -> QuerySet[PublishedDeclaration]:
    return selectors.public_declarations(
        q=search.q[:200], body=search.body[:200], year=search.year, declaration_type=search.type or ""
    )


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


@router.get(
    "/search",
    auth=None,
    response={200: list[PublicSummaryOut], **errors(422)},
    summary="Search the public register of declarations (no sign-in)",
    operation_id="probity_declarations_api_public_public_search",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def public_search(request: HttpRequest, search: Query[SearchIn]) -> QuerySet[PublishedDeclaration]:
    return _search(search)


@router.get(
    "/export",
    auth=None,
    response={200: None, **errors(422)},
    summary="Download every published declaration of a search as JSON or CSV (no sign-in)",
    operation_id="probity_declarations_api_public_public_export",
)
def public_export(
    request: HttpRequest, search: Query[SearchIn], format: Literal["json", "csv"] = "json"
) -> StreamingHttpResponse:
    queryset = _search(search)
    if format == "json":
        response = StreamingHttpResponse(
            selectors.json_lines(queryset=queryset.iterator(chunk_size=500)),
            content_type="application/json; charset=utf-8",
        )
    else:
        rows = (row for p in queryset.iterator(chunk_size=500) for row in selectors.csv_rows(published=p))
        response = StreamingHttpResponse(selectors.csv_text(rows=rows), content_type="text/csv; charset=utf-8")
    stem = f"declarations-{search.year}" if search.year else "declarations"
    response["Content-Disposition"] = f'attachment; filename="{stem}.{format}"'
    return response


@router.get(
    "/profiles",
    response={200: list[ProfileOut], **errors(403)},
    summary="Redaction profiles (staff)",
    operation_id="probity_declarations_api_public_profiles",
)
def profiles(request: HttpRequest) -> list[dict[str, Any]]:
    if not services.may_see_profiles(user=_user(request)):
        raise ApiError(403, "permission_denied", "Your role may not see redaction profiles.")
    services.default_profile()
    return [_profile_out(p) for p in RedactionProfile.objects.order_by("name")]


def _profile_out(profile: RedactionProfile) -> dict[str, Any]:
    paths = [str(p) for p in profile.fields or []]
    return {
        "name": profile.name,
        "description": profile.description,
        "fields": [p for p in paths if not p.startswith(redaction.PRIVATE_PREFIX)],
        "private": [p.removeprefix(redaction.PRIVATE_PREFIX) for p in paths if p.startswith(redaction.PRIVATE_PREFIX)],
        "is_default": profile.is_default,
    }


@router.post(
    "/publish",
    response={200: PublishOut, 202: JobQueuedOut, **errors(400, 403, 404, 422)},
    summary="Publish declarations (latest version, redacted): by year, type and/or ids",
    operation_id="probity_declarations_api_public_publish",
)
def publish(request: HttpRequest, payload: PublishIn) -> dict[str, Any] | Status:
    user = _user(request)
    if not services.may_publish(user=user):
        raise ApiError(403, "permission_denied", "Your role may not publish declarations.")
    profile = services.profile_get(name=payload.profile)  # LookupError → 404
    declarations = declarations_matching(year=payload.year, declaration_type=payload.type, ids=payload.ids)
    if payload.background or declarations.count() > BACKGROUND_OVER:
        return _publish_job(user, payload, profile.name)
    try:
        report = services.publish(
            declarations=declarations, profile=profile, include_withdrawn=bool(payload.ids), actor=user
        )
    except redaction.ProfileInvalid as exc:
        raise ApiError(400, "invalid_profile", f"The redaction profile {profile.name} is not valid: {exc}") from exc
    report.skipped += missing_ids(ids=payload.ids, declarations=declarations)
    return {
        "published": report.published,
        "replaced": report.replaced,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "profile": profile.name,
    }


def _publish_job(user: User, payload: PublishIn, profile: str) -> Status:
    from probity.core.jobs import JobRefused, job_enqueue, status_sentence

    parameters = {
        "action": "publish",
        "year": payload.year,
        "declaration_type": payload.type or "",
        "ids": " ".join(str(i) for i in payload.ids or []),
        "profile": profile,
    }
    try:
        job = job_enqueue(kind="declarations.publish", parameters=parameters, actor=user)
    except JobRefused as exc:
        raise ApiError(400, "job_refused", str(exc)) from exc
    return Status(202, {"job": job.pk, "kind": job.kind, "status": job.status, "message": status_sentence(job)})


@router.post(
    "/withdraw",
    response={200: WithdrawOut, **errors(403, 422)},
    summary="Withdraw declarations from the public register (their public content is erased)",
    operation_id="probity_declarations_api_public_withdraw",
)
def withdraw(request: HttpRequest, payload: WithdrawIn) -> dict[str, int]:
    user = _user(request)
    if not services.may_withdraw(user=user):
        raise ApiError(403, "permission_denied", "Your role may not withdraw published declarations.")
    return {"withdrawn": services.withdraw(declaration_ids=payload.ids, actor=user)}


@router.get(
    "/{int:declaration_id}",
    auth=None,
    response={200: PublicDeclarationOut, **errors(404)},
    summary="One published declaration with its redacted content (no sign-in)",
    operation_id="probity_declarations_api_public_public_detail",
)
def public_detail(request: HttpRequest, declaration_id: int) -> dict[str, Any]:
    published = selectors.published_public().filter(declaration_id=declaration_id).first()
    if published is None:
        raise ApiError(404, "not_found", f"Declaration {declaration_id} is not on the public register.")
    return selectors.public_record(published=published)
