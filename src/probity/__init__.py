"""Probity: software for the preventive measures of the UN Convention against Corruption."""

__version__ = "0.1.0"
