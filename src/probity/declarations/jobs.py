"""The declarations module's background jobs, the event that verifies a submitted declaration, and its
schedules.

Kinds (``probity.core.jobs``):

* ``declarations.verify`` — the verification detectors over every declaration; queued by every
  submission (an *event*), nightly by the schedule, and by staff on the Jobs page.
* ``declarations.import`` — a file from the job inbox (JSON, JSON Lines, CSV), as
  ``probity declarations import``; then the new declarations are verified.
* ``declarations.publish`` — publication to the public register (redacted), or the open-data files, as
  ``probity declarations publish [--export]``.
* ``declarations.remind`` — the filing reminders due today, as ``probity declarations remind``.
* ``declarations.nonfilers`` — counts of non-filers and late filers, as ``probity declarations nonfilers``.

**How a submitted declaration is verified, and why this way.** The detectors store one finding per
declaration per run, and a declaration's findings and risk score are read from the *latest successful run
of each detector* (``selectors.latest_findings``). A run scoped to the new declarations would therefore
become "the latest run" and hide every other declaration's findings; scoping cheaply would need findings
kept per declaration across runs and a subject filter in every detector (DECL-CROSSYEAR pairs each
declaration with the declarant's previous one, DECL-UNDECLARED-COMPANY loads the whole register before the
first declaration). So a verification is a **full run** of the declarations detectors, and submissions are
**coalesced**: every submission queues ``declarations.verify`` with the dedupe key
``declarations:verify``, so while one verification waits in the queue, the next submissions join it (the
waiting job will read them). A job that has started drops its key, so a declaration submitted while a run
is going queues exactly one more run, which starts as soon as a worker is free. 100 declarants filing at
once cost at most two runs.

Measured (SQLite, this machine, shared with other work, load average about 3): the demo country of the
tests (seed 20260, scale 0.05: 48 declarations) — this job's five detectors 0.4 s, DECL-COI-AWARD 5.9 s on
the warehouse queue (reading the warehouse dominates); 30 000 synthetic declarations
(``benchmarks/declarations.py --declarations 30000 --detectors`` the five) — 24 s of detector time, 33 s
with process start-up; the published benchmark, all six detectors over 1 000 000 declarations — 344 s.
A submission waits at most for the run in progress and then one run, so findings and the risk score appear
within a minute up to roughly 30 000–40 000 declarations in the database; at a million declarations it is
up to two full runs (about 10 minutes). Beyond that size the way on is the scoped run described above
(findings kept per declaration), not more workers.

DECL-COI-AWARD reads procurement awards from the DuckDB warehouse, which one worker serves
(``warehouse`` queue). ``declarations.verify`` runs on ``default`` and queues that detector as
``core.detector_run`` on the ``warehouse`` queue with the same dedupe key ``data_changed`` uses
(``detector:DECL-COI-AWARD``), so it is never queued twice and a long warehouse import cannot hold up the
other five detectors. Whether a declaration has been judged (``selectors.not_judged``) is decided by the
five detectors of this job.

After an import, ``core.job_kinds.data_changed(source="declarations")`` is *not* called: it would queue each
declarations detector a second time as its own job (the verification is already queued). Detectors of other
modules that read declarations are queued the way ``data_changed`` would queue them
(``other_readers_changed``).

Parameters, log lines and results hold file names, codes, ids and counts, never declarants' names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.core.detectors import detector_registry
from probity.core.jobs import (
    InboxFileField,
    JobContext,
    JobFailed,
    JobOutcome,
    inbox_path,
    job_enqueue,
    job_kind,
    job_url,
    may_see,
)
from probity.core.models import Job, PublicBody
from probity.core.modules import ScheduleDefault
from probity.declarations.events import VERIFY, other_readers_changed, verification_queue
from probity.declarations.models import Declaration
from probity.declarations.selectors import detector_codes

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

# Import errors written to the job's log, one line each (the log keeps 500 lines); the rest are counted.
ERRORS_LOGGED = 200


# --- helpers the pages use -----------------------------------------------------------------------------


def verification_job() -> Job | None:
    """The verification that waits or runs (the running one first: it finishes sooner), if any."""
    active = Job.objects.filter(kind=VERIFY, status__in=[Job.Status.RUNNING, Job.Status.QUEUED])
    return active.order_by("-status", "pk").first()  # "running" sorts after "queued": descending puts it first


@dataclass(frozen=True)
class VerificationStatus:
    """Where a declaration's verification stands, for its pages (``_verification_status.html``)."""

    judged: bool  # the verification detectors have judged its latest version
    job: Job | None  # the verification that waits or runs, while the declaration is not judged
    job_url: str | None  # its page, for people who may see the job

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.status == Job.Status.RUNNING


