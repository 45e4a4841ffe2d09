"""Entity resolution: cross-script pairs are proposed with an explanation; decisions merge or stick; audited."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User

from probity.core.models import AuditEntry
from probity.entities import services
from probity.entities.models import Entity, MatchCandidate, MatchDecision

pytestmark = pytest.mark.django_db

LIST = "\n".join(
    [
        '{"id": "pep-1", "schema": "Person", "properties": {"name": ["Zhang Wei"], "birthDate": ["1971-03-02"],'
        ' "nationality": ["cn"], "topics": ["role.pep"]}}',
        '{"id": "reg-1", "schema": "Person", "properties": {"name": ["张伟"], "birthDate": ["1971-03-02"],'
        ' "nationality": ["cn"]}}',
        '{"id": "decl-1", "schema": "Person", "properties": {"name": ["Чжан Вэй"], "birthDate": ["1971-03"]}}',
        '{"id": "other-1", "schema": "Person", "properties": {"name": ["Zhang Wei"], "birthDate": ["1985-11-20"],'
        ' "nationality": ["cn"]}}',
        '{"id": "anna", "schema": "Person", "properties": {"name": ["Anna Berg"], "birthDate": ["1960-01-01"]}}',
    ]
)


@pytest.fixture
def entities() -> dict[str, Entity]:
    services.ftm_import(source=io.StringIO(LIST), dataset="test")
    return {e.ftm_id: e for e in Entity.objects.all()}


def _pair(entities: dict[str, Entity], a: str, b: str) -> MatchCandidate | None:
    left, right = sorted([entities[a].pk, entities[b].pk])
    return MatchCandidate.objects.filter(left_id=left, right_id=right).first()


def test_one_person_in_three_scripts_is_proposed_and_the_namesake_is_not(entities: dict[str, Entity]) -> None:
    result = services.entities_link(threshold=0.5)
    assert result["records"] == 5
    latin_chinese = _pair(entities, "pep-1", "reg-1")
    assert latin_chinese is not None and latin_chinese.probability > 0.9
    assert _pair(entities, "pep-1", "decl-1") is not None
    namesake = _pair(entities, "pep-1", "other-1")
    assert namesake is None or namesake.probability < latin_chinese.probability
    assert namesake is None or namesake.probability < 0.5
    assert _pair(entities, "pep-1", "anna") is None


def test_each_candidate_explains_which_fields_agreed(entities: dict[str, Entity]) -> None:
    services.entities_link(threshold=0.5)
    candidate = _pair(entities, "pep-1", "reg-1")
    assert candidate is not None
    explanation = candidate.explanation
    assert set(explanation) == {"name", "birth", "country", "identifier", "address"}
    assert explanation["birth"]["level"] == "same date" and explanation["birth"]["weight"] > 10
    assert explanation["name"]["weight"] > 0
    assert explanation["identifier"]["level"] == "missing"
    assert explanation["address"] == {"level": "missing", "weight": 0.0}


def test_confirming_merges_the_clusters_and_is_audited(entities: dict[str, Entity]) -> None:
    services.entities_link(threshold=0.5)
    candidate = _pair(entities, "pep-1", "reg-1")
    assert candidate is not None
    services.match_decide(candidate=candidate, decision="confirmed", actor=User.objects.create(username="analyst-1"))
    pep, reg = Entity.objects.get(ftm_id="pep-1"), Entity.objects.get(ftm_id="reg-1")
    assert pep.cluster == reg.cluster == "pep-1"
    assert AuditEntry.objects.filter(object_type="entities.matchdecision", actor="analyst-1").exists()
    assert AuditEntry.objects.filter(object_type="entities.entity", object_id=str(reg.pk), action="update").exists()


def test_a_rejected_pair_is_never_raised_again(entities: dict[str, Entity]) -> None:
    services.entities_link(threshold=0.5)
    candidate = _pair(entities, "pep-1", "decl-1")
    assert candidate is not None
    analyst = User.objects.create(username="analyst-1")
    with pytest.raises(ValueError, match="reason"):
        services.match_decide(candidate=candidate, decision="rejected", actor=analyst)
    services.match_decide(candidate=candidate, decision="rejected", reason="different father", actor=analyst)
    again = services.entities_link(threshold=0.5)
    assert again["skipped"] >= 1
    candidate.refresh_from_db()
    assert candidate.status == "rejected"
    assert MatchCandidate.objects.filter(pk=candidate.pk).count() == 1
    assert MatchDecision.objects.get(candidate=candidate).reason == "different father"


def test_relinking_updates_open_pairs_without_duplicates(entities: dict[str, Entity]) -> None:
    first = services.entities_link(threshold=0.5)
    second = services.entities_link(threshold=0.5)
    assert second["created"] == 0
    assert second["updated"] == first["created"]
