"""One page per person and per organisation across every source, composed from sections.

Core writes the sections it knows (identity, positions, family, findings); each module contributes its own
through ``ModuleConfig.profile_sections`` (a sequence of ``ProfileSection``), read by
``probity.core.modules.profile_sections()``. A section is a function of the subject and the reader that
answers a labelled table (``SectionContent``) or None when it has nothing to say; it is shown only to
readers holding its permission. Sections also give the dated events of the timeline and the neighbours
drawn in the graph (server-rendered SVG) and exported as FollowTheMoney entities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from followthemoney import model as ftm_model

from probity.core.models import FamilyRelation, Finding, Identifier, Organisation, Person, PersonName, Position
from probity.core.modules import profile_sections
from probity.core.rules import visible_to

Subject = Person | Organisation
Reader = Any  # a signed-in user (or the command line's operator): has_perm and the object rules
PERSON, ORGANISATION = "person", "organisation"


@dataclass(frozen=True)
class Cell:
    """One cell of a section's table: text, and a page it links to."""

    text: str
    url: str = ""


@dataclass(frozen=True)
class TimelineEvent:
    """A dated event on the subject's timeline."""

    when: date
    text: str


@dataclass(frozen=True)
class Neighbour:
    """Someone or something the subject is tied to: drawn in the graph, exported as FtM.

    ``kind``: person, organisation, body or other; ``link``: family, ownership, occupancy, contract,
    listing or other (the FollowTheMoney link it becomes); ``relation``: the tie in words."""

    key: str
    kind: str
    name: str
    relation: str
    link: str = "other"
    url: str = ""


@dataclass
class SectionContent:
    """What one section shows: a labelled table, a note, and its events and neighbours."""

    columns: Sequence[str | Promise]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)
    note: str | Promise = ""
    events: list[TimelineEvent] = field(default_factory=list)
    neighbours: list[Neighbour] = field(default_factory=list)


SectionFunction = Callable[[Any, Any], SectionContent | None]


@dataclass(frozen=True)
class ProfileSection:
    """One section of the page of a person or organisation.

    ``content(subject, user)`` answers the section, or None to leave it out; ``subjects`` says on whose
    pages it appears; ``permission`` (None: whoever may see the subject) must be held to see it; lower
    ``weight`` comes first."""

    code: str
    title: str | Promise
    content: SectionFunction
    subjects: frozenset[str] = frozenset({PERSON, ORGANISATION})
    permission: str | None = None
    weight: int = 500


def cell(text: Any, url: str = "") -> Cell:
    """A cell showing ``text`` ("—" when empty)."""
    if isinstance(text, date):
        text = text.isoformat()
    return Cell("—" if text in (None, "") else str(text), url)


def person_url(pk: int) -> str:
    return reverse("core:person", args=[pk])


def organisation_url(pk: int) -> str:
    return reverse("core:organisation", args=[pk])


def subject_kind(subject: Subject) -> str:
    return PERSON if isinstance(subject, Person) else ORGANISATION


# --- core's own sections ------------------------------------------------------------------------------


def _identity(subject: Subject, user: Reader) -> SectionContent | None:
    rows: list[Sequence[Cell]] = []
    owner = {subject_kind(subject): subject}
    for name in visible_to(user, PersonName.objects.filter(**owner)).order_by("name"):
        rows.append((cell(_("Other name")), cell(f"{name.name} ({name.script})" if name.script else name.name)))
    for identifier in visible_to(user, Identifier.objects.filter(**owner)).order_by("scheme", "issuer"):
        label = identifier.get_scheme_display()
        if identifier.issuer:
            label = f"{label} ({identifier.issuer})"
        rows.append((cell(label), cell(identifier.display_value)))
    if isinstance(subject, Person):
        rows.insert(0, (cell(_("Date of birth")), cell(subject.birth_date)))
        rows.insert(1, (cell(_("Nationality")), cell(subject.nationality)))
    else:
        rows.insert(0, (cell(_("Kind")), cell(subject.get_kind_display())))
        rows.insert(1, (cell(_("Jurisdiction")), cell(subject.jurisdiction)))
        rows.insert(2, (cell(_("Address")), cell(subject.address)))
    events = []
    if isinstance(subject, Person) and subject.birth_date:
        events.append(TimelineEvent(subject.birth_date, _("Born")))
    if isinstance(subject, Organisation):
        if subject.founded:
            events.append(TimelineEvent(subject.founded, _("Founded")))
        if subject.dissolved:
            events.append(TimelineEvent(subject.dissolved, _("Dissolved")))
    return SectionContent((_("Fact"), _("Value")), rows, events=events)


