"""The ownership register in the graph: register parties linked to core people and organisations.

An entity party is linked to the one core organisation that carries one of its identifiers (in any of
``ORGANISATION_SCHEMES``); a person party to the one core person who has one of its names (as their name
or another name) and its birth year and month, or one of its identifiers. Each link is a ``RecordLink`` of
source ``ownership.party`` saying why. Linking runs for the parties an ingest wrote (``parties_link``), and
through the queue for the parties of core people and organisations that arrived or changed later
(``core.person``, ``core.organisation``): the order the data comes in does not matter. A link whose rule no
longer holds is removed unless an analyst confirmed it; a person or organisation an analyst rejected for a
party is never linked to it again.

Gaps, written down: a core person's names find parties by their main name only (``other_names`` of a
party are matched when the party itself is linked again: every ingest and every relink).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.links import Known, LinkCounts, Linker, Progress, link_record, unlink_automatic
from probity.core.models import Identifier, Person, PersonName, RecordLink
from probity.ownership.models import Party

SOURCE = "ownership.party"
CHUNK = 500
PERSON_SCHEMES = (Identifier.Scheme.NATIONAL_ID, Identifier.Scheme.TAX_ID, Identifier.Scheme.OTHER)

RULES = {
    "register_identifier": gettext_noop("The same registry number, %(scheme)s %(number)s."),
    "register_person_identifier": gettext_noop("The same identifier, %(scheme)s."),
    "register_name_birth": gettext_noop("The same name (%(name)s) and birth month (%(month)s)."),
    "register_confirmed": gettext_noop("Confirmed by an analyst."),
}


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


# As ``ownership.services`` has them (that module calls this one: no import back).
ORGANISATION_SCHEMES = (
    Identifier.Scheme.COMPANY_REGISTER,
    Identifier.Scheme.TAX_ID,
    Identifier.Scheme.VAT,
    Identifier.Scheme.LEI,
)


def scheme_issuer(*, scheme: str) -> str:
    """org-id.guide prefixes start with the country: ``GB-COH`` → ``GB``; ``XI-LEI`` is global."""
    head = scheme.split("-", 1)[0]
    return head.upper() if len(head) == 2 and head.isalpha() and head.upper() != "XI" else ""


def _hashes(identifiers: Any, schemes: Sequence[str]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for identifier in identifiers or []:
        if not isinstance(identifier, dict):
            continue
        value, scheme = str(identifier.get("id", "")), str(identifier.get("scheme", ""))
        if not value:
            continue
        for core_scheme in schemes:
            found[Identifier.hash_value(core_scheme, scheme_issuer(scheme=scheme), value)] = (scheme, value)
    return found


def _month(birth: str) -> tuple[int, int] | None:
    if len(birth) < 7:
        return None
    try:
        return int(birth[:4]), int(birth[5:7])
    except ValueError:
        return None


def parties_relink(*, party_ids: Iterable[int]) -> LinkCounts:
    """Links these parties to core organisations and people (see the module's text); returns the counts."""
    counts = LinkCounts()
    ids = sorted(set(party_ids))
    for chunk in _chunks(ids, 2000):
        rows = list(
            Party.objects.filter(pk__in=chunk).values_list(
                "pk", "kind", "name", "other_names", "identifiers", "birth_date", "organisation_id", "person_id"
            )
        )
        known = Known.load(SOURCE, [str(pk) for pk in chunk])
        entity_hashes: dict[int, dict[str, tuple[str, str]]] = {}
        person_hashes: dict[int, dict[str, tuple[str, str]]] = {}
        person_keys: dict[int, set[tuple[str, int, int]]] = {}
        for pk, kind, name, other_names, identifiers, birth, _org, _person in rows:
            if kind == Party.Kind.ENTITY:
                entity_hashes[pk] = _hashes(identifiers, ORGANISATION_SCHEMES)
            else:
                person_hashes[pk] = _hashes(identifiers, PERSON_SCHEMES)
                month = _month(birth or "")
                if month is not None:
                    names = [n for n in [name, *(other_names or [])] if isinstance(n, str) and n]
                    person_keys[pk] = {(n, *month) for n in names}
        organisations_by_hash: dict[str, set[int]] = defaultdict(set)
        for hashes in _chunks(h for found in entity_hashes.values() for h in found):
            for value_hash, organisation_id in Identifier.objects.filter(
                organisation__isnull=False, value_hash__in=hashes
            ).values_list("value_hash", "organisation_id"):
                organisations_by_hash[value_hash].add(organisation_id)
        people_by_hash: dict[str, set[int]] = defaultdict(set)
        for hashes in _chunks(h for found in person_hashes.values() for h in found):
            for value_hash, person_id in Identifier.objects.filter(
                person__isnull=False, value_hash__in=hashes
            ).values_list("value_hash", "person_id"):
                people_by_hash[value_hash].add(person_id)
        people_by_key: dict[tuple[str, int, int], set[int]] = defaultdict(set)
        for names in _chunks(n for keys in person_keys.values() for n, _y, _m in keys):
            found = list(
                Person.objects.filter(name__in=names, birth_date__isnull=False).values_list("name", "birth_date", "id")
            )
            found += PersonName.objects.filter(
                name__in=names, person__isnull=False, person__birth_date__isnull=False
            ).values_list("name", "person__birth_date", "person_id")
            for name, birth_date, person_id in found:
                if birth_date is None or person_id is None:
                    continue
                people_by_key[(name, birth_date.year, birth_date.month)].add(person_id)

        org_updates: list[tuple[int, int | None]] = []
        person_updates: list[tuple[int, int | None]] = []
        for pk, kind, name, _other, _identifiers, _birth, organisation_id, person_id in rows:
            key = str(pk)
            if kind == Party.Kind.ENTITY:
                links = known.organisations.get(key, {})
                candidates: dict[int, tuple[str, dict[str, Any]]] = {}
                for value_hash, (scheme, number) in entity_hashes.get(pk, {}).items():
                    for target in organisations_by_hash.get(value_hash, set()):
                        candidates[target] = ("register_identifier", {"scheme": scheme, "number": number})
                chosen = _decide(key, name, candidates, links, counts, organisation=True)
                if chosen != organisation_id:
                    org_updates.append((pk, chosen))
            else:
                links = known.people.get(key, {})
                candidates = {}
                for value_hash, (scheme, _number) in person_hashes.get(pk, {}).items():
                    for target in people_by_hash.get(value_hash, set()):
                        candidates[target] = ("register_person_identifier", {"scheme": scheme})
                if not candidates:
                    for person_key in sorted(person_keys.get(pk, set())):
                        for target in people_by_key.get(person_key, set()):
                            candidates.setdefault(
                                target,
                                (
                                    "register_name_birth",
                                    {"name": person_key[0], "month": f"{person_key[1]:04d}-{person_key[2]:02d}"},
                                ),
                            )
                chosen = _decide(key, name, candidates, links, counts, organisation=False)
                if chosen != person_id:
                    person_updates.append((pk, chosen))
        counts.moved += len(org_updates) + len(person_updates)
        _set(Party._meta.get_field("organisation").column, org_updates)
        _set(Party._meta.get_field("person").column, person_updates)
    return counts


def _set(column: str, updates: list[tuple[int, int | None]]) -> None:
    """``UPDATE party SET column = target WHERE id = pk`` for many parties in one ``executemany``."""
    if not updates:
        return
    connection = connections[router.db_for_write(Party)]
    table, quoted = connection.ops.quote_name(Party._meta.db_table), connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {quoted} = %s WHERE id = %s",  # noqa: S608 - names from the model, values bound
            [(target, pk) for pk, target in updates],
        )


