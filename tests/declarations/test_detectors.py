"""DECL-WEALTH, DECL-ARITHMETIC and DECL-CROSSYEAR on hand-made declarations, and the risk score."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from probity.core.models import Finding, Person
from probity.core.services import detector_run, finding_triage
from probity.declarations.detectors.figures import arithmetic_issues, crossyear_issues, net_worth
from probity.declarations.models import Declaration
from probity.declarations.selectors import risk_scores
from probity.declarations.services import declaration_submit

pytestmark = pytest.mark.django_db


def _two_years(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    before = copy.deepcopy(payload)
    before["external_id"], before["period"]["year"] = "y2022", 2022
    after = copy.deepcopy(payload)
    after["external_id"] = "y2023"
    return before, after


def test_wealth_reconciliation_shows_its_arithmetic_and_respects_both_thresholds(payload: dict[str, Any]) -> None:
    person = Person.objects.create(name="Ana")
    before, after = _two_years(payload)
    # +100 000 in the bank, 40 000 of salary, 5 000 spent on living: 65 000 unexplained
    after["cash_and_accounts"][0]["amount"]["amount"] = "110000"
    after["expenditures"] = [
        {"owner": "declarant", "kind": "consumption", "amount": {"amount": "5000", "currency": "EUR"}},
        {"owner": "declarant", "kind": "vehicle_purchase", "amount": {"amount": "9", "currency": "EUR"}},
    ]
    declaration_submit(declarant=person, payload=before)
    later = declaration_submit(declarant=person, payload=after).declaration
    run = detector_run(code="DECL-WEALTH")
    finding = Finding.objects.get(run=run, subject_id=str(later.pk))
    assert finding.outcome == "flag"
    assert finding.evidence["unexplained"] == "65000.00"
    assert finding.evidence["arithmetic"] == (
        "change in net worth 100000.00 = lawful income 40000.00 - expenditure 5000.00 + other lawful inflows 0.00"
        " - other outflows 0.00 + revaluations 0.00 + unexplained 65000.00 EUR"
    )
    assert "unexplained 65000.00 EUR, which is not explained" in finding.explanation
    first = Finding.objects.get(run=run, subject_id=str(Declaration.objects.get(external_id="y2022").pk))
    assert first.outcome == "not_applicable"

    relaxed = detector_run(code="DECL-WEALTH", parameters={"relative_threshold": 2.0})
    assert Finding.objects.get(run=relaxed, subject_id=str(later.pk)).outcome == "pass"
    relaxed = detector_run(code="DECL-WEALTH", parameters={"absolute_threshold": 70000})
    assert Finding.objects.get(run=relaxed, subject_id=str(later.pk)).outcome == "pass"


def test_wealth_converts_currencies_with_the_dated_rate(payload: dict[str, Any]) -> None:
    from probity.declarations.models import ExchangeRate

    ExchangeRate.objects.create(currency="USD", base_currency="EUR", date=date(2023, 6, 1), rate=Decimal("0.5"))
    person = Person.objects.create(name="Ana")
    before, after = _two_years(payload)
    before["cash_and_accounts"][0]["amount"] = {"amount": "0", "currency": "EUR"}
    after["cash_and_accounts"][0]["amount"] = {"amount": "100000", "currency": "USD"}  # = 50 000 EUR
    declaration_submit(declarant=person, payload=before)
    later = declaration_submit(declarant=person, payload=after).declaration
    run = detector_run(code="DECL-WEALTH")
    finding = Finding.objects.get(run=run, subject_id=str(later.pk))
    assert finding.evidence["net_worth_change"] == "50000.00"
    assert finding.evidence["unexplained"] == "10000.00" and finding.outcome == "pass"  # not above 10 000


def test_arithmetic_control_finds_each_kind_of_problem(payload: dict[str, Any]) -> None:
    today = date(2024, 6, 1)
    assert arithmetic_issues(payload, today) == []
    payload["real_estate"] += [
        {
            "owner": "declarant",
            "kind": "house",
            "share_percent": 150,
            "acquired": "2030-01-01",
            "value": {"amount": "-5", "currency": "EUR"},
        },
        {"owner": "declarant", "kind": "garage", "value": {"amount": "5", "currency": "EUR"}},
    ]
    payload["vehicles"] = []
    payload["income"] = []
    payload["family_members"][0].pop("name")
    payload["totals"] = {"liabilities": {"amount": "10", "currency": "EUR"}}
    issues = "\n".join(arithmetic_issues(payload, today))
    for words in (
        "no income",
        "family_members[0] has no name",
        "real_estate[1].acquired 2030-01-01 is after",
        "real_estate[1].share_percent is 150",
        "negative value: real_estate[1].value is -5",
        "house is declared but no land",
        "garage is declared but no vehicle",
        "declared liabilities total 10 differs",
    ):
        assert words in issues, words


def test_crossyear_flags_unexplained_appearances_and_disappearances() -> None:
    car = {"owner": "declarant", "kind": "car", "make_model": "Skoda", "value": {"amount": "1", "currency": "EUR"}}
    flat = {
        "owner": "declarant",
        "kind": "apartment",
        "description": "Flat",
        "value": {"amount": "1", "currency": "EUR"},
    }
    before = {"vehicles": [car], "real_estate": []}
    after = {"vehicles": [], "real_estate": [flat]}
    issues = crossyear_issues(before, after)
    assert len(issues) == 2 and issues[0].startswith("appeared: real_estate") and issues[1].startswith("vanished")
    after["expenditures"] = [
        {"kind": "real_estate_purchase", "description": "Flat"},
        {"kind": "sale", "description": "Skoda"},
    ]
    assert crossyear_issues(before, after) == []
    after["expenditures"] = []
    after["income"] = [
        {"kind": "inheritance", "amount": {"amount": "1", "currency": "EUR"}},  # no text: matched on the value
        {"kind": "sale_of_property", "source": "the Skoda"},
    ]
    assert crossyear_issues(before, after) == []
    # a transaction that names no asset, by no text and no value, explains none
    after["income"] = [{"kind": "inheritance"}, {"kind": "sale_of_property"}]
    assert len(crossyear_issues(before, after)) == 2


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def test_crossyear_matches_each_transaction_to_the_asset_it_names() -> None:
    """One car sale declared in two sections does not explain a vanished villa; the villa is named."""
    car = {
        "owner": "declarant",
        "kind": "car",
        "make_model": "Skoda Octavia",
        "registration": "AB 1234",
        "value": _money("38000"),
    }
    villa = {"owner": "declarant", "kind": "house", "description": "Villa Rosa", "value": _money("900000")}
    before: dict[str, Any] = {"vehicles": [car], "real_estate": [villa]}
    after: dict[str, Any] = {
        "vehicles": [],
        "real_estate": [],
        "income": [{"owner": "declarant", "kind": "sale_of_property", "source": "Skoda", "amount": _money("38000")}],
        "expenditures": [{"owner": "declarant", "kind": "sale", "description": "AB-1234", "amount": _money("38000")}],
    }
    issues = crossyear_issues(before, after)
    assert len(issues) == 1, issues
    assert issues[0].startswith("vanished: real_estate house 'Villa Rosa'") and "Skoda" not in issues[0]
    after["expenditures"].append({"owner": "declarant", "kind": "sale", "description": "the villa Rosa"})
    assert crossyear_issues(before, after) == []

    # appearances too: a car purchase does not explain a flat, and one purchase explains one flat
    flats = [
        {"owner": "declarant", "kind": "apartment", "description": name, "value": _money("150000")}
        for name in ("Flat on Main Street", "Flat on Harbour Road")
    ]
    after = {
        "real_estate": [villa, *flats],
        "vehicles": [car],
        "expenditures": [
            {"owner": "declarant", "kind": "vehicle_purchase", "description": "Flat on Harbour Road"},
            {"owner": "declarant", "kind": "real_estate_purchase", "description": "Main Street flat"},
        ],
    }
    issues = crossyear_issues(before, after)
    assert len(issues) == 1 and issues[0].startswith("appeared: real_estate apartment 'Flat on Harbour Road'")


def test_net_worth_counts_the_share_owned(payload: dict[str, Any]) -> None:
    """``value`` is the whole property's value and ``share_percent`` the declarant's share (default 100)."""
    flat = {"kind": "apartment", "description": "Flat", "share_percent": 50, "value": _money("200000")}
    payload["real_estate"] = [{**flat, "owner": "declarant"}, {**flat, "owner": "fm-1"}]
    payload["vehicles"] = [{"owner": "declarant", "kind": "car", "value": _money("30000")}]  # no share: 100 %
    payload["corporate_rights"] = [
        {"owner": "declarant", "company": "Acme", "share_percent": 25, "value": _money("40000")},
        {"owner": "declarant", "company": "Beta", "share_percent": {"not_provided": "unknown"}, "value": _money("10")},
    ]
    assets, _debts, worth, missing = net_worth(payload, "EUR")
    assert (assets, worth, missing) == (Decimal("250010.00"), Decimal("250010.00"), 0)


def test_wealth_shows_the_identity_and_a_co_owned_flat_is_not_counted_twice(payload: dict[str, Any]) -> None:
    """A flat bought 50/50 with the spouse for 200 000 of savings, filed as two 50 % rows at the whole value."""
    person = Person.objects.create(name="Ana")
    before, after = _two_years(payload)
    before["cash_and_accounts"][0]["amount"]["amount"] = "210000"
    flat = {"kind": "apartment", "description": "Flat", "share_percent": 50, "value": _money("200000")}
    after["real_estate"].extend([{**flat, "owner": "declarant"}, {**flat, "owner": "fm-1"}])
    after["expenditures"] = [
        {"owner": "declarant", "kind": "real_estate_purchase", "description": "Flat", "amount": _money("200000")}
    ]
    declaration_submit(declarant=person, payload=before)
    later = declaration_submit(declarant=person, payload=after).declaration
    finding = Finding.objects.get(run=detector_run(code="DECL-WEALTH"), subject_id=str(later.pk))
    assert finding.evidence["net_worth_change"] == "0.00"
    assert finding.evidence["unexplained"] == "-40000.00" and finding.outcome == "pass", finding.explanation
    for words in ("change 0.00", "lawful income 40000.00", "expenditure 0.00", "revaluations 0.00"):
        assert words in finding.explanation, finding.explanation


def test_risk_score_sums_weights_and_a_dismissed_flag_no_longer_counts(
    payload: dict[str, Any], make_user: Callable[..., User]
) -> None:
    person = Person.objects.create(name="Ana")
    before, after = _two_years(payload)
    after["cash_and_accounts"][0]["amount"]["amount"] = "910000"
    after["real_estate"].append({"owner": "declarant", "kind": "garage", "value": {"amount": "1", "currency": "EUR"}})
    after["vehicles"] = []
    declaration_submit(declarant=person, payload=before)
    later = declaration_submit(declarant=person, payload=after).declaration
    for code in ("DECL-WEALTH", "DECL-ARITHMETIC", "DECL-CROSSYEAR"):
        detector_run(code=code)
    assert risk_scores()[later.pk] == 5.0 + 1.0 + 2.0
    detector_run(code="DECL-WEALTH", parameters={"weight": 10})
    assert risk_scores()[later.pk] == 13.0
    wealth = Finding.objects.filter(detector_code="DECL-WEALTH", subject_id=str(later.pk)).latest("pk")
    finding_triage(finding=wealth, decision="dismissed", reason="inheritance documented", actor=make_user("verifier"))
    assert risk_scores()[later.pk] == 3.0
