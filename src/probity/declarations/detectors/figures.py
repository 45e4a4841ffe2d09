"""Checks of the declared figures (registered with ``probity.core.detectors``).

* DECL-WEALTH: wealth reconciliation between consecutive declarations of one declarant, as one
  identity (``Reconciliation``): change in net worth = income − expenditure + other inflows − other
  outflows + revaluations + unexplained; net worth counts each asset at the share owned.
* DECL-ARITHMETIC: completeness, totals, impossible dates, shares over 100 %, negative values,
  a house without land, a garage without a vehicle.
* DECL-CROSSYEAR: assets that vanish or appear without a sale, purchase, gift or inheritance that
  names them (matched asset by asset, ``assets``).

Each finding's evidence carries ``weight`` (a parameter of its detector); a declaration's risk score
is the sum of the weights of its flags (``selectors.risk_scores``). Subjects are declarations
(``subject_id`` is the declaration's database id) judged on their latest version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.detectors import Judgement, Parameter, register
from probity.declarations.detectors.assets import (
    ASSET_PURCHASE,
    GIFT_GIVEN,
    RECEIVED_KINDS,
    changes,
    row_path,
)
from probity.declarations.detectors.base import (
    CENT,
    INFLOW_INCOME_KINDS,
    SUBJECT,
    DeclarationDetector,
    amount_in,
    owned_value,
    share_of,
    subject_of,
    weight,
)
from probity.declarations.rates import MissingRate
from probity.declarations.schema import ASSET_SECTIONS, ROW_SECTIONS, period_end, reporting_currency
from probity.declarations.selectors import iter_consecutive_pairs, iter_latest_items

CONSUMPTION_EXCLUDED = {
    "real_estate_purchase",
    "vehicle_purchase",
    "securities_purchase",
    "other_asset_purchase",
    "sale",
    "loan_repayment",
}


def _sum(rows: list[dict[str, Any]], key: str, base: str, on: date) -> tuple[Decimal, int]:
    total, missing = Decimal(0), 0
    for row in rows:
        amount = amount_in(row.get(key), base, on)
        if amount is None:
            missing += 1
        else:
            total += amount
    return total, missing


def net_worth(content: dict[str, Any], base: str) -> tuple[Decimal, Decimal, Decimal, int]:
    """(assets, liabilities, net worth, values not provided) in ``base`` at the period end.

    Assets count the share owned: ``value`` is the whole asset's value and ``share_percent`` the
    declarant's share (100 when not given), so one flat filed as two 50 % rows counts once.
    """
    on = period_end(content)
    assets, missing = Decimal(0), 0
    for section in ASSET_SECTIONS:
        for row in content.get(section) or []:
            amount = owned_value(row, base, on)
            if amount is None:
                missing += 1
            else:
                assets += amount
    debts, missing_debts = _sum(content.get("liabilities") or [], "amount", base, on)
    return assets, debts, assets - debts, missing + missing_debts


# Assets whose value may change while held without money changing hands. Construction is not one of
# them: what it gains is what was spent on it.
REVALUED_SECTIONS = frozenset(ASSET_PURCHASE) - {"unfinished_construction"}


def _quantity_factor(old: dict[str, Any], new: dict[str, Any]) -> Decimal:
    """For securities whose quantity changed: the part of the new value that is the old quantity."""
    before, after = old.get("quantity"), new.get("quantity")
    if isinstance(before, int | float) and isinstance(after, int | float) and before > 0 and after > 0:
        return Decimal(str(before)) / Decimal(str(after))
    return Decimal(1)


@dataclass
class Reconciliation:
    """``change in net worth = income − expenditure + other inflows − other outflows + revaluations
    + unexplained``, every term in one currency, every declared transaction counted once.

    * income: the period's regular income (salary, business, dividends, interest, rent, pension, other);
    * expenditure: consumption and other spending (purchases, sales and loan repayments swap one asset
      or debt for another and are left out; gifts given are outflows);
    * other inflows: gifts, prizes and inheritances received, and the proceeds of each sale once,
      whether declared in ``income``, in ``expenditures`` or in both;
    * other outflows: each asset sold or given away at its value in the previous declaration (the
      share owned), an asset bought and sold within the year at its purchase price, and gifts of money;
    * revaluations: assets held in both years whose value changed (the share owned at the earlier
      share; for securities, the earlier quantity).
    """

    currency: str
    assets_before: Decimal
    liabilities_before: Decimal
    before: Decimal
    assets_after: Decimal
    liabilities_after: Decimal
    after: Decimal
    income: Decimal = Decimal(0)
    expenditure: Decimal = Decimal(0)
    gifts_received: Decimal = Decimal(0)
    proceeds: Decimal = Decimal(0)
    outflows: Decimal = Decimal(0)
    revaluations: Decimal = Decimal(0)
    gains: Decimal = Decimal(0)
    missing: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def change(self) -> Decimal:
        return self.after - self.before

    @property
    def inflows(self) -> Decimal:
        return self.gifts_received + self.proceeds

    @property
    def unexplained(self) -> Decimal:
        return self.change - self.income + self.expenditure - self.inflows + self.outflows - self.revaluations

    @property
    def means(self) -> Decimal:
        """Lawful means of the period: income, gifts received and what sales gained over the assets' value."""
        return self.income + self.gifts_received + max(Decimal(0), self.gains)

    def terms(self) -> dict[str, str]:
        """Every term of the identity, as text with cents."""
        return {
            "before": str(self.before.quantize(CENT)),
            "after": str(self.after.quantize(CENT)),
            "change": str(self.change.quantize(CENT)),
            "income": str(self.income.quantize(CENT)),
            "expenditure": str(self.expenditure.quantize(CENT)),
            "inflows": str(self.inflows.quantize(CENT)),
            "outflows": str(self.outflows.quantize(CENT)),
            "revaluations": str(self.revaluations.quantize(CENT)),
            "unexplained": str(self.unexplained.quantize(CENT)),
            "means": str(self.means.quantize(CENT)),
        }

    def identity(self) -> str:
        t = self.terms()
        return (
            f"change in net worth {t['change']} = lawful income {t['income']} - expenditure {t['expenditure']}"
            f" + other lawful inflows {t['inflows']} - other outflows {t['outflows']}"
            f" + revaluations {t['revaluations']} + unexplained {t['unexplained']} {self.currency}"
        )