def _decide(
    key: str,
    label: str,
    candidates: Mapping[int, tuple[str, dict[str, Any]]],
    links: Mapping[int, RecordLink],
    counts: LinkCounts,
    *,
    organisation: bool,
) -> int | None:
    """The target of one party (or None) after the analysts' decisions and the rules; records the link."""
    confirmed_targets = sorted(t for t, link in links.items() if link.state == RecordLink.State.CONFIRMED)
    refused = {t for t, link in links.items() if link.state == RecordLink.State.REJECTED}
    chosen: int | None = None
    if confirmed_targets:
        chosen = confirmed_targets[0]
        counts.kept += 1
    else:
        allowed = {t: why for t, why in candidates.items() if t not in refused}
        if len(allowed) == 1:
            chosen, (rule, params) = next(iter(allowed.items()))
            target = {"organisation": chosen} if organisation else {"person": chosen}
            _link, new = link_record(
                source=SOURCE, key=key, label=label, rule=rule, params=params, existing=links, **target
            )
            if new:
                counts.made += 1
            else:
                counts.kept += 1
    stale = [link for target, link in links.items() if target != chosen]
    counts.removed += unlink_automatic(stale)
    return chosen


def _parties_of_people(person_ids: Sequence[int]) -> set[int]:
    """Register person parties that may be these people: by name (or another name), or linked to them now."""
    found: set[int] = set()
    for chunk in _chunks(person_ids):
        names = set(Person.objects.filter(pk__in=chunk).values_list("name", flat=True))
        names |= set(PersonName.objects.filter(person_id__in=chunk).values_list("name", flat=True))
        for names_chunk in _chunks(names):
            found |= set(
                Party.objects.filter(kind=Party.Kind.PERSON, name__in=names_chunk).values_list("pk", flat=True)
            )
        found |= set(Party.objects.filter(person_id__in=chunk).values_list("pk", flat=True))
        found |= {
            int(k)
            for k in RecordLink.objects.filter(source=SOURCE, person_id__in=chunk).values_list("source_key", flat=True)
            if k.isdigit()
        }
        hashes = set(Identifier.objects.filter(person_id__in=chunk).values_list("value_hash", flat=True))
        if hashes:
            found |= _parties_with_hashes(Party.Kind.PERSON, hashes, PERSON_SCHEMES)
    return found