def verification_status(*, declaration_id: int, user: AbstractBaseUser | AnonymousUser) -> VerificationStatus:
    from probity.declarations.selectors import not_judged

    judged = declaration_id not in not_judged(declaration_ids=[declaration_id])
    job = None if judged else verification_job()
    url = job_url(job) if job is not None and may_see(cast("User | AnonymousUser", user), job) else None
    return VerificationStatus(judged=judged, job=job, job_url=url)


def _reads_warehouse(code: str) -> bool:
    return bool(getattr(detector_registry()[code], "reads_warehouse", False))


# --- declarations.verify -------------------------------------------------------------------------------


def _declaration_detector_choices() -> list[tuple[str, str]]:
    registry = detector_registry()
    return [(code, f"{code} — {registry[code].title}") for code in detector_codes()]


class VerifyForm(forms.Form):
    detectors = forms.MultipleChoiceField(
        label=_("Detectors"),
        choices=_declaration_detector_choices,
        required=False,
        help_text=_("Leave empty to run every declarations detector."),
    )


@job_kind(
    VERIFY,
    label=_("Verify declarations"),
    description=_(
        "Runs the declarations detectors over every declaration and stores each declaration's findings and "
        "risk score. Queued by every submission; detectors that read the warehouse are queued on its own queue."
    ),
    permission="core.run_detector",
    queue="default",
    max_attempts=3,
    form=VerifyForm,
)
def verify_job(context: JobContext, *, detectors: list[str] | None = None) -> JobOutcome:
    from probity.core.services import detector_run

    codes = list(detectors or detector_codes())
    here = [code for code in codes if not _reads_warehouse(code)]
    elsewhere = [code for code in codes if _reads_warehouse(code)]
    checked = flagged = failed = 0
    for code in here:
        context.check_cancelled()
        context.stage(_g("%(code)s: declarations judged") % {"code": code})
        run = detector_run(code=code, progress=context.advance, total_hint=context.total)
        if run.status == run.Status.FAILED:
            failed += 1
            context.log(_g("%(code)s stopped with an error: %(error)s") % {"code": code, "error": run.error})
            continue
        checked = max(checked, run.subjects_checked)
        flagged += run.flagged
        context.log(
            _g("%(code)s: %(checked)s judged, %(flagged)s flagged, %(passed)s passed, %(na)s not applicable.")
            % {
                "code": code,
                "checked": run.subjects_checked,
                "flagged": run.flagged,
                "passed": run.passed,
                "na": run.not_applicable,
            }
        )
    for code in elsewhere:
        job = job_enqueue(
            kind="core.detector_run",
            parameters={"detector": code},
            actor=None,
            trigger=Job.Trigger.EVENT,
            dedupe_key=f"detector:{code}",
        )
        context.log(
            _g("%(code)s reads the warehouse: it runs as job %(job)s on the warehouse queue.")
            % {"code": code, "job": job.pk}
        )
    if failed and failed == len(here):
        raise JobFailed(_g("Every detector stopped with an error; the log says which and why."))
    summary = _g(
        "%(checked)s declarations judged by %(detectors)s detectors: %(flagged)s flags; %(failed)s detectors failed; "
        "%(queued)s queued on the warehouse queue."
    ) % {
        "checked": checked,
        "detectors": len(here) - failed,
        "flagged": flagged,
        "failed": failed,
        "queued": len(elsewhere),
    }
    return JobOutcome(
        summary,
        {
            "declarations": checked,
            "detectors": len(here) - failed,
            "flags": flagged,
            "failed": failed,
            "warehouse_queued": len(elsewhere),
        },
    )


# --- declarations.import -------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = InboxFileField(
        label=_("Declarations file"),
        max_length=200,
        help_text=_("JSON (schema 1.0 or the demo's 0.1), JSON Lines or CSV, as “probity declarations import” reads."),
    )


