"""The core app's HTTP API, ``/api/v1/``: who am I, the registers, detectors, findings, audit, tokens.

``build_api()`` assembles the one ``NinjaAPI`` that ``probity.urls`` mounts:

* **Authentication** — ``Authorization: Bearer <token>`` for machine clients (``BearerTokenAuth``), or
  the browser session (``VerifiedSessionAuth``: CSRF-checked for unsafe methods, and a user in a staff
  role must have passed the second factor). ``request.auth`` is the user either way.
* **Permissions** — each endpoint checks ``user.has_perm`` and narrows lists with
  ``probity.core.rules.visible_to``, the same rules the web views apply. A caller without any right to a
  kind of record gets 403; a record that exists but is not visible to the caller is a 404.
* **Errors** — every error body is ``{"error": {"code", "message", "details"}}`` (``ErrorOut``), for
  ninja's own errors, Django's ``Http404``/``PermissionDenied``, ``ValueError``/``LookupError`` raised by
  services, unknown paths, wrong methods and unexpected failures (logged; no internals in the body).
* **Docs** — Swagger UI at ``/api/v1/docs`` from ninja's bundled static files (no CDN); it loads only
  same-origin scripts and styles, so it works under the site's strict Content-Security-Policy.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import wraps
from http import HTTPStatus
from typing import Any, Literal, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.db.models.query import EmptyQuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from ninja import Field, NinjaAPI, Router, Schema, Swagger
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.renderers import JSONRenderer
from ninja.responses import Status
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from probity.core import selectors, services
from probity.core.audit import audit_as, audit_verify
from probity.core.detectors import detector_registry, get_detector
from probity.core.jobs import JobRefused, job_enqueue, kind_label, status_sentence
from probity.core.models import (
    APIToken,
    DetectorRun,
    FamilyRelation,
    Finding,
    FindingNote,
    Identifier,
    Job,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
)
from probity.core.modules import subject_types
from probity.core.roles import needs_second_factor, user_roles
from probity.core.rules import visible_to
from probity.core.schemas import (
    AuditVerificationOut,
    DetectorOut,
    DetectorRunIn,
    DetectorRunOut,
    ErrorOut,
    MeOut,
    OrganisationDetailOut,
    OrganisationOut,
    PersonDetailOut,
    PersonOut,
    PositionOut,
    PublicBodyDetailOut,
    PublicBodyOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    TriageIn,
)
from probity.core.schemas import FindingOut as FindingBaseOut

logger = logging.getLogger("probity.api")

API_DESCRIPTION = """\
Probity's HTTP API, version 1.

**Authentication.** Machine clients send `Authorization: Bearer <token>`; create a token on the
*API tokens* page of the web interface or with `probity token create USERNAME --name NAME`. A signed-in
browser session works too (staff roles must have passed the second factor; unsafe methods need the
`X-CSRFToken` header).

**Permissions.** You see what your role allows, as in the web interface: lists leave out what you may
not see, a record you may not see answers 404, and an action your role may not take answers 403.

**Lists** are paginated with `limit` and `offset` and answer `{"items": [...], "count": N}`.

**Errors** always have the body `{"error": {"code": "...", "message": "...", "details": ...}}`.
"""

MAX_PAGE = 500
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]

# --- errors ---------------------------------------------------------------------------------


class ApiError(Exception):
    """An error with a chosen status, code and message; raise it from endpoints and auth classes."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
}

_RENDERER = JSONRenderer()

NOT_AUTHENTICATED = (
    "Authentication is required: send 'Authorization: Bearer <token>' with a valid, unexpired token, or sign in."
)


def error_response(request: HttpRequest, status: int, code: str, message: str, details: Any = None) -> HttpResponse:
    """The one error shape of the API, as a JSON response."""
    body = {"error": {"code": code, "message": message, "details": details}}
    response = HttpResponse(
        _RENDERER.render(request, body, response_status=status),
        status=status,
        content_type=f"{_RENDERER.media_type}; charset={_RENDERER.charset}",
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="Probity API"'
    return response


def _sentence(text: str, default: str) -> str:
    """``text`` as a sentence: capitalised and ending with a full stop (service messages are lower-case)."""
    text = text.strip() or default
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.details)


