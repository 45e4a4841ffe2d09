"""Conflict-of-interest detectors on the demo country: time, and recall of the planted schemes.

    .venv/bin/python benchmarks/ownership_conflicts.py               # scale 1 (2 000 processes)
    .venv/bin/python benchmarks/ownership_conflicts.py --scale 5

A fresh installation in a temporary folder (SQLite database, DuckDB warehouse): the demo country is
generated, loaded into the core tables, its BODS register ingested and its OCDS releases flattened
into the procurement tables; then OWN-COI-BIDDER-LINKS and OWN-COI-PEP-SUPPLIER run through
``detector_run``. Printed: the time of each step, the outcome counts, the share of processes of the
planted BID-RIGGING schemes that are flagged, and the planted CONFLICT-FAMILY-SUPPLIER suppliers of
PEP officials that are flagged. No tool named in the issue runs these queries, so there is no
reference time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="probity-coi-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ["PROBITY_WAREHOUSE"] = str(folder / "warehouse.duckdb")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from probity.core.models import Finding, Person, Position
    from probity.core.services import detector_run
    from probity.demo.generator import generate_country
    from probity.demo.services import demo_generate, demo_load
    from probity.ownership.services import ownership_ingest
    from probity.procurement.flatten import flatten_into_warehouse
    from probity.warehouse.services import warehouse_connection

    def step(label: str, started: float) -> float:
        now = time.perf_counter()
        print(f"{label:<40} {now - started:8.1f} s")
        return now

    call_command("migrate", verbosity=0)
    clock = time.perf_counter()
    demo = folder / "demo"
    demo_generate(seed=args.seed, scale=args.scale, out_dir=demo)
    demo_load(country=generate_country(args.seed, args.scale))
    clock = step("demo generate + load", clock)
    ownership_ingest(path=demo / "bods" / "statements.json", dataset="demo")
    clock = step("BODS ingest", clock)
    with warehouse_connection() as warehouse:
        report = flatten_into_warehouse(warehouse, demo / "ocds" / "releases.jsonl")
    clock = step(f"flatten {report.releases} releases", clock)
    truth = json.loads((demo / "ground_truth.json").read_text(encoding="utf-8"))
    for code in ("OWN-COI-BIDDER-LINKS", "OWN-COI-PEP-SUPPLIER"):
        run = detector_run(code=code)
        clock = step(f"{code} ({run.status})", clock)
        print("   outcomes:", dict(Counter(run.findings.values_list("outcome", flat=True))))
        flagged = set(run.findings.filter(outcome="flag").values_list("subject_id", flat=True))
        if code == "OWN-COI-BIDDER-LINKS":
            planted = [o for s in truth["schemes"] if s["type"] == "BID-RIGGING" for o in s["refs"]["ocds"]["ocids"]]
            found = sum(1 for o in planted if o in flagged)
            print(f"   planted BID-RIGGING processes flagged: {found}/{len(planted)}")
        else:
            wanted = 0
            found = 0
            for scheme in truth["schemes"]:
                if scheme["type"] != "CONFLICT-FAMILY-SUPPLIER":
                    continue
                officials = Person.objects.filter(source_key__in=scheme["refs"]["core"]["person"])
                if not Position.objects.filter(holder__in=officials, is_pep=True).exists():
                    continue
                wanted += 1
                numbers = {p.removeprefix("XD-CR-") for p in scheme["refs"]["ocds"]["parties"]}
                found += any(
                    f.evidence["supplier"]["identifier"] in numbers
                    for f in Finding.objects.filter(run=run, outcome="flag")
                )
            print(f"   planted family suppliers of PEP officials flagged: {found}/{wanted}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
