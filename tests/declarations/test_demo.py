"""The demo country's 0.1 declarations import into the 1.0 schema and every planted
UNEXPLAINED-WEALTH case is flagged by DECL-WEALTH with its arithmetic."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from probity.core.models import Finding
from probity.core.services import detector_run
from probity.declarations.models import Declaration, DeclarationVersion
from probity.declarations.selectors import risk_scores
from probity.declarations.services import declaration_import

pytestmark = pytest.mark.django_db


def test_demo_declarations_import_and_planted_unexplained_wealth_is_flagged(demo_dir: Path) -> None:
    files = sorted((demo_dir / "declarations").glob("*.json"))
    report = declaration_import(path=demo_dir / "declarations")
    assert report.errors == []
    assert report.created == len(files) == Declaration.objects.count()

    again = declaration_import(path=demo_dir / "declarations")
    assert (again.created, again.unchanged, again.errors) == (0, len(files), [])
    assert DeclarationVersion.objects.count() == len(files)

    run = detector_run(code="DECL-WEALTH", started_by="test")
    truth = json.loads((demo_dir / "ground_truth.json").read_text())
    planted = [s for s in truth["schemes"] if s["type"] == "UNEXPLAINED-WEALTH"]
    assert planted
    planted_ids = set()
    for scheme in planted:
        later = Declaration.objects.get(external_id=scheme["involved"]["declarations"][-1])
        planted_ids.add(str(later.pk))
        finding = Finding.objects.get(run=run, subject_id=str(later.pk))
        assert finding.outcome == "flag", finding.explanation
        assert Decimal(finding.evidence["unexplained"]) == Decimal(scheme["facts"]["unexplained"])
        assert Decimal(finding.evidence["net_worth_before"]) == Decimal(scheme["facts"]["net_worth_before"])
        assert scheme["facts"]["unexplained"] in finding.explanation
        assert "=" in finding.evidence["arithmetic"]
    # and nobody else: ordinary savings are explained by income
    others = Finding.objects.filter(run=run, outcome="flag").exclude(subject_id__in=planted_ids)
    assert not others.exists(), [f.explanation for f in others]

    detector_run(code="DECL-ARITHMETIC", started_by="test")
    detector_run(code="DECL-CROSSYEAR", started_by="test")
    scores = risk_scores()
    for subject in planted_ids:
        assert scores[int(subject)] >= 5.0
