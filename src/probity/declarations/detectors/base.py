"""What every declarations detector shares: the subject, the base class, and money in one currency.

Subjects are declarations (``subject_id`` is the declaration's database id) judged on their latest
version (``selectors.iter_latest_items``). Each finding's evidence carries ``weight`` (a parameter of
its detector); a declaration's risk score is the sum of the weights of its flags
(``selectors.risk_scores``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from probity.core.detectors import Detector
from probity.declarations.models import Declaration
from probity.declarations.rates import rate_for
from probity.declarations.selectors import Item

SUBJECT = "declaration"
# Income that is not earned in the period: one-off inflows (lawful, but not regular income).
INFLOW_INCOME_KINDS = {"gift", "prize", "inheritance", "sale_of_property"}
CENT = Decimal("0.01")


def amount_in(value: Any, base: str, on: date) -> Decimal | None:
    """The money value in ``base``; None when not provided. Raises MissingRate."""
    if not isinstance(value, dict) or "amount" not in value:
        return None
    if value["currency"] == base:  # rate 1: multiplying by Decimal(1) keeps the exponent, so this is the same
        return Decimal(value["amount"]).quantize(CENT)
    return (Decimal(value["amount"]) * rate_for(value["currency"], base, on)).quantize(CENT)


def share_of(row: Mapping[str, Any]) -> Decimal:
    """The declarant's share of an asset, in percent: ``share_percent`` when it is a number, else 100.

    ``value`` is the whole asset's value and ``share_percent`` the share owned (as the Ukrainian register
    files co-owned property); a share outside 0–100 is DECL-ARITHMETIC's to report and is capped here.
    """
    share = row.get("share_percent")
    if isinstance(share, bool) or not isinstance(share, int | float | str | Decimal):
        return Decimal(100)
    try:
        percent = Decimal(str(share))
    except InvalidOperation:
        return Decimal(100)
    if not percent.is_finite():
        return Decimal(100)
    return min(Decimal(100), max(Decimal(0), percent))


def owned_value(row: Mapping[str, Any], base: str, on: date) -> Decimal | None:
    """The part of an asset the declarant owns, in ``base``: the whole ``value`` (or a cash row's
    ``amount``) times ``share_percent`` / 100. None when the value is not provided. Raises MissingRate."""
    whole = amount_in(row.get("value", row.get("amount")), base, on)
    if whole is None:
        return None
    share = share_of(row)
    return whole if share == 100 else (whole * share / 100).quantize(CENT)


def subject_of(item: Item) -> dict[str, Any]:
    """The ``Judgement`` keywords that name the declaration judged."""
    return {"subject_type": SUBJECT, "subject_id": str(item.declaration.pk), "subject_label": item.label}


def weight(params: Mapping[str, Any]) -> float:
    return float(params["weight"])


class DeclarationDetector(Detector):
    """A detector that judges the latest version of each declaration."""

    # A new or corrected declaration queues it again (``core.job_kinds.data_changed``, ``declarations.jobs``).
    reads: ClassVar[tuple[str, ...]] = ("declarations",)
    # True for a detector that reads the DuckDB warehouse: it runs on the job queue ``warehouse``.
    reads_warehouse: ClassVar[bool] = False

    def dataset(self) -> str:
        return "declarations: latest version of each declaration"

    def count_subjects(self) -> int | None:
        return Declaration.objects.count()
