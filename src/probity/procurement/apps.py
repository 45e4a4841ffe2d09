"""Procurement as a module: its pages, API, navigation, role permissions, risk-indicator detectors, job kinds
(OCDS ingest, the indicators, debarment imports) and finding subject (the contracting process)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig, SubjectType


class ProcurementConfig(ModuleConfig):
    name = "probity.procurement"
    label = "procurement"
    verbose_name = _("Procurement")

    url_prefix = "procurement/"
    api_routers = (("/procurement", "api.router"),)
    navigation = "navigation.NAV_ITEMS"
    role_permissions = "roles.ROLE_PERMISSIONS"
    detectors = ("detectors",)
    jobs = ("jobs",)
    profile_sections = "profile.SECTIONS"
    hooks = {"debarment_decided": "services.debarment_from_case"}
    subject_types = (SubjectType("process", _("Contracting process")),)
