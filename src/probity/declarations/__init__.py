"""Asset and interest declarations: versioned schema, e-filing, verification rules, risk-based selection, publication."""
