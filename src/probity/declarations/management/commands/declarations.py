"""``probity declarations``: declarations from the console.

    probity declarations import PATH…           JSON (1.0 or the demo's 0.1), JSON Lines, CSV, or folders of them
    probity declarations rates FILE.csv         the exchange-rate table: date,currency,base_currency,rate
    probity declarations verify [--detectors CODES] [--param CODE.NAME=VALUE]

and, beside the code they drive, the subcommands of e-filing (``filing.cli``: deadlines, remind,
nonfilers), verification (``verification.cli``: select) and publication (``publication.cli``:
publish, profiles).

Exit codes: 0 done, 1 done but some records were rejected (data errors, listed on standard error),
2 usage or configuration.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import Subcommands
from probity.core.detectors import get_detector
from probity.core.services import detector_run
from probity.declarations.events import other_readers_changed, verification_queue
from probity.declarations.filing.cli import FilingCommands
from probity.declarations.publication.cli import PublicationCommands
from probity.declarations.selectors import detector_codes
from probity.declarations.services import IMPORT_BATCH, declaration_import, rates_import
from probity.declarations.verification.cli import VerificationCommands


class Command(FilingCommands, VerificationCommands, PublicationCommands):
    help = "Import declarations and exchange rates, and run the declaration verification detectors."

    def add_subcommands(self, subcommands: Subcommands) -> None:
        imp = subcommands.add(
            "import", self.import_files, help="import declaration files (JSON, JSON Lines, CSV) or folders of them"
        )
        imp.add_argument("paths", nargs="+", help="files or folders")
        imp.add_argument(
            "--one-by-one",
            action="store_true",
            help="store each declaration in its own transaction with its own audit entries (slower; "
            "by default valid declarations are stored in batches with one summary audit entry per batch)",
        )
        rates = subcommands.add(
            "rates", self.rates, help="import the exchange-rate table (CSV: date,currency,base_currency,rate)"
        )
        rates.add_argument("file")
        verify = subcommands.add(
            "verify", self.verify, help="run the declaration detectors and print each one's counts"
        )
        verify.add_argument(
            "--detectors", default="", help="comma-separated detector codes (default: every declarations detector)"
        )
        verify.add_argument(
            "--param", action="append", default=[], metavar="CODE.NAME=VALUE", help="a detector parameter"
        )
        self.add_filing_subcommands(subcommands)
        self.add_verification_subcommands(subcommands)
        self.add_publication_subcommands(subcommands)

    def import_files(self, *, paths: list[str], one_by_one: bool, **options: Any) -> int:
        status = 0
        for raw in paths:
            path = Path(raw)
            if not path.exists():
                self.stderr.write(f"{path}: no such file or folder")
                return 2
            with (
                tqdm(desc=path.name, unit=" declarations", file=sys.stderr, disable=None) as bar,
                audit_actor("system:declarations-import"),
            ):
                try:
                    report = declaration_import(
                        path=path, progress=bar.update, batch_size=1 if one_by_one else IMPORT_BATCH
                    )
                except OSError as exc:  # a folder that cannot be listed, a file that cannot be opened
                    self.stderr.write(
                        _("%(path)s: cannot be read (%(reason)s)") % {"path": path, "reason": exc.strerror}
                    )
                    return 2
            if report.created:
                # As the import job does: the new declarations are verified by a background job.
                verification_queue()
                other_readers_changed()
            for error in report.errors:
                self.stderr.write(error)
            self.stdout.write(
                f"{path}: {report.created} stored, {report.unchanged} unchanged, {len(report.errors)} rejected"
            )
            if report.errors:
                status = 1
        return status

    def rates(self, *, file: str, **options: Any) -> int:
        path = Path(file)
        if not path.is_file():
            self.stderr.write(f"{path}: no such file")
            return 2
        try:
            report = rates_import(path=path)
        except ValueError as exc:
            self.stderr.write(str(exc))
            return 2
        for error in report.errors:
            self.stderr.write(error)
        self.stdout.write(
            f"{path}: {report.created} rates stored, {report.unchanged} unchanged, {len(report.errors)} rejected"
        )
        return 1 if report.errors else 0

    def verify(self, *, detectors: str, param: list[str], **options: Any) -> int:
        codes = [c.strip() for c in detectors.split(",") if c.strip()] or list(detector_codes())
        params: dict[str, dict[str, str]] = {}
        for item in param:
            name, sep, value = item.partition("=")
            detector, dot, parameter = name.partition(".")
            if not sep or not dot:
                self.stderr.write(f"--param {item!r}: write CODE.NAME=VALUE")
                return 2
            params.setdefault(detector, {})[parameter] = value
        try:
            for code in codes:
                get_detector(code).resolve_parameters(params.get(code))
        except (LookupError, ValueError) as exc:
            self.stderr.write(str(exc))
            return 2
        for code in codes:
            with (
                tqdm(desc=code, unit=" findings", file=sys.stderr, disable=None) as bar,
                audit_actor("system:declarations-verify"),
            ):

                def total_hint(total: int | None, bar: Any = bar) -> None:
                    bar.total = total

                run = detector_run(code=code, parameters=params.get(code), progress=bar.update, total_hint=total_hint)
            self.stdout.write(
                f"{code}: {run.subjects_checked} checked, {run.flagged} flagged, {run.passed} passed, "
                f"{run.not_applicable} not applicable"
            )
        return 0
