"""The indicators' compiled SQL kept between runs (``run.SqlPlan``) and the command's path without
Django's start-up (``indicators.command``): both must give exactly Cardinal's expected output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from probity.procurement.indicators import command
from probity.procurement.indicators.run import indicators_run_file
from probity.procurement.indicators.settings import parse_settings
from tests.procurement.test_cardinal import CASES, case_settings, expected

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", CASES)
def test_kept_sql_gives_the_same_results_as_compiling(shared_data: Path, tmp_path: Path, name: str) -> None:
    settings = parse_settings(case_settings(name))
    data = shared_data / "cardinal" / f"{name}.jsonl"
    first = indicators_run_file(data, settings, plan_cache=tmp_path)
    assert first.plan == "ibis"
    assert len(list(tmp_path.glob("*.json"))) == 1
    second = indicators_run_file(data, settings, plan_cache=tmp_path)
    assert second.plan == "cached"
    assert first.results == second.results == expected(shared_data, name)


def test_another_setting_compiles_afresh(shared_data: Path, tmp_path: Path) -> None:
    data = shared_data / "cardinal" / "R003-threshold-10.jsonl"
    ten = parse_settings(case_settings("R003-threshold-10"))
    twenty = parse_settings(case_settings("R003-threshold-10").replace("threshold = 10", "threshold = 20"))
    assert indicators_run_file(data, ten, plan_cache=tmp_path).plan == "ibis"
    other = indicators_run_file(data, twenty, plan_cache=tmp_path)
    assert other.plan == "ibis"  # a new key: the kept SQL of threshold 10 is not reused
    assert other.results != expected(shared_data, "R003-threshold-10")
    assert len(list(tmp_path.glob("*.json"))) == 2
    assert indicators_run_file(data, ten, plan_cache=tmp_path).results == expected(shared_data, "R003-threshold-10")


def test_a_damaged_plan_file_is_compiled_again(shared_data: Path, tmp_path: Path) -> None:
    settings = parse_settings(case_settings("R024"))
    data = shared_data / "cardinal" / "R024.jsonl"
    indicators_run_file(data, settings, plan_cache=tmp_path)
    (plan_file,) = tmp_path.glob("*.json")
    plan_file.write_text("{not json")
    run = indicators_run_file(data, settings, plan_cache=tmp_path)
    assert (run.plan, run.results) == ("ibis", expected(shared_data, "R024"))
    assert json.loads(plan_file.read_text())["statements"]  # rewritten


def test_without_a_plan_cache_nothing_is_kept(shared_data: Path, tmp_path: Path) -> None:
    settings = parse_settings(case_settings("R018"))
    for _ in range(2):
        assert indicators_run_file(shared_data / "cardinal" / "R018.jsonl", settings).plan == "ibis"


# --- the command without Django's start-up -----------------------------------------------------


def test_fast_path_declines_other_command_lines(tmp_path: Path) -> None:
    assert command.main(["probity", "migrate"]) is None
    assert command.main(["probity", "procurement", "ingest", str(tmp_path)]) is None
    assert command.main(["probity", "procurement", "indicators", "--help"]) is None
    data = tmp_path / "x.jsonl"
    data.write_text("")
    assert command.main(["probity", "procurement", "indicators", str(data), "--warehouse"]) is None


def test_fast_path_gives_cardinals_output_and_exit_codes(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.ini"
    settings.write_text(case_settings("R058"))
    out = tmp_path / "out.json"
    args = ["probity", "procurement", "-v", "0", "indicators", str(shared_data / "cardinal" / "R058.jsonl")]
    assert command.main([*args, "-s", str(settings), "-o", str(out), "--no-plan-cache"]) == 0
    assert json.loads(out.read_text()) == expected(shared_data, "R058")
    bad = tmp_path / "bad.ini"
    bad.write_text("[R003]\nthreshold = soon\n")
    errors = io.StringIO()
    with redirect_stderr(errors):
        assert command.main([*args, "-s", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err + errors.getvalue()


def test_fast_path_starts_neither_django_nor_ibis_once_the_sql_is_kept(shared_data: Path, tmp_path: Path) -> None:
    """In a fresh interpreter: the second run reads the kept SQL, so the Ibis library is never
    imported, and Django's app registry is never populated."""
    settings = tmp_path / "settings.ini"
    settings.write_text(case_settings("R035"))
    out = tmp_path / "out.json"
    data = str(shared_data / "cardinal" / "R035.jsonl")
    script = (
        "import sys, json\n"
        "from probity.procurement.indicators import command\n"
        f"status = command.main(['probity', 'procurement', 'indicators', {data!r},"
        f" '-s', {str(settings)!r}, '-o', {str(out)!r}])\n"
        "from django.apps import apps\n"
        "print(json.dumps([status, apps.ready, 'ibis.expr' in sys.modules]))\n"
    )
    environment = {**os.environ, "PROBITY_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "probity.settings"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, env=environment
        )
        for _ in range(2)
    ]
    first, second = (json.loads(run.stdout.strip().splitlines()[-1]) for run in runs)
    assert first == [0, False, True]  # compiled with Ibis, without Django's start-up
    assert second == [0, False, False]  # the kept SQL: no Ibis either
    assert json.loads(out.read_text()) == expected(shared_data, "R035")
    assert list((tmp_path / "var" / "cache" / "procurement-indicator-sql").glob("*.json"))


