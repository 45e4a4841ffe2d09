"""Verification detectors for declarations (registered with ``probity.core.detectors``).

* DECL-WEALTH: wealth reconciliation between consecutive declarations of one declarant.
* DECL-ARITHMETIC: completeness, totals, impossible dates, shares over 100 %, negative values,
  a house without land, a garage without a vehicle.
* DECL-CROSSYEAR: assets that vanish or appear without a matching sale, purchase, gift or inheritance.

Each finding's evidence carries ``weight`` (a parameter of its detector); a declaration's risk score
is the sum of the weights of its flags (``selectors.risk_scores``). Subjects are declarations
(``subject_id`` is the declaration's database id) judged on their latest version.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby
from typing import Any

from django.db import connections
from django.db.models import OuterRef, Subquery, TextField
from django.db.models.base import ModelState
from django.db.models.functions import Cast
from django.utils.encoding import force_str
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext_lazy as _

from probity.core.detectors import Detector, Judgement, Parameter, register
from probity.declarations.models import Declaration, DeclarationVersion
from probity.declarations.rates import MissingRate, cached_rates, rate_for
from probity.declarations.schema import ASSET_SECTIONS, ROW_SECTIONS, period_end, reporting_currency

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional speed-up
    _orjson = None  # type: ignore[assignment]

SUBJECT = "declaration"
CONSUMPTION_EXCLUDED = {
    "real_estate_purchase",
    "vehicle_purchase",
    "securities_purchase",
    "other_asset_purchase",
    "sale",
    "loan_repayment",
}
INFLOW_INCOME_KINDS = {"gift", "prize", "inheritance", "sale_of_property"}


_TYPE_LABELS: dict[tuple[str | None, str], str] = {}
_TYPE_CHOICES = dict(Declaration.Type.choices)


def _type_label(value: str) -> str:
    """``get_declaration_type_display()``, remembered per language (it is asked once per declaration)."""
    key = (get_language(), value)
    label = _TYPE_LABELS.get(key)
    if label is None:
        label = _TYPE_LABELS[key] = force_str(_TYPE_CHOICES.get(value, value), strings_only=True)
    return label


@dataclass
class Item:
    declaration: Declaration
    content: dict[str, Any]

    @property
    def label(self) -> str:
        name = self.content["declarant"]["name"]
        return f"{name}, {_type_label(self.declaration.declaration_type)} {self.declaration.year}"


def _loads(text: Any) -> dict[str, Any]:
    """A version's content from the database's JSON text (orjson when installed: about twice as fast)."""
    if not isinstance(text, str | bytes):
        return text  # type: ignore[no-any-return]  # a backend that already decoded it
    if _orjson is not None:
        try:
            return _orjson.loads(text)  # type: ignore[no-any-return]
        except _orjson.JSONDecodeError:
            pass  # e.g. integers beyond 64 bits: the standard decoder reads them
    return json.loads(text)  # type: ignore[no-any-return]


def iter_latest_items(chunk_size: int = 2000) -> Iterator[Item]:
    """Every declaration with its latest version's content, streamed in declarant order.

    Declarations of one declarant come together (ordered by declarant, period end, year, id), so
    that callers can pair consecutive declarations while holding one declarant's at a time.
    While the items are consumed, exchange rates are answered from memory (``cached_rates``), and
    each content is decoded only when its item is handed out (memory stays at one item per
    declaration being compared, not one chunk of decoded contents).
    """
    versions = DeclarationVersion.objects.filter(declaration=OuterRef("pk")).order_by("-number")
    latest = versions.values("pk")[:1]
    queryset = (
        Declaration.objects.annotate(latest_version_id=Subquery(latest))
        .filter(latest_version_id__isnull=False)
        .order_by("declarant_id", "period_end", "year", "pk")
    )
    fields = [f.attname for f in Declaration._meta.concrete_fields]
    database = queryset.db
    if connections[database].vendor == "postgresql":
        # PostgreSQL walks the declarant index and sorts each declarant's few rows (an incremental
        # sort), so the content can come in the same query: no second round trip per chunk.
        content = Subquery(versions.annotate(text=Cast("content", output_field=TextField())).values("text")[:1])
        with cached_rates():
            for row in (
                queryset.annotate(latest_text=content)
                .values_list(*fields, "latest_version_id", "latest_text")
                .iterator(chunk_size=chunk_size)
            ):
                yield Item(_declaration(fields, row[:-1], database), _loads(row[-1]))
        return
    with cached_rates():
        batch: list[Declaration] = []
        for row in queryset.values_list(*fields, "latest_version_id").iterator(chunk_size=chunk_size):
            batch.append(_declaration(fields, row, database))
            if len(batch) >= chunk_size:
                yield from _with_content(batch)
                batch = []
        if batch:
            yield from _with_content(batch)


def _declaration(fields: list[str], row: tuple[Any, ...], database: str) -> Declaration:
    """The declaration as ``Model.from_db`` would build it, without ``__init__``'s per-field work."""
    declaration = Declaration.__new__(Declaration)
    loaded = dict(zip(fields, row, strict=False))
    declaration.__dict__.update(loaded)
    declaration.latest_version_id = row[-1]  # type: ignore[attr-defined]
    declaration._state = ModelState()
    declaration._state.adding, declaration._state.db = False, database
    declaration._audit_loaded = loaded
    return declaration


