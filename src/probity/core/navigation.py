"""Core's pages in the main navigation (declared on ``CoreConfig.navigation``).

The dashboard and the shared registers come first; each module's pages follow (weight 500, in the
order of ``INSTALLED_APPS``); jobs, the audit log and one's API tokens close the list.
"""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import NavItem

FIRST, LAST = 100, 900

NAV_ITEMS = (
    NavItem("core:dashboard", _("Dashboard"), None, FIRST),
    NavItem("core:findings", _("Findings"), "core.view_finding", FIRST),
    NavItem("core:detectors", _("Detectors"), "core.view_detectorrun", FIRST),
    NavItem("core:bodies", _("Public bodies"), "core.view_publicbody", FIRST),
    NavItem("core:people", _("People"), None, FIRST),
    NavItem("core:organisations", _("Organisations"), "core.view_organisation", FIRST),
    NavItem("core:links", _("Links across sources"), "core.view_recordlink", FIRST),
    NavItem("warehouse:status", _("Warehouse"), "core.run_detector", FIRST),
    NavItem("core:jobs", _("Jobs"), None, LAST),  # everyone follows their own jobs
    NavItem("core:audit", _("Audit log"), "core.view_auditentry", LAST),
    NavItem("core:tokens", _("API tokens"), None, LAST),
)
