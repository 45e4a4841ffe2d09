"""Ownership endpoints of the HTTP API (mounted at ``/api/v1/ownership`` by ``probity.core.api``).

Parties (entities and people of the beneficial-ownership register), their ultimate beneficial
owners at a threshold, the chains behind them, what a party holds, BODS ingest (a JSON body with the
statements, ingested in the background: the answer is 202 with the job to follow under ``/api/v1/jobs``;
a file is uploaded there for the job ``ownership.ingest``), the issues each ingest found, and the
conflict-of-interest flags about a party.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from probity.core.api import MAX_PAGE, ApiError, errors
from probity.core.jobs import JobRefused, inbox_save, job_enqueue
from probity.core.models import Job
from probity.ownership import selectors
from probity.ownership.models import IngestBatch, IngestIssue, Party

router = Router(tags=["ownership"])

VIEW_PERMISSION = "ownership.view_party"


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _require(user: User, permission: str, message: str) -> None:
    if not user.has_perm(permission):
        raise ApiError(403, "permission_denied", message)


def _party(request: HttpRequest, party_id: int) -> Party:
    _require(_user(request), VIEW_PERMISSION, "Your role may not see the ownership register.")
    party = Party.objects.filter(pk=party_id).first()
    if party is None:
        raise ApiError(404, "not_found", f"There is no ownership party {party_id} that you may see.")
    return party


def _threshold(threshold: float) -> float:
    if not 0 < threshold <= 100:
        raise ApiError(422, "validation_error", "threshold must be a percentage above 0 and at most 100.")
    return threshold / 100


class PartyOut(Schema):
    id: int
    dataset: str
    record_id: str
    kind: str
    subtype: str
    name: str
    jurisdiction: str
    is_pep: bool
    closed: bool
    organisation_id: int | None
    person_id: int | None


class InterestOut(Schema):
    type: str
    direct_or_indirect: str
    beneficial_ownership_or_control: bool | None
    share_exact: float | None
    share_minimum: float | None
    share_maximum: float | None
    minimum_exclusive: bool
    maximum_exclusive: bool
    start_date: str
    end_date: str


class RelationshipOut(Schema):
    record_id: str
    subject_id: int | None
    subject_ref: str
    interested_party_id: int | None
    interested_party_ref: str
    unspecified_reason: str
    is_component: bool
    closed: bool
    interests: list[InterestOut]


class PartyDetailOut(PartyOut):
    other_names: list[str]
    identifiers: list[dict[str, Any]]
    birth_date: str
    relationships: list[RelationshipOut]


class RangeOut(Schema):
    min: float
    max: float


class OwnershipRangeOut(RangeOut):
    unknown: bool


class DeclaredShareOut(Schema):
    min: float
    max: float
    direct_or_indirect: str


class OwnerOut(Schema):
    party_id: int
    record_id: str
    name: str
    kind: str
    is_pep: bool
    person_id: int | None
    organisation_id: int | None
    ownership: OwnershipRangeOut
    voting: RangeOut
    control: bool
    manages: bool
    status: str
    declared_beneficial_owner: bool | None
    declared_shares: list[DeclaredShareOut]


class OwnersOut(Schema):
    party_id: int
    threshold: float
    inclusive: bool
    owners: list[OwnerOut]


class ChainStepOut(Schema):
    party_id: int
    name: str
    share: str


class GraphNodeOut(Schema):
    id: int
    name: str
    kind: str
    subject: bool
    status: str
    pep: bool


class ChainsOut(Schema):
    party_id: int
    chains: list[list[ChainStepOut]]
    truncated: bool
    nodes: list[GraphNodeOut]
    edges: list[dict[str, Any]]


class HoldingOut(Schema):
    party_id: int
    name: str
    ownership: OwnershipRangeOut
    control: bool
    status: str


class IngestIn(Schema):
    dataset: str = "default"
    statements: list[Any]


class IngestIssueOut(Schema):
    position: int
    statement_id: str
    record_id: str
    severity: str
    code: str
    message: str


class IngestBatchOut(Schema):
    id: int
    dataset: str
    source: str
    started_at: datetime
    statements_read: int
    statements_stored: int
    statements_unchanged: int
    statements_rejected: int
    warnings: int


class JobQueuedOut(Schema):
    job: int
    status: str
    url: str


@router.get(
    "/parties",
    response={200: list[PartyOut], **errors(403, 422)},
    summary="Parties of the ownership register (search 'q' in names and record ids)",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def party_list(request: HttpRequest, q: str = "", kind: str = "", dataset: str = "") -> QuerySet[Party]:
    _require(_user(request), VIEW_PERMISSION, "Your role may not see the ownership register.")
    return selectors.parties_search(q=q, kind=kind, dataset=dataset)


@router.get(
    "/parties/{int:party_id}",
    response={200: PartyDetailOut, **errors(403, 404)},
    summary="One party with its identifiers and direct relationships",
)
def party_detail(request: HttpRequest, party_id: int) -> dict[str, Any]:
    party = _party(request, party_id)
    relationships = [
        {
            **{
                f: getattr(r, f)
                for f in (
                    "record_id",
                    "subject_id",
                    "subject_ref",
                    "interested_party_id",
                    "interested_party_ref",
                    "unspecified_reason",
                    "is_component",
                    "closed",
                )
            },
            "interests": list(r.interests.all()),
        }
        for r in selectors.direct_relationships(party=party)
    ]
    return {
        **{
            f: getattr(party, f)
            for f in (
                "id",
                "dataset",
                "record_id",
                "kind",
                "subtype",
                "name",
                "jurisdiction",
                "is_pep",
                "closed",
                "organisation_id",
                "person_id",
                "other_names",
                "identifiers",
                "birth_date",
            )
        },
        "relationships": relationships,
    }


@router.get(
    "/parties/{int:party_id}/owners",
    response={200: OwnersOut, **errors(403, 404, 422)},
    summary="Ultimate beneficial owners through every chain, at a threshold (percent; 25 by default)",
)
def party_owners(request: HttpRequest, party_id: int, threshold: float = 25.0, strict: bool = False) -> dict[str, Any]:
    party = _party(request, party_id)
    view = selectors.ownership_view(party=party, threshold=_threshold(threshold), inclusive=not strict)
    return {
        "party_id": party.pk,
        "threshold": threshold,
        "inclusive": not strict,
        "owners": [o.as_dict() for o in view.owners],
    }


@router.get(
    "/parties/{int:party_id}/chains",
    response={200: ChainsOut, **errors(403, 404)},
    summary="The ownership chains into a party, and the graph they form",
)
def party_chains(request: HttpRequest, party_id: int) -> dict[str, Any]:
    party = _party(request, party_id)
    view = selectors.ownership_view(party=party)
    graph = view.graph_json()
    return {
        "party_id": party.pk,
        "chains": [
            [{"party_id": s["party"].pk, "name": s["party"].name, "share": s["label"]} for s in chain]
            for chain in view.chain_names()
        ],
        "truncated": view.chains_truncated,
        "nodes": graph["nodes"],
        "edges": graph["edges"],
    }


@router.get(
    "/parties/{int:party_id}/holdings",
    response={200: list[HoldingOut], **errors(403, 404, 422)},
    summary="What a party owns or controls, directly or through chains",
)
def party_holdings(request: HttpRequest, party_id: int, threshold: float = 25.0) -> list[dict[str, Any]]:
    party = _party(request, party_id)
    return [
        {
            "party_id": h["party"].pk,
            "name": h["party"].name,
            "control": h["share"].control,
            "status": h["status"],
            "ownership": {"min": h["share"].own_lo, "max": h["share"].own_hi, "unknown": h["share"].unknown},
        }
        for h in selectors.holdings(party=party, threshold=_threshold(threshold))
    ]


class ConflictOut(Schema):
    finding_id: int
    detector_code: str
    title: str
    subject_type: str
    subject_id: str
    subject_label: str
    explanation: str
    lines: list[str]
    evidence: dict[str, Any]


@router.get(
    "/parties/{int:party_id}/conflicts",
    response={200: list[ConflictOut], **errors(403, 404)},
    summary="Conflict-of-interest flags about a party (latest run of each detector), with the chains",
)
def party_conflicts(request: HttpRequest, party_id: int) -> list[dict[str, Any]]:
    party = _party(request, party_id)
    _require(_user(request), "core.view_finding", "Your role may not see findings.")
    return [
        {
            "finding_id": c.finding.pk,
            "detector_code": c.finding.detector_code,
            "title": c.title,
            "subject_type": c.finding.subject_type,
            "subject_id": c.finding.subject_id,
            "subject_label": c.finding.subject_label,
            "explanation": c.finding.localized_explanation,
            "lines": c.lines,
            "evidence": c.finding.evidence,
        }
        for c in selectors.party_conflicts(party=party)
    ]


@router.post(
    "/ingest",
    response={202: JobQueuedOut, **errors(400, 403, 422)},
    summary="Ingest BODS statements (0.4, or 0.2/0.3 upgraded) in the background; follow the job it answers",
)
def ingest(request: HttpRequest, payload: IngestIn) -> Status[dict[str, Any]]:
    """Hands the statements to the job ``ownership.ingest`` and answers 202 with the job's id, status and
    address. When the job has finished, its result names the ingest (``batch``), whose rejected statements
    are listed with their position and reason by ``/ownership/ingests/{batch}/issues``."""
    user = _user(request)
    _require(user, "ownership.ingest_ownership", "Your role may not ingest beneficial-ownership data.")
    dataset = payload.dataset.strip()
    if not dataset or len(dataset) > 100:
        raise ApiError(422, "validation_error", "dataset must be 1 to 100 characters.")
    text = json.dumps(payload.statements, ensure_ascii=False).encode("utf-8")
    stored = inbox_save(name="api-statements.json", chunks=[text])
    try:
        job = job_enqueue(
            kind="ownership.ingest",
            parameters={"file": stored, "dataset": dataset, "source": "api"},
            actor=user,
            trigger=Job.Trigger.API,
        )
    except JobRefused as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return Status(202, {"job": job.pk, "status": job.status, "url": f"/api/v1/jobs/{job.pk}"})


@router.get("/ingests", response={200: list[IngestBatchOut], **errors(403, 422)}, summary="Recent ingests")
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def ingest_list(request: HttpRequest) -> QuerySet[IngestBatch]:
    _require(_user(request), "ownership.view_ingestbatch", "Your role may not see ownership ingests.")
    return IngestBatch.objects.order_by("-started_at", "-pk")


@router.get(
    "/ingests/{int:batch_id}/issues",
    response={200: list[IngestIssueOut], **errors(403, 404, 422)},
    summary="The problems one ingest found, by position in the file",
)
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def ingest_issues(request: HttpRequest, batch_id: int) -> QuerySet[IngestIssue]:
    _require(_user(request), "ownership.view_ingestbatch", "Your role may not see ownership ingests.")
    batch = IngestBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise ApiError(404, "not_found", f"There is no ownership ingest {batch_id}.")
    return selectors.batch_issues(batch=batch)
