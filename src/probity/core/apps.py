"""Core as a module: its pages, API, navigation, detectors and finding subjects, and the audit hooks."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig, SubjectType


class CoreConfig(ModuleConfig):
    name = "probity.core"
    label = "core"
    verbose_name = _("Core")

    url_prefix = ""
    api_routers = (
        ("", "api.account"),
        ("", "people_api.bodies"),  # core's read router with the writes of people_api
        ("", "people_api.people"),  # core's read router with the writes of people_api
        ("", "people_api.organisations"),  # core's read router with the writes of people_api
        ("", "api.detectors"),
        ("", "api.findings_router"),
        ("", "api.audit"),
        ("", "api.tokens"),
        ("", "job_api.router"),
        ("", "link_api.router"),
    )
    navigation = "navigation.NAV_ITEMS"
    detectors = ("detectors.shared_identifier",)
    jobs = ("job_kinds",)
    schedules = "job_kinds.SCHEDULES"
    subject_types = (
        SubjectType("organisation", _("Organisation")),
        SubjectType("person", _("Person")),
        SubjectType("public_body", _("Public body")),
    )
    dashboard_tiles = "selectors.DASHBOARD_TILES"

    def ready(self) -> None:
        super().ready()
        # Imported here, not at the top: models cannot be imported before the app registry is ready.
        from django.db.models.signals import post_migrate

        from probity.core import audit, roles, rules

        audit.connect_hooks()
        rules.register_core_rules()
        post_migrate.connect(roles.roles_sync_after_migrate, sender=self)
        post_migrate.connect(_schedules_sync_after_migrate, sender=self)


def _schedules_sync_after_migrate(**kwargs: object) -> None:
    from probity.core.scheduler import schedules_sync

    schedules_sync()
