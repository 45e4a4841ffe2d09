"""Generating the synthetic demo country: the country in memory, and its files, at several scales.

    .venv/bin/python benchmarks/demo_generate.py                       # seed 20260, scales 0.05, 1 and 5
    .venv/bin/python benchmarks/demo_generate.py --scales 0.05 --repeat 5 --skip-write

For each scale, ``probity.demo.generator.generate_country`` is timed ``--repeat`` times (the noise layer
included, as ``probity demo generate`` draws it) and the fastest run is kept; then, unless ``--skip-write``,
``probity.demo.writers.write_country`` writes the files (OCDS, BODS, FollowTheMoney, declarations, debarments,
ground truth) into a temporary folder, also fastest of ``--repeat`` after one untimed warm-up run (the
first write in a process loads FollowTheMoney's model). Records are the country's rows of every kind
(``Country.counts()``: bodies, people, positions, companies, ownerships, processes, declarations, ...).
No reference to compare with: the figure to watch is scale 0.05, the size the test suite uses, which once
had to generate in under 0.5 s (a timed assertion that lived in tests/demo/test_generator.py).

Printed: one Markdown table row per scale (seed, scale, records, seconds, records per second, write
seconds, megabytes written) and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from probity.demo.generator import Country, generate_country  # noqa: E402  (after the path is set)
from probity.demo.writers import write_country  # noqa: E402


def fastest(job: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - started)
    return best


def generated(seed: int, scale: float) -> Country:
    country = generate_country(seed, scale)
    _ = country.noise  # drawn lazily; `probity demo generate` always writes it
    return country


def one_scale(seed: int, scale: float, repeat: int, write: bool) -> str:
    seconds = fastest(lambda: generated(seed, scale), repeat)
    country = generated(seed, scale)
    records = sum(country.counts().values())
    write_cell = size_cell = "—"
    if write:
        folder = Path(tempfile.mkdtemp(prefix="probity-demo-bench-"))
        try:
            write_country(country, folder / "warm-up")
            write_seconds = fastest(lambda: write_country(country, folder / "out"), repeat)
            size = sum(p.stat().st_size for p in (folder / "out").rglob("*") if p.is_file())
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        write_cell, size_cell = f"{write_seconds:.2f}", f"{size / 1e6:.1f}"
    return (
        f"| {seed} | {scale:g} | {records:,} | {seconds:.3f} | {records / seconds:,.0f} | {write_cell} | {size_cell} |"
    ).replace(",", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.05, 1.0, 5.0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest is kept")
    parser.add_argument("--skip-write", action="store_true", help="time the country in memory only")
    args = parser.parse_args()
    print("| seed | scale | records | generate s | records/s | write s | files MB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for scale in args.scales:
        print(one_scale(args.seed, scale, args.repeat, not args.skip_write), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
