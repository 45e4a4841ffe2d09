"""Benchmark: the procurement pages' reads (``procurement/selectors.py``) on large warehouse tables.

    .venv/bin/python benchmarks/procurement_pages.py --processes 1000000

Builds, in a throw-away DuckDB file, ``procurement_processes`` and ``procurement_award_suppliers``
(P2's schema, the columns the pages read), a 13-indicator ``procurement_indicator_results`` matrix
and ``procurement_risk_process`` for N synthetic processes, then times what each page asks: the
first and a deep page of the list sorted by score, the list filtered by a flag, by buyer name, by
supplier, by date and score ranges, one process with its results, one buyer's profile, the buyer
list. No reference tool has these pages; the figure to watch is the time per request.

    .venv/bin/python benchmarks/procurement_pages.py --coverage-file compiled.jsonl

times the data-coverage walk (``procurement/coverage.py``) against Cardinal's own
(``ocdscardinal.coverage``, Rust) on the same file, and checks that both give the same counts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CODES = [f"P-X{n:02d}" for n in range(13)]


def build(path: Path, processes: int) -> None:
    import duckdb

    connection = duckdb.connect(str(path))
    connection.execute(f"""
        CREATE TABLE procurement_processes AS
        SELECT 'ocds-bench-' || lpad(i::VARCHAR, 8, '0') AS ocid,
               (DATE '2018-01-01' + (i % 2500)::INTEGER)::VARCHAR || 'T09:00:00Z' AS date,
               (DATE '2018-01-01' + (i % 2500)::INTEGER)::VARCHAR || 'T09:00:00Z' AS tender_date_published,
               NULL::VARCHAR AS tender_period_start_date,
               'Works ' || i AS tender_title,
               'BUYER-' || (i % 500) AS buyer_id, 'Ministry ' || (i % 500) AS buyer_name,
               CASE WHEN i % 5 = 0 THEN 'direct' ELSE 'open' END AS procurement_method,
               NULL::VARCHAR AS procurement_method_details, 'complete' AS tender_status,
               (i % 997) * 1000.0 AS tender_value_amount, 'XTS' AS tender_value_currency,
               (i % 6)::BIGINT AS number_of_tenderers, (i % 6)::BIGINT AS bid_count, 1::BIGINT AS award_count
        FROM range({processes}) t(i)""")  # noqa: S608 (a number, not input)
    connection.execute("""
        CREATE TABLE procurement_award_suppliers AS
        SELECT ocid, 1::BIGINT AS award_index, 1::BIGINT AS supplier_index,
               'SUP-' || (hash(ocid) % 20000) AS supplier_id, 'Company ' || (hash(ocid) % 20000) AS supplier_name
        FROM procurement_processes""")
    values = ", ".join(f"('{code}')" for code in CODES)
    connection.execute(f"""
        CREATE TABLE procurement_indicator_results AS
        SELECT c.code AS indicator, 'process' AS subject_type, p.ocid AS subject_id,
               CASE WHEN hash(p.ocid || c.code) % 23 = 0 THEN 'flag'
                    WHEN hash(p.ocid || c.code) % 7 = 0 THEN 'not_applicable' ELSE 'pass' END AS outcome,
               NULL::VARCHAR AS reason, NULL::DOUBLE AS score, '{{"days": 1}}' AS evidence,
               'Not applicable: %(reason)s.' AS message, '{{"reason": "x"}}' AS message_params
        FROM procurement_processes p CROSS JOIN (VALUES {values}) c(code)""")  # noqa: S608 (constants)
    connection.execute("""
        CREATE TABLE procurement_risk_process AS
        SELECT subject_id AS ocid,
               avg(CASE outcome WHEN 'flag' THEN 1.0 WHEN 'pass' THEN 0.0 END) AS risk_score,
               sum(CASE WHEN outcome = 'flag' THEN 1 ELSE 0 END)::BIGINT AS flagged,
               count(*) FILTER (WHERE outcome != 'not_applicable') / count(*) AS coverage
        FROM procurement_indicator_results GROUP BY subject_id""")
    connection.close()


def timed(label: str, call: object, repeat: int) -> tuple[str, float]:
    samples = []
    for _ in range(repeat):
        clock = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - clock)
    return label, statistics.median(samples)


def coverage_compare(path: Path) -> None:
    import ocdscardinal

    from probity.procurement.coverage import json_coverage

    clock = time.perf_counter()
    with path.open(encoding="utf-8") as handle:
        ours = json_coverage(handle)
    probity_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    theirs = dict(ocdscardinal.coverage(str(path)))
    cardinal_seconds = time.perf_counter() - clock
    print(
        f"{ours.total_releases:,} releases: Probity {probity_seconds:.2f} s, ocdscardinal {cardinal_seconds:.2f} s, "
        f"ratio {probity_seconds / cardinal_seconds:.1f}; identical counts: {ours.cardinal() == theirs}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--coverage-file", type=Path, help="compare the coverage walk with Cardinal's on this file")
    args = parser.parse_args()
    if args.coverage_file:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
        import django

        django.setup()
        coverage_compare(args.coverage_file)
        return

    scratch = Path(tempfile.mkdtemp(prefix="probity-pages-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'db.sqlite3'}"
    os.environ["PROBITY_WAREHOUSE"] = str(scratch / "warehouse.duckdb")
    import django

    django.setup()
    from datetime import date

    from django.core.management import call_command

    from probity.procurement import selectors

    with contextlib.suppress(LookupError):  # the role sync after migrate; the tables exist, roles are not needed
        call_command("migrate", verbosity=0)
    clock = time.perf_counter()
    build(scratch / "warehouse.duckdb", args.processes)
    print(
        f"built {args.processes:,} processes and {args.processes * len(CODES):,} results "
        f"in {time.perf_counter() - clock:.1f} s"
    )
    filters = selectors.ProcessFilters
    process_list = selectors.process_list
    rows = [
        timed("list, first page by score", lambda: process_list(filters=filters()), args.repeat),
        timed("list, page 1000 by score", lambda: process_list(filters=filters(), offset=50_000), args.repeat),
        timed("list, flagged by one indicator", lambda: process_list(filters=filters(flag="P-X03")), args.repeat),
        timed("list, buyer name contains", lambda: process_list(filters=filters(buyer="Ministry 42")), args.repeat),
        timed("list, by supplier id", lambda: process_list(filters=filters(supplier="SUP-123")), args.repeat),
        timed(
            "list, date and score ranges",
            lambda: process_list(
                filters=filters(date_from=date(2019, 1, 1), date_to=date(2019, 12, 31), score_min=0.1)
            ),
            args.repeat,
        ),
        timed("process page", lambda: selectors.process_detail(ocid="ocds-bench-00000042"), args.repeat),
        timed("buyer profile", lambda: selectors.profile(kind="buyer", key="BUYER-42"), args.repeat),
        timed("buyer list", lambda: selectors.party_list(kind="buyer"), args.repeat),
    ]
    for label, seconds in rows:
        print(f"{label:<32} {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
