"""Verifiable random allocation: the pure part (no database), so anyone can re-run a recorded draw.

Algorithm ``es-sha256-v1`` (Efraimidis–Spirakis weighted sampling with a hash in place of a random stream):
for each eligible officer, ``u = SHA-256(seed ":" officer) / 2**256`` and ``key = -ln(u) / weight``; the
smallest key wins. The result depends only on the seed and the eligible officers with their weights — not on
their order — so a recorded draw gives the same officer whenever it is run again. An officer's weight is
their share of draws (``1`` full time) divided by ``1 + load``, where ``load`` is the complexity of the open
cases they hold, so busy officers are drawn less often.

The inputs are canonical JSON (sorted keys, no spaces) and include the seed; their SHA-256 is stored with the
draw. Changing any recorded input breaks the hash; changing the recorded seed no longer matches the seed the
inputs were hashed with; changing the officer recorded as chosen fails the re-run. Officers who cannot be drawn
(excluded, recused, absent, or with no share of draws) are recorded with their reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM = "es-sha256-v1"


class DrawRefused(ValueError):
    """The draw cannot be made; the message says why in a sentence (an empty pool, a pool of one)."""


@dataclass(frozen=True)
class Candidate:
    officer: int
    name: str
    share: float = 1.0
    load: float = 0.0

    @property
    def weight(self) -> float:
        return max(self.share, 0.0) / (1.0 + max(self.load, 0.0))


@dataclass(frozen=True)
class Exclusion:
    officer: int
    name: str
    reason: str


@dataclass(frozen=True)
class DrawResult:
    chosen: int
    inputs: dict[str, Any]
    inputs_hash: str
    seed: str
    algorithm: str = ALGORITHM


def canonical(inputs: Mapping[str, Any]) -> bytes:
    return json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def inputs_hash(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(inputs)).hexdigest()


def _key(seed: str, officer: int, weight: float) -> float:
    digest = hashlib.sha256(f"{seed}:{officer}".encode()).digest()
    u = (int.from_bytes(digest, "big") + 1) / (2**256 + 1)  # in (0, 1)
    return -math.log(u) / weight


def pick(seed: str, eligible: Sequence[Mapping[str, Any]]) -> int:
    """The officer ``es-sha256-v1`` draws among ``eligible`` (``{"officer", "weight"}`` each)."""
    best: tuple[float, int] | None = None
    for row in eligible:
        weight = float(row["weight"])
        if weight <= 0:
            continue
        key = (_key(seed, int(row["officer"]), weight), int(row["officer"]))
        if best is None or key < best:
            best = key
    if best is None:
        raise DrawRefused("no officer in the pool can be drawn")
    return best[1]


def draw(
    *,
    case: str,
    pool: str,
    candidates: Sequence[Candidate],
    exclusions: Sequence[Exclusion] = (),
    seed: str | None = None,
    allow_single: bool = False,
) -> DrawResult:
    """Draws one officer for ``case`` among ``candidates`` less ``exclusions``. Refuses an empty pool, and a
    pool of one unless ``allow_single`` (a draw of one is no draw: it must be said, not silently used)."""
    excluded_rows = list(exclusions)
    excluded = {e.officer for e in excluded_rows}
    eligible: list[dict[str, Any]] = []
    for candidate in sorted(candidates, key=lambda c: c.officer):
        if candidate.officer in excluded:
            continue
        weight = round(candidate.weight, 9)
        if not (math.isfinite(weight) and math.isfinite(candidate.share) and weight > 0):
            excluded_rows.append(Exclusion(candidate.officer, candidate.name, "no share of draws"))
            excluded.add(candidate.officer)
            continue
        eligible.append(
            {
                "officer": candidate.officer,
                "name": candidate.name,
                "share": candidate.share,
                "load": candidate.load,
                "weight": weight,
            }
        )
    if not eligible:
        in_pool = len({c.officer for c in candidates} | excluded)
        raise DrawRefused(
            f"The pool {pool} has no officer who can be drawn for {case}: "
            f"{in_pool} in the pool, {len(excluded)} excluded, recused or absent."
        )
    if len(eligible) == 1 and not allow_single:
        raise DrawRefused(
            f"The pool {pool} has only one officer who can be drawn for {case} ({eligible[0]['name']}); "
            "assign the case by hand with a reason, or add officers to the pool."
        )
    seed = seed or secrets.token_hex(32)
    inputs = {
        "algorithm": ALGORITHM,
        "case": case,
        "pool": pool,
        "seed": seed,
        "eligible": eligible,
        "excluded": [
            {"officer": e.officer, "name": e.name, "reason": e.reason}
            for e in sorted(excluded_rows, key=lambda e: e.officer)
        ],
    }
    return DrawResult(chosen=pick(seed, eligible), inputs=inputs, inputs_hash=inputs_hash(inputs), seed=seed)


@dataclass(frozen=True)
class Verification:
    ok: bool
    sentence: str
    recomputed: int | None = None


def verify(*, inputs: Mapping[str, Any], seed: str, recorded_hash: str, chosen: int | None) -> Verification:
    """Re-runs a recorded draw: the inputs must hash to what was recorded, the seed must be the one they were
    hashed with, and the draw must give the officer recorded as chosen."""
    if inputs_hash(inputs) != recorded_hash:
        return Verification(False, "The recorded inputs no longer match their hash: they were changed.")
    if inputs.get("seed") != seed:
        return Verification(False, "The recorded seed is not the one the draw was made with: it was changed.")
    if inputs.get("algorithm") != ALGORITHM:
        return Verification(
            False, f"The draw used the algorithm {inputs.get('algorithm')!s}, which this version cannot run."
        )
    try:
        again = pick(seed, list(inputs.get("eligible") or ()))
    except (DrawRefused, KeyError, TypeError, ValueError):
        return Verification(False, "The recorded inputs cannot be drawn from.")
    if chosen is None or again != chosen:
        return Verification(False, "Running the draw again picks a different officer from the one recorded.", again)
    return Verification(True, "Running the draw again picks the same officer.", again)
