ROLE_PERMISSIONS = {"analyst": {"core.view_auditentry"}}
