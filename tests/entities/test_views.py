"""The entity pages: names in all scripts, identifiers, matches with their explanation and decision buttons."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from probity.core.services import user_create
from probity.entities import services
from probity.entities.models import Entity, MatchCandidate
from tests.core.test_i18n import untranslated_words

pytestmark = pytest.mark.django_db

LIST = "\n".join(
    [
        '{"id": "pep-1", "schema": "Person", "properties": {"name": ["张伟"], "birthDate": ["1971-03-02"],'
        ' "nationality": ["cn"], "innCode": ["7701234567"], "topics": ["role.pep"]}}',
        '{"id": "reg-1", "schema": "Person", "properties": {"name": ["Zhang Wei"], "birthDate": ["1971-03-02"],'
        ' "nationality": ["cn"]}}',
        '{"id": "fam-1", "schema": "Family", "properties": {"person": ["pep-1"], "relative": ["reg-1"]}}',
    ]
)


@pytest.fixture
def candidate() -> MatchCandidate:
    services.ftm_import(source=io.StringIO(LIST), dataset="pep")
    services.entities_link(threshold=0.5)
    return MatchCandidate.objects.get()


def test_entity_page_shows_names_identifiers_and_the_explained_match(
    candidate: MatchCandidate, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    pep = Entity.objects.get(ftm_id="pep-1")
    html = client.get(reverse("entities:entity", args=[pep.pk])).content.decode()
    assert "张伟" in html and "Zhang Wei" in html  # the name and its pinyin transliteration
    assert "7701234567" in html
    assert "same date" in html  # birth date agreed, with its weight
    assert 'value="confirmed"' in html and 'value="rejected"' in html


def test_confirming_from_the_page_merges_and_hides_the_buttons(
    candidate: MatchCandidate, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    pep = Entity.objects.get(ftm_id="pep-1")
    url = reverse("entities:decide", args=[candidate.pk])
    response = client.post(url, {"decision": "confirmed", "entity": pep.pk})
    assert response.status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == "confirmed"
    html = client.get(reverse("entities:entity", args=[pep.pk])).content.decode()
    assert 'value="confirmed"' not in html
    assert Entity.objects.get(ftm_id="reg-1").cluster == "pep-1"


def test_rejecting_without_a_reason_is_refused(
    candidate: MatchCandidate, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    client.post(reverse("entities:decide", args=[candidate.pk]), {"decision": "rejected"})
    candidate.refresh_from_db()
    assert candidate.status == "open"


def test_roles_without_the_right_cannot_decide_or_see(
    candidate: MatchCandidate, verified_client: Callable[..., Client], make_user: Callable[..., object]
) -> None:
    auditor = verified_client("auditor")
    assert auditor.get(reverse("entities:candidates")).status_code == 200
    assert auditor.post(reverse("entities:decide", args=[candidate.pk]), {"decision": "confirmed"}).status_code == 403
    declarant = Client()
    declarant.force_login(make_user("declarant"))  # type: ignore[arg-type]
    assert declarant.get(reverse("entities:index")).status_code == 403
    assert Client().get(reverse("entities:index")).status_code == 302


def test_search_finds_a_chinese_name_from_pinyin(
    candidate: MatchCandidate, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    html = client.get(reverse("entities:index"), {"q": "zhang wei"}).content.decode()
    assert "张伟" in html


def test_pages_show_no_english_in_chinese(candidate: MatchCandidate, verified_client: Callable[..., Client]) -> None:
    client = verified_client(user=user_create(username="分析员", password="x" * 20, roles=["analyst"]))
    client.cookies["django_language"] = "zh-hans"
    pep = Entity.objects.get(ftm_id="pep-1")
    problems = {}
    for path in (reverse("entities:index"), reverse("entities:entity", args=[pep.pk]), reverse("entities:candidates")):
        response = client.get(path)
        assert response.status_code == 200, path
        words = untranslated_words(response.content.decode())
        if words:
            problems[path] = words[:8]
    assert not problems, problems
