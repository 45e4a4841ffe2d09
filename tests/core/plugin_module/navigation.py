from probity.core.modules import NavItem

NAV_ITEMS = (NavItem("plugin_module:index", "Plug-in page", "core.view_auditentry"),)
