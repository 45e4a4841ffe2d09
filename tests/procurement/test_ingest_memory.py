"""The OCDS ingest streams: a large single-document package is never held in Python's memory.

Run in a fresh interpreter, so that what earlier tests allocated does not count. Not timed; the
speed and the resident memory of a 1 GB run are measured by ``benchmarks/ocds_ingest.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json, os, resource, sys, tracemalloc
os.environ["DJANGO_SETTINGS_MODULE"] = "probity.settings"
folder = sys.argv[1]
os.environ["PROBITY_WAREHOUSE"] = os.path.join(folder, "warehouse.duckdb")
import django
django.setup()
from pathlib import Path
from probity.procurement import ingest
from probity.procurement.ingest import procurement_ingest

ingest.BATCH_BYTES = 2 * 1024 * 1024  # smaller batches, so that a 30 MB file is already far above them

def release(ocid, stage, day):
    return {"ocid": ocid, "id": f"{ocid}-{stage}", "date": f"2020-01-0{day}T00:00:00+02:00", "tag": [stage],
            "initiationType": "tender", "tender": {"id": "t", "description": "x" * 49_000 + stage}}

small, big = Path(folder) / "small.json", Path(folder) / "big.json"
small.write_text(json.dumps({"version": "1.1", "releases": [release("ocds-mem-x", "tender", 1)]}))
processes = int(sys.argv[2])
with big.open("w") as handle:  # one JSON document: a release package with all releases in one list
    handle.write('{"uri": "https://example.org/big.json", "version": "1.1", "releases": [')
    for number in range(processes):
        for day, stage in enumerate(("tender", "award", "contract"), 1):
            handle.write(("," if number or day > 1 else "") + json.dumps(release(f"ocds-mem-{number:06d}", stage, day)))
    handle.write("]}")
procurement_ingest(paths=[small], register=False)  # imports, schema compilation, tables: not counted
tracemalloc.start()
report = procurement_ingest(paths=[big], register=False)
_current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"file": big.stat().st_size, "python_peak": peak, "accepted": report.accepted,
                  "processes": report.processes, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _measure(tmp_path: Path, processes: int) -> dict[str, int]:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    folder = tmp_path / str(processes)
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder), str(processes)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    measured: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    assert (measured["accepted"], measured["processes"]) == (3 * processes, processes + 1)  # and the small file's
    return measured


@pytest.mark.slow
def test_large_package_is_streamed_with_python_memory_independent_of_file_size(tmp_path: Path) -> None:
    small, large = _measure(tmp_path, 110), _measure(tmp_path, 330)
    assert small["file"] > 15 * 1024 * 1024 and large["file"] > 45 * 1024 * 1024
    # Holding the document (json.load) would need more than the file's size in Python objects;
    # the streaming ingest keeps one batch (here 2 MB of release JSON) and one release at a time, so
    # three times the file takes about the same memory (batch boundaries move the peak by a few MB).
    assert large["python_peak"] < large["file"] / 4, large
    assert large["python_peak"] < small["python_peak"] * 1.5 + 2 * 1024 * 1024, (small, large)
