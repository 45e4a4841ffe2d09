"""The verifiable random sample's algorithm: anyone with the seed and the population draws it again.

The draw ranks each declaration id by ``HMAC-SHA256(key=seed, message=id)`` and takes the smallest
(``ALGORITHM_DESCRIPTION``); the population is identified by its size and SHA-256
(``population_hash``). Which ids form the population is ``selectors.population``.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import secrets
from collections.abc import Callable, Sequence

from django.utils.translation import gettext_noop

ALGORITHM = "hmac-sha256-rank/1"
ALGORITHM_DESCRIPTION = gettext_noop(
    """\
1. Population: the ids of the declarations that match the recorded criteria (year, type, body) and
   had at least one version submitted on or before the recorded moment `submitted_before`, sorted
   as numbers.
2. Population hash: SHA-256 of the ids written in decimal, joined by a line feed ("\\n", no line
   feed after the last), encoded as ASCII; written as 64 lower-case hex digits.
3. Rank: for each id, HMAC-SHA256 with the key = the seed as ASCII text (its hex digits, lower
   case) and the message = the id in decimal as ASCII; written as lower-case hex.
4. Sample: the N ids with the smallest rank (compared as hex strings; ties, which are practically
   impossible, by the smaller id), in rank order.
"""
)
SEED_PATTERN = re.compile(r"^[0-9a-f]{32,128}$")


def population_hash(ids: Sequence[int]) -> str:
    """SHA-256 of the sorted ids in decimal joined by line feeds (ASCII)."""
    return hashlib.sha256("\n".join(str(i) for i in sorted(ids)).encode("ascii")).hexdigest()


def rank(seed: str, declaration_id: int) -> str:
    """HMAC-SHA256(key = seed as ASCII, message = id in decimal as ASCII), lower-case hex."""
    return hmac.new(seed.encode("ascii"), str(declaration_id).encode("ascii"), hashlib.sha256).hexdigest()


PROGRESS_STEP = 10_000


def draw(seed: str, population: Sequence[int], size: int, progress: Callable[[int], object] | None = None) -> list[int]:
    """The ``size`` ids of ``population`` with the smallest rank, in rank order (same as ``rank``,
    with the keyed HMAC state computed once and copied per id). ``progress(n)``: n more ids ranked."""
    keyed = hmac.new(seed.encode("ascii"), digestmod=hashlib.sha256)
    done = 0

    def key(declaration_id: int) -> tuple[str, int]:
        nonlocal done
        mac = keyed.copy()
        mac.update(str(declaration_id).encode("ascii"))
        done += 1
        if progress is not None and done % PROGRESS_STEP == 0:
            progress(PROGRESS_STEP)
        return mac.hexdigest(), declaration_id

    selected = heapq.nsmallest(size, population, key=key)
    if progress is not None and done % PROGRESS_STEP:
        progress(done % PROGRESS_STEP)
    return selected


def clean_seed(seed: str | None) -> str:
    if seed is None or seed == "":
        return secrets.token_hex(32)
    text = seed.strip().lower()
    if not SEED_PATTERN.match(text):
        raise ValueError("the seed must be 32 to 128 hexadecimal digits (0-9, a-f); leave it empty to draw one")
    return text
