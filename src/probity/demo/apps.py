"""The demo country as a module: it contributes only its commands (``probity demo``, ``probity bootstrap``);
no other module imports it."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig


class DemoConfig(ModuleConfig):
    name = "probity.demo"
    label = "demo"
    verbose_name = _("Demo country")
