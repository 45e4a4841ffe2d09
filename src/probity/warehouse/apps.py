"""The analytics warehouse, a base layer under the modules: its status page and API, declared through the
module contract (the one thing of core it uses). Its entry in the main navigation is core's."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import ModuleConfig


class WarehouseConfig(ModuleConfig):
    name = "probity.warehouse"
    label = "warehouse"
    verbose_name = _("Warehouse")

    url_prefix = "warehouse/"
    api_routers = (("/warehouse", "api.router"),)
