"""Benchmark: ``probity procurement ingest`` on a large file (the issue's "a 1 GB file … the process
never runs out of memory"): wall and CPU time, peak resident memory, and how the memory evolves.

    .venv/bin/python benchmarks/procurement_ingest.py --megabytes 1024 [--format jsonl|package] [--gzip]

Writes a synthetic OCDS 1.1 file (``benchmarks/ocds_ingest.py``'s generator: three releases per
process — tender, award, contract — with ``+01:00`` dates) to a temporary folder (``--folder``,
default the system's; it is deleted afterwards), then runs the real command ``probity procurement
ingest FILE`` in a fresh installation (its own ``PROBITY_VAR_DIR``: SQLite database, migrated
first, and DuckDB warehouse in that folder). While it runs, its resident memory is read from
``/proc`` every half second; the report gives the peak (``ru_maxrss`` of the child) and the highest
RSS in each tenth of the run, so that a plateau (bounded memory) or a climb is visible.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from ocds_ingest import generate  # noqa: E402  (the shared generator)

PROBITY = ROOT / ".venv" / "bin" / "probity"


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


Sample = tuple[float, float]  # seconds since the start, RSS in MB


def run_sampled(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int, list[Sample], str]:
    """Runs ``command``: wall s, CPU s (user + system), peak RSS MB, exit code, RSS samples, output tail."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        samples: list[Sample] = []
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            rss = rss_mb(child.pid)
            if rss is not None:
                samples.append((time.perf_counter() - started, rss))
            time.sleep(0.5)
        wall = time.perf_counter() - started
        output.seek(0)
        tail = output.read()[-3000:]
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code, samples, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=1024)
    parser.add_argument("--format", choices=("jsonl", "package"), default="jsonl")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--folder", type=Path, default=None, help="where the data and the installation go (deleted)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="probity-ingest-bench-", dir=args.folder))
    try:
        suffix = (".jsonl" if args.format == "jsonl" else ".json") + (".gz" if args.gzip else "")
        data = folder / f"releases{suffix}"
        started = time.perf_counter()
        releases, processes = generate(data, args.megabytes, args.format, args.gzip)
        size = data.stat().st_size / 1e6
        print(
            f"generated {releases} releases of {processes} processes, {size:.0f} MB ({args.format}"
            f"{', gzip' if args.gzip else ''}) in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        env = {
            **os.environ,
            "PROBITY_VAR_DIR": str(folder / "var"),
            "PROBITY_WAREHOUSE": str(folder / "var" / "warehouse.duckdb"),
            "DJANGO_SETTINGS_MODULE": "probity.settings",
        }
        env.pop("DATABASE_URL", None)
        subprocess.run([str(PROBITY), "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True)  # noqa: S603
        before = load()
        wall, cpu, peak, code, samples, tail = run_sampled(
            [str(PROBITY), "procurement", "-v", "0", "ingest", str(data), "--show", "3"], env
        )
        print(tail.strip()[-1500:])
        print(f"load average before {before}, after {load()}")
        print(f"probity procurement ingest: wall {wall:.1f} s, cpu {cpu:.1f} s, peak RSS {peak:.0f} MB, exit {code}")
        print(f"throughput: {size / wall:.2f} MB/s wall, {releases / wall:.0f} releases/s")
        if samples:
            tenths = []
            for part in range(10):
                low, high = wall * part / 10, wall * (part + 1) / 10
                values = [rss for at, rss in samples if low <= at < high]
                tenths.append(f"{max(values):.0f}" if values else "-")
            print("highest RSS (MB) in each tenth of the run:", " ".join(tenths))
        warehouse = folder / "var" / "warehouse.duckdb"
        if warehouse.exists():
            print(f"warehouse file: {warehouse.stat().st_size / 1e6:.0f} MB")
        return 0 if code in (0, 1) else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
