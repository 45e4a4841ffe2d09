"""Bundled schemas and codelists (OCDS 1.1.5 and the bid extension, BODS 0.4) and their validators; never fetched."""
