"""probity entities: FtM import and export, names across scripts, entity resolution, screening."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from probity.entities import names, screening, services

ONE_BY_ONE_HELP = (
    "write each entity in its own transaction with its own summary audit entry (slower; by default "
    "entities are written in batches with one summary audit entry per batch)"
)


def _batch_size(options: dict[str, Any]) -> int:
    return 1 if options.get("one_by_one") else services.IMPORT_BATCH


class Command(BaseCommand):
    help = (
        "Entities across sources.\n\n"
        "  import-ftm FILE...   import FollowTheMoney entities (JSON Lines; OpenSanctions format); idempotent\n"
        "  export-ftm           write Probity's people, organisations, positions, family ties, ownership\n"
        "                       and contracts (from the procurement warehouse) as FtM\n"
        "  sync-core            take Probity's own people and organisations in as the 'probity' dataset\n"
        "  names NAME...        show how names are normalised, transliterated and keyed\n"
        "  link                 run entity resolution (Splink) and store candidate pairs for review\n"
        "  match NAME           screen one name against the stored lists, as POST /api/v1/match does\n\n"
        "Exit codes: 0 done, 1 some records were rejected (each is listed), 2 wrong usage or missing file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="action", required=True, metavar="{import-ftm,export-ftm,sync-core,names,link,match}"
        )
        imp = sub.add_parser("import-ftm", help="import FtM entities from JSON Lines files")
        imp.add_argument("files", nargs="+", type=Path, help="FtM JSON Lines files (.ftm.jsonl)")
        imp.add_argument("--dataset", default="", help="dataset name (default: the file name without .ftm.jsonl)")
        imp.add_argument("--report", type=Path, default=None, help="write the full report as JSON here")
        imp.add_argument("--one-by-one", action="store_true", help=ONE_BY_ONE_HELP)
        exp = sub.add_parser("export-ftm", help="export Probity's registers as FtM JSON Lines")
        exp.add_argument("--out", type=Path, default=None, help="output file (default: standard output)")
        sync = sub.add_parser("sync-core", help="take Probity's people and organisations in as entities")
        sync.add_argument("--one-by-one", action="store_true", help=ONE_BY_ONE_HELP)
        nm = sub.add_parser("names", help="normalise and transliterate names")
        nm.add_argument("names", nargs="+")
        link = sub.add_parser("link", help="run entity resolution and store candidate pairs")
        link.add_argument("--schema", choices=["Person", "Company"], default="Person")
        link.add_argument("--threshold", type=float, default=0.5, help="lowest match probability kept (0-1)")
        link.add_argument("--backend", choices=["duckdb", "spark"], default="duckdb")
        match = sub.add_parser("match", help="screen a name against the stored lists")
        match.add_argument("name")
        match.add_argument("--schema", default="Person")
        match.add_argument("--birth-date", default="")
        match.add_argument("--dataset", default="default")
        match.add_argument("--limit", type=int, default=5)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        quiet = options["verbosity"] < 1
        if action == "import-ftm":
            self._import(options, quiet)
        elif action == "export-ftm":
            self._export(options, quiet)
        elif action == "sync-core":
            with tqdm(desc="entities", file=sys.stderr, disable=quiet) as bar:
                report = services.entities_sync_core(progress=bar.update, batch_size=_batch_size(options))
            self.stdout.write(
                f"probity: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
            )
        elif action == "names":
            for name in options["names"]:
                self.stdout.write(
                    json.dumps(
                        {
                            "name": name,
                            "scripts": sorted(names.text_scripts(name)),
                            "normalised": names.normalise(name),
                            "transliterations": names.transliterations(name),
                            "keys": sorted(names.name_keys(name)),
                        },
                        ensure_ascii=False,
                    )
                )
        elif action == "link":
            if not 0 <= options["threshold"] <= 1:
                raise CommandError("--threshold must be between 0 and 1", returncode=2)
            self.stderr.write("linking …")
            result = services.entities_link(
                schema=options["schema"], threshold=options["threshold"], backend=options["backend"]
            )
            self.stdout.write(
                f"{result['records']} records: {result['created']} new candidate pairs, {result['updated']} "
                f"updated, {result['skipped']} already decided or merged"
            )
        elif action == "match":
            example: dict[str, Any] = {"schema": options["schema"], "properties": {"name": [options["name"]]}}
            if options["birth_date"]:
                example["properties"]["birthDate"] = [options["birth_date"]]
            try:
                response = screening.match_one(example, dataset=options["dataset"], limit=options["limit"])
            except screening.QueryError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            for result in response["results"]:
                self.stdout.write(
                    f"{result['score']:.3f} {'MATCH' if result['match'] else '     '} {result['id']} "
                    f"{result['caption']} {json.dumps(result['features'])}"
                )

    def _import(self, options: dict[str, Any], quiet: bool) -> None:
        reports = {}
        for path in options["files"]:
            if not path.is_file():
                raise CommandError(f"{path} is not a file", returncode=2)
            dataset = options["dataset"] or path.name.removesuffix(".jsonl").removesuffix(".ftm").removesuffix(".json")
            with path.open(encoding="utf-8") as handle:
                total = sum(1 for _ in handle)
            with tqdm(total=total, desc=dataset, file=sys.stderr, disable=quiet) as bar:
                report = services.ftm_import(
                    source=path, dataset=dataset, progress=bar.update, batch_size=_batch_size(options)
                )
            reports[str(path)] = report.as_json()
            self.stdout.write(
                f"{path}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
                f"{report.rejected} rejected, {len(report.warnings)} values dropped"
            )
            for error in report.errors[:50]:
                self.stderr.write(f"  line {error['line']} ({error['id'] or 'no id'}): {error['reason']}")
        if options["report"]:
            options["report"].write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
        if any(r["rejected"] for r in reports.values()):
            raise CommandError("some entities were rejected (listed above)", returncode=1)

    def _export(self, options: dict[str, Any], quiet: bool) -> None:
        out_path: Path | None = options["out"]
        with tqdm(desc="export", file=sys.stderr, disable=quiet) as bar:
            if out_path is None:
                count = services.ftm_export(out=self.stdout, progress=bar.update)  # type: ignore[arg-type]
            else:
                with out_path.open("w", encoding="utf-8") as handle:
                    count = services.ftm_export(out=handle, progress=bar.update)
        self.stderr.write(f"{count} entities written")
