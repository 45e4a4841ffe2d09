"""The declarations detector of lifestyle and structure signals (registered on import).

DECL-LIFESTYLE judges the latest version of each declaration on its own and looks for five signals
that verifiers of asset declarations use to pick files for a full check. Each signal has its own
weight (a parameter); the finding's ``evidence.weight`` is the sum of the weights of the signals
found, so the risk score (``selectors.risk_scores``) rises with every signal.

* ``cash_above_income`` — cash and bank holdings above ``cash_income_ratio`` times the year's regular
  income (salary, business, dividends, interest, rent, pension, other; gifts, prizes, inheritances
  and sale proceeds are one-off inflows and left out) and above ``cash_min_amount``. Large hoards of
  cash are how unexplained income is kept out of sight.
* ``nonbank_creditor`` — liabilities to a creditor that is not a bank (``creditor_is_bank`` false, or
  a ``private_loan``) of at least ``nonbank_min_amount``. A "loan" from a private person or a company
  is a classic cover for a bribe or for money of unknown origin.
* ``large_gift`` — gifts received above ``gift_income_share`` of the regular income and above
  ``gift_min_amount``. Large gifts are a channel for undue advantage.
* ``assets_abroad`` — assets, accounts or companies in another country than the declarant's (the
  declaration's body's country, else the ``home_country`` parameter): ``country`` and ``jurisdiction``
  fields, and a real-estate ``location`` ending in an ISO 3166-1 alpha-2 code (``"Limassol, CY"``).
  Assets abroad are harder to verify and a common place to hide wealth. Each is shown at the share
  owned (``value`` is the whole asset's value, ``share_percent`` the share; 100 when not given).
* ``luxury_items`` — valuables and vehicles worth at least ``luxury_value``, or of a luxury kind
  (``luxury_kinds``: boats and aircraft by default), judged on the whole item's value (a yacht owned
  half is still a yacht); the share owned is shown beside it. A lifestyle beyond lawful means.

Outcomes: flag with every signal found; not applicable when no signal is found and the income-based
signals could not be checked (no regular income declared, or a currency without a rate); pass
otherwise, with what could not be checked (for example the home country) in ``evidence.not_checked``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.detectors import Judgement, Parameter, register
from probity.core.models import PublicBody
from probity.declarations.detectors.base import (
    INFLOW_INCOME_KINDS,
    SUBJECT,
    DeclarationDetector,
    amount_in,
    owned_value,
    subject_of,
)
from probity.declarations.rates import MissingRate
from probity.declarations.schema import ASSET_SECTIONS, period_end, reporting_currency
from probity.declarations.selectors import Item, iter_latest_items

SIGNALS = ("cash_above_income", "nonbank_creditor", "large_gift", "assets_abroad", "luxury_items")
GIFT_KINDS = {"gift"}
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")

LIFESTYLE_FLAG = gettext_noop("%(count)s lifestyle or structure signal(s): %(signals)s.")
LIFESTYLE_PASS = gettext_noop(
    "No lifestyle or structure signal: cash, creditors, gifts, assets abroad and luxury items are within the limits."
)
LIFESTYLE_NA = gettext_noop("The lifestyle signals could not be checked: %(reasons)s.")


def _money_text(value: Decimal, currency: str) -> str:
    return f"{value} {currency}"


def _shown(amount: str | None, currency: str, missing: str) -> str:
    return _money_text(Decimal(amount), currency) if amount is not None else missing


def _row_text(row: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _country_of(section: str, row: Mapping[str, Any]) -> str:
    """The ISO 3166-1 alpha-2 country a row says it is in, or "" when it does not say."""
    for key in ("country", "jurisdiction"):
        value = row.get(key)
        if isinstance(value, str) and COUNTRY_CODE.match(value.strip().upper()):
            return value.strip().upper()
    location = row.get("location")
    if section in ("real_estate", "unfinished_construction") and isinstance(location, str) and "," in location:
        tail = location.rsplit(",", 1)[1].strip()
        if COUNTRY_CODE.match(tail):
            return tail
    return ""


def lifestyle_signals(
    content: dict[str, Any], params: Mapping[str, Any], home_country: str
) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """(signals found, checks that could not be made, figures) for one declaration's content.

    Raises ``MissingRate`` when a value is in a currency without a rate for the period end.
    """
    base = reporting_currency(content) or "XXX"
    on = period_end(content)
    enabled = set(params["signals"])
    found: list[dict[str, Any]] = []
    not_checked: list[str] = []

    regular, income_missing = Decimal(0), 0
    gifts: list[tuple[Decimal, dict[str, Any]]] = []
    for row in content.get("income") or []:
        amount = amount_in(row.get("amount"), base, on)
        if row.get("kind") in GIFT_KINDS:
            if amount is not None:
                gifts.append((amount, row))
            continue
        if row.get("kind") in INFLOW_INCOME_KINDS:
            continue
        if amount is None:
            income_missing += 1
        else:
            regular += amount
    cash, cash_missing = Decimal(0), 0
    for row in content.get("cash_and_accounts") or []:
        amount = amount_in(row.get("amount"), base, on)
        if amount is None:
            cash_missing += 1
        else:
            cash += amount
    figures: dict[str, Any] = {
        "currency": base,
        "regular_income": str(regular),
        "cash_and_accounts": str(cash),
        "values_not_provided": income_missing + cash_missing,
    }
    has_income = regular > 0

    if "cash_above_income" in enabled:
        ratio = float(params["cash_income_ratio"])
        if not has_income:
            not_checked.append("cash_above_income: no regular income is declared")
        elif cash > Decimal(str(ratio)) * regular and cash >= Decimal(str(params["cash_min_amount"])):
            times = round(float(cash / regular), 2)
            found.append(
                {
                    "signal": "cash_above_income",
                    "weight": float(params["cash_weight"]),
                    "detail": f"cash and accounts {_money_text(cash, base)} are {times} times the regular income "
                    f"{_money_text(regular, base)} (limit {ratio:g} times)",
                    "cash": str(cash),
                    "regular_income": str(regular),
                    "ratio": times,
                }
            )

    if "nonbank_creditor" in enabled:
        loans = []
        minimum = Decimal(str(params["nonbank_min_amount"]))
        for index, row in enumerate(content.get("liabilities") or []):
            non_bank = row.get("creditor_is_bank") is False or row.get("kind") == "private_loan"
            if not non_bank:
                continue
            amount = amount_in(row.get("amount"), base, on)
            if amount is not None and amount < minimum:
                continue
            creditor = _row_text(row, "creditor", "description") or "?"
            loans.append(
                {
                    "path": f"liabilities[{index}]",
                    "creditor": creditor,
                    "amount": None if amount is None else str(amount),
                    "owner": row.get("owner"),
                }
            )
        if loans:
            total = sum((Decimal(x["amount"]) for x in loans if x["amount"] is not None), Decimal(0))
            names = ", ".join(f"{x['creditor']} ({_shown(x['amount'], base, 'amount not provided')})" for x in loans)
            found.append(
                {
                    "signal": "nonbank_creditor",
                    "weight": float(params["nonbank_weight"]),
                    "detail": f"{len(loans)} liability(ies) to non-bank creditors, {_money_text(total, base)}: {names}",
                    "liabilities": loans,
                }
            )

    if "large_gift" in enabled and gifts:
        total = sum((amount for amount, _row in gifts), Decimal(0))
        share = float(params["gift_income_share"])
        over_share = not has_income or total > Decimal(str(share)) * regular
        if over_share and total >= Decimal(str(params["gift_min_amount"])):
            of_income = f"{round(float(total / regular) * 100, 1)} % of" if has_income else "with no"
            found.append(
                {
                    "signal": "large_gift",
                    "weight": float(params["gift_weight"]),
                    "detail": f"gifts of {_money_text(total, base)} received, {of_income} regular income "
                    f"(limit {share * 100:g} %)",
                    "gifts": [
                        {
                            "amount": str(amount),
                            "source": _row_text(row, "source", "description"),
                            "owner": row.get("owner"),
                        }
                        for amount, row in gifts
                    ],
                    "total": str(total),
                }
            )

    if "assets_abroad" in enabled:
        if not home_country:
            not_checked.append("assets_abroad: the declarant's country is not known (set the home_country parameter)")
        else:
            abroad = []
            for section in (*ASSET_SECTIONS, "beneficial_ownership"):
                for index, row in enumerate(content.get(section) or []):
                    country = _country_of(section, row)
                    if country and country != home_country:
                        amount = owned_value(row, base, on)  # the share owned
                        abroad.append(
                            {
                                "path": f"{section}[{index}]",
                                "country": country,
                                "description": _row_text(
                                    row, "description", "company", "institution", "location", "make_model"
                                ),
                                "value": None if amount is None else str(amount),
                                "owner": row.get("owner"),
                            }
                        )
            if abroad:
                found.append(
                    {
                        "signal": "assets_abroad",
                        "weight": float(params["abroad_weight"]),
                        "detail": f"{len(abroad)} asset(s) outside {home_country}: "
                        + ", ".join(f"{a['description'] or a['path']} in {a['country']}" for a in abroad),
                        "home_country": home_country,
                        "assets": abroad,
                    }
                )

    if "luxury_items" in enabled:
        limit = Decimal(str(params["luxury_value"]))
        kinds = {str(k).lower() for k in params["luxury_kinds"]}
        luxury = []
        for section in ("valuables", "vehicles"):
            for index, row in enumerate(content.get(section) or []):
                # a luxury item is one by its whole value, whatever share of it is owned
                amount = amount_in(row.get("value"), base, on)
                by_kind = str(row.get("kind", "")).lower() in kinds
                if by_kind or (amount is not None and amount >= limit):
                    owned = owned_value(row, base, on)
                    luxury.append(
                        {
                            "path": f"{section}[{index}]",
                            "kind": row.get("kind"),
                            "description": _row_text(row, "make_model", "description"),
                            "value": None if amount is None else str(amount),
                            "owned_value": None if owned is None else str(owned),
                            "reason": "luxury kind" if by_kind else f"value at least {float(limit):g} {base}",
                            "owner": row.get("owner"),
                        }
                    )
        if luxury:
            found.append(
                {
                    "signal": "luxury_items",
                    "weight": float(params["luxury_weight"]),
                    "detail": f"{len(luxury)} luxury item(s): "
                    + ", ".join(
                        f"{x['description'] or x['kind']} ({_shown(x['value'], base, 'value not provided')})"
                        for x in luxury
                    ),
                    "items": luxury,
                }
            )
    return found, not_checked, figures


@register
class LifestyleSignals(DeclarationDetector):
    code = "DECL-LIFESTYLE"
    title = _("Lifestyle and structure signals")
    description = _(
        "Looks in each declaration for cash and bank holdings far above the regular income, liabilities to "
        "creditors that are not banks, gifts above a share of the income, assets abroad and luxury items. "
        "Each signal has its own weight; the finding's weight is the sum of the weights of the signals found."
    )
    subject_type = SUBJECT
    fields = ("income", "cash_and_accounts", "liabilities", "valuables", "vehicles", "real_estate", "corporate_rights")
    parameters = (
        Parameter("signals", list(SIGNALS), _("signals to look for (comma-separated)"), list),
        Parameter("cash_income_ratio", 5.0, _("cash and accounts above this many times the regular income"), float),
        Parameter("cash_min_amount", 20000.0, _("cash and accounts below this amount are never a signal"), float),
        Parameter("cash_weight", 2.0, _("weight of the cash signal"), float),
        Parameter("nonbank_min_amount", 1000.0, _("smallest liability to a non-bank creditor that counts"), float),
        Parameter("nonbank_weight", 2.0, _("weight of the non-bank creditor signal"), float),
        Parameter("gift_income_share", 0.5, _("gifts above this share of the regular income"), float),
        Parameter("gift_min_amount", 5000.0, _("gifts below this total are never a signal"), float),
        Parameter("gift_weight", 1.0, _("weight of the gift signal"), float),
        Parameter(
            "home_country",
            "",
            _("the declarants' country (ISO 3166-1 alpha-2) when the declaration's body has none"),
            str,
        ),
        Parameter("abroad_weight", 1.0, _("weight of the assets-abroad signal"), float),
        Parameter("luxury_value", 50000.0, _("valuables and vehicles worth at least this are luxury items"), float),
        Parameter(
            "luxury_kinds", ["boat", "aircraft"], _("kinds of valuables and vehicles that are luxury items"), list
        ),
        Parameter("luxury_weight", 1.0, _("weight of the luxury-items signal"), float),
    )

    @classmethod
    def resolve_parameters(cls, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        values = super().resolve_parameters(given)
        unknown = set(values["signals"]) - set(SIGNALS)
        if unknown:
            raise ValueError(
                f"detector {cls.code}: unknown signal(s) {', '.join(sorted(unknown))}; use: {', '.join(SIGNALS)}"
            )
        return values

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        body_country = {
            pk: country.upper() for pk, country in PublicBody.objects.exclude(country="").values_list("pk", "country")
        }
        default_country = str(params["home_country"]).strip().upper()
        for item in iter_latest_items():
            yield self.judge(item, params, body_country.get(item.declaration.body_id or 0, default_country))

    def judge(self, item: Item, params: Mapping[str, Any], home_country: str) -> Judgement:
        subject = subject_of(item)
        try:
            found, not_checked, figures = lifestyle_signals(item.content, params, home_country)
        except MissingRate as exc:
            return Judgement(
                **subject,
                outcome="not_applicable",
                message=LIFESTYLE_NA,
                params={"reasons": str(exc)},
                evidence={"reason": "missing_rate", "not_checked": [str(exc)]},
            )
        evidence: dict[str, Any] = {**figures, "not_checked": not_checked}
        if found:
            weight = sum(s["weight"] for s in found)
            evidence.update({"signals": found, "weight": weight})
            return Judgement(
                **subject,
                outcome="flag",
                message=LIFESTYLE_FLAG,
                params={"count": len(found), "signals": "; ".join(s["detail"] for s in found)},
                score=min(1.0, weight / 4),
                evidence=evidence,
            )
        if any(reason.startswith("cash_above_income") for reason in not_checked):
            return Judgement(
                **subject,
                outcome="not_applicable",
                message=LIFESTYLE_NA,
                params={"reasons": "; ".join(not_checked)},
                evidence={**evidence, "reason": "no_income"},
            )
        return Judgement(
            **subject, outcome="pass", message=LIFESTYLE_PASS, score=0.0, evidence={**evidence, "signals": []}
        )
