"""The entities module's background jobs, as ``probity entities …`` does them.

- ``entities.import_ftm``: a FollowTheMoney file from the job inbox into a dataset (idempotent by entity id;
  a bad entity is named by its line, id and reason and the others are kept).
- ``entities.export_ftm``: Probity's registers as FtM into ``VAR_DIR/exports/``; the result's ``file`` is
  the name the entities page ``entities:export_file`` serves to those allowed to export. Audited as the
  command's export is.
- ``entities.sync_core``: Probity's people and organisations in as the ``probity`` dataset.
- ``entities.link``: entity resolution (Splink), storing candidate pairs for review.

The export and the sync read the procurement warehouse (contracts), so they wait in the ``warehouse``
queue behind a job that writes it. An import or a sync that changed entities announces
``data_changed(source="entities")``. Log lines name files, lines, entity ids and counts, never a person's
name or data.
"""

from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.core.job_kinds import data_changed
from probity.core.jobs import InboxFileField, JobContext, JobFailed, JobOutcome, inbox_path, job_enqueue, job_kind
from probity.core.models import Job
from probity.entities import services
from probity.entities.batch import BatchFileError, batch_run, batch_summary
from probity.entities.models import ScreeningBatch, WatchlistEntry
from probity.entities.watchlists import watchlists_rescreen

SHOWN_PROBLEMS = 5
IMPORT_PERMISSION = "entities.add_entity"
LINK_PERMISSION = "entities.add_matchcandidate"


def original_name(name: str) -> str:
    """The file name as uploaded: an inbox name without the prefix ``inbox_save`` gives it."""
    return re.sub(r"^[0-9a-f]{12}-", "", Path(name).name)


def dataset_name(file_name: str) -> str:
    """The dataset a file is imported into by default: its name without ``.ftm.jsonl`` (as the command)."""
    return original_name(file_name).removesuffix(".jsonl").removesuffix(".ftm").removesuffix(".json")[:100]


class ImportFtmForm(forms.Form):
    file = InboxFileField(
        label=_("FollowTheMoney file"),
        help_text=_("One FtM entity a line (JSON Lines), as OpenSanctions and Aleph publish them."),
    )
    dataset = forms.CharField(
        label=_("Dataset"),
        max_length=100,
        required=False,
        help_text=_("The list's name; importing into it again updates it. Default: the file name."),
    )


@job_kind(
    "entities.import_ftm",
    label=_("Import FollowTheMoney entities"),
    description=_(
        "Imports a list of people and companies (PEP, sanctions, debarment, company registers) in the "
        "FollowTheMoney format. Importing the same file again changes nothing; each rejected entity is named "
        "with its line and reason and the others are kept."
    ),
    permission=IMPORT_PERMISSION,
    form=ImportFtmForm,
)
def import_ftm_job(context: JobContext, *, file: str, dataset: str = "") -> JobOutcome:
    path = inbox_path(file)
    name = original_name(file)
    dataset = dataset or dataset_name(file)
    context.stage(_g("entities imported"), services.ftm_count_lines(path=path))
    context.log(_g("Importing %(file)s into the dataset “%(dataset)s”.") % {"file": name, "dataset": dataset})
    try:
        report = services.ftm_import(source=path, dataset=dataset, progress=context.advance)
    except ValueError as exc:  # a dataset name the import refuses
        raise JobFailed(str(exc)) from exc
    context.log(
        _g(
            "%(read)s entities read: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
            "%(rejected)s rejected, %(dropped)s invalid value(s) dropped."
        )
        % {
            "read": report.read,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "dropped": len(report.warnings),
        }
    )
    for error in report.errors[:SHOWN_PROBLEMS]:
        context.log(_g("Rejected: %(where)s: %(reason)s") % {"where": _where(error), "reason": error["reason"]})
    if report.rejected > SHOWN_PROBLEMS:
        context.log(_g("… and %(n)s more rejected entities.") % {"n": report.rejected - SHOWN_PROBLEMS})
    kept = report.created + report.updated + report.unchanged
    if kept == 0:
        if report.errors:
            first = report.errors[0]
            raise JobFailed(
                _g(
                    "%(file)s holds no usable FollowTheMoney entity: all %(n)s were rejected; "
                    "the first: %(where)s: %(reason)s"
                )
                % {"file": name, "n": report.rejected, "where": _where(first), "reason": first["reason"]}
            )
        raise JobFailed(_g("%(file)s holds no FollowTheMoney entity.") % {"file": name})
    _announce(context, report.created + report.updated)
    return JobOutcome(
        _g(
            "%(file)s into “%(dataset)s”: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
            "%(rejected)s rejected."
        )
        % {
            "file": name,
            "dataset": dataset,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
        },
        {
            "dataset": dataset,
            "read": report.read,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "dropped_values": len(report.warnings),
        },
    )


