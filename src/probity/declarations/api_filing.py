"""Declarations API: filing endpoints for declarants and integrations."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["declarations"])
