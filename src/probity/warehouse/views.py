"""Web page of the warehouse app: what engine holds the analytical tables, and whether it answers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from probity.warehouse.services import warehouse_status


@login_required
@permission_required("core.run_detector", raise_exception=True)
def status(request: HttpRequest) -> HttpResponse:
    """Engine, location, versions, catalogue and a live connection check (analysts, administrators)."""
    return render(request, "warehouse/status.html", {"report": warehouse_status()})
