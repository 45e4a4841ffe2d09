"""Core's job kinds: detector runs, the audit log check, and the queue's own upkeep; and the events that
queue detectors when a source of data changes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.core.audit import audit_anchor_write, audit_verify
from probity.core.detectors import detector_registry
from probity.core.jobs import JobContext, JobFailed, JobOutcome, inbox_dir, job_enqueue, job_kind, jobs_recover
from probity.core.models import Job
from probity.core.modules import ScheduleDefault


def _detector_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} — {detector.title}") for code, detector in detector_registry().items()]


class DetectorRunForm(forms.Form):
    detector = forms.ChoiceField(label=_("Detector"), choices=_detector_choices)
    parameters = forms.JSONField(
        label=_("Parameters"),
        required=False,
        help_text=_("Leave empty for the detector's defaults; the detector's page lists its parameters."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        code, parameters = cleaned.get("detector"), cleaned.get("parameters")
        if parameters in (None, ""):
            cleaned["parameters"] = {}
        elif not isinstance(parameters, dict):
            self.add_error("parameters", _("Give the parameters as names and values."))
        elif code:
            try:
                detector_registry()[code].resolve_parameters(parameters)
            except ValueError as exc:
                self.add_error("parameters", str(exc))
        return cleaned


@job_kind(
    "core.detector_run",
    label=_("Run a detector"),
    description=_("Runs one detector over all its data and stores a finding per subject it judged."),
    permission="core.run_detector",
    # Detectors read the warehouse: they wait behind the job that writes it instead of failing on its lock.
    queue="warehouse",
    max_attempts=3,
    form=DetectorRunForm,
)
def detector_run_job(context: JobContext, *, detector: str, parameters: dict[str, Any] | None = None) -> JobOutcome:
    from probity.core.services import detector_run

    progress, total = context.advance, context.total
    context.stage(_g("subjects judged"))
    run = detector_run(code=detector, parameters=parameters or {}, progress=progress, total_hint=total)
    if run.status == run.Status.FAILED:
        raise JobFailed(run.error or _g("The detector stopped with an error."))
    return JobOutcome(
        _g("%(code)s judged %(checked)s subjects: %(flagged)s flagged, %(passed)s passed, %(na)s not applicable.")
        % {
            "code": detector,
            "checked": run.subjects_checked,
            "flagged": run.flagged,
            "passed": run.passed,
            "na": run.not_applicable,
        },
        {"checked": run.subjects_checked, "flagged": run.flagged, "passed": run.passed, "na": run.not_applicable},
    )


@job_kind(
    "core.audit_verify",
    label=_("Check the audit log"),
    description=_("Recomputes every audit entry's seal and names the first entry that was changed or removed."),
    permission="core.view_auditentry",
)
def audit_verify_job(context: JobContext) -> JobOutcome:
    context.stage(_g("entries checked"))
    result = audit_verify(progress=context.advance)
    if not result.ok:
        first = result.problems[0]
        raise JobFailed(
            _g("The audit log is broken: %(n)s problem(s); the first at entry %(seq)s: %(what)s")
            % {"n": len(result.problems), "seq": first.sequence, "what": first.reason}
        )
    return JobOutcome(
        _g("The audit log is intact: %(n)s entries checked.") % {"n": result.entries_checked},
        {"entries": result.entries_checked},
    )


@job_kind(
    "core.audit_anchor",
    label=_("Anchor the audit log"),
    description=_(
        "Appends a sealed checkpoint of the audit log (how many entries, the last one and its seal) to the "
        "anchor file outside the database, so that entries cut from the end are found later."
    ),
    permission="core.verify_auditentry",
)
def audit_anchor_job(context: JobContext) -> JobOutcome:
    written = audit_anchor_write()
    anchor = written.anchor
    if written.tampering:
        raise JobFailed(
            _g("Tampering was found while anchoring the audit log. %(what)s A new anchor was written: %(line)s")
            % {"what": written.tampering, "line": anchor.line()}
        )
    return JobOutcome(
        _g("Audit anchor written: %(n)s entries up to entry %(seq)s. Keep a copy elsewhere: %(line)s")
        % {"n": anchor.entries, "seq": anchor.sequence, "line": anchor.line()},
        {"entries": anchor.entries, "sequence": anchor.sequence},
    )


class PruneForm(forms.Form):
    days = forms.IntegerField(label=_("Keep finished jobs for (days)"), min_value=1, initial=90, required=False)


@job_kind(
    "core.jobs_upkeep",
    label=_("Tidy the job queue"),
    description=_(
        "Recovers jobs left running by a worker that stopped, and removes finished jobs older than the "
        "given number of days (90 by default) with their queue entries, and inbox files no job needs."
    ),
    permission="core.manage_jobs",
    form=PruneForm,
)
def jobs_upkeep_job(context: JobContext, *, days: int | None = None) -> JobOutcome:
    from django_tasks_db.models import DBTaskResult

    recovered = jobs_recover()
    cutoff = timezone.now() - timedelta(days=days or 90)
    finished = Job.objects.filter(
        status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED], finished_at__lt=cutoff
    ).exclude(pk=context.job.pk)
    removed, _detail = finished.delete()
    entries, _detail = DBTaskResult.objects.filter(
        Q(finished_at__lt=cutoff) & ~Q(status__in=["READY", "RUNNING"])
    ).delete()
    files = _inbox_prune(cutoff=cutoff)
    return JobOutcome(
        _g(
            "%(recovered)s stalled job(s) recovered; %(removed)s old job(s), %(entries)s queue entries and "
            "%(files)s inbox file(s) removed."
        )
        % {"recovered": len(recovered), "removed": removed, "entries": entries, "files": files},
        {"recovered": len(recovered), "removed": removed, "queue_entries": entries, "inbox_files": files},
    )


def _inbox_prune(*, cutoff: datetime) -> int:
    """Removes inbox files older than ``cutoff`` that no waiting or running job names in its parameters."""
    needed: set[str] = set()
    for parameters in Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).values_list(
        "parameters", flat=True
    ):
        needed.update(str(value) for value in (parameters or {}).values() if isinstance(value, str))
    removed = 0
    for path in inbox_dir().iterdir():
        if path.is_file() and path.name not in needed and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def detectors_reading(source: str) -> list[str]:
    return [code for code, detector in detector_registry().items() if source in detector.reads]


def data_changed(*, source: str, reason: str = "", exclude: Collection[str] = ()) -> list[Job]:
    """An event: the data ``source`` changed. Queues once each detector that reads it (a detector already
    waiting in the queue is not queued twice), except those in ``exclude`` (the job that changed the data
    has just run them itself)."""
    return [
        job_enqueue(
            kind="core.detector_run",
            parameters={"detector": code},
            actor=None,
            trigger=Job.Trigger.EVENT,
            dedupe_key=f"detector:{code}",
        )
        for code in detectors_reading(source)
        if code not in exclude
    ]


# --- linking (``core.links``) ------------------------------------------------------------------------


def links_announce(run: Any, *, reason: str) -> list[Job]:
    """After a linking pass (``core.links.LinkRun``): queues the detectors that read a source whose links
    changed, so they judge what a new or removed link affects."""
    queued: list[Job] = []
    for source in run.sources_changed():
        queued.extend(data_changed(source=source, reason=reason))
    return queued


def _link_summary(run: Any) -> JobOutcome:
    total = run.total
    return JobOutcome(
        _g(
            "%(records)s record(s) linked again: %(made)s link(s) made, %(removed)s removed, %(kept)s kept; "
            "%(created)s core record(s) created."
        )
        % {
            "records": run.records,
            "made": total.made,
            "removed": total.removed,
            "kept": total.kept,
            "created": total.created,
        },
        {
            "records": run.records,
            "made": total.made,
            "removed": total.removed,
            "kept": total.kept,
            "created": total.created,
        },
    )


@job_kind(
    "core.link",
    label=_("Link the records a change touched"),
    description=_(
        "Links the records that imports and edits touched to people and organisations, then queues the "
        "detectors that read a source whose links changed."
    ),
    permission="core.decide_recordlink",
    startable=False,
)
def link_job(context: JobContext) -> JobOutcome:
    from probity.core.links import links_drain

    context.stage(_g("records linked"))
    run = links_drain(progress=context.advance)
    queued = links_announce(run, reason="links changed")
    if queued:
        context.log(_g("%(n)s detector(s) were queued to judge the changed links.") % {"n": len(queued)})
    return _link_summary(run)


@job_kind(
    "core.relink",
    label=_("Link all records again"),
    description=_(
        "Runs every linker over all its records: people and organisations of declarations, registers and "
        "lists are linked again; an analyst's confirmed and rejected links stay as decided."
    ),
    permission="core.decide_recordlink",
)
def relink_job(context: JobContext) -> JobOutcome:
    from probity.core.links import relink_all

    run = relink_all(progress=context.advance, stage=lambda label: context.stage(label))
    queued = links_announce(run, reason="relink")
    if queued:
        context.log(_g("%(n)s detector(s) were queued to judge the changed links.") % {"n": len(queued)})
    return _link_summary(run)


SCHEDULES = (
    ScheduleDefault(
        code="jobs-upkeep",
        label=_("Recover stalled jobs and remove old ones"),
        kind="core.jobs_upkeep",
        cron="*/10 * * * *",
    ),
    ScheduleDefault(
        code="audit-check",
        label=_("Nightly check of the audit log"),
        kind="core.audit_verify",
        cron="30 3 * * *",
    ),
    ScheduleDefault(
        code="audit-anchor",
        label=_("Hourly anchor of the audit log outside the database"),
        kind="core.audit_anchor",
        cron="5 * * * *",
    ),
)
