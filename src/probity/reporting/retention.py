"""Retention of reports: a closed report is kept for its channel's period for its outcome
(``Channel.retention_days``), its handlers and the channel's custodians are warned
``Channel.retention_warning_days`` before, and then it is deleted for good (``services.report_delete``:
store files overwritten and removed, rows and key grants deleted). The audit log keeps one entry per
deletion (reference, channel, reason) and no content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from probity.reporting.models import Report
from probity.reporting.notifications import notify_retention_warning
from probity.reporting.services import report_delete, retention_date


@dataclass
class RetentionResult:
    warned: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    files_removed: int = 0
    dry_run: bool = False


def retention_due(*, today: date | None = None) -> tuple[list[Report], list[Report]]:
    """(reports to warn about now, reports to delete now)."""
    today = today or timezone.localdate()
    to_warn: list[Report] = []
    to_delete: list[Report] = []
    for report in Report.objects.filter(status=Report.Status.CLOSED).select_related("channel").order_by("pk"):
        delete_after = report.delete_after or retention_date(report=report)
        if delete_after is None:
            continue
        if delete_after <= today:
            to_delete.append(report)
        elif (
            report.retention_warned_on is None
            and delete_after - timedelta(days=report.channel.retention_warning_days) <= today
        ):
            to_warn.append(report)
    return to_warn, to_delete


def retention_run(
    *, today: date | None = None, dry_run: bool = False, actor: User | None = None, progress: object = None
) -> RetentionResult:
    """Warns about reports nearing deletion, deletes the expired ones; ``dry_run`` only reports. ``actor``
    None: the system runs it (the CLI's ``system:cli``), under the current ``audit_actor``."""
    today = today or timezone.localdate()
    to_warn, to_delete = retention_due(today=today)
    result = RetentionResult(dry_run=dry_run)
    for report in to_warn:
        result.warned.append(report.reference)
        if not dry_run:
            if report.delete_after is None:
                report.delete_after = retention_date(report=report)
            notify_retention_warning(report)
            report.retention_warned_on = today
            report.save(update_fields=["retention_warned_on", "delete_after"])
    for report in to_delete:
        result.deleted.append(report.reference)
        if not dry_run:
            counts = report_delete(report=report, actor=actor, reason="retention")
            result.files_removed += counts["files"]
        if callable(progress):
            progress(1)
    return result
