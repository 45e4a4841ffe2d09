"""Entities endpoints of the HTTP API.

``router`` is mounted at ``/api/v1/entities`` (entities, their names, match candidates, decisions; a
resolution run and the FtM export are background jobs: their endpoints answer 202 with the job to follow
under ``/api/v1/jobs``, and a finished export is downloaded from ``/exports/{file}``).

``match_router`` is mounted at ``/api/v1/match`` and answers ``POST /api/v1/match/{dataset}`` with the
request and response shapes of OpenSanctions' yente, so screening clients built for it work unchanged.
"""

from datetime import datetime
from typing import Any, Literal, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from probity.core.api import MAX_PAGE, ApiError, errors
from probity.core.audit import audit_record
from probity.core.jobs import JobRefused, job_enqueue
from probity.core.models import AuditEntry, Job
from probity.entities import screening, selectors, services
from probity.entities.models import Entity, MatchCandidate

router = Router(tags=["entities"])

# Mounted at ``/api/v1/match`` (yente-compatible screening: ``POST /api/v1/match/{dataset}``).
match_router = Router(tags=["screening"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _require(user: User, permission: str, message: str) -> None:
    if not user.has_perm(permission):
        raise ApiError(403, "permission_denied", message)


# --- schemas ---------------------------------------------------------------------------------


class EntityNameOut(Schema):
    name: str
    kind: str
    script: str


class EntityOut(Schema):
    id: int
    ftm_id: str
    schema_name: str = Field(..., alias="schema")
    caption: str
    dataset: str
    topics: list[str]
    birth_date: str
    countries: list[str]
    cluster: str


class CandidateOut(Schema):
    id: int
    left: EntityOut
    right: EntityOut
    probability: float
    match_weight: float
    explanation: dict[str, Any]
    status: str
    run_label: str


class EntityDetailOut(EntityOut):
    properties: dict[str, list[str]]
    names: list[EntityNameOut]
    identifiers: list[dict[str, str]]
    same_cluster: list[str]
    candidates: list[CandidateOut]


class DecisionIn(Schema):
    decision: Literal["confirmed", "rejected"]
    reason: str = ""


class DecisionOut(Schema):
    id: int
    candidate_id: int
    decision: str
    reason: str
    decided_by: str
    decided_at: datetime


class LinkIn(Schema):
    schema_name: Literal["Person", "Company"] = Field("Person", alias="schema")
    threshold: float = Field(0.5, ge=0.0, le=1.0)


class JobQueuedOut(Schema):
    job: int
    status: str
    url: str


def _queue(user: User, kind: str, parameters: dict[str, Any] | None = None) -> Status[dict[str, Any]]:
    """Queues a background job for ``user`` and answers 202 with where to follow it."""
    try:
        job = job_enqueue(kind=kind, parameters=parameters, actor=user, trigger=Job.Trigger.API)
    except JobRefused as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return Status(202, {"job": job.pk, "status": job.status, "url": f"/api/v1/jobs/{job.pk}"})


def _entity_out(entity: Entity) -> dict[str, Any]:
    return {
        "id": entity.pk,
        "ftm_id": entity.ftm_id,
        "schema": entity.schema,
        "caption": entity.caption,
        "dataset": entity.dataset,
        "topics": entity.topics or [],
        "birth_date": entity.birth_date,
        "countries": entity.countries or [],
        "cluster": entity.cluster,
    }


def _candidate_out(candidate: MatchCandidate) -> dict[str, Any]:
    return {
        "id": candidate.pk,
        "left": _entity_out(candidate.left),
        "right": _entity_out(candidate.right),
        "probability": candidate.probability,
        "match_weight": candidate.match_weight,
        "explanation": candidate.explanation,
        "status": candidate.status,
        "run_label": candidate.run_label,
    }


# --- entities --------------------------------------------------------------------------------


@router.get(
    "/entities",
    response={200: list[EntityOut], **errors(403, 422)},
    by_alias=True,
    summary="Entities from every source (search 'q' in names in any script)",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def entity_list(request: HttpRequest, q: str = "", dataset: str = "", ftm_schema: str = "") -> list[dict[str, Any]]:
    _require(_user(request), "entities.view_entity", "Your role may not see entities.")
    return [_entity_out(e) for e in selectors.entity_search(q=q, dataset=dataset, schema=ftm_schema)]


@router.get(
    "/entities/{int:entity_id}",
    response={200: EntityDetailOut, **errors(403, 404)},
    by_alias=True,
    summary="One entity: names in all scripts, identifiers, its cluster and its match candidates",
)
def entity_detail(request: HttpRequest, entity_id: int) -> dict[str, Any]:
    _require(_user(request), "entities.view_entity", "Your role may not see entities.")
    entity = Entity.objects.filter(pk=entity_id).first()
    if entity is None:
        raise ApiError(404, "not_found", f"There is no entity {entity_id}.")
    page = selectors.entity_page(entity=entity)
    return {
        **_entity_out(entity),
        "properties": entity.properties or {},
        "names": [{"name": n.name, "kind": n.kind, "script": n.script} for n in page.names],
        "identifiers": [{"property": p, "value": v} for p, v in page.identifiers],
        "same_cluster": [e.ftm_id for e in page.same_cluster],
        "candidates": [_candidate_out(c) for c in page.candidates],
    }


@router.get(
    "/candidates",
    response={200: list[CandidateOut], **errors(403, 422)},
    by_alias=True,
    summary="Match candidates, most probable first",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def candidate_list(
    request: HttpRequest, status: Literal["open", "confirmed", "rejected"] | None = None
) -> QuerySet[MatchCandidate] | list[dict[str, Any]]:
    _require(_user(request), "entities.view_matchcandidate", "Your role may not see match candidates.")
    queryset = MatchCandidate.objects.select_related("left", "right").order_by("-probability", "pk")
    if status:
        queryset = queryset.filter(status=status)
    return [_candidate_out(c) for c in queryset]


@router.post(
    "/candidates/{int:candidate_id}/decision",
    response={200: DecisionOut, **errors(400, 403, 404, 409, 422)},
    summary="Confirm (merge) or reject (never raise again) a match candidate; a rejection needs a reason",
)
def candidate_decide(request: HttpRequest, candidate_id: int, payload: DecisionIn) -> Any:
    user = _user(request)
    _require(user, "entities.decide_matchcandidate", "Your role may not confirm or reject matches.")
    candidate = MatchCandidate.objects.filter(pk=candidate_id).first()
    if candidate is None:
        raise ApiError(404, "not_found", f"There is no match candidate {candidate_id}.")
    if candidate.status != MatchCandidate.Status.OPEN:
        raise ApiError(409, "conflict", f"The match candidate {candidate_id} was already {candidate.status}.")
    decision = services.match_decide(candidate=candidate, decision=payload.decision, reason=payload.reason, actor=user)
    return {
        "id": decision.pk,
        "candidate_id": candidate.pk,
        "decision": decision.decision,
        "reason": decision.reason,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at,
    }


@router.post(
    "/link",
    response={202: JobQueuedOut, **errors(400, 403, 422)},
    summary="Run entity resolution (Splink) in the background over the stored entities; new candidates are stored",
)
def link_run(request: HttpRequest, payload: LinkIn) -> Status[dict[str, Any]]:
    """Queues the job ``entities.link``; its result counts the records compared and the candidate pairs
    created, updated and skipped (already decided or merged)."""
    user = _user(request)
    _require(user, "entities.add_matchcandidate", "Your role may not run entity resolution.")
    return _queue(user, "entities.link", {"schema": payload.schema_name, "threshold": payload.threshold})


@router.post(
    "/export",
    response={202: JobQueuedOut, **errors(403, 422)},
    summary="Export Probity's people, organisations, positions, family ties, ownership and contracts as FtM, "
    "in the background",
)
def ftm_export(request: HttpRequest) -> Status[dict[str, Any]]:
    """Queues the job ``entities.export_ftm`` (the same file as ``probity entities export-ftm``, audited).
    When it has finished, its result names the ``file`` and where to ``download`` it (``/exports/{file}``)."""
    user = _user(request)
    _require(user, services.EXPORT_PERMISSION, "Your role may not export Probity's registers.")
    return _queue(user, "entities.export_ftm")


@router.get(
    "/exports/{name}",
    response={200: None, **errors(403, 404)},
    summary="A finished FtM export: one FollowTheMoney entity a line",
    openapi_extra={
        "responses": {
            200: {
                "description": "FollowTheMoney entities, one JSON object a line",
                "content": {"application/x-ndjson": {}},
            }
        }
    },
)
def export_download(request: HttpRequest, name: str) -> Any:
    """The file an ``entities.export_ftm`` job wrote; each download is audited."""
    user = _user(request)
    _require(user, services.EXPORT_PERMISSION, "Your role may not export Probity's registers.")
    try:
        path = services.export_file(name=name)
    except FileNotFoundError:
        raise ApiError(404, "not_found", f"There is no export called {name!r}.") from None
    audit_record(
        action=AuditEntry.Action.EXPORT,
        actor=user.get_username(),
        object_type="entities.ftm",
        object_label="FollowTheMoney export download",
        details={"file": path.name},
    )
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=path.name, content_type="application/x-ndjson; charset=utf-8"
    )


# --- screening (yente-compatible) --------------------------------------------------------------


class EntityExample(Schema):
    id: str | None = None
    schema_name: str = Field(..., alias="schema")
    properties: dict[str, str | list[Any]] = Field(default_factory=dict)


class EntityMatchQuery(Schema):
    weights: dict[str, float] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    queries: dict[str, EntityExample]


class TotalSpec(Schema):
    value: int
    relation: str = "eq"


class ScoredEntityResponse(Schema):
    id: str
    caption: str
    schema_name: str = Field(..., alias="schema")
    properties: dict[str, list[str]]
    datasets: list[str]
    referents: list[str]
    target: bool
    first_seen: datetime | None
    last_seen: datetime | None
    last_change: datetime | None
    score: float
    match: bool
    features: dict[str, float]


class EntityMatches(Schema):
    status: int = 200
    results: list[ScoredEntityResponse]
    total: TotalSpec
    query: EntityExample


class FeatureDoc(Schema):
    description: str
    coefficient: float
    url: str


class EntityMatchResponse(Schema):
    responses: dict[str, EntityMatches]
    matcher: dict[str, FeatureDoc]
    limit: int


class MatchParams(Schema):
    limit: int = Field(screening.DEFAULT_LIMIT, ge=1, le=screening.MAX_LIMIT)
    threshold: float = Field(screening.DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    cutoff: float = Field(screening.DEFAULT_CUTOFF, ge=0.0, le=1.0)
    algorithm: str = screening.ALGORITHM
    exclude_entity_ids: list[str] = Field(default_factory=list)


@match_router.post(
    "/{dataset}",
    response={200: EntityMatchResponse, **errors(400, 403, 404, 422)},
    by_alias=True,
    summary="Screen entities against a dataset (yente /match shapes; 'default' = every dataset)",
    description=(
        'Request `{"queries": {"q1": {"schema": "Person", "properties": {"name": [...], '
        '"birthDate": [...]}}}}`; query parameters `limit`, `threshold`, `cutoff`, `algorithm`, '
        "`exclude_entity_ids`. Each response lists results at or above `cutoff`, best first, with `match` "
        "set at `threshold` and the `features` that made the score. Names match across scripts."
    ),
)
def match(request: HttpRequest, dataset: str, payload: EntityMatchQuery, params: Query[MatchParams]) -> dict[str, Any]:
    _require(_user(request), "entities.view_entity", "Your role may not screen against the lists.")
    if params.algorithm not in screening.ALGORITHM_ALIASES:
        raise ApiError(400, "bad_request", f"Unknown algorithm {params.algorithm!r}; use {screening.ALGORITHM}.")
    if not screening.dataset_exists(dataset):
        raise ApiError(404, "not_found", f"There is no dataset {dataset!r}; 'default' screens all of them.")
    if not payload.queries:
        raise ApiError(400, "bad_request", "Send at least one query in 'queries'.")
    if len(payload.queries) > screening.MAX_LIMIT:
        raise ApiError(400, "bad_request", f"Send at most {screening.MAX_LIMIT} queries at once.")
    responses: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, example in payload.queries.items():
        raw = {"id": example.id, "schema": example.schema_name, "properties": example.properties}
        try:
            responses[key] = screening.match_one(
                raw,
                dataset=dataset,
                limit=params.limit,
                threshold=params.threshold,
                cutoff=params.cutoff,
                exclude_ids=set(params.exclude_entity_ids),
            )
        except screening.QueryError as exc:
            problems[key] = str(exc)
    if problems:
        raise ApiError(400, "bad_request", "Some queries cannot be screened; 'details' says why.", problems)
    matcher = {name: {"description": text, "coefficient": 1.0, "url": ""} for name, text in screening.FEATURES.items()}
    return {"responses": responses, "matcher": matcher, "limit": params.limit}
