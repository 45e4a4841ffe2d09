"""The reporting channel's entry in the staff navigation."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import NavItem

NAV_ITEMS = (NavItem("reporting:inbox", _("Reports"), "reporting.handle_report"),)
