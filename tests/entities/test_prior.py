"""The prior of entity resolution: the bound from the data's shape for small jobs, the lower of the bound and
Splink's estimate from the data for large ones (``resolution.PRIOR_ESTIMATE_MIN_RECORDS``)."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest

from probity.entities import resolution

GIVEN = [
    "Anna", "Boris", "Clara", "Daniel", "Elena", "Filip", "Greta", "Hugo", "Ingrid", "Jonas", "Karla", "Lukas",
    "Marta", "Nikola", "Olga", "Pavel", "Rita", "Stefan", "Tereza", "Viktor", "Wanda", "Zoran", "Agata", "Bruno",
    "Dora", "Emil", "Frida", "Gustav", "Hana", "Igor", "Jana", "Kamil", "Lena", "Milan", "Nora", "Oskar",
]  # fmt: skip
FAMILY = [
    "Adler", "Brandt", "Cerny", "Dvorak", "Engel", "Fischer", "Gruber", "Horvat", "Iversen", "Jansen", "Keller",
    "Lorenz", "Marek", "Novak", "Olsen", "Petrov", "Quist", "Richter", "Schulz", "Toth", "Urban", "Vogel",
    "Weber", "Zeller", "Abel", "Berger", "Conti", "Dietz", "Ernst", "Frank", "Graf", "Hahn", "Imhof", "Jung",
]  # fmt: skip
CITIES = [("10100", "Demopolis"), ("20200", "Northport"), ("30300", "Eastvale"), ("40400", "Rivermouth")]


def person(uid: int, source: str, name: str, birth: str | None, street: str, city: int) -> dict[str, Any]:
    postcode, town = CITIES[city]
    return {
        "unique_id": uid,
        "source_dataset": source,
        **resolution.name_columns([name]),
        **resolution.birth_columns(birth),
        "countries": None,
        "identifiers": None,
        **resolution.address_columns(street, postcode=postcode, city=town),
    }


def population(register: int, declared: int) -> tuple[list[dict[str, Any]], dict[str, tuple[int, int]]]:
    """A register and a list of declared persons, every name different, and four planted pairs.

    "same" pairs are one person (the register gives the birth month, the declaration the date, one address);
    "namesake" is another person of the same name born the same month who lives in another city.
    """
    rng = random.Random(11)
    names = [f"{g} {f}" for g in GIVEN for f in FAMILY]
    rng.shuffle(names)
    planted = names[:4]
    others = iter(names[4:])
    records: list[dict[str, Any]] = []
    pairs: dict[str, tuple[int, int]] = {}
    uid = 0

    def birth() -> str:
        return f"{rng.randint(1940, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    def add(source: str, name: str, born: str | None, street: str, city: int) -> int:
        nonlocal uid
        uid += 1
        records.append(person(uid, source, name, born, street, city))
        return uid

    for i, name in enumerate(planted):
        born = f"19{60 + i}-0{i + 1}-1{i}"
        left = add("register", name, born[:7], f"Oak Lane {i + 1}", i % 4)
        if i < 3:
            right = add("declared", name, born, f"Oak Lane {i + 1}", i % 4)
            pairs[f"same-{i}"] = (left, right)
        else:
            right = add("declared", name, born, f"Mill Road {i + 40}", (i + 1) % 4)
            pairs["namesake"] = (left, right)
    for source, count in (("register", register), ("declared", declared)):
        for _ in range(count):
            add(source, next(others), birth(), f"{rng.choice(['Hill Road', 'Park Street'])} {rng.randint(1, 200)}", 0)
    return records, pairs


def linked(records: list[dict[str, Any]]) -> set[tuple[int, int]]:
    return {(min(p.left_id, p.right_id), max(p.left_id, p.right_id)) for p in resolution.link_records(records)}


def table(records: list[dict[str, Any]]) -> pa.Table:
    rows = [{c: r.get(c) for c in resolution.RECORD_COLUMNS} for r in records]
    return pa.Table.from_pylist(rows, schema=resolution._arrow_schema())


def prior_of(linker: Any) -> float:
    return float(linker._settings_obj._probability_two_random_records_match)


def test_a_large_job_with_few_true_pairs_does_not_link_a_namesake_born_the_same_month() -> None:
    records, pairs = population(register=700, declared=400)
    assert len(records) >= resolution.PRIOR_ESTIMATE_MIN_RECORDS
    found = linked(records)
    for key in ("same-0", "same-1", "same-2"):
        assert pairs[key] in found, key
    # with the bound from the shape (1 / 1 107) the namesake scored as a match
    assert pairs["namesake"] not in found


def test_the_namesake_is_linked_with_the_bound_alone() -> None:
    """The same data with the estimate switched off: what the prior change is for."""
    records, pairs = population(register=700, declared=400)
    linker = resolution.linker_for([table(records)], tf=True, estimate_prior=False)
    assert prior_of(linker) == pytest.approx(resolution.prior_for("dedupe_only", [len(records)], 2))
    rows = linker.inference.predict(threshold_match_probability=0.5).as_record_list()
    found = {(min(r["unique_id_l"], r["unique_id_r"]), max(r["unique_id_l"], r["unique_id_r"])) for r in rows}
    assert pairs["namesake"] in found


def test_a_large_job_keeps_the_lower_of_the_estimate_and_the_bound() -> None:
    records, _ = population(register=700, declared=400)
    bound = resolution.prior_for("dedupe_only", [len(records)], 2)
    linker = resolution.linker_for([table(records)])
    # 4 pairs agree on name and birth month: 4 / 0.6 true pairs among n (n - 1) / 2
    expected = 4 / resolution.PRIOR_ESTIMATE_RECALL / (len(records) * (len(records) - 1) / 2)
    assert prior_of(linker) == pytest.approx(expected)
    assert prior_of(linker) < bound


def test_a_small_job_keeps_the_bound_from_the_shape() -> None:
    records, _ = population(register=300, declared=200)
    assert len(records) < resolution.PRIOR_ESTIMATE_MIN_RECORDS
    linker = resolution.linker_for([table(records)])
    assert prior_of(linker) == resolution.prior_for("dedupe_only", [len(records)], 2)


def test_the_bound_stays_when_the_estimate_is_higher_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    records, _ = population(register=700, declared=400)
    bound = resolution.prior_for("dedupe_only", [len(records)], 2)
    # no pair agrees on name and birth month: Splink estimates 0, which is no prior
    lonely = [{**r, "birth_ym": None, "birth_date": None, "birth_year": None} for r in records]
    assert prior_of(resolution.linker_for([table(lonely)])) == bound
    # an estimate above the bound (most records with a partner in each source) keeps the bound
    monkeypatch.setattr(resolution, "estimate_prior_of", lambda linker: bound * 3)
    assert prior_of(resolution.linker_for([table(records)])) == bound
    # an error while estimating keeps the bound too
    monkeypatch.undo()

    def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no database")

    monkeypatch.setattr(linker_training(), "estimate_probability_two_random_records_match", failing)
    assert prior_of(resolution.linker_for([table(records)])) == bound


def linker_training() -> Any:
    from splink.internals.linker_components.training import LinkerTraining

    return LinkerTraining
