"""The pure allocation algorithm (``probity.cases.allocation``): no database, fixed seeds, so every check is
deterministic."""

from __future__ import annotations

import copy
import random

import pytest

from probity.cases import allocation
from probity.cases.allocation import Candidate, DrawRefused, Exclusion


def _pool(n: int = 5) -> list[Candidate]:
    return [Candidate(officer=10 + i, name=f"officer-{i}") for i in range(n)]


def test_same_seed_same_officer_whatever_the_order_of_candidates() -> None:
    candidates = _pool(7)
    first = allocation.draw(case="CASE-2026-000001", pool="Reviewers", candidates=candidates, seed="abc")
    for shuffle_seed in range(10):
        shuffled = candidates[:]
        random.Random(shuffle_seed).shuffle(shuffled)
        again = allocation.draw(case="CASE-2026-000001", pool="Reviewers", candidates=shuffled, seed="abc")
        assert again.chosen == first.chosen
        assert again.inputs_hash == first.inputs_hash
        assert again.inputs == first.inputs


def test_different_seeds_spread_the_draws() -> None:
    chosen = {allocation.draw(case="C", pool="P", candidates=_pool(5), seed=f"seed-{n}").chosen for n in range(100)}
    assert chosen == {10, 11, 12, 13, 14}


def test_a_seed_is_made_when_none_is_given() -> None:
    one = allocation.draw(case="C", pool="P", candidates=_pool(3))
    two = allocation.draw(case="C", pool="P", candidates=_pool(3))
    assert len(one.seed) == 64
    assert one.seed != two.seed
    assert one.inputs["seed"] == one.seed


def test_weights_matter_an_officer_with_a_double_share_is_drawn_about_twice_as_often() -> None:
    candidates = [
        Candidate(officer=1, name="double", share=2.0),
        Candidate(officer=2, name="single-a", share=1.0),
        Candidate(officer=3, name="single-b", share=1.0),
    ]
    counts = {1: 0, 2: 0, 3: 0}
    draws = 4000
    for n in range(draws):
        counts[allocation.draw(case="C", pool="P", candidates=candidates, seed=f"fixed-{n}").chosen] += 1
    # Expected 2000 / 1000 / 1000; the bounds are more than five standard deviations wide (sd ≈ 32 and 27).
    assert 1800 <= counts[1] <= 2200
    assert 850 <= counts[2] <= 1150
    assert 850 <= counts[3] <= 1150
    ratio = counts[1] / ((counts[2] + counts[3]) / 2)
    assert 1.7 <= ratio <= 2.3


def test_caseload_lowers_the_weight() -> None:
    busy = Candidate(officer=1, name="busy", share=1.0, load=3.0)
    free = Candidate(officer=2, name="free", share=1.0, load=0.0)
    assert busy.weight == pytest.approx(0.25)
    assert free.weight == 1.0
    wins = sum(
        allocation.draw(case="C", pool="P", candidates=[busy, free], seed=f"load-{n}").chosen == 1 for n in range(2000)
    )
    assert 300 <= wins <= 500  # expected 0.25 / 1.25 = 20 % of 2000 = 400


def test_exclusions_are_never_drawn_and_are_recorded_with_their_reason() -> None:
    candidates = _pool(4)
    exclusions = [
        Exclusion(10, "officer-0", "recused: conflict with Blue River Ltd"),
        Exclusion(12, "officer-2", "absent"),
    ]
    for n in range(300):
        result = allocation.draw(case="C", pool="P", candidates=candidates, exclusions=exclusions, seed=f"x-{n}")
        assert result.chosen in {11, 13}
    assert result.inputs["excluded"] == [
        {"officer": 10, "name": "officer-0", "reason": "recused: conflict with Blue River Ltd"},
        {"officer": 12, "name": "officer-2", "reason": "absent"},
    ]
    assert [row["officer"] for row in result.inputs["eligible"]] == [11, 13]


def test_an_officer_with_no_share_is_recorded_as_excluded() -> None:
    candidates = [
        *_pool(2),
        Candidate(officer=99, name="zero", share=0.0),
        Candidate(officer=98, name="nan", share=float("nan")),
    ]
    result = allocation.draw(case="C", pool="P", candidates=candidates, seed="s")
    assert {row["officer"] for row in result.inputs["excluded"]} == {98, 99}
    assert all(row["reason"] == "no share of draws" for row in result.inputs["excluded"])


