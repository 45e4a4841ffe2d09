from probity.core.modules import DashboardTile

TILES = (DashboardTile("plugin_things", "Plug-in things", lambda user: 42, "core.view_auditentry"),)
