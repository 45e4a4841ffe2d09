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
from probity.declarations.detectors.figures import arithmetic_issues, crossyear_issues
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
    assert finding.evidence["arithmetic"] == "(230000.00 - 130000.00) + 5000.00 - 40000.00 - 0 = 65000.00 EUR"
    assert "65000.00 EUR is not explained" in finding.explanation
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
    after["expenditures"] = [{"kind": "real_estate_purchase"}, {"kind": "sale"}]
    assert crossyear_issues(before, after) == []
    after["expenditures"] = []
    after["income"] = [{"kind": "inheritance"}, {"kind": "sale_of_property"}]
    assert crossyear_issues(before, after) == []


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
