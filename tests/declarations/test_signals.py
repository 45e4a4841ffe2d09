"""DECL-LIFESTYLE on hand-made declarations: each signal with its own weight, limits, not-provided values,
missing rates and missing income (not applicable with the reason)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from probity.core.models import Finding, Person, PublicBody
from probity.core.services import detector_run
from probity.declarations.detectors.lifestyle import LifestyleSignals, lifestyle_signals
from probity.declarations.models import ExchangeRate
from probity.declarations.selectors import risk_scores
from probity.declarations.services import declaration_submit

pytestmark = pytest.mark.django_db


def _eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def _run(payload: dict[str, Any], **parameters: Any) -> Finding:
    declaration = declaration_submit(declarant=Person.objects.create(name="Ana"), payload=payload).declaration
    run = detector_run(code="DECL-LIFESTYLE", parameters=parameters or None)
    assert run.status == "succeeded", run.error
    return Finding.objects.get(run=run, subject_id=str(declaration.pk))


def _params(**overrides: Any) -> dict[str, Any]:
    return LifestyleSignals.resolve_parameters(overrides)


def test_an_ordinary_declaration_passes_and_says_what_was_not_checked(payload: dict[str, Any]) -> None:
    finding = _run(payload)
    assert finding.outcome == "pass", finding.explanation
    assert finding.evidence["signals"] == []
    assert finding.evidence["regular_income"] == "40000.00"
    # no body with a country and no home_country parameter: assets abroad cannot be checked
    assert any(r.startswith("assets_abroad") for r in finding.evidence["not_checked"])


def test_cash_far_above_income_is_flagged_with_its_ratio_and_weight(payload: dict[str, Any]) -> None:
    payload["cash_and_accounts"].append({"owner": "fm-1", "kind": "cash", "amount": _eur("250000")})
    finding = _run(payload)
    assert finding.outcome == "flag"
    (signal,) = finding.evidence["signals"]
    assert signal["signal"] == "cash_above_income" and signal["ratio"] == 6.5
    assert finding.evidence["weight"] == signal["weight"] == 2.0
    assert "6.5 times the regular income 40000.00 EUR" in finding.explanation
    # the same holdings under a looser ratio pass
    assert lifestyle_signals(payload, _params(cash_income_ratio=7), "")[0] == []
    # and below the absolute minimum nothing is a signal, whatever the ratio
    small = {**payload, "income": [{"owner": "declarant", "kind": "salary", "amount": _eur("100")}]}
    small["cash_and_accounts"] = [{"owner": "declarant", "kind": "cash", "amount": _eur("15000")}]
    assert lifestyle_signals(small, _params(), "")[0] == []


def test_gifts_prizes_and_sales_are_not_regular_income(payload: dict[str, Any]) -> None:
    payload["income"].append({"owner": "declarant", "kind": "sale_of_property", "amount": _eur("500000")})
    payload["cash_and_accounts"][0]["amount"] = _eur("300000")
    found, _not_checked, figures = lifestyle_signals(payload, _params(), "")
    assert figures["regular_income"] == "40000.00"
    assert [s["signal"] for s in found] == ["cash_above_income"]


def test_non_bank_creditors_large_gifts_assets_abroad_and_luxury_each_add_their_weight(
    payload: dict[str, Any],
) -> None:
    payload["liabilities"] = [
        {"owner": "declarant", "kind": "mortgage", "creditor": "City Bank", "amount": _eur("90000")},
        {
            "owner": "declarant",
            "kind": "loan",
            "creditor": "Acme Ltd",
            "creditor_is_bank": False,
            "amount": _eur("5000"),
        },
        {"owner": "fm-1", "kind": "private_loan", "creditor": "Uncle Bob", "amount": {"not_provided": "unknown"}},
        {"owner": "fm-1", "kind": "private_loan", "creditor": "Neighbour", "amount": _eur("200")},  # under the minimum
    ]
    payload["income"].append({"owner": "fm-1", "kind": "gift", "source": "Mr X", "amount": _eur("30000")})
    payload["real_estate"].append(
        {"owner": "declarant", "kind": "apartment", "location": "Limassol, CY", "value": _eur("150000")}
    )
    payload["cash_and_accounts"].append(
        {
            "owner": "declarant",
            "kind": "bank_account",
            "institution": "Alpine Bank",
            "country": "CH",
            "amount": _eur("1"),
        }
    )
    payload["corporate_rights"] = [
        {"owner": "declarant", "company": "Home Co", "jurisdiction": "XD", "value": _eur("10")},
    ]
    payload["vehicles"].append({"owner": "declarant", "kind": "boat", "make_model": "Dinghy", "value": _eur("900")})
    payload["valuables"] = [
        {"owner": "declarant", "kind": "watch", "description": "Gold watch", "value": _eur("60000")}
    ]
    PublicBody.objects.create(name="Ministry of Roads", country="XD", source_key="body-roads")
    payload["position"]["body"]["id"] = "body-roads"
    finding = _run(payload)
    assert finding.outcome == "flag"
    signals = {s["signal"]: s for s in finding.evidence["signals"]}
    assert set(signals) == {"nonbank_creditor", "large_gift", "assets_abroad", "luxury_items"}
    assert [x["creditor"] for x in signals["nonbank_creditor"]["liabilities"]] == ["Acme Ltd", "Uncle Bob"]
    assert signals["large_gift"]["total"] == "30000.00"
    assert {a["country"] for a in signals["assets_abroad"]["assets"]} == {"CY", "CH"}
    assert signals["assets_abroad"]["home_country"] == "XD"  # from the declaration's body
    assert {x["reason"] for x in signals["luxury_items"]["items"]} == {"luxury kind", "value at least 50000 EUR"}
    assert finding.evidence["weight"] == 2.0 + 1.0 + 1.0 + 1.0
    assert finding.evidence["not_checked"] == []
    assert "Acme Ltd" in finding.explanation and "75.0 % of regular income" in finding.explanation
    assert "Uncle Bob (amount not provided)" in finding.explanation
    assert risk_scores()[int(finding.subject_id)] == 5.0

    # weights and the list of signals are parameters
    reweighed = detector_run(code="DECL-LIFESTYLE", parameters={"gift_weight": 4, "signals": "large_gift"})
    only_gift = Finding.objects.get(run=reweighed, subject_id=finding.subject_id)
    assert [s["signal"] for s in only_gift.evidence["signals"]] == ["large_gift"]
    assert only_gift.evidence["weight"] == 4.0


def test_home_country_parameter_is_used_when_the_body_has_none(payload: dict[str, Any]) -> None:
    payload["real_estate"].append(
        {"owner": "declarant", "kind": "apartment", "location": "Demopolis, XD", "value": _eur("1000")}
    )
    payload["real_estate"].append({"owner": "declarant", "kind": "apartment", "location": "Paris", "value": _eur("1")})
    found, not_checked, _figures = lifestyle_signals(payload, _params(), "XD")
    assert found == [] and not_checked == []  # a city without a code is not read as abroad
    payload["real_estate"][-1]["location"] = "Paris, FR"
    finding = _run(payload, home_country="xd")
    assert [s["signal"] for s in finding.evidence["signals"]] == ["assets_abroad"]


def test_no_income_declared_is_not_applicable_unless_another_signal_is_found(payload: dict[str, Any]) -> None:
    payload["income"] = [{"owner": "declarant", "kind": "salary", "amount": {"not_provided": "unknown"}}]
    finding = _run(payload, home_country="XD")
    assert finding.outcome == "not_applicable"
    assert finding.evidence["reason"] == "no_income"
    assert "no regular income is declared" in finding.explanation
    payload["income"].append({"owner": "declarant", "kind": "gift", "amount": _eur("6000")})
    found, _n, _f = lifestyle_signals(payload, _params(), "XD")
    assert [s["signal"] for s in found] == ["large_gift"]  # any large gift is above a share of nothing
    assert "with no regular income" in found[0]["detail"]


def test_a_currency_without_a_rate_is_not_applicable_with_the_reason(payload: dict[str, Any]) -> None:
    payload["cash_and_accounts"].append(
        {"owner": "declarant", "kind": "cash", "amount": {"amount": "5", "currency": "USD"}}
    )
    ExchangeRate.objects.create(currency="USD", base_currency="EUR", date=date(2023, 6, 1), rate=Decimal("0.9"))
    declaration = declaration_submit(declarant=Person.objects.create(name="Ana"), payload=payload).declaration
    ExchangeRate.objects.all().delete()  # the rate table lost the rate after filing
    run = detector_run(code="DECL-LIFESTYLE")
    finding = Finding.objects.get(run=run, subject_id=str(declaration.pk))
    assert finding.outcome == "not_applicable"
    assert finding.evidence["reason"] == "missing_rate"
    assert "USD" in finding.explanation


def test_an_unknown_signal_name_is_refused_before_running(payload: dict[str, Any]) -> None:
    declaration_submit(declarant=Person.objects.create(name="Ana"), payload=payload)
    with pytest.raises(ValueError, match="yachts"):
        detector_run(code="DECL-LIFESTYLE", parameters={"signals": "cash_above_income,yachts"})
    assert not Finding.objects.exists()


def test_the_cli_runs_the_signals_with_parameters_and_refuses_bad_ones(
    payload: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import call_command

    payload["real_estate"].append(
        {"owner": "declarant", "kind": "apartment", "location": "Budva, ME", "value": _eur("9")}
    )
    declaration_submit(declarant=Person.objects.create(name="Ana"), payload=payload)
    call_command("declarations", "verify", "--detectors", "DECL-LIFESTYLE", "--param", "DECL-LIFESTYLE.home_country=XD")
    assert "DECL-LIFESTYLE: 1 checked, 1 flagged" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        call_command("declarations", "verify", "--detectors", "DECL-LIFESTYLE", "--param", "DECL-LIFESTYLE.signals=x")
    assert exited.value.code == 2
    assert "unknown signal" in capsys.readouterr().err
