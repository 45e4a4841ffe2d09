"""Reads of e-filing: the declarant a user is, their position and declarations, and what a draft changes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from probity.core.models import Person
from probity.declarations.models import Declaration, DeclarationDraft, DeclarationVersion
from probity.declarations.selectors import Change, version_diff


def person_for_user(*, user: User | AnonymousUser) -> Person | None:
    """The declarant ``user`` is (the ``core.Person`` linked to the account), or None."""
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()


def current_position(*, person: Person, year: int | None = None) -> Any:
    """The position the person held in ``year`` (latest start first), or their latest one."""
    positions = person.positions.select_related("body").order_by("-start_date", "-pk")
    if year is not None:
        for position in positions:
            started = position.start_date is None or position.start_date.year <= year
            ended = position.end_date is not None and position.end_date.year < year
            if started and not ended:
                return position
    return positions.first()


def declarations_of(*, person: Person) -> list[Declaration]:
    return list(
        Declaration.objects.filter(declarant=person)
        .select_related("draft")
        .prefetch_related("versions")
        .order_by("-year", "declaration_type")
    )


def draft_diff(*, draft: DeclarationDraft) -> list[Change]:
    """What the draft changes in the version it corrects (empty for a new declaration)."""
    base = draft.based_on_version
    if base is None or base.declaration_id != draft.declaration_id:
        return []
    return version_diff(old=base, new=DeclarationVersion(content=draft.content))
