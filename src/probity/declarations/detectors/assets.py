"""Assets across two consecutive declarations, and the declared transactions that name them.

Shared by DECL-WEALTH and DECL-CROSSYEAR so that both tell the same story:

* **held, vanished, appeared** — an asset row of the earlier declaration is the same asset as a row of
  the later one when section and kind agree and, in this order: the owner and the registration or
  registry number; the owner and the name (make and model, company, description, issuer or location);
  the number or the name with another owner of the household (a transfer within the family).
  What is left vanished (earlier only) or appeared (later only).
* **transactions matched by the asset they name** — a sale (``income`` of kind ``sale_of_property``,
  ``expenditures`` of kind ``sale``) or a gift given (``gift_given``) explains a vanished asset, a
  purchase of the section's kind or a gift, prize or inheritance received explains an appeared one,
  only when the row names that asset: its registration or registry number, its name, words of its
  name or its kind in the row's text, or — for a row whose text names it or that has no text at all —
  its value. Each row explains at most one asset, each asset is explained once per section, so one
  sale declared both in ``income`` and in ``expenditures`` is one transaction of one asset.
* **sales of assets in neither declaration** (bought and sold within the year) are matched to a
  declared purchase that no appeared asset took, the same way; a sale declared in both sections with
  the same amount is one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from probity.declarations.detectors.base import share_of

# Sections whose rows are assets that can appear or vanish, with the expenditure kind that buys them.
ASSET_PURCHASE = {
    "real_estate": "real_estate_purchase",
    "unfinished_construction": "real_estate_purchase",
    "vehicles": "vehicle_purchase",
    "securities": "securities_purchase",
    "corporate_rights": "securities_purchase",
    "valuables": "other_asset_purchase",
    "intangible_assets": "other_asset_purchase",
}
PURCHASE_KINDS = frozenset(ASSET_PURCHASE.values())
RECEIVED_KINDS = frozenset({"gift", "inheritance", "prize"})
SALE_INCOME = "sale_of_property"
SALE_SPENT = "sale"
GIFT_GIVEN = "gift_given"

NUMBER_KEYS = ("registration", "registry_number")
NAME_KEYS = ("make_model", "company", "description", "issuer", "location")
ROW_TEXT_KEYS = ("description", "source", "counterparty", "notes")
# Words that say what happened rather than which asset: never enough to name one.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "my",
        "our",
        "his",
        "her",
        "their",
        "its",
        "sale",
        "sold",
        "selling",
        "purchase",
        "purchased",
        "bought",
        "buying",
        "gift",
        "gifts",
        "given",
        "gifted",
        "received",
        "inheritance",
        "inherited",
        "prize",
        "other",
        "ltd",
        "llc",
        "plc",
        "inc",
        "co",
    }
)

# Scores of what a row says about an asset; a row names an asset when its score is above 0.
NUMBER_SCORE, NAME_SCORE, WORD_SCORE, VALUE_SCORE = 8, 4, 1, 2

Row = tuple[str, int, dict[str, Any]]  # (section, index, row)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _money(value: Any) -> tuple[Decimal, str] | None:
    if not isinstance(value, Mapping) or "amount" not in value:
        return None
    try:
        return Decimal(str(value["amount"])), str(value.get("currency", ""))
    except InvalidOperation:
        return None


def money_text(value: Any) -> str:
    money = _money(value)
    return f"{money[0]} {money[1]}" if money else "value not provided"


@dataclass(frozen=True)
class AssetRow:
    """One asset row of a declaration (or, for sales within the year, a declared purchase)."""

    section: str
    index: int
    row: dict[str, Any] = field(hash=False, compare=False)

    @property
    def owner(self) -> str:
        return str(self.row.get("owner", ""))

    @property
    def kind(self) -> str:
        return _text(self.row.get("kind"))

    @property
    def value(self) -> Any:
        return self.row.get("value", self.row.get("amount"))

    @cached_property
    def number(self) -> str:
        for key in NUMBER_KEYS:
            compact = "".join(_words(_text(self.row.get(key))))
            if len(compact) >= 4:
                return compact
        return ""

    @cached_property
    def name(self) -> str:
        """The row's own words for the asset, as declared."""
        for key in NAME_KEYS:
            if _text(self.row.get(key)):
                return _text(self.row.get(key))
        return ""

    @cached_property
    def names(self) -> list[str]:
        found = [" ".join(_words(_text(self.row.get(key)))) for key in NAME_KEYS]
        return [name for name in found if len(name) >= 3]

    @cached_property
    def tokens(self) -> frozenset[str]:
        words = {w for key in NAME_KEYS for w in _words(_text(self.row.get(key)))}
        return frozenset(w for w in words if len(w) >= 3 and w not in STOPWORDS and not w.isdigit())

    @cached_property
    def kind_words(self) -> frozenset[str]:
        return frozenset(w for w in _words(self.kind.replace("_", " ")) if len(w) >= 3 and w not in STOPWORDS)

    def label(self) -> str:
        """Plain words naming the asset: section, kind, name, registration, owner, value and share."""
        text = f"{self.section} {self.kind or 'asset'}"
        if self.name:
            text += f" '{self.name}'"
        for key in NUMBER_KEYS:
            if _text(self.row.get(key)):
                text += f" ({key.replace('_', ' ')} {_text(self.row.get(key))})"
                break
        text += f" of {self.owner or 'an unnamed owner'}, {money_text(self.value)}"
        share = share_of(self.row)
        if share != 100:
            text += f" (whole value; {share.normalize():f} % owned)"
        return text

    def identity(self, level: int) -> tuple[str, ...] | None:
        """The key this row is matched on at each level (None: not matched at that level)."""
        if level == 0:
            return (self.section, self.kind, self.owner, self.number) if self.number else None
        if level == 1:
            return (self.section, self.kind, self.owner, self.names[0] if self.names else "")
        if level == 2 and (self.number or self.names):
            return (self.section, self.kind, self.number or self.names[0])
        return None


