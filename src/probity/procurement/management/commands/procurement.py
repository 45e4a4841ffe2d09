"""``probity procurement``: procurement data from the console.

    probity procurement ingest PATH… [--errors-out FILE] [--compiled-out FILE.jsonl]
    probity procurement export-compiled FILE.jsonl[.gz]
    probity procurement indicators FILE [-s SETTINGS] [--format json|csv] [-o OUT]
    probity procurement coverage [FILE] [--format table|json|cardinal] [--store]
    probity procurement debarment import FILE [--format csv|ftm] | debarment list [--active-on DAY]
    probity procurement codelist-map list | set FIELD LOCAL CODE [--note TEXT] | delete FIELD LOCAL
    probity procurement detect [FILE] [--indicators CODES] [--param CODE.NAME=VALUE] [--findings auto|flags|all]

Each subcommand is a function that adds its arguments to its parser and a method of ``Command``
that runs it, declared in ``Command.add_subcommands``. Exit codes: 0 done, 1 done but some input was
skipped (data errors), 2 usage or configuration.

``probity procurement indicators`` runs without Django's start-up (``probity.procurement.indicators
.command`` imports this module before ``django.setup()``): at the top, this module imports only what
that subcommand needs, none of which needs the app registry; the other subcommands import the
models, services and the warehouse when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.core.management.base import CommandError

from probity.config import ConfigurationError
from probity.core.commands import Handler, SubcommandCommand, Subcommands
from probity.procurement.indicators import indicators
from probity.procurement.indicators.output import cardinal_json, results_csv
from probity.procurement.indicators.run import indicators_run_file
from probity.procurement.indicators.settings import IndicatorSettings, SettingsError, read_settings
from probity.procurement.tables import TABLES, warehouse_name

PLAN_CACHE = "procurement-indicator-sql"

# --- indicators ---------------------------------------------------------------------------------


def indicators_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="compiled releases, one JSON object a line (JSON Lines)")
    parser.add_argument(
        "-s",
        "--settings",
        dest="settings_file",
        metavar="SETTINGS",
        help="Cardinal's settings file (INI); an indicator runs if its section is present. "
        "Without it, every indicator runs with its defaults.",
    )
    parser.add_argument("--format", choices=("json", "csv"), default="json", help="output format (default json)")
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="write the results to this file (default: standard output)"
    )
    parser.add_argument("--indicators", metavar="CODES", help="only these indicators, comma-separated (e.g. R003,R024)")
    parser.add_argument(
        "--warehouse",
        action="store_true",
        help="write the procurement tables to the configured warehouse (DuckDB or Spark) and run there; "
        "by default a private in-memory DuckDB is used and the warehouse is not touched",
    )
    parser.add_argument(
        "--memory-limit", default="1GB", help="DuckDB memory limit before spilling to disk (default 1GB)"
    )
    parser.add_argument(
        "--no-plan-cache",
        action="store_true",
        help="compile the indicators' Ibis expressions afresh instead of reusing the SQL that an earlier "
        f"run with the same settings kept in var/cache/{PLAN_CACHE} (kept per settings, indicator code "
        "and library versions)",
    )


def _progress(desc: str, unit: str) -> Any:
    """A one-step progress bar on a terminal; nothing (and no tqdm import) otherwise, as tqdm's
    ``disable=None`` would do."""
    if not sys.stderr.isatty():
        return _NoProgress()
    from tqdm import tqdm  # a tenth of a second to import: only for a terminal

    return tqdm(total=1, desc=desc, unit=unit, file=sys.stderr)


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, count: int = 1) -> None:
        return None


# --- ingest (OCDS into the warehouse) -----------------------------------------------------------

SHOWN_REJECTIONS = 20


def ingest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="OCDS files or folders (folders are searched recursively)"
    )
    parser.add_argument(
        "--errors-out",
        type=Path,
        metavar="FILE",
        help="also write every rejection of this run to FILE (.csv for CSV, anything else for JSON Lines)",
    )
    parser.add_argument(
        "--compiled-out",
        type=Path,
        metavar="FILE",
        help="afterwards, write all compiled releases to FILE as JSON Lines (.gz: gzip)",
    )
    parser.add_argument(
        "--recompile", action="store_true", help="compile every stored process again, not only the changed ones"
    )
    parser.add_argument(
        "--show",
        type=int,
        default=SHOWN_REJECTIONS,
        metavar="N",
        help=f"rejections to print (default {SHOWN_REJECTIONS}; all are in the warehouse)",
    )


def export_compiled_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="FILE", help="the JSON Lines file to write (.gz: gzip)")


# --- coverage (which fields each indicator needs, how often present) -----------------------------


def coverage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="compiled releases, one JSON object a line (.gz: gzip); default: the warehouse's ocds_compiled_release",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "cardinal"),
        default="table",
        help="table: per indicator, each field's presence (default); json: the same as JSON; "
        "cardinal: the JSON object of Cardinal's `ocdscardinal coverage` (path → non-empty count)",
    )
    parser.add_argument(
        "--store",
        action="store_true",
        help="also keep the result for the Coverage page and the API (always done when reading the warehouse)",
    )


# --- debarment register (import CSV / FollowTheMoney, list) -------------------------------------


DEBARMENT_IMPORT_HELP = (
    "import a debarment list: CSV (id,name,identifiers,country,authority,start_date,"
    "end_date,grounds) or FollowTheMoney Sanction entities (JSON Lines)"
)


def debarment_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the CSV or .ftm.jsonl / .json file")
    parser.add_argument(
        "--format",
        choices=("auto", "csv", "ftm"),
        default="auto",
        help="file format (default: from the file name: .csv is CSV, anything else FtM)",
    )
    parser.add_argument(
        "--source", metavar="NAME", help="name of the list, part of each record's key (default: file name)"
    )
    parser.add_argument("--show", type=int, default=20, metavar="N", help="rejected records to print (default 20)")


def debarment_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--active-on", metavar="YYYY-MM-DD", help="only debarments in force on this day")


# --- detect (the beyond-Cardinal indicators, findings and risk scores) -------------------------


def detect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="compiled releases, one JSON object a line; default: the warehouse's ocds_compiled_release. "
        "A file REPLACES the processes judged before (the input and procurement_* tables are rebuilt "
        "from it) unless --append is given",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add FILE's contracting processes to those already judged (a process already there, same "
        "OCID, is replaced by FILE's release) and judge the whole again",
    )
    parser.add_argument(
        "-s",
        "--settings",
        dest="settings_file",
        metavar="SETTINGS",
        help="Cardinal's settings file (INI), as for `indicators`: its sections choose the Cardinal "
        "indicators that run (with --indicators: both must name them) and its values and exclusions "
        "apply to them; without it, every Cardinal indicator runs with Cardinal's defaults",
    )
    parser.add_argument(
        "--from-tables",
        action="store_true",
        help="read the flattened procurement_* warehouse tables (written by `indicators --warehouse`) "
        "instead of compiled releases; the work then stays inside the warehouse engine",
    )
    parser.add_argument("--indicators", metavar="CODES", help="only these indicators, comma-separated (e.g. P-SPLIT)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="CODE.NAME=VALUE",
        help="override a parameter, e.g. P-SPLIT.threshold=100000 (repeatable)",
    )
    parser.add_argument(
        "--findings",
        choices=("auto", "flags", "all"),
        default="auto",
        help="which outcomes become findings: all, flags only, or auto (all up to "
        "PROBITY_PROCUREMENT_FINDINGS_ALL_MAX processes, flags above; the warehouse matrix keeps all)",
    )


# --- the command ------------------------------------------------------------------------------------


# What each subcommand does: its line in ``probity procurement --help`` and the head of its own help.
SUMMARIES = {
    "ingest": "read OCDS 1.0/1.1 packages, records or releases (JSON, JSON Lines, gzip; files or folders) "
    "into the warehouse and compile one release per process",
    "export-compiled": "write every compiled release in the warehouse to a JSON Lines file",
    "indicators": "Cardinal's red-flag indicators on a file of compiled releases (Cardinal-compatible JSON or CSV)",
    "coverage": "which fields each indicator needs and how often the compiled releases have them "
    "(as Cardinal's coverage)",
    "debarment": "the debarment register: import a CSV or FollowTheMoney list, or list it",
    "detect": "run the beyond-Cardinal risk indicators, store findings and the risk scores per process, buyer, "
    "supplier",
    "codelist-map": "a publisher's local names for OCDS codes (e.g. 公開招標 → open), read as the codes by the "
    "indicators: list, set or delete them",
}


def codelist_set_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("field", help="the OCDS field, e.g. tender.procurementMethod or awards.status")
    parser.add_argument("local", help="the publisher's value, as written in the data")
    parser.add_argument("code", help="the OCDS code it means, e.g. open")
    parser.add_argument("--note", default="", help="why (shown on the codelist page)")


def codelist_delete_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("field", help="the OCDS field")
    parser.add_argument("local", help="the publisher's value")


class Command(SubcommandCommand):
    help = (
        "Procurement data: OCDS ingest and compiled releases, red-flag indicators.\n\n"
        f"Subcommands: {', '.join(SUMMARIES)}."
    )
    # Needs neither the database nor the web routes (seconds of start-up on a file of any size).
    without_system_checks = frozenset({"indicators"})

    def add_subcommands(self, subcommands: Subcommands) -> None:
        def add(name: str, handler: Handler, arguments: Callable[[argparse.ArgumentParser], None]) -> None:
            arguments(subcommands.add(name, handler, help=SUMMARIES[name], description=SUMMARIES[name]))

        add("ingest", self.ingest, ingest_arguments)
        add("export-compiled", self.export_compiled, export_compiled_arguments)
        add("indicators", self.indicators, indicators_arguments)
        add("coverage", self.coverage, coverage_arguments)
        debarment = subcommands.group("debarment", help=SUMMARIES["debarment"], description=SUMMARIES["debarment"])
        debarment_import_arguments(debarment.add("import", self.debarment_import, help=DEBARMENT_IMPORT_HELP))
        debarment_list_arguments(debarment.add("list", self.debarment_list, help="print the debarment register"))
        add("detect", self.detect, detect_arguments)
        codelist = subcommands.group(
            "codelist-map", help=SUMMARIES["codelist-map"], description=SUMMARIES["codelist-map"]
        )
        codelist.add("list", self.codelist_list, help="print the mappings and the codes of each field")
        codelist_set_arguments(codelist.add("set", self.codelist_set, help="map a local value to a code"))
        codelist_delete_arguments(codelist.add("delete", self.codelist_delete, help="remove a mapping"))

    def codelist_list(self, **options: Any) -> int:
        from probity.procurement.codelists import CODELISTS
        from probity.procurement.models import CodelistMapping

        out = self.stdout
        rows = list(CodelistMapping.objects.all())
        for row in rows:
            out.write(f"{row.field}\t{row.local_value}\t→ {row.code}" + (f"\t({row.note})" if row.note else ""))
        out.write(f"{len(rows)} mapping(s). Codes by field:")
        for field_name, codes in CODELISTS.items():
            out.write(f"  {field_name}: {', '.join(sorted(codes))}")
        return 0

    def codelist_set(self, **options: Any) -> int:
        from probity.core.audit import audit_actor
        from probity.procurement.services import codelist_mapping_set

        try:
            with audit_actor("system:cli"):
                mapping = codelist_mapping_set(
                    field=options["field"], local_value=options["local"], code=options["code"], note=options["note"]
                )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(f"{mapping.field}: {mapping.local_value!r} is now read as {mapping.code!r}.")
        return 0

    def codelist_delete(self, **options: Any) -> int:
        from probity.core.audit import audit_actor
        from probity.procurement.services import codelist_mapping_delete

        with audit_actor("system:cli"):
            found = codelist_mapping_delete(field=options["field"], local_value=options["local"])
        if not found:
            raise CommandError(f"There is no mapping of {options['local']!r} for {options['field']}.", returncode=2)
        self.stdout.write(f"{options['field']}: {options['local']!r} is no longer mapped.")
        return 0

    def indicators(self, **options: Any) -> int:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.", returncode=2)
        try:
            settings = (
                read_settings(options["settings_file"]) if options["settings_file"] else IndicatorSettings.defaults()
            )
        except SettingsError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["indicators"]:
            chosen = [code.strip() for code in options["indicators"].split(",") if code.strip()]
            unknown = [code for code in chosen if code not in indicators()]
            if unknown:
                raise CommandError(f"Unknown indicator(s): {', '.join(unknown)}.", returncode=2)
            if not options["settings_file"]:
                settings = IndicatorSettings.defaults(chosen)
            else:
                settings.sections = {code: settings.sections.get(code, {}) for code in chosen}
        temp_directory = Path(django_settings.VAR_DIR) / "tmp" / "duckdb"
        with _progress("indicators", "file") as progress:
            try:
                if options["warehouse"]:
                    # Needs the app registry (the catalogue's model): never on the path without Django's start-up.
                    from probity.warehouse.services import warehouse_connection, warehouse_register_table

                    with warehouse_connection() as warehouse:
                        run = indicators_run_file(path, settings, warehouse=warehouse)
                        for table, row_count in (run.flatten.rows if run.flatten else {}).items():
                            warehouse_register_table(
                                name=warehouse_name(table),
                                row_count=row_count,
                                engine=warehouse.engine,
                                description=TABLES[table].description,
                                source=str(path),
                            )
                else:
                    temp_directory.mkdir(parents=True, exist_ok=True)
                    run = indicators_run_file(
                        path,
                        settings,
                        memory_limit=options["memory_limit"],
                        temp_directory=str(temp_directory),
                        plan_cache=None
                        if options["no_plan_cache"]
                        else Path(django_settings.VAR_DIR) / "cache" / PLAN_CACHE,
                        prefetch=options.get("prefetch"),
                    )
            except ConfigurationError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            progress.update(1)
        text = results_csv(run.results) if options["format"] == "csv" else cardinal_json(run.results) + "\n"
        if options["output"]:
            try:
                Path(options["output"]).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"{options['output']} cannot be written ({exc.strerror}).", returncode=2) from exc
        else:
            self.stdout.write(text, ending="")
        if options["verbosity"] >= 2:
            phases = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run.timings.items())
            self.stderr.write(f"phases: {phases} (SQL: {run.plan})")
        report = run.flatten
        if report is not None and report.skipped:
            self.stderr.write(
                f"{report.skipped} of {report.lines} lines were skipped: not a JSON object with a text 'ocid'."
            )
            return 1
        return 0

    def ingest(self, **options: Any) -> int:
        from probity.procurement.ingest import IngestError, ingest_rejections_write, procurement_ingest
        from probity.procurement.selectors import compiled_releases_write

        try:
            report = procurement_ingest(
                paths=options["paths"], progress=options["verbosity"] >= 1, recompile=options["recompile"]
            )
        except (IngestError, ConfigurationError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        out = self.stdout
        out.write(
            f"Read {report.read} item(s) from {report.files} file(s): {report.accepted} release(s) accepted, "
            f"{report.rejected} rejected, {report.warnings} warning(s)."
        )
        out.write(
            f"Releases: {report.new} new, {report.replaced} replaced, {report.unchanged} unchanged, "
            f"{report.duplicates} identical duplicate(s)."
        )
        out.write(
            f"Compiled {report.compiled} process(es); {report.processes} compiled release(s) in the table "
            f"ocds_compiled_release of {report.warehouse} (run {report.run_id})."
        )
        if report.rejections:
            shown = report.rejections[: max(options["show"], 0)]
            out.write(f"Rejected ({len(shown)} of {report.rejected} shown; all in the table ocds_ingest_rejection):")
            for rejection in shown:
                where = rejection.position
                if rejection.line and "line" not in where:
                    where += f" (line {rejection.line})"
                ids = " ".join(part for part in (rejection.ocid, rejection.release_id) if part)
                named = f"{where} {ids}" if ids else where
                out.write(f"  {rejection.source_file} {named}: [{rejection.code}] {rejection.reason}")
        try:
            if options["errors_out"]:
                count = ingest_rejections_write(run_id=report.run_id, path=options["errors_out"])
                out.write(f"Wrote {count} rejection(s) to {options['errors_out']}.")
            if options["compiled_out"]:
                count = compiled_releases_write(path=options["compiled_out"])
                out.write(f"Wrote {count} compiled release(s) to {options['compiled_out']}.")
        except OSError as exc:
            raise CommandError(f"{exc.filename} cannot be written ({exc.strerror}).", returncode=2) from exc
        return 1 if report.rejected else 0

    def export_compiled(self, **options: Any) -> int:
        from probity.procurement.selectors import compiled_releases_write

        try:
            count = compiled_releases_write(path=options["path"])
        except ConfigurationError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except OSError as exc:
            raise CommandError(f"{options['path']} cannot be written ({exc.strerror}).", returncode=2) from exc
        self.stdout.write(f"Wrote {count} compiled release(s) to {options['path']}.")
        return 0

    def coverage(self, **options: Any) -> int:
        from probity.procurement.coverage import coverage_compute, coverage_store
        from probity.warehouse.services import warehouse_connection

        path: Path | None = options["file"]
        if path is not None and not path.is_file():
            raise CommandError(f"{path} is not a file.", returncode=2)
        try:
            if path is not None and not options["store"]:
                report, indicators = coverage_compute(path=path)
            else:
                with warehouse_connection() as warehouse:
                    report, indicators = coverage_compute(path=path, warehouse=warehouse)
                    coverage_store(warehouse=warehouse, report=report)
        except (ConfigurationError, LookupError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        out = self.stdout
        if options["format"] == "cardinal":
            out.write(json.dumps(report.cardinal(), ensure_ascii=False))
        elif options["format"] == "json":
            out.write(
                json.dumps(
                    {
                        "total_releases": report.total_releases,
                        "source": report.source,
                        "indicators": [
                            {
                                "code": i.code,
                                "title": i.title,
                                "releases_with_all": i.releases_with_all,
                                "share_with_all": i.share_with_all,
                                "fields": [
                                    {"field": f.field, "releases": f.releases, "share": f.share} for f in i.fields
                                ],
                            }
                            for i in indicators
                        ],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            out.write(f"{report.total_releases} compiled release(s) in {report.source}.")
            for indicator in indicators:
                share = "—" if indicator.share_with_all is None else f"{indicator.share_with_all:.0%}"
                out.write(f"{indicator.code:<16} {share:>5} have every field  {indicator.title}")
                for field in indicator.fields:
                    field_share = "—" if field.share is None else f"{field.share:.0%}"
                    out.write(f"    {field_share:>5} {field.releases:>9}  {field.field}")
        if report.invalid_lines:
            shown = ", ".join(str(n) for n in report.invalid_lines[:20])
            self.stderr.write(f"{len(report.invalid_lines)} line(s) are not JSON objects and were skipped: {shown}.")
            return 1
        return 0

    def debarment_list(self, **options: Any) -> int:
        from probity.procurement.models import Debarment

        out = self.stdout
        debarments = Debarment.objects.all()
        if options["active_on"]:
            try:
                day = date.fromisoformat(options["active_on"])
            except ValueError as exc:
                raise CommandError(
                    f"--active-on {options['active_on']!r} is not a date (YYYY-MM-DD).", returncode=2
                ) from exc
            debarments = debarments.filter(start_date__lte=day).exclude(end_date__lt=day)
        for debarment in debarments:
            until = debarment.end_date.isoformat() if debarment.end_date else "indefinite"
            since = debarment.start_date.isoformat() if debarment.start_date else "?"
            out.write(f"{debarment.name}\t{since} – {until}\t{debarment.authority}\t{debarment.source_key}")
        out.write(f"{debarments.count()} debarment(s).")
        return 0

    def debarment_import(self, **options: Any) -> int:
        from probity.core.audit import audit_actor
        from probity.procurement.services import debarment_import_csv, debarment_import_ftm

        out = self.stdout
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.", returncode=2)
        kind = options["format"]
        if kind == "auto":
            kind = "csv" if path.suffix.lower() == ".csv" else "ftm"
        importer = debarment_import_csv if kind == "csv" else debarment_import_ftm
        try:
            with audit_actor("system:procurement-debarment"):
                report = importer(path=path, source_name=options["source"])
        except (ValueError, UnicodeDecodeError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        out.write(
            f"Debarments from {report.source}: {report.created} new, {report.updated} changed, "
            f"{report.unchanged} unchanged, {len(report.errors)} rejected."
        )
        for where, reason in report.errors[: max(options["show"], 0)]:
            self.stderr.write(f"  {where}: {reason}")
        return 1 if report.errors else 0

    def detect(self, **options: Any) -> int:
        from tqdm import tqdm

        from probity.core.audit import audit_actor
        from probity.procurement.indicators.beyond import INDICATORS
        from probity.procurement.indicators.beyond_inputs import read_releases
        from probity.procurement.selectors import compiled_releases_iter
        from probity.procurement.services import CARDINAL_CODES, procurement_detect

        known = [*INDICATORS, *CARDINAL_CODES]
        codes = None
        if options["indicators"]:
            codes = [c.strip() for c in options["indicators"].split(",") if c.strip()]
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise CommandError(
                    f"Unknown indicator(s): {', '.join(unknown)}; known: {', '.join(known)}.", returncode=2
                )
        parameters: dict[str, dict[str, str]] = {}
        for item in options["param"]:
            name, sep, value = item.partition("=")
            code, dot, parameter = name.rpartition(".")
            if not sep or not dot or code not in INDICATORS:
                raise CommandError(f"--param {item!r} must look like CODE.NAME=VALUE with a known CODE.", returncode=2)
            parameters.setdefault(code, {})[parameter] = value
        path: Path | None = options["file"]
        if path is not None and not path.is_file():
            raise CommandError(f"{path} is not a file.", returncode=2)
        if options["append"] and path is None:
            raise CommandError("--append adds the processes of a FILE: give one.", returncode=2)
        cardinal_settings = None
        if options["settings_file"]:
            try:
                cardinal_settings = read_settings(options["settings_file"])
            except SettingsError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            in_file = [c for c in CARDINAL_CODES if c in cardinal_settings.sections]
            codes = [c for c in codes or known if c in INDICATORS or c in in_file]
        if options["from_tables"]:
            if path is not None:
                raise CommandError("Give either FILE or --from-tables, not both.", returncode=2)
            releases: Any = None
        elif path is not None:
            releases = read_releases(path)
        else:
            releases = compiled_releases_iter()
        findings_for = {"auto": None, "flags": ["flag"], "all": ["flag", "pass", "not_applicable"]}[options["findings"]]
        selected = codes or known
        with tqdm(total=len(selected) + 1, desc="indicators", unit="step", file=sys.stderr, disable=None) as bar:
            try:
                with audit_actor("system:procurement-detect"):
                    report = procurement_detect(
                        releases=releases,
                        parameters=parameters,
                        codes=codes,
                        findings_for=findings_for,
                        from_tables=options["from_tables"],
                        cardinal_settings=cardinal_settings,
                        append=options["append"],
                        progress=lambda _step: bar.update(1),
                    )
            except (ConfigurationError, LookupError) as exc:
                raise CommandError(str(exc), returncode=2) from exc
            except ValueError as exc:
                raise CommandError(str(exc), returncode=1 if "line" in str(exc) else 2) from exc
        out = self.stdout
        out.write(
            f"{report.processes} contracting process(es) judged by {len(report.indicators)} indicator(s) "
            f"in {report.seconds:.1f} s; findings stored for: {', '.join(report.findings_for)}."
        )
        for code, counts in report.indicators.items():
            out.write(
                f"{code:<16} flag {counts.get('flag', 0):>7}  pass {counts.get('pass', 0):>7}  "
                f"not applicable {counts.get('not_applicable', 0):>7}  (run {report.runs[code]})"
            )
        out.write(
            "Matrix: procurement_indicator_results; scores: procurement_risk_process, procurement_risk_buyer, "
            "procurement_risk_supplier."
        )
        return 0
