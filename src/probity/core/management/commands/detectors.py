"""probity detectors: list the registered detectors or run one and store its findings."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.detectors import detector_registry
from probity.core.services import detector_run


class Command(BaseCommand):
    help = "List detectors (detectors list) or run one and store findings (detectors run CODE --param k=v)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,run}")
        sub.add_parser("list", help="codes, titles and parameters of every registered detector")
        run = sub.add_parser("run", help="run one detector, or all with --all")
        run.add_argument("codes", nargs="*", help="detector codes")
        run.add_argument("--all", action="store_true", help="run every registered detector")
        run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                         help="override a parameter (repeatable); lists are comma-separated")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        registry = detector_registry()
        if action == "list":
            for code, detector in registry.items():
                self.stdout.write(f"{code}  {detector.title}")
                for parameter in detector.parameters:
                    self.stdout.write(f"    {parameter.name} = {parameter.default!r}  ({parameter.description})")
            return
        codes = list(registry) if options["all"] else options["codes"]
        if not codes:
            raise CommandError("name at least one detector code, or use --all; see 'probity detectors list'")
        given: dict[str, str] = {}
        for pair in options["param"]:
            name, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(f"--param {pair!r} must be NAME=VALUE")
            given[name.strip()] = value
        skipped: list[str] = []
        for code in codes:
            if code not in registry:
                raise CommandError(f"no detector has the code {code!r}; see 'probity detectors list'")
            bar = tqdm(unit="subject", desc=code, file=sys.stderr, disable=options["verbosity"] < 1)

            def set_total(total: int | None, bar: tqdm = bar) -> None:  # type: ignore[type-arg]
                bar.total = total

            try:
                with audit_actor("system:cli"):
                    run = detector_run(code=code, parameters=given or None, started_by="system:cli",
                                       progress=bar.update, total_hint=set_total)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            except LookupError as exc:  # the data this detector reads is not loaded (e.g. no warehouse tables)
                if not options["all"]:
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
