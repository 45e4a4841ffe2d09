"""``probity declarations import`` beside plain ``json`` + ``jsonschema`` validation of the same declarations.

    .venv/bin/python benchmarks/declarations_import.py                      # 10 000 declarations, SQLite
    .venv/bin/python benchmarks/declarations_import.py --declarations 50000 --format json --profile
    .venv/bin/python benchmarks/declarations_import.py --database postgres://postgres@127.0.0.1:5432/probity_bench

1. **Data**: N declarations from ``benchmarks/declarations.py`` (deterministic, three years per declarant,
   family members, assets, income, a share in USD or GBP), written as JSON Lines (``--format jsonl``) or
   one JSON array (``--format json``), and the exchange-rate table they need.
2. **Reference** (in this process): each line read with ``json.loads``, then validated with
   ``jsonschema.Draft202012Validator`` (format checks on) against the bundled declaration schema — what a
   script that only checks the file would do, without storing anything.
3. **Probity** (a fresh process on a fresh database: a temporary SQLite file, or the PostgreSQL database
   ``--database`` names, emptied of declarations first): ``declaration_import`` with its defaults — parsed
   record by record with orjson, bounded, fully validated (the schema and the rules it cannot say), hashed
   and written in batches with one summary audit entry per batch. Timed in the process, Django start-up
   and migrations excluded; then run again on the same file (everything unchanged: the idempotency path).

Printed: declarations per second of each, and the ratio (Probity's throughput / the reference's). The
issue's goal is at least 3 000 declarations a second with full validation. ``--profile`` prints the
fifteen most expensive functions of Probity's first run (cProfile).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "src" / "probity" / "declarations" / "schemas" / "declaration-1.0.json"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("declarations_benchmark", ROOT / "benchmarks" / "declarations.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_data(folder: Path, count: int, fmt: str) -> tuple[Path, Path]:
    bench = _generator()
    records = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in bench.generate(count, prefix="IMP")]
    path = folder / f"declarations.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(r + "\n" for r in records), encoding="utf-8")
    else:
        path.write_text("[\n" + ",\n".join(records) + "\n]\n", encoding="utf-8")
    rates = folder / "rates.csv"
    rates.write_text(
        "date,currency,base_currency,rate\n" + "".join(f"{d},{c},EUR,{r}\n" for d, c, r in bench.rate_rows())
    )
    return path, rates


def reference(path: Path) -> tuple[float, float, int, int]:
    """Wall and CPU seconds, valid and invalid records: ``json.loads`` and ``jsonschema`` (2020-12) per record."""
    from jsonschema import Draft202012Validator, FormatChecker

    started, cpu_started = time.perf_counter(), time.process_time()
    validator = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")), format_checker=FormatChecker())
    text = path.read_text(encoding="utf-8")
    records = json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines() if line]
    valid = invalid = 0
    for record in records:
        if next(validator.iter_errors(record), None) is None:
            valid += 1
        else:
            invalid += 1
    return time.perf_counter() - started, time.process_time() - cpu_started, valid, invalid


def stage_probity(database: str, path: Path, rates: Path, profile: bool) -> int:
    """Run in a child process: a fresh database, the rates, then the import twice. Prints one JSON line."""
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from probity.core.audit import audit_actor
    from probity.core.models import Person
    from probity.declarations.models import Declaration, DeclarationVersion, ExchangeRate
    from probity.declarations.services import declaration_import, rates_import

    call_command("migrate", verbosity=0)
    if database.startswith("postgres"):  # a reused database: start from no declarations
        DeclarationVersion.objects.all()._raw_delete(DeclarationVersion.objects.db)
        Declaration.objects.all().delete()
        Person.objects.filter(source_key__startswith="IMP").delete()
    if not ExchangeRate.objects.exists():
        rates_import(path=rates, source="benchmark")
    results: dict[str, Any] = {}
    with audit_actor("system:declarations-import"):
        for run in ("first", "second"):
            profiler = None
            if profile and run == "first":
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            started, cpu_started = time.perf_counter(), time.process_time()
            report = declaration_import(path=path)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            if profiler is not None:
                import io
                import pstats

                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
                sys.stderr.write(out.getvalue())
            results[run] = {
                "seconds": seconds,
                "cpu": cpu,
                "created": report.created,
                "unchanged": report.unchanged,
                "rejected": len(report.errors),
                "first_error": report.errors[0][:200] if report.errors else "",
            }
    print(json.dumps(results))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=10_000)
    parser.add_argument("--format", choices=("jsonl", "json"), default="jsonl")
    parser.add_argument("--database", default="", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", action="store_true", help="cProfile of Probity's first run (on stderr)")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--stage", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rates", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        return stage_probity(args.database, args.file, args.rates, args.profile)

    with tempfile.TemporaryDirectory(prefix="probity-declarations-import-") as name:
        folder = Path(name)
        path, rates = write_data(folder, args.declarations, args.format)
        size = path.stat().st_size / 1024 / 1024
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
        print(f"data: {args.declarations} declarations, {size:.1f} MB ({args.format}); load average {load}")
        database = args.database or f"sqlite:///{folder / 'db.sqlite3'}"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PROBITY_WAREHOUSE=str(folder / "warehouse.duckdb"))
        command = [sys.executable, str(Path(__file__).resolve()), "--stage", "--database", database]
        command += ["--file", str(path), "--rates", str(rates)] + (["--profile"] if args.profile else [])
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            sys.stderr.write(done.stderr[-3000:])
            return done.returncode
        if args.profile:
            sys.stderr.write(done.stderr)
        results = json.loads(done.stdout.strip().splitlines()[-1])
        first, second = results["first"], results["second"]
        rate, cpu_rate = args.declarations / first["seconds"], args.declarations / first["cpu"]
        engine = "PostgreSQL" if database.startswith("postgres") else "SQLite"
        print(
            f"Probity import ({engine}): {first['seconds']:.2f} s, {rate:,.0f} declarations/s; "
            f"CPU {first['cpu']:.2f} s, {cpu_rate:,.0f}/CPU-s ({first['created']} stored, "
            f"{first['unchanged']} unchanged, {first['rejected']} rejected)"
        )
        if first["first_error"]:
            print(f"  first rejected: {first['first_error']}")
        print(
            f"Probity re-run (idempotent): {second['seconds']:.2f} s, {args.declarations / second['seconds']:,.0f} "
            f"declarations/s; CPU {second['cpu']:.2f} s ({second['created']} stored, {second['unchanged']} unchanged)"
        )
        if not args.skip_reference:
            seconds, cpu, valid, invalid = reference(path)
            ref_rate, ref_cpu_rate = args.declarations / seconds, args.declarations / cpu
            print(
                f"reference json.loads + jsonschema Draft 2020-12: {seconds:.2f} s, {ref_rate:,.0f} declarations/s; "
                f"CPU {cpu:.2f} s, {ref_cpu_rate:,.0f}/CPU-s ({valid} valid, {invalid} invalid; nothing stored)"
            )
            ratio, cpu_ratio = rate / ref_rate, cpu_rate / ref_cpu_rate
            print(f"ratio (Probity / reference throughput): wall {ratio:.1f}×, CPU {cpu_ratio:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
