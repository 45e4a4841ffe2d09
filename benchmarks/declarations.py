"""Benchmark: ``probity declarations verify`` (every ``DECL-`` detector) over N declarations, and the import speed.

    .venv/bin/python benchmarks/declarations.py --declarations 100000
    .venv/bin/python benchmarks/declarations.py --declarations 1000000 --import-sample 2000
    .venv/bin/python benchmarks/declarations.py --database postgres://postgres@127.0.0.1:5432/probity_bench

1. **Data**: N declarations of N/3 declarants over three years (2021–2023, annual), deterministic
   (fixed seed). Each has family members, real estate, vehicles, bank accounts and cash, income,
   liabilities and expenditures; about one declarant in eight holds money in USD or GBP (converted
   with a daily rate table of 2020–2023). Balances move with income minus spending, so most
   declarations reconcile; a share carries planted anomalies (unexplained wealth, a car or flat
   that appears without a purchase, an asset that vanishes without a sale, a house without land,
   totals that do not add up, a property listed twice).
2. **Load (setup, reported apart)**: persons, declarations and their first versions are written with
   ``bulk_create`` in large transactions, bypassing validation and the per-version audit entry. The
   database is a fresh SQLite file in a temporary folder (or ``--folder``, kept for the next run), or
   the PostgreSQL database ``--database`` names (created when missing). When the database already holds
   the same number of declarations, the load is skipped.
3. **Verify (the figure)**: ``probity declarations verify`` as its own process: wall time, CPU time
   (user + system, from ``/usr/bin/time -v``) and the peak resident memory of the process tree (sampled
   from ``/proc`` every 0.2 s; with PostgreSQL the server's own processes are not counted).
4. **Import (``--import-sample N``)**: N more declarations (new declarants) written as JSON Lines and
   imported into a scratch SQLite database through ``probity declarations import`` (validation, hashing,
   batched writes with one summary audit entry per batch: the default), then the first 500 of them
   through ``declaration_import(batch_size=1)`` (one transaction and audit entries per declaration,
   the path before); the figure is declarations per second, process start-up included, and each
   import is run twice to show that the second adds nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
YEARS = (2021, 2022, 2023)
SEED = 20261123

FIRST = [
    "Ana",
    "Ivan",
    "Maria",
    "Petro",
    "Olena",
    "Taras",
    "Iryna",
    "Andriy",
    "Natalia",
    "Serhiy",
    "Oksana",
    "Mykola",
    "Yulia",
    "Dmytro",
    "Svitlana",
    "Oleh",
    "Halyna",
    "Vasyl",
    "Tetiana",
    "Bohdan",
    "Lesia",
    "Roman",
    "Kateryna",
    "Yurii",
    "Nadia",
    "Pavlo",
    "Larysa",
    "Viktor",
    "Zoriana",
    "Ihor",
]
LAST = [
    "Kovalenko",
    "Bondarenko",
    "Tkachenko",
    "Kravchenko",
    "Shevchenko",
    "Melnyk",
    "Boyko",
    "Koval",
    "Oliynyk",
    "Lysenko",
    "Moroz",
    "Marchenko",
    "Savchenko",
    "Rudenko",
    "Petrenko",
    "Klymenko",
    "Pavlenko",
    "Levchenko",
    "Kharchenko",
    "Karpenko",
    "Ponomarenko",
    "Vlasenko",
]
BODIES = [f"Ministry {n}" for n in range(40)] + [f"City Council {n}" for n in range(60)]
TITLES = ("Head of unit", "Deputy minister", "Inspector", "Judge", "Procurement officer", "Mayor", "Advisor")
CARS = ("Skoda Octavia", "Toyota Corolla", "VW Passat", "BMW X5", "Renault Logan", "Audi A6", "Kia Sportage")


def _money(amount: float, currency: str = "EUR") -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "currency": currency}


class Declarant:
    """One declarant's assets, carried from year to year so that most declarations reconcile."""

    def __init__(self, rng: random.Random, number: int, prefix: str) -> None:
        self.rng = rng
        self.id = f"{prefix}P{number:07d}"
        self.name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {number}"
        self.birth = date(rng.randint(1955, 1995), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        self.body = rng.choice(BODIES)
        self.title = rng.choice(TITLES)
        self.family: list[dict[str, Any]] = []
        if rng.random() < 0.7:
            self.family.append(
                {"id": "f1", "relation": "spouse", "name": f"{rng.choice(FIRST)} {self.name.split()[1]}"}
            )
        for child in range(rng.choice((0, 0, 1, 1, 2))):
            self.family.append({"id": f"c{child + 1}", "relation": "child", "name": rng.choice(FIRST)})
        owners = ["declarant"] + [m["id"] for m in self.family if m["relation"] == "spouse"]
        self.real_estate = [
            {
                "owner": rng.choice(owners),
                "kind": "apartment",
                "description": "Flat",
                "share_percent": 100,
                "area_m2": rng.randint(35, 140),
                "acquired": f"{rng.randint(1995, 2019)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "value": _money(rng.randint(30, 300) * 1000),
            }
        ]
        if rng.random() < 0.3:
            acquired = f"{rng.randint(1990, 2015)}-05-20"
            self.real_estate.append(
                {
                    "owner": "declarant",
                    "kind": "land",
                    "description": "Plot",
                    "acquired": acquired,
                    "value": _money(rng.randint(5, 60) * 1000),
                }
            )
            self.real_estate.append(
                {
                    "owner": "declarant",
                    "kind": "house",
                    "description": "House",
                    "acquired": acquired,
                    "value": _money(rng.randint(60, 400) * 1000),
                }
            )
        self.vehicles = [
            {
                "owner": rng.choice(owners),
                "kind": "car",
                "make_model": rng.choice(CARS),
                "year": rng.randint(2005, 2020),
                "acquired": f"{rng.randint(2006, 2020)}-03-15",
                "value": _money(rng.randint(3, 60) * 1000),
            }
            for _ in range(rng.choice((0, 1, 1, 1, 2)))
        ]
        if self.vehicles and rng.random() < 0.3:
            self.real_estate.append(
                {
                    "owner": "declarant",
                    "kind": "garage",
                    "description": "Garage",
                    "value": _money(rng.randint(3, 20) * 1000),
                }
            )
        self.foreign = rng.choice(("USD", "GBP")) if rng.random() < 0.125 else None
        self.accounts = [rng.uniform(1_000, 60_000) for _ in range(rng.randint(1, 3))]
        self.foreign_balance = rng.uniform(2_000, 40_000) if self.foreign else 0.0
        self.cash = rng.choice((0.0, 0.0, rng.uniform(500, 20_000)))
        self.salary = rng.uniform(18_000, 90_000)
        self.spouse_salary = rng.uniform(10_000, 50_000) if owners[1:] else 0.0
        self.mortgage = rng.uniform(20_000, 150_000) if rng.random() < 0.3 else 0.0
        self.securities = rng.uniform(1_000, 80_000) if rng.random() < 0.1 else 0.0
        self.company = f"Firm {rng.randrange(50_000)} LLC" if rng.random() < 0.05 else None

    def declaration(self, year: int) -> dict[str, Any]:
        """This year's declaration; the balances then move on to the next year."""
        rng = self.rng
        income = [
            {"owner": "declarant", "kind": "salary", "source": self.body, "amount": _money(self.salary)},
        ]
        if self.spouse_salary:
            income.append({"owner": "f1", "kind": "salary", "source": "Employer", "amount": _money(self.spouse_salary)})
        if sum(self.accounts) > 20_000:
            income.append(
                {
                    "owner": "declarant",
                    "kind": "interest",
                    "source": "Bank",
                    "amount": _money(sum(self.accounts) * 0.01),
                }
            )
        lawful = sum(float(row["amount"]["amount"]) for row in income)
        expenditures: list[dict[str, Any]] = []
        consumption = lawful * rng.uniform(0.55, 0.9)
        expenditures.append({"owner": "declarant", "kind": "consumption", "amount": _money(consumption)})
        if self.mortgage:
            repayment = min(self.mortgage, rng.uniform(3_000, 12_000))
            self.mortgage -= repayment
            expenditures.append({"owner": "declarant", "kind": "loan_repayment", "amount": _money(repayment)})
        else:
            repayment = 0.0
        saved = lawful - consumption - repayment
        first = year == YEARS[0]
        anomaly = (
            ""
            if first
            else rng.choices(
                ("", "wealth", "car_appears", "flat_appears", "vanishes", "purchase"), (88, 4, 2, 1, 1, 4)
            )[0]
        )
        if anomaly == "purchase":  # a car bought and declared: explained, no flag
            price = rng.randint(5, 40) * 1000
            saved -= price
            self.vehicles.append(
                {
                    "owner": "declarant",
                    "kind": "car",
                    "make_model": rng.choice(CARS),
                    "year": year,
                    "acquired": f"{year}-06-01",
                    "value": _money(price),
                }
            )
            expenditures.append(
                {"owner": "declarant", "kind": "vehicle_purchase", "date": f"{year}-06-01", "amount": _money(price)}
            )
        elif anomaly == "car_appears":
            self.vehicles.append(
                {
                    "owner": "declarant",
                    "kind": "car",
                    "make_model": "Porsche Cayenne",
                    "year": year,
                    "acquired": f"{year}-04-01",
                    "value": _money(rng.randint(60, 120) * 1000),
                }
            )
        elif anomaly == "flat_appears":
            self.real_estate.append(
                {
                    "owner": "f1" if self.family and self.family[0]["relation"] == "spouse" else "declarant",
                    "kind": "apartment",
                    "description": "Sea view flat",
                    "acquired": f"{year}-08-01",
                    "value": _money(rng.randint(150, 600) * 1000),
                }
            )
        elif anomaly == "vanishes" and self.vehicles:
            self.vehicles.pop()
        elif anomaly == "wealth":
            self.cash += rng.uniform(80_000, 500_000)
        self.accounts[0] += saved
        if self.foreign:
            self.foreign_balance *= rng.uniform(0.98, 1.03)
        accounts = [
            {"owner": "declarant", "kind": "bank_account", "institution": f"Bank {n}", "amount": _money(balance)}
            for n, balance in enumerate(self.accounts)
            if balance > 0  # an overdrawn account is not an asset (and a negative amount is refused)
        ]
        if self.foreign:
            accounts.append(
                {
                    "owner": "declarant",
                    "kind": "deposit",
                    "institution": "Foreign bank",
                    "country": "GB" if self.foreign == "GBP" else "US",
                    "amount": _money(self.foreign_balance, self.foreign),
                }
            )
        if self.cash > 0:  # spending beyond the cash at hand leaves none, never a negative amount
            accounts.append({"owner": "declarant", "kind": "cash", "amount": _money(self.cash)})
        content: dict[str, Any] = {
            "schema_version": "1.0",
            "external_id": f"{self.id}-{year}",
            "declaration_type": "annual",
            "period": {"year": year, "start": f"{year}-01-01", "end": f"{year}-12-31"},
            "reporting_currency": "EUR",
            "submitted": f"{year + 1}-03-{rng.randint(1, 28):02d}",
            "declarant": {"id": self.id, "name": self.name, "birth_date": self.birth},
            "position": {"title": self.title, "body": {"name": self.body}},
            "family_members": [dict(m) for m in self.family],
            "real_estate": [dict(r) for r in self.real_estate],
            "vehicles": [dict(v) for v in self.vehicles],
            "cash_and_accounts": accounts,
            "income": income,
            "liabilities": [
                {
                    "owner": "declarant",
                    "kind": "mortgage",
                    "creditor": "Bank 0",
                    "creditor_is_bank": True,
                    "amount": _money(self.mortgage),
                }
            ]
            if self.mortgage
            else [],
            "expenditures": expenditures,
        }
        if self.securities:
            content["securities"] = [
                {"owner": "declarant", "kind": "shares", "issuer": "Listed Co", "value": _money(self.securities)}
            ]
        if self.company:
            content["corporate_rights"] = [
                {
                    "owner": "declarant",
                    "kind": "shares",
                    "company": self.company,
                    "share_percent": 25,
                    "value": _money(10_000),
                }
            ]
        errors = rng.random()
        if errors < 0.03:  # (a share over 100 % was planted too until the schema itself refused it)
            content["totals"] = {"income": _money(lawful + 1000)}
        elif errors < 0.04:
            content["real_estate"].append(
                {"owner": "declarant", "kind": "house", "description": "Cottage", "value": _money(50_000)}
            )
        return content


def generate(count: int, prefix: str = "", seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``count`` declarations, three years per declarant, declarant by declarant."""
    rng = random.Random(seed)
    made, number = 0, 0
    while made < count:
        person = Declarant(rng, number, prefix)
        number += 1
        for year in YEARS:
            if made >= count:
                return
            yield person.declaration(year)
            made += 1


def rate_rows() -> list[tuple[date, str, float]]:
    """Daily USD→EUR and GBP→EUR rates for 2020–2023 (a gentle random walk)."""
    rng = random.Random(SEED)
    rows = []
    for currency, rate in (("USD", 0.9), ("GBP", 1.15)):
        day = date(2020, 1, 1)
        while day <= date(2023, 12, 31):
            rate *= rng.uniform(0.995, 1.005)
            rows.append((day, currency, round(rate, 6)))
            day += timedelta(days=1)
    return rows


# --- stages run in a child process with Django set up on the chosen database ----------------------


def _django(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def stage_load(database: str, count: int) -> int:
    """Migrates, then bulk-writes rates, persons, declarations and versions. Prints the phases."""
    _django(database)
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from tqdm import tqdm

    from probity.core.models import Person
    from probity.declarations.models import Declaration, DeclarationVersion, ExchangeRate
    from probity.declarations.services import content_hash

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    existing = Declaration.objects.count()
    if existing == count:
        print(f"phase load: skipped, the database already holds {count} declarations")
        return 0
    if existing:
        sys.stderr.write(f"the database holds {existing} declarations, not {count}: use a fresh one\n")
        return 2
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(currency=c, base_currency="EUR", date=d, rate=r, source="benchmark") for d, c, r in rate_rows()]
    )
    now = timezone.now()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        with transaction.atomic():
            keys = {c["declarant"]["id"] for c in batch}
            persons = (
                {
                    p.source_key: p
                    for p in Person.objects.bulk_create(
                        [
                            Person(
                                name=c["declarant"]["name"],
                                source_key=c["declarant"]["id"],
                                birth_date=date.fromisoformat(c["declarant"]["birth_date"]),
                            )
                            for c in batch
                            if c["period"]["year"] == YEARS[0]
                        ]
                    )
                }
                if keys
                else {}
            )
            missing = keys - set(persons)
            persons.update({p.source_key: p for p in Person.objects.filter(source_key__in=missing)})
            declarations = Declaration.objects.bulk_create(
                [
                    Declaration(
                        declarant_id=persons[c["declarant"]["id"]].pk,
                        body_name=c["position"]["body"]["name"],
                        position_title=c["position"]["title"],
                        declaration_type=c["declaration_type"],
                        year=c["period"]["year"],
                        period_start=date.fromisoformat(c["period"]["start"]),
                        period_end=date.fromisoformat(c["period"]["end"]),
                        status="submitted",
                        external_id=c["external_id"],
                    )
                    for c in batch
                ]
            )
            if declarations and declarations[0].pk is None:  # backends without RETURNING
                ids = dict(
                    Declaration.objects.filter(external_id__in=[c["external_id"] for c in batch]).values_list(
                        "external_id", "pk"
                    )
                )
                for declaration in declarations:
                    declaration.pk = ids[declaration.external_id]
            DeclarationVersion.objects.bulk_create(
                [
                    DeclarationVersion(
                        declaration_id=d.pk,
                        number=1,
                        schema_version="1.0",
                        content=c,
                        content_hash=content_hash(content=c),
                        submitted_at=now,
                        submitted_by="benchmark",
                        source="benchmark",
                    )
                    for d, c in zip(declarations, batch, strict=True)
                ]
            )

    with tqdm(total=count, unit=" declarations", file=sys.stderr, disable=None, mininterval=5) as bar:
        for content in generate(count):
            # keep a declarant's years in one batch so that the person is created once
            if len(batch) >= 3000 and content["period"]["year"] == YEARS[0]:
                flush()
                bar.update(len(batch))
                batch = []
            batch.append(content)
        if batch:
            flush()
            bar.update(len(batch))
    print(f"phase load: {count} declarations in {time.perf_counter() - started:.1f} s")
    return 0


def stage_import(database: str, path: Path, batch_size: int) -> int:
    """``declaration_import`` with the given batch size (1: each declaration on its own, as before)."""
    _django(database)
    from probity.core.audit import audit_actor
    from probity.declarations.services import declaration_import

    with audit_actor("system:declarations-import"):
        report = declaration_import(path=path, batch_size=batch_size)
    print(f"{path}: {report.created} stored, {report.unchanged} unchanged, {len(report.errors)} rejected")
    return 1 if report.errors else 0


def stage_counts(database: str) -> int:
    _django(database)
    from probity.core.models import DetectorRun

    latest: dict[str, Any] = {}
    for run in DetectorRun.objects.filter(detector_code__startswith="DECL-").order_by("pk"):
        latest[run.detector_code] = run
    for code, run in sorted(latest.items()):
        print(f"run {code}: {run.subjects_checked} checked, {run.flagged} flagged, {run.duration_seconds} s")
    return 0


# --- measuring --------------------------------------------------------------------------------


def _tree_rss_kb(root: int) -> int:
    """Resident memory (kB) of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as handle:
                match = re.search(r"VmRSS:\s+(\d+)", handle.read())
            total += int(match.group(1)) if match else 0
        except OSError:
            continue
    return total


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int, str, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS of the process tree in MB, exit code, stdout, stderr."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        process = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", report.name, *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss_kb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = process.communicate()
        done.set()
        sampler.join()
        wall = time.perf_counter() - started
        text = Path(report.name).read_text()
    cpu = sum(float(value) for value in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    peak_mb = max(peak[0], int(match.group(1)) if match else 0) / 1024
    return wall, cpu, peak_mb, process.returncode, out, err


def _load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _ensure_postgres(url: str) -> None:
    """Creates the PostgreSQL database the URL names when it does not exist."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--database", default="", help="database URL (default: a fresh SQLite file in --folder)")
    parser.add_argument("--folder", type=Path, default=None, help="where the SQLite file goes (default: a temp dir)")
    parser.add_argument(
        "--import-sample",
        type=int,
        default=0,
        metavar="N",
        help="also time the real import path on N new declarations (fast and one by one)",
    )
    parser.add_argument("--detectors", default="", help="only these codes (default: every DECL- detector)")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--stage", choices=("load", "counts", "import"), help=argparse.SUPPRESS)
    parser.add_argument("--sample-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=500, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage == "load":
        return stage_load(args.database, args.declarations)
    if args.stage == "counts":
        return stage_counts(args.database)
    if args.stage == "import":
        return stage_import(args.database, args.sample_file, args.batch_size)

    folder = args.folder or Path(tempfile.mkdtemp(prefix="probity-declarations-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = args.database or f"sqlite:///{folder / f'declarations-{args.declarations}.sqlite3'}"
    if database.startswith("postgres"):
        _ensure_postgres(database)
    env = dict(
        os.environ,
        DATABASE_URL=database,
        PYTHONPATH=str(ROOT / "src"),
        PROBITY_WAREHOUSE=str(folder / "warehouse.duckdb"),
    )
    python = str(VENV / "python")
    print(f"database: {database.split('@')[-1]}; load average {_load_average()}")

    load = [
        python,
        str(Path(__file__).resolve()),
        "--stage",
        "load",
        "--declarations",
        str(args.declarations),
        "--database",
        database,
    ]
    wall, cpu, peak, code, out, err = timed(load, env)
    sys.stdout.write(out)
    if code:
        sys.stderr.write(err[-3000:])
        return code
    if "skipped" not in out:
        print(
            f"load (setup): wall {wall:.1f} s, cpu {cpu:.1f} s, peak {peak:.0f} MB, "
            f"{args.declarations / wall:.0f} declarations/s; load average {_load_average()}"
        )

    if not args.skip_verify:
        verify = [str(VENV / "probity"), "declarations", "verify"]
        if args.detectors:
            verify += ["--detectors", args.detectors]
        before = _load_average()
        wall, cpu, peak, code, out, err = timed(verify, env)
        sys.stdout.write(out)
        if code:
            sys.stderr.write(err[-3000:])
        print(
            f"VERIFY {args.declarations} declarations: wall {wall:.1f} s ({wall / 60:.1f} min), cpu {cpu:.1f} s, "
            f"peak RSS {peak:.0f} MB, exit {code}; load average {before} before, {_load_average()} after"
        )
        subprocess.run(
            [python, str(Path(__file__).resolve()), "--stage", "counts", "--database", database], env=env, check=False
        )

    if args.import_sample:
        sample = folder / f"import-sample-{args.import_sample}.jsonl"
        with sample.open("w", encoding="utf-8") as handle:
            for content in generate(args.import_sample, prefix="IMP", seed=SEED + 1):
                handle.write(json.dumps(content, separators=(",", ":")) + "\n")
        rates = folder / "rates.csv"
        rates.write_text(
            "date,currency,base_currency,rate\n" + "".join(f"{d},{c},EUR,{r}\n" for d, c, r in rate_rows())
        )
        # The batched path is the CLI's default; one by one (``batch_size=1``) is timed on at most 500.
        for mode, size in (("batched", args.import_sample), ("one-by-one", min(args.import_sample, 500))):
            records = folder / f"import-sample-{size}.jsonl"
            if records != sample:
                records.write_text("".join(sample.read_text().splitlines(keepends=True)[:size]))
            scratch = f"sqlite:///{folder / f'import-{mode}.sqlite3'}"
            Path(scratch.removeprefix("sqlite:///")).unlink(missing_ok=True)
            scratch_env = dict(env, DATABASE_URL=scratch)
            subprocess.run([str(VENV / "probity"), "migrate", "-v", "0"], env=scratch_env, check=True)
            subprocess.run(
                [str(VENV / "probity"), "declarations", "rates", str(rates)],
                env=scratch_env,
                check=True,
                capture_output=True,
            )
            if mode == "batched":
                command = [str(VENV / "probity"), "declarations", "import", str(records)]
            else:
                command = [
                    python,
                    str(Path(__file__).resolve()),
                    "--stage",
                    "import",
                    "--database",
                    scratch,
                    "--sample-file",
                    str(records),
                    "--batch-size",
                    "1",
                ]
            wall, cpu, peak, code, out, err = timed(command, scratch_env)
            sys.stdout.write(out)
            again = timed(command, scratch_env)
            print(
                f"IMPORT {mode}: {size} declarations in {wall:.1f} s = {size / wall:.1f} declarations/s "
                f"(cpu {cpu:.1f} s = {size / max(cpu, 0.01):.1f}/cpu-s, peak {peak:.0f} MB, exit {code}, "
                f"start-up included); re-import {again[0]:.1f} s: {again[4].strip()}; "
                f"load average {_load_average()}"
            )
    print(f"folder: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