def _where(error: dict[str, object]) -> str:
    entity_id = error.get("id")
    line = _g("line %(n)s") % {"n": error.get("line")}
    if error.get("record") not in (None, error.get("line")):
        line = _g("record %(record)s (line %(n)s)") % {"record": error.get("record"), "n": error.get("line")}
    return f"{line} ({entity_id})" if isinstance(entity_id, str) and entity_id else line


def _announce(context: JobContext, changed: int) -> None:
    if changed:
        queued = data_changed(source="entities", reason="entities changed")
        context.log(_g("%(n)s detector(s) that read the entity lists were queued.") % {"n": len(queued)})
    _watchlists_queue(context, changed)  # re-screen the watchlists (defined at the end of this file)


@job_kind(
    "entities.export_ftm",
    label=_("Export the registers as FollowTheMoney"),
    description=_(
        "Writes Probity's people, organisations, positions, family ties, ownership and contracts as one "
        "FollowTheMoney file, offered for download to those allowed to export. The export is audited."
    ),
    permission=services.EXPORT_PERMISSION,
    queue="warehouse",  # it reads the procurement warehouse's contracts: after a job that writes them
)
def export_ftm_job(context: JobContext) -> JobOutcome:
    context.stage(_g("entities written"))
    path, count = services.ftm_export_file(label=f"job{context.job.pk}", progress=context.advance)
    context.log(_g("Wrote %(n)s entities to %(file)s.") % {"n": count, "file": path.name})
    url = reverse("entities:export_file", kwargs={"name": path.name})
    return JobOutcome(
        _g("%(n)s entities exported to %(file)s; those allowed to export download it at %(url)s.")
        % {"n": count, "file": path.name, "url": url},
        {"entities": count, "file": path.name, "download": url},
    )


