"""Asset and interest declarations: versioned schema, filing, verification rules, risk scores."""