def _positions(subject: Any, user: Reader) -> SectionContent | None:
    positions = visible_to(user, Position.objects.filter(holder=subject)).select_related("body")
    rows, events, neighbours = [], [], []
    for position in positions.order_by("-start_date", "title"):
        rows.append(
            (
                cell(position.title),
                cell(position.body.name),
                cell(position.start_date),
                cell(position.end_date or (_("current") if position.start_date else "")),
                cell(_("yes") if position.is_pep else _("no")),
            )
        )
        if position.start_date:
            events.append(
                TimelineEvent(position.start_date, _("Took office: %(title)s, %(body)s") % _position_words(position))
            )
        if position.end_date:
            events.append(
                TimelineEvent(position.end_date, _("Left office: %(title)s, %(body)s") % _position_words(position))
            )
        neighbours.append(
            Neighbour(f"body:{position.body_id}", "body", position.body.name, position.title, "occupancy")
        )
    return SectionContent(
        (_("Position"), _("Public body"), _("From"), _("Until"), _("Politically exposed")),
        rows,
        note="" if rows else _("No positions recorded."),
        events=events,
        neighbours=neighbours,
    )


def _position_words(position: Position) -> dict[str, str]:
    return {"title": position.title, "body": position.body.name}


def _family(subject: Any, user: Reader) -> SectionContent | None:
    relations = FamilyRelation.objects.filter(Q(person=subject) | Q(relative=subject)).select_related(
        "person", "relative"
    )
    others = {r.relative_id if r.person_id == subject.pk else r.person_id for r in relations}
    visible = set(visible_to(user, Person.objects.filter(pk__in=others)).values_list("pk", flat=True))
    rows, neighbours = [], []
    for relation in sorted(relations, key=lambda r: (r.kind, r.pk)):
        outgoing = relation.person_id == subject.pk
        other = relation.relative if outgoing else relation.person
        if other.pk not in visible:
            continue
        words = (
            relation.get_kind_display()
            if outgoing
            else _("%(relation)s of") % {"relation": relation.get_kind_display()}
        )
        rows.append((cell(other.name, person_url(other.pk)), cell(words)))
        neighbours.append(
            Neighbour(f"person:{other.pk}", PERSON, other.name, str(words), "family", person_url(other.pk))
        )
    return SectionContent(
        (_("Relative"), _("Relation")), rows, note="" if rows else _("No family ties recorded."), neighbours=neighbours
    )


def _findings(subject: Subject, user: Reader) -> SectionContent | None:
    findings = visible_to(
        user,
        Finding.objects.filter(
            subject_type=subject_kind(subject), subject_id=str(subject.pk), outcome=Finding.Outcome.FLAG
        ),
    ).order_by("-created_at")[:50]
    rows = [
        (
            cell(finding.detector_code, reverse("core:finding", args=[finding.pk])),
            cell(finding.localized_explanation),
            cell(finding.get_triage_display()),
            cell(finding.created_at.date()),
        )
        for finding in findings
    ]
    return SectionContent(
        (_("Detector"), _("Explanation"), _("Triage"), _("Found")),
        rows,
        note=""
        if rows
        else _(
            "No detector has flagged this record itself; the sections above show what the checks found in its "
            "declarations and contracts."
        ),
    )


