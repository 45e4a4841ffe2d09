"""Declarations API: verification endpoints: queue, samples, cases."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["declarations"])
