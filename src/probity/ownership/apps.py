"""Beneficial ownership as a module: its pages, API, navigation, role permissions, detectors and job kind (BODS
ingest)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig


class OwnershipConfig(ModuleConfig):
    name = "probity.ownership"
    label = "ownership"
    verbose_name = _("Ownership")

    url_prefix = "ownership/"
    api_routers = (("/ownership", "api.router"),)
    navigation = "navigation.NAV_ITEMS"
    role_permissions = "roles.ROLE_PERMISSIONS"
    detectors = ("detectors",)
    jobs = ("jobs",)
    profile_sections = "profile.SECTIONS"
    linkers = "linking.LINKERS"
