"""Models of the procurement app."""

from __future__ import annotations
