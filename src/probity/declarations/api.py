"""Declarations endpoints of the HTTP API (mounted at ``/api/v1/declarations`` by ``probity.core.api``)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["declarations"])
