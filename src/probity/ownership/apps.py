from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OwnershipConfig(AppConfig):
    name = "probity.ownership"
    label = "ownership"
    verbose_name = _("Ownership")

    def ready(self) -> None:
        from probity.ownership import conflicts, detectors  # noqa: F401  (registers the detectors)