def _with_content(batch: list[Declaration]) -> Iterator[Item]:
    ids = [d.latest_version_id for d in batch]  # type: ignore[attr-defined]
    texts = dict(
        DeclarationVersion.objects.filter(pk__in=ids).values_list("pk", Cast("content", output_field=TextField()))
    )
    for declaration in batch:
        yield Item(declaration, _loads(texts.pop(declaration.latest_version_id)))  # type: ignore[attr-defined]


def latest_items() -> list[Item]:
    """Every declaration with its latest version's content (in memory: prefer ``iter_latest_items``)."""
    return list(iter_latest_items())


def consecutive_pairs(items: Iterable[Item]) -> Iterator[tuple[Item | None, Item]]:
    """Each declaration with the declarant's previous one (by period end), or None for the first.

    ``items`` must bring each declarant's declarations together (as ``iter_latest_items`` does);
    only one declarant's declarations are held at a time.
    """
    for _person, group in groupby(items, key=lambda i: i.declaration.declarant_id):
        person_items = sorted(group, key=lambda i: (period_end(i.content), i.declaration.pk))
        previous = None
        for item in person_items:
            yield previous, item
            previous = item


def iter_consecutive_pairs() -> Iterator[tuple[Item | None, Item]]:
    """``consecutive_pairs`` over every declaration, streamed."""
    return consecutive_pairs(iter_latest_items())


CENT = Decimal("0.01")


def _amount(value: Any, base: str, on: date) -> Decimal | None:
    """The money value in ``base``; None when not provided. Raises MissingRate."""
    if not isinstance(value, dict) or "amount" not in value:
        return None
    if value["currency"] == base:  # rate 1: multiplying by Decimal(1) keeps the exponent, so this is the same
        return Decimal(value["amount"]).quantize(CENT)
    return (Decimal(value["amount"]) * rate_for(value["currency"], base, on)).quantize(CENT)


def _sum(rows: list[dict[str, Any]], key: str, base: str, on: date) -> tuple[Decimal, int]:
    total, missing = Decimal(0), 0
    for row in rows:
        amount = _amount(row.get(key), base, on)
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
            amount = _amount(row.get("value", row.get("amount")), base, on)
            if amount is None:
                missing += 1
            else:
                assets += amount
    debts, missing_debts = _sum(content.get("liabilities") or [], "amount", base, on)
    return assets, debts, assets - debts, missing + missing_debts


def _subject(item: Item) -> dict[str, Any]:
    return {"subject_type": SUBJECT, "subject_id": str(item.declaration.pk), "subject_label": item.label}


def _weight(params: Mapping[str, Any]) -> float:
    return float(params["weight"])


class DeclarationDetector(Detector):
    """A detector that judges the latest version of each declaration."""

    def dataset(self) -> str:
        return "declarations: latest version of each declaration"

    def count_subjects(self) -> int | None:
        return Declaration.objects.count()


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
            subject = _subject(item)
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
                "weight": _weight(params),
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
            subject = _subject(item)
            if issues:
                yield Judgement(
                    **subject,
                    outcome="flag",
                    score=min(1.0, 0.25 * len(issues)),
                    evidence={"issues": issues, "weight": _weight(params)},
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
            subject = _subject(item)
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
                        "weight": _weight(params),
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
