"""Entities endpoints of the HTTP API (mounted at ``/api/v1/entities`` by ``probity.core.api``)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["entities"])

# Mounted at ``/api/v1/match`` (yente-compatible screening: ``POST /api/v1/match/{dataset}``).
match_router = Router(tags=["screening"])
