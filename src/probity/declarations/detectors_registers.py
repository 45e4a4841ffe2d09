"""Declarations verification detectors: cross-checks with the ownership register and conflict-of-
interest awards (registered on import).
"""

from __future__ import annotations