def rows_of(content: Mapping[str, Any], sections: Iterable[str]) -> list[AssetRow]:
    return [
        AssetRow(section, index, row)
        for section in sections
        for index, row in enumerate(content.get(section) or [])
        if isinstance(row, dict)
    ]


def transaction_rows(content: Mapping[str, Any], section: str, kinds: Iterable[str]) -> list[Row]:
    wanted = set(kinds)
    return [
        (section, index, row)
        for index, row in enumerate(content.get(section) or [])
        if isinstance(row, dict) and row.get("kind") in wanted
    ]


def row_path(row: Row) -> str:
    return f"{row[0]}[{row[1]}]"


def score(asset: AssetRow, row: Mapping[str, Any]) -> int:
    """How surely a transaction row names ``asset`` (0: it does not)."""
    words = _words(" ".join(_text(row.get(key)) for key in ROW_TEXT_KEYS))
    total = 0
    if asset.number and asset.number in "".join(words):
        total += NUMBER_SCORE
    joined = f" {' '.join(words)} "
    if any(f" {name} " in joined for name in asset.names):
        total += NAME_SCORE
    present = set(words)
    total += WORD_SCORE * (len(asset.tokens & present) + len(asset.kind_words & present))
    if (total > 0 or not words) and _same_value(row.get("amount"), asset):
        total += VALUE_SCORE  # the value names an asset only beside words that do, or with no words at all
    return total


def _same_value(amount: Any, asset: AssetRow) -> bool:
    """The amount is the asset's whole value or the share owned, in the same currency."""
    paid, value = _money(amount), _money(asset.value)
    if paid is None or value is None or paid[1] != value[1]:
        return False
    return paid[0] in (value[0], value[0] * share_of(asset.row) / 100)


def assign(
    rows: list[Row], assets: list[AssetRow], allowed: Callable[[Row, AssetRow], bool] = lambda r, a: True
) -> dict[int, int]:
    """Each row to the asset it names best, each asset at most once: {row position: asset position}."""
    candidates = []
    for r, row in enumerate(rows):
        for a, asset in enumerate(assets):
            if allowed(row, asset):
                points = score(asset, row[2])
                if points > 0:
                    candidates.append((-points, r, a))
    chosen: dict[int, int] = {}
    taken: set[int] = set()
    for _points, r, a in sorted(candidates):
        if r not in chosen and a not in taken:
            chosen[r] = a
            taken.add(a)
    return chosen


@dataclass
class Disposal:
    """One declared sale or gift given, counted once whatever sections declare it."""

    rows: list[Row]
    asset: AssetRow | None = None  # the vanished asset it names
    bought: Row | None = None  # for an asset in neither declaration: its purchase within the year

    @property
    def proceeds(self) -> Row | None:
        """The row whose amount is the money received: the income row, else the expenditure sale row."""
        for row in self.rows:
            if row[0] == "income":
                return row
        for row in self.rows:
            if row[2].get("kind") == SALE_SPENT:
                return row
        return None

    @property
    def is_sale(self) -> bool:
        return self.proceeds is not None


