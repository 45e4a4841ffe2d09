"""Procurement integrity: OCDS ingest, procurement tables, red-flag indicators, debarment register, risk scores."""
