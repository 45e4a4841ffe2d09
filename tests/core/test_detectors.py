"""The detector registry and the findings it writes: flag, pass and not applicable, each explained."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from probity.core.detectors import detector_registry, get_detector
from probity.core.models import DetectorRun, Finding, Identifier, Organisation
from probity.core.services import detector_run, finding_triage

pytestmark = pytest.mark.django_db


@pytest.fixture
def companies() -> dict[str, Organisation]:
    front = Organisation.objects.create(name="Front Supplies LLC")
    real = Organisation.objects.create(name="Real Builders LLC")
    honest = Organisation.objects.create(name="Honest Roads LLC")
    bare = Organisation.objects.create(name="No Papers LLC")
    Identifier.objects.create(scheme="tax_id", issuer="XD", value="123-456-789", organisation=front)
    Identifier.objects.create(scheme="tax_id", issuer="xd", value="123456789", organisation=real)
    Identifier.objects.create(scheme="tax_id", issuer="XD", value="999000111", organisation=honest)
    return {"front": front, "real": real, "honest": honest, "bare": bare}


def _finding(company: Organisation) -> Finding:
    return Finding.objects.get(subject_type="organisation", subject_id=str(company.pk))


def test_shared_tax_id_is_flagged_on_both_companies_with_the_other_named(companies) -> None:  # type: ignore[no-untyped-def]
    run = detector_run(code="CORE-ID-SHARED")
    front = _finding(companies["front"])
    assert front.outcome == "flag"
    assert "Real Builders LLC" in front.explanation
    assert front.evidence["shared"][0]["also_held_by"][0]["id"] == companies["real"].pk
    assert _finding(companies["real"]).outcome == "flag"
    assert _finding(companies["honest"]).outcome == "pass"
    not_applicable = _finding(companies["bare"])
    assert not_applicable.outcome == "not_applicable"
    assert not_applicable.evidence["reason"] == "missing_field"
    assert (run.flagged, run.passed, run.not_applicable, run.subjects_checked) == (2, 1, 1, 4)
    assert run.status == "succeeded" and run.duration_seconds is not None
    assert run.parameters == {"schemes": ["company_register", "tax_id", "vat", "lei"]}


def test_parameters_narrow_what_is_compared(companies) -> None:  # type: ignore[no-untyped-def]
    run = detector_run(code="CORE-ID-SHARED", parameters={"schemes": "lei"})
    assert run.flagged == 0 and run.not_applicable == 4


def test_unknown_parameter_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="has no parameter 'threshold'; it has: schemes"):
        detector_run(code="CORE-ID-SHARED", parameters={"threshold": 3})


def test_dismissed_finding_stays_dismissed_on_the_next_run(companies) -> None:  # type: ignore[no-untyped-def]
    detector_run(code="CORE-ID-SHARED")
    finding_triage(
        finding=_finding(companies["front"]), decision="dismissed", reason="Same firm renamed in 2021", actor=None
    )
    detector_run(code="CORE-ID-SHARED")
    latest = Finding.objects.filter(subject_id=str(companies["front"].pk)).order_by("-run__started_at", "-id").first()
    assert latest is not None and latest.triage == "dismissed"
    assert latest.triage_reason == "Same firm renamed in 2021"


def test_dismissal_needs_a_reason(companies) -> None:  # type: ignore[no-untyped-def]
    detector_run(code="CORE-ID-SHARED")
    with pytest.raises(ValueError, match="reason"):
        finding_triage(finding=_finding(companies["front"]), decision="dismissed", reason=" ", actor=None)


def test_registry_describes_each_detector() -> None:
    registry = detector_registry()
    assert "CORE-ID-SHARED" in registry
    detector = get_detector("CORE-ID-SHARED")
    assert detector.title and detector.description and detector.parameters
    with pytest.raises(LookupError, match="registered detectors"):
        get_detector("NOPE")


def test_cli_runs_a_detector_and_reports_counts(companies, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("detectors", "run", "CORE-ID-SHARED", "--param", "schemes=tax_id", verbosity=0)
    out = capsys.readouterr().out
    assert "2 flagged, 1 passed, 1 not applicable" in out
    assert DetectorRun.objects.get().started_by == "system:cli"
    with pytest.raises(CommandError, match="no detector has the code"):
        call_command("detectors", "run", "R999")
