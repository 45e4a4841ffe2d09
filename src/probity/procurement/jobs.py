"""Procurement's background jobs: OCDS ingest, the risk indicators, and debarment list imports.

- ``procurement.ingest`` reads an OCDS file from the job inbox into the warehouse, as
  ``probity procurement ingest`` does (``warehouse`` queue). When it stored anything new, it queues
  ``procurement.detect`` (which rebuilds the indicators' input tables from the compiled releases) and
  announces ``data_changed(source="procurement")`` for the other modules' detectors; both wait behind
  it in the warehouse queue, so they read what it wrote.
- ``procurement.detect`` runs the indicators, stores findings and the risk scores, as
  ``probity procurement detect`` (``warehouse`` queue); then the other detectors that read procurement
  data are queued (not the indicators it has just run).
- ``procurement.debarment_import`` imports a CSV or FollowTheMoney debarment list; a list that changed
  the register queues ``procurement.detect`` (the debarment indicator reads the register through it).

Log lines and results name files, positions, OCIDs and counts, never a person's data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django import forms
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.config import ConfigurationError
from probity.core.job_kinds import data_changed
from probity.core.jobs import InboxFileField, JobContext, JobFailed, JobOutcome, inbox_path, job_enqueue, job_kind
from probity.core.models import Job
from probity.procurement.indicators.beyond import INDICATORS
from probity.procurement.indicators.settings import SettingsError, read_settings
from probity.procurement.ingest import REJECTION_CODES, IngestError, procurement_ingest
from probity.procurement.selectors import compiled_releases_available, compiled_releases_iter, read_releases
from probity.procurement.services import (
    CARDINAL_CODES,
    debarment_import_csv,
    debarment_import_ftm,
    procurement_detect,
)
from probity.warehouse.services import warehouse_connection

SHOWN_PROBLEMS = 5  # rejected records named in the log; all of them are in the warehouse or the report
INGEST_PERMISSION = "procurement.ingest_procurement"
DETECT_PERMISSION = "core.run_detector"
DEBARMENT_PERMISSION = "procurement.add_debarment"


def original_name(name: str) -> str:
    """The file name as uploaded: an inbox name without the prefix ``inbox_save`` gives it."""
    return re.sub(r"^[0-9a-f]{12}-", "", Path(name).name)


def _indicator_codes() -> list[str]:
    return [*INDICATORS, *CARDINAL_CODES]


def _compiled_releases_stored() -> bool:
    with warehouse_connection() as warehouse:
        if not compiled_releases_available(warehouse=warehouse):
            return False
    return next(iter(compiled_releases_iter(batch_size=1)), None) is not None


def detect_queue() -> Job:
    """Queues one ``procurement.detect`` over the stored compiled releases (the system's, deduplicated)."""
    return job_enqueue(
        kind="procurement.detect",
        actor=None,
        trigger=Job.Trigger.EVENT,
        dedupe_key="procurement.detect",
        parameters={"findings": "auto"},
    )


# --- ingest ------------------------------------------------------------------------------------


class IngestForm(forms.Form):
    file = InboxFileField(
        label=_("OCDS file"),
        help_text=_(
            "Release or record packages, single releases or records, or JSON Lines of them (OCDS 1.0 or 1.1, "
            "gzip accepted)."
        ),
    )
    recompile = forms.BooleanField(
        label=_("Compile every stored process again"),
        required=False,
        help_text=_("Only after a change of schema or merge rules; by default only the changed processes."),
    )


@job_kind(
    "procurement.ingest",
    label=_("Ingest OCDS data"),
    description=_(
        "Reads an OCDS file into the warehouse and compiles one release per contracting process. Rejected "
        "releases are listed with their reason on the Ingest runs page; the valid ones beside them are kept, "
        "and ingesting the same file again changes nothing. Then the risk indicators run again."
    ),
    permission=INGEST_PERMISSION,
    queue="warehouse",
    form=IngestForm,
)
def ingest_job(context: JobContext, *, file: str, recompile: bool = False) -> JobOutcome:
    path = inbox_path(file)
    name = original_name(file)
    labels = {"reading": _g("releases read"), "compiling": _g("processes compiled")}

    def stages(stage: str, total: int | None) -> Callable[[int], object]:
        context.stage(labels.get(stage, stage), total)
        return context.advance

    context.log(_g("Reading %(file)s.") % {"file": name})
    try:
        report = procurement_ingest(paths=[path], recompile=recompile, stages=stages)
    except (IngestError, ConfigurationError) as exc:
        raise JobFailed(str(exc).replace(str(path), name)) from exc
    context.log(
        _g(
            "%(read)s item(s) read: %(accepted)s release(s) accepted, %(rejected)s rejected, %(warnings)s warning(s); "
            "%(new)s new, %(replaced)s replaced, %(unchanged)s unchanged, %(duplicates)s identical duplicate(s)."
        )
        % {
            "read": report.read,
            "accepted": report.accepted,
            "rejected": report.rejected,
            "warnings": report.warnings,
            "new": report.new,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "duplicates": report.duplicates,
        }
    )
    reasons = []
    for rejection in report.rejections[:SHOWN_PROBLEMS]:
        ids = ", ".join(part for part in (rejection.ocid, rejection.release_id) if part)
        where = f"{original_name(rejection.source_file)} {rejection.position}" + (f" ({ids})" if ids else "")
        reason = _g("%(where)s: %(reason)s") % {
            "where": where,
            "reason": REJECTION_CODES.get(rejection.code, rejection.code),
        }
        reasons.append(reason)
        context.log(_g("Rejected: %(reason)s") % {"reason": reason})
    if report.rejected > SHOWN_PROBLEMS:
        context.log(
            _g("… and %(n)s more rejection(s), all listed on the Ingest runs page (run %(run)s).")
            % {"n": report.rejected - SHOWN_PROBLEMS, "run": report.run_id}
        )
    if report.accepted == 0:
        if report.read == 0:
            raise JobFailed(_g("%(file)s holds no OCDS release or record.") % {"file": name})
        raise JobFailed(
            _g("%(file)s holds no usable OCDS release: all %(n)s item(s) were rejected; the first: %(reason)s")
            % {"file": name, "n": report.rejected, "reason": reasons[0] if reasons else "?"}
        )
    changed = report.new + report.replaced + report.compiled
    queued = 0
    if changed:
        detect_queue()
        # The indicators themselves run inside procurement.detect, on the tables it rebuilds.
        queued = len(data_changed(source="procurement", reason=f"ingest {report.run_id}", exclude=_indicator_codes()))
        context.log(
            _g("The risk indicators and %(n)s other detector(s) that read procurement data were queued.")
            % {"n": queued}
        )
    return JobOutcome(
        _g(
            "%(file)s: %(accepted)s release(s) accepted (%(new)s new, %(unchanged)s unchanged), %(rejected)s rejected; "
            "%(processes)s contracting process(es) in the warehouse."
        )
        % {
            "file": name,
            "accepted": report.accepted,
            "new": report.new,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "processes": report.processes,
        },
        {
            "file": name,
            "read": report.read,
            "accepted": report.accepted,
            "rejected": report.rejected,
            "warnings": report.warnings,
            "new": report.new,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "compiled": report.compiled,
            "processes": report.processes,
            "run": report.run_id,
        },
    )


# --- detect ------------------------------------------------------------------------------------


def _indicator_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in _indicator_codes()]


