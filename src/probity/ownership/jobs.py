"""Ownership's background job: the BODS ingest (``ownership.ingest``), as ``probity ownership ingest``.

The file waits in the job inbox (uploaded on the Jobs page or through the API). Each statement is
checked and stored on its own: a bad statement is reported (position, statement id, code) and its
neighbours are kept; ingesting the same file again stores nothing twice. A successful ingest that
stored statements announces ``data_changed(source="ownership")``, which queues the detectors that
read the register. Log lines name positions, statement ids, codes and counts, never a person's data.
"""

from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.core.job_kinds import data_changed
from probity.core.jobs import InboxFileField, JobContext, JobFailed, JobOutcome, inbox_path, job_kind
from probity.ownership.models import IngestBatch, IngestIssue
from probity.ownership.services import IngestFileError, ownership_ingest

SHOWN_PROBLEMS = 5
INGEST_PERMISSION = "ownership.ingest_ownership"
# Plain reasons for the codes of rejected statements: the stored messages may quote the statement's values.
REJECTION_REASONS = {
    "invalid_json": _("the statement cannot be read as JSON"),
    "schema": _("the statement does not follow the BODS 0.4 schema"),
    "statement_changed": _("a stored statement with this id has different content"),
    "upgrade_failed": _("the BODS 0.2/0.3 statement could not be upgraded to 0.4"),
    "not_stored": _("the database could not store the statement"),
}
# Codes whose stored message is the reader's own plain reason (place and bounds, never the record's values).
PLAIN_MESSAGE_CODES = frozenset({"invalid_json"})


def original_name(name: str) -> str:
    """The file name as uploaded: an inbox name without the prefix ``inbox_save`` gives it."""
    return re.sub(r"^[0-9a-f]{12}-", "", Path(name).name)


class OwnershipIngestForm(forms.Form):
    file = InboxFileField(
        label=_("BODS file"),
        help_text=_("A BODS 0.4 package (JSON array of statements), or JSON Lines; 0.2 and 0.3 are upgraded."),
    )
    dataset = forms.CharField(
        label=_("Dataset"),
        max_length=100,
        initial="default",
        required=False,
        help_text=_("The name of the register the statements belong to (default: “default”)."),
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=200,
        required=False,
        help_text=_("Where the statements came from, shown on the ingest report (default: the file name)."),
    )


def _where(issue: IngestIssue) -> str:
    ident = issue.statement_id or issue.record_id
    where = f"#{issue.position}" if issue.position else _g("record")
    return f"{where} {ident}".strip()


def _reason(issue: IngestIssue) -> str:
    if issue.code in PLAIN_MESSAGE_CODES and issue.message:
        return issue.message
    reason = str(REJECTION_REASONS.get(issue.code, issue.code))
    if issue.code == "schema":
        # "/recordDetails/interests/0: … is not valid": the path says where, without the values.
        paths = sorted({part.split(":", 1)[0].strip() for part in issue.message.split("; ") if ":" in part})
        if paths:
            reason += " " + _g("(at %(paths)s)") % {"paths": ", ".join(paths[:3])}
    return reason


@job_kind(
    "ownership.ingest",
    label=_("Ingest beneficial-ownership data (BODS)"),
    description=_(
        "Reads a BODS file into the ownership register: each statement is checked, the rejected ones are listed "
        "with their position and reason on the ingest report, the valid ones beside them are kept, and "
        "ingesting the same file again stores nothing twice. The detectors that read the register run again."
    ),
    permission=INGEST_PERMISSION,
    form=OwnershipIngestForm,
)
def ingest_job(context: JobContext, *, file: str, dataset: str = "", source: str = "") -> JobOutcome:
    path = inbox_path(file)
    name = original_name(file)
    dataset = dataset or "default"
    context.stage(_g("statements stored"))
    context.log(_g("Reading %(file)s into the dataset “%(dataset)s”.") % {"file": name, "dataset": dataset})
    try:
        result = ownership_ingest(path=path, dataset=dataset, progress=context.advance)
    except IngestFileError as exc:
        raise JobFailed(str(exc).replace(path.name, name)) from exc
    batch = result.batch
    IngestBatch.objects.filter(pk=batch.pk).update(source=(source or name)[:500])
    context.log(
        _g(
            "%(read)s statement(s) read: %(stored)s stored, %(unchanged)s already stored, %(rejected)s rejected, "
            "%(warnings)s warning(s) (ingest report %(batch)s)."
        )
        % {
            "read": batch.statements_read,
            "stored": batch.statements_stored,
            "unchanged": batch.statements_unchanged,
            "rejected": batch.statements_rejected,
            "warnings": batch.warnings,
            "batch": batch.pk,
        }
    )
    errors = list(batch.issues.filter(severity=IngestIssue.Severity.ERROR).order_by("position", "pk")[:SHOWN_PROBLEMS])
    for issue in errors:
        context.log(_g("Rejected: %(where)s: %(reason)s") % {"where": _where(issue), "reason": _reason(issue)})
    if batch.statements_rejected > SHOWN_PROBLEMS:
        context.log(
            _g("… and %(n)s more rejected statement(s), all on the ingest report.")
            % {"n": batch.statements_rejected - SHOWN_PROBLEMS}
        )
    if batch.statements_stored + batch.statements_unchanged == 0:
        if not errors:
            raise JobFailed(_g("%(file)s holds no BODS statement.") % {"file": name})
        raise JobFailed(
            _g("%(file)s holds no usable BODS statement: all %(n)s were rejected; the first: %(where)s: %(reason)s")
            % {
                "file": name,
                "n": batch.statements_rejected,
                "where": _where(errors[0]),
                "reason": _reason(errors[0]),
            }
        )
    if batch.statements_stored:
        queued = data_changed(source="ownership", reason=f"ownership ingest {batch.pk}")
        context.log(_g("%(n)s detector(s) that read the ownership register were queued.") % {"n": len(queued)})
    return JobOutcome(
        _g(
            "%(file)s: %(read)s statement(s) read, %(stored)s stored, %(unchanged)s already stored, "
            "%(rejected)s rejected."
        )
        % {
            "file": name,
            "read": batch.statements_read,
            "stored": batch.statements_stored,
            "unchanged": batch.statements_unchanged,
            "rejected": batch.statements_rejected,
        },
        {
            "batch": batch.pk,
            "read": batch.statements_read,
            "stored": batch.statements_stored,
            "unchanged": batch.statements_unchanged,
            "rejected": batch.statements_rejected,
            "warnings": batch.warnings,
        },
    )
