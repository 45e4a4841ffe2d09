"""What each role may do in the ownership app (merged into the role table by ``probity.core.roles``)."""

from __future__ import annotations

VIEW = {
    "ownership.view_party",
    "ownership.view_relationship",
    "ownership.view_interest",
    "ownership.view_statement",
    "ownership.view_ingestbatch",
    "ownership.view_ingestissue",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    "administrator": VIEW | {"ownership.ingest_ownership"},
    "analyst": VIEW | {"ownership.ingest_ownership"},
    "verifier": VIEW,
    "auditor": VIEW,
}
