"""The ownership sections of the pages of people and organisations (``OwnershipConfig.profile_sections``):
the companies a person or organisation owns or controls, directly or through chains (effective ownership),
and an organisation's beneficial owners."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from probity.core.models import FamilyRelation, Organisation, Person
from probity.core.profiles import (
    ORGANISATION,
    PERSON,
    Cell,
    Neighbour,
    ProfileSection,
    SectionContent,
    cell,
    organisation_url,
    person_url,
)
from probity.core.rules import visible_to
from probity.ownership import selectors
from probity.ownership.models import Party

# A person or company rarely appears in more than a few registers; more parties are shown by the register.
PARTIES_LIMIT = 10


def _parties(subject: Person | Organisation) -> list[Party]:
    field = "person" if isinstance(subject, Person) else "organisation"
    return list(Party.objects.filter(**{field: subject}).order_by("dataset", "record_id")[:PARTIES_LIMIT])


def _party_url(party: Party) -> str:
    if party.organisation_id:
        return organisation_url(party.organisation_id)
    if party.person_id:
        return person_url(party.person_id)
    return reverse("ownership:party", args=[party.pk])


def _owners(subject: Person | Organisation, user: Any) -> list[tuple[Party, str]]:
    """The subject's own register entries, then those of the family members the reader may see (a
    conflict of interest runs through a spouse's company as much as through one's own)."""
    owners = [(party, "") for party in _parties(subject)]
    if isinstance(subject, Person):
        relations = FamilyRelation.objects.filter(Q(person=subject) | Q(relative=subject)).select_related(
            "person", "relative"
        )
        others = {r.relative_id if r.person_id == subject.pk else r.person_id: r for r in relations}
        visible = visible_to(user, Person.objects.filter(pk__in=others))
        for relative in visible.order_by("name"):
            relation = others[relative.pk]
            words = relation.get_kind_display()
            for party in _parties(relative):
                owners.append(
                    (party, str(_("through %(name)s (%(relation)s)") % {"name": relative.name, "relation": words}))
                )
    return owners


def companies_owned(subject: Person | Organisation, user: Any) -> SectionContent | None:
    rows: list[Sequence[Cell]] = []
    neighbours = []
    for party, via in _owners(subject, user):
        for holding in selectors.holdings(party=party):
            company: Party = holding["party"]
            rows.append(
                (
                    cell(company.name or company.record_id, _party_url(company)),
                    cell(holding["ownership"]),
                    cell(selectors.STATUS_LABELS.get(holding["status"], holding["status"])),
                    cell(via or _("directly")),
                    cell(party.dataset, reverse("ownership:party", args=[party.pk])),
                )
            )
            neighbours.append(
                Neighbour(
                    f"organisation:{company.organisation_id}" if company.organisation_id else f"party:{company.pk}",
                    ORGANISATION,
                    company.name or company.record_id,
                    str(_("owns %(share)s") % {"share": holding["ownership"] or _("a share")})
                    + (f" ({via})" if via else ""),
                    "ownership" if not via else "other",
                    _party_url(company),
                )
            )
    return SectionContent(
        (_("Company"), _("Effective ownership"), _("Status"), _("Held"), _("Register")),
        rows,
        note="" if rows else _("No company owned or controlled in the ownership registers."),
        neighbours=neighbours,
    )


def beneficial_owners(organisation: Organisation, user: Any) -> SectionContent | None:
    rows: list[Sequence[Cell]] = []
    neighbours = []
    for party in _parties(organisation):
        for owner in selectors.ownership_view(party=party).owners:
            rows.append(
                (
                    cell(owner.party.name or owner.party.record_id, _party_url(owner.party)),
                    cell(owner.ownership_label),
                    cell(owner.status_label),
                    cell(party.dataset, reverse("ownership:party", args=[party.pk])),
                )
            )
            if owner.status in {"owner", "manager", "possible"}:
                key = (
                    f"person:{owner.party.person_id}"
                    if owner.party.person_id
                    else f"organisation:{owner.party.organisation_id}"
                    if owner.party.organisation_id
                    else f"party:{owner.party.pk}"
                )
                neighbours.append(
                    Neighbour(
                        key,
                        PERSON if owner.party.is_person else ORGANISATION,
                        owner.party.name or owner.party.record_id,
                        owner.status_label,
                        "other",
                        _party_url(owner.party),
                    )
                )
    return SectionContent(
        (_("Owner"), _("Effective ownership"), _("Status"), _("Register")),
        rows,
        note="" if rows else _("No owner of this organisation in the ownership registers."),
        neighbours=neighbours,
    )


SECTIONS = (
    ProfileSection(
        "companies_owned",
        gettext_lazy("Companies owned or controlled"),
        companies_owned,
        frozenset({PERSON, ORGANISATION}),
        "ownership.view_party",
        50,
    ),
    ProfileSection(
        "beneficial_owners",
        gettext_lazy("Beneficial owners"),
        beneficial_owners,
        frozenset({ORGANISATION}),
        "ownership.view_party",
        45,
    ),
)
