"""A minimal Probity module used by tests: it plugs in through its AppConfig alone, with no edit to core."""
