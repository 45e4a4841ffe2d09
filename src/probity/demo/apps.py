"""The demo country as a module: it contributes its commands (``probity demo``, ``probity bootstrap``) and
job kinds (``demo.generate``, ``demo.ingest``); no other module imports it."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig


class DemoConfig(ModuleConfig):
    name = "probity.demo"
    label = "demo"
    verbose_name = _("Demo country")

    jobs = ("jobs",)
