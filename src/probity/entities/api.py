"""Entities endpoints of the HTTP API.

``router`` is mounted at ``/api/v1/entities`` (entities, their names, match candidates, decisions; a
resolution run and the FtM export are background jobs: their endpoints answer 202 with the job to follow
under ``/api/v1/jobs``, and a finished export is downloaded from ``/exports/{file}``).

``match_router`` is mounted at ``/api/v1/match`` and answers ``POST /api/v1/match/{dataset}`` with the
request and response shapes of OpenSanctions' yente, so screening clients built for it work unchanged.
"""

from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status
from ninja.security import APIKeyQuery

from probity.core.api import MAX_PAGE, ApiError, BearerTokenAuth, VerifiedSessionAuth, errors
from probity.core.audit import audit_record
from probity.core.jobs import JobRefused, job_enqueue
from probity.core.models import AuditEntry, Job
from probity.core.services import api_token_authenticate
from probity.entities import batch, reconcile, screening, selectors, services, watchlists
from probity.entities.models import Entity, MatchCandidate, ScreeningBatch, Watchlist, WatchlistHit

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


# --- screening people read: one name, a CSV batch, watchlists -------------------------------------

MAX_BATCH_BYTES = 50 * 1024 * 1024


class ScreenIn(Schema):
    name: str = Field("", max_length=batch.MAX_NAME)
    kind: str = Field("", description="person, company, organisation, vessel, or empty for any")
    birth_date: str = Field("", description="YYYY-MM-DD, YYYY-MM or YYYY")
    country: str = Field("", description="a country's name or two-letter code")
    identifier: str = Field("", description="a registration, tax, passport or similar number")
    reference: str = ""
    dataset: str = "default"
    threshold: float = Field(screening.DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    limit: int = Field(10, ge=1, le=50)


class ScreenMatchOut(Schema):
    entity_id: str
    entity_url: str | None
    name: str
    kind: str
    dataset: str
    score: float
    match: bool
    birth_date: str
    countries: list[str]
    topics: list[str]
    features: dict[str, float]
    explanation: list[str]


class ScreenOut(Schema):
    name: str
    kind: str
    threshold: float
    matched: bool
    summary: str
    matches: list[ScreenMatchOut]


class BatchOut(Schema):
    id: int
    file_name: str
    status: str
    summary: str
    dataset: str
    threshold: float
    rows: int
    matched: int
    rejected: int
    job: str | None
    downloads: dict[str, str]


class WatchlistNameIn(Schema):
    name: str = Field("", max_length=batch.MAX_NAME)
    kind: str = ""
    birth_date: str = ""
    country: str = ""
    identifier: str = ""
    reference: str = ""


class WatchlistIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    dataset: str = "default"
    threshold: float = Field(screening.DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    names: list[WatchlistNameIn] = Field(default_factory=list)


class WatchlistNamesIn(Schema):
    names: list[WatchlistNameIn]


class WatchlistHitOut(Schema):
    name_watched: str
    reference: str
    entity_id: str
    entity_name: str
    dataset: str
    score: float
    new: bool
    found_at: datetime
    explanation: list[str]


class WatchlistOut(Schema):
    id: int
    name: str
    dataset: str
    threshold: float
    names: int
    matches: int
    new_matches: int
    screened_at: datetime | None


class WatchlistScreenOut(Schema):
    watchlist: WatchlistOut
    names_screened: int
    matches: int
    new_matches: int
    problems: list[str] = Field(default_factory=list)


def _match_out(match: batch.ScreeningMatch) -> dict[str, Any]:
    return {
        "entity_id": match.entity_id,
        "entity_url": f"/api/v1/entities/entities/{match.entity_pk}" if match.entity_pk else None,
        "name": match.name,
        "kind": match.schema,
        "dataset": match.dataset,
        "score": match.score,
        "match": match.match,
        "birth_date": match.birth_date,
        "countries": list(match.countries),
        "topics": list(match.topics),
        "features": match.features,
        "explanation": match.explanation,
    }


def _row(line: int, item: ScreenIn | WatchlistNameIn) -> batch.ScreeningRow:
    try:
        return batch.row_check(
            line=line,
            name=item.name,
            kind=item.kind,
            birth_date=item.birth_date,
            country=item.country,
            identifier=item.identifier,
            reference=item.reference,
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc


def _dataset(dataset: str) -> str:
    if not screening.dataset_exists(dataset):
        raise ApiError(404, "not_found", f"There is no dataset {dataset!r}; 'default' screens all of them.")
    return dataset


@router.post(
    "/screening",
    response={200: ScreenOut, **errors(403, 404, 422)},
    summary="Screen one name against the lists; each match comes with the reasons for its score in sentences",
)
def screen_name(request: HttpRequest, payload: ScreenIn) -> dict[str, Any]:
    _require(_user(request), "entities.view_entity", "Your role may not screen against the lists.")
    row = _row(1, payload)
    try:
        result = batch.screen_row(
            row=row, dataset=_dataset(payload.dataset), threshold=payload.threshold, limit=payload.limit
        )
    except screening.QueryError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    found = sum(1 for m in result.matches if m.match)
    return {
        "name": row.name,
        "kind": row.schema,
        "threshold": payload.threshold,
        "matched": result.matched,
        "summary": f"{found} match(es) at {payload.threshold:.2f} among {len(result.matches)} result(s).",
        "matches": [_match_out(m) for m in result.matches],
    }


def _batch_out(record: ScreeningBatch) -> dict[str, Any]:
    downloads = {}
    if record.status == ScreeningBatch.Status.DONE:
        for fmt in ("csv", "xlsx"):
            downloads[fmt] = f"/api/v1/entities/screening/batches/{record.pk}/result.{fmt}"
    return {
        "id": record.pk,
        "file_name": record.file_name,
        "status": record.status,
        "summary": batch.batch_summary(record),
        "dataset": record.dataset,
        "threshold": record.threshold,
        "rows": record.rows,
        "matched": record.matched,
        "rejected": record.rejected,
        "job": f"/api/v1/jobs/{record.job_id}" if record.job_id else None,
        "downloads": downloads,
    }


def _own_batch(user: User, batch_id: int) -> ScreeningBatch:
    record = ScreeningBatch.objects.filter(pk=batch_id).first()
    if record is None or not batch.batch_visible(user=user, batch=record):
        raise ApiError(404, "not_found", f"You have no screening batch {batch_id}.")
    return record


@router.post(
    "/screening/batches",
    response={200: BatchOut, 202: BatchOut, **errors(403, 404, 422)},
    summary="Screen a CSV of names: small files at once (200), larger ones in the background (202)",
    description=(
        "Multipart upload: `file` (CSV, UTF-8, header row naming `name` and optionally `kind`, `birth_date`, "
        "`country`, `identifier`, `reference`), `dataset`, `threshold`. Broken rows are not screened: the "
        "result lists them with their line and reason. Follow `job`, then download the result as CSV or "
        "Excel from `downloads`; only the person who uploaded it may."
    ),
)
def screen_batch(
    request: HttpRequest,
    file: File[UploadedFile],
    dataset: Form[str] = "default",
    threshold: Form[float] = screening.DEFAULT_THRESHOLD,
    background: Form[bool] = False,
) -> Status[dict[str, Any]]:
    user = _user(request)
    _require(user, "entities.view_entity", "Your role may not screen against the lists.")
    if not 0 <= threshold <= 1:
        raise ApiError(422, "validation_error", "The threshold must be between 0 and 1.")
    if file.size and file.size > MAX_BATCH_BYTES:
        raise ApiError(
            422, "validation_error", f"The file is larger than {MAX_BATCH_BYTES // (1024 * 1024)} MB; split it."
        )
    content = b"".join(file.chunks())
    try:
        record = batch.batch_create(
            actor=user,
            file_name=Path(file.name or "upload.csv").name,
            content=content,
            dataset=_dataset(dataset),
            threshold=threshold,
            background=True if background else None,
            trigger=Job.Trigger.API,
        )
    except batch.BatchFileError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    except JobRefused as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return Status(200 if record.status == ScreeningBatch.Status.DONE else 202, _batch_out(record))


@router.get(
    "/screening/batches/{int:batch_id}",
    response={200: BatchOut, **errors(403, 404)},
    summary="One of your screening batches: where it stands and, when done, its result files",
)
def screen_batch_detail(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    user = _user(request)
    _require(user, "entities.view_entity", "Your role may not screen against the lists.")
    return _batch_out(_own_batch(user, batch_id))


@router.get(
    "/screening/batches/{int:batch_id}/result.{fmt}",
    response={200: None, **errors(403, 404)},
    summary="A finished batch's result: CSV (result.csv) or Excel (result.xlsx), for the person who uploaded it",
    openapi_extra={
        "responses": {
            200: {
                "description": "The screening result, one line per name and match, with the explanation",
                "content": {
                    "text/csv": {},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                },
            }
        }
    },
)
def screen_batch_result(request: HttpRequest, batch_id: int, fmt: Literal["csv", "xlsx"]) -> Any:
    user = _user(request)
    _require(user, "entities.view_entity", "Your role may not screen against the lists.")
    record = _own_batch(user, batch_id)
    try:
        path = batch.batch_file(batch=record, fmt=fmt)
    except FileNotFoundError:
        raise ApiError(404, "not_found", f"The screening batch {batch_id} has no {fmt} result (yet).") from None
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=batch.batch_download_name(batch=record, fmt=fmt),
        content_type=batch.CONTENT_TYPES[fmt],
    )


def _watchlist_out(record: Watchlist) -> dict[str, Any]:
    hits = WatchlistHit.objects.filter(entry__watchlist=record)
    return {
        "id": record.pk,
        "name": record.name,
        "dataset": record.dataset,
        "threshold": record.threshold,
        "names": record.entries.count(),
        "matches": hits.count(),
        "new_matches": hits.filter(seen_at__isnull=True).count(),
        "screened_at": record.screened_at,
    }


def _own_watchlist(user: User, watchlist_id: int) -> Watchlist:
    record = watchlists.watchlists_of(user=user).filter(pk=watchlist_id).first()
    if record is None:
        raise ApiError(404, "not_found", f"You have no watchlist {watchlist_id}.")
    return record


def _screen_out(record: Watchlist, report: watchlists.ScreenReport, problems: list[str]) -> dict[str, Any]:
    return {
        "watchlist": _watchlist_out(record),
        "names_screened": report.names,
        "matches": report.matches,
        "new_matches": report.new,
        "problems": problems,
    }


@router.get(
    "/watchlists",
    response={200: list[WatchlistOut], **errors(403)},
    summary="Your watchlists: names re-screened whenever the lists change",
)
def watchlist_list(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    return [_watchlist_out(w) for w in watchlists.watchlists_of(user=user)]


@router.post(
    "/watchlists",
    response={201: WatchlistScreenOut, **errors(403, 404, 422)},
    summary="Create a watchlist, optionally with names; they are screened at once",
)
def watchlist_new(request: HttpRequest, payload: WatchlistIn) -> Status[dict[str, Any]]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    rows = [_row(index, item) for index, item in enumerate(payload.names, start=1)]
    try:
        record = watchlists.watchlist_create(
            actor=user, name=payload.name, dataset=_dataset(payload.dataset), threshold=payload.threshold
        )
        report = watchlists.watchlist_add(watchlist=record, rows=rows) if rows else watchlists.ScreenReport()
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return Status(201, _screen_out(record, report, []))


@router.get(
    "/watchlists/{int:watchlist_id}",
    response={200: WatchlistOut, **errors(403, 404)},
    summary="One of your watchlists",
)
def watchlist_detail(request: HttpRequest, watchlist_id: int) -> dict[str, Any]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    return _watchlist_out(_own_watchlist(user, watchlist_id))


@router.post(
    "/watchlists/{int:watchlist_id}/names",
    response={200: WatchlistScreenOut, **errors(403, 404, 422)},
    summary="Add names to a watchlist; they are screened at once",
)
def watchlist_names_add(request: HttpRequest, watchlist_id: int, payload: WatchlistNamesIn) -> dict[str, Any]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    record = _own_watchlist(user, watchlist_id)
    rows = [_row(index, item) for index, item in enumerate(payload.names, start=1)]
    try:
        report = watchlists.watchlist_add(watchlist=record, rows=rows)
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return _screen_out(record, report, [])


@router.post(
    "/watchlists/{int:watchlist_id}/upload",
    response={200: WatchlistScreenOut, **errors(403, 404, 422)},
    summary="Add the names of a CSV to a watchlist (as the screening upload reads it); broken rows are listed",
)
def watchlist_upload(request: HttpRequest, watchlist_id: int, file: File[UploadedFile]) -> dict[str, Any]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    record = _own_watchlist(user, watchlist_id)
    try:
        report, problems = watchlists.watchlist_upload(
            watchlist=record, content=b"".join(file.chunks()), file_name=Path(file.name or "upload.csv").name
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return _screen_out(record, report, problems)


@router.post(
    "/watchlists/{int:watchlist_id}/screen",
    response={200: WatchlistScreenOut, **errors(403, 404)},
    summary="Screen a watchlist again now; matches not seen before are counted as new",
)
def watchlist_rescreen(request: HttpRequest, watchlist_id: int) -> dict[str, Any]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    record = _own_watchlist(user, watchlist_id)
    report = watchlists.watchlist_screen(watchlist=record, notify=False)
    return _screen_out(record, report, [])


@router.get(
    "/watchlists/{int:watchlist_id}/matches",
    response={200: list[WatchlistHitOut], **errors(403, 404)},
    summary="A watchlist's matches, new ones first (new: not yet marked seen)",
)
def watchlist_matches(request: HttpRequest, watchlist_id: int, new: bool = False) -> list[dict[str, Any]]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    record = _own_watchlist(user, watchlist_id)
    hits = watchlists.watchlist_hits(watchlist=record)
    if new:
        hits = hits.filter(seen_at__isnull=True)
    return [
        {
            "name_watched": hit.entry.name,
            "reference": hit.entry.reference,
            "entity_id": hit.entity.ftm_id,
            "entity_name": hit.entity.caption,
            "dataset": hit.entity.dataset,
            "score": hit.score,
            "new": hit.seen_at is None,
            "found_at": hit.found_at,
            "explanation": batch.explain(hit.features, hit.score, record.threshold),
        }
        for hit in hits
    ]


@router.post(
    "/watchlists/{int:watchlist_id}/matches/seen",
    response={200: WatchlistOut, **errors(403, 404)},
    summary="Mark a watchlist's new matches as seen",
)
def watchlist_seen(request: HttpRequest, watchlist_id: int) -> dict[str, Any]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    record = _own_watchlist(user, watchlist_id)
    watchlists.hits_mark_seen(watchlist=record)
    return _watchlist_out(record)


@router.delete(
    "/watchlists/{int:watchlist_id}",
    response={204: None, **errors(403, 404)},
    summary="Delete one of your watchlists with its names and matches",
)
def watchlist_remove(request: HttpRequest, watchlist_id: int) -> Status[None]:
    user = _user(request)
    _require(user, watchlists.VIEW_PERMISSION, "Your role may not keep watchlists.")
    watchlists.watchlist_delete(watchlist=_own_watchlist(user, watchlist_id))
    return Status(204, None)


# --- OpenRefine reconciliation (Reconciliation Service API v0.2) ------------------------------------


class ApiKeyQueryAuth(APIKeyQuery):
    """``?api_key=<token>``: OpenRefine cannot send headers, so the token may ride in the service URL."""

    param_name = "api_key"
    openapi_description = "An API token in the query string (for OpenRefine, which cannot send headers)."

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        return api_token_authenticate(secret=key.strip()) if key else None


# Mounted at ``/api/v1/reconcile``: a bearer token, the browser session, or ``?api_key=``.
reconcile_router = Router(tags=["reconciliation"], auth=[BearerTokenAuth(), VerifiedSessionAuth(), ApiKeyQueryAuth()])

RECONCILE_DESCRIPTION = (
    "OpenRefine's Reconciliation Service API v0.2. Without `queries` the answer is the service manifest; "
    'with `queries` (a JSON object `{"q0": {"query": "name", "type": "Person", "limit": 3, "properties": '
    '[{"pid": "birthDate", "v": "1952"}]}}`) each query is answered with candidates `{id, name, type, '
    "score (0–100), match, description, features}`. OpenRefine cannot send headers: add the service as "
    "`https://<site>/api/v1/reconcile/default?api_key=<token>`."
)


def _reconcile(request: HttpRequest, dataset: str, queries: str, query: str) -> dict[str, Any]:
    _require(_user(request), "entities.view_entity", "Your role may not screen against the lists.")
    if not screening.dataset_exists(dataset):
        raise ApiError(404, "not_found", f"There is no dataset {dataset!r}; 'default' reconciles against all.")
    try:
        if queries:
            return reconcile.reconcile(reconcile.parse_queries(queries), dataset=dataset)
        if query:
            return reconcile.reconcile_one(reconcile.single_query(query), dataset=dataset)
    except reconcile.ReconcileError as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc
    base = request.build_absolute_uri("/").rstrip("/")
    return reconcile.manifest(dataset=dataset, base_url=base)


@reconcile_router.get(
    "/{dataset}",
    response={200: dict[str, Any], **errors(400, 403, 404)},
    summary="OpenRefine reconciliation: the service manifest, or answers to 'queries'",
    description=RECONCILE_DESCRIPTION,
)
def reconcile_get(request: HttpRequest, dataset: str, queries: str = "", query: str = "") -> dict[str, Any]:
    return _reconcile(request, dataset, queries, query)


@reconcile_router.post(
    "/{dataset}",
    response={200: dict[str, Any], **errors(400, 403, 404)},
    summary="OpenRefine reconciliation: answers to 'queries' sent as a form field",
    description=RECONCILE_DESCRIPTION,
)
def reconcile_post(
    request: HttpRequest, dataset: str, queries: Form[str] = "", query: Form[str] = ""
) -> dict[str, Any]:
    return _reconcile(request, dataset, queries, query)
