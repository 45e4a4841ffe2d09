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
from collections.abc import Callable
from typing import Any

ACTOR = "system:declarations-select"


def add_parsers(sub: Any) -> None:
    """Add this area's subcommands to the ``probity declarations`` parser."""
    select = sub.add_parser(
        "select",
        help="select declarations for verification: by risk score, by a verifiable random sample, or check a sample",
    )
    mode = select.add_mutually_exclusive_group(required=True)
    mode.add_argument("--risk-top", type=int, metavar="N", help="the N highest-ranked declarations without a case")
    mode.add_argument("--min-score", type=float, metavar="X", help="every declaration with a risk score of X or more")
    mode.add_argument("--random", type=int, metavar="N", help="a verifiable random sample of N declarations")
    mode.add_argument("--check-sample", type=int, metavar="ID", help="draw a recorded sample again and compare")
    mode.add_argument("--algorithm", action="store_true", help="print how a sample is drawn, to re-draw it elsewhere")
    select.add_argument("--top", type=int, metavar="N", help="with --min-score: at most N declarations")
    select.add_argument("--seed", metavar="HEX", help="with --random: 32 to 128 hex digits (default: a random one)")
    select.add_argument("--year", type=int)
    select.add_argument("--type", dest="declaration_type", choices=["entry", "annual", "exit", "post_exit"])
    select.add_argument("--body", dest="body_id", type=int, metavar="ID", help="the public body's database id")
    select.add_argument("--show-population", action="store_true", help="with --check-sample: print every id")


def _select(command: Any, options: dict[str, Any]) -> int:
    from tqdm import tqdm

    from probity.declarations import verification
    from probity.declarations.models import SampleDraw

    out, err = command.stdout, command.stderr
    criteria = {key: options.get(key) for key in ("year", "declaration_type", "body_id")}
    if options.get("algorithm"):
        out.write(f"algorithm: {verification.ALGORITHM}")
        out.write(verification.ALGORITHM_DESCRIPTION)
        return 0
    try:
        if options.get("check_sample") is not None:
            sample = SampleDraw.objects.filter(pk=options["check_sample"]).first()
            if sample is None:
                err.write(f"there is no random sample {options['check_sample']}")
                return 2
            with tqdm(
                total=sample.population_size, desc=f"sample {sample.pk}", unit=" ids", file=sys.stderr, disable=None
            ) as bar:
                check = verification.redraw(sample, progress=bar.update)
            out.write(f"sample: {sample.pk}")
            out.write(f"seed: {sample.seed}")
            out.write(f"algorithm: {sample.algorithm}")
            out.write(f"population size: {len(check.population)} (recorded {sample.population_size})")
            out.write(f"population hash: {check.population_hash} (recorded {sample.population_hash})")
            out.write(f"population matches: {'yes' if check.population_matches else 'no'}")
            out.write(f"selected again: {' '.join(str(i) for i in check.selected)}")
            out.write(f"selected recorded: {' '.join(str(i) for i in sample.selected)}")
            out.write(f"selection matches: {'yes' if check.selected_matches else 'no'}")
            if options.get("show_population"):
                out.write("population: " + " ".join(str(i) for i in check.population))
            out.write("OK: the sample draws again exactly" if check.ok else "MISMATCH: the sample does not draw again")
            return 0 if check.ok else 1
        if options.get("random") is not None:
            with tqdm(desc="random sample", unit=" ids", file=sys.stderr, disable=None) as bar:
                result = verification.draw_sample(
                    size=options["random"],
                    seed=options.get("seed"),
                    criteria=criteria,
                    actor=ACTOR,
                    progress=bar.update,
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
        selection = verification.select_by_risk(
            actor=ACTOR, criteria=criteria, top=top, min_score=options.get("min_score")
        )
        out.write(f"{len(selection.created)} declaration(s) selected for verification by risk score")
        for case in selection.created:
            out.write(f"case {case.pk}: declaration {case.declaration_id}, risk score {case.risk_score:g}")
        return 0
    except ValueError as exc:
        err.write(str(exc))
        return 2


COMMANDS: dict[str, Callable[[Any, dict[str, Any]], int]] = {"select": _select}
