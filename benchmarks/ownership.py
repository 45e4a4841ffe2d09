"""Effective ownership over a synthetic register of 1 000 000 companies, chains 10 deep, with cycles.

    .venv/bin/python benchmarks/ownership.py                  # 1 000 000 companies
    .venv/bin/python benchmarks/ownership.py --companies 100000 --reference

The graph: companies in 10 layers; a company in layer k is owned by one or two companies of layer
k − 1 and sometimes a person; layer 0 by one to three persons. Shares of each company add up to at
most 100 %; 2 % of edges have an unknown share, 5 % a range; 1 % of companies get a small holding
from a deeper layer, which closes cycles. Probity's sparse-matrix computation
(``probity.ownership.effective``) runs on the whole graph; then, for a random sample of companies,
its result is checked against an exact dense solve on that company's upstream graph. With
``--reference`` the same graph is also walked the plain way — a Python depth-first walk of every
path from every person, product along the path, cycles cut by a visited set — and the two times are
printed side by side (the walk is the baseline the sparse version replaces; it differs from the
absorbing-chain value only on the cycles, so the comparison covers companies off any cycle).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from probity.ownership.effective import EdgeArrays, effective_ownership  # noqa: E402

LAYERS = 10


def build(companies: int, seed: int) -> tuple[int, int, EdgeArrays]:
    """Persons are nodes 0 … persons − 1, companies persons … persons + companies − 1."""
    rng = np.random.default_rng(seed)
    persons = companies * 3 // 10
    per_layer = companies // LAYERS
    layer_of = np.minimum(np.arange(companies) // per_layer, LAYERS - 1)
    owners: list[np.ndarray] = []
    subjects: list[np.ndarray] = []
    # Layer 0: one to three persons each.
    top = np.flatnonzero(layer_of == 0)
    for extra in range(3):
        chosen = top if extra == 0 else top[rng.random(top.size) < 0.5]
        owners.append(rng.integers(0, persons, chosen.size))
        subjects.append(chosen)
    # Deeper layers: a parent company of the layer above, sometimes a second one, sometimes a person.
    for layer in range(1, LAYERS):
        here = np.flatnonzero(layer_of == layer)
        above = np.flatnonzero(layer_of == layer - 1)
        owners.append(persons + rng.choice(above, here.size))
        subjects.append(here)
        second = here[rng.random(here.size) < 0.25]
        owners.append(persons + rng.choice(above, second.size))
        subjects.append(second)
        person = here[rng.random(here.size) < 0.3]
        owners.append(rng.integers(0, persons, person.size))
        subjects.append(person)
    # Cycles: a few companies are partly owned by a company of a deeper layer.
    shallow = np.flatnonzero(layer_of < LAYERS - 3)
    looped = rng.choice(shallow, companies // 100, replace=False)
    deeper = np.clip(layer_of[looped] + rng.integers(2, 5, looped.size), 0, LAYERS - 1)
    back_owner = (deeper * per_layer + rng.integers(0, per_layer, looped.size)).clip(0, companies - 1)
    owners.append(persons + back_owner)
    subjects.append(looped)

    owner = np.concatenate(owners).astype(np.int64)
    subject = (persons + np.concatenate(subjects)).astype(np.int64)
    keep = owner != subject
    owner, subject = owner[keep], subject[keep]
    # Shares: random weights per subject, scaled so each company is 80–100 % accounted for.
    weight = rng.random(owner.size) + 0.05
    total = np.bincount(subject, weights=weight, minlength=persons + companies)
    coverage = rng.uniform(0.8, 1.0, persons + companies)
    share = weight / total[subject] * coverage[subject]
    unknown = rng.random(owner.size) < 0.02
    ranged = ~unknown & (rng.random(owner.size) < 0.05)
    lo = np.where(unknown, 0.0, np.where(ranged, share * 0.8, share))
    hi = np.where(unknown, 1.0, np.where(ranged, np.minimum(share * 1.2, 1.0), share))
    control = (lo > 0.5) | (rng.random(owner.size) < 0.01)
    edges = EdgeArrays(
        owner=owner,
        subject=subject,
        own_lo=lo,
        own_hi=hi,
        own_unknown=unknown,
        vote_lo=lo.copy(),
        vote_hi=hi.copy(),
        control=control,
    )
    return persons, persons + companies, edges


def upstream(n: int, edges: EdgeArrays, node: int) -> np.ndarray:
    into = sparse.csr_matrix((np.ones(len(edges)), (edges.subject, edges.owner)), shape=(n, n))
    seen = {node}
    frontier = [node]
    while frontier:
        nxt = set(into[frontier].indices.tolist()) - seen
        seen |= nxt
        frontier = list(nxt)
    return np.array(sorted(seen))


def check_sample(n: int, edges: EdgeArrays, result: object, persons: int, sample: int, seed: int) -> float:
    """Largest difference between the computed lower bound and an exact dense solve, over a sample."""
    rng = np.random.default_rng(seed + 1)
    worst = 0.0
    for node in rng.integers(persons, n, sample):
        nodes = upstream(n, edges, int(node))
        local = {v: i for i, v in enumerate(nodes)}
        mask = np.isin(edges.subject, nodes)
        matrix = np.zeros((nodes.size, nodes.size))
        for a, b, value in zip(edges.owner[mask], edges.subject[mask], edges.own_lo[mask], strict=True):
            matrix[local[int(a)], local[int(b)]] += value
        exact = np.linalg.solve((np.eye(nodes.size) - matrix).T, matrix.T).T  # M (I − M)⁻¹
        found = {s.party: s.own_lo for s in result.owners_of(int(node))}  # type: ignore[attr-defined]
        for v in nodes:
            if v < persons:
                worst = max(worst, abs(exact[local[int(v)], local[int(node)]] - found.get(int(v), 0.0)))
    return worst


def python_walk(n: int, persons: int, edges: EdgeArrays) -> dict[tuple[int, int], float]:
    """The baseline: every path from every person, one step at a time, visited set against cycles."""
    out: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for a, b, value in zip(edges.owner.tolist(), edges.subject.tolist(), edges.own_lo.tolist(), strict=True):
        out[a].append((b, value))
    totals: dict[tuple[int, int], float] = defaultdict(float)
    for root in range(persons):
        stack = [(root, 1.0, frozenset([root]))]
        while stack:
            node, product, seen = stack.pop()
            for nxt, value in out.get(node, ()):
                if nxt in seen:
                    continue
                reached = product * value
                totals[(root, nxt)] += reached
                stack.append((nxt, reached, seen | {nxt}))
    return totals


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=100, help="companies checked against a dense solve")
    parser.add_argument("--reference", action="store_true", help="also time the Python path walk")
    args = parser.parse_args()

    clock = time.perf_counter()
    persons, n, edges = build(args.companies, args.seed)
    built = time.perf_counter() - clock
    print(
        f"graph: {args.companies:,} companies, {persons:,} persons, {len(edges):,} edges "
        f"({int(edges.own_unknown.sum()):,} unknown shares), built in {built:.1f} s"
    )

    clock, cpu = time.perf_counter(), time.process_time()
    result = effective_ownership(n, edges)
    elapsed, elapsed_cpu = time.perf_counter() - clock, time.process_time() - cpu
    pairs = result.own_hi.matrix.nnz
    print(
        f"probity effective_ownership: {elapsed:.1f} s wall, {elapsed_cpu:.1f} s CPU, {result.iterations} "
        f"iterations, converged {result.converged}, {pairs:,} (owner, company) pairs, "
        f"peak memory {peak_mb():,.0f} MB"
    )

    clock = time.perf_counter()
    worst = check_sample(n, edges, result, persons, args.sample, args.seed)
    print(
        f"check: {args.sample} sampled companies against an exact dense solve of their upstream graph: "
        f"largest difference {worst:.2e} ({time.perf_counter() - clock:.1f} s)"
    )

    if args.reference:
        clock, cpu = time.perf_counter(), time.process_time()
        walked = python_walk(n, persons, edges)
        reference, reference_cpu = time.perf_counter() - clock, time.process_time() - cpu
        print(
            f"reference Python path walk: {reference:.1f} s wall, {reference_cpu:.1f} s CPU, {len(walked):,} pairs; "
            f"ratio probity/reference (CPU) = {elapsed_cpu / reference_cpu:.3f}"
        )


if __name__ == "__main__":
    main()
