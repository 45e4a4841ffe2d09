from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "probity.procurement"
    label = "procurement"
    verbose_name = _("Procurement")

    def ready(self) -> None:
        from probity.procurement import detectors  # noqa: F401  (registers the risk indicators)
