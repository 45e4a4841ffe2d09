"""The entities pages in the main navigation (read by ``probity.core.context_processors``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.context_processors import NavItem

NAV_ITEMS = (NavItem("entities:index", _("Entities"), "entities.view_entity"),)
