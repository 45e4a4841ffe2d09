"""Benchmark: ``probity procurement indicators`` (all 11 Cardinal indicators) against one streaming
pass of Cardinal's Rust code (``ocdscardinal.coverage``) over the same file, in one run.

    .venv/bin/python benchmarks/procurement.py --releases 100000
    .venv/bin/python benchmarks/procurement.py --releases 1000000 --skip-check

It writes N synthetic compiled releases with bids (about 1 kB each: 100 000 ≈ 100 MB) to
``var/benchmarks/`` (kept for the next run), then times each tool as its own process under
``/usr/bin/time -v`` (wall time, CPU time and peak resident memory) and prints the ratios.

Probity is timed three ways: ``probity procurement indicators`` compiling its Ibis expressions
afresh (``--no-plan-cache``: what a first run with new settings costs); the same command reusing
the SQL an earlier run with the same settings kept (``var/cache/procurement-indicator-sql``; one
untimed run fills it); and that run without Django's start-up, through
``python -m probity.procurement.indicators.command`` (what ``probity procurement indicators`` costs
once ``probity.cli`` dispatches to it before ``django.setup()``). The data is
deterministic (a fixed seed) and exercises every indicator: short tender periods, single
bidders, close and far second bids, identical prices, late bids, disqualifications, and suppliers
across many classification groups.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
SETTINGS = """\
no_price_comparison_procurement_methods = Random Selection
[exclusions]
procurement_method_details = Excluded
[R003]
[R018]
[R024]
[R025]
[R028]
[R030]
[R035]
[R036]
[R038]
[R048]
minimum_contracting_processes = 5
[R058]
"""
METHODS = [
    ("open", "Licitación Pública"),
    ("selective", "Concurso"),
    ("limited", "Contratación Directa"),
    ("direct", "Compra Menor"),
    ("open", "Random Selection"),
    ("open", "Excluded"),
]
CATEGORIES = ["goods", "works", "services"]


def _date(rng: random.Random, year: int = 2023) -> tuple[str, int]:
    day = rng.randint(0, 330)
    seconds = rng.randint(0, 86_399)
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{year}-{1 + day // 28:02d}-{1 + day % 28:02d}T{clock}Z", day


def release(rng: random.Random, number: int, buyers: int, firms: int) -> dict:
    ocid = f"ocds-b5fd17-{number:08d}"
    buyer = f"BUY-{rng.randrange(buyers):05d}"
    method, details = rng.choice(METHODS)
    start, day = _date(rng)
    length = rng.choice([3, 7, 10, 14, 20, 30, 45])
    end_day = min(day + length, 335)
    end = f"2023-{1 + end_day // 28:02d}-{1 + end_day % 28:02d}T17:00:00Z"
    price = round(rng.uniform(1_000, 2_000_000), 2)
    n_bids = rng.choice([1, 1, 2, 2, 3, 3, 4, 5])
    tenderers = rng.sample(range(firms), n_bids)
    bids = []
    for index, firm in enumerate(tenderers):
        status = rng.choices(["valid", "disqualified", "pending", "withdrawn", "invited"], [80, 12, 3, 3, 2])[0]
        amount = round(price * rng.uniform(0.7, 1.3), 2)
        if index and rng.random() < 0.03:
            amount = bids[0]["value"]["amount"]  # identical prices
        late = rng.random() < 0.02
        bid: dict = {"status": status}
        if late or rng.random() < 0.3:
            bid["date"] = end.replace("17:00:00", "18:30:00") if late else start
        bids.append(
            {
                **bid,
                "value": {"amount": amount, "currency": "USD" if rng.random() > 0.01 else "EUR"},
                "tenderers": [{"id": f"F{firm:06d}"}],
            }
        )
    valid = [bid for bid in bids if bid["status"] == "valid"] or bids
    winner = min(valid, key=lambda bid: bid["value"]["amount"]) if rng.random() < 0.85 else rng.choice(valid)
    supplier = winner["tenderers"][0]
    award_status = rng.choices(["active", "pending", "cancelled", "unsuccessful"], [88, 6, 3, 3])[0]
    prefix = rng.randrange(10, 10 + (40 if rng.random() < 0.95 else 80))
    items = [
        {
            "id": str(n + 1),
            "classification": {"scheme": "CPV", "id": f"{prefix + n:02d}{rng.randrange(10**6):06d}"},
            "quantity": rng.randint(1, 500),
        }
        for n in range(rng.choice([1, 1, 1, 2]))
    ]
    signed, _ = _date(rng, 2024)
    return {
        "ocid": ocid,
        "id": f"{ocid}-c",
        "date": signed,
        "buyer": {"id": buyer, "name": f"Buyer {buyer}"},
        "parties": [
            {"id": buyer, "name": f"Buyer {buyer}", "roles": ["buyer", "procuringEntity"]},
        ],
        "tender": {
            "id": "1",
            "status": rng.choices(["complete", "active", "cancelled"], [90, 7, 3])[0],
            "procurementMethod": method,
            "procurementMethodDetails": details,
            "mainProcurementCategory": rng.choice(CATEGORIES),
            "value": {"amount": price, "currency": "USD"},
            "procuringEntity": {"id": buyer},
            "tenderPeriod": {"startDate": start, "endDate": end},
            "numberOfTenderers": n_bids,
        },
        "bids": {"details": bids},
        "awards": [
            {
                "id": "1",
                "status": award_status,
                "value": winner["value"],
                "suppliers": [supplier],
                "items": items,
            }
        ],
        "contracts": [
            {
                "id": "1",
                "awardID": "1",
                "dateSigned": signed,
            }
        ],
    }


BLOCK = 100_000


def generate(path: Path, releases: int, seed: int = 20240601) -> None:
    """Writes ``releases`` compiled releases. Beyond 100 000, the first 100 000 are repeated with
    new ocids (``ocds-b5fd17-<copy>-…``), which keeps generation I/O-bound at a million."""
    rng = random.Random(seed)
    block = min(releases, BLOCK)
    buyers, firms = max(10, block // 200), max(50, block // 20)
    lines = [json.dumps(release(rng, number, buyers, firms), separators=(",", ":")) for number in range(block)]
    part = path.with_suffix(".part")
    with part.open("w", encoding="utf-8") as out:
        written = 0
        for copy in range(-(-releases // block)):
            for line in lines[: releases - written]:
                out.write(line if copy == 0 else line.replace('"ocds-b5fd17-', f'"ocds-b5fd17-{copy}-'))
                out.write("\n")
            written = min(releases, written + block)
    part.rename(path)


def timed(command: list[str]) -> tuple[float, float, float, int, str]:
    """Runs a command under /usr/bin/time -v: wall seconds, CPU seconds (user + system), peak RSS
    in MB, exit code, standard error."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        completed = subprocess.run(
            ["/usr/bin/time", "-v", "-o", report.name, *command], capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
        text = Path(report.name).read_text()
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    peak = int(match.group(1)) / 1024 if match else float("nan")
    cpu = sum(float(value) for value in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
    if completed.returncode not in (0, 1):
        sys.stderr.write(completed.stderr[-2000:])
    return wall, cpu, peak, completed.returncode, completed.stderr


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=ROOT / "var" / "benchmarks")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool (the best time is kept)")
    parser.add_argument("--skip-check", action="store_true", help="do not check the output's shape")
    args = parser.parse_args()

    args.folder.mkdir(parents=True, exist_ok=True)
    data = args.folder / f"procurement-{args.releases}.jsonl"
    if not data.exists():
        started = time.perf_counter()
        generate(data, args.releases)
        print(f"generated {args.releases} releases in {time.perf_counter() - started:.1f} s")
    size_mb = data.stat().st_size / 1e6
    settings = args.folder / "procurement-all-indicators.ini"
    settings.write_text(SETTINGS)
    output = args.folder / f"procurement-{args.releases}.results.json"

    load = _load()
    rust = [str(VENV / "python"), "-c", f"import ocdscardinal; ocdscardinal.coverage({str(data)!r})"]
    arguments = ["procurement", "-v", "2", "indicators", str(data), "-s", str(settings)]
    outputs = {
        "compiled": output.with_suffix(".compiled.json"),
        "kept": output,
        "fast": output.with_suffix(".fast.json"),
    }
    probity_compiled = [str(VENV / "probity"), *arguments, "--no-plan-cache", "-o", str(outputs["compiled"])]
    probity_kept = [str(VENV / "probity"), *arguments, "-o", str(outputs["kept"])]
    probity_fast = [
        str(VENV / "python"),
        "-m",
        "probity.procurement.indicators.command",
        *arguments,
        "-o",
        str(outputs["fast"]),
    ]
    subprocess.run(probity_kept, capture_output=True, check=False)  # fills the SQL plan cache (untimed)
    commands = {
        "cardinal coverage (Rust, one pass)": rust,
        "probity indicators, compiling": probity_compiled,
        "probity indicators, SQL kept": probity_kept,
        "same, without Django start-up": probity_fast,
    }
    best: dict[str, tuple[float, float, float, int, str]] = {}
    for _ in range(args.repeat):
        for name, command in commands.items():
            measured = timed(command)
            if name not in best or measured[0] < best[name][0]:
                best[name] = measured
    print(f"data: {args.releases} releases, {size_mb:.0f} MB ({data}); load average before: {load}")
    rust_wall, rust_cpu = best["cardinal coverage (Rust, one pass)"][:2]
    for name, (wall, cpu, peak, code, err) in best.items():
        phases = " ".join(line.strip() for line in err.splitlines() if "phase" in line)
        ratio = f"ratio wall {wall / rust_wall:5.2f} cpu {cpu / rust_cpu:5.2f}"
        print(f"{name:<36} wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak {peak:6.0f} MB  exit {code}  {ratio}  {phases}")
    print(f"load average after: {_load()}")
    if not args.skip_check:
        texts = {kind: path.read_text() for kind, path in outputs.items()}
        if len(set(texts.values())) != 1:
            print("ERROR: the three Probity runs gave different results", file=sys.stderr)
            return 1
        results = json.loads(texts["kept"])
        counts = {group: len(subjects) for group, subjects in results.items()}
        codes = sorted({code for subjects in results.values() for values in subjects.values() for code in values})
        print(f"results (identical in the three runs): {counts}; indicators with flags: {', '.join(codes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