@dataclass
class Changes:
    """What happened to the assets between two declarations, and the transactions that explain it."""

    held: list[tuple[AssetRow, AssetRow]]
    vanished: list[AssetRow]
    appeared: list[AssetRow]
    disposals: list[Disposal]
    acquired: dict[AssetRow, list[Row]]
    unused_purchases: list[Row]

    @property
    def unexplained_vanished(self) -> list[AssetRow]:
        explained = {d.asset for d in self.disposals if d.asset is not None}
        return [asset for asset in self.vanished if asset not in explained]

    @property
    def unexplained_appeared(self) -> list[AssetRow]:
        return [asset for asset in self.appeared if asset not in self.acquired]


def match_years(
    before: list[AssetRow], after: list[AssetRow]
) -> tuple[list[tuple[AssetRow, AssetRow]], list[AssetRow], list[AssetRow]]:
    """(held pairs, vanished, appeared) between the rows of two declarations."""
    old, new = list(before), list(after)
    held: list[tuple[AssetRow, AssetRow]] = []
    for level in (0, 1, 2):
        waiting: dict[tuple[str, ...], list[AssetRow]] = {}
        for asset in old:
            key = asset.identity(level)
            if key is not None:
                waiting.setdefault(key, []).append(asset)
        still_new = []
        for asset in new:
            key = asset.identity(level)
            if key is not None and waiting.get(key):
                partner = waiting[key].pop(0)
                held.append((partner, asset))
                old.remove(partner)
            else:
                still_new.append(asset)
        new = still_new
    return held, old, new


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    held, vanished, appeared = match_years(rows_of(before, ASSET_PURCHASE), rows_of(after, ASSET_PURCHASE))

    # disposals: each section's rows matched to the vanished assets independently
    sold_income = transaction_rows(after, "income", (SALE_INCOME,))
    sold_spent = transaction_rows(after, "expenditures", (SALE_SPENT, GIFT_GIVEN))
    by_asset: dict[int, list[Row]] = {}
    used: set[tuple[str, int]] = set()
    for rows in (sold_income, sold_spent):
        for r, a in assign(rows, vanished).items():
            by_asset.setdefault(a, []).append(rows[r])
            used.add(rows[r][:2])
    disposals = [Disposal(rows=by_asset[a], asset=vanished[a]) for a in sorted(by_asset)]

    # acquisitions: purchases of the section's kind, and gifts, prizes and inheritances received
    purchases = transaction_rows(after, "expenditures", PURCHASE_KINDS)
    acquired: dict[AssetRow, list[Row]] = {}
    bought = assign(purchases, appeared, lambda row, asset: ASSET_PURCHASE[asset.section] == row[2].get("kind"))
    for r, a in bought.items():
        acquired.setdefault(appeared[a], []).append(purchases[r])
    received = transaction_rows(after, "income", RECEIVED_KINDS)
    for r, a in assign(received, appeared).items():
        acquired.setdefault(appeared[a], []).append(received[r])
    unused_purchases = [row for r, row in enumerate(purchases) if r not in bought]

    # sales of assets in neither declaration: one transaction per amount across the two sections
    left_income = [row for row in sold_income if row[:2] not in used]
    left_spent = [row for row in sold_spent if row[:2] not in used]
    groups: list[list[Row]] = [[row] for row in left_income]
    for row in left_spent:
        if row[2].get("kind") == SALE_SPENT:
            twin = next(
                (
                    group
                    for group in groups
                    if len(group) == 1
                    and group[0][0] == "income"
                    and _money(group[0][2].get("amount")) is not None
                    and _money(group[0][2].get("amount")) == _money(row[2].get("amount"))
                ),
                None,
            )
            if twin is not None:
                twin.append(row)
                continue
        groups.append([row])
    flips = [Disposal(rows=group) for group in groups]
    sales = [d for d in flips if d.is_sale]
    stand_ins = [AssetRow(row[0], row[1], row[2]) for row in unused_purchases]
    proceeds_rows = [d.proceeds for d in sales if d.proceeds is not None]
    for r, a in assign(proceeds_rows, stand_ins).items():
        sales[r].bought = unused_purchases[a]
    return Changes(held, vanished, appeared, disposals + flips, acquired, unused_purchases)
