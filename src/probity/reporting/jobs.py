"""The reporting channel's background jobs and their daily schedules: retention, the handlers' daily
summaries, and the deadline check — what ``probity reporting retention``, ``reminders`` and ``deadlines`` do.

The channel's rule holds here too: a job's parameters, log lines and result are read by anyone who may see
the job (its starter, the administrators of jobs), so they carry **counts only** — never report content,
references, receipts, reporters' data, channel set-up or the names of handlers. What a handler needs to act
on is behind the channel's own pages and key grants.

``reporting.retention`` deletes for good, as ``probity reporting retention`` does by default: the schedule
runs it without ``dry_run``; the channel's retention periods and warnings (``Channel.retention_days``,
``retention_warning_days``) are what make that safe, and each deletion is in the audit log (reference,
channel, reason — no content).
"""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.core.jobs import JobContext, JobOutcome, job_kind
from probity.core.modules import ScheduleDefault


class RetentionForm(forms.Form):
    dry_run = forms.BooleanField(
        label=_("Only count (delete nothing, warn nobody)"),
        required=False,
        help_text=_("Without this, closed reports past their retention period are deleted for good."),
    )


@job_kind(
    "reporting.retention",
    label=_("Apply the retention of reports"),
    description=_(
        "Warns the handlers and custodians about closed reports nearing the end of their retention period and "
        "deletes for good the closed reports past it (their files are overwritten and removed). The job shows "
        "counts only."
    ),
    permission="reporting.run_report_retention",
    form=RetentionForm,
)
def retention_job(context: JobContext, *, dry_run: bool = False) -> JobOutcome:
    from probity.reporting.retention import retention_due, retention_run

    _warn, to_delete = retention_due()
    context.stage(_g("reports deleted") if not dry_run else _g("reports counted"), total=len(to_delete))
    result = retention_run(dry_run=dry_run, progress=context.advance)
    counts: dict[str, int | float | str] = {
        "warned": len(result.warned),
        "deleted": len(result.deleted),
        "files_removed": result.files_removed,
        "dry_run": int(dry_run),
    }
    if dry_run:
        summary = _g("Nothing changed: %(warn)s reports would be warned about and %(delete)s deleted.") % {
            "warn": len(result.warned),
            "delete": len(result.deleted),
        }
    else:
        summary = _g("%(warn)s reports warned about, %(delete)s deleted (%(files)s files removed).") % {
            "warn": len(result.warned),
            "delete": len(result.deleted),
            "files": result.files_removed,
        }
    return JobOutcome(summary, counts)


@job_kind(
    "reporting.reminders",
    label=_("Send the handlers' daily summaries"),
    description=_(
        "E-mails each case handler a summary with counts only: open reports assigned to them, overdue ones and "
        "those due within two days."
    ),
    permission="reporting.manage_channel",
)
def reminders_job(context: JobContext) -> JobOutcome:
    from probity.reporting.notifications import daily_summary

    context.stage(_g("summaries sent"))
    sent = daily_summary()
    context.advance(sent)
    return JobOutcome(_g("%(n)s daily summaries sent.") % {"n": sent}, {"sent": sent})


@job_kind(
    "reporting.deadlines",
    label=_("Check the reporting deadlines"),
    description=_(
        "Counts the open reports whose acknowledgement or feedback is overdue and those that fall due within two "
        "days. The reports themselves are on the handlers' pages."
    ),
    permission="reporting.view_report_statistics",
)
def deadlines_job(context: JobContext) -> JobOutcome:
    from probity.reporting.selectors import reports_due_soon, reports_overdue

    today = timezone.localdate()
    context.stage(_g("reports checked"))
    overdue = reports_overdue(today=today)
    acknowledge = overdue.filter(acknowledged_on__isnull=True, acknowledge_due__lt=today).count()
    feedback = overdue.filter(feedback_given_on__isnull=True, feedback_due__lt=today).count()
    total = overdue.count()
    soon = reports_due_soon(today=today).count()
    context.advance(total + soon)
    return JobOutcome(
        _g(
            "%(overdue)s open reports are overdue (%(ack)s for acknowledgement, %(feedback)s for feedback); "
            "%(soon)s fall due within two days."
        )
        % {"overdue": total, "ack": acknowledge, "feedback": feedback, "soon": soon},
        {"overdue": total, "acknowledge_overdue": acknowledge, "feedback_overdue": feedback, "due_soon": soon},
    )


@job_kind(
    "reporting.prune",
    label=_("Prune the reporting channel's flood-control records"),
    description=_(
        "Deletes expired attempt counters, reporter sessions and used anti-flood challenges. They hold only keyed "
        "hashes; the job shows counts only."
    ),
    permission="reporting.manage_channel",
)
def prune_job(context: JobContext) -> JobOutcome:
    from probity.reporting.services import reporting_state_prune

    context.stage(_g("records deleted"))
    counts = reporting_state_prune()
    context.advance(sum(counts.values()))
    return JobOutcome(
        _g("%(throttles)s counters, %(sessions)s reporter sessions and %(challenges)s used challenges deleted.")
        % counts,
        dict(counts),
    )


SCHEDULES = (
    ScheduleDefault(
        code="reporting-retention",
        label=_("Daily retention of closed reports"),
        kind="reporting.retention",
        cron="15 3 * * *",
    ),
    ScheduleDefault(
        code="reporting-reminders",
        label=_("Daily summaries for case handlers"),
        kind="reporting.reminders",
        cron="0 6 * * *",
    ),
    ScheduleDefault(
        code="reporting-deadlines",
        label=_("Daily check of reporting deadlines"),
        kind="reporting.deadlines",
        cron="45 5 * * *",
    ),
    ScheduleDefault(
        code="reporting-prune",
        label=_("Hourly pruning of expired flood-control records"),
        kind="reporting.prune",
        cron="7 * * * *",
    ),
)