def _cases(subject: Subject, user: Reader) -> SectionContent | None:
    return SectionContent((), note=_("Cases are not built yet: Probity does not yet keep investigation cases."))


CORE_SECTIONS = (
    ProfileSection("identity", gettext_lazy("Identity"), _identity, weight=10),
    ProfileSection(
        "positions", gettext_lazy("Positions over time"), _positions, frozenset({PERSON}), "core.view_position", 20
    ),
    ProfileSection("family", gettext_lazy("Family"), _family, frozenset({PERSON}), "core.view_familyrelation", 30),
    ProfileSection("findings", gettext_lazy("Findings"), _findings, permission="core.view_finding", weight=800),
    ProfileSection("cases", gettext_lazy("Cases"), _cases, weight=900),
)


# --- the page -------------------------------------------------------------------------------------------


@dataclass
class ShownSection:
    section: ProfileSection
    content: SectionContent


@dataclass
class Profile:
    """The composed page: the sections the reader may see, the timeline, and the neighbours."""

    subject: Subject
    kind: str
    sections: list[ShownSection]
    timeline: list[TimelineEvent]
    neighbours: list[Neighbour]


def sections_for(*, kind: str) -> list[ProfileSection]:
    """Core's and every module's sections for ``kind`` (person or organisation), by weight then order."""
    found = [s for s in (*CORE_SECTIONS, *profile_sections()) if kind in s.subjects]
    return sorted(found, key=lambda s: s.weight)


def profile_build(*, subject: Subject, user: Reader) -> Profile:
    """The page of ``subject`` as ``user`` may see it (the caller has checked that the subject is visible)."""
    kind = subject_kind(subject)
    shown: list[ShownSection] = []
    for section in sections_for(kind=kind):
        if section.permission and not user.has_perm(section.permission):
            continue
        content = section.content(subject, user)
        if content is not None:
            shown.append(ShownSection(section, content))
    timeline = sorted((e for s in shown for e in s.content.events), key=lambda e: (e.when, e.text))
    neighbours: dict[tuple[str, str], Neighbour] = {}
    for item in shown:
        for neighbour in item.content.neighbours:
            neighbours.setdefault((neighbour.key, neighbour.relation), neighbour)
    return Profile(subject, kind, shown, timeline, list(neighbours.values()))


GRAPH_LIMIT = 24
KIND_CLASS = {PERSON: "person", ORGANISATION: "organisation", "body": "body"}
# Presentation attributes, not inline styles: the site's Content-Security-Policy allows no inline style.
KIND_FILL = {"person": "#1f6feb", "organisation": "#b35900", "body": "#2e7d32", "other": "#6e6e6e"}


def graph_svg(*, profile: Profile, size: int = 560) -> SafeString:
    """The subject in the centre and its neighbours around it, with the ties labelled; an SVG drawn on the
    server (no script), each neighbour linking to its own page where it has one."""
    centre = size / 2
    radius = size / 2 - 90
    shown = profile.neighbours[:GRAPH_LIMIT]
    parts = []
    for index, neighbour in enumerate(shown):
        angle = 2 * math.pi * index / max(1, len(shown)) - math.pi / 2
        x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
        label = format_html(
            '<text x="{}" y="{}" text-anchor="middle" font-size="12" class="name">{}</text>'
            '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="#555" class="relation">{}</text>',
            f"{x:.0f}",
            f"{y + 22:.0f}",
            neighbour.name[:40],
            f"{x:.0f}",
            f"{y + 36:.0f}",
            neighbour.relation[:40],
        )
        node = format_html(
            '<circle cx="{}" cy="{}" r="9" fill="{}" class="node {}"><title>{}</title></circle>{}',
            f"{x:.0f}",
            f"{y:.0f}",
            KIND_FILL[KIND_CLASS.get(neighbour.kind, "other")],
            KIND_CLASS.get(neighbour.kind, "other"),
            neighbour.name,
            label,
        )
        if neighbour.url:
            node = format_html('<a href="{}">{}</a>', neighbour.url, node)
        parts.append(
            format_html(
                '<g class="neighbour"><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="1.5" '
                'class="edge {}"/>{}</g>',
                f"{centre:.0f}",
                f"{centre:.0f}",
                f"{x:.0f}",
                f"{y:.0f}",
                neighbour.link,
                node,
            )
        )
    more = ""
    if len(profile.neighbours) > GRAPH_LIMIT:
        more = format_html(
            '<text x="10" y="{}" font-size="10" class="relation">{}</text>',
            size - 10,
            _("%(count)s more ties are listed in the sections.") % {"count": len(profile.neighbours) - GRAPH_LIMIT},
        )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" height="{}" role="img"'
        ' aria-label="{}" class="profile-graph">'
        '{}<circle cx="{}" cy="{}" r="14" fill="{}" class="node subject {}"/>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="14" font-weight="bold" class="name subject">{}</text>{}'
        "</svg>",
        size,
        size,
        size,
        _("Ties of %(name)s") % {"name": profile.subject.name},
        format_html_join("", "{}", ((part,) for part in parts)),
        f"{centre:.0f}",
        f"{centre:.0f}",
        KIND_FILL[KIND_CLASS[profile.kind]],
        KIND_CLASS[profile.kind],
        f"{centre:.0f}",
        f"{centre + 32:.0f}",
        profile.subject.name[:40],
        more,
    )