class DetectForm(forms.Form):
    indicators = forms.MultipleChoiceField(
        label=_("Indicators"),
        choices=_indicator_choices,
        required=False,
        help_text=_("Leave empty for every indicator."),
    )
    findings = forms.ChoiceField(
        label=_("Outcomes stored as findings"),
        choices=[
            ("auto", _("All outcomes for small data, flags only above the installation's limit")),
            ("flags", _("Flags only")),
            ("all", _("All: flag, pass and not applicable")),
        ],
        initial="auto",
        required=False,
    )
    parameters = forms.JSONField(
        label=_("Parameters"),
        required=False,
        help_text=_('Per indicator code, values overriding the defaults, e.g. {"P-SPLIT": {"threshold": 100000}}.'),
    )
    settings_file = InboxFileField(
        label=_("Cardinal settings file"),
        required=False,
        help_text=_("Cardinal's INI file: its sections choose the Cardinal indicators that run, with its values."),
    )
    file = InboxFileField(
        label=_("Compiled releases"),
        required=False,
        help_text=_(
            "A JSON Lines file of compiled releases to judge instead of those in the warehouse; it replaces "
            "the processes judged before unless “add” is ticked."
        ),
    )
    append = forms.BooleanField(label=_("Add the file's processes to those judged before"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        parameters = cleaned.get("parameters")
        if parameters in (None, ""):
            cleaned["parameters"] = {}
        elif not isinstance(parameters, dict) or not all(isinstance(v, dict) for v in parameters.values()):
            self.add_error("parameters", _("Give the parameters as indicator codes, each with names and values."))
        else:
            unknown = [code for code in parameters if code not in INDICATORS]
            if unknown:
                self.add_error(
                    "parameters",
                    _("No indicator with parameters has the code(s) %(codes)s.") % {"codes": ", ".join(unknown)},
                )
        if cleaned.get("append") and not cleaned.get("file"):
            self.add_error("append", _("Adding needs a file of compiled releases."))
        cleaned["findings"] = cleaned.get("findings") or "auto"
        return cleaned


@job_kind(
    "procurement.detect",
    label=_("Run the procurement risk indicators"),
    description=_(
        "Judges every contracting process with the risk indicators (Cardinal's and the others), stores the "
        "findings and the risk scores per process, buyer and supplier. Runs by itself after an OCDS ingest."
    ),
    permission=DETECT_PERMISSION,
    queue="warehouse",
    form=DetectForm,
)
def detect_job(
    context: JobContext,
    *,
    indicators: list[str] | None = None,
    findings: str = "auto",
    parameters: dict[str, dict[str, Any]] | None = None,
    settings_file: str = "",
    file: str = "",
    append: bool = False,
) -> JobOutcome:
    known = _indicator_codes()
    codes = list(indicators or []) or None
    cardinal_settings = None
    if settings_file:
        try:
            cardinal_settings = read_settings(str(inbox_path(settings_file)))
        except SettingsError as exc:
            raise JobFailed(str(exc)) from exc
        in_file = [c for c in CARDINAL_CODES if c in cardinal_settings.sections]
        codes = [c for c in codes or known if c in INDICATORS or c in in_file]
    releases: Any
    if file:
        releases = read_releases(inbox_path(file))
        source = original_name(file)
    else:
        if not _compiled_releases_stored():
            raise JobFailed(_g("The warehouse holds no compiled releases yet: ingest OCDS data first."))
        releases = compiled_releases_iter()
        source = _g("the compiled releases in the warehouse")
    selected = codes or known
    context.stage(_g("indicators run"), len(selected) + 1)
    context.log(_g("Judging %(source)s with %(n)s indicator(s).") % {"source": source, "n": len(selected)})
    findings_for = {"auto": None, "flags": ["flag"], "all": ["flag", "pass", "not_applicable"]}.get(findings)
    try:
        report = procurement_detect(
            releases=releases,
            parameters=parameters or {},
            codes=codes,
            findings_for=findings_for,
            cardinal_settings=cardinal_settings,
            append=append,
            progress=lambda _step: context.advance(),
        )
    except (ConfigurationError, LookupError) as exc:
        raise JobFailed(str(exc)) from exc
    except ValueError as exc:
        message = str(exc)
        if file:
            message = message.replace(str(inbox_path(file)), original_name(file))
        raise JobFailed(message) from exc
    flags = 0
    for code, counts in report.indicators.items():
        flags += counts.get("flag", 0)
        context.log(
            _g("%(code)s: %(flag)s flagged, %(passed)s passed, %(na)s not applicable.")
            % {
                "code": code,
                "flag": counts.get("flag", 0),
                "passed": counts.get("pass", 0),
                "na": counts.get("not_applicable", 0),
            }
        )
    queued = data_changed(source="procurement", reason="procurement.detect", exclude=set(report.indicators))
    if queued:
        context.log(_g("%(n)s other detector(s) that read procurement data were queued.") % {"n": len(queued)})
    return JobOutcome(
        _g(
            "%(processes)s contracting process(es) judged by %(indicators)s indicator(s): %(flags)s flag(s); "
            "findings stored for: %(outcomes)s."
        )
        % {
            "processes": report.processes,
            "indicators": len(report.indicators),
            "flags": flags,
            "outcomes": ", ".join(report.findings_for),
        },
        {"processes": report.processes, "indicators": len(report.indicators), "flags": flags},
    )


# --- debarment lists ---------------------------------------------------------------------------


class DebarmentImportForm(forms.Form):
    file = InboxFileField(
        label=_("Debarment list"),
        help_text=_(
            "CSV (id, name, identifiers, country, authority, start_date, end_date, grounds) or FollowTheMoney "
            "Sanction entities with their targets (JSON Lines)."
        ),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("auto", _("From the file name (.csv is CSV)")), ("csv", _("CSV")), ("ftm", _("FollowTheMoney"))],
        initial="auto",
        required=False,
    )
    source = forms.CharField(
        label=_("Name of the list"),
        required=False,
        max_length=300,
        help_text=_("Part of each record's key, so that importing the list again updates it; default: the file name."),
    )


@job_kind(
    "procurement.debarment_import",
    label=_("Import a debarment list"),
    description=_(
        "Imports a CSV or FollowTheMoney list of debarred organisations into the debarment register. Importing "
        "the same list again changes nothing; each rejected record is named with its line and reason."
    ),
    permission=DEBARMENT_PERMISSION,
    form=DebarmentImportForm,
)
def debarment_import_job(context: JobContext, *, file: str, format: str = "auto", source: str = "") -> JobOutcome:  # noqa: A002
    path = inbox_path(file)
    name = original_name(file)
    kind = format if format in ("csv", "ftm") else ("csv" if name.lower().endswith(".csv") else "ftm")
    importer = debarment_import_csv if kind == "csv" else debarment_import_ftm
    context.stage(_g("debarment records"))
    context.log(_g("Importing %(file)s as %(format)s.") % {"file": name, "format": kind.upper()})
    try:
        report = importer(path=path, source_name=source or name)
    except UnicodeDecodeError as exc:
        raise JobFailed(_g("%(file)s is not UTF-8 text.") % {"file": name}) from exc
    except ValueError as exc:
        raise JobFailed(str(exc).replace(path.name, name)) from exc
    kept = report.created + report.updated + report.unchanged
    context.advance(kept + len(report.errors))
    for where, reason in report.errors[:SHOWN_PROBLEMS]:
        context.log(_g("Rejected: %(where)s: %(reason)s") % {"where": where, "reason": reason})
    if len(report.errors) > SHOWN_PROBLEMS:
        context.log(_g("… and %(n)s more rejected record(s).") % {"n": len(report.errors) - SHOWN_PROBLEMS})
    if kept == 0:
        if report.errors:
            where, reason = report.errors[0]
            raise JobFailed(
                _g(
                    "%(file)s holds no usable debarment record: all %(n)s were rejected; "
                    "the first: %(where)s: %(reason)s"
                )
                % {"file": name, "n": len(report.errors), "where": where, "reason": reason}
            )
        raise JobFailed(_g("%(file)s holds no debarment record.") % {"file": name})
    if (report.created or report.updated) and _compiled_releases_stored():
        detect_queue()
        context.log(_g("The procurement risk indicators were queued to read the changed register."))
    return JobOutcome(
        _g(
            "Debarments from %(source)s: %(created)s new, %(updated)s changed, %(unchanged)s unchanged, "
            "%(rejected)s rejected."
        )
        % {
            "source": report.source,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.errors),
        },
        {
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.errors),
        },
    )
