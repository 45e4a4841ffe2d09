"""``probity declarations select``: selection of declarations for verification.

    probity declarations select --risk-top N [--year Y] [--type T] [--body ID]
    probity declarations select --min-score X [--risk-top N] [--year Y] [--type T] [--body ID]
    probity declarations select --random N [--seed HEX] [--year Y] [--type T] [--body ID]
    probity declarations select --check-sample ID
    probity declarations select --algorithm

``--random`` prints the seed, the population's size and SHA-256 and the selected declaration ids
(one per line after ``selected:``); ``--check-sample`` draws a recorded sample again and exits 1
when the population or the result differ. Exit codes: 0 done, 1 check failed, 2 usage.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.declarations.models import SampleDraw
from probity.declarations.verification import sampling, selectors, services

ACTOR = "system:declarations-select"


class VerificationCommands(SubcommandCommand):
    """The verification part of the ``probity declarations`` command."""

    def add_verification_subcommands(self, subcommands: Subcommands) -> None:
        select = subcommands.add(
            "select",
            self.select,
            help="select declarations for verification: by risk score, by a verifiable random sample, or check a "
            "sample",
        )
        mode = select.add_mutually_exclusive_group(required=True)
        mode.add_argument("--risk-top", type=int, metavar="N", help="the N highest-ranked declarations without a case")
        mode.add_argument(
            "--min-score", type=float, metavar="X", help="every declaration with a risk score of X or more"
        )
        mode.add_argument("--random", type=int, metavar="N", help="a verifiable random sample of N declarations")
        mode.add_argument("--check-sample", type=int, metavar="ID", help="draw a recorded sample again and compare")
        mode.add_argument(
            "--algorithm", action="store_true", help="print how a sample is drawn, to re-draw it elsewhere"
        )
        select.add_argument("--top", type=int, metavar="N", help="with --min-score: at most N declarations")
        select.add_argument("--seed", metavar="HEX", help="with --random: 32 to 128 hex digits (default: a random one)")
        select.add_argument("--year", type=int)
        select.add_argument("--type", dest="declaration_type", choices=["entry", "annual", "exit", "post_exit"])
        select.add_argument("--body", dest="body_id", type=int, metavar="ID", help="the public body's database id")
        select.add_argument("--show-population", action="store_true", help="with --check-sample: print every id")

    def select(self, **options: Any) -> int:
        """Selection acts as the system (``ACTOR``): the services take no user."""
        out, err = self.stdout, self.stderr
        criteria = {key: options.get(key) for key in ("year", "declaration_type", "body_id")}
        if options.get("algorithm"):
            out.write(f"algorithm: {sampling.ALGORITHM}")
            out.write(sampling.ALGORITHM_DESCRIPTION)
            return 0
        try:
            if options.get("check_sample") is not None:
                return self._check_sample(options["check_sample"], bool(options.get("show_population")))
            if options.get("random") is not None:
                with (
                    tqdm(desc="random sample", unit=" ids", file=sys.stderr, disable=None) as bar,
                    audit_actor(ACTOR),
                ):
                    result = services.draw_sample(
                        size=options["random"], seed=options.get("seed"), criteria=criteria, progress=bar.update
                    )
                sample = result.sample
                out.write(f"sample: {sample.pk}")
                out.write(f"seed: {sample.seed}")
                out.write(f"algorithm: {sample.algorithm}")
                out.write(f"criteria: {sample.criteria}")
                out.write(f"population size: {sample.population_size}")
                out.write(f"population hash: {sample.population_hash}")
                out.write(f"cases opened: {len(result.created)}; already open: {len(result.already_open)}")
                out.write("selected:")
                for declaration_id in sample.selected:
                    out.write(str(declaration_id))
                return 0
            top = options.get("risk_top") if options.get("risk_top") is not None else options.get("top")
            with audit_actor(ACTOR):
                selection = services.select_by_risk(criteria=criteria, top=top, min_score=options.get("min_score"))
            out.write(f"{len(selection.created)} declaration(s) selected for verification by risk score")
            for case in selection.created:
                out.write(f"case {case.pk}: declaration {case.declaration_id}, risk score {case.risk_score:g}")
            return 0
        except ValueError as exc:
            err.write(str(exc))
            return 2

    def _check_sample(self, sample_id: int, show_population: bool) -> int:
        out = self.stdout
        sample = SampleDraw.objects.filter(pk=sample_id).first()
        if sample is None:
            self.stderr.write(f"there is no random sample {sample_id}")
            return 2
        with tqdm(
            total=sample.population_size, desc=f"sample {sample.pk}", unit=" ids", file=sys.stderr, disable=None
        ) as bar:
            check = selectors.redraw(sample=sample, progress=bar.update)
        out.write(f"sample: {sample.pk}")
        out.write(f"seed: {sample.seed}")
        out.write(f"algorithm: {sample.algorithm}")
        out.write(f"population size: {len(check.population)} (recorded {sample.population_size})")
        out.write(f"population hash: {check.population_hash} (recorded {sample.population_hash})")
        out.write(f"population matches: {'yes' if check.population_matches else 'no'}")
        out.write(f"selected again: {' '.join(str(i) for i in check.selected)}")
        out.write(f"selected recorded: {' '.join(str(i) for i in sample.selected)}")
        out.write(f"selection matches: {'yes' if check.selected_matches else 'no'}")
        if show_population:
            out.write("population: " + " ".join(str(i) for i in check.population))
        out.write("OK: the sample draws again exactly" if check.ok else "MISMATCH: the sample does not draw again")
        return 0 if check.ok else 1
