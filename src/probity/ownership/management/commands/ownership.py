"""probity ownership: ingest BODS files, list parties, show beneficial owners and chains, list ingest issues."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.records import json_files
from probity.ownership.models import IngestIssue, Party
from probity.ownership.selectors import ownership_view, parties_search
from probity.ownership.services import IngestFileError, ownership_ingest


def _files(paths: list[Path]) -> list[Path]:
    """The files to read (``json_files``); a path that is neither a file nor a folder stops the command
    before anything is ingested (exit 2)."""
    try:
        return json_files(paths)
    except FileNotFoundError as exc:
        raise CommandError(str(exc), returncode=2) from exc


def _threshold(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise CommandError(f"--threshold must be a percentage such as 25 or 10, not {raw!r}", returncode=2) from None
    if not 0 < value <= 100:
        raise CommandError(f"--threshold must be above 0 and at most 100, not {raw}", returncode=2)
    return value / 100


class Command(SubcommandCommand):
    help = (
        "Beneficial ownership: ingest BODS files, list parties, compute owners and chains.\n\n"
        "ownership ingest FILE... reads BODS 0.4 packages or JSON Lines, and 0.2/0.3 statements (upgraded on "
        "the way in); every rejected statement is listed with its position and reason. Exit codes: 0 all "
        "statements stored, 1 some were rejected (the valid ones are stored), 2 usage or unreadable file."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        ingest = subcommands.add("ingest", self.ingest, help="ingest BODS files (JSON array, package or JSON Lines)")
        ingest.add_argument("files", nargs="+", type=Path, help="BODS files, or folders of them")
        ingest.add_argument("--dataset", default="default", help="name of the register the files belong to")
        ingest.add_argument("--show", type=int, default=20, help="issues to print per file (default 20)")
        parties = subcommands.add("parties", self.parties, help="list parties whose name contains a text")
        parties.add_argument("query", nargs="?", default="")
        parties.add_argument("--dataset", default="")
        parties.add_argument("--limit", type=int, default=50)
        for name, handler, text in (
            ("owners", self.owners, "ultimate beneficial owners of a party"),
            ("chains", self.chains, "ownership chains into a party"),
        ):
            command = subcommands.add(name, handler, help=text)
            command.add_argument("party", help="party id, or record id (with --dataset)")
            command.add_argument("--dataset", default="")
            command.add_argument("--threshold", default="25", help="percent (default 25; 10 in some laws)")
            command.add_argument("--strict", action="store_true", help="a share must exceed the threshold")
            command.add_argument("--json", action="store_true", help="print JSON")
        issues = subcommands.add("issues", self.issues, help="problems found by the latest ingests")
        issues.add_argument("--dataset", default="")
        issues.add_argument("--limit", type=int, default=100)

    def ingest(self, files: list[Path], dataset: str, show: int, verbosity: int, **_options: Any) -> None:
        rejected = 0
        stream: Any = self.stderr._out
        for path in _files(files):
            with tqdm(desc=path.name, unit=" statements", file=stream, disable=verbosity < 1, leave=False) as bar:
                try:
                    result = ownership_ingest(path=path, dataset=dataset, progress=bar.update)
                except IngestFileError as exc:
                    raise CommandError(str(exc), returncode=2) from exc
            batch = result.batch
            self.stdout.write(
                f"{path}: {batch.statements_read} read, {batch.statements_stored} stored, "
                f"{batch.statements_unchanged} already stored, {batch.statements_rejected} rejected, "
                f"{batch.warnings} warnings"
            )
            for issue in batch.issues.order_by("position", "pk")[:show]:
                where = f"#{issue.position}" if issue.position else "record"
                ident = issue.statement_id or issue.record_id
                self.stdout.write(f"  {issue.severity} {where} {ident}: {issue.code}: {issue.message}")
            rejected += batch.statements_rejected
        if rejected:
            raise CommandError(f"{rejected} statements were rejected; the others were stored", returncode=1)

    def parties(self, query: str, dataset: str, limit: int, **_options: Any) -> None:
        for party in parties_search(q=query, dataset=dataset)[:limit]:
            self.stdout.write(f"{party.pk:>8}  {party.kind:<6} {party.dataset}:{party.record_id}  {party.name}")

    def _party(self, ref: str, dataset: str) -> Party:
        found = Party.objects.filter(dataset=dataset, record_id=ref) if dataset else Party.objects.none()
        if not found.exists() and ref.isdigit():
            found = Party.objects.filter(pk=int(ref))
        if not found.exists():
            found = Party.objects.filter(record_id=ref)
        if found.count() != 1:
            raise CommandError(f"no single party matches {ref!r}; see 'probity ownership parties'", returncode=2)
        party = found.get()
        return party

    def owners(self, party: str, dataset: str, threshold: str, strict: bool, json: bool, **_options: Any) -> None:
        subject = self._party(party, dataset)
        view = ownership_view(party=subject, threshold=_threshold(threshold), inclusive=not strict)
        if json:
            self.stdout.write(_dumps({"party": subject.name, "owners": [o.as_dict() for o in view.owners]}))
            return
        self.stdout.write(f"{subject.name} ({subject.dataset}:{subject.record_id}) at {threshold} %:")
        if not view.owners:
            self.stdout.write("  no ultimate owner recorded")
        for owner in view.owners:
            parts = [owner.status, owner.party.name or owner.party.record_id]
            if owner.ownership_label:
                parts.append(
                    f"owns {owner.ownership_label}" + (" (unknown share on the way)" if owner.share.unknown else "")
                )
            if owner.voting_label:
                parts.append(f"votes {owner.voting_label}")
            if owner.share.control:
                parts.append("controls")
            elif owner.share.manage:
                parts.append("manages")
            if owner.declared is not None:
                parts.append("declared beneficial owner" if owner.declared else "declared not beneficial")
            self.stdout.write("  " + "; ".join(parts))

    def chains(self, party: str, dataset: str, threshold: str, strict: bool, json: bool, **_options: Any) -> None:
        subject = self._party(party, dataset)
        view = ownership_view(party=subject, threshold=_threshold(threshold), inclusive=not strict)
        rendered = [
            [{"name": step["party"].name or step["party"].record_id, "share": step["label"]} for step in chain]
            for chain in view.chain_names()
        ]
        if json:
            self.stdout.write(_dumps({"party": subject.name, "chains": rendered, "truncated": view.chains_truncated}))
            return
        for chain in rendered:
            self.stdout.write(
                "  "
                + " → ".join(f"{step['name']} [{step['share']}]" if step["share"] else step["name"] for step in chain)
            )
        if view.chains_truncated:
            self.stdout.write("  … more chains not shown")

    def issues(self, dataset: str, limit: int, **_options: Any) -> None:
        queryset = IngestIssue.objects.order_by("-batch_id", "position")
        if dataset:
            queryset = queryset.filter(dataset=dataset)
        for issue in queryset[:limit]:
            self.stdout.write(
                f"{issue.dataset} #{issue.position} {issue.severity} {issue.statement_id or issue.record_id}: "
                f"{issue.code}: {issue.message}"
            )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
