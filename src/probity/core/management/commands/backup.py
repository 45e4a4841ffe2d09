"""probity backup: write one archive of the installation (database, encrypted report files, warehouse,
audit head), or check an archive's hashes without restoring it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.backup import ArchiveDamaged, BackupError, ProgressFactory, backup_create, backup_verify
from probity.warehouse.services import ConfigurationError


def progress_bars(*, verbosity: int) -> ProgressFactory:
    """Progress bars on standard error (none at verbosity 0)."""

    @contextmanager
    def bar(desc: str, total: int, unit: str) -> Iterator[Callable[[int], object]]:
        with tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            disable=verbosity < 1 or total < (10_000_000 if unit == "B" else 1000),
            file=sys.stderr,
            leave=False,
        ) as shown:
            yield shown.update

    return bar


class Command(BaseCommand):
    help = "Back up the installation into one archive (--output FILE.tar or FOLDER), or check one (--check)."
    # Neither needs the web routes; an empty target would only fail the checks that read the database.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument(
            "--output",
            type=Path,
            metavar="FILE.tar|FOLDER",
            help="the new archive: a .tar file, or else a new folder; never overwritten",
        )
        what.add_argument(
            "--check",
            type=Path,
            metavar="ARCHIVE",
            help="check an archive's sizes and SHA-256 hashes only",
        )

    def handle(self, *args: Any, output: Path | None, check: Path | None, verbosity: int, **options: Any) -> None:
        progress = progress_bars(verbosity=verbosity)
        if check is not None:
            try:
                manifest = backup_verify(archive=check, progress=progress)
            except ArchiveDamaged as exc:
                raise CommandError(f"archive refused: {exc}", returncode=2) from exc
            except BackupError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            self.stdout.write(
                self.style.SUCCESS(
                    f"The archive is intact: {len(manifest['files'])} files match their SHA-256 hashes "
                    f"(made {manifest['created']} by Probity {manifest['probity_version']} on "
                    f"{manifest['database']['engine']}; audit head at entry {manifest['audit_head']['sequence']})."
                )
            )
            return
        assert output is not None
        try:
            with audit_actor("system:backup"):
                result = backup_create(output=output, progress=progress, note=self.stderr.write)
        except (BackupError, ConfigurationError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        manifest = result.manifest
        warehouse = "the warehouse" if manifest["warehouse"]["included"] else "no warehouse"
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {len(manifest['database']['tables'])} tables ({result.rows} rows), "
                f"{manifest['reporting_store']['files']} encrypted report files and {warehouse} to {result.path}; "
                f"audit head at entry {manifest['audit_head']['sequence']}. No keys are in the archive: keep "
                "PROBITY_SECRET_KEY, PROBITY_AUDIT_KEY, PROBITY_IDENTIFIER_KEY and PROBITY_REPORTING_PEPPER separately."
            )
        )