def _amount(row: dict[str, Any], key: str, base: str, on: date, counter: list[int]) -> Decimal:
    amount = amount_in(row.get(key), base, on)
    if amount is None:
        counter[0] += 1
        return Decimal(0)
    return amount


def reconcile(before: dict[str, Any], after: dict[str, Any], base: str) -> Reconciliation:
    """The wealth identity between two consecutive declarations, in ``base``. Raises MissingRate."""
    assets_before, debts_before, worth_before, missing_before = net_worth(before, base)
    assets_after, debts_after, worth_after, missing_after = net_worth(after, base)
    was, on = period_end(before), period_end(after)
    result = Reconciliation(base, assets_before, debts_before, worth_before, assets_after, debts_after, worth_after)
    missing = [missing_before + missing_after]
    for row in after.get("income") or []:
        if row.get("kind") not in INFLOW_INCOME_KINDS:
            result.income += _amount(row, "amount", base, on, missing)
        elif row.get("kind") in RECEIVED_KINDS:
            result.gifts_received += _amount(row, "amount", base, on, missing)
    for row in after.get("expenditures") or []:
        if row.get("kind") not in CONSUMPTION_EXCLUDED and row.get("kind") != GIFT_GIVEN:
            result.expenditure += _amount(row, "amount", base, on, missing)

    found = changes(before, after)
    for disposal in found.disposals:
        paths = ", ".join(row_path(row) for row in disposal.rows)
        proceeds = disposal.proceeds
        received = _amount(proceeds[2], "amount", base, on, missing) if proceeds is not None else Decimal(0)
        if disposal.asset is not None:
            left = owned_value(disposal.asset.row, base, was)
            if left is None:
                missing[0] += 1
                left = Decimal(0)
            what = "sale" if proceeds is not None else "gift given"
            line = f"{what} of {disposal.asset.label()} ({paths})"
            if proceeds is not None:
                line += f": proceeds {received} {base} counted once"
            line += f"; it leaves net worth at its previous value {left} {base}"
        elif proceeds is not None and disposal.bought is not None:
            left = _amount(disposal.bought[2], "amount", base, on, missing)
            line = (
                f"sale of an asset bought within the year ({paths}): proceeds {received} {base} counted once; "
                f"its purchase ({row_path(disposal.bought)}) for {left} {base} leaves net worth"
            )
        elif proceeds is not None:
            left = Decimal(0)
            line = (
                f"sale of an asset in neither declaration, with no declared purchase ({paths}): "
                f"proceeds {received} {base} counted once, in full"
            )
        else:
            left = _amount(disposal.rows[0][2], "amount", base, on, missing)
            line = f"gift given ({paths}): {left} {base}"
        result.proceeds += received
        result.outflows += left
        if proceeds is not None:
            result.gains += received - left
        result.lines.append(line)
    for asset in found.unexplained_vanished:
        left = owned_value(asset.row, base, was)
        result.lines.append(
            f"{asset.label()} vanished with no declared sale or gift: its previous value "
            f"{'not provided' if left is None else f'{left} {base}'} is gone from net worth unexplained"
        )
    for old, new in found.held:
        if old.section not in REVALUED_SECTIONS:
            continue
        earlier, whole = owned_value(old.row, base, was), amount_in(new.value, base, on)
        if earlier is None or whole is None:
            continue
        now = (whole * share_of(old.row) / 100 * _quantity_factor(old.row, new.row)).quantize(CENT)
        if now != earlier:
            result.revaluations += now - earlier
            result.lines.append(f"revaluation of {new.label()}: the share owned went from {earlier} to {now} {base}")
    result.missing = missing[0]
    return result