def test_only_the_newest_plans_are_kept(shared_data: Path, tmp_path: Path) -> None:
    from probity.procurement.indicators.run import PLANS_KEPT

    for number in range(PLANS_KEPT + 5):
        old = tmp_path / f"old{number:03d}.json"
        old.write_text('{"statements": []}')
        os.utime(old, (1_000_000 + number, 1_000_000 + number))
    settings = parse_settings(case_settings("R018"))
    indicators_run_file(shared_data / "cardinal" / "R018.jsonl", settings, plan_cache=tmp_path)
    kept = sorted(path.name for path in tmp_path.glob("*.json"))
    assert len(kept) == PLANS_KEPT
    assert "old000.json" not in kept and f"old{PLANS_KEPT + 4:03d}.json" in kept
    assert any(not name.startswith("old") for name in kept)  # the new plan


# --- replaying a plan two statements at a time ------------------------------------------------


def _recorded(shared_data: Path, name: str, tmp_path: Path) -> Path:
    settings = parse_settings(case_settings(name))
    indicators_run_file(shared_data / "cardinal" / f"{name}.jsonl", settings, plan_cache=tmp_path)
    (plan_file,) = tmp_path.glob("*.json")
    return plan_file


@pytest.mark.parametrize("name", ["R028", "R038", "R058"])
def test_a_plan_replayed_two_at_a_time_gives_what_one_at_a_time_gives(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    import duckdb

    from probity.procurement.flatten import flatten_file
    from probity.procurement.indicators.run import SqlPlan, needed_tables, plan_replay

    plan_file = _recorded(shared_data, name, tmp_path)
    plan = SqlPlan(statements=[tuple(item) for item in json.loads(plan_file.read_text())["statements"]])
    assert any(kind == "table" for kind, _name, _sql in plan.statements)  # a plan with shared relations
    names = needed_tables(parse_settings(case_settings(name)).enabled)
    results = []
    for workers in (1, 2, 3):
        connection = duckdb.connect(":memory:")
        flatten_file(connection, shared_data / "cardinal" / f"{name}.jsonl", tables=names, processes_view=True)
        results.append(plan_replay(connection, plan, workers=workers))
        connection.close()
    assert results[0] == results[1] == results[2] == expected(shared_data, name)


def test_replay_waits_for_the_tables_a_statement_reads() -> None:
    import duckdb

    from probity.procurement.indicators.run import SqlPlan, _dependencies, plan_replay

    plan = SqlPlan(
        statements=[
            ("table", "probity_indicator_000", "SELECT range AS n FROM range(1000)"),
            ("table", "probity_indicator_001", 'SELECT n * 2 AS n FROM "probity_indicator_000"'),
            (
                "query",
                "R1",
                """SELECT 'OCID', 'a', 'R1', count(*)::DOUBLE FROM "probity_indicator_001"
                WHERE n % 2 = 0""",
            ),
            ("query", "R2", "SELECT 'OCID', 'a', 'R2', sum(n)::DOUBLE FROM \"probity_indicator_000\""),
        ]
    )
    assert _dependencies(plan) == [set(), {0}, {1}, {0}]
    results = plan_replay(duckdb.connect(":memory:"), plan, workers=2)
    assert results == {"OCID": {"a": {"R1": 1000.0, "R2": 499500.0}}}


def test_a_failing_statement_fails_the_replay() -> None:
    import duckdb

    from probity.procurement.indicators.run import SqlPlan, plan_replay

    plan = SqlPlan(statements=[("query", "R1", 'SELECT * FROM "no_such_table"')])
    with pytest.raises(duckdb.CatalogException):
        plan_replay(duckdb.connect(":memory:"), plan, workers=2)


# --- R003's comparison of whole days ------------------------------------------------------------


def test_fewer_whole_days_agrees_with_counting_the_days() -> None:
    """``_fewer_whole_days(start, end, N)`` is ``_whole_days(start, end) < N`` for every sign of
    the duration and of N, with fractions of seconds and exact multiples of a day."""
    import random
    from datetime import UTC, datetime, timedelta

    import ibis

    from probity.procurement.indicators.cardinal import _fewer_whole_days, _whole_days

    rng = random.Random(7)
    base = datetime(2024, 3, 1, tzinfo=UTC)
    starts, ends = [], []
    for _ in range(400):
        start = base + timedelta(seconds=rng.randint(-(10**7), 10**7), microseconds=rng.choice([0, 250000, 999999]))
        days = rng.choice([0, 1, 2, 14, 15, 16, -1, -2, -15])
        delta = timedelta(days=days, seconds=rng.choice([-1, 0, 1, 3600, -3600]), microseconds=rng.choice([0, 500000]))
        starts.append(start)
        ends.append(start + delta)
    table = ibis.memtable({"start": starts, "end": ends})
    backend = ibis.duckdb.connect()
    for threshold in (-2, -1, 0, 1, 2, 15, 16):
        counted = table.mutate(days=_whole_days(table.start, table.end))
        expected_flags = backend.execute(counted.mutate(flag=counted.days < threshold).flag).tolist()
        literal = backend.execute(table.mutate(flag=_fewer_whole_days(table.start, table.end, threshold)).flag)
        expression = _fewer_whole_days(table.start, table.end, ibis.literal(threshold, type="int64"))
        symbolic = backend.execute(table.mutate(flag=expression).flag)
        assert literal.tolist() == expected_flags, threshold
        assert symbolic.tolist() == expected_flags, threshold


# --- reading the file while Probity starts ------------------------------------------------------


def test_the_prefetch_reads_the_tables_cardinals_indicators_need() -> None:
    from probity.procurement.indicators import indicators
    from probity.procurement.indicators.prefetch import CARDINAL_TABLES
    from probity.procurement.indicators.run import needed_tables

    cardinal = [code for code, indicator in indicators().items() if indicator.cardinal]
    assert len(cardinal) == 11
    assert tuple(needed_tables(cardinal)) == CARDINAL_TABLES


@pytest.mark.parametrize(
    ("argv", "guess"),
    [
        (["probity", "procurement", "indicators", "F", "-s", "S"], "F"),
        (["probity", "procurement", "-v", "2", "indicators", "-s", "S", "--format", "csv", "F"], "F"),
        (["probity", "procurement", "indicators", "-o", "OUT", "--no-plan-cache", "F"], "F"),
        (["probity", "procurement", "indicators", "F", "--memory-limit", "2GB"], None),
        (["probity", "procurement", "indicators", "F", "--warehouse"], None),
        (["probity", "procurement", "indicators", "-s", "S"], None),
        (["probity", "procurement", "ingest", "F"], None),
    ],
)
def test_the_prefetch_guesses_file_from_the_command_line(argv: list[str], guess: str | None) -> None:
    from probity.procurement.indicators.prefetch import guess_file

    assert guess_file(argv) == guess


def test_a_prefetch_is_used_only_for_what_it_read(shared_data: Path, tmp_path: Path) -> None:
    """The run takes the prefetched database only for the same file, the same memory limit and tables
    among those read; otherwise it reads the file itself, and the results are the same either way."""
    from probity.procurement.indicators.prefetch import Prefetch

    data = shared_data / "cardinal" / "R035.jsonl"
    settings = parse_settings(case_settings("R035"))
    prefetch = Prefetch(data).start()
    run = indicators_run_file(data, settings, prefetch=prefetch, memory_limit="1GB")
    assert run.results == expected(shared_data, "R035")
    assert prefetch.connection is None  # handed over to the run, which closed it

    other = Prefetch(shared_data / "cardinal" / "R024.jsonl").start()
    assert other.take(data, ["processes"], "1GB") is None  # another file
    assert other.connection is None  # closed
    same = Prefetch(data).start()
    assert same.take(data, ["processes"], "4GB") is None  # another memory limit
    parties = Prefetch(data).start()
    assert parties.take(data, ["processes", "parties"], None) is None  # a table it did not read
    taken = Prefetch(data).start().take(data, ["processes", "bids"], None)
    assert taken is not None
    connection, report = taken
    assert report.releases == connection.execute("SELECT count(*) FROM procurement_processes").fetchone()[0]
    connection.close()


def test_the_fast_path_with_a_prefetch_gives_what_the_path_without_one_gives(shared_data: Path, tmp_path: Path) -> None:
    """All of a case's indicators, and one indicator that reads fewer tables than were read."""
    data = str(shared_data / "cardinal" / "R058.jsonl")
    settings = tmp_path / "settings.ini"
    settings.write_text(case_settings("R058"))
    out = tmp_path / "out.json"
    base = ["probity", "procurement", "indicators", data, "-o", str(out)]
    assert command.main([*base, "-s", str(settings)]) == 0
    assert json.loads(out.read_text()) == expected(shared_data, "R058")
    assert command.main([*base, "--indicators", "R003"]) == 0
    direct = indicators_run_file(data, parse_settings("[R003]\n"))
    assert json.loads(out.read_text()) == direct.results


def test_a_prefetch_that_spilled_to_disk_is_taken_without_resetting_its_spill_folder(
    shared_data: Path, tmp_path: Path
) -> None:
    """DuckDB refuses to change its spill folder once it has used it (a 1 000 000-release file
    spills): the run must not set it again on the database it takes over."""
    from probity.procurement.indicators.prefetch import Prefetch

    data = shared_data / "cardinal" / "R035.jsonl"
    prefetch = Prefetch(data)
    prefetch.spill_directory = tmp_path / "spill"
    prefetch.start()
    prefetch._thread.join()
    assert prefetch.connection is not None
    prefetch.connection.execute("SET memory_limit = '20MB'")
    prefetch.connection.execute("SELECT count(*) FROM (SELECT range AS n FROM range(4000000) ORDER BY hash(range))")
    prefetch.connection.execute("SET memory_limit = '1GB'")
    run = indicators_run_file(
        data,
        parse_settings(case_settings("R035")),
        prefetch=prefetch,
        memory_limit="1GB",
        temp_directory=str(tmp_path / "spill"),
    )
    assert run.results == expected(shared_data, "R035")
