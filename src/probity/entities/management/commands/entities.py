"""probity entities: FtM import and export, names across scripts, entity resolution, screening."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError
from tqdm import tqdm

from probity.core.audit import audit_actor, audit_record
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.records import json_files
from probity.entities import batch, screening, services, watchlists
from probity.entities import names as entity_names
from probity.entities.models import Watchlist

ONE_BY_ONE_HELP = (
    "write each entity in its own transaction with its own summary audit entry (slower; by default "
    "entities are written in batches with one summary audit entry per batch)"
)


def _files(paths: list[Path]) -> list[Path]:
    """The files to read (``json_files``); a path that is neither a file nor a folder stops the command
    before anything is imported (exit 2)."""
    try:
        return json_files(paths)
    except FileNotFoundError as exc:
        raise CommandError(str(exc), returncode=2) from exc


def _batch_size(one_by_one: bool) -> int:
    return 1 if one_by_one else services.IMPORT_BATCH


class Command(SubcommandCommand):
    help = (
        "Entities across sources.\n\n"
        "  import-ftm FILE...   import FollowTheMoney entities (JSON Lines; OpenSanctions format); idempotent\n"
        "  export-ftm           write Probity's people, organisations, positions, family ties, ownership\n"
        "                       and contracts (from the procurement warehouse) as FtM\n"
        "  sync-core            take Probity's own people and organisations in as the 'probity' dataset\n"
        "  names NAME...        show how names are normalised, transliterated and keyed\n"
        "  link                 run entity resolution (Splink) and store candidate pairs for review\n"
        "  match NAME           screen one name against the stored lists, as POST /api/v1/match does\n"
        "  relink               link every record of every source again to people and organisations\n"
        "  screen FILE.csv      screen a CSV of names; the answer (with reasons) as --out result.csv or .xlsx\n"
        "  watchlist ...        watchlists: list, create, add names, screen again (new matches are notified)\n\n"
        "Exit codes: 0 done, 1 some records were rejected (each is listed), 2 wrong usage or missing file."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        imp = subcommands.add("import-ftm", self.import_ftm, help="import FtM entities from JSON Lines files")
        imp.add_argument(
            "files", nargs="+", type=Path, help="FtM JSON Lines files (.ftm.jsonl) or JSON arrays, or folders of them"
        )
        imp.add_argument("--dataset", default="", help="dataset name (default: the file name without .ftm.jsonl)")
        imp.add_argument("--report", type=Path, default=None, help="write the full report as JSON here")
        imp.add_argument("--one-by-one", action="store_true", help=ONE_BY_ONE_HELP)
        exp = subcommands.add("export-ftm", self.export_ftm, help="export Probity's registers as FtM JSON Lines")
        exp.add_argument("--out", type=Path, default=None, help="output file (default: standard output)")
        sync = subcommands.add(
            "sync-core", self.sync_core, help="take Probity's people and organisations in as entities"
        )
        sync.add_argument("--one-by-one", action="store_true", help=ONE_BY_ONE_HELP)
        nm = subcommands.add("names", self.names, help="normalise and transliterate names")
        nm.add_argument("names", nargs="+")
        link = subcommands.add("link", self.link, help="run entity resolution and store candidate pairs")
        link.add_argument("--schema", choices=["Person", "Company"], default="Person")
        link.add_argument("--threshold", type=float, default=0.5, help="lowest match probability kept (0-1)")
        link.add_argument("--backend", choices=["duckdb", "spark"], default="duckdb")
        relink = subcommands.add(
            "relink",
            self.relink,
            help="link every record of every source again to people and organisations (analysts' decisions stay)",
        )
        relink.add_argument(
            "--no-detectors", action="store_true", help="do not queue the detectors whose links changed"
        )
        match = subcommands.add("match", self.match, help="screen a name against the stored lists")
        match.add_argument("name")
        match.add_argument("--schema", default="Person")
        match.add_argument("--birth-date", default="")
        match.add_argument("--dataset", default="default")
        match.add_argument("--limit", type=int, default=5)
        self._add_screening_subcommands(subcommands)

    def import_ftm(
        self,
        *,
        files: list[Path],
        dataset: str,
        report: Path | None,
        one_by_one: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        reports = {}
        for path in _files(files):
            name = dataset or path.name.removesuffix(".jsonl").removesuffix(".ftm").removesuffix(".json")
            total = services.ftm_count_lines(path=path)
            with (
                tqdm(total=total, desc=name, file=sys.stderr, disable=verbosity < 1) as bar,
                audit_actor(services.AUDIT_ACTOR),
            ):
                try:
                    result = services.ftm_import(
                        source=path, dataset=name, progress=bar.update, batch_size=_batch_size(one_by_one)
                    )
                except OSError as exc:
                    raise CommandError(f"{path} cannot be read ({exc.strerror or exc})", returncode=2) from exc
            reports[str(path)] = result.as_json()
            self.stdout.write(
                f"{path}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
                f"{result.rejected} rejected, {len(result.warnings)} values dropped"
            )
            for error in result.errors[:50]:
                where = f"line {error['line']}"
                if error.get("record", error["line"]) != error["line"]:
                    where = f"record {error['record']} (line {error['line']})"
                self.stderr.write(f"  {path}: {where} ({error['id'] or 'no id'}): {error['reason']}")
        if report:
            report.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
        if any(r["rejected"] for r in reports.values()):
            raise CommandError("some entities were rejected (listed above)", returncode=1)

    def export_ftm(self, *, out: Path | None, verbosity: int, **options: Any) -> None:
        with tqdm(desc="export", file=sys.stderr, disable=verbosity < 1) as bar, audit_actor(services.AUDIT_ACTOR):
            if out is None:
                count = services.ftm_export(out=self.stdout, progress=bar.update)  # type: ignore[arg-type]
            else:
                with out.open("w", encoding="utf-8") as handle:
                    count = services.ftm_export(out=handle, progress=bar.update)
        self.stderr.write(f"{count} entities written")

    def sync_core(self, *, one_by_one: bool, verbosity: int, **options: Any) -> None:
        with tqdm(desc="entities", file=sys.stderr, disable=verbosity < 1) as bar, audit_actor(services.AUDIT_ACTOR):
            report = services.entities_sync_core(progress=bar.update, batch_size=_batch_size(one_by_one))
        self.stdout.write(f"probity: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")

    def names(self, *, names: list[str], **options: Any) -> None:
        for name in names:
            self.stdout.write(
                json.dumps(
                    {
                        "name": name,
                        "scripts": sorted(entity_names.text_scripts(name)),
                        "normalised": entity_names.normalise(name),
                        "transliterations": entity_names.transliterations(name),
                        "keys": sorted(entity_names.name_keys(name)),
                    },
                    ensure_ascii=False,
                )
            )

    def link(self, *, schema: str, threshold: float, backend: str, **options: Any) -> None:
        if not 0 <= threshold <= 1:
            raise CommandError("--threshold must be between 0 and 1", returncode=2)
        self.stderr.write("linking …")
        with audit_actor(services.AUDIT_ACTOR):
            result = services.entities_link(schema=schema, threshold=threshold, backend=backend)
        self.stdout.write(
            f"{result['records']} records: {result['created']} new candidate pairs, {result['updated']} "
            f"updated, {result['skipped']} already decided or merged"
        )

    def relink(self, *, no_detectors: bool, **options: Any) -> None:
        from probity.core.job_kinds import links_announce
        from probity.core.links import relink_all

        bar = tqdm(unit=" records", file=self.stderr, disable=not self.stderr.isatty())
        with audit_actor("system:relink"):
            run = relink_all(progress=bar.update, stage=bar.set_description)
            queued = [] if no_detectors else links_announce(run, reason="relink")
        bar.close()
        for code, counts in run.counts.items():
            self.stdout.write(
                f"{code}: {counts.made} link(s) made, {counts.removed} removed, {counts.kept} kept, "
                f"{counts.created} record(s) created"
            )
        total = run.total
        self.stdout.write(
            f"{total.made} link(s) made, {total.removed} removed, {total.kept} kept, {total.created} core "
            f"record(s) created; {len(queued)} detector run(s) queued"
        )

    def match(self, *, name: str, schema: str, birth_date: str, dataset: str, limit: int, **options: Any) -> None:
        example: dict[str, Any] = {"schema": schema, "properties": {"name": [name]}}
        if birth_date:
            example["properties"]["birthDate"] = [birth_date]
        try:
            response = screening.match_one(example, dataset=dataset, limit=limit)
        except screening.QueryError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        for result in response["results"]:
            self.stdout.write(
                f"{result['score']:.3f} {'MATCH' if result['match'] else '     '} {result['id']} "
                f"{result['caption']} {json.dumps(result['features'])}"
            )

    # --- screening a CSV and watchlists ------------------------------------------------------------

    def _add_screening_subcommands(self, subcommands: Subcommands) -> None:
        screen = subcommands.add("screen", self.screen, help="screen a CSV of names; write the answer as CSV or Excel")
        screen.add_argument(
            "file",
            type=Path,
            help="CSV (UTF-8) with a header naming 'name' (kind, birth_date, country, identifier, reference optional)",
        )
        screen.add_argument("--out", type=Path, required=True, help="result file: .csv or .xlsx")
        screen.add_argument("--dataset", default="default", help="the list to screen against (default: all)")
        screen.add_argument("--threshold", type=float, default=screening.DEFAULT_THRESHOLD, help="match threshold")
        screen.add_argument("--limit", type=int, default=batch.DEFAULT_RESULTS, help="results kept per name")
        watch = subcommands.group("watchlist", help="watchlists: names re-screened when the lists change")
        watch.add("list", self.watchlist_list, help="every watchlist, its owner and its new matches")
        create = watch.add("create", self.watchlist_create, help="create a watchlist (optionally from a CSV)")
        create.add_argument("name")
        create.add_argument("--owner", required=True, help="user name of the person it belongs to")
        create.add_argument("--file", type=Path, default=None, help="CSV of names, as 'screen' reads it")
        create.add_argument("--dataset", default="default")
        create.add_argument("--threshold", type=float, default=screening.DEFAULT_THRESHOLD)
        add = watch.add("add", self.watchlist_add, help="add the names of a CSV to a watchlist")
        add.add_argument("watchlist", type=int, help="the watchlist's number (see 'watchlist list')")
        add.add_argument("--file", type=Path, required=True)
        again = watch.add("screen", self.watchlist_screen, help="screen watchlists again; owners hear of new matches")
        again.add_argument("watchlist", type=int, nargs="?", default=None, help="one watchlist (default: all)")

    def _csv(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path} cannot be read ({exc.strerror or exc})", returncode=2) from exc

    def screen(
        self, *, file: Path, out: Path, dataset: str, threshold: float, limit: int, verbosity: int, **options: Any
    ) -> None:
        if out.suffix.lower() not in {".csv", ".xlsx"}:
            raise CommandError("--out must end in .csv or .xlsx", returncode=2)
        if not 0 <= threshold <= 1:
            raise CommandError("--threshold must be between 0 and 1", returncode=2)
        if not screening.dataset_exists(dataset):
            raise CommandError(f"there is no dataset {dataset!r}; 'default' screens all of them", returncode=2)
        try:
            read = batch.screening_csv_read(content=self._csv(file), file_name=file.name)
        except batch.BatchFileError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        with tqdm(total=len(read.rows), desc="names screened", file=sys.stderr, disable=verbosity < 1) as bar:
            results, refused = batch.screen_rows(
                rows=read.rows, dataset=dataset, threshold=threshold, limit=max(1, limit), progress=bar.update
            )
        problems = read.problems + refused
        batch.result_write(results=results, problems=problems, path=out)
        with audit_actor(services.AUDIT_ACTOR):
            audit_record(
                action="screening_batch",
                object_type="entities.screeningbatch",
                object_label="Screening from the command line",
                details={"rows": len(results), "rejected": len(problems), "dataset": dataset},
            )
        matched = sum(1 for r in results if r.matched)
        self.stdout.write(
            f"{file}: {len(results)} names screened, {matched} with a match at {threshold:.2f}, "
            f"{len(problems)} rows rejected; the answer is in {out}"
        )
        for problem in sorted(problems, key=lambda p: p.line)[:50]:
            self.stderr.write(f"  {file}: line {problem.line}: {problem.reason}")
        if problems:
            raise CommandError("some rows were rejected (listed above and in the answer)", returncode=1)

    def watchlist_list(self, **options: Any) -> None:
        rows = Watchlist.objects.select_related("owner").order_by("pk")
        if not rows:
            self.stdout.write("There is no watchlist.")
        for record in rows:
            new = watchlists.new_hits(user=record.owner).filter(entry__watchlist=record).count()
            self.stdout.write(
                f"{record.pk}: {record.name} (owner {record.owner.get_username()}, {record.entries.count()} names, "
                f"{new} new matches, threshold {record.threshold:.2f})"
            )

    def _add_file(self, record: Watchlist, path: Path) -> None:
        try:
            report, problems = watchlists.watchlist_upload(
                watchlist=record, content=self._csv(path), file_name=path.name
            )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(f"{record.name}: {report.names} names screened, {report.matches} matches")
        for problem in problems[:50]:
            self.stderr.write(f"  {path}: {problem}")
        if problems:
            raise CommandError("some rows were rejected (listed above)", returncode=1)

    def watchlist_create(
        self, *, name: str, owner: str, file: Path | None, dataset: str, threshold: float, **options: Any
    ) -> None:
        user = User.objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"there is no user {owner!r}", returncode=2)
        with audit_actor(services.AUDIT_ACTOR):
            try:
                record = watchlists.watchlist_create(actor=user, name=name, dataset=dataset, threshold=threshold)
            except ValueError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            self.stdout.write(f"Watchlist {record.pk} “{record.name}” created for {owner}.")
            if file is not None:
                self._add_file(record, file)

    def watchlist_add(self, *, watchlist: int, file: Path, **options: Any) -> None:
        record = Watchlist.objects.filter(pk=watchlist).first()
        if record is None:
            raise CommandError(f"there is no watchlist {watchlist}", returncode=2)
        with audit_actor(services.AUDIT_ACTOR):
            self._add_file(record, file)

    def watchlist_screen(self, *, watchlist: int | None, verbosity: int, **options: Any) -> None:
        with tqdm(desc="names screened", file=sys.stderr, disable=verbosity < 1) as bar:
            if watchlist is None:
                report = watchlists.watchlists_rescreen(progress=bar.update, total=lambda n: setattr(bar, "total", n))
            else:
                record = Watchlist.objects.filter(pk=watchlist).first()
                if record is None:
                    raise CommandError(f"there is no watchlist {watchlist}", returncode=2)
                bar.total = record.entries.count()
                report = watchlists.watchlist_screen(watchlist=record, progress=bar.update)
        self.stdout.write(
            f"{report.names} names screened: {report.matches} matches, {report.new} new; "
            f"{report.notified} owner(s) e-mailed"
        )
