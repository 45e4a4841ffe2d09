"""probity entities: FtM import and export, names across scripts, entity resolution, screening."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.records import json_files
from probity.entities import names as entity_names
from probity.entities import screening, services

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
        "  match NAME           screen one name against the stored lists, as POST /api/v1/match does\n\n"
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
        match = subcommands.add("match", self.match, help="screen a name against the stored lists")
        match.add_argument("name")
        match.add_argument("--schema", default="Person")
        match.add_argument("--birth-date", default="")
        match.add_argument("--dataset", default="default")
        match.add_argument("--limit", type=int, default=5)

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
