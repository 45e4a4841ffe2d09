"""probity detectors: list the registered detectors, run them and store findings, or write the catalogue."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.detectors import detector_registry
from probity.core.detectors.catalogue import detector_catalogue
from probity.core.services import detector_run


class Command(SubcommandCommand):
    help = "List detectors (detectors list) or run one and store findings (detectors run CODE --param k=v)."

    def add_subcommands(self, subcommands: Subcommands) -> None:
        subcommands.add("list", self.list_detectors, help="codes, titles and parameters of every registered detector")
        run = subcommands.add("run", self.run, help="run one detector, or all with --all")
        run.add_argument("codes", nargs="*", help="detector codes")
        run.add_argument("--all", action="store_true", help="run every registered detector")
        run.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="override a parameter (repeatable); lists are comma-separated",
        )
        catalogue = subcommands.add(
            "catalogue", self.catalogue, help="the detector catalogue (Markdown), generated from the registry"
        )
        catalogue.add_argument("--output", type=Path, help="write it to this file instead of printing it")
        catalogue.add_argument(
            "--check", action="store_true", help="exit 1 if the --output file is not the current catalogue"
        )

    def list_detectors(self, **options: Any) -> None:
        for code, detector in detector_registry().items():
            self.stdout.write(f"{code}  {detector.title}")
            for parameter in detector.parameters:
                self.stdout.write(f"    {parameter.name} = {parameter.default!r}  ({parameter.description})")

    def catalogue(self, *, output: Path | None, check: bool, **options: Any) -> int:
        text = detector_catalogue()
        if output is None:
            if check:
                raise CommandError("--check needs --output FILE: the catalogue file to compare")
            self.stdout.write(text, ending="")
            return 0
        if check:
            current = output.read_text(encoding="utf-8") if output.exists() else ""
            if current != text:
                self.stderr.write(
                    f"{output} is not the current detector catalogue; "
                    f"run 'probity detectors catalogue --output {output}' and commit it"
                )
                return 1
            self.stdout.write(f"{output} is current ({len(detector_registry())} detectors)")
            return 0
        output.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {output} ({len(detector_registry())} detectors)")
        return 0

    def run(self, *, codes: list[str], all: bool, param: list[str], verbosity: int, **options: Any) -> None:
        registry = detector_registry()
        codes = list(registry) if all else codes
        if not codes:
            raise CommandError("name at least one detector code, or use --all; see 'probity detectors list'")
        given: dict[str, str] = {}
        for pair in param:
            name, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(f"--param {pair!r} must be NAME=VALUE")
            given[name.strip()] = value
        skipped: list[str] = []
        for code in codes:
            if code not in registry:
                raise CommandError(f"no detector has the code {code!r}; see 'probity detectors list'")
            bar = tqdm(unit="subject", desc=code, file=sys.stderr, disable=verbosity < 1)

            def set_total(total: int | None, bar: tqdm = bar) -> None:
                bar.total = total

            try:
                with audit_actor("system:cli"):
                    run = detector_run(code=code, parameters=given or None, progress=bar.update, total_hint=set_total)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            except LookupError as exc:  # the data this detector reads is not loaded (e.g. no warehouse tables)
                if not all:
                    raise CommandError(f"{code}: {exc}") from exc
                self.stderr.write(f"{code}: not run: {exc}")
                skipped.append(code)
                continue
            finally:
                bar.close()
            self.stdout.write(
                f"{code}: {run.subjects_checked} checked, {run.flagged} flagged, {run.passed} passed, "
                f"{run.not_applicable} not applicable in {run.duration_seconds:.2f}s (run {run.pk})"
            )
        if skipped:
            self.stdout.write(
                f"{len(skipped)} detectors not run because their data is not loaded: {', '.join(skipped)}"
            )
