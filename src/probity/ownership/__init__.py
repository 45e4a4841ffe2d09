"""Beneficial ownership: BODS ingest, ownership graph, effective ownership and ultimate beneficial owners."""
