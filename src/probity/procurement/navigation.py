"""The procurement pages in the main navigation (declared on the module's ``AppConfig``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import NavItem

NAV_ITEMS = (NavItem("procurement:index", _("Procurement"), "core.view_finding"),)
