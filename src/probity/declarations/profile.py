"""The declarations section of a person's page (``DeclarationsConfig.profile_sections``): what they
declared, year by year, and what the checks found in those declarations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from probity.core.models import Finding, Person
from probity.core.profiles import PERSON, Cell, ProfileSection, SectionContent, TimelineEvent, cell
from probity.declarations import selectors


def declarations_by_year(person: Person, user: Any) -> SectionContent | None:
    declarations = list(
        selectors.declarations_visible(user=user).filter(declarant=person).order_by("-year", "declaration_type")
    )
    ids = [d.pk for d in declarations]
    flags: dict[str, int] = {}
    if ids:
        for subject_id in (
            selectors.latest_findings(declaration_ids=ids)
            .filter(outcome=Finding.Outcome.FLAG)
            .values_list("subject_id", flat=True)
        ):
            flags[str(subject_id)] = flags.get(str(subject_id), 0) + 1
    rows: list[Sequence[Cell]] = []
    events = []
    for declaration in declarations:
        rows.append(
            (
                cell(declaration.year, reverse("declarations:detail", args=[declaration.pk])),
                cell(declaration.get_declaration_type_display()),
                cell(declaration.position_title or declaration.body_name),
                cell(declaration.get_status_display()),
                cell(flags.get(str(declaration.pk), 0)),
            )
        )
        events.append(
            TimelineEvent(
                declaration.period_end or date(declaration.year, 12, 31),
                _("Declaration for %(year)s (%(type)s)")
                % {"year": declaration.year, "type": declaration.get_declaration_type_display()},
            )
        )
    return SectionContent(
        (_("Year"), _("Type"), _("Position"), _("Status"), _("Flags by the checks")),
        rows,
        note="" if rows else _("No declarations by this person that you may see."),
        events=events,
    )


SECTIONS = (
    ProfileSection(
        "declarations",
        gettext_lazy("Declarations by year"),
        declarations_by_year,
        frozenset({PERSON}),
        "declarations.view_declaration",
        40,
    ),
)
