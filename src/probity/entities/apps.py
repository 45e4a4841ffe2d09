"""Entities as a module: its pages, its API (entities and yente-compatible screening), navigation, roles and
job kinds (FtM import and export, sync with the core registers, entity resolution)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig


class EntitiesConfig(ModuleConfig):
    name = "probity.entities"
    label = "entities"
    verbose_name = _("Entities")

    url_prefix = "entities/"
    api_routers = (("/entities", "api.router"), ("/match", "api.match_router"), ("/reconcile", "api.reconcile_router"))
    dashboard_tiles = "watchlists.DASHBOARD_TILES"
    navigation = "navigation.NAV_ITEMS"
    role_permissions = "roles.ROLE_PERMISSIONS"
    jobs = ("jobs",)
    profile_sections = "profile.SECTIONS"
