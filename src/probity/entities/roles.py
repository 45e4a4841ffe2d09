"""What each role may do in the entities app (merged into the role table by ``probity.core.roles``)."""

from __future__ import annotations

VIEW = {"entities.view_entity", "entities.view_matchcandidate", "entities.view_matchdecision"}
DECIDE = {"entities.decide_matchcandidate", "entities.add_matchdecision"}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    "administrator": VIEW | DECIDE | {"entities.add_matchcandidate", "entities.add_entity", "entities.change_entity"},
    "analyst": VIEW | DECIDE | {"entities.add_matchcandidate"},
    "verifier": VIEW | DECIDE,
    "auditor": VIEW,
}
