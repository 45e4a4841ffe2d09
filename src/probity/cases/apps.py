"""Cases as a module: one workflow from any signal to an outcome, with its pages, API, navigation, roles and
job kinds. Other modules never import it; they reach it through core's hooks (``case_open``)."""

from typing import Any

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

    def ready(self) -> None:
        super().ready()
        from django.db.models.signals import post_migrate

        # The shipped case types are created where missing after every migrate, as core's roles are: also
        # after a flush (which tests that use a live server do), not only by the data migration.
        post_migrate.connect(_catalogue_after_migrate, sender=self)


def _catalogue_after_migrate(sender: Any, using: str = "default", **_: Any) -> None:
    from probity.cases.catalogue import catalogue_install
    from probity.cases.models import CaseType
    from probity.core.audit import audit_actor

    if not CaseType.objects.using(using).exists():
        with audit_actor("system:migrate"):
            catalogue_install()
