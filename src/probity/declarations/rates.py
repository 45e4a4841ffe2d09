"""The dated exchange-rate table: convert amounts, refusing a currency without a rate (the CSV import is
``services.rates_import``)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from probity.declarations.models import ExchangeRate


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
