"""Read queries of the declarations app: visible declarations, findings and risk scores."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import QuerySet

from probity.core.models import DetectorRun, Finding
from probity.core.rules import visible_to
from probity.declarations.models import Declaration

DETECTOR_PREFIX = "DECL-"


def detector_codes() -> tuple[str, ...]:
    """Every registered declarations detector (codes starting with ``DECL-``), in code order."""
    from probity.core.detectors import detector_registry

    return tuple(code for code in detector_registry() if code.startswith(DETECTOR_PREFIX))


def declarations_visible(user: Any) -> QuerySet[Declaration]:
    return visible_to(user, Declaration.objects.select_related("declarant"))


def latest_findings(declaration_ids: list[int] | None = None) -> QuerySet[Finding]:
    """Findings about declarations from the latest successful run of each declarations detector."""
    runs = []
    for code in detector_codes():
        run = (
            DetectorRun.objects.filter(detector_code=code, status=DetectorRun.Status.SUCCEEDED)
            .order_by("-started_at", "-pk")
            .first()
        )
        if run is not None:
            runs.append(run.pk)
    queryset = Finding.objects.filter(run_id__in=runs, subject_type=Finding.SubjectType.DECLARATION)
    if declaration_ids is not None:
        queryset = queryset.filter(subject_id__in=[str(i) for i in declaration_ids])
    return queryset.order_by("detector_code")


def risk_scores(declaration_ids: list[int] | None = None) -> dict[int, float]:
    """Risk score per declaration: the sum of the weights of its open or confirmed flags."""
    scores: dict[int, float] = defaultdict(float)
    flags = (
        latest_findings(declaration_ids).filter(outcome=Finding.Outcome.FLAG).exclude(triage=Finding.Triage.DISMISSED)
    )
    for subject_id, evidence in flags.values_list("subject_id", "evidence"):
        scores[int(subject_id)] += float((evidence or {}).get("weight", 1.0))
    return dict(scores)
