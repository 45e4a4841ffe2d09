"""Reads of verification: the risk queue, open cases, the users who may verify, a sample's population
and its re-draw, a case's findings, and the declarant's previous declaration."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.dateparse import parse_datetime

from probity.core.models import Finding
from probity.core.roles import VERIFIER
from probity.declarations.models import Declaration, DeclarationVersion, SampleDraw, VerificationCase
from probity.declarations.selectors import latest_findings, not_judged, risk_scores
from probity.declarations.verification.sampling import ALGORITHM, draw, population_hash

CRITERIA_KEYS = ("year", "declaration_type", "body_id")
Status = VerificationCase.Status


def verifiers() -> QuerySet[User]:
    """Users who may be assigned a case: active, in the verifier role."""
    return User.objects.filter(is_active=True, groups__name=VERIFIER).distinct().order_by("username")


# --- the risk queue --------------------------------------------------------------------------------


def _criteria_filter(queryset: QuerySet[Declaration], criteria: dict[str, Any]) -> QuerySet[Declaration]:
    if criteria.get("year") is not None:
        queryset = queryset.filter(year=int(criteria["year"]))
    if criteria.get("declaration_type"):
        if criteria["declaration_type"] not in Declaration.Type.values:
            raise ValueError(
                f"unknown declaration type {criteria['declaration_type']!r}; "
                f"types are: {', '.join(Declaration.Type.values)}"
            )
        queryset = queryset.filter(declaration_type=criteria["declaration_type"])
    if criteria.get("body_id") is not None:
        queryset = queryset.filter(body_id=int(criteria["body_id"]))
    return queryset


def clean_criteria(*, criteria: dict[str, Any] | None) -> dict[str, Any]:
    """Only the known criteria, without empty values; year and body as numbers."""
    cleaned: dict[str, Any] = {}
    for key in CRITERIA_KEYS:
        value: Any = (criteria or {}).get(key)
        if value is None or value == "":
            continue
        if key in ("year", "body_id"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{key} must be a whole number, not {value!r}") from None
        cleaned[key] = value
    return cleaned


@dataclass(frozen=True)
class QueueRow:
    declaration: Declaration
    score: float
    case: VerificationCase | None  # the open case, if any
    # False while the verification detectors have not judged the latest version (``score`` is then about
    # an earlier version, or 0 for nothing): such a declaration is never ranked, nor selected, as clean.
    judged: bool = True


def open_cases(*, declaration_ids: Iterable[int] | None = None) -> dict[int, VerificationCase]:
    queryset = VerificationCase.objects.exclude(status=Status.COMPLETED).select_related("verifier")
    if declaration_ids is not None:
        queryset = queryset.filter(declaration_id__in=list(declaration_ids))
    return {case.declaration_id: case for case in queryset}


def risk_queue(*, criteria: dict[str, Any] | None = None, case_status: str = "") -> list[QueueRow]:
    """Submitted declarations matching ``criteria``, highest risk score first (then newest, then id).

    ``case_status``: ``none`` keeps declarations without an open case, a case status keeps those whose
    open case has it (``completed``: those with a completed case and no open one).
    """
    criteria = clean_criteria(criteria=criteria)
    declarations = list(
        _criteria_filter(
            Declaration.objects.filter(Exists(DeclarationVersion.objects.filter(declaration=OuterRef("pk")))),
            criteria,
        ).select_related("declarant")
    )
    ids = [d.pk for d in declarations]
    scores = risk_scores(declaration_ids=ids)
    cases = open_cases(declaration_ids=ids)
    if case_status == "none":
        declarations = [d for d in declarations if d.pk not in cases]
    elif case_status == Status.COMPLETED:
        done = set(
            VerificationCase.objects.filter(declaration_id__in=ids, status=Status.COMPLETED).values_list(
                "declaration_id", flat=True
            )
        )
        declarations = [d for d in declarations if d.pk in done and d.pk not in cases]
    elif case_status:
        if case_status not in Status.values:
            raise ValueError(f"unknown case status {case_status!r}")
        declarations = [d for d in declarations if d.pk in cases and cases[d.pk].status == case_status]
    unjudged = not_judged(declaration_ids=[d.pk for d in declarations])

    def rank(d: Declaration) -> tuple[int, float, int, int]:
        # Flagged first (highest score first), then those not judged yet, then the clean ones.
        if d.pk in unjudged:
            return (1, 0.0, -d.year, d.pk)
        score = scores.get(d.pk, 0.0)
        return (0 if score > 0 else 2, -score, -d.year, d.pk)

    declarations.sort(key=rank)
    return [QueueRow(d, scores.get(d.pk, 0.0), cases.get(d.pk), d.pk not in unjudged) for d in declarations]


def case_findings(*, case: VerificationCase) -> list[Finding]:
    """The latest findings about the case's declaration (flags first)."""
    findings = list(latest_findings(declaration_ids=[case.declaration_id]))
    findings.sort(key=lambda f: (f.outcome != Finding.Outcome.FLAG, f.detector_code))
    return findings


# --- the verifiable random sample -----------------------------------------------------------------


def population(*, criteria: dict[str, Any], submitted_before: datetime) -> list[int]:
    """Ids (sorted) of the declarations matching ``criteria`` with a version submitted by then."""
    submitted = DeclarationVersion.objects.filter(declaration=OuterRef("pk"), submitted_at__lte=submitted_before)
    queryset = _criteria_filter(Declaration.objects.filter(Exists(submitted)), criteria)
    return sorted(queryset.values_list("pk", flat=True))


@dataclass(frozen=True)
class RedrawCheck:
    """The result of drawing a recorded sample again from its seed and its population."""

    population: list[int]
    population_hash: str
    population_matches: bool
    selected: list[int]
    selected_matches: bool

    @property
    def ok(self) -> bool:
        return self.population_matches and self.selected_matches


def sample_population(*, sample: SampleDraw) -> list[int]:
    """The sample's population as the database holds it today (recomputed from its criteria)."""
    criteria = dict(sample.criteria or {})
    moment = parse_datetime(str(criteria.pop("submitted_before", ""))) or sample.drawn_at
    return population(criteria=clean_criteria(criteria=criteria), submitted_before=moment)


def redraw(*, sample: SampleDraw, progress: Callable[[int], object] | None = None) -> RedrawCheck:
    """Recomputes the population from the recorded criteria, checks its hash, and draws again."""
    if sample.algorithm != ALGORITHM:
        raise ValueError(f"sample {sample.pk} was drawn with {sample.algorithm!r}, which this version cannot re-draw")
    ids = sample_population(sample=sample)
    digest = population_hash(ids)
    again = draw(sample.seed, ids, sample.size, progress)
    return RedrawCheck(
        population=ids,
        population_hash=digest,
        population_matches=hmac.compare_digest(digest, sample.population_hash),
        selected=again,
        selected_matches=again == list(sample.selected),
    )


# --- the verifier's side-by-side view --------------------------------------------------------------


def previous_declaration(*, declaration: Declaration) -> Declaration | None:
    """The declarant's declaration just before this one (by period end, then id), if it has a version."""

    def key(d: Declaration) -> tuple[date, int]:
        return (d.period_end or date(d.year, 12, 31), d.pk)

    earlier = [
        d
        for d in Declaration.objects.filter(declarant_id=declaration.declarant_id)
        .exclude(pk=declaration.pk)
        .filter(Exists(DeclarationVersion.objects.filter(declaration=OuterRef("pk"))))
        if key(d) < key(declaration)
    ]
    return max(earlier, key=key) if earlier else None