# --- FollowTheMoney export of the neighbourhood ----------------------------------------------------------


def _entity_id(key: str) -> str:
    return "probity-" + key.replace(":", "-")


def _node(schema: str, key: str, name: str) -> Any:
    proxy = ftm_model.make_entity(schema)
    proxy.id = _entity_id(key)
    proxy.add("name", name)
    return proxy


def ftm_neighbourhood(*, profile: Profile) -> list[dict[str, Any]]:
    """The subject, its neighbours and the ties between them as FollowTheMoney entities (``to_dict``)."""
    subject = profile.subject
    key = f"{profile.kind}:{subject.pk}"
    me = _node("Person" if profile.kind == PERSON else "Organization", key, subject.name)
    if isinstance(subject, Person):
        if subject.birth_date:
            me.add("birthDate", subject.birth_date.isoformat())
        if subject.nationality:
            me.add("nationality", subject.nationality.lower())
    elif subject.jurisdiction:
        me.add("jurisdiction", subject.jurisdiction.lower())
    entities = [me]
    for index, neighbour in enumerate(profile.neighbours):
        schema = {PERSON: "Person", ORGANISATION: "Organization", "body": "PublicBody"}.get(
            neighbour.kind, "LegalEntity"
        )
        other = _node(schema, neighbour.key, neighbour.name)
        entities.append(other)
        link_key = f"{key}:{index}"
        if neighbour.link == "family" and schema == "Person" and profile.kind == PERSON:
            link = ftm_model.make_entity("Family")
            link.add("person", me.id)
            link.add("relative", other.id)
            link.add("relationship", neighbour.relation)
        elif neighbour.link == "ownership":
            link = ftm_model.make_entity("Ownership")
            link.add("owner", me.id)
            link.add("asset", other.id)
            link.add("role", neighbour.relation)
        elif neighbour.link == "occupancy" and profile.kind == PERSON:
            post = ftm_model.make_entity("Position")
            post.id = _entity_id(f"{link_key}:position")
            post.add("name", neighbour.relation)
            post.add("organization", other.id)
            entities.append(post)
            link = ftm_model.make_entity("Occupancy")
            link.add("holder", me.id)
            link.add("post", post.id)
        else:
            link = ftm_model.make_entity("UnknownLink")
            link.add("subject", me.id)
            link.add("object", other.id)
            link.add("role", neighbour.relation)
        link.id = _entity_id(f"{link_key}:link")
        entities.append(link)
    seen: dict[str, dict[str, Any]] = {}
    for proxy in entities:
        seen.setdefault(str(proxy.id), proxy.to_dict())
    return list(seen.values())
