"""OCDS ingest: time and peak memory on a generated release package, against the in-memory way.

    .venv/bin/python benchmarks/ocds_ingest.py [--megabytes 1024] [--format package|jsonl] [--gzip]

The issue's goal: a 1 GB file (the default) ingests in at most 3× the reference's time, on an idle
machine, in under 2 GB of memory. Iterate at ``--megabytes 100``.

Writes a synthetic OCDS 1.1 release package (three releases per process: tender, award, contract)
of about the given size to a temporary folder, then in two fresh processes:

- **Probity**: ``procurement_ingest`` into a new DuckDB file (streamed, validated, compiled);
- **reference**: ``json.load`` of the whole file, then ``ocdsmerge.Merger`` (the bundled schema's
  merge rules) per OCID — what a script using ocdsmerge directly does, without validation or storage.

The reference reads a JSON Lines file line by line (``json.loads``) and a package with ``json.load``
(the whole package: that is how ocdsmerge's users read one). Prints wall time and peak resident memory
of each (the child's ``ru_maxrss`` from ``os.wait4``, as ``getrusage(RUSAGE_CHILDREN)`` would give it for
that child alone), the ratios, the load average before each run, and a
Markdown row for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def release(ocid: str, number: int, stage: str, rng: random.Random) -> dict[str, object]:
    buyer = {"id": f"GB-GOV-{rng.randint(1, 500)}", "name": f"Public body {rng.randint(1, 500)}"}
    supplier = {"id": f"GB-COH-{rng.randint(1, 50_000)}", "name": f"Supplier {rng.randint(1, 50_000)} Ltd"}
    amount = round(rng.uniform(1_000, 5_000_000), 2)
    data: dict[str, object] = {
        "ocid": ocid,
        "id": f"{ocid}-{stage}",
        "date": f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}T{number % 24:02d}:00:00+01:00",
        "tag": [stage],
        "initiationType": "tender",
        "parties": [dict(buyer, roles=["buyer"]), dict(supplier, roles=["supplier"])],
        "buyer": buyer,
        "tender": {
            "id": f"{ocid}-tender",
            "title": f"Supply of goods lot {number}",
            "description": "Framework agreement for the supply of goods and services. " * rng.randint(2, 12),
            "status": "active" if stage == "tender" else "complete",
            "procurementMethod": rng.choice(["open", "selective", "limited", "direct"]),
            "value": {"amount": amount, "currency": "GBP"},
            "tenderPeriod": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-02-01T00:00:00Z"},
            "numberOfTenderers": rng.randint(1, 9),
            "items": [
                {"id": str(item), "description": f"Item {item}", "quantity": rng.randint(1, 100)} for item in range(3)
            ],
        },
    }
    if stage in ("award", "contract"):
        data["awards"] = [
            {
                "id": f"{ocid}-award",
                "status": "active",
                "date": "2024-03-01T00:00:00Z",
                "value": {"amount": round(amount * 0.93, 2), "currency": "GBP"},
                "suppliers": [supplier],
            }
        ]
    if stage == "contract":
        data["contracts"] = [
            {
                "id": f"{ocid}-contract",
                "awardID": f"{ocid}-award",
                "status": "active",
                "value": {"amount": round(amount * 0.93, 2), "currency": "GBP"},
                "period": {"startDate": "2024-04-01T00:00:00Z", "endDate": "2025-04-01T00:00:00Z"},
            }
        ]
    return data


def generate(path: Path, megabytes: float, fmt: str, use_gzip: bool) -> tuple[int, int]:
    """Writes the data; returns (releases, processes)."""
    rng = random.Random(20241122)  # noqa: S311 - synthetic data, fixed seed
    target = int(megabytes * 1024 * 1024)
    opener = gzip.open if use_gzip else open
    releases = processes = 0
    with opener(path, "wt", encoding="utf-8") as handle:
        if fmt == "package":
            handle.write(
                '{"uri": "https://example.org/benchmark.json", "version": "1.1", "publishedDate": '
                '"2024-06-01T00:00:00Z", "releases": [\n'
            )
        written = 0
        while written < target:
            ocid = f"ocds-bench0-{processes:09d}"
            processes += 1
            for stage in ("tender", "award", "contract"):
                text = json.dumps(release(ocid, processes, stage, rng), separators=(",", ":"))
                if fmt == "package":
                    text = ("," if releases else "") + text
                handle.write(text + "\n")
                written += len(text) + 1
                releases += 1
        if fmt == "package":
            handle.write("]}\n")
    return releases, processes


PROBITY = """
import os, resource, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "probity.settings"
os.environ["PROBITY_WAREHOUSE"] = sys.argv[2]
import django
django.setup()
from pathlib import Path
from probity.procurement.ingest import procurement_ingest
start = time.perf_counter()
report = procurement_ingest(paths=[Path(sys.argv[1])], register=False)
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, report.accepted, report.rejected, report.processes)
"""

REFERENCE = """
import gzip, json, resource, sys, time
from collections import defaultdict
from ocdsmerge import Merger
from probity.standards.ocds import release_schema
start = time.perf_counter()
opener = gzip.open if sys.argv[1].endswith(".gz") else open
with opener(sys.argv[1], "rt", encoding="utf-8") as handle:
    if sys.argv[2] == "package":
        releases = json.load(handle)["releases"]
    else:
        releases = [json.loads(line) for line in handle if line.strip()]
