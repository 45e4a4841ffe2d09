"""App configuration: wires the audit log's model hooks and sign-in events once, at start."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "probity.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from probity.core import audit, roles, rules
        from probity.core.detectors import load_builtin_detectors

        audit.connect_hooks()
        rules.register_core_rules()
        load_builtin_detectors()
        post_migrate.connect(roles.roles_sync_after_migrate, sender=self)
