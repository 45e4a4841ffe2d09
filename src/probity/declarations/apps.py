"""Declarations as a module: its pages, API, navigation, role permissions, detectors and finding subject."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig, SubjectType


class DeclarationsConfig(ModuleConfig):
    name = "probity.declarations"
    label = "declarations"
    verbose_name = _("Declarations")

    url_prefix = "declarations/"
    api_routers = (("/declarations", "api.router"),)
    navigation = "navigation.NAV_ITEMS"
    role_permissions = "roles.ROLE_PERMISSIONS"
    detectors = ("detectors",)
    jobs = ("jobs",)
    profile_sections = "profile.SECTIONS"
    linkers = "linking.LINKERS"
    schedules = "jobs.SCHEDULES"
    subject_types = (SubjectType("declaration", _("Declaration")),)

    def ready(self) -> None:
        super().ready()
        # Imported here, not at the top: rules imports core's roles, which import the auth models, and
        # models cannot be imported before the app registry is ready.
        from probity.declarations.rules import register_declaration_rules

        register_declaration_rules()
