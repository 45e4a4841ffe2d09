"""Models of the entities app."""

from __future__ import annotations
