"""Read queries of the core app that are more than one line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Model, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from probity.core.models import AuditEntry, DetectorRun, Finding, Organisation, Person, Position, PublicBody
from probity.core.modules import DashboardTile, dashboard_tiles
from probity.core.rules import visible_to


def _findings_flagged_open(user: AbstractBaseUser | AnonymousUser) -> int:
    findings = visible_to(user, Finding.objects.all())
    return findings.filter(outcome=Finding.Outcome.FLAG, triage=Finding.Triage.OPEN).count()


def _visible_count(model: type[Model]) -> Callable[[AbstractBaseUser | AnonymousUser], int]:
    def count(user: AbstractBaseUser | AnonymousUser) -> int:
        return visible_to(user, model._default_manager.all()).count()

    return count


# Core's numbers on the dashboard (``CoreConfig.dashboard_tiles``); each counts only what the user may see.
DASHBOARD_TILES = (
    DashboardTile("public_bodies", _("Public bodies"), _visible_count(PublicBody)),
    DashboardTile("positions", _("Positions"), _visible_count(Position)),
    DashboardTile("people", _("People"), _visible_count(Person)),
    DashboardTile("organisations", _("Organisations"), _visible_count(Organisation)),
    DashboardTile("findings_flagged_open", _("Open flagged findings"), _findings_flagged_open),
    DashboardTile("detector_runs", _("Detector runs"), _visible_count(DetectorRun)),
    DashboardTile("audit_entries", _("Audit log entries"), _visible_count(AuditEntry)),
)


def dashboard_counts(*, user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    """Real counts of what this user may see, for the dashboard (core's tiles)."""
    return {tile.code: tile.count(user) for tile in DASHBOARD_TILES}


def dashboard_cards(*, user: User | AnonymousUser) -> list[tuple[str | Promise, int]]:
    """``(label, count)`` of every installed module's dashboard tiles this user may see."""
    return [
        (tile.label, tile.count(user))
        for tile in dashboard_tiles()
        if tile.permission is None or user.has_perm(tile.permission)
    ]


def findings_latest(
    *,
    user: AbstractBaseUser | AnonymousUser,
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


def search_by_name(*, queryset: QuerySet[Any], query: str) -> QuerySet[Any]:
    """People or organisations whose name or any alternative name (any script) contains ``query``."""
    term = query.strip()
    if not term:
        return queryset
    return queryset.filter(Q(name__icontains=term) | Q(names__name__icontains=term)).distinct()