@job_kind(
    "declarations.import",
    label=_("Import declarations"),
    description=_(
        "Imports a file of declarations (JSON, JSON Lines or CSV). A record with a problem is reported by its "
        "place in the file and the reason, and the valid ones are kept; importing the same file again adds "
        "nothing. The new declarations are then verified."
    ),
    permission="declarations.add_declarationversion",
    form=ImportForm,
)
def import_job(context: JobContext, *, file: str) -> JobOutcome:
    from probity.declarations.services import declaration_import

    path = inbox_path(file)
    context.stage(_g("records read"))
    report = declaration_import(path=path, progress=context.advance)
    for error in report.errors[:ERRORS_LOGGED]:
        context.log(_g("Rejected: %(error)s") % {"error": error})
    if len(report.errors) > ERRORS_LOGGED:
        context.log(_g("… and %(n)s more rejected records.") % {"n": len(report.errors) - ERRORS_LOGGED})
    if report.created:
        job = verification_queue()
        other_readers_changed()
        context.log(_g("The new declarations are verified by job %(job)s.") % {"job": job.pk})
    counts: dict[str, int | float | str] = {
        "stored": report.created,
        "unchanged": report.unchanged,
        "rejected": len(report.errors),
    }
    if report.errors:
        counts["first_rejected"] = report.errors[0][:300]
    return JobOutcome(
        _g("%(stored)s declarations stored, %(unchanged)s unchanged, %(rejected)s rejected.")
        % {"stored": report.created, "unchanged": report.unchanged, "rejected": len(report.errors)},
        counts,
    )


# --- declarations.publish ------------------------------------------------------------------------------


def open_data_dir() -> Any:
    """Where the publish job writes the open-data files: ``VAR_DIR/open-data/declarations``."""
    from pathlib import Path

    return Path(settings.VAR_DIR) / "open-data" / "declarations"


def _type_choices() -> list[tuple[str, Any]]:
    return [("", _("Any type")), *Declaration.Type.choices]


class PublishForm(forms.Form):
    ACTIONS = (
        ("publish", _("Publish to the public register")),
        ("export", _("Write the open-data files")),
    )
    action = forms.ChoiceField(label=_("What to do"), choices=ACTIONS, initial="publish")
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1900, max_value=2200)
    declaration_type = forms.ChoiceField(label=_("Type"), choices=_type_choices, required=False)
    ids = forms.CharField(
        label=_("Declaration ids (optional, separated by spaces or commas)"), required=False, max_length=2000
    )
    profile = forms.CharField(label=_("Redaction profile"), required=False, max_length=100)

    def clean_ids(self) -> str:
        raw = self.cleaned_data.get("ids") or ""
        parts = raw.replace(",", " ").split()
        if any(not part.isdigit() for part in parts):
            raise forms.ValidationError(_("Give declaration ids as numbers separated by spaces or commas."))
        return " ".join(parts)

    def clean_profile(self) -> str:
        from probity.declarations.publication import services

        name = (self.cleaned_data.get("profile") or "").strip()
        if name:
            try:
                services.profile_get(name=name)
            except LookupError as exc:
                raise forms.ValidationError(str(exc)) from None
        return name


@job_kind(
    "declarations.publish",
    label=_("Publish declarations"),
    description=_(
        "Publishes the latest version of each chosen declaration to the public register, redacted with the "
        "chosen profile (again after a correction; unchanged ones are left as they are), or writes the "
        "open-data files of the published declarations (JSON and CSV, all and per year) into the data folder."
    ),
    permission="declarations.add_publisheddeclaration",
    form=PublishForm,
)
def publish_job(
    context: JobContext,
    *,
    action: str = "publish",
    year: int | None = None,
    declaration_type: str = "",
    ids: str = "",
    profile: str = "",
) -> JobOutcome:
    from probity.declarations.publication import redaction, services
    from probity.declarations.selectors import declarations_matching, missing_ids

    if action == "export":
        folder = open_data_dir()
        context.stage(_g("published declarations written"))
        exported = services.export_open_data(
            directory=folder, year=year, declaration_type=declaration_type, progress=context.advance
        )
        context.log(_g("Files written into %(folder)s: %(n)s.") % {"folder": folder, "n": len(exported.files)})
        return JobOutcome(
            _g("%(n)s published declarations exported into %(folder)s.")
            % {"n": exported.declarations, "folder": folder},
            {"declarations": exported.declarations, "files": len(exported.files), "folder": str(folder)},
        )
    id_list = [int(part) for part in ids.split()] or None
    try:
        chosen = services.profile_get(name=profile)
        declarations = declarations_matching(year=year, declaration_type=declaration_type or None, ids=id_list)
        redaction.profile_rules(chosen)
    except (LookupError, ValueError) as exc:
        raise JobFailed(_g("Nothing was published: %(reason)s") % {"reason": exc}) from None
    context.stage(_g("declarations published"), total=declarations.count())
    report = services.publish(
        declarations=declarations.iterator(),
        profile=chosen,
        include_withdrawn=bool(id_list),
        progress=context.advance,
    )
    report.skipped += missing_ids(ids=id_list, declarations=declarations)
    for problem in report.skipped[:ERRORS_LOGGED]:
        context.log(problem)
    return JobOutcome(
        _g(
            "Profile %(profile)s: %(published)s published, %(replaced)s replaced by a newer version, "
            "%(unchanged)s unchanged, %(skipped)s skipped."
        )
        % {
            "profile": chosen.name,
            "published": report.published,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "skipped": len(report.skipped),
        },
        {
            "published": report.published,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "skipped": len(report.skipped),
        },
    )


