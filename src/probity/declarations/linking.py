"""Declarations in the graph: the family members a declaration names become core people with their tie.

For each declaration's latest version, each member of ``family_members`` is linked to one core person, the
first way that finds exactly one (people an analyst rejected for this member are never taken):

1. the person an analyst confirmed for the member;
2. a person whose source key is the member's ``id``;
3. a relative of the declarant (``core.FamilyRelation``) with the same relation and the same name or date
   of birth;
4. a person with the same name (or another name) and date of birth;
5. the person an earlier linking made for the member;
6. otherwise a new person, when the declaration gives a name.

The member is keyed by declarant and member id (``"<declarant id>:<member id>"``), so next year's
declaration and every relink find the same person: re-running never duplicates. A ``FamilyRelation``
declarant → member with the relation is made when missing. Each link is a ``RecordLink`` of source
``declarations.family_member`` saying why. People made or newly linked are touched (``core.person``), so
the registers' linkers look at them: the spouse's register record joins the spouse wherever the data
arrived first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.links import (
    Known,
    LinkCounts,
    Linker,
    Progress,
    confirmed,
    link_record,
    links_touch,
    rejected,
    unlink_automatic,
)
from probity.core.models import FamilyRelation, Person, PersonName, RecordLink
from probity.declarations.models import Declaration, DeclarationVersion
from probity.ownership.selectors import name_normalise

SOURCE = "declarations.family_member"
DECLARATION = "declarations.declaration"
CHUNK = 500
KINDS = {kind for kind, _label in FamilyRelation.Kind.choices}
INVERSE = {"spouse": "spouse", "child": "parent", "parent": "child", "sibling": "sibling", "other": "other"}

# Each sentence whole (not built from a shared start), so that makemessages extracts it for translation.
RULES = {
    "declared_confirmed": gettext_noop("Named as %(relation)s in the %(year)s declaration of %(declarant)s."),
    "declared_source_key": gettext_noop(
        "Named as %(relation)s in the %(year)s declaration of %(declarant)s; the same source key %(key)s."
    ),
    "declared_relative": gettext_noop(
        "Named as %(relation)s in the %(year)s declaration of %(declarant)s;"
        " already known as the declarant's %(relation)s."
    ),
    "declared_name_birth": gettext_noop(
        "Named as %(relation)s in the %(year)s declaration of %(declarant)s;"
        " the same name and date of birth (%(birth_date)s)."
    ),
    "declared_earlier": gettext_noop(
        "Named as %(relation)s in the %(year)s declaration of %(declarant)s;"
        " linked to this person by an earlier linking."
    ),
    "declared_created": gettext_noop(
        "Named as %(relation)s in the %(year)s declaration of %(declarant)s; a new person was made for them."
    ),
}


def _norm(text: Any) -> str:
    return name_normalise(text=text) if isinstance(text, str) else ""


def _date(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


@dataclass
class _Member:
    declaration: Declaration
    key: str
    relation: str
    name: str
    birth: str
    member_id: str


def _latest_contents(declaration_ids: Sequence[int] | None) -> Iterator[tuple[Declaration, dict[str, Any]]]:
    """Each declaration with its latest version's content (all declarations when ``declaration_ids`` is None)."""
    if declaration_ids is None:
        ids = list(Declaration.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted(set(declaration_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        declarations = {d.pk: d for d in Declaration.objects.filter(pk__in=chunk).select_related("declarant")}
        latest: dict[int, tuple[int, dict[str, Any]]] = {}
        for declaration_id, number, content in DeclarationVersion.objects.filter(declaration_id__in=chunk).values_list(
            "declaration_id", "number", "content"
        ):
            if declaration_id not in latest or number > latest[declaration_id][0]:
                latest[declaration_id] = (number, content if isinstance(content, dict) else {})
        for pk in chunk:
            if pk in declarations and pk in latest:
                yield declarations[pk], latest[pk][1]


def _members(items: Iterable[tuple[Declaration, dict[str, Any]]]) -> list[_Member]:
    """The family members to link; a declarant's member named in several declarations counts once (the latest
    year's spelling wins)."""
    found: dict[str, _Member] = {}
    for declaration, content in sorted(items, key=lambda item: (item[0].year, item[0].pk)):
        for member in content.get("family_members") or []:
            if not isinstance(member, dict) or not isinstance(member.get("id"), str):
                continue
            relation = str(member.get("relation", "other"))
            key = f"{declaration.declarant_id}:{member['id']}"[:200]
            found[key] = _Member(
                declaration=declaration,
                key=key,
                relation=relation if relation in KINDS else "other",
                name=member["name"].strip() if isinstance(member.get("name"), str) else "",
                birth=member["birth_date"] if _date(member.get("birth_date")) else "",
                member_id=member["id"],
            )
    return list(found.values())


@dataclass
class _Index:
    """The core people the members could be: by source key, by (name, date of birth), and the declarants'
    relatives; read in a few batched queries."""

    by_key: dict[str, int]
    by_name_birth: dict[tuple[str, str], set[int]]
    relatives: dict[int, list[tuple[int, str]]]
    name: dict[int, str]
    birth: dict[int, str]

    @classmethod
    def load(cls, members: list[_Member]) -> _Index:
        index = cls({}, defaultdict(set), defaultdict(list), {}, {})
        member_ids = sorted({m.member_id for m in members})
        names = sorted({m.name for m in members if m.name and m.birth})
        declarants = sorted({m.declaration.declarant_id for m in members})
        for start in range(0, len(member_ids), CHUNK):
            for pk, key in Person.objects.filter(source_key__in=member_ids[start : start + CHUNK]).values_list(
                "pk", "source_key"
            ):
                if key:
                    index.by_key[key] = pk
        for start in range(0, len(names), CHUNK):
            chunk = names[start : start + CHUNK]
            rows = list(
                Person.objects.filter(name__in=chunk, birth_date__isnull=False).values_list("pk", "name", "birth_date")
            )
            rows += PersonName.objects.filter(name__in=chunk, person__birth_date__isnull=False).values_list(
                "person_id", "name", "person__birth_date"
            )
            for pk, name, birth in rows:
                if birth is None:
                    continue
                index.by_name_birth[(_norm(name), birth.isoformat())].add(pk)
        relative_ids: set[int] = set()
        for start in range(0, len(declarants), CHUNK):
            ids = declarants[start : start + CHUNK]
            for person, relative, kind in FamilyRelation.objects.filter(person_id__in=ids).values_list(
                "person_id", "relative_id", "kind"
            ):
                index.relatives[person].append((relative, kind))
                relative_ids.add(relative)
            for person, relative, kind in FamilyRelation.objects.filter(relative_id__in=ids).values_list(
                "person_id", "relative_id", "kind"
            ):
                index.relatives[relative].append((person, INVERSE.get(kind, "other")))
                relative_ids.add(person)
        ordered = sorted(relative_ids)
        for start in range(0, len(ordered), CHUNK):
            for pk, name, birth in Person.objects.filter(pk__in=ordered[start : start + CHUNK]).values_list(
                "pk", "name", "birth_date"
            ):
                index.name[pk] = _norm(name)
                index.birth[pk] = birth.isoformat() if birth else ""
        return index


def _choose(member: _Member, index: _Index, links: Mapping[int, RecordLink]) -> tuple[int | None, str]:
    """The person for the member and the rule that found them (None: make one)."""
    refused = rejected(links)
    decided = confirmed(links)
    if decided:
        return min(decided), "declared_confirmed"
    declarant = member.declaration.declarant_id
    tiers: list[tuple[set[int], str]] = []
    if member.member_id in index.by_key:
        tiers.append(({index.by_key[member.member_id]}, "declared_source_key"))
    tiers.append(
        (
            {
                rid
                for rid, kind in index.relatives.get(declarant, [])
                if kind == member.relation
                and (
                    (member.name and index.name.get(rid) == _norm(member.name))
                    or (member.birth and index.birth.get(rid) == member.birth)
                )
            },
            "declared_relative",
        )
    )
    if member.name and member.birth:
        tiers.append((set(index.by_name_birth.get((_norm(member.name), member.birth), set())), "declared_name_birth"))
    tiers.append(({t for t, link in links.items() if link.state == RecordLink.State.AUTOMATIC}, "declared_earlier"))
    for people, rule in tiers:
        people = people - refused - {declarant}
        if len(people) == 1:
            return next(iter(people)), rule
    return None, "declared_created"


def link_declarations(keys: Mapping[str, Sequence[str]] | None, progress: Progress | None = None) -> LinkCounts:
    """Links the family members of the given declarations (``declarations.declaration`` ids; or of the
    declarants of ``declarations.family_member`` keys), or of every declaration when ``keys`` is None."""
    counts = LinkCounts()
    if keys is None:
        ids: list[int] | None = None
    else:
        ids = [int(k) for k in keys.get(DECLARATION, []) if str(k).isdigit()]
        declarants = {k.split(":", 1)[0] for k in keys.get(SOURCE, [])}
        declarants = {d for d in declarants if d.isdigit()}
        if declarants:
            ids += Declaration.objects.filter(declarant_id__in=[int(d) for d in declarants]).values_list(
                "pk", flat=True
            )
        # the other declarations of these declarants: the member key spans their years
        ids = list(
            Declaration.objects.filter(
                declarant_id__in=Declaration.objects.filter(pk__in=ids).values("declarant_id")
            ).values_list("pk", flat=True)
        )
    items = list(_latest_contents(ids))
    members = _members(items)
    index = _Index.load(members)
    known = Known.load(SOURCE, None if keys is None else [m.key for m in members])
    ties = (
        {
            (p, r, k)
            for p, r, k in FamilyRelation.objects.filter(
                person_id__in={m.declaration.declarant_id for m in members}
            ).values_list("person_id", "relative_id", "kind")
        }
        if members
        else set()
    )
    touched: set[int] = set()
    for member in members:
        links = known.people.get(member.key, {})
        person_id, rule = _choose(member, index, links)
        declaration = member.declaration
        if person_id is None:
            if not member.name:
                continue  # nothing to make a person from
            person = Person.objects.create(name=member.name[:300], birth_date=_date(member.birth))
            person_id = person.pk
            counts.created += 1
        declarant = declaration.declarant_id
        tie = (declarant, person_id, member.relation)
        inverse = (person_id, declarant, INVERSE[member.relation])
        tie_created = False
        if tie not in ties and inverse not in ties and declarant != person_id:
            FamilyRelation.objects.get_or_create(person_id=declarant, relative_id=person_id, kind=member.relation)
            ties.add(tie)
            tie_created = True
        params = {
            "relation": str(FamilyRelation.Kind(member.relation).label),
            "year": declaration.year,
            "declarant": str(declaration.declarant),
            "key": member.member_id,
            "birth_date": member.birth,
            "declaration": declaration.pk,
        }
        previous = links.get(person_id)
        if previous is not None and previous.reason_params.get("tie_created") or tie_created:
            params["tie_created"] = True
        _link, new = link_record(
            source=SOURCE,
            key=member.key,
            label=member.name or member.member_id,
            rule=rule,
            params=params,
            existing=links,
            person=person_id,
        )
        if new:
            counts.made += 1
            touched.add(person_id)
        else:
            counts.kept += 1
        stale = [link for target, link in links.items() if target != person_id]
        for link in stale:
            if link.state == RecordLink.State.REJECTED and link.reason_params.get("tie_created"):
                FamilyRelation.objects.filter(person_id=declarant, relative_id=link.person_id).delete()
                link.reason_params = {**link.reason_params, "tie_created": False}
                link.save(update_fields=["reason_params", "updated_at"])
                touched.add(link.person_id or 0)
        removed = [link for link in stale if link.state == RecordLink.State.AUTOMATIC]
        for link in removed:
            if link.reason_params.get("tie_created"):
                FamilyRelation.objects.filter(person_id=declarant, relative_id=link.person_id).delete()
        counts.removed += unlink_automatic(removed)
        if progress is not None:
            progress(1)
    if keys is not None:  # a new declarant may be a register's person too
        touched |= {declaration.declarant_id for declaration, _content in items}
    links_touch("core.person", touched - {0})
    return counts


LINKERS = (
    Linker(
        code="declarations",
        label=_("Family members named in declarations"),
        kinds=(DECLARATION, SOURCE),
        link=link_declarations,
        rules=RULES,
        # Nothing to announce: a new person or tie changes a detector's judgement only once a register record
        # is linked to them, and the register's linker announces that (``sources=("ownership",)``).
        sources=(),
        source_labels={SOURCE: _("Family member named in a declaration")},
    ),
)
