"""The dated exchange-rate table: import from CSV and convert amounts, refusing a currency without a rate."""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from probity.declarations.models import ExchangeRate

RATE_COLUMNS = ("date", "currency", "base_currency", "rate")


class MissingRate(LookupError):
    def __init__(self, currency: str, base: str, on: date) -> None:
        super().__init__(
            f"no exchange rate from {currency} to {base} on or before {on.isoformat()}: "
            "import the rate table (probity declarations rates FILE) first"
        )
        self.currency, self.base, self.on = currency, base, on


class _RateTable:
    """Every rate of the table, read once per currency pair (for long runs such as verification)."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], tuple[list[date], list[Decimal]]] = {}
        self.found: dict[tuple[str, str, date], Decimal | None] = {}

    def lookup(self, currency: str, base: str, on: date) -> Decimal | None:
        key = (currency, base, on)
        if key in self.found:
            return self.found[key]
        pair = self.pairs.get((currency, base))
        if pair is None:
            rows = (
                ExchangeRate.objects.filter(currency=currency, base_currency=base)
                .order_by("date")
                .values_list("date", "rate")
            )
            pair = self.pairs[(currency, base)] = ([d for d, _r in rows], [Decimal(r) for _d, r in rows])
        dates, rates = pair
        index = bisect_right(dates, on)
        rate = rates[index - 1] if index else None
        self.found[key] = rate
        return rate


_table: ContextVar[_RateTable | None] = ContextVar("probity_rate_table", default=None)


@contextmanager
def cached_rates() -> Iterator[None]:
    """Within this block ``rate_for`` reads the rate table once and answers from memory.

    For long read-only passes (a verification run): rates imported while the block runs are not seen.
    """
    token = _table.set(_table.get() or _RateTable())
    try:
        yield
    finally:
        try:
            _table.reset(token)
        except ValueError:  # a generator closed in another context (garbage collection): just drop the table
            _table.set(None)


def rate_for(currency: str, base: str, on: date) -> Decimal:
    """The latest rate from ``currency`` to ``base`` on or before ``on``; 1 for the same currency."""
    if currency == base:
        return Decimal(1)
    table = _table.get()
    if table is not None:
        cached = table.lookup(currency, base, on)
        if cached is None:
            raise MissingRate(currency, base, on)
        return cached
    row = (
        ExchangeRate.objects.filter(currency=currency, base_currency=base, date__lte=on)
        .order_by("-date")
        .values_list("rate", flat=True)
        .first()
    )
    if row is None:
        raise MissingRate(currency, base, on)
    return Decimal(row)


def convert(amount: Decimal, currency: str, base: str, on: date) -> Decimal:
    return (amount * rate_for(currency, base, on)).quantize(Decimal("0.01"))


@dataclass
class RateImport:
    created: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def rates_import(*, path: Path, source: str = "") -> RateImport:
    """Reads ``date,currency,base_currency,rate`` rows; a bad row is reported by number, others are kept."""
    from probity.declarations.schema import load_schema

    known = set(load_schema()["$defs"]["currency"]["enum"])
    report = RateImport()
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in RATE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: the CSV needs the columns {', '.join(RATE_COLUMNS)}; missing {', '.join(missing)}"
            )
        for number, row in enumerate(reader, start=2):
            try:
                day = date.fromisoformat((row["date"] or "").strip())
                currency, base = (row["currency"] or "").strip().upper(), (row["base_currency"] or "").strip().upper()
                for code in (currency, base):
                    if code not in known:
                        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
                rate = Decimal((row["rate"] or "").strip())
                if not rate.is_finite() or rate <= 0 or rate >= Decimal(10) ** 13:
                    raise ValueError(f"the rate {row['rate']!r} must be a positive number below 10^13")
            except (ValueError, InvalidOperation) as exc:
                report.errors.append(f"row {number}: {exc}")
                continue
            with transaction.atomic():
                existing = ExchangeRate.objects.filter(currency=currency, base_currency=base, date=day).first()
                if existing is not None and existing.rate == rate:
                    report.unchanged += 1
                    continue
                if existing is not None:
                    existing.rate = rate
                    existing.save()
                else:
                    ExchangeRate.objects.create(
                        currency=currency, base_currency=base, date=day, rate=rate, source=source or str(path)[:200]
                    )
                report.created += 1
    return report
