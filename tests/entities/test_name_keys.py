"""The name key table: keys written with the names, kept in step on re-import, backfilled for names stored
before it existed; screening finds its candidates there (glued, short, digit and inflected names), ranks
them by rare keys and filters by dataset in the look-up."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from probity.entities import name_keys, names, screening, services
from probity.entities.models import Entity, EntityName, NameKey

pytestmark = pytest.mark.django_db


def _import(dataset: str, *entities: dict[str, Any]) -> None:
    text = "\n".join(json.dumps(e, ensure_ascii=False) for e in entities)
    services.ftm_import(source=io.StringIO(text), dataset=dataset)


def _person(ftm_id: str, *name: str) -> dict[str, Any]:
    return {"id": ftm_id, "schema": "Person", "properties": {"name": list(name)}}


def _stored_keys() -> set[tuple[int, str, int, str, str]]:
    return set(NameKey.objects.values_list("name_id", "key", "entity_id", "dataset", "schema"))


def _found(name: str, dataset: str = "default", schema: str = "Person") -> list[str]:
    response = screening.match_one({"schema": schema, "properties": {"name": [name]}}, dataset=dataset, cutoff=0.0)
    return [r["id"] for r in response["results"]]


def test_import_writes_the_keys_of_every_name_with_dataset_and_schema() -> None:
    _import("lists", _person("p1", "Владимир Путин"))
    entity = Entity.objects.get(ftm_id="p1")
    stored = EntityName.objects.filter(entity=entity)
    assert stored.count() >= 2  # the Cyrillic name and its Latin transliteration
    expected = {(n.pk, key, entity.pk, "lists", "Person") for n in stored for key in names.index_keys(n.name)}
    assert _stored_keys() == expected
    assert any("+" in key for _, key, *_ in expected)  # the unordered pair of the two words' keys


def test_reimport_adds_no_key_and_a_changed_name_replaces_its_keys() -> None:
    _import("lists", _person("p1", "Ted Doe"))
    before = _stored_keys()
    _import("lists", _person("p1", "Ted Doe"))
    assert _stored_keys() == before
    _import("lists", _person("p1", "Theodore Roe"))
    after = _stored_keys()
    assert not {k for _, k, *_ in after} & {"_ted", "_doe"}
    assert {names.skeleton("theodore")} <= {k for _, k, *_ in after}
    assert NameKey.objects.values("name_id", "key").distinct().count() == NameKey.objects.count()


def test_a_moved_entity_takes_its_keys_along() -> None:
    _import("lists", _person("p1", "Ted Doe"))
    _import("other", _person("p1", "Ted Doe"))
    assert set(NameKey.objects.values_list("dataset", flat=True)) == {"other"}


def test_backfill_keys_names_stored_without_keys_once() -> None:
    _import("lists", _person("p1", "Sergei Lavrov"), _person("p2", "ACME Holdings"))
    expected = _stored_keys()
    NameKey.objects.all().delete()
    assert name_keys.backfill(EntityName, NameKey, batch=1) == EntityName.objects.count()
    assert _stored_keys() == expected
    assert name_keys.backfill(EntityName, NameKey) == 0  # names with keys are left alone
    assert _stored_keys() == expected


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("SergeiLavrov", "Sergei Lavrov"),  # glued words
        ("Ted Doe", "Ted Doe"),  # words too short for a consonant key
        ("G4zpr0m Trading", "Gazprom Trading"),  # digits for letters
        ("Sergejs Lavrovs", "Sergey Viktorovich LAVROV"),  # a Latvian nominative -s
        ("Lavrov Sergei", "Sergei Lavrov"),  # the words swapped
    ],
)
def test_retrieval_finds_names_the_scorer_accepts(query: str, stored: str) -> None:
    _import("lists", _person("target", stored), _person("other", "Maria Petrova"))
    assert _found(query, "lists")[:1] == ["target"]


def test_the_dataset_filter_is_applied_in_the_look_up() -> None:
    _import("lists", _person("in-list", "Ivan Ivanov"))
    _import("register", _person("in-register", "Ivan Ivanov"))
    assert _found("Ivan Ivanov", "lists") == ["in-list"]
    assert sorted(_found("Ivan Ivanov", "default")) == ["in-list", "in-register"]


def test_rare_keys_rank_the_right_candidate_into_the_scored_few(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screening, "MAX_SCORED", 3)
    crowd = [_person(f"ivan-{i}", f"Ivan {surname}") for i, surname in enumerate(["Petrov", "Sidorov", "Orlov"] * 3)]
    _import("lists", *crowd, _person("target", "Ivan Zvyagintsev"))
    assert _found("Ivan Zvyagintsev", "lists")[:1] == ["target"]


def test_ties_at_the_cut_are_told_apart_by_the_names_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screening, "MAX_SCORED", 2)
    # "Zvyaintsev" (a consonant dropped) shares only the common given name's key with its entity.
    crowd = [
        _person(f"ivan-{i}", f"Ivan {surname}") for i, surname in enumerate(["Petrov", "Sidorov", "Orlov", "Belov"])
    ]
    _import("lists", *crowd, _person("target", "Ivan Zvyagintsev"))
    assert "target" in _found("Ivan Zvyaintsev", "lists")


def test_match_many_answers_as_match_one_and_keeps_bad_queries_in_place() -> None:
    _import("lists", _person("p1", "Sergei Lavrov"), _person("p2", "Maria Petrova"))
    examples: list[dict[str, Any]] = [
        {"schema": "Person", "properties": {"name": ["Sergei Lavrov"]}},
        {"schema": "Spaceship", "properties": {"name": ["x"]}},
        {"schema": "Person", "properties": {"name": ["Mariya Petrova"]}},
    ]
    many = screening.match_many(examples, dataset="lists")
    assert isinstance(many[1], screening.QueryError)
    assert many[0] == screening.match_one(examples[0], dataset="lists")
    assert many[2] == screening.match_one(examples[2], dataset="lists")
    assert [r["id"] for r in many[2]["results"]] == ["p2"]  # type: ignore[index]
