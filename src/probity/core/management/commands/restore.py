"""probity restore: bring a backup archive into an empty installation, then check its audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from probity.core.audit import audit_actor
from probity.core.backup import ArchiveDamaged, BackupError, backup_restore
from probity.core.management.commands.backup import progress_bars
from probity.warehouse.services import ConfigurationError


class Command(BaseCommand):
    help = "Restore a backup archive (made by probity backup) into an empty installation; decrypts nothing."
    # Neither needs the web routes; an empty target would only fail the checks that read the database.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, metavar="ARCHIVE", help="the .tar file or folder of probity backup")

    def handle(self, *args: Any, archive: Path, verbosity: int, **options: Any) -> None:
        try:
            with audit_actor("system:restore"):
                result = backup_restore(
                    archive=archive, progress=progress_bars(verbosity=verbosity), note=self.stderr.write
                )
        except ArchiveDamaged as exc:
            raise CommandError(f"restore refused: {exc}", returncode=2) from exc
        except (BackupError, ConfigurationError) as exc:
            raise CommandError(f"restore refused: {exc}", returncode=2) from exc
        self.stdout.write(
            f"Restored {result.tables} tables ({result.rows} rows), {result.report_files} encrypted report files "
            f"and {result.warehouse}."
        )
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"The audit log's head matches the archive's seal and all {result.entries_checked} entries "
                    "verify with this installation's audit key."
                )
            )
            return
        if not result.head_matches:
            self.stderr.write("The audit log's head does not match the seal recorded in the archive.")
        for problem in result.problems[:20]:
            self.stderr.write(problem)
        raise CommandError(
            f"The data was restored, but the audit log does not verify ({len(result.problems)} problem(s) in "
            f"{result.entries_checked} entries): check that PROBITY_AUDIT_KEY (or PROBITY_SECRET_KEY, from which it "
            "is derived when unset) is the one of the installation that was backed up.",
            returncode=1,
        )
