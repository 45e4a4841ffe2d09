"""Cases at scale: a draw among 500 officers, re-running 10 000 recorded draws, case lists with N cases.

    .venv/bin/python benchmarks/cases_scale.py                                   # SQLite in /tmp, 100 000 cases
    .venv/bin/python benchmarks/cases_scale.py --cases 20000 --draws 2000
    .venv/bin/python benchmarks/cases_scale.py --database postgres://postgres@127.0.0.1:5432/h4scale --cases 1000000

Everything is written into a throw-away database outside ``var/``: a SQLite file under ``/tmp`` (deleted at the
end unless ``--keep``) or the named PostgreSQL database (created and dropped). Three parts:

(a) **One draw among 500 officers with 50 recusals**: 500 case handlers in one pool, 50 of whom have declared a
    conflict with the company the case is about, and a caseload spread over them. Timed: ``services.case_draw``
    end to end (reading the pool, recusals and caseloads, the draw, writing it, assigning the case, the timeline
    line and the audit entries) and ``allocation.draw`` alone on the same candidates. Goal (issue 17): < 50 ms.
(b) **Re-running ``--draws`` recorded draws** (10 000): draws made by ``allocation.draw`` (pools of
    ``--verify-pool`` officers with a few exclusions, random seeds) are stored as ``Draw`` rows, then
    ``services.draws_verify`` reads every one back from the database and re-runs it. All must verify.
(c) **Case lists with ``--cases`` cases** (and ``--findings`` findings, a tenth of them joined to cases):
    rows are bulk-inserted (``bulk_create`` in batches; 70 % closed, 10 % unassigned, two tasks per open case,
    spread over three years), then timed: the first page (25) of ``selectors.cases_visible(user)`` ordered by
    ``-opened_at`` for an auditor (every case) and for an analyst (the types their role works, or assigned to
    them), its count, and the first page of each list of ``selectors.my_work(officer)``. Goal: < 300 ms with
    1 000 000 cases and 10 000 000 findings on PostgreSQL.

Figures are medians of ``--repeat`` runs after one warm-up. The machine's 2 cores are shared: the load average
is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

BATCH = 5000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--officers", type=int, default=500, help="officers in the pool of part (a)")
    parser.add_argument("--recusals", type=int, default=50, help="of them recused from the case of part (a)")
    parser.add_argument("--draws", type=int, default=10_000, help="recorded draws re-run in part (b)")
    parser.add_argument("--verify-pool", type=int, default=25, help="officers in the pools of part (b)")
    parser.add_argument("--cases", type=int, default=100_000, help="cases of part (c); 0 skips it")
    parser.add_argument("--findings", type=int, default=0, help="findings of part (c) (a tenth joined to cases)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each measure")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--database", default=None, help="postgres://… (created and dropped); default SQLite in /tmp")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--skip", default="", help="parts to skip, e.g. 'ab'")
    parser.add_argument("--explain", action="store_true", help="print the query plans of part (c)")
    return parser.parse_args(argv)


def timed(function: Callable[[], Any], repeat: int, *, prepare: Callable[[], Any] | None = None) -> list[float]:
    """Seconds of ``repeat`` calls of ``function`` after one warm-up (``prepare`` runs untimed before each)."""
    if prepare is not None:
        prepare()
    function()
    out = []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        function()
        out.append(time.perf_counter() - start)
    return out


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(values[max(0, int(len(values) * 0.95) - 1)] * 1000, 2),
        "max_ms": round(values[-1] * 1000, 2),
    }


def officers_make(count: int, prefix: str, role: str = "case_handler") -> list[Any]:
    """``count`` active users with ``role``, written in bulk (no password: nobody signs in)."""
    from django.contrib.auth.models import Group, User

    group = Group.objects.get(name=role)
    users = [User(username=f"{prefix}-{n:05d}", password="!") for n in range(count)]  # noqa: S106
    User.objects.bulk_create(users, batch_size=BATCH)
    made = list(User.objects.filter(username__startswith=f"{prefix}-").order_by("username"))
    through = User.groups.through
    through.objects.bulk_create([through(user_id=u.pk, group_id=group.pk) for u in made], batch_size=BATCH)
    return made


# --- (a) ------------------------------------------------------------------------------------------------------


def part_a(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from probity.cases import allocation, services
    from probity.cases.models import Case, CaseType, Pool, PoolMember, Recusal
    from probity.core.models import Organisation

    admin = User.objects.create_user(username="bench-admin", password="!")  # noqa: S106
    officers = officers_make(args.officers, "drawn")
    pool = Pool.objects.create(name="Bench reviewers", case_type_code="procurement-review")
    PoolMember.objects.bulk_create(
        [PoolMember(pool=pool, officer=o, weight=rng.choice((1.0, 1.0, 1.0, 0.5))) for o in officers],
        batch_size=BATCH,
    )
    company = Organisation.objects.create(name="Conflicted Holdings Ltd")
    Recusal.objects.bulk_create(
        [Recusal(officer=o, organisation=company, reason="benchmark") for o in officers[: args.recusals]]
    )
    # a caseload: 2 000 open cases held by the officers (so the weights differ)
    case_type = CaseType.objects.get(code="procurement-review", version=1)
    first_status = case_type.statuses.order_by("order").first()
    Case.objects.bulk_create(
        [
            Case(
                reference=f"LOAD-{n:07d}",
                case_type=case_type,
                title="load",
                status=first_status,
                opened_by="bench",
                assignee=rng.choice(officers),
                complexity=rng.randint(1, 5),
            )
            for n in range(2000)
        ],
        batch_size=BATCH,
    )

    cases: list[Any] = []

    def new_case() -> None:
        cases.append(services.case_open(case_type=case_type, title="Draw", actor=admin, organisations=[company]))

    def end_to_end() -> None:
        draw = services.case_draw(case=cases[-1], actor=admin)
        assert draw.chosen_id not in {o.pk for o in officers[: args.recusals]}
        assert len(draw.inputs["excluded"]) == args.recusals

    service_times = timed(end_to_end, args.repeat, prepare=new_case)

    loads = services._loads([o.pk for o in officers])
    candidates = [allocation.Candidate(o.pk, o.username, share=1.0, load=loads.get(o.pk, 0.0)) for o in officers]
    exclusions = [allocation.Exclusion(o.pk, o.username, "recused") for o in officers[: args.recusals]]
    pure_times = timed(
        lambda: allocation.draw(case="CASE-0", pool="Bench", candidates=candidates, exclusions=exclusions),
        max(args.repeat, 200),
    )
    return {
        "officers": args.officers,
        "recusals": args.recusals,
        "case_draw_end_to_end": ms(service_times),
        "allocation_draw_alone": ms(pure_times),
        "goal": "< 50 ms",
    }


# --- (b) ------------------------------------------------------------------------------------------------------


def part_b(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from probity.cases import allocation, services
    from probity.cases.models import Case, CaseType, Draw, Pool

    officers = officers_make(args.verify_pool, "verified")
    pool = Pool.objects.create(name="Verified reviewers", case_type_code="conflict-of-interest")
    case_type = CaseType.objects.get(code="conflict-of-interest", version=1)
    first_status = case_type.statuses.order_by("order").first()
    clock = time.perf_counter()
    written = 0
    for offset in range(0, args.draws, BATCH):
        count = min(BATCH, args.draws - offset)
        made = Case.objects.bulk_create(
            [
                Case(
                    reference=f"DRAWN-{offset + n:07d}",
                    case_type=case_type,
                    title="drawn",
                    status=first_status,
                    opened_by="bench",
                )
                for n in range(count)
            ]
        )
        if made and made[0].pk is None:
            made = list(
                Case.objects.filter(reference__startswith="DRAWN-").order_by("reference")[offset : offset + count]
            )
        draws = []
        for case in made:
            candidates = [
                allocation.Candidate(o.pk, o.username, share=rng.choice((1.0, 0.5)), load=float(rng.randint(0, 9)))
                for o in officers
            ]
            excluded = [allocation.Exclusion(o.pk, o.username, "recused") for o in rng.sample(officers, 3)]
            result = allocation.draw(case=case.reference, pool=pool.name, candidates=candidates, exclusions=excluded)
            draws.append(
                Draw(
                    case=case,
                    pool=pool,
                    method=Draw.Method.RANDOM,
                    algorithm=result.algorithm,
                    seed=result.seed,
                    inputs=result.inputs,
                    inputs_hash=result.inputs_hash,
                    chosen_id=result.chosen,
                    drawn_by="bench",
                )
            )
        Draw.objects.bulk_create(draws)
        written += len(draws)
    write_seconds = time.perf_counter() - clock
    auditor = User.objects.create_user(username="bench-auditor", password="!")  # noqa: S106
    clock = time.perf_counter()
    checks = services.draws_verify(
        Draw.objects.filter(method=Draw.Method.RANDOM, pool=pool).order_by("pk").iterator(chunk_size=2000),
        actor=auditor,
    )
    verify_seconds = time.perf_counter() - clock
    failed = [c.sentence for c in checks if not c.ok]
    return {
        "draws_recorded": written,
        "officers_per_pool": args.verify_pool,
        "write_seconds": round(write_seconds, 1),
        "verify_seconds": round(verify_seconds, 2),
        "verified_per_second": round(len(checks) / verify_seconds) if verify_seconds else None,
        "verified": f"{len(checks) - len(failed)} of {len(checks)}",
        "all_verify": not failed and len(checks) == written,
        "first_failure": failed[0] if failed else None,
    }


# --- (c) ------------------------------------------------------------------------------------------------------


def part_c(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from probity.cases import selectors
    from probity.cases.models import Case, CaseFinding, CaseTask, CaseType
    from probity.core.models import DetectorRun, Finding

    officers = officers_make(200, "listed", "analyst")
    auditor = officers_make(1, "list-auditor", "auditor")[0]
    analyst = officers[0]
    types = list(CaseType.objects.filter(version=1).order_by("code"))
    statuses = {t.pk: list(t.statuses.order_by("order")) for t in types}
    now = timezone.now()
    span = 3 * 365 * 24 * 3600
    opened_at = Case._meta.get_field("opened_at")
    clock = time.perf_counter()
    opened_at.auto_now_add = False  # the benchmark spreads the dates itself
    try:
        for offset in range(0, args.cases, BATCH):
            rows = []
            tasks_for: list[tuple[int, Any]] = []
            with transaction.atomic():
                for n in range(offset, min(args.cases, offset + BATCH)):
                    case_type = types[n % len(types)]
                    closed = rng.random() < 0.7
                    when = now - timedelta(seconds=rng.randrange(span))
                    chain = statuses[case_type.pk]
                    rows.append(
                        Case(
                            reference=f"CASE-{when.year}-{n:07d}",
                            case_type=case_type,
                            title=f"Case {n}",
                            status=chain[-1] if closed else chain[rng.randrange(len(chain) - 1)],
                            closed=closed,
                            closed_at=when + timedelta(days=30) if closed else None,
                            opened_by="bench",
                            opened_at=when,
                            due_on=(when + timedelta(days=case_type.lead_time_days)).date(),
                            assignee=None if rng.random() < 0.1 else rng.choice(officers),
                        )
                    )
                made = Case.objects.bulk_create(rows)
                if made and made[0].pk is None:
                    by_reference = dict(
                        Case.objects.filter(reference__in=[c.reference for c in made]).values_list("reference", "pk")
                    )
                    for case in made:
                        case.pk = by_reference[case.reference]
                for case in made:
                    if not case.closed:
                        tasks_for.append((case.pk, case.due_on))
                CaseTask.objects.bulk_create(
                    [
                        CaseTask(case_id=pk, title=title, due_on=due, assignee=None)
                        for pk, due in tasks_for
                        for title in ("Obtain the file", "Hear the official")
                    ],
                    batch_size=BATCH,
                )
            if (offset // BATCH) % 20 == 0:
                print(f"  {offset + len(rows):,} cases written", file=sys.stderr, flush=True)
    finally:
        opened_at.auto_now_add = True
    case_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    if args.findings:
        run = DetectorRun.objects.create(
            detector_code="BENCH", started_at=now, dataset="bench", started_by="bench", status="succeeded"
        )
        case_ids = list(Case.objects.values_list("pk", flat=True))
        for offset in range(0, args.findings, BATCH):
            with transaction.atomic():
                made_findings = Finding.objects.bulk_create(
                    [
                        Finding(
                            run=run,
                            detector_code="BENCH",
                            subject_type="tender",
                            subject_id=f"ocds-{n}",
                            outcome="flag",
                            explanation="bench",
                        )
                        for n in range(offset, min(args.findings, offset + BATCH))
                    ]
                )
                CaseFinding.objects.bulk_create(
                    [
                        CaseFinding(case_id=case_ids[(offset + i) // 10 % len(case_ids)], finding=f, added_by="bench")
                        for i, f in enumerate(made_findings)
                        if (offset + i) % 10 == 0 and f.pk is not None
                    ]
                )
            if (offset // BATCH) % 100 == 0:
                print(f"  {offset + BATCH:,} findings written", file=sys.stderr, flush=True)
    finding_seconds = time.perf_counter() - clock
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def first_page(queryset: Any) -> Callable[[], Any]:
        return lambda: list(queryset.all()[:25])  # .all(): a fresh query each time, no result cache

    def counted(queryset: Any) -> Callable[[], Any]:
        return lambda: queryset.all().count()

    measures: dict[str, Any] = {}
    for label, user in (("auditor", auditor), ("analyst", analyst)):
        fresh = User.objects.get(pk=user.pk)
        visible = selectors.cases_visible(fresh).order_by("-opened_at")
        measures[f"list_first_page_{label}"] = ms(timed(first_page(visible), args.repeat))
        measures[f"list_count_{label}"] = ms(timed(counted(visible), max(3, args.repeat // 4)))
        if args.explain:
            print(f"--- list ({label})\n{visible[:25].explain()}", file=sys.stderr)
    work = selectors.my_work(User.objects.get(pk=analyst.pk))
    for key in ("cases", "tasks", "unassigned"):
        measures[f"my_work_{key}_first_page"] = ms(timed(first_page(work[key]), args.repeat))
        if args.explain:
            print(f"--- my work: {key}\n{work[key].all()[:25].explain()}", file=sys.stderr)
    return {
        "cases": args.cases,
        "findings": args.findings,
        "write_cases_seconds": round(case_seconds, 1),
        "write_findings_seconds": round(finding_seconds, 1),
        **measures,
        "goal": "< 300 ms (1 000 000 cases, 10 000 000 findings, PostgreSQL)",
    }


def table(result: dict[str, Any]) -> str:
    """The timings as a table: one line per measure (median, p95, max in ms), side by side where paired."""
    lines = [f"{'measure':<48} {'median ms':>10} {'p95 ms':>10} {'max ms':>10}", "-" * 81]
    for part, values in result.items():
        if not isinstance(values, dict):
            continue
        lines.append(part)
        for key, value in values.items():
            if isinstance(value, dict) and "median_ms" in value:
                lines.append(f"  {key:<46} {value['median_ms']:>10} {value['p95_ms']:>10} {value['max_ms']:>10}")
            else:
                lines.append(f"  {key:<46} {value!s:>32}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="probity-cases-scale-")
    os.environ["DATABASE_URL"] = args.database or f"sqlite:///{Path(tmp) / 'cases.sqlite3'}"
    os.environ.setdefault("PROBITY_VAR_DIR", str(Path(tmp) / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    created_pg = False
    if args.database:
        real_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        created_pg = True
    else:
        call_command("migrate", verbosity=0)
    try:
        rng = random.Random(args.seed)
        result: dict[str, Any] = {"backend": connection.vendor}
        if "a" not in args.skip:
            result["a_draw_500_officers"] = part_a(args, rng)
            print(json.dumps(result["a_draw_500_officers"], indent=2), file=sys.stderr, flush=True)
        if "b" not in args.skip:
            result["b_rerun_recorded_draws"] = part_b(args, rng)
            print(json.dumps(result["b_rerun_recorded_draws"], indent=2), file=sys.stderr, flush=True)
        if "c" not in args.skip and args.cases:
            result["c_case_lists"] = part_c(args, rng)
        result["load_average"] = [round(x, 1) for x in os.getloadavg()]
        result["cpu_count"] = os.cpu_count()
        print(table(result))
        print(f"backend {result['backend']}, load average {result['load_average']}, {result['cpu_count']} CPUs")
        print(json.dumps(result, indent=2), file=sys.stderr)
    finally:
        if created_pg:
            connection.creation.destroy_test_db(real_name, verbosity=0)
        if not args.keep:
            import shutil

            connection.close()
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