by_ocid = defaultdict(list)
for item in releases:
    by_ocid[item["ocid"]].append(item)
merger = Merger(schema=release_schema())
compiled = [merger.create_compiled_release(items) for items in by_ocid.values()]
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(releases), 0, len(compiled))
"""


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(script: str, *args: str) -> tuple[float, float, str]:
    """Runs ``script`` in a fresh interpreter: its own timing (s), its peak RSS (MB, the child's
    ``ru_maxrss`` as ``wait4`` reports it, which covers everything it ever held) and its counts."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    with tempfile.TemporaryFile("w+") as output:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script, *args], stdout=output, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        output.seek(0)
        text = output.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the measured run failed:\n{text[-3000:]}")
    seconds, _rss_kb, *counts = text.strip().splitlines()[-1].split()
    return float(seconds), usage.ru_maxrss / 1024, " ".join(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=1024)
    parser.add_argument("--format", choices=("package", "jsonl"), default="package")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--skip-reference", action="store_true", help="only run Probity (the reference needs RAM)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocds-bench-") as folder:
        suffix = ".json" if options.format == "package" else ".jsonl"
        path = Path(folder) / f"benchmark{suffix}{'.gz' if options.gzip else ''}"
        releases, processes = generate(path, options.megabytes, options.format, options.gzip)
        size = path.stat().st_size / 1024 / 1024
        print(f"data: {releases} releases, {processes} processes, {size:.0f} MB on disk ({options.format})")
        print(f"load average before Probity: {load()}")
        seconds, rss, counts = measure(PROBITY, str(path), str(Path(folder) / "warehouse.duckdb"))
        print(f"Probity ingest:  {seconds:8.1f} s  peak RSS {rss:7.0f} MB  (accepted rejected processes: {counts})")
        if not options.skip_reference:
            print(f"load average before the reference: {load()}")
            ref_seconds, ref_rss, ref_counts = measure(REFERENCE, str(path), options.format)
            print(
                f"json.load+ocdsmerge: {ref_seconds:4.1f} s  peak RSS {ref_rss:7.0f} MB  "
                f"(releases _ processes: {ref_counts})"
            )
            ratio = seconds / ref_seconds
            print(f"ratio (Probity / reference): time {ratio:.2f}, peak memory {rss / ref_rss:.2f}")
            goal = "met" if ratio <= 3 and rss < 2048 else "missed"
            command = f"benchmarks/ocds_ingest.py --megabytes {options.megabytes:g} --format {options.format}"
            print(
                f"| OCDS ingest ({options.format}) | {size:.0f} MB, {releases} releases, {processes} processes "
                f"| {seconds:.1f} s, peak {rss:.0f} MB "
                f"| `json` + ocdsmerge: {ref_seconds:.1f} s, peak {ref_rss:.0f} MB "
                f"| {ratio:.2f} (goal ≤ 3 and < 2 GB: {goal}) | `{command}` "
                f"| {date.today().isoformat()}, load {load()} |"
            )


if __name__ == "__main__":
    main()
