"""Declarations API: the public register (no sign-in)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["declarations"])
