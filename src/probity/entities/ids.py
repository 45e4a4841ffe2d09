"""The FollowTheMoney ids of Probity's own records (``probity-person-12``): the FtM export, the contracts
export and the core sync all name the same person or organisation the same way."""

from __future__ import annotations

PERSON_PREFIX = "probity-person-"
ORGANISATION_PREFIX = "probity-organisation-"


def person_ftm_id(pk: int) -> str:
    return f"{PERSON_PREFIX}{pk}"


def organisation_ftm_id(pk: int) -> str:
    return f"{ORGANISATION_PREFIX}{pk}"
