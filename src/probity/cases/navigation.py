"""The cases module's entries in the staff navigation and its dashboard tile."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from probity.core.modules import DashboardTile, NavItem

NAV_ITEMS = (
    NavItem("cases:my_work", _("My work"), "cases.work_case"),
    NavItem("cases:list", _("Cases"), "cases.view_casetype"),
    NavItem("cases:recusals", _("Declared conflicts"), "cases.work_case"),
    NavItem("cases:allocation", _("Allocation register"), "cases.audit_allocation"),
    NavItem("cases:pools", _("Pools of officers"), "cases.view_pool"),
    NavItem("cases:types", _("Case types"), "cases.manage_casetype"),
    NavItem("cases:statistics", _("Case statistics"), "cases.view_case_statistics"),
)


def _my_open_cases(user: Any) -> int:
    from probity.cases.models import Case

    return Case.objects.filter(assignee=user, closed=False).count() if user.is_authenticated else 0


DASHBOARD_TILES = (DashboardTile("my_open_cases", _("My open cases"), _my_open_cases, "cases.work_case"),)
