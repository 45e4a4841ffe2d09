"""Effective (indirect) ownership and control over an ownership graph, with sparse matrices.

Semantics (see docs/reference/ownership.md):

* ``M[i, j]`` is the share of entity ``j`` held directly by party ``i`` (a fraction). The effective
  share of an *ultimate* party ``r`` (one nobody owns: a person, or an entity with no recorded
  owner) in ``j`` is the sum, over every walk from ``r`` to ``j``, of the product of the shares
  along the walk: ``W = B (I + M + M² + …)`` with ``B`` the rows of ``M`` for the ultimate parties.
  This is the absorbing-Markov-chain reading of circular ownership: a company that owns part of
  itself through a cycle passes that part on again and again, each time smaller, so when every
  share in a company is accounted for, its ultimate owners' shares add up to 100 %.
  ``W`` is built by adding ``B Mᵏ`` until the increment vanishes (exactly, after the longest chain,
  when there is no cycle) or falls below ``tolerance``; nothing walks node by node in Python.
* Ranges: every share is an interval ``[lo, hi]``; products and sums of non-negative intervals are
  taken bound by bound, so ``lo`` and ``hi`` are two runs of the same iteration. An upper bound is
  capped at 100 % (it is a bound, and a real share cannot exceed it); where an upper-bound series
  has not settled after ``max_iterations`` (a cycle of unknown shares), the bound is 100 %.
  Exclusive bounds are carried as the bound moved by ``EXCLUSIVE_EPSILON``.
* Unknown shares are ``[0, 100 %]`` *and* marked: ``unknown[r, j]`` is true when some walk from
  ``r`` to ``j`` uses an edge whose share was not given (a boolean closure over a two-layer graph:
  layer 0 "no unknown edge yet", layer 1 "an unknown edge was used").
* Control is a boolean closure over control edges (voting majority, board appointment, other
  influence or control, trust roles, nominators …): ``control[r, j]`` when a chain of control edges
  leads from ``r`` to ``j``. ``manage`` is the same closure with board seats and senior management
  added: the beneficial owners of last resort where nobody owns or controls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

EXCLUSIVE_EPSILON = 1e-9
DEFAULT_TOLERANCE = 1e-15
DEFAULT_MAX_ITERATIONS = 1000


@dataclass
class EdgeArrays:
    """The direct edges of an ownership graph, one entry per (interested party → subject) edge.

    Shares are fractions in [0, 1]; ``nan`` means "no such interest on this edge" (a board
    appointment has no shareholding). ``*_unknown`` is true where the interest exists but its share
    was not given (then lo = 0 and hi = 1).
    """

    owner: NDArray[np.int64]
    subject: NDArray[np.int64]
    own_lo: NDArray[np.float64]
    own_hi: NDArray[np.float64]
    own_unknown: NDArray[np.bool_]
    vote_lo: NDArray[np.float64]
    vote_hi: NDArray[np.float64]
    control: NDArray[np.bool_]
    # Seats on the board and senior management: not control, but where nobody owns or controls a
    # company, the people who manage it are its beneficial owners of last resort (FATF).
    manage: NDArray[np.bool_] | None = None

    @classmethod
    def empty(cls) -> EdgeArrays:
        return cls.from_lists([])

    @classmethod
    def from_lists(cls, edges: list[tuple[int, int, float, float, bool, float, float, bool]]) -> EdgeArrays:
        """From tuples ``(owner, subject, own_lo, own_hi, own_unknown, vote_lo, vote_hi, control)``."""
        columns: list[Any] = list(zip(*edges, strict=True)) if edges else [[]] * 8
        return cls(
            owner=np.asarray(columns[0], dtype=np.int64),
            subject=np.asarray(columns[1], dtype=np.int64),
            own_lo=np.asarray(columns[2], dtype=np.float64),
            own_hi=np.asarray(columns[3], dtype=np.float64),
            own_unknown=np.asarray(columns[4], dtype=np.bool_),
            vote_lo=np.asarray(columns[5], dtype=np.float64),
            vote_hi=np.asarray(columns[6], dtype=np.float64),
            control=np.asarray(columns[7], dtype=np.bool_),
        )

    def __len__(self) -> int:
        return int(self.owner.shape[0])


@dataclass
class Layer:
    """Effective values of the ultimate parties of one layer (rows, ``roots`` order) in every node (columns).

    Each layer has its own ultimate parties: those with no incoming edge *in that layer* (a ministry
    controlled by the state, but owned by nobody, is an ultimate owner yet not an ultimate controller).
    """

    roots: NDArray[np.int64]
    matrix: sparse.csc_matrix

    def column(self, node: int) -> dict[int, float]:
        start, end = self.matrix.indptr[node], self.matrix.indptr[node + 1]
        return {
            int(self.roots[row]): float(value)
            for row, value in zip(self.matrix.indices[start:end], self.matrix.data[start:end], strict=True)
        }

    def row(self, party: int) -> dict[int, float]:
        """What one ultimate party holds: ``{node: value}`` (empty when it is not ultimate here)."""
        position = int(np.searchsorted(self.roots, party))
        if position >= self.roots.size or self.roots[position] != party:
            return {}
        found = self.matrix[position].tocoo()
        return {int(col): float(value) for col, value in zip(found.col, found.data, strict=True)}


@dataclass
class EffectiveOwnership:
    """Effective ownership (lo, hi, unknown), votes (lo, hi) and control of ultimate parties in every node."""

    own_lo: Layer
    own_hi: Layer
    unknown: Layer
    vote_lo: Layer
    vote_hi: Layer
    control: Layer
    manage: Layer | None = None
    iterations: int = 0
    converged: bool = True
    overallocated: list[int] = field(default_factory=list)

    def holdings_of(self, party: int) -> dict[int, OwnerShare]:
        """Every node an ultimate party has an effective share in, votes in, controls or manages."""
        own_lo, own_hi = self.own_lo.row(party), self.own_hi.row(party)
        vote_lo, vote_hi = self.vote_lo.row(party), self.vote_hi.row(party)
        unknown, control = self.unknown.row(party), self.control.row(party)
        manage = self.manage.row(party) if self.manage is not None else {}
        nodes = set(own_hi) | set(vote_hi) | set(control) | set(manage)
        return {
            node: OwnerShare(
                party=party,
                own_lo=own_lo.get(node, 0.0),
                own_hi=own_hi.get(node, 0.0),
                vote_lo=vote_lo.get(node, 0.0),
                vote_hi=vote_hi.get(node, 0.0),
                unknown=bool(unknown.get(node)),
                control=bool(control.get(node)),
                manage=bool(manage.get(node)),
            )
            for node in sorted(nodes)
            if node != party
        }

    def owners_of(self, node: int) -> list[OwnerShare]:
        """Every ultimate party with an effective share in, a vote in, or control of ``node``."""
        own_lo, own_hi = self.own_lo.column(node), self.own_hi.column(node)
        vote_lo, vote_hi = self.vote_lo.column(node), self.vote_hi.column(node)
        unknown, control = self.unknown.column(node), self.control.column(node)
        manage = self.manage.column(node) if self.manage is not None else {}
        parties = set(own_hi) | set(vote_hi) | set(control) | set(manage)
        return [
            OwnerShare(
                party=party,
                own_lo=own_lo.get(party, 0.0),
                own_hi=own_hi.get(party, 0.0),
                vote_lo=vote_lo.get(party, 0.0),
                vote_hi=vote_hi.get(party, 0.0),
                unknown=bool(unknown.get(party)),
                control=bool(control.get(party)),
                manage=bool(manage.get(party)),
            )
            for party in sorted(parties)
        ]


@dataclass(frozen=True)
class OwnerShare:
    party: int
    own_lo: float
    own_hi: float
    vote_lo: float
    vote_hi: float
    unknown: bool
    control: bool
    manage: bool = False

    def status(self, threshold: float, inclusive: bool = True) -> str:
        """``owner`` (certainly at or over the threshold, or in control), ``possible`` or ``below``."""

        def reaches(value: float) -> bool:
            return value >= threshold - 1e-12 if inclusive else value > threshold + 1e-12

        if self.control or reaches(self.own_lo) or reaches(self.vote_lo):
            return "owner"
        if reaches(self.own_hi) or reaches(self.vote_hi):
            return "possible"
        return "below"


def _matrix(n: int, rows: NDArray[np.int64], cols: NDArray[np.int64], values: NDArray[np.float64]) -> sparse.csr_matrix:
    keep = values > 0
    # Duplicates (two edges between the same pair) are summed by the constructor.
    return sparse.csr_matrix((values[keep], (rows[keep], cols[keep])), shape=(n, n), dtype=np.float64)


def _normalise_columns(matrix: sparse.csr_matrix) -> tuple[sparse.csr_matrix, list[int]]:
    """Scales down any column whose shares add up to more than 100 % (bad data, reported elsewhere)."""
    sums = np.asarray(matrix.sum(axis=0)).ravel()
    over = np.flatnonzero(sums > 1 + 1e-9)
    if over.size == 0:
        return matrix, []
    scale = np.ones_like(sums)
    scale[over] = 1 / sums[over]
    return (matrix @ sparse.diags(scale)).tocsr(), [int(i) for i in over]


def _series(
    start: sparse.csr_matrix, step: sparse.csr_matrix, tolerance: float, max_iterations: int, cap: bool
) -> tuple[sparse.csr_matrix, int, bool]:
    """``start (I + step + step² + …)`` by adding increments until they vanish or fall below tolerance.

    Increments are kept and added once at the end (adding each to a growing total would cost the
    size of the total at every step); capping the final sum at 100 % equals capping along the way,
    since every increment is non-negative.
    """
    parts = [start.tocoo()]
    increment = start
    iterations = 0
    while increment.nnz and iterations < max_iterations:
        increment = (increment @ step).tocsr()
        if cap:
            # Past 100 % an upper bound tells nothing more; stop walks that cannot matter.
            increment.data = np.minimum(increment.data, 1.0)
        increment.data[increment.data < tolerance] = 0
        increment.eliminate_zeros()
        if increment.nnz:
            parts.append(increment.tocoo())
        iterations += 1
    converged = increment.nnz == 0
    total = sparse.csr_matrix(
        (
            np.concatenate([p.data for p in parts]),
            (np.concatenate([p.row for p in parts]), np.concatenate([p.col for p in parts])),
        ),
        shape=start.shape,
        dtype=np.float64,
    )
    total.sum_duplicates()
    if cap:
        total.data = np.minimum(total.data, 1.0)
        if not converged:
            # A cycle keeps adding: the only safe upper bound left is 100 % wherever it still flows.
            stuck = increment.copy()
            stuck.data[:] = 1.0
            total = total.maximum(stuck).tocsr()
    return total, iterations, converged


def _closure(start: sparse.csr_matrix, step: sparse.csr_matrix, max_iterations: int) -> sparse.csr_matrix:
    """Boolean reachability ``start · step*`` with a visited set, so cycles end the walk."""
    reached = (start > 0).astype(np.int8).tocsr()
    frontier = reached
    step_bool = (step > 0).astype(np.int8).tocsr()
    for _ in range(max_iterations):
        if not frontier.nnz:
            break
        nxt = ((frontier @ step_bool) > 0).astype(np.int8)
        new = (nxt - nxt.multiply(reached)).tocsr()
        new.eliminate_zeros()
        frontier = new
        reached = (reached + new).tocsr()
    return reached


def _roots(n: int, subjects: NDArray[np.int64]) -> tuple[NDArray[np.int64], sparse.csr_matrix]:
    incoming = np.zeros(n, dtype=bool)
    incoming[subjects] = True
    roots = np.flatnonzero(~incoming).astype(np.int64)
    selector = sparse.csr_matrix(
        (np.ones(roots.size), (np.arange(roots.size), roots)), shape=(roots.size, n), dtype=np.float64
    )
    return roots, selector


def effective_ownership(
    n: int,
    edges: EdgeArrays,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> EffectiveOwnership:
    """Effective ownership, voting and control of every ultimate party in every node of the graph."""
    has_own = ~np.isnan(edges.own_lo)
    has_vote = ~np.isnan(edges.vote_lo)

    def layer(mask: NDArray[np.bool_], values: NDArray[np.float64]) -> sparse.csr_matrix:
        return _matrix(n, edges.owner[mask], edges.subject[mask], np.nan_to_num(values[mask]))

    own_lo, overallocated = _normalise_columns(layer(has_own, edges.own_lo))
    vote_lo, over_vote = _normalise_columns(layer(has_vote, edges.vote_lo))
    own_hi = layer(has_own, edges.own_hi)
    vote_hi = layer(has_vote, edges.vote_hi)
    own_hi.data = np.minimum(own_hi.data, 1.0)
    vote_hi.data = np.minimum(vote_hi.data, 1.0)
    own_roots, own_selector = _roots(n, edges.subject[has_own])
    vote_roots, vote_selector = _roots(n, edges.subject[has_vote])
    # An ultimate controller is owned by nobody at all: an entity whose owners are recorded, even with
    # interests of unknown kind, is a link of somebody else's chain, not the end of it.
    control_roots, control_selector = _roots(n, edges.subject)

    results: dict[str, Layer] = {}
    iterations = 0
    converged = True
    for name, matrix, cap, roots, selector in (
        ("own_lo", own_lo, False, own_roots, own_selector),
        ("own_hi", own_hi, True, own_roots, own_selector),
        ("vote_lo", vote_lo, False, vote_roots, vote_selector),
        ("vote_hi", vote_hi, True, vote_roots, vote_selector),
    ):
        total, steps, done = _series((selector @ matrix).tocsr(), matrix, tolerance, max_iterations, cap)
        results[name] = Layer(roots, total.tocsc())
        iterations = max(iterations, steps)
        converged = converged and (done or cap)

    # Two-layer graph for "a walk used an edge of unknown share": node k in layer 0 is k, in layer 1 is n + k.
    known = has_own & ~edges.own_unknown
    unknown = has_own & edges.own_unknown
    rows = np.concatenate([edges.owner[known], edges.owner[known] + n, edges.owner[unknown], edges.owner[unknown] + n])
    cols = np.concatenate(
        [edges.subject[known], edges.subject[known] + n, edges.subject[unknown] + n, edges.subject[unknown] + n]
    )
    layered = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(2 * n, 2 * n), dtype=np.float64)
    start = sparse.hstack([own_selector, sparse.csr_matrix((own_roots.size, n))]).tocsr() @ layered
    reach_unknown = _closure(start.tocsr(), layered, max_iterations)[:, n:]

    control_edges = _matrix(
        n, edges.owner[edges.control], edges.subject[edges.control], np.ones(int(edges.control.sum()))
    )
    control = _closure((control_selector @ control_edges).tocsr(), control_edges, max_iterations)
    managing = edges.control | (edges.manage if edges.manage is not None else False)
    manage_edges = _matrix(n, edges.owner[managing], edges.subject[managing], np.ones(int(managing.sum())))
    manage = _closure((control_selector @ manage_edges).tocsr(), manage_edges, max_iterations)

    return EffectiveOwnership(
        own_lo=results["own_lo"],
        own_hi=results["own_hi"],
        unknown=Layer(own_roots, reach_unknown.astype(np.float64).tocsc()),
        vote_lo=results["vote_lo"],
        vote_hi=results["vote_hi"],
        control=Layer(control_roots, control.astype(np.float64).tocsc()),
        manage=Layer(control_roots, manage.astype(np.float64).tocsc()),
        iterations=iterations,
        converged=converged,
        overallocated=sorted(set(overallocated) | set(over_vote)),
    )