def _no_earlier_declaration(subject: dict[str, Any]) -> Judgement:
    return Judgement(
        **subject,
        outcome="not_applicable",
        message=gettext_noop("There is no earlier declaration of this declarant to compare with."),
    )


# The identity, every term named (a message id holds at most 300 characters).
WEALTH_FLAG = gettext_noop(
    "Net worth went from %(before)s to %(after)s %(currency)s: change %(change)s = lawful income %(income)s"
    " - expenditure %(expenditure)s + other lawful inflows %(inflows)s - other outflows %(outflows)s"
    " + revaluations %(revaluations)s + unexplained %(unexplained)s %(currency)s, which is not explained."
)
WEALTH_PASS = gettext_noop(
    "Net worth went from %(before)s to %(after)s %(currency)s: change %(change)s = lawful income %(income)s"
    " - expenditure %(expenditure)s + other lawful inflows %(inflows)s - other outflows %(outflows)s"
    " + revaluations %(revaluations)s + unexplained %(unexplained)s %(currency)s, below the thresholds."
)


@register
class WealthReconciliation(DeclarationDetector):
    code = "DECL-WEALTH"
    title = _("Unexplained wealth between declarations")
    description = _(
        "Reconciles consecutive declarations with one identity: change in net worth = lawful income - "
        "expenditure + other lawful inflows (gifts, prizes, inheritances, sale proceeds) - other outflows "
        "(assets sold or given away at their previous value, gifts of money) + revaluations (assets held in "
        "both years) + unexplained. Each declared transaction counts once; assets count at the share owned. "
        "The unexplained amount is flagged when it is above both an absolute and a relative threshold "
        "(share of lawful means)."
    )
    subject_type = SUBJECT
    fields = (
        "real_estate",
        "unfinished_construction",
        "valuables",
        "vehicles",
        "securities",
        "corporate_rights",
        "intangible_assets",
        "cash_and_accounts",
        "liabilities",
        "income",
        "expenditures",
    )
    parameters = (
        Parameter(
            "absolute_threshold", 10000.0, _("unexplained amount (reporting currency) above which to flag"), float
        ),
        Parameter(
            "relative_threshold",
            0.5,
            _(
                "unexplained amount as a share of lawful means (income, gifts received, gains on sales) above which "
                "to flag"
            ),
            float,
        ),
        Parameter("weight", 5.0, _("weight of a flag in the declaration's risk score"), float),
    )

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        for previous, item in iter_consecutive_pairs():
            subject = subject_of(item)
            if previous is None:
                yield _no_earlier_declaration(subject)
                continue
            base = reporting_currency(item.content) or "XXX"
            try:
                figures = reconcile(previous.content, item.content, base)
            except MissingRate as exc:
                yield Judgement(
                    **subject,
                    outcome="not_applicable",
                    message=gettext_noop("A currency has no exchange rate: %(reason)s"),
                    params={"reason": str(exc)},
                )
                continue
            unexplained, means = figures.unexplained, figures.means
            ratio = float(unexplained / means) if means > 0 else None
            terms = figures.terms()
            evidence = {
                "currency": base,
                "previous_declaration": previous.declaration.pk,
                "net_worth_before": terms["before"],
                "assets_before": str(figures.assets_before),
                "liabilities_before": str(figures.liabilities_before),
                "net_worth_after": terms["after"],
                "assets_after": str(figures.assets_after),
                "liabilities_after": str(figures.liabilities_after),
                "net_worth_change": terms["change"],
                "lawful_income": terms["income"],
                "expenditure": terms["expenditure"],
                "other_lawful_inflows": terms["inflows"],
                "other_outflows": terms["outflows"],
                "revaluations": terms["revaluations"],
                "unexplained": terms["unexplained"],
                "lawful_means": terms["means"],
                "unexplained_share_of_means": None if ratio is None else round(ratio, 4),
                "transactions": figures.lines,
                "values_not_provided": figures.missing,
                "arithmetic": figures.identity(),
                "thresholds": {"absolute": params["absolute_threshold"], "relative": params["relative_threshold"]},
                "weight": weight(params),
            }
            numbers = {key: value for key, value in terms.items() if key != "means"} | {"currency": base}
            over_absolute = unexplained > Decimal(str(params["absolute_threshold"]))
            over_relative = ratio is None or ratio > params["relative_threshold"]
            if over_absolute and over_relative:
                yield Judgement(
                    **subject,
                    outcome="flag",
                    evidence=evidence,
                    params=numbers,
                    score=min(1.0, float(unexplained / (unexplained + max(means, Decimal(0))))),
                    message=WEALTH_FLAG,
                )
            else:
                yield Judgement(
                    **subject, outcome="pass", evidence=evidence, params=numbers, score=0.0, message=WEALTH_PASS
                )


