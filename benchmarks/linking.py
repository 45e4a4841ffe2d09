"""Linking the graph (``core.links``): after one new declaration, and a full relink of the demo country.

    .venv/bin/python benchmarks/linking.py               # scale 5
    .venv/bin/python benchmarks/linking.py --scale 1

A fresh installation in a temporary folder (SQLite database outside var/): the demo country is generated and
loaded into the core tables, its BODS register ingested and its declarations imported; the linking those
imports queued is drained (untimed). Then, timed:

- one new declaration naming a spouse the core tables do not know, submitted as the web form does, and the
  linking it queued (``links_drain``: the member becomes a person with a tie, the register looks at her);
  goal under 5 s;
- a full relink (``relink_all``, what ``probity entities relink`` and the ``core.relink`` job run); goal
  under 2 minutes at scale 5.

Printed: the size of the data, each time, the counts of each pass, and the peak memory.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=20260)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="probity-linking-bench-"))
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{folder / 'db.sqlite3'}")
    os.environ["PROBITY_WAREHOUSE"] = str(folder / "warehouse.duckdb")
    os.environ["PROBITY_VAR_DIR"] = str(folder / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from probity.core.audit import audit_actor
    from probity.core.links import links_drain, relink_all
    from probity.core.models import FamilyRelation, Person, RecordLink
    from probity.declarations.models import Declaration
    from probity.declarations.services import declaration_submit
    from probity.demo.generator import generate_country
    from probity.demo.services import demo_declarations_import, demo_generate, demo_load
    from probity.ownership.models import Party
    from probity.ownership.services import ownership_ingest

    def step(label: str, started: float) -> float:
        now = time.perf_counter()
        print(f"{label:<52} {now - started:8.1f} s")
        return now

    call_command("migrate", verbosity=0)
    clock = time.perf_counter()
    demo = folder / "demo"
    with audit_actor("system:benchmark"):
        demo_generate(seed=args.seed, scale=args.scale, out_dir=demo)
        demo_load(country=generate_country(args.seed, args.scale))
        clock = step("demo generate + load", clock)
        ownership_ingest(path=demo / "bods" / "statements.json", dataset="demo")
        clock = step("BODS ingest", clock)
        report = demo_declarations_import(demo_dir=demo)
        clock = step(f"declarations import ({report.created} stored)", clock)
        links_drain()
        clock = step("linking the imports queued (untimed goal)", clock)
        print(
            f"   {Person.objects.count()} people, {FamilyRelation.objects.count()} family ties, "
            f"{Party.objects.count()} register parties, {Declaration.objects.count()} declarations, "
            f"{RecordLink.objects.count()} links"
        )

        latest = Declaration.objects.order_by("-pk").first()
        assert latest is not None
        content = copy.deepcopy(latest.latest_version().content)  # type: ignore[union-attr]
        content["external_id"] = "benchmark-new-declaration"
        content["period"]["year"] = int(content["period"]["year"]) + 1
        content["family_members"] = [
            *content.get("family_members", []),
            {"id": "bench-spouse", "relation": "spouse", "name": "Benchmark Newspouse", "birth_date": "1970-01-01"},
        ]
        started = time.perf_counter()
        declaration_submit(declarant=latest.declarant, payload=content)
        run = links_drain()
        one = time.perf_counter() - started
        print(f"{'one new declaration: submit + linking':<52} {one:8.2f} s  (goal < 5 s)")
        print(f"   {json.dumps({code: vars(c) for code, c in run.counts.items()})}")

        started = time.perf_counter()
        run = relink_all()
        full = time.perf_counter() - started
        print(f"{'full relink':<52} {full:8.1f} s  (goal < 120 s)")
        print(f"   {json.dumps({code: vars(c) for code, c in run.counts.items()})}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB; load average {os.getloadavg()[0]:.1f}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
