"""The procurement sections of the pages of people and organisations (``ProcurementConfig.profile_sections``):
contracts an organisation won, contracts awarded by the bodies where a person holds office, and debarments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from probity.core.models import Identifier, Organisation, Person, Position
from probity.core.profiles import (
    ORGANISATION,
    PERSON,
    Cell,
    Neighbour,
    ProfileSection,
    SectionContent,
    TimelineEvent,
    cell,
)
from probity.core.rules import visible_to
from probity.procurement import selectors
from probity.procurement.models import Debarment

# Contracting parties are found in the warehouse by the organisation's registry numbers and its name.
PARTY_LIMIT = 10
READ = "core.view_finding"  # what the procurement pages ask (procurement/views.py)


def _supplier_rows(organisation: Organisation) -> list[selectors.PartyRow]:
    found: dict[str, selectors.PartyRow] = {}
    numbers = Identifier.objects.filter(organisation=organisation).exclude(value="").values_list("value", flat=True)
    for query in [*numbers, organisation.name]:
        rows, _total = selectors.party_list(kind="supplier", query=query, limit=PARTY_LIMIT)
        for row in rows:
            if row.key in set(numbers) or row.name.casefold() == organisation.name.casefold():
                found.setdefault(row.key, row)
    return list(found.values())


def contracts(subject: Person | Organisation, user: Any) -> SectionContent | None:
    rows: list[Sequence[Cell]] = []
    if isinstance(subject, Organisation):
        for row in _supplier_rows(subject):
            rows.append(
                (
                    cell(_("Won as supplier")),
                    cell(row.name, reverse("procurement:supplier", args=[row.key])),
                    cell(row.processes),
                    cell(f"{row.score:.2f}" if row.score is not None else ""),
                )
            )
    else:
        bodies = {
            position.body.name
            for position in visible_to(user, Position.objects.filter(holder=subject)).select_related("body")
        }
        for body in sorted(bodies)[:PARTY_LIMIT]:
            buyer_rows, _total = selectors.party_list(kind="buyer", query=body, limit=PARTY_LIMIT)
            for row in buyer_rows:
                if row.name.casefold() == body.casefold():
                    rows.append(
                        (
                            cell(_("Awarded by a body where this person holds office")),
                            cell(row.name, reverse("procurement:buyer", args=[row.key])),
                            cell(row.processes),
                            cell(f"{row.score:.2f}" if row.score is not None else ""),
                        )
                    )
    return SectionContent(
        (_("Role"), _("Contracting party"), _("Contracting processes"), _("Risk score")),
        rows,
        note="" if rows else _("No contracts found in the procurement data."),
    )


def debarments(organisation: Organisation, user: Any) -> SectionContent | None:
    found = Debarment.objects.filter(Q(organisation=organisation)).order_by("-start_date")
    rows: list[Sequence[Cell]] = []
    events, neighbours = [], []
    for debarment in found:
        rows.append(
            (
                cell(debarment.authority),
                cell(debarment.start_date),
                cell(debarment.end_date or _("indefinite")),
                cell(debarment.grounds[:200]),
            )
        )
        if debarment.start_date:
            events.append(
                TimelineEvent(
                    debarment.start_date, _("Debarred by %(authority)s") % {"authority": debarment.authority or "—"}
                )
            )
        if debarment.authority:
            neighbours.append(
                Neighbour(f"authority:{debarment.authority}", "other", debarment.authority, _("debarred by"), "listing")
            )
    return SectionContent(
        (_("Debarring authority"), _("From"), _("Until"), _("Grounds")),
        rows,
        note="" if rows else _("Not debarred."),
        events=events,
        neighbours=neighbours,
    )


SECTIONS = (
    ProfileSection(
        "contracts", gettext_lazy("Contracts won or awarded"), contracts, frozenset({PERSON, ORGANISATION}), READ, 60
    ),
    ProfileSection(
        "debarments",
        gettext_lazy("Debarments"),
        debarments,
        frozenset({ORGANISATION}),
        "procurement.view_debarment",
        65,
    ),
)
