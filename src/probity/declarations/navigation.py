"""The declarations pages in the main navigation (declared on the module's ``AppConfig``)."""

from django.utils.translation import gettext_lazy as _

from probity.core.modules import NavItem

NAV_ITEMS = (
    NavItem("declarations:filing_home", _("My declarations"), None),
    NavItem("declarations:index", _("Declarations"), "declarations.view_declaration"),
    NavItem("declarations:verification_queue", _("Verification"), "declarations.view_verificationcase"),
    NavItem("declarations:deadlines", _("Filing deadlines"), "declarations.view_filingdeadline"),
    NavItem("declarations:publication_manage", _("Publication"), "declarations.view_publisheddeclaration"),
)
