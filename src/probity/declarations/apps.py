from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeclarationsConfig(AppConfig):
    name = "probity.declarations"
    label = "declarations"
    verbose_name = _("Declarations")

    def ready(self) -> None:
        from probity.declarations import (  # noqa: F401  (registers DECL-* detectors)
            detectors,
            detectors_registers,
            detectors_signals,
        )
        from probity.declarations.rules import register_declaration_rules

        register_declaration_rules()
