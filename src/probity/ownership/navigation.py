"""The ownership pages in the main navigation (read by ``probity.core.context_processors``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.context_processors import NavItem

NAV_ITEMS = (NavItem("ownership:index", _("Ownership"), "ownership.view_party"),)
