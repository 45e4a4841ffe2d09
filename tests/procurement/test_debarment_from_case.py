"""A case closed with a debarment creates the debarment record in the procurement module (hook
``debarment_decided``), once, however often the hook is announced."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from probity.cases import services as cases
from probity.core.models import Organisation
from probity.procurement.models import Debarment

pytestmark = pytest.mark.django_db


def test_an_approved_debarment_outcome_creates_one_debarment_record(make_user: Callable[..., User]) -> None:
    first, second = make_user("analyst"), make_user("analyst")
    company = Organisation.objects.create(name="Bridgeworks Ltd", jurisdiction="XA")
    case = cases.case_open(
        case_type="procurement-review", title="Bid rigging on the bridge", actor=first, organisations=[company]
    )
    cases.case_take(case=case, actor=first)
    with pytest.raises(cases.CaseError, match="years"):
        cases.outcome_propose(case=case, outcome_type="debarment", reasoning="Rigged bids.", actor=first)
    outcome = cases.outcome_propose(
        case=case, outcome_type="debarment", reasoning="Rigged bids.", actor=first, details={"years": "3"}
    )
    assert not Debarment.objects.exists()  # only an approved outcome debars
    cases.outcome_approve(outcome=outcome, actor=second)

    debarment = Debarment.objects.get()
    assert debarment.organisation == company and debarment.name == "Bridgeworks Ltd"
    assert debarment.source == Debarment.Source.CASE and debarment.source_name == case.reference
    assert debarment.start_date is not None and debarment.end_date is not None
    assert (debarment.end_date.year - debarment.start_date.year) == 3
    assert debarment.grounds == "Rigged bids."

    from probity.procurement.services import debarment_from_case

    debarment_from_case(organisation=company, years="3", reference=case.reference, reason="Rigged bids.")
    assert Debarment.objects.count() == 1
