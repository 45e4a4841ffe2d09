"""Effective ownership against brute force on small random graphs (hypothesis).

* On graphs without cycles: the sum over every path of the product of the shares, in exact
  fractions, by enumerating paths one by one.
* On graphs with cycles: the absorbing-chain value ``B (I − M)⁻¹`` from a dense linear solve.
* With ranges and unknown shares: for any concrete shares inside the ranges, the exact effective
  share lies inside the computed [lo, hi]; "unknown" and "control" equal a depth-first search.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from probity.ownership.effective import EdgeArrays, effective_ownership

Edge = tuple[int, int]


@st.composite
def graphs(draw: st.DrawFn, acyclic: bool) -> tuple[int, list[Edge]]:
    n = draw(st.integers(min_value=2, max_value=7))
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b and (a < b or not acyclic)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=12))
    # At most two owners per subject, each at most 45 %, so no column passes 90 %.
    per_subject: dict[int, int] = {}
    kept = []
    for owner, subject in edges:
        if per_subject.get(subject, 0) < 2:
            per_subject[subject] = per_subject.get(subject, 0) + 1
            kept.append((owner, subject))
    return n, kept


def arrays(edges: list[Edge], lo: list[float], hi: list[float], unknown: list[bool], control: list[bool]) -> EdgeArrays:
    return EdgeArrays.from_lists(
        [(a, b, lo[k], hi[k], unknown[k], lo[k], hi[k], control[k]) for k, (a, b) in enumerate(edges)]
    )


def roots(n: int, edges: list[Edge]) -> list[int]:
    owned = {b for _a, b in edges}
    return [v for v in range(n) if v not in owned]


def path_sum(n: int, edges: list[Edge], shares: list[Fraction]) -> dict[tuple[int, int], Fraction]:
    """Sum over every path of the product of shares (the graph has no cycle), one path at a time."""
    out: dict[int, list[tuple[int, Fraction]]] = {v: [] for v in range(n)}
    for (a, b), share in zip(edges, shares, strict=True):
        out[a].append((b, share))
    totals: dict[tuple[int, int], Fraction] = {}

    def walk(root: int, node: int, product: Fraction) -> None:
        for nxt, share in out[node]:
            value = product * share
            totals[(root, nxt)] = totals.get((root, nxt), Fraction(0)) + value
            walk(root, nxt, value)

    for root in roots(n, edges):
        walk(root, root, Fraction(1))
    return totals


def dense_solve(n: int, edges: list[Edge], shares: list[float]) -> dict[tuple[int, int], float]:
    matrix = np.zeros((n, n))
    for (a, b), share in zip(edges, shares, strict=True):
        matrix[a, b] += share
    total = matrix @ np.linalg.inv(np.eye(n) - matrix)
    return {(r, j): float(total[r, j]) for r in roots(n, edges) for j in range(n) if total[r, j] > 1e-15}


def reachable(n: int, edges: list[Edge], start: int, allowed: list[bool]) -> set[int]:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        for k, (a, b) in enumerate(edges):
            if a == node and allowed[k] and b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


def computed(n: int, data: EdgeArrays) -> dict[tuple[int, int], object]:
    result = effective_ownership(n, data)
    return {(share.party, node): share for node in range(n) for share in result.owners_of(node)}


@settings(max_examples=150, deadline=None)
@given(graphs(acyclic=True), st.data())
def test_acyclic_graphs_match_the_sum_over_paths_in_exact_fractions(
    graph: tuple[int, list[Edge]], data: st.DataObject
) -> None:
    n, edges = graph
    percents = data.draw(st.lists(st.integers(1, 45), min_size=len(edges), max_size=len(edges)))
    shares = [Fraction(p, 100) for p in percents]
    expected = path_sum(n, edges, shares)
    floats = [float(s) for s in shares]
    found = computed(n, arrays(edges, floats, floats, [False] * len(edges), [False] * len(edges)))
    assert set(found) == set(expected)
    for key, value in expected.items():
        share = found[key]
        assert math.isclose(share.own_lo, float(value), abs_tol=1e-12)  # type: ignore[attr-defined]
        assert math.isclose(share.own_hi, float(value), abs_tol=1e-12)  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None)
@given(graphs(acyclic=False), st.data())
def test_graphs_with_cycles_match_the_absorbing_chain_solution_and_terminate(
    graph: tuple[int, list[Edge]], data: st.DataObject
) -> None:
    n, edges = graph
    percents = data.draw(st.lists(st.integers(1, 45), min_size=len(edges), max_size=len(edges)))
    shares = [p / 100 for p in percents]
    expected = dense_solve(n, edges, shares)
    result = effective_ownership(n, arrays(edges, shares, shares, [False] * len(edges), [False] * len(edges)))
    assert result.converged
    found = {(s.party, node): s for node in range(n) for s in result.owners_of(node)}
    assert set(found) == set(expected)
    for key, value in expected.items():
        assert math.isclose(found[key].own_lo, value, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=150, deadline=None)
@given(graphs(acyclic=False), st.data())
def test_any_concrete_shares_inside_the_ranges_give_an_effective_share_inside_the_computed_range(
    graph: tuple[int, list[Edge]], data: st.DataObject
) -> None:
    n, edges = graph
    m = len(edges)
    low = data.draw(st.lists(st.integers(0, 40), min_size=m, max_size=m))
    width = data.draw(st.lists(st.integers(0, 5), min_size=m, max_size=m))
    unknown = data.draw(st.lists(st.booleans(), min_size=m, max_size=m))
    lo = [0.0 if unknown[k] else low[k] / 100 for k in range(m)]
    hi = [1.0 if unknown[k] else (low[k] + width[k]) / 100 for k in range(m)]
    picks = data.draw(st.lists(st.floats(0, 1), min_size=m, max_size=m))
    concrete = [lo[k] + picks[k] * (hi[k] - lo[k]) for k in range(m)]
    column = [0.0] * n
    for (_a, b), value in zip(edges, concrete, strict=True):
        column[b] += value
    assume(max(column) < 0.98)  # real shares: each company at most (a little under) 100 % held
    exact = dense_solve(n, edges, concrete)
    found = computed(n, arrays(edges, lo, hi, unknown, [False] * m))
    for key, value in exact.items():
        share = found[key]
        assert share.own_lo <= value + 1e-9, (key, share, value)  # type: ignore[attr-defined]
        assert value <= share.own_hi + 1e-9, (key, share, value)  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None)
@given(graphs(acyclic=False), st.data())
def test_unknown_marks_and_control_match_a_depth_first_search(
    graph: tuple[int, list[Edge]], data: st.DataObject
) -> None:
    n, edges = graph
    m = len(edges)
    unknown = data.draw(st.lists(st.booleans(), min_size=m, max_size=m))
    control = data.draw(st.lists(st.booleans(), min_size=m, max_size=m))
    lo = [0.0 if u else 0.3 for u in unknown]
    hi = [1.0 if u else 0.3 for u in unknown]
    result = effective_ownership(n, arrays(edges, lo, hi, unknown, control))
    for root in roots(n, edges):
        everything = reachable(n, edges, root, [True] * m)
        # Reached through an unknown share: an unknown edge (a → b) with a reachable (or the root),
        # and the target b itself or reachable from b.
        through_unknown: set[int] = set()
        for k, (a, b) in enumerate(edges):
            if unknown[k] and (a == root or a in everything):
                through_unknown |= {b} | reachable(n, edges, b, [True] * m)
        controlled = reachable(n, edges, root, control)
        for node in range(n):
            shares = {s.party: s for s in result.owners_of(node)}
            share = shares.get(root)
            assert (share is not None and share.unknown) == (node in through_unknown), (root, node)
            assert (share is not None and share.control) == (node in controlled), (root, node)
