"""The reporting channel as a module: its pages, API, navigation, roles, finding subject, and its answer to
core's ``password_changed`` hook (a handler's key is re-wrapped under the new password)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig, SubjectType


class ReportingConfig(ModuleConfig):
    name = "probity.reporting"
    label = "reporting"
    verbose_name = _("Reporting")

    url_prefix = "reporting/"
    api_routers = (("/reporting", "api.router"),)
    navigation = "navigation.NAV_ITEMS"
    role_permissions = "roles.ROLE_PERMISSIONS"
    subject_types = (SubjectType("report", _("Report")),)
    jobs = ("jobs",)
    schedules = "jobs.SCHEDULES"
    hooks = {"password_changed": "services.staff_password_change"}
    case_panels = "case_panel.PANELS"

    def ready(self) -> None:
        super().ready()
        import logging

        from probity.reporting.middleware import CsrfLogFilter

        csrf_logger = logging.getLogger("django.security.csrf")
        if not any(isinstance(f, CsrfLogFilter) for f in csrf_logger.filters):
            csrf_logger.addFilter(CsrfLogFilter())
