"""Benchmark: the thirteen beyond-Cardinal risk indicators and the risk scores, on the demo country.

    .venv/bin/python benchmarks/procurement_risk.py --scale 10      # 20 000 processes
    .venv/bin/python benchmarks/procurement_risk.py --scale 100     # 200 000 processes

No reference tool implements these indicators (Cardinal has none of them), so this prints Probity's
own times per phase: generating the releases, flattening them into the input tables, each
indicator on an in-memory DuckDB, and the process/buyer/supplier scores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="demo scale (1.0 = 2000 processes)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    import django

    django.setup()
    import pandas as pd

    from probity.config import WarehouseSetting
    from probity.demo.generator import generate_country
    from probity.demo.writers import debarment_rows, ocds_releases
    from probity.procurement.indicators import beyond_inputs
    from probity.procurement.indicators.beyond import INDICATORS, Inputs, indicator_expression
    from probity.procurement.results import buyer_scores, process_scores, supplier_scores
    from probity.procurement.services import _matrix
    from probity.warehouse.services import warehouse_connect

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    country = generate_country(args.seed, args.scale)
    releases = list(ocds_releases(country))
    timings["generate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    tables = beyond_inputs.input_rows(releases).tables()
    tables["register"] = beyond_inputs.register_table((c.registry_number, c.founded) for c in country.companies)
    tables["debarments"] = beyond_inputs.debarment_table(
        {
            "id": r["id"],
            "name": r["name"],
            "identifiers": [p.split(":", 1)[1] for p in r["identifiers"].split(";")],
            "start": r["start_date"],
            "end": r["end_date"] or None,
        }
        for r in debarment_rows(country)
    )
    timings["flatten"] = time.perf_counter() - clock

    with warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as warehouse:
        clock = time.perf_counter()
        inputs = Inputs(**{k: warehouse.create_table(f"bench_{k}", v) for k, v in tables.items()})
        timings["load"] = time.perf_counter() - clock
        matrices = []
        for code, indicator in INDICATORS.items():
            clock = time.perf_counter()
            frame = warehouse.execute(indicator_expression(indicator, inputs))
            timings[code] = time.perf_counter() - clock
            clock = time.perf_counter()
            matrices.append(_matrix(code, frame))
            timings["evidence JSON"] = timings.get("evidence JSON", 0.0) + time.perf_counter() - clock
        clock = time.perf_counter()
        results = warehouse.create_table("bench_results", pd.concat(matrices, ignore_index=True))
        scored = warehouse.create_table("bench_process", process_scores(results))
        warehouse.execute(buyer_scores(scored))
        warehouse.execute(supplier_scores(scored))
        timings["scores"] = time.perf_counter() - clock

    print(f"{len(country.processes)} processes, {len(INDICATORS)} indicators (DuckDB in memory)")
    for name, seconds in timings.items():
        print(f"  {name:<16} {seconds:8.2f} s")
    indicators = sum(timings[c] for c in INDICATORS)
    print(f"  {'all indicators':<16} {indicators:8.2f} s")
    print(f"  {'total':<16} {sum(timings.values()):8.2f} s")


if __name__ == "__main__":
    main()
