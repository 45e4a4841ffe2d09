"""Cases as a module: one workflow from any signal to an outcome, with its pages, API, navigation, roles and
job kinds. Other modules never import it; they reach it through core's hooks (``case_open``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig


class CasesConfig(ModuleConfig):
    name = "probity.cases"
    label = "cases"
    verbose_name = _("Cases")

    url_prefix = "cases/"
    api_routers = (("/cases", "api.router"),)
    navigation = "navigation.NAV_ITEMS"
    role_permissions = "roles.ROLE_PERMISSIONS"
    dashboard_tiles = "navigation.DASHBOARD_TILES"
    jobs = ("jobs",)
    schedules = "jobs.SCHEDULES"
    hooks = {"case_open": "services.case_open_hook", "finding_cases": "hooks.finding_cases"}
