"""Checks of the declared figures (registered with ``probity.core.detectors``).

* DECL-WEALTH: wealth reconciliation between consecutive declarations of one declarant.
* DECL-ARITHMETIC: completeness, totals, impossible dates, shares over 100 %, negative values,
  a house without land, a garage without a vehicle.
* DECL-CROSSYEAR: assets that vanish or appear without a matching sale, purchase, gift or inheritance.

Each finding's evidence carries ``weight`` (a parameter of its detector); a declaration's risk score
is the sum of the weights of its flags (``selectors.risk_scores``). Subjects are declarations
(``subject_id`` is the declaration's database id) judged on their latest version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.detectors import Judgement, Parameter, register
from probity.declarations.detectors.base import (
    INFLOW_INCOME_KINDS,
    SUBJECT,
    DeclarationDetector,
    amount_in,
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
    """(assets, liabilities, net worth, values not provided) in ``base`` at the period end."""
    on = period_end(content)
    assets, missing = Decimal(0), 0
    for section in ASSET_SECTIONS:
        for row in content.get(section) or []:
            amount = amount_in(row.get("value", row.get("amount")), base, on)
            if amount is None:
                missing += 1
            else:
                assets += amount
    debts, missing_debts = _sum(content.get("liabilities") or [], "amount", base, on)
    return assets, debts, assets - debts, missing + missing_debts


def _no_earlier_declaration(subject: dict[str, Any]) -> Judgement:
    return Judgement(
        **subject,
        outcome="not_applicable",
        message=gettext_noop("There is no earlier declaration of this declarant to compare with."),
    )


@register
class WealthReconciliation(DeclarationDetector):
    code = "DECL-WEALTH"
    title = _("Unexplained wealth between declarations")
    description = _(
        "Change in net worth between consecutive declarations plus declared expenditure, minus lawful income "
        "and other lawful inflows, is the amount the declarations do not explain; it is flagged when it is "
        "above both an absolute and a relative threshold (share of lawful income)."
    )
    subject_type = SUBJECT
    fields = (
        "real_estate",
        "vehicles",
        "securities",
        "corporate_rights",
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
            "relative_threshold", 0.5, _("unexplained amount as a share of lawful income above which to flag"), float
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
                assets_before, debts_before, before, missing_before = net_worth(previous.content, base)
                assets_after, debts_after, after, missing_after = net_worth(item.content, base)
                on = period_end(item.content)
                income_rows = item.content.get("income") or []
                lawful_income, missing_income = _sum(
                    [r for r in income_rows if r.get("kind") not in INFLOW_INCOME_KINDS], "amount", base, on
                )
                inflows, missing_inflows = _sum(
                    [r for r in income_rows if r.get("kind") in INFLOW_INCOME_KINDS], "amount", base, on
                )
                expenditure, missing_spent = _sum(
                    [r for r in item.content.get("expenditures") or [] if r.get("kind") not in CONSUMPTION_EXCLUDED],
                    "amount",
                    base,
                    on,
                )
            except MissingRate as exc:
                yield Judgement(
                    **subject,
                    outcome="not_applicable",
                    message=gettext_noop("A currency has no exchange rate: %(reason)s"),
                    params={"reason": str(exc)},
                )
                continue
            change = after - before
            unexplained = change + expenditure - lawful_income - inflows
            explained_by = lawful_income + inflows
            ratio = float(unexplained / explained_by) if explained_by > 0 else None
            evidence = {
                "currency": base,
                "previous_declaration": previous.declaration.pk,
                "net_worth_before": str(before),
                "assets_before": str(assets_before),
                "liabilities_before": str(debts_before),
                "net_worth_after": str(after),
                "assets_after": str(assets_after),
                "liabilities_after": str(debts_after),
                "net_worth_change": str(change),
                "expenditure": str(expenditure),
                "lawful_income": str(lawful_income),
                "other_lawful_inflows": str(inflows),
                "unexplained": str(unexplained),
                "unexplained_share_of_income": None if ratio is None else round(ratio, 4),
                "values_not_provided": missing_before
                + missing_after
                + missing_income
                + missing_inflows
                + missing_spent,
                "arithmetic": (
                    f"({after} - {before}) + {expenditure} - {lawful_income} - {inflows} = {unexplained} {base}"
                ),
                "thresholds": {"absolute": params["absolute_threshold"], "relative": params["relative_threshold"]},
                "weight": weight(params),
            }
            numbers = {
                "before": str(before),
                "after": str(after),
                "change": str(change),
                "expenditure": str(expenditure),
                "income": str(lawful_income),
                "inflows": str(inflows),
                "unexplained": str(unexplained),
                "currency": base,
            }
            over_absolute = unexplained > Decimal(str(params["absolute_threshold"]))
            over_relative = ratio is None or ratio > params["relative_threshold"]
            if over_absolute and over_relative:
                yield Judgement(
                    **subject,
                    outcome="flag",
                    evidence=evidence,
                    params=numbers,
                    score=min(1.0, float(unexplained / (unexplained + explained_by))),
                    message=gettext_noop(
                        "Net worth went from %(before)s to %(after)s %(currency)s (change %(change)s); with "
                        "%(expenditure)s of expenditure and %(income)s of lawful income plus %(inflows)s of other "
                        "lawful inflows, %(unexplained)s %(currency)s is not explained."
                    ),
                )
            else:
                yield Judgement(
                    **subject,
                    outcome="pass",
                    evidence=evidence,
                    params=numbers,
                    score=0.0,
                    message=gettext_noop(
                        "Net worth went from %(before)s to %(after)s %(currency)s; lawful income and inflows "
                        "explain the change (unexplained: %(unexplained)s %(currency)s, below the thresholds)."
                    ),
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


CROSSYEAR_SECTIONS = {
    "real_estate": "real_estate_purchase",
    "unfinished_construction": "real_estate_purchase",
    "vehicles": "vehicle_purchase",
    "securities": "securities_purchase",
    "corporate_rights": "securities_purchase",
    "valuables": "other_asset_purchase",
    "intangible_assets": "other_asset_purchase",
}


def _asset_key(section: str, row: dict[str, Any]) -> tuple[str, str, str, str]:
    text = row.get("company") or row.get("make_model") or row.get("description") or ""
    text = text if isinstance(text, str) else ""
    return section, str(row.get("owner")), str(row.get("kind")), " ".join(text.lower().split())


def crossyear_issues(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old: dict[tuple[str, str, str, str], list[Any]] = defaultdict(list)
    new: dict[tuple[str, str, str, str], list[Any]] = defaultdict(list)
    for section in CROSSYEAR_SECTIONS:
        for row in before.get(section) or []:
            old[_asset_key(section, row)].append(row)
        for row in after.get(section) or []:
            new[_asset_key(section, row)].append(row)
    spent: dict[Any, int] = defaultdict(int)
    for row in after.get("expenditures") or []:
        spent[row.get("kind")] += 1
    gifts = sum(1 for r in after.get("income") or [] if r.get("kind") in ("gift", "inheritance", "prize"))
    sales = (
        spent["sale"]
        + spent["gift_given"]
        + sum(1 for r in after.get("income") or [] if r.get("kind") == "sale_of_property")
    )
    issues = []
    for key in sorted(set(old) | set(new)):
        section, owner, kind, text = key
        appeared = len(new.get(key, [])) - len(old.get(key, []))
        for _n in range(max(0, appeared)):
            purchase = CROSSYEAR_SECTIONS[section]
            if spent[purchase] > 0:
                spent[purchase] -= 1
            elif gifts > 0:
                gifts -= 1
            else:
                issues.append(f"appeared: {section} {kind} '{text}' of {owner} without a purchase, gift or inheritance")
        for _n in range(max(0, -appeared)):
            if sales > 0:
                sales -= 1
            else:
                issues.append(f"vanished: {section} {kind} '{text}' of {owner} without a sale or gift")
    return issues


@register
class CrossYearConsistency(DeclarationDetector):
    code = "DECL-CROSSYEAR"
    title = _("Assets that appear or vanish between declarations")
    description = _(
        "Compares a declaration with the declarant's previous one: an asset that appears without a declared "
        "purchase, gift or inheritance, or vanishes without a declared sale or gift, is flagged."
    )
    subject_type = SUBJECT
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
