"""Template context shared by every page: the navigation the signed-in user's roles allow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from probity.core.roles import ROLE_LABELS, user_roles


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    permission: str | None  # None: any signed-in user


NAVIGATION = (
    NavItem("core:dashboard", _("Dashboard"), None),
    NavItem("core:findings", _("Findings"), "core.view_finding"),
    NavItem("core:detectors", _("Detectors"), "core.view_detectorrun"),
    NavItem("core:bodies", _("Public bodies"), "core.view_publicbody"),
    NavItem("core:people", _("People"), None),
    NavItem("core:organisations", _("Organisations"), "core.view_organisation"),
    NavItem("warehouse:status", _("Warehouse"), "core.run_detector"),
    NavItem("core:audit", _("Audit log"), "core.view_auditentry"),
    NavItem("core:tokens", _("API tokens"), None),
)

# Modules add their pages to the navigation in ``<app>/navigation.py`` as ``NAV_ITEMS`` (NavItem tuples),
# shown after the core items in this order.
APP_NAVIGATION_MODULES = (
    "probity.procurement.navigation",
    "probity.ownership.navigation",
    "probity.entities.navigation",
    "probity.reporting.navigation",
    "probity.declarations.navigation",
)


def all_navigation() -> tuple[NavItem, ...]:
    from importlib import import_module

    items = list(NAVIGATION[:-2])
    for dotted in APP_NAVIGATION_MODULES:
        try:
            module = import_module(dotted)
        except ModuleNotFoundError as exc:
            if exc.name != dotted:
                raise
            continue
        items.extend(getattr(module, "NAV_ITEMS", ()))
    return (*items, *NAVIGATION[-2:])


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role_labels": []}
    items = []
    for item in all_navigation():
        if item.permission is None or user.has_perm(item.permission):
            url = reverse(item.url_name)
            items.append({"url": url, "label": item.label, "current": request.path == url})
    labels = [ROLE_LABELS[role] for role in sorted(user_roles(user)) if role in ROLE_LABELS]
    return {"nav_items": items, "user_role_labels": labels, "show_admin_link": user.is_staff}