def _parties_with_hashes(kind: str, hashes: set[str], schemes: Sequence[str]) -> set[int]:
    """Parties of ``kind`` with one of these identifier hashes (read in Python: identifiers are JSON)."""
    found: set[int] = set()
    rows = Party.objects.filter(kind=kind).exclude(identifiers=[]).values_list("pk", "identifiers")
    for pk, identifiers in rows.iterator(chunk_size=5000):
        if hashes & set(_hashes(identifiers, schemes)):
            found.add(pk)
    return found


def _parties_of_organisations(organisation_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(organisation_ids):
        found |= set(Party.objects.filter(organisation_id__in=chunk).values_list("pk", flat=True))
        found |= {
            int(k)
            for k in RecordLink.objects.filter(source=SOURCE, organisation_id__in=chunk).values_list(
                "source_key", flat=True
            )
            if k.isdigit()
        }
        hashes = set(Identifier.objects.filter(organisation_id__in=chunk).values_list("value_hash", flat=True))
        if hashes:
            found |= _parties_with_hashes(Party.Kind.ENTITY, hashes, ORGANISATION_SCHEMES)
    return found


def link_register(keys: Mapping[str, Sequence[str]] | None, progress: Progress | None = None) -> LinkCounts:
    """Links the given parties and the parties of the given core people and organisations, or every party."""
    if keys is None:
        party_ids: set[int] = set(Party.objects.values_list("pk", flat=True))
    else:
        party_ids = {int(k) for k in keys.get(SOURCE, []) if str(k).isdigit()}
        people = [int(k) for k in keys.get("core.person", []) if str(k).isdigit()]
        organisations = [int(k) for k in keys.get("core.organisation", []) if str(k).isdigit()]
        if people:
            party_ids |= _parties_of_people(people)
        if organisations:
            party_ids |= _parties_of_organisations(organisations)
    counts = parties_relink(party_ids=party_ids)
    if progress is not None:
        progress(len(party_ids))
    return counts


LINKERS = (
    Linker(
        code="ownership",
        label=_("Ownership register parties"),
        kinds=(SOURCE, "core.person", "core.organisation"),
        link=link_register,
        rules=RULES,
        sources=("ownership",),
        source_labels={SOURCE: _("Ownership register party")},
    ),
)
