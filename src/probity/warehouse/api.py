"""Warehouse endpoints of the HTTP API (mounted at ``/api/v1/warehouse`` by ``probity.api``)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from probity.warehouse.services import warehouse_status

router = Router(tags=["warehouse"])


class WarehouseTableOut(Schema):
    name: str
    engine: str
    row_count: int | None = None
    refreshed_at: datetime | None = None
    description: str = ""
    source: str = ""
    catalogued: bool
    present: bool | None = None


class WarehouseStatusOut(Schema):
    engine: str
    location: str
    ibis_version: str
    engine_version: str
    connected: bool
    error: str = ""
    tables: list[WarehouseTableOut]


@router.get("/status", response=WarehouseStatusOut, summary="Warehouse engine, versions and tables")
def status(request: HttpRequest) -> WarehouseStatusOut:
    """Which engine holds the analytical tables, its versions, whether it answers, and the catalogue.

    Needs the permission to run detectors (analysts and administrators).
    """
    user = getattr(request, "auth", None)
    if user is None or not user.has_perm("core.run_detector"):
        raise HttpError(403, "Only analysts and administrators may see the warehouse status.")
    return WarehouseStatusOut.model_validate(warehouse_status(), from_attributes=True)