def test_an_empty_pool_is_refused_with_a_sentence() -> None:
    with pytest.raises(DrawRefused) as refused:
        allocation.draw(case="CASE-2026-000009", pool="Reviewers", candidates=[], seed="s")
    message = str(refused.value)
    assert message.startswith("The pool Reviewers has no officer who can be drawn for CASE-2026-000009")
    assert message.endswith(".")


def test_a_pool_emptied_by_exclusions_is_refused() -> None:
    candidates = _pool(2)
    exclusions = [Exclusion(10, "officer-0", "recused"), Exclusion(11, "officer-1", "recused")]
    with pytest.raises(DrawRefused, match="2 in the pool, 2 excluded"):
        allocation.draw(case="C", pool="P", candidates=candidates, exclusions=exclusions, seed="s")


def test_a_one_person_pool_is_refused_unless_allowed() -> None:
    with pytest.raises(DrawRefused) as refused:
        allocation.draw(case="CASE-2026-000003", pool="Reviewers", candidates=_pool(1), seed="s")
    assert "only one officer" in str(refused.value)
    assert "officer-0" in str(refused.value)
    assert "assign the case by hand with a reason" in str(refused.value)
    result = allocation.draw(case="C", pool="P", candidates=_pool(1), seed="s", allow_single=True)
    assert result.chosen == 10


def _recorded() -> allocation.DrawResult:
    return allocation.draw(case="CASE-2026-000001", pool="Reviewers", candidates=_pool(6), seed="recorded-seed")


def test_verify_accepts_a_faithful_record() -> None:
    result = _recorded()
    check = allocation.verify(
        inputs=copy.deepcopy(result.inputs), seed=result.seed, recorded_hash=result.inputs_hash, chosen=result.chosen
    )
    assert check.ok
    assert check.recomputed == result.chosen
    assert check.sentence == "Running the draw again picks the same officer."


def test_verify_detects_a_changed_input() -> None:
    result = _recorded()
    inputs = copy.deepcopy(result.inputs)
    inputs["eligible"][0]["weight"] = 5.0
    check = allocation.verify(inputs=inputs, seed=result.seed, recorded_hash=result.inputs_hash, chosen=result.chosen)
    assert not check.ok
    assert "no longer match their hash" in check.sentence
    dropped = copy.deepcopy(result.inputs)
    dropped["excluded"].append({"officer": 1, "name": "x", "reason": "y"})
    assert not allocation.verify(
        inputs=dropped, seed=result.seed, recorded_hash=result.inputs_hash, chosen=result.chosen
    ).ok


def test_verify_detects_a_changed_seed_whoever_it_would_pick() -> None:
    result = _recorded()
    for n in range(20):  # some of these seeds pick the same officer: the seed check must not depend on that
        check = allocation.verify(
            inputs=result.inputs, seed=f"other-{n}", recorded_hash=result.inputs_hash, chosen=result.chosen
        )
        assert not check.ok
        assert "seed" in check.sentence
    both = copy.deepcopy(result.inputs)
    both["seed"] = "other-0"  # changing the seed in the inputs too breaks their hash
    assert not allocation.verify(inputs=both, seed="other-0", recorded_hash=result.inputs_hash, chosen=result.chosen).ok


def test_verify_detects_a_changed_chosen_officer() -> None:
    result = _recorded()
    for other in {10, 11, 12, 13, 14, 15} - {result.chosen}:
        check = allocation.verify(
            inputs=result.inputs, seed=result.seed, recorded_hash=result.inputs_hash, chosen=other
        )
        assert not check.ok
        assert check.sentence == "Running the draw again picks a different officer from the one recorded."
        assert check.recomputed == result.chosen
    assert not allocation.verify(
        inputs=result.inputs, seed=result.seed, recorded_hash=result.inputs_hash, chosen=None
    ).ok


def test_verify_refuses_an_unknown_algorithm() -> None:
    result = _recorded()
    inputs = {**copy.deepcopy(result.inputs), "algorithm": "dice-v0"}
    check = allocation.verify(
        inputs=inputs, seed=result.seed, recorded_hash=allocation.inputs_hash(inputs), chosen=result.chosen
    )
    assert not check.ok
    assert "dice-v0" in check.sentence


def test_inputs_hash_is_canonical() -> None:
    assert allocation.inputs_hash({"b": 1, "a": [1, 2]}) == allocation.inputs_hash({"a": [1, 2], "b": 1})
    assert allocation.canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
