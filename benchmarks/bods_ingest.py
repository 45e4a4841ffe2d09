"""BODS ingest side by side: statement validation the old way and the new way, and the WHOLE
``ownership_ingest`` of one file by this tree beside a reference tree (the code before a change).

    .venv/bin/python benchmarks/bods_ingest.py                                  # 20 000 statements
    git worktree add /tmp/bods-old HEAD                                         # the code before the change
    .venv/bin/python benchmarks/bods_ingest.py --reference-src /tmp/bods-old/src --statements 50000
    .venv/bin/python benchmarks/bods_ingest.py --no-validation --reference-src /tmp/bods-old/src

The statements are the official BODS 0.4 examples of ``/work/shared/data/bods/examples`` (see the
README there), repeated with fresh statement ids up to ``--statements``; one in fifty gets an unknown
codelist value, so the fallback to the full validator is exercised as in real registers.

Printed:

- (unless ``--no-validation``) statement validation alone: full ``jsonschema`` per statement against
  the schema compiled once with fastjsonschema (full validator only for statements it refuses), each
  way's time and statements per second, the ratio, and whether both gave the same result everywhere;
- the whole ingest (read, upgrade, check, store, project, link, issues, audit) of the same file, each
  side in its own process (``PYTHONPATH=<src>``) on a fresh temporary SQLite database and data folder:
  time and statements per second of a first run (every statement new) and of a second run (every
  statement already stored), and, with ``--reference-src``, the ratio of the reference's time to this
  tree's (wall and CPU time: on a busy machine the CPU time of each process is the steadier figure)
  and whether both stored the same thing (counts of statements, parties, relationships,
  interests and issues by code, and a digest of every party, relationship and interest as projected).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path("/work/shared/data/bods/examples")


def statements(count: int) -> list[dict[str, Any]]:
    seeds: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        seeds.extend(document if isinstance(document, list) else document.get("statements", [document]))
    out = []
    for number in range(count):
        statement = copy.deepcopy(seeds[number % len(seeds)])
        statement["statementId"] = f"{number:032d}"
        copy_number = number // len(seeds)
        statement["recordId"] = f"{statement.get('recordId', 'r')}-{copy_number}"
        statement["declarationSubject"] = f"{statement.get('declarationSubject', 'r')}-{copy_number}"
        details = statement.get("recordDetails") or {}
        for key in ("subject", "interestedParty"):  # each copy's relationships point at that copy's parties
            if isinstance(details.get(key), str):
                details[key] = f"{details[key]}-{copy_number}"
        if number % 50 == 49:
            statement["recordStatus"] = "unknownStatus"  # a codelist warning: the full validator speaks
        out.append(statement)
    return out


def _setup(folder: Path, src: Path | None) -> None:
    """Django on a fresh SQLite database and data folder under ``folder``; ``src`` first on the path."""
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ["PROBITY_WAREHOUSE"] = str(folder / "warehouse.duckdb")
    os.environ["PROBITY_VAR_DIR"] = str(folder / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    if src is not None:
        sys.path.insert(0, str(src))
    import django

    django.setup()


def validation(items: list[dict[str, Any]]) -> None:
    from probity.ownership.services import statement_check_fast
    from probity.standards import bods

    statement_check_fast(items[0])  # compile once, outside the timing (about 0.15 s)
    bods.statement_check(items[0])
    started = time.perf_counter()
    old = [bods.statement_check(s) for s in items]
    old_seconds = time.perf_counter() - started
    started = time.perf_counter()
    new = [statement_check_fast(s) for s in items]
    new_seconds = time.perf_counter() - started
    n = len(items)
    print("statement validation alone (this tree):")
    print(f"  old (jsonschema per statement):      {old_seconds:6.2f} s  {n / old_seconds:9.0f} statements/s")
    print(f"  new (compiled, full on refusal):     {new_seconds:6.2f} s  {n / new_seconds:9.0f} statements/s")
    print(f"  ratio {old_seconds / new_seconds:.1f}x; same result for every statement: {old == new}")


def stored_summary() -> dict[str, Any]:
    """What an ingest left in the database, independent of primary keys and row order."""
    from django.db.models import Count

    from probity.ownership.models import IngestIssue, Interest, Party, Relationship, Statement

    digest = hashlib.sha256()

    def add(rows: Any) -> None:
        for row in sorted(rows, key=repr):
            digest.update(repr(row).encode())

    add(
        Party.objects.values_list(
            "record_id", "kind", "subtype", "name", "other_names", "identifiers", "jurisdiction", "birth_date"
        )
    )
    add(Party.objects.values_list("record_id", "is_pep", "closed", "statement__statement_id", "organisation", "person"))
    add(
        Relationship.objects.values_list(
            "record_id",
            "subject__record_id",
            "interested_party__record_id",
            "subject_ref",
            "interested_party_ref",
            "unspecified_reason",
            "is_component",
            "component_records",
            "closed",
            "statement__statement_id",
        )
    )
    add(
        Interest.objects.values_list(
            "relationship__record_id",
            "type",
            "direct_or_indirect",
            "beneficial_ownership_or_control",
            "share_exact",
            "share_minimum",
            "share_maximum",
            "minimum_exclusive",
            "maximum_exclusive",
            "start_date",
            "end_date",
            "details",
        )
    )
    add(IngestIssue.objects.values_list("position", "statement_id", "record_id", "severity", "code", "message"))
    add(
        Statement.objects.values_list(
            "statement_id",
            "content_hash",
            "record_id",
            "record_type",
            "record_status",
            "statement_date",
            "source_version",
            "sequence",
        )
    )
    issues = dict(IngestIssue.objects.values_list("code").annotate(n=Count("id")).values_list("code", "n"))
    return {
        "statements": Statement.objects.count(),
        "parties": Party.objects.count(),
        "relationships": Relationship.objects.count(),
        "interests": Interest.objects.count(),
        "issues": dict(sorted(issues.items())),
        "digest": digest.hexdigest()[:16],
    }


def child(path: Path, folder: Path) -> None:
    """One side: a fresh database, the file ingested twice; one JSON line on standard output."""
    _setup(folder, None)  # the side's tree comes first through PYTHONPATH
    from django.core.management import call_command

    import probity
    from probity.ownership.services import ownership_ingest

    call_command("migrate", verbosity=0)
    runs = []
    for _ in range(2):
        started, cpu = time.perf_counter(), time.process_time()
        result = ownership_ingest(path=path, dataset="bench")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        batch = result.batch
        runs.append(
            {
                "seconds": seconds,
                "cpu": cpu,
                "stored": batch.statements_stored,
                "unchanged": batch.statements_unchanged,
                "rejected": batch.statements_rejected,
                "warnings": batch.warnings,
            }
        )
    print(json.dumps({"tree": str(Path(probity.__file__).parents[1]), "runs": runs, "summary": stored_summary()}))


def run_side(src: Path, path: Path) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="probity-bods-side-"))
    env = {**os.environ, "PYTHONPATH": str(src), "DJANGO_SETTINGS_MODULE": "probity.settings"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--folder", str(folder)],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"the ingest of {src} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["tree"]).resolve() != src.resolve():
        sys.exit(f"the side meant to run {src} imported Probity from {result['tree']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=20_000)
    parser.add_argument("--no-validation", action="store_true", help="skip the validation-only comparison")
    parser.add_argument("--no-ingest", action="store_true", help="only the validation, not the whole ingest")
    parser.add_argument(
        "--reference-src",
        type=Path,
        help="the src folder of the code to compare with (e.g. a git worktree of the last commit)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each side this many times, alternating; the fastest run counts"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.folder)
        return
    folder = Path(tempfile.mkdtemp(prefix="probity-bods-ingest-"))
    items = statements(args.statements)
    n = len(items)
    print(
        f"{n} statements ({len(list(EXAMPLES.glob('*.json')))} BODS examples repeated), load {os.getloadavg()[0]:.1f}"
    )
    if not args.no_validation:
        _setup(folder, ROOT / "src")
        validation(items)
    if args.no_ingest:
        return
    path = folder / "statements.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    sides = [("this tree", ROOT / "src")]
    if args.reference_src is not None:
        sides.insert(0, ("reference", args.reference_src))
    results: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, args.repeat)):
        for label, src in sides:
            result = run_side(src, path)
            best = results.get(label)
            if best is None or result["runs"][0]["seconds"] < best["runs"][0]["seconds"]:
                results[label] = result
    print(
        "whole ingest (read, check, store, project, link; fresh SQLite each side, own process; "
        f"fastest of {max(1, args.repeat)}; wall time and, in brackets, CPU time of the process):"
    )
    for label, src in sides:
        first, second = results[label]["runs"]
        summary = results[label]["summary"]
        print(
            f"  {label:10} {first['seconds']:7.2f} s ({first['cpu']:6.2f} s) {n / first['seconds']:7.0f} statements/s; "
            f"re-run {second['seconds']:6.2f} s ({second['cpu']:6.2f} s) {n / second['seconds']:7.0f}/s  ({src})"
        )
        print(
            f"             stored {first['stored']}, rejected {first['rejected']}, warnings {first['warnings']}; "
            f"re-run unchanged {second['unchanged']}; parties {summary['parties']}, relationships "
            f"{summary['relationships']}, interests {summary['interests']}, digest {summary['digest']}"
        )
    if args.reference_src is not None:
        old, new = results["reference"], results["this tree"]
        ratio = old["runs"][0]["seconds"] / new["runs"][0]["seconds"]
        cpu_ratio = old["runs"][0]["cpu"] / new["runs"][0]["cpu"]
        rerun = old["runs"][1]["seconds"] / new["runs"][1]["seconds"]

        def counts(result: dict[str, Any]) -> list[dict[str, Any]]:
            return [{k: v for k, v in r.items() if k not in ("seconds", "cpu")} for r in result["runs"]]

        same = old["summary"] == new["summary"] and counts(old) == counts(new)
        print(
            f"  ratio {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU (re-run {rerun:.1f}x wall); "
            f"same statements, records, interests and issues: {same}"
        )
        if not same:
            print(f"  reference: {json.dumps(old['summary'])}\n  this tree: {json.dumps(new['summary'])}")


if __name__ == "__main__":
    main()
