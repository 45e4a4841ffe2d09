"""BODS ingest of the demo country's company register: time at several scales, and a re-run.

    .venv/bin/python benchmarks/ownership_ingest.py                  # scales 1, 2 and 5
    .venv/bin/python benchmarks/ownership_ingest.py --scales 1 2 --profile

For each scale, a fresh installation in a temporary folder (SQLite database, as in
``benchmarks/ownership_conflicts.py``): the demo country is generated and loaded into the core tables
(so that register persons and companies have people and organisations to be linked to), then
``probity.ownership.services.ownership_ingest`` reads ``bods/statements.json`` — first run (every
statement stored, parties linked to core records) and second run (every statement unchanged: the
idempotency path). ``--profile`` prints the ten most expensive functions of the first run (cProfile).
Printed per scale: statements, time of each run, statements per second, and the ratio of times to
scale 1 (linear growth keeps it near the scale ratio).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_scale(scale: float, seed: int, profile: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="probity-bods-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ["PROBITY_WAREHOUSE"] = str(folder / "warehouse.duckdb")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from probity.demo.generator import generate_country
    from probity.demo.services import demo_generate, demo_load
    from probity.ownership.models import Party, Relationship
    from probity.ownership.services import ownership_ingest

    call_command("migrate", verbosity=0)
    demo = folder / "demo"
    demo_generate(seed=seed, scale=scale, out_dir=demo)
    demo_load(country=generate_country(seed, scale))
    path = demo / "bods" / "statements.json"
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    first = ownership_ingest(path=path, dataset="demo")
    if profiler is not None:
        profiler.disable()
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = ownership_ingest(path=path, dataset="demo")
    second_seconds = time.perf_counter() - started
    batch = first.batch
    print(
        f"scale {scale:g}: {batch.statements_read} statements; first run {first_seconds:.1f} s "
        f"({batch.statements_read / first_seconds:.0f}/s; stored {batch.statements_stored}, "
        f"rejected {batch.statements_rejected}, warnings {batch.warnings}); "
        f"re-run {second_seconds:.1f} s (unchanged {second.batch.statements_unchanged}, "
        f"stored {second.batch.statements_stored}); parties {Party.objects.count()}, "
        f"linked to people {Party.objects.filter(person__isnull=False).count()}, to organisations "
        f"{Party.objects.filter(organisation__isnull=False).count()}; relationships {Relationship.objects.count()}; "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 5.0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # one scale in this process
    args = parser.parse_args()
    if args.one is not None:
        one_scale(args.one, args.seed, args.profile)
        return
    for scale in args.scales:  # each scale in its own process: a fresh Django setup and database
        command = [sys.executable, __file__, "--one", str(scale), "--seed", str(args.seed)]
        subprocess.run([*command, *(["--profile"] if args.profile else [])], check=True)


if __name__ == "__main__":
    main()