def _on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "not_authenticated", NOT_AUTHENTICATED)


def _on_authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error_response(request, 403, "permission_denied", "You do not have permission to do this.")


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = STATUS_CODES.get(status) or phrase.lower().replace(" ", "_").replace("-", "_").replace("'", "")
    return error_response(request, status, code, _sentence(str(exc), phrase))


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(
        request,
        422,
        "validation_error",
        "The request is not valid; 'details' lists each problem.",
        exc.errors,
    )


def _on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    details = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    return error_response(request, 400, "bad_request", "The request cannot be carried out as sent.", details)


def _on_http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "Nothing was found at this address.")


def _on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(
        request, 403, "permission_denied", _sentence(str(exc), "You do not have permission to do this.")
    )


def _on_value_error(request: HttpRequest, exc: ValueError) -> HttpResponse:
    # Services raise ValueError with a sentence meant for the user ("a dismissal needs a reason").
    return error_response(
        request, 400, "bad_request", _sentence(str(exc), "The request cannot be carried out as sent.")
    )


def _on_lookup_error(request: HttpRequest, exc: LookupError) -> HttpResponse:
    # Services raise LookupError for unknown names ("No detector has the code …").
    message = _sentence(str(exc), "Nothing was found at this address.")
    return error_response(request, 404, "not_found", message)


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API request %s %s failed", request.method, request.path, exc_info=exc)
    return error_response(
        request, 500, "internal_error", "Something went wrong on the server; the error has been logged."
    )


EXCEPTION_HANDLERS: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
    (ApiError, _on_api_error),
    (AuthenticationError, _on_authentication_error),
    (AuthorizationError, _on_authorization_error),
    (HttpError, _on_http_error),
    (ValidationError, _on_validation_error),
    (DjangoValidationError, _on_django_validation_error),
    (Http404, _on_http404),
    (PermissionDenied, _on_permission_denied),
    (ValueError, _on_value_error),
    (LookupError, _on_lookup_error),
    # KeyError and IndexError are LookupErrors too, but from our own code they are bugs, not a 404.
    (KeyError, _on_unexpected),
    (IndexError, _on_unexpected),
    (Exception, _on_unexpected),
]


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """OpenAPI response entries for the error statuses an endpoint can answer (plus 401 and 500)."""
    return {status: ErrorOut for status in sorted({401, 500, *statuses})}


def _forbidden(message: str = "You do not have permission to do this.") -> ApiError:
    return ApiError(403, "permission_denied", message)


def _not_found(what: str, pk: Any) -> ApiError:
    return ApiError(404, "not_found", f"There is no {what} {pk} that you may see.")