def _dates(content: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for section in (*ASSET_SECTIONS, "expenditures", "outside_employment"):
        for index, row in enumerate(content.get(section) or []):
            for key in ("acquired", "date", "started", "start"):
                if isinstance(row.get(key), str):
                    yield f"{section}[{index}].{key}", row[key]


_DATE_KEYS = ("acquired", "date", "started", "start")
_DATE_SECTIONS = frozenset((*ASSET_SECTIONS, "expenditures", "outside_employment"))
_SHARE_SECTIONS = frozenset((*ASSET_SECTIONS, "beneficial_ownership"))


def arithmetic_issues(content: dict[str, Any], today: date) -> list[str]:
    """Plain-language problems with one declaration's own figures and logic."""
    issues: list[str] = []
    if not content.get("income") and content.get("declaration_type") in ("annual", "exit"):
        issues.append("completeness: no income is declared for the period")
    for index, member in enumerate(content.get("family_members") or []):
        if not member.get("name"):
            issues.append(f"completeness: family_members[{index}] has no name")
    submitted = date.fromisoformat(content["submitted"]) if content.get("submitted") else today
    birth = content.get("declarant", {}).get("birth_date")
    born = date.fromisoformat(birth) if birth else None
    # One pass over the rows; each kind of problem keeps the order the separate checks gave it.
    dated, shares, negatives = [], [], []
    for section in ROW_SECTIONS:
        rows = content.get(section) or []
        if not rows:
            continue
        check_dates, check_shares = section in _DATE_SECTIONS, section in _SHARE_SECTIONS
        for index, row in enumerate(rows):
            if check_dates:
                for key in _DATE_KEYS:
                    text = row.get(key)
                    if isinstance(text, str):
                        day = date.fromisoformat(text)
                        path = f"{section}[{index}].{key}"
                        if day > submitted:
                            dated.append(
                                f"impossible date: {path} {text} is after the declaration was submitted ({submitted})"
                            )
                        elif day.year < 1900 or (born is not None and day < born and key != "acquired"):
                            dated.append(f"impossible date: {path} {text} is before the declarant was born")
            if check_shares:
                share = row.get("share_percent")
                if isinstance(share, int | float) and share > 100:
                    shares.append(f"share over 100 %: {section}[{index}].share_percent is {share}")
            for key in ("value", "amount"):
                money = row.get(key)
                if isinstance(money, dict) and str(money.get("amount", "")).startswith("-"):
                    negatives.append(
                        f"negative value: {section}[{index}].{key} is {money['amount']} {money['currency']}"
                    )
    issues += dated + shares + negatives
    kinds = {row.get("kind") for row in content.get("real_estate") or []}
    if "house" in kinds and "land" not in kinds:
        issues.append("logic: a house is declared but no land under it")
    if "garage" in kinds and not content.get("vehicles"):
        issues.append("logic: a garage is declared but no vehicle")
    totals = content.get("totals") or {}
    for name, sections in (("income", ("income",)), ("liabilities", ("liabilities",))):
        if isinstance(totals.get(name), dict):
            base = totals[name]["currency"]
            try:
                total = sum(
                    (_sum(content.get(s) or [], "amount", base, period_end(content))[0] for s in sections), Decimal(0)
                )
            except MissingRate:
                continue
            if total != Decimal(totals[name]["amount"]):
                issues.append(
                    f"totals: declared {name} total {totals[name]['amount']} differs from the rows' sum {total}"
                )
    return issues


@register
class ArithmeticControl(DeclarationDetector):
    code = "DECL-ARITHMETIC"
    title = _("Completeness, arithmetic and logic of a declaration")
    description = _(
        "Checks one declaration on its own: missing income or names, totals that do not add up, impossible "
        "dates, shares over 100 %, negative values, a house without land, a garage without a vehicle."
    )
    subject_type = SUBJECT
    parameters = (Parameter("weight", 1.0, _("weight of a flag in the declaration's risk score"), float),)

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        today = date.today()
        for item in iter_latest_items():
            issues = arithmetic_issues(item.content, today)
            subject = subject_of(item)
            if issues:
                yield Judgement(
                    **subject,
                    outcome="flag",
                    score=min(1.0, 0.25 * len(issues)),
                    evidence={"issues": issues, "weight": weight(params)},
                    params={"count": len(issues), "issues": "; ".join(issues)},
                    message=gettext_noop("%(count)s problem(s) in the declaration's own figures: %(issues)s."),
                )
            else:
                yield Judgement(
                    **subject,
                    outcome="pass",
                    score=0.0,
                    evidence={"issues": []},
                    message=gettext_noop("The declaration is complete and its figures and dates are consistent."),
                )


# Kept for callers: each asset section with the expenditure kind that buys it.
CROSSYEAR_SECTIONS = ASSET_PURCHASE


def crossyear_issues(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Assets that appeared or vanished with no declared transaction naming them, each named."""
    found = changes(before, after)
    issues = [
        (asset, f"appeared: {asset.label()} without a purchase, gift or inheritance that names it")
        for asset in found.unexplained_appeared
    ] + [
        (asset, f"vanished: {asset.label()} without a sale or gift that names it")
        for asset in found.unexplained_vanished
    ]
    order = list(ASSET_PURCHASE)
    issues.sort(key=lambda pair: (order.index(pair[0].section), pair[0].owner, pair[0].kind, pair[1]))
    return [text for _asset, text in issues]


@register
class CrossYearConsistency(DeclarationDetector):
    code = "DECL-CROSSYEAR"
    title = _("Assets that appear or vanish between declarations")
    description = _(
        "Compares a declaration with the declarant's previous one, asset by asset: an asset that appears "
        "without a declared purchase, gift or inheritance that names it, or vanishes without a declared sale "
        "or gift that names it (by registration or registry number, name, kind or value), is flagged and "
        "named. One transaction declared in two sections explains one asset."
    )
    subject_type = SUBJECT
    fields = (*ASSET_PURCHASE, "income", "expenditures")
    parameters = (Parameter("weight", 2.0, _("weight of a flag in the declaration's risk score"), float),)

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        for previous, item in iter_consecutive_pairs():
            subject = subject_of(item)
            if previous is None:
                yield _no_earlier_declaration(subject)
                continue
            issues = crossyear_issues(previous.content, item.content)
            if issues:
                yield Judgement(
                    **subject,
                    outcome="flag",
                    score=min(1.0, 0.34 * len(issues)),
                    evidence={
                        "issues": issues,
                        "previous_declaration": previous.declaration.pk,
                        "weight": weight(params),
                    },
                    params={"count": len(issues), "issues": "; ".join(issues)},
                    message=gettext_noop("%(count)s asset(s) changed without an explanation: %(issues)s."),
                )
            else:
                yield Judgement(
                    **subject,
                    outcome="pass",
                    score=0.0,
                    evidence={"issues": [], "previous_declaration": previous.declaration.pk},
                    message=gettext_noop("Every asset that appeared or vanished is matched by a declared transaction."),
                )
