"""The ownership pages in the main navigation (declared on the module's ``AppConfig``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import NavItem

NAV_ITEMS = (NavItem("ownership:index", _("Ownership"), "ownership.view_party"),)