# --- declarations.remind and declarations.nonfilers ----------------------------------------------------


class RemindForm(forms.Form):
    today = forms.DateField(
        label=_("Act as on"), required=False, help_text=_("Leave empty for today (to catch up a missed day).")
    )


@job_kind(
    "declarations.remind",
    label=_("Send filing reminders"),
    description=_(
        "E-mails each obligated person who has not filed the reminder that is due today (before the due date "
        "and once overdue); never the same reminder twice."
    ),
    permission="declarations.add_filingreminder",
    form=RemindForm,
)
def remind_job(context: JobContext, *, today: str | None = None) -> JobOutcome:
    from datetime import date

    from probity.declarations.deadlines import send_reminders

    context.stage(_g("obligations checked"))
    report = send_reminders(date.fromisoformat(today) if today else None, progress=context.advance)
    failed = list(report.failed or [])
    for failure in failed[:ERRORS_LOGGED]:
        context.log(failure)  # "person #id: the mail was not sent (SMTPException)": no address, no name
    return JobOutcome(
        _g(
            "%(sent)s reminders sent, %(already)s already sent before, %(no_address)s people without an e-mail "
            "address, %(failed)s failed."
        )
        % {"sent": report.sent, "already": report.already_sent, "no_address": report.no_address, "failed": len(failed)},
        {
            "sent": report.sent,
            "already_sent": report.already_sent,
            "no_address": report.no_address,
            "failed": len(failed),
        },
    )


class NonfilersForm(forms.Form):
    declaration_type = forms.ChoiceField(label=_("Type"), choices=_type_choices, required=False)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1900, max_value=2200)
    body = forms.ModelChoiceField(label=_("Body"), queryset=PublicBody.objects.order_by("name"), required=False)
    today = forms.DateField(label=_("Count overdue as on"), required=False, help_text=_("Leave empty for today."))


@job_kind(
    "declarations.nonfilers",
    label=_("Count non-filers"),
    description=_(
        "Counts, past each deadline, the obligated people who have not filed and those who filed late. The job "
        "keeps the counts; the names are on the Non-filers page, which always shows the list as of now."
    ),
    permission="declarations.view_filingdeadline",
    form=NonfilersForm,
)
def nonfilers_job(
    context: JobContext,
    *,
    declaration_type: str = "",
    year: int | None = None,
    body: int | None = None,
    today: str | None = None,
) -> JobOutcome:
    from datetime import date

    from probity.declarations import deadlines

    day = date.fromisoformat(today) if today else timezone.localdate()
    chosen = PublicBody.objects.filter(pk=body).first() if body is not None else None
    if body is not None and chosen is None:
        raise JobFailed(_g("There is no public body with the id %(id)s.") % {"id": body})
    context.stage(_g("obligations checked"))
    items = deadlines.nonfilers(day, declaration_type=declaration_type or None, year=year, body=chosen)
    context.advance(len(items))
    missing = sum(1 for o in items if o.overdue(day))
    late = sum(1 for o in items if o.late)
    bodies = len({o.position.body_id for o in items})
    return JobOutcome(
        _g(
            "As of %(day)s: %(missing)s people have not filed past their deadline and %(late)s filed late, in "
            "%(bodies)s bodies. The names are on the Non-filers page."
        )
        % {"day": day.isoformat(), "missing": missing, "late": late, "bodies": bodies},
        {"not_filed": missing, "filed_late": late, "bodies": bodies, "as_of": day.isoformat()},
    )


SCHEDULES = (
    ScheduleDefault(
        code="declarations-remind",
        label=_("Daily filing reminders"),
        kind="declarations.remind",
        cron="0 7 * * *",
    ),
    ScheduleDefault(
        code="declarations-nonfilers",
        label=_("Daily count of non-filers (after the deadlines)"),
        kind="declarations.nonfilers",
        cron="30 7 * * *",
    ),
    ScheduleDefault(
        code="declarations-verify",
        label=_("Nightly verification of every declaration"),
        kind=VERIFY,
        cron="0 2 * * *",
    ),
)
