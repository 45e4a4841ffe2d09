"""The declarations pages in the main navigation (read by ``probity.core.context_processors``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.context_processors import NavItem

NAV_ITEMS = (NavItem("declarations:index", _("Declarations"), "declarations.view_declaration"),)
