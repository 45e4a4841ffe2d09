"""The entities pages in the main navigation (declared on the module's ``AppConfig``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import NavItem

NAV_ITEMS = (
    NavItem("entities:index", _("Entities"), "entities.view_entity"),
    NavItem("entities:screening", _("Screening"), "entities.view_entity"),
)
