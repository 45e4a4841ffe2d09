"""Declarations verification detectors: lifestyle and structure signals (registered on import).

"""

from __future__ import annotations
