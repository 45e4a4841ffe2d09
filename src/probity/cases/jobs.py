"""The cases module's background jobs: the daily deadline reminders and the retention of closed cases."""

from __future__ import annotations

from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.core.jobs import JobContext, JobOutcome, job_kind
from probity.core.modules import ScheduleDefault


@job_kind(
    "cases.deadlines",
    label=_("Check the deadlines of cases"),
    description=_("Counts open cases and tasks past their deadline and cases nearing it. The job shows counts only."),
    permission="cases.view_case_statistics",
)
def deadlines_job(context: JobContext) -> JobOutcome:
    from probity.cases.services import overdue, reminders_due

    late = overdue()
    soon = len(reminders_due())
    summary = _g(
        "%(cases)s cases and %(tasks)s tasks are overdue; %(soon)s cases are within their reminder period before "
        "the deadline."
    ) % {
        "cases": late["cases"],
        "tasks": late["tasks"],
        "soon": soon,
    }
    return JobOutcome(summary=summary, counts={**late, "due_soon": soon})


@job_kind(
    "cases.retention",
    label=_("Apply the retention of closed cases"),
    description=_(
        "Deletes closed cases whose retention period, set by their outcome, is over. Each deletion is audited."
    ),
    permission="cases.manage_casetype",
)
def retention_job(context: JobContext) -> JobOutcome:
    from probity.cases.services import retention_run

    deleted = retention_run()
    return JobOutcome(
        summary=_g("%(n)s closed cases past their retention were deleted.") % {"n": deleted},
        counts={"deleted": deleted},
    )


SCHEDULES = (
    ScheduleDefault("cases-deadlines", _("Deadlines of cases"), "cases.deadlines", "30 5 * * *"),
    ScheduleDefault("cases-retention", _("Retention of closed cases"), "cases.retention", "45 3 * * *"),
)
