"""The list-membership section of the pages of people and organisations (``EntitiesConfig.profile_sections``):
the FollowTheMoney lists (politically exposed persons, sanctions, debarments, leaks) that name them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from followthemoney.types import registry

from probity.core.models import Organisation, Person
from probity.core.profiles import ORGANISATION, PERSON, Cell, Neighbour, ProfileSection, SectionContent, cell
from probity.entities.models import Entity

ENTITIES_LIMIT = 100


def _topics(topics: list[str]) -> str:
    return ", ".join(str(registry.topic.caption(topic) or topic) for topic in topics)


def list_memberships(subject: Person | Organisation, user: Any) -> SectionContent | None:
    field = "person" if isinstance(subject, Person) else "organisation"
    entities = Entity.objects.filter(Q(**{field: subject})).order_by("dataset", "caption")[:ENTITIES_LIMIT]
    rows: list[Sequence[Cell]] = []
    neighbours = []
    for entity in entities:
        rows.append(
            (
                cell(entity.dataset),
                cell(entity.caption, reverse("entities:entity", args=[entity.pk])),
                cell(entity.schema),
                cell(_topics(entity.topics)),
            )
        )
        if entity.topics:
            neighbours.append(
                Neighbour(f"dataset:{entity.dataset}", "other", entity.dataset, _topics(entity.topics), "listing")
            )
    return SectionContent(
        (_("List"), _("Entry"), _("Kind"), _("Topics")),
        rows,
        note="" if rows else _("Not on any list held in Probity (politically exposed persons, sanctions, other)."),
        neighbours=neighbours,
    )


SECTIONS = (
    ProfileSection(
        "lists",
        gettext_lazy("List memberships (PEP, sanctions)"),
        list_memberships,
        frozenset({PERSON, ORGANISATION}),
        "entities.view_entity",
        70,
    ),
)
