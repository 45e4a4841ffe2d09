from probity.core.modules import ModuleConfig, SubjectType


class PluginModuleConfig(ModuleConfig):
    name = "tests.core.plugin_module"
    label = "plugin_module"
    verbose_name = "Plug-in test module"

    url_prefix = "plugin/"
    api_routers = (("/plugin", "api.router"),)
    navigation = "navigation.NAV_ITEMS"
    role_permissions = "roles.ROLE_PERMISSIONS"
    detectors = ("detectors",)
    subject_types = (SubjectType("plugin_thing", "Plug-in thing"),)
    dashboard_tiles = "dashboard.TILES"
    public_datasets = "datasets.DATASETS"
    hooks = {"password_changed": "hooks.password_changed"}
