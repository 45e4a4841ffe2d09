"""Read queries of the core app that are more than one line."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from probity.core.models import AuditEntry, DetectorRun, Finding, Organisation, Person, Position, PublicBody
from probity.core.rules import visible_to


def dashboard_counts(user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    """Real counts of what this user may see, for the dashboard."""
    counts: dict[str, int] = {
        "public_bodies": visible_to(user, PublicBody.objects.all()).count(),
        "positions": visible_to(user, Position.objects.all()).count(),
        "people": visible_to(user, Person.objects.all()).count(),
        "organisations": visible_to(user, Organisation.objects.all()).count(),
    }
    findings = visible_to(user, Finding.objects.all())
    counts["findings_flagged_open"] = findings.filter(
        outcome=Finding.Outcome.FLAG, triage=Finding.Triage.OPEN
    ).count()
    counts["detector_runs"] = visible_to(user, DetectorRun.objects.all()).count()
    counts["audit_entries"] = visible_to(user, AuditEntry.objects.all()).count()
    return counts


def findings_latest(
    user: AbstractBaseUser | AnonymousUser,
    *,
    detector_code: str | None = None,
    outcome: str | None = None,
    triage: str | None = None,
    subject_type: str | None = None,
) -> QuerySet[Finding]:
    """Findings from each detector's latest successful run, filtered; what analysts triage."""
    latest_runs = (
        DetectorRun.objects.filter(status=DetectorRun.Status.SUCCEEDED)
        .order_by("detector_code", "-started_at", "-id")
        .values_list("detector_code", "id")
    )
    seen: dict[str, int] = {}
    for code, run_id in latest_runs.iterator():
        seen.setdefault(code, run_id)
    queryset = visible_to(user, Finding.objects.filter(run_id__in=list(seen.values())))
    if detector_code:
        queryset = queryset.filter(detector_code=detector_code)
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    if triage:
        queryset = queryset.filter(triage=triage)
    if subject_type:
        queryset = queryset.filter(subject_type=subject_type)
    return queryset.select_related("run").order_by("-score", "detector_code", "subject_label")


def search_by_name(queryset: QuerySet[Any], query: str) -> QuerySet[Any]:
    """People or organisations whose name or any alternative name (any script) contains ``query``."""
    term = query.strip()
    if not term:
        return queryset
    return queryset.filter(Q(name__icontains=term) | Q(names__name__icontains=term)).distinct()