# --- authentication -------------------------------------------------------------------------


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``, checked against the stored token hashes."""

    openapi_description = "An API token: 'probity token create' or the API tokens page of the web interface."

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = services.api_token_authenticate(secret=token.strip())
        if user is not None:
            request.auth_method = "token"  # type: ignore[attr-defined]
        return user


class VerifiedSessionAuth(APIKeyCookie):
    """The browser session; staff roles must have passed the second factor, unsafe methods pass CSRF."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = (
        "The web interface's session cookie (staff roles: after the second factor). "
        "POST, PUT, PATCH and DELETE need the X-CSRFToken header."
    )

    def __init__(self, csrf: bool = True, refuse_tokens: bool = False) -> None:
        super().__init__(csrf=csrf)
        self.refuse_tokens = refuse_tokens

    def __call__(self, request: HttpRequest) -> User | None:
        if "Authorization" in request.headers:
            if self.refuse_tokens:
                raise ApiError(
                    403,
                    "permission_denied",
                    "This cannot be done with an API token: sign in to the web interface, "
                    "or ask an administrator to run 'probity token create'.",
                )
            return None  # the client chose a token; a wrong token must not fall back to the cookie
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise ApiError(
                403,
                "csrf_failed",
                "The CSRF check failed: send the X-CSRFToken header with the page's token, or use a bearer token.",
            )
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = cast(User, request.user)
        is_verified = getattr(user, "is_verified", None)
        if needs_second_factor(user) and not (callable(is_verified) and is_verified()):
            raise ApiError(
                401,
                "second_factor_required",
                "Your role needs the second factor: complete sign-in with your authenticator code in the "
                "web interface, or use a bearer token.",
            )
        request.auth_method = "session"  # type: ignore[attr-defined]
        return user


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _visible_or_forbidden(user: User, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``visible_to``, but a caller with no right at all to this kind of record gets 403, not nothing."""
    visible = visible_to(user, queryset)
    if isinstance(visible, EmptyQuerySet):
        raise _forbidden(f"Your role may not see {queryset.model._meta.verbose_name_plural}.")
    return visible


def _get_visible(user: User, queryset: QuerySet[Any], pk: Any) -> Any:
    obj = _visible_or_forbidden(user, queryset).filter(pk=pk).first()
    if obj is None:
        raise _not_found(str(queryset.model._meta.verbose_name), pk)
    return obj


def _require(user: User, permission: str, message: str) -> None:
    if not user.has_perm(permission):
        raise _forbidden(message)


# --- the caller -----------------------------------------------------------------------------

account = Router(tags=["account"])


@account.get("/me", response={200: MeOut, **errors()}, summary="Who you are, your roles and permissions")
def me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    person = Person.objects.filter(user=user).only("pk").first()
    return {
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "roles": sorted(user_roles(user)),
        "permissions": sorted(user.get_all_permissions()),
        "person_id": person.pk if person else None,
        "authenticated_by": getattr(request, "auth_method", "session"),
    }


@account.get("/stats", response={200: dict[str, int], **errors()}, summary="Counts of what you may see")
def stats(request: HttpRequest) -> dict[str, int]:
    return selectors.dashboard_counts(user=_user(request))


# --- public bodies and positions ------------------------------------------------------------

bodies = Router(tags=["public bodies"])


@bodies.get(
    "/public-bodies",
    response={200: list[PublicBodyOut], **errors(403, 422)},
    summary="Public bodies (search 'q' in names)",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def public_bodies(request: HttpRequest, q: str = "") -> QuerySet[PublicBody]:
    queryset = _visible_or_forbidden(_user(request), PublicBody.objects.all())
    if q.strip():
        queryset = queryset.filter(name__icontains=q.strip())
    return queryset.order_by("name", "pk")


@bodies.get(
    "/public-bodies/{int:body_id}",
    response={200: PublicBodyDetailOut, **errors(403, 404)},
    summary="One public body, with its parent and children",
)
def public_body(request: HttpRequest, body_id: int) -> dict[str, Any]:
    user = _user(request)
    body: PublicBody = _get_visible(user, PublicBody.objects.all(), body_id)
    children = visible_to(user, PublicBody.objects.filter(parent=body)).order_by("name", "pk")
    return {
        "id": body.pk,
        "name": body.name,
        "kind": body.kind,
        "country": body.country,
        "parent_id": body.parent_id,
        "children_ids": list(children.values_list("pk", flat=True)),
    }


@bodies.get("/positions", response={200: list[PositionOut], **errors(403, 422)}, summary="Positions")
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def positions(request: HttpRequest, body_id: int | None = None) -> QuerySet[Position]:
    queryset = _visible_or_forbidden(_user(request), Position.objects.select_related("body", "holder"))
    if body_id is not None:
        queryset = queryset.filter(body_id=body_id)
    return queryset.order_by("body__name", "title", "pk")


# --- people and organisations ---------------------------------------------------------------

people = Router(tags=["people"])


@people.get(
    "/people",
    response={200: list[PersonOut], **errors(403, 422)},
    summary="People (search 'q' in names and alternative names)",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def people_list(request: HttpRequest, q: str = "") -> QuerySet[Person]:
    queryset = _visible_or_forbidden(_user(request), Person.objects.all())
    return selectors.search_by_name(queryset=queryset, query=q).order_by("name", "pk")


def _identifiers(user: User, queryset: QuerySet[Identifier]) -> list[dict[str, Any]]:
    rows = []
    for identifier in visible_to(user, queryset).order_by("scheme", "issuer", "pk"):
        hashed = identifier.scheme in Identifier.HASHED_SCHEMES
        rows.append(
            {
                "scheme": identifier.scheme,
                "issuer": identifier.issuer,
                "value": None if hashed else identifier.value,
                "hashed": hashed,
            }
        )
    return rows


def _alternative_names(user: User, queryset: QuerySet[PersonName]) -> list[dict[str, str]]:
    return [{"name": n.name, "script": n.script} for n in visible_to(user, queryset).order_by("name", "pk")]


@people.get(
    "/people/{int:person_id}",
    response={200: PersonDetailOut, **errors(403, 404)},
    summary="One person: alternative names, identifiers, positions and family",
)
def person_detail(request: HttpRequest, person_id: int) -> dict[str, Any]:
    user = _user(request)
    person: Person = _get_visible(user, Person.objects.all(), person_id)
    relations = FamilyRelation.objects.filter(Q(person=person) | Q(relative=person)).select_related(
        "person", "relative"
    )
    others = {r.relative_id if r.person_id == person.pk else r.person_id for r in relations}
    visible_others = set(visible_to(user, Person.objects.filter(pk__in=others)).values_list("pk", flat=True))
    family = []
    for relation in sorted(relations, key=lambda r: (r.kind, r.pk)):
        outgoing = relation.person_id == person.pk
        other = relation.relative if outgoing else relation.person
        if other.pk in visible_others:
            family.append(
                {
                    "person": {"id": other.pk, "name": other.name},
                    "relation": relation.kind,
                    "direction": "relative" if outgoing else "relative_of",
                }
            )
    return {
        "id": person.pk,
        "name": person.name,
        "birth_date": person.birth_date,
        "gender": person.gender,
        "nationality": person.nationality,
        "alternative_names": _alternative_names(user, PersonName.objects.filter(person=person)),
        "identifiers": _identifiers(user, Identifier.objects.filter(person=person)),
        "positions": list(
            visible_to(user, Position.objects.filter(holder=person))
            .select_related("body", "holder")
            .order_by("start_date", "pk")
        ),
        "family": family,
    }


organisations = Router(tags=["organisations"])


@organisations.get(
    "/organisations",
    response={200: list[OrganisationOut], **errors(403, 422)},
    summary="Organisations (search 'q' in names and alternative names)",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def organisations_list(request: HttpRequest, q: str = "") -> QuerySet[Organisation]:
    queryset = _visible_or_forbidden(_user(request), Organisation.objects.all())
    return selectors.search_by_name(queryset=queryset, query=q).order_by("name", "pk")


@organisations.get(
    "/organisations/{int:organisation_id}",
    response={200: OrganisationDetailOut, **errors(403, 404)},
    summary="One organisation, with its identifiers",
)
def organisation_detail(request: HttpRequest, organisation_id: int) -> dict[str, Any]:
    user = _user(request)
    organisation: Organisation = _get_visible(user, Organisation.objects.all(), organisation_id)
    return {
        "id": organisation.pk,
        "name": organisation.name,
        "kind": organisation.kind,
        "jurisdiction": organisation.jurisdiction,
        "founded": organisation.founded,
        "dissolved": organisation.dissolved,
        "address": organisation.address,
        "alternative_names": _alternative_names(user, PersonName.objects.filter(organisation=organisation)),
        "identifiers": _identifiers(user, Identifier.objects.filter(organisation=organisation)),
    }


# --- detectors ------------------------------------------------------------------------------

detectors = Router(tags=["detectors"])


def _detector_out(detector: Any) -> dict[str, Any]:
    return {
        "code": detector.code,
        "title": str(detector.title),
        "description": str(detector.description),
        "subject_type": detector.subject_type,
        "fields": list(detector.fields),
        "parameters": [
            {
                "name": p.name,
                "default": p.default,
                "kind": getattr(p.kind, "__name__", str(p.kind)),
                "description": str(p.description),
            }
            for p in detector.parameters
        ],
    }


@detectors.get(
    "/detectors",
    response={200: list[DetectorOut], **errors(403, 422)},
    summary="The detector registry",
    description="For the roles that run or review detectors (the Detectors page's permission).",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def detector_list(request: HttpRequest) -> list[dict[str, Any]]:
    # The parameters are the thresholds a check uses: not for the people it checks.
    _require(_user(request), "core.view_detectorrun", "Your role may not see the detectors.")
    return [_detector_out(detector) for detector in detector_registry().values()]


class JobProgressOut(Schema):
    done: int = Field(..., description="steps done in the current stage")
    total: int | None = Field(None, description="steps in the current stage; null when not known")
    stage: str = Field(..., description="what the job is doing now, in words")
    percent: int | None = Field(None, description="0 to 100; null when the total is not known")


class JobLogLineOut(Schema):
    at: str = Field(..., description="when, ISO 8601 in UTC")
    message: str


class JobSummaryOut(Schema):
    """A background job as lists show it (``/jobs``, the detector-run endpoint answers the full ``JobOut``)."""

    id: int
    kind: str = Field(..., description="the job kind's code, e.g. core.detector_run; see GET /api/v1/jobs/kinds")
    kind_label: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    status_label: str = Field(..., description="the status in words, in the installation's language")
    sentence: str = Field(..., description="one sentence on where the job stands, or how it ended")
    trigger: Literal["page", "api", "cli", "event", "schedule"] = Field(..., description="how it was started")
    trigger_label: str
    requested_by: str = Field(..., description="user name, or system:<what> when the system started it")
    queue: str
    schedule_id: int | None = Field(None, description="the schedule that started it, if one did")
    progress: JobProgressOut
    parameters: dict[str, Any]
    result: dict[str, Any] = Field(..., description="counts of a finished job, by short keys")
    summary: str = Field(..., description="the outcome in one sentence, once finished")
    error: str = Field(..., description="why it failed, in words; empty unless it failed")
    attempts: int
    max_attempts: int
    cancel_requested: bool
    created_at: datetime
    run_after: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class JobOut(JobSummaryOut):
    log: list[JobLogLineOut] = Field(..., description="the job's log lines, oldest first")


def job_out(job: Job, *, log: bool = True) -> dict[str, Any]:
    """A job's plain fields for ``JobOut`` (``log=False``: ``JobSummaryOut``)."""
    fields: dict[str, Any] = {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": kind_label(job.kind),
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "sentence": status_sentence(job),
        "trigger": job.trigger,
        "trigger_label": str(job.get_trigger_display()),
        "requested_by": job.requested_by_name,
        "queue": job.queue,
        "schedule_id": job.schedule_id,
        "progress": {
            "done": job.progress_done,
            "total": job.progress_total,
            "stage": job.progress_label,
            "percent": job.percent,
        },
        "parameters": dict(job.parameters or {}),
        "result": dict(job.result or {}),
        "summary": job.summary,
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at,
        "run_after": job.run_after,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
    if log:
        fields["log"] = [
            {"at": str(line.get("at", "")), "message": str(line.get("message", ""))}
            for line in (job.log or [])
            if isinstance(line, dict)
        ]
    return fields


@detectors.post(
    "/detectors/{code}/runs",
    response={202: JobOut, **errors(400, 403, 404, 422)},
    summary="Queue a run of a detector (a background job); its findings are stored when the job has run",
    description=(
        "Answers 202 with the queued job (kind core.detector_run). Follow it at GET /api/v1/jobs/{id}; "
        "when it has finished, the run is listed at GET /api/v1/detector-runs."
    ),
)
def detector_run(request: HttpRequest, code: str, payload: DetectorRunIn | None = None) -> Status[dict[str, Any]]:
    user = _user(request)
    _require(user, "core.run_detector", "Your role may not run detectors.")
    parameters = payload.parameters if payload is not None else {}
    get_detector(code).resolve_parameters(parameters)  # unknown code → 404, bad parameter → 400
    try:
        job = job_enqueue(
            kind="core.detector_run",
            parameters={"detector": code, "parameters": parameters},
            actor=user,
            trigger=Job.Trigger.API,
        )
    except JobRefused as refusal:
        raise ApiError(400, "bad_request", str(refusal)) from refusal
    return Status(202, job_out(job))


@detectors.get(
    "/detector-runs",
    response={200: list[DetectorRunOut], **errors(403, 422)},
    summary="Detector runs, newest first",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def detector_runs(request: HttpRequest, detector: str | None = None) -> QuerySet[DetectorRun]:
    queryset = _visible_or_forbidden(_user(request), DetectorRun.objects.all())
    if detector:
        queryset = queryset.filter(detector_code=detector)
    return queryset.order_by("-started_at", "-pk")


@detectors.get(
    "/detector-runs/{int:run_id}",
    response={200: DetectorRunOut, **errors(403, 404)},
    summary="One detector run",
)
def detector_run_detail(request: HttpRequest, run_id: int) -> DetectorRun:
    return cast(DetectorRun, _get_visible(_user(request), DetectorRun.objects.all(), run_id))


# --- findings -------------------------------------------------------------------------------

OutcomeFilter = Literal["flag", "pass", "not_applicable"]
TriageFilter = Literal["open", "confirmed", "dismissed"]


class FindingOut(FindingBaseOut):
    """A finding with who looks into it and the case it is in (kept under the schema's published name)."""

    assignee: str | None = Field(None, description="user name of who looks into the finding; null: no one")
    case_reference: str | None = Field(
        None, description="reference of the case the finding is in (e.g. CASE-2026-000001); null: in no case"
    )

    @staticmethod
    def resolve_assignee(obj: Finding) -> str | None:
        return obj.assignee.get_username() if obj.assignee_id is not None and obj.assignee else None

    @staticmethod
    def resolve_case_reference(obj: Finding) -> str | None:
        cases = getattr(obj, "_cases", None)
        if cases is None:  # one finding on its own: ask for its case alone
            cases = services.finding_cases([obj.pk])
        case = cases.get(obj.pk)
        return case["reference"] if case else None


class FindingAssignIn(Schema):
    assignee: str | None = Field(
        ..., max_length=150, description="user name of someone who may see findings; null: assign to no one"
    )


class FindingNoteIn(Schema):
    text: str = Field(..., max_length=5000, description="the note; not empty")


class FindingNoteOut(Schema):
    author: str = Field(..., description="user name of who wrote the note")
    text: str
    created_at: datetime


class FindingPagination(LimitOffsetPagination):
    """Limit/offset pagination that asks once per page which case each finding is in."""

    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        page = super().paginate_queryset(queryset, pagination, request=request, **params)
        items = list(page[self.items_attribute])
        cases = services.finding_cases([finding.pk for finding in items])
        for finding in items:
            finding._cases = cases  # read by FindingOut.resolve_case_reference
        return {**page, self.items_attribute: items}


def findings_router() -> Router:
    """The findings endpoints; built when the API is assembled, because the ``subject_type`` filter lists
    the subject types every installed module declares."""
    findings = Router(tags=["findings"])
    SubjectTypeFilter = Literal[tuple(subject_type.code for subject_type in subject_types())]  # type: ignore[valid-type]  # noqa: N806

    @findings.get(
        "/findings",
        response={200: list[FindingOut], **errors(403, 422)},
        summary="Findings of each detector's latest successful run, highest score first",
    )
    @paginate(FindingPagination, max_limit=MAX_PAGE)
    def finding_list(
        request: HttpRequest,
        detector: str | None = None,
        outcome: OutcomeFilter | None = None,
        triage: TriageFilter | None = None,
        subject_type: SubjectTypeFilter | None = None,  # type: ignore[valid-type]
        assignee: str | None = None,
    ) -> QuerySet[Finding]:
        user = _user(request)
        _require(user, "core.view_finding", "Your role may not see findings.")
        queryset = selectors.findings_latest(
            user=user, detector_code=detector, outcome=outcome, triage=triage, subject_type=subject_type
        ).select_related("assignee")
        if assignee:
            queryset = queryset.filter(assignee__username=assignee)
        return queryset

    def visible_finding(user: User, finding_id: int) -> Finding:
        _require(user, "core.view_finding", "Your role may not see findings.")
        return cast(Finding, _get_visible(user, Finding.objects.select_related("assignee"), finding_id))

    @findings.get("/findings/{int:finding_id}", response={200: FindingOut, **errors(403, 404)}, summary="One finding")
    def finding_detail(request: HttpRequest, finding_id: int) -> Finding:
        return visible_finding(_user(request), finding_id)

    @findings.post(
        "/findings/{int:finding_id}/triage",
        response={200: FindingOut, **errors(400, 403, 404, 422)},
        summary="Confirm or dismiss a finding (a dismissal needs a reason)",
    )
    def finding_triage(request: HttpRequest, finding_id: int, payload: TriageIn) -> Finding:
        user = _user(request)
        _require(user, "core.triage_finding", "Your role may not confirm or dismiss findings.")
        finding = _get_visible(user, Finding.objects.all(), finding_id)
        return services.finding_triage(finding=finding, decision=payload.decision, reason=payload.reason, actor=user)

    @findings.post(
        "/findings/{int:finding_id}/assign",
        response={200: FindingOut, **errors(400, 403, 404, 422)},
        summary="Give a finding to someone to look into (null: to no one)",
        description="The assignee is the user name of an active user who may see findings.",
    )
    def finding_assign(request: HttpRequest, finding_id: int, payload: FindingAssignIn) -> Finding:
        user = _user(request)
        _require(user, "core.triage_finding", "Your role may not assign findings.")
        finding = visible_finding(user, finding_id)
        assignee = None
        if payload.assignee is not None:
            assignee = services.finding_assignees().filter(username=payload.assignee).first()
            if assignee is None:
                raise ApiError(
                    400,
                    "bad_request",
                    f"There is no active user {payload.assignee!r} who may see findings: choose someone who may.",
                )
        return services.finding_assign(finding=finding, assignee=assignee, actor=user)

    @findings.get(
        "/findings/{int:finding_id}/notes",
        response={200: list[FindingNoteOut], **errors(403, 404, 422)},
        summary="The notes on a finding, oldest first",
    )
    @paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
    def finding_notes(request: HttpRequest, finding_id: int) -> QuerySet[FindingNote]:
        return visible_finding(_user(request), finding_id).notes.all()

    @findings.post(
        "/findings/{int:finding_id}/notes",
        response={201: FindingNoteOut, **errors(400, 403, 404, 422)},
        summary="Add a note to a finding",
    )
    def finding_note_add(request: HttpRequest, finding_id: int, payload: FindingNoteIn) -> Status[FindingNote]:
        user = _user(request)
        _require(user, "core.triage_finding", "Your role may not add notes to findings.")
        finding = visible_finding(user, finding_id)
        return Status(201, services.finding_note_add(finding=finding, text=payload.text, actor=user))

    return findings


# --- audit log ------------------------------------------------------------------------------

audit = Router(tags=["audit"])


@audit.post(
    "/audit/verify",
    response={200: AuditVerificationOut, **errors(403)},
    summary="Recompute the audit log's hash chain and report every break",
)
def audit_log_verify(request: HttpRequest) -> dict[str, Any]:
    _require(_user(request), "core.verify_auditentry", "Your role may not verify the audit log.")
    result = audit_verify()
    return {
        "entries_checked": result.entries_checked,
        "head_hash": result.head_hash,
        "ok": result.ok,
        "problems": [{"sequence": p.sequence, "reason": p.reason} for p in result.problems],
    }


# --- API tokens -----------------------------------------------------------------------------

tokens = Router(tags=["tokens"])


@tokens.get("/tokens", response={200: list[TokenOut], **errors(422)}, summary="Your API tokens (never the secret)")
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def token_list(request: HttpRequest) -> QuerySet[APIToken]:
    return APIToken.objects.filter(user=_user(request)).order_by("-created_at", "-pk")


@tokens.post(
    "/tokens",
    response={201: TokenCreatedOut, **errors(403, 422)},
    auth=[VerifiedSessionAuth(refuse_tokens=True)],
    summary="Create an API token (signed-in session only); the secret is in this response only",
    description=(
        "Only a browser session that has passed sign-in (and the second factor, for staff) may create "
        "tokens, so a leaked token cannot mint new ones that outlive its revocation."
    ),
)
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Status[dict[str, Any]]:
    user = _user(request)
    expires_at = timezone.now() + timedelta(days=payload.expires_days) if payload.expires_days else None
    with audit_as(user):
        token, secret = services.api_token_create(user=user, name=payload.name, expires_at=expires_at)
    return Status(201, {**_token_fields(token), "secret": secret})


def _token_fields(token: APIToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "active": TokenOut.resolve_active(token),
    }


@tokens.delete(
    "/tokens/{int:token_id}", response={200: TokenOut, **errors(404)}, summary="Revoke one of your API tokens"
)
def token_revoke(request: HttpRequest, token_id: int) -> APIToken:
    user = _user(request)
    token = APIToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise _not_found("API token of yours", token_id)
    if token.revoked_at is None:
        services.api_token_revoke(token=token, actor=user)
    return token


# --- unknown paths --------------------------------------------------------------------------

fallback = Router()


@fallback.api_operation(ALL_METHODS, "/{path:path}", auth=None, include_in_schema=False)
def unknown_path(request: HttpRequest, path: str) -> HttpResponse:
    return error_response(
        request,
        404,
        "not_found",
        f"There is no API endpoint at {request.path}; the list of endpoints is at /api/v1/docs.",
    )


# --- assembly -------------------------------------------------------------------------------


class ProbityAPI(NinjaAPI):
    """NinjaAPI whose own URL patterns answer with the API's error body too, and whose schema says so.

    Ninja answers a wrong method on a known path with a bare 405, and its root view raises ``Http404``
    outside the exception handlers; wrapping the patterns turns both into ``ErrorOut`` bodies. Every
    operation of every router (also those of other apps) is documented with the 401 and 500 it can
    answer.
    """

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        return [_wrap_pattern(p) for p in patterns], app_name, namespace

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        error_ref = {"$ref": "#/components/schemas/ErrorOut"}
        if "ErrorOut" not in schema.get("components", {}).get("schemas", {}):
            return schema
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                statuses = [401, 500] if operation.get("security") else [500]
                for status in statuses:
                    responses.setdefault(
                        status,
                        {
                            "description": HTTPStatus(status).phrase,
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    )
        return schema


def _wrap_pattern(pattern: URLResolver | URLPattern) -> URLResolver | URLPattern:
    if not isinstance(pattern, URLPattern):
        return pattern
    view = pattern.callback

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return error_response(
                request,
                404,
                "not_found",
                "There is nothing at this address; the list of endpoints is at /api/v1/docs.",
            )
        is_json = response.get("Content-Type", "").startswith("application/json")
        if response.status_code == 405 and not is_json:
            allowed = response.get("Allow", "")
            error = error_response(
                request,
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {allowed or 'another method'}.",
                {"allowed": [m.strip() for m in allowed.split(",") if m.strip()]},
            )
            error["Allow"] = allowed
            return error
        return response

    # Ninja's views are exempt from Django's CSRF middleware (cookie auth checks CSRF itself).
    wrapped.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return URLPattern(pattern.pattern, wrapped, pattern.default_args, pattern.name)


def build_api(*, routers: Iterable[tuple[str, Router]], urls_namespace: str = "api-1") -> NinjaAPI:
    """The ``/api/v1/`` API: the given routers (the project passes every module's), both authentication
    methods, the error handlers, and the fallback for unknown paths."""
    api = ProbityAPI(
        title="Probity API",
        version="1",
        urls_namespace=urls_namespace,
        description=API_DESCRIPTION,
        auth=[BearerTokenAuth(), VerifiedSessionAuth()],
        # Swagger UI from ninja's bundled static files ("ninja" is in INSTALLED_APPS), never a CDN;
        # no online validator badge (it would call validator.swagger.io).
        docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False, "tryItOutEnabled": False}),
    )
    for exc_class, handler in EXCEPTION_HANDLERS:
        api.add_exception_handler(exc_class, handler)
    for prefix, router in routers:
        api.add_router(prefix, router)
    api.add_router("", fallback)  # last: catches only what no other route matched
    return api
