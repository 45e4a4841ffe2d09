"""Procurement endpoints of the HTTP API (mounted at ``/api/v1/procurement`` by ``probity.core.api``).

Reading needs the permission to see findings (analysts, verifiers, administrators, auditors); the
debarment register needs ``procurement.view_debarment`` to read (also case handlers) and
``procurement.add_debarment`` to import (analysts, administrators).
Lists answer ``{"items": [...], "count": N}`` and take ``limit`` and ``offset``. OCDS ingest and the
indicator runs are background jobs (``procurement.ingest``, ``procurement.detect``), started through
``/api/v1/jobs`` or the command line; a debarment list import may run in the background too
(``background=true``: the answer is 202 with the job).
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.responses import Status

from probity.core.jobs import JobRefused, inbox_save, job_enqueue
from probity.core.models import Job
from probity.procurement import selectors, services
from probity.procurement.coverage import coverage_load, indicator_coverage

router = Router(tags=["procurement"])

MAX_PAGE = 500
MAX_UPLOAD = 50 * 1024 * 1024


def _reader(request: HttpRequest) -> Any:
    user = getattr(request, "auth", None)
    if user is None or not user.has_perm("core.view_finding"):
        raise HttpError(403, "Only analysts, verifiers, administrators and auditors may read procurement data.")
    return user


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_PAGE:
        raise HttpError(422, f"limit must be between 1 and {MAX_PAGE}.")
    return limit


# --- schemas ---------------------------------------------------------------------------------


class ProcessFilterIn(Schema):
    flag: str = ""
    buyer: str = ""
    supplier: str = ""
    date_from: date | None = None
    date_to: date | None = None
    score_min: float | None = None
    score_max: float | None = None
    sort: Literal["-score", "score", "-date", "date", "-value", "value", "buyer", "ocid"] = "-score"
    limit: int = 50
    offset: int = 0


class ProcessOut(Schema):
    ocid: str
    date: str | None = None
    title: str | None = None
    buyer_id: str | None = None
    buyer_name: str | None = None
    procurement_method: str | None = None
    tender_status: str | None = None
    value_amount: float | None = None
    value_currency: str | None = None
    number_of_tenderers: int | None = None
    score: float | None = None
    coverage: float | None = None
    flags: list[str]


class ProcessListOut(Schema):
    items: list[ProcessOut]
    count: int


class OutcomeOut(Schema):
    code: str
    title: str
    outcome: Literal["flag", "pass", "not_applicable"]
    reason: str
    explanation: str
    value: Any = None
    evidence: dict[str, Any]
    finding_id: int | None = None


class ProcessDetailOut(Schema):
    ocid: str
    process: dict[str, Any]
    awards: list[dict[str, Any]]
    suppliers: list[dict[str, Any]]
    bids: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    score: float | None = None
    coverage: float | None = None
    results: list[OutcomeOut]


class PartyOut(Schema):
    id: str
    name: str
    processes: int
    score: float | None = None


class PartyListOut(Schema):
    items: list[PartyOut]
    count: int


class YearScoreOut(Schema):
    year: int
    score: float | None = None
    processes: int
    flags: int = 0


class ProfileOut(Schema):
    kind: Literal["buyer", "supplier"]
    id: str
    name: str
    processes: int
    total_value: float | None = None
    score: float | None = None
    coverage: float | None = None
    years: list[YearScoreOut]
    flag_counts: dict[str, int]
    recent: list[ProcessOut]


class FieldCoverageOut(Schema):
    field: str
    releases: int
    share: float | None = None


class IndicatorCoverageOut(Schema):
    code: str
    title: str
    fields: list[FieldCoverageOut]
    releases_with_all: int | None = None
    share_with_all: float | None = None


class CoverageOut(Schema):
    computed: bool
    total_releases: int = 0
    source: str = ""
    computed_at: datetime | None = None
    indicators: list[IndicatorCoverageOut]
    paths: dict[str, int]


class RowsOut(Schema):
    items: list[dict[str, Any]]
    count: int


class DebarmentOut(Schema):
    id: int
    name: str
    identifiers: list[Any]
    country: str
    authority: str
    start_date: date | None = None
    end_date: date | None = None
    grounds: str
    source: str
    source_name: str
    organisation_id: int | None = None


class DebarmentListOut(Schema):
    items: list[DebarmentOut]
    count: int


class JobQueuedOut(Schema):
    job: int
    status: str
    url: str


def job_queued(job: Job) -> Status[dict[str, Any]]:
    """The answer of an endpoint that started background work: 202 with where to follow the job."""
    return Status(202, {"job": job.pk, "status": job.status, "url": f"/api/v1/jobs/{job.pk}"})


class DebarmentImportOut(Schema):
    source: str
    created: int
    updated: int
    unchanged: int
    errors: list[dict[str, str]]


# --- processes -------------------------------------------------------------------------------


def _process_out(row: dict[str, Any]) -> ProcessOut:
    return ProcessOut(
        ocid=row["ocid"],
        date=row.get("process_date"),
        title=row.get("tender_title"),
        buyer_id=row.get("buyer_id"),
        buyer_name=row.get("buyer_name"),
        procurement_method=row.get("procurement_method"),
        tender_status=row.get("tender_status"),
        value_amount=row.get("tender_value_amount"),
        value_currency=row.get("tender_value_currency"),
        number_of_tenderers=row.get("number_of_tenderers"),
        score=row.get("score"),
        coverage=row.get("coverage"),
        flags=row.get("flags", []),
    )


@router.get("/processes", response=ProcessListOut, summary="Contracting processes, filtered and sorted")
def processes(request: HttpRequest, filters: Query[ProcessFilterIn]) -> ProcessListOut:
    """Processes filtered by flag (indicator code), buyer or supplier (identifier or part of the name),
    date range (``YYYY-MM-DD``, on the tender's publication date) and risk score range; sorted by ``sort``."""
    _reader(request)
    result = selectors.process_list(
        filters=selectors.ProcessFilters(
            flag=filters.flag,
            buyer=filters.buyer,
            supplier=filters.supplier,
            date_from=filters.date_from,
            date_to=filters.date_to,
            score_min=filters.score_min,
            score_max=filters.score_max,
            sort=filters.sort,
        ),
        offset=max(0, filters.offset),
        limit=_limit(filters.limit),
    )
    return ProcessListOut(items=[_process_out(row) for row in result.rows], count=result.total)


@router.get("/processes/{path:ocid}", response=ProcessDetailOut, summary="One contracting process with its results")
def process(request: HttpRequest, ocid: str) -> ProcessDetailOut:
    """The process's data (bids, awards, suppliers, contracts), each indicator's outcome with the reason,
    the explanation (in the caller's language) and the evidence, and the composite risk score."""
    _reader(request)
    detail = selectors.process_detail(ocid=ocid)
    if detail is None:
        raise HttpError(404, f"No contracting process has the OCID {ocid!r}.")
    return ProcessDetailOut(
        ocid=detail.ocid,
        process=_jsonable(detail.process),
        awards=_jsonable(detail.awards),
        suppliers=_jsonable(detail.suppliers),
        bids=_jsonable(detail.bids),
        contracts=_jsonable(detail.contracts),
        score=detail.score,
        coverage=detail.coverage,
        results=[
            OutcomeOut(
                code=o.code,
                title=o.title,
                outcome=o.outcome,  # type: ignore[arg-type]
                reason=o.reason,
                explanation=o.explanation,
                value=_jsonable(o.value),
                evidence=_jsonable(o.evidence),
                finding_id=o.finding_id,
            )
            for o in detail.outcomes
        ],
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# --- buyers and suppliers --------------------------------------------------------------------


def _parties(request: HttpRequest, kind: str, q: str, limit: int, offset: int) -> PartyListOut:
    _reader(request)
    rows, total = selectors.party_list(kind=kind, query=q.strip(), offset=max(0, offset), limit=_limit(limit))
    return PartyListOut(
        items=[PartyOut(id=r.key, name=r.name, processes=r.processes, score=r.score) for r in rows], count=total
    )


def _profile(request: HttpRequest, kind: str, key: str) -> ProfileOut:
    _reader(request)
    found = selectors.profile(kind=kind, key=key)
    if found is None:
        raise HttpError(404, f"No {kind} has the identifier {key!r} in the procurement data.")
    return ProfileOut(
        kind=kind,  # type: ignore[arg-type]
        id=found.key,
        name=found.name,
        processes=found.processes,
        total_value=found.total_value,
        score=found.score,
        coverage=found.coverage,
        years=[YearScoreOut(year=y.year, score=y.score, processes=y.processes, flags=y.flags) for y in found.years],
        flag_counts=dict(found.flag_counts),
        recent=[_process_out(row) for row in found.recent],
    )


@router.get("/buyers", response=PartyListOut, summary="Buyers, with their number of processes and score")
def buyers(request: HttpRequest, q: str = "", limit: int = 50, offset: int = 0) -> PartyListOut:
    return _parties(request, "buyer", q, limit, offset)


@router.get("/buyers/{path:buyer_id}", response=ProfileOut, summary="A buyer's profile: scores by year, flags")
def buyer(request: HttpRequest, buyer_id: str) -> ProfileOut:
    return _profile(request, "buyer", buyer_id)


@router.get("/suppliers", response=PartyListOut, summary="Suppliers, with their number of processes and score")
def suppliers(request: HttpRequest, q: str = "", limit: int = 50, offset: int = 0) -> PartyListOut:
    return _parties(request, "supplier", q, limit, offset)


@router.get("/suppliers/{path:supplier_id}", response=ProfileOut, summary="A supplier's profile")
def supplier(request: HttpRequest, supplier_id: str) -> ProfileOut:
    return _profile(request, "supplier", supplier_id)


# --- coverage and ingest ---------------------------------------------------------------------


@router.get("/coverage", response=CoverageOut, summary="Which fields each indicator needs and how often present")
def coverage(request: HttpRequest) -> CoverageOut:
    """The last coverage computed by ``probity procurement coverage``: per indicator, each field's
    presence in the compiled releases; ``paths`` is Cardinal's ``coverage`` output."""
    _reader(request)
    with selectors._warehouse() as warehouse:
        report = coverage_load(warehouse=warehouse) if warehouse is not None else None
    if report is None:
        return CoverageOut(computed=False, indicators=[], paths={})
    indicators = [
        IndicatorCoverageOut(
            code=i.code,
            title=i.title,
            releases_with_all=i.releases_with_all,
            share_with_all=i.share_with_all,
            fields=[FieldCoverageOut(field=f.field, releases=f.releases, share=f.share) for f in i.fields],
        )
        for i in indicator_coverage(report)
    ]
    return CoverageOut(
        computed=True,
        total_releases=report.total_releases,
        source=report.source,
        computed_at=report.computed_at,
        indicators=indicators,
        paths=report.cardinal(),
    )


@router.get("/ingest-runs", response=RowsOut, summary="The latest OCDS ingest runs")
def ingest_runs(request: HttpRequest, limit: int = 50) -> RowsOut:
    _reader(request)
    rows = selectors.ingest_runs(limit=_limit(limit))
    return RowsOut(items=_jsonable(rows), count=len(rows))


@router.get("/ingest-rejections", response=RowsOut, summary="Records the ingest rejected, with the reason")
def ingest_rejections(request: HttpRequest, run_id: str = "", limit: int = 100, offset: int = 0) -> RowsOut:
    _reader(request)
    rows, total = selectors.ingest_rejections(run_id=run_id or None, offset=max(0, offset), limit=_limit(limit))
    return RowsOut(items=_jsonable(rows), count=total)


# --- debarments ------------------------------------------------------------------------------


@router.get("/debarments", response=DebarmentListOut, summary="The debarment register")
def debarments(
    request: HttpRequest, q: str = "", current: bool = False, limit: int = 50, offset: int = 0
) -> DebarmentListOut:
    """Debarments, searchable by name or authority; ``current=true`` keeps those in force today."""
    user = getattr(request, "auth", None)
    if user is None or not user.has_perm("procurement.view_debarment"):
        raise HttpError(403, "Your role may not read the debarment register.")
    queryset = selectors.debarment_list(query=q.strip(), current_only=current)
    count = queryset.count()
    start = max(0, offset)
    items = [
        DebarmentOut(
            id=d.pk,
            name=d.name,
            identifiers=list(d.identifiers or []),
            country=d.country,
            authority=d.authority,
            start_date=d.start_date,
            end_date=d.end_date,
            grounds=d.grounds,
            source=d.source,
            source_name=d.source_name,
            organisation_id=d.organisation_id,
        )
        for d in queryset[start : start + _limit(limit)]
    ]
    return DebarmentListOut(items=items, count=count)


@router.post(
    "/debarments/import",
    response={200: DebarmentImportOut, 202: JobQueuedOut},
    summary="Import a debarment list (CSV or FtM), at once or in the background",
)
def debarments_import(
    request: HttpRequest,
    file: File[UploadedFile],
    format: Form[Literal["csv", "ftm"]] = "csv",  # noqa: A002
    background: Form[bool] = False,
) -> DebarmentImportOut | Status[dict[str, Any]]:
    """Imports a CSV file (columns id, name, identifiers, country, authority, start_date, end_date,
    grounds) or FollowTheMoney entities (JSON lines). Re-importing the same list changes nothing;
    each rejected record is listed with its line or entity id and the reason. With ``background=true``
    the file is handed to the job ``procurement.debarment_import``: the answer is 202 with the job's id
    and its address under ``/api/v1/jobs``, where the counts appear when it has finished."""
    user = getattr(request, "auth", None)
    if user is None or not user.has_perm("procurement.add_debarment"):
        raise HttpError(403, "Only analysts and administrators may import debarment lists.")
    if background:
        stored = inbox_save(name=Path(file.name or "debarments").name, chunks=file.chunks())
        try:
            job = job_enqueue(
                kind="procurement.debarment_import",
                parameters={"file": stored, "format": format},
                actor=user,
                trigger=Job.Trigger.API,
            )
        except JobRefused as exc:
            raise HttpError(422, str(exc)) from exc
        return job_queued(job)
    if file.size and file.size > MAX_UPLOAD:
        raise HttpError(
            422,
            f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB; import it in the background "
            "(background=true) or with the CLI.",
        )
    suffix = ".csv" if format == "csv" else ".ftm.jsonl"
    with tempfile.TemporaryDirectory(prefix="probity-debarments-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as handle:
            for chunk in file.chunks():
                handle.write(chunk)
        name = Path(file.name or path.name).name
        importer = services.debarment_import_csv if format == "csv" else services.debarment_import_ftm
        report = importer(path=path, source_name=name, actor=user)
    return DebarmentImportOut(
        source=name,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        errors=[{"where": where, "reason": reason} for where, reason in report.errors],
    )


# --- codelist mappings -------------------------------------------------------------------------


class CodelistMappingIn(Schema):
    field: str
    local_value: str
    code: str
    note: str = ""


class CodelistMappingKeyIn(Schema):
    field: str
    local_value: str


class CodelistMappingOut(Schema):
    field: str
    local_value: str
    code: str
    note: str


class CodelistMappingListOut(Schema):
    items: list[CodelistMappingOut]
    count: int
    codes: dict[str, list[str]]


def _codelist_user(request: HttpRequest, permission: str) -> Any:
    user = getattr(request, "auth", None)
    if user is None or not user.has_perm(permission):
        raise HttpError(403, "Your role may not read or change the codelist mappings.")
    return user


@router.get("/codelist-mappings", response=CodelistMappingListOut, summary="A publisher's local names for OCDS codes")
def codelist_mappings(request: HttpRequest) -> CodelistMappingListOut:
    """Every mapping (field, the publisher's value, the code it is read as) and the codes of each field.
    The indicators read a mapped value as its code; any other value outside the codelist is not applicable."""
    from probity.procurement.codelists import CODELISTS
    from probity.procurement.models import CodelistMapping

    _codelist_user(request, "procurement.view_codelistmapping")
    items = [
        CodelistMappingOut(field=m.field, local_value=m.local_value, code=m.code, note=m.note)
        for m in CodelistMapping.objects.all()
    ]
    codes = {name: sorted(values) for name, values in CODELISTS.items()}
    return CodelistMappingListOut(items=items, count=len(items), codes=codes)


@router.post("/codelist-mappings", response=CodelistMappingOut, summary="Map a publisher's value to an OCDS code")
def codelist_mapping_set(request: HttpRequest, body: CodelistMappingIn) -> CodelistMappingOut:
    """Creates or replaces the mapping of ``local_value`` of ``field``; 422 for a field or code outside the
    codelists."""
    user = _codelist_user(request, "procurement.change_codelistmapping")
    try:
        mapping = services.codelist_mapping_set(
            field=body.field, local_value=body.local_value, code=body.code, note=body.note, actor=user
        )
    except ValueError as exc:
        raise HttpError(422, str(exc)) from exc
    return CodelistMappingOut(
        field=mapping.field, local_value=mapping.local_value, code=mapping.code, note=mapping.note
    )


@router.delete("/codelist-mappings", response=CodelistMappingKeyIn, summary="Remove a mapping")
def codelist_mapping_delete(request: HttpRequest, body: CodelistMappingKeyIn) -> CodelistMappingKeyIn:
    """Removes the mapping of ``local_value`` of ``field``; 404 when there is none."""
    user = _codelist_user(request, "procurement.delete_codelistmapping")
    if not services.codelist_mapping_delete(field=body.field, local_value=body.local_value, actor=user):
        raise HttpError(404, "There is no such mapping.")
    return body