@job_kind(
    "entities.sync_core",
    label=_("Take Probity's registers in as entities"),
    description=_(
        "Takes Probity's own people and organisations (with positions, family ties, ownership and contracts) in "
        "as the “probity” dataset, so that they are screened and resolved with the imported lists."
    ),
    permission=IMPORT_PERMISSION,
    queue="warehouse",  # it reads the procurement warehouse's contracts
)
def sync_core_job(context: JobContext) -> JobOutcome:
    context.stage(_g("entities taken in"))
    report = services.entities_sync_core(progress=context.advance)
    _announce(context, report.created + report.updated)
    return JobOutcome(
        _g("Probity's registers: %(created)s entities created, %(updated)s updated, %(unchanged)s unchanged.")
        % {"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
        {"read": report.read, "created": report.created, "updated": report.updated, "unchanged": report.unchanged},
    )


class LinkForm(forms.Form):
    schema = forms.ChoiceField(
        label=_("Kind of entity"),
        choices=[("Person", _("People")), ("Company", _("Companies and organisations"))],
        initial="Person",
        required=False,
    )
    threshold = forms.FloatField(
        label=_("Lowest match probability kept"),
        min_value=0,
        max_value=1,
        initial=0.5,
        required=False,
        help_text=_("Between 0 and 1 (default 0.5)."),
    )


@job_kind(
    "entities.link",
    label=_("Find possible matches between entities"),
    description=_(
        "Runs entity resolution over the stored entities and stores the likely pairs for review. A pair an "
        "analyst rejected is never raised again; decided pairs keep their decision."
    ),
    permission=LINK_PERMISSION,
    form=LinkForm,
)
def link_job(context: JobContext, *, schema: str = "", threshold: float | None = None) -> JobOutcome:
    schema = schema or "Person"
    threshold = 0.5 if threshold is None else threshold
    context.stage(_g("linking"))
    context.log(
        _g("Linking %(schema)s entities at a probability of %(threshold)s or more.")
        % {
            "schema": schema,
            "threshold": threshold,
        }
    )
    result = services.entities_link(schema=schema, threshold=threshold)
    context.advance(result["records"])
    return JobOutcome(
        _g(
            "%(records)s %(schema)s records compared: %(created)s new candidate pair(s), %(updated)s updated, "
            "%(skipped)s already decided or merged."
        )
        % {"schema": schema, **result},
        dict(result),
    )


# --- screening batches and watchlists ------------------------------------------------------------------


class ScreenBatchForm(forms.Form):
    batch = forms.IntegerField(label=_("Screening batch"), min_value=1)
    file = InboxFileField(label=_("CSV file of names"))


@job_kind(
    "entities.screen_batch",
    label=_("Screen a CSV of names"),
    description=_(
        "Screens every name of an uploaded CSV against the lists and writes the matches, with the reasons for "
        "each score, as CSV and Excel for the person who uploaded it. Broken rows are listed with their line."
    ),
    permission="entities.view_entity",
    form=ScreenBatchForm,
    startable=False,  # started by an upload on the screening page or through the API
)
def screen_batch_job(context: JobContext, *, batch: int, file: str) -> JobOutcome:
    record = ScreeningBatch.objects.filter(pk=batch).first()
    if record is None:
        raise JobFailed(_g("The screening batch %(n)s no longer exists.") % {"n": batch})
    content = inbox_path(file).read_bytes()
    context.stage(_g("names screened"))
    try:
        batch_run(batch=record, content=content, progress=context.advance, total=context.total)
    except BatchFileError as exc:
        raise JobFailed(str(exc)) from exc
    url = reverse("entities:screening_batch", kwargs={"pk": record.pk})
    return JobOutcome(
        _g("%(summary)s The results are at %(url)s.") % {"summary": batch_summary(record), "url": url},
        {"rows": record.rows, "matched": record.matched, "rejected": record.rejected, "download": url},
    )


@job_kind(
    "entities.watchlists_rescreen",
    label=_("Re-screen the watchlists"),
    description=_(
        "Screens the names of every watchlist against the lists again; a match not seen before is shown to "
        "the watchlist's owner and e-mailed to them. Queued by itself when the lists change."
    ),
    permission="entities.add_entity",
)
def watchlists_rescreen_job(context: JobContext) -> JobOutcome:
    context.stage(_g("names screened"))
    report = watchlists_rescreen(progress=context.advance, total=context.total)
    return JobOutcome(
        _g("%(names)s watched name(s) screened: %(matches)s match(es), %(new)s new; %(notified)s owner(s) e-mailed.")
        % {"names": report.names, "matches": report.matches, "new": report.new, "notified": report.notified},
        {"names": report.names, "matches": report.matches, "new": report.new, "notified": report.notified},
    )


def _watchlists_queue(context: JobContext, changed: int) -> None:
    """After the lists changed: queue one re-screening of the watchlists (a waiting one is joined)."""
    if changed and WatchlistEntry.objects.exists():
        job_enqueue(
            kind="entities.watchlists_rescreen",
            actor=None,
            trigger=Job.Trigger.EVENT,
            dedupe_key="entities:watchlists_rescreen",
        )
        context.log(_g("The watchlists will be screened again."))
