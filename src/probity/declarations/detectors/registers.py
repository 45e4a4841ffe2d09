"""Declarations detectors that cross-check with other registers: the ownership register and the
conflict-of-interest awards of procurement (registered on import).

DECL-UNDECLARED-COMPANY — why it signals risk: a company the declarant or a family member owns or
controls (directly, through holding companies, arrangements or a nominee) that the declaration does
not list is the textbook hidden interest. The register is read as OWN-COI-OFFICIAL reads it
(``graph_build`` + ``effective_ownership``); a company counts as declared when a row of
``corporate_rights``, ``beneficial_ownership`` or ``securities`` names it by registry number (any of
the register entity's identifiers, compared without spaces, dots or dashes) or, without a number,
by its normalised name (or one of its other names).

DECL-COI-AWARD — why it signals risk: a contract awarded by the declarant's own body to a company
the declarant or the family owns or controls is a conflict of interest whether or not the company is
declared. The declarant's body is the declaration's ``core.PublicBody`` (its name and identifiers)
or the position's body name in the declaration; it is matched to the OCDS buyer of each process by
identifier, else by normalised name. Suppliers are linked to register entities as
``ownership.selectors.RegisterIndex`` links them (identifier, then a name only one entity carries).

Who the declarant's family is: the declarant (``Declaration.declarant``, and people in the core
tables with the same name and date of birth who have family ties or register links), each member in
``family_members`` (by ``id`` as a ``core.Person`` source key, by name and date of birth, or as the
relative of the declarant with the same relation and the same name or date of birth in
``core.FamilyRelation``), and relatives in ``core.FamilyRelation`` the declaration does not list (the
``relations`` parameter says which kinds count). Their register records are the
``ownership.Party`` rows whose ``person`` is one of them. Where none of them is in the register, the
result is not applicable with that reason, so the detectors light up as soon as the data exists.

Both detectors judge each declarant's most recent declaration (the register and the awards are
today's data); earlier declarations are not applicable with that reason. Register and procurement
data are loaded once into dicts keyed by ids; declarations are streamed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.config import ConfigurationError
from probity.core.detectors import Judgement, Parameter, register
from probity.core.models import FamilyRelation, Identifier, Person, PersonName, PublicBody
from probity.declarations.detectors.base import SUBJECT, DeclarationDetector, subject_of
from probity.declarations.schema import period_end
from probity.declarations.selectors import Item, iter_latest_items
from probity.ownership.models import Party
from probity.ownership.selectors import (
    RegisterIndex,
    cell_text,
    chain_text,
    chains_between,
    effective_ownership,
    graph_build,
    interval_label,
    name_normalise,
)
from probity.procurement.selectors import procurement_frame, procurement_parties, procurement_tables_missing
from probity.warehouse.services import warehouse_connection

RELATIONS = ("spouse", "child", "parent", "sibling", "other")
INVERSE = {"spouse": "spouse", "child": "parent", "parent": "child", "sibling": "sibling", "other": "other"}
# Entity types that are links of a chain, not companies one could declare (BODS entityType.type).
NOT_COMPANIES = ("arrangement", "anonymousEntity", "unknownEntity")
DECLARED_SECTIONS = ("corporate_rights", "beneficial_ownership", "securities")

EARLIER_NA = gettext_noop(
    "Not the declarant's most recent declaration: the register and the awards are today's data, so only the "
    "most recent declaration is compared with them."
)
REGISTER_EMPTY_NA = gettext_noop(
    "The ownership register is empty: load beneficial-ownership data to cross-check declarations with it."
)
NOT_LINKED_NA = gettext_noop(
    "Neither the declarant nor any of the %(family)s family members is linked to a person in the ownership register."
)
UNDECLARED_FLAG = gettext_noop(
    "%(count)s company(ies) owned or controlled by the declarant or the family are in the ownership register "
    "but not in the declaration: %(companies)s."
)
UNDECLARED_PASS = gettext_noop(
    "The %(count)s company(ies) the declarant and the family own or control in the register are all declared."
)
PROCUREMENT_MISSING_NA = gettext_noop("The procurement tables are missing from the warehouse: %(tables)s.")
NO_BODY_NA = gettext_noop("The declaration names no body, so its awards cannot be looked up.")
BODY_NOT_BUYER_NA = gettext_noop("The declarant's body (%(body)s) is not a buyer in the procurement data.")
COI_FLAG = gettext_noop(
    "%(body)s awarded %(count)s contract(s) worth %(value)s to companies the declarant or the family own or "
    "control: %(awards)s."
)
COI_PASS = gettext_noop(
    "None of the %(awards)s awards of %(body)s went to a company the declarant or the family own or control "
    "(%(companies)s such companies in the register)."
)


def _norm(text: Any) -> str:
    return name_normalise(text=text) if isinstance(text, str) else ""


def _number(text: Any) -> str:
    return Identifier.normalise(text) if isinstance(text, str) else ""


# --- the register, loaded once ---------------------------------------------------------------------


@dataclass
class Holding:
    company: int  # register party id
    holder_party: int
    ownership: str
    control: bool


@dataclass
class Register:
    """The ownership register and the core people around it, as compact dicts keyed by ids."""

    min_share: float = 0.0
    graph: Any = None
    effective: Any = None
    is_entity: dict[int, bool] = field(default_factory=dict)
    party_name: dict[int, str] = field(default_factory=dict)
    party_record: dict[int, str] = field(default_factory=dict)
    party_numbers: dict[int, set[str]] = field(default_factory=dict)
    party_names: dict[int, set[str]] = field(default_factory=dict)
    parties_of_person: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    relatives: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    person_name: dict[int, str] = field(default_factory=dict)
    person_birth: dict[int, str] = field(default_factory=dict)
    by_source_key: dict[str, int] = field(default_factory=dict)
    by_name_birth: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    _holdings: dict[int, list[Holding]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.is_entity

    @classmethod
    def load(cls, min_share: float = 0.0) -> Register:
        register = cls(min_share=min_share)
        rows = Party.objects.filter(closed=False).values_list(
            "pk", "kind", "subtype", "name", "other_names", "identifiers", "person_id", "record_id"
        )
        for pk, kind, subtype, name, other_names, identifiers, person_id, record_id in rows.iterator(chunk_size=5000):
            if kind == Party.Kind.ENTITY and not (subtype or "").startswith(NOT_COMPANIES):
                register.is_entity[pk] = True
                register.party_name[pk] = name or record_id
                register.party_record[pk] = record_id
                register.party_numbers[pk] = {
                    _number(str(i.get("id", ""))) for i in identifiers or [] if isinstance(i, dict) and i.get("id")
                }
                register.party_names[pk] = {_norm(n) for n in [name, *(other_names or [])] if _norm(n)}
            else:
                register.party_name[pk] = name or record_id
            if person_id:
                register.parties_of_person[person_id].append(pk)
        # Only people with register records, and their relatives, can lead to a company: only their family
        # ties and their names are loaded (a register-less installation loads nothing).
        in_register = sorted(register.parties_of_person)
        ties: set[tuple[int, int, str]] = set()
        for start in range(0, len(in_register), 5000):
            chunk = in_register[start : start + 5000]
            for side in ("person_id__in", "relative_id__in"):
                ties.update(
                    FamilyRelation.objects.filter(**{side: chunk}).values_list("person_id", "relative_id", "kind")
                )
        for person_id, relative_id, kind in sorted(ties):
            register.relatives[person_id].append((relative_id, kind))
            register.relatives[relative_id].append((person_id, INVERSE.get(kind, "other")))
        relevant = sorted(set(register.parties_of_person) | set(register.relatives))
        for start in range(0, len(relevant), 5000):
            chunk = relevant[start : start + 5000]
            for pk, name, birth, key in Person.objects.filter(pk__in=chunk).values_list(
                "pk", "name", "birth_date", "source_key"
            ):
                register.person_name[pk] = name
                register.person_birth[pk] = birth.isoformat() if birth else ""
                if key:
                    register.by_source_key[key] = pk
                if birth and _norm(name):
                    register.by_name_birth[(_norm(name), birth.isoformat())].add(pk)
            for pk, name in PersonName.objects.filter(person_id__in=chunk).values_list("person_id", "name"):
                if register.person_birth.get(pk) and _norm(name):
                    register.by_name_birth[(_norm(name), register.person_birth[pk])].add(pk)
        if register.is_entity:
            register.graph = graph_build()
            register.effective = effective_ownership(len(register.graph.party_ids), register.graph.edges)
        return register

    def holdings(self, party: int) -> list[Holding]:
        """The register entities one party owns or controls (directly or through chains), cached."""
        if party in self._holdings:
            return self._holdings[party]
        found: list[Holding] = []
        minimum = self.min_share / 100
        if self.graph is not None and party in self.graph.index:
            for node, share in self.effective.holdings_of(self.graph.index[party]).items():
                company = self.graph.party_ids[node]
                if not self.is_entity.get(company):
                    continue
                owns = share.own_hi > minimum or share.vote_hi > minimum
                if minimum:
                    owns = share.own_hi >= minimum or share.vote_hi >= minimum
                if not (share.control or owns):
                    continue
                label = interval_label(share.own_lo, share.own_hi) if share.own_hi else ""
                if share.unknown:
                    label = f"{label} (a share is unknown)" if label else "unknown share"
                found.append(Holding(company, party, label, share.control))
        self._holdings[party] = found
        return found


@dataclass
class Member:
    """The declarant or one of the family, with the core people who stand for them."""

    who: str  # "declarant", the family member's id in the declaration, or "unlisted"
    relation: str
    name: str
    people: set[int]

    def as_dict(self) -> dict[str, Any]:
        return {"who": self.who, "relation": self.relation, "name": self.name, "person_ids": sorted(self.people)}


def household(item: Item, register: Register, unlisted_relations: Iterable[str]) -> list[Member]:
    """The declarant, the declared family and the relatives the core tables know but the declaration omits."""
    content = item.content
    info = content.get("declarant") or {}
    own = {item.declaration.declarant_id}
    if isinstance(info.get("birth_date"), str):
        own |= register.by_name_birth.get((_norm(info.get("name")), info["birth_date"]), set())
    members = [Member("declarant", "self", str(info.get("name", "")), own)]
    relatives = [(rid, kind) for pid in own for rid, kind in register.relatives.get(pid, [])]
    matched: set[int] = set(own)
    for member in content.get("family_members") or []:
        if not isinstance(member, dict):
            continue
        name = str(member["name"]) if isinstance(member.get("name"), str) else ""
        birth = str(member["birth_date"]) if isinstance(member.get("birth_date"), str) else ""
        relation = str(member.get("relation", "other"))
        people: set[int] = set()
        key = member.get("id")
        if isinstance(key, str) and key in register.by_source_key:
            people.add(register.by_source_key[key])
        if name and birth:
            people |= register.by_name_birth.get((_norm(name), birth), set())
        for rid, kind in relatives:
            if kind != relation:
                continue
            same_name = bool(name) and _norm(register.person_name.get(rid)) == _norm(name)
            same_birth = bool(birth) and register.person_birth.get(rid) == birth
            if same_name or same_birth:
                people.add(rid)
        people -= own
        matched |= people
        members.append(Member(str(key), relation, name, people))
    wanted = set(unlisted_relations)
    for rid, kind in relatives:
        if rid not in matched and kind in wanted:
            matched.add(rid)
            members.append(Member("unlisted", kind, register.person_name.get(rid, ""), {rid}))
    return members


def held_companies(members: list[Member], register: Register) -> tuple[dict[int, list[dict[str, Any]]], int]:
    """{company party id: [who holds it and how]} and how many register records the household has."""
    companies: dict[int, list[dict[str, Any]]] = defaultdict(list)
    linked = 0
    for member in members:
        for person in sorted(member.people):
            for party in register.parties_of_person.get(person, []):
                linked += 1
                for holding in register.holdings(party):
                    companies[holding.company].append(
                        {
                            **member.as_dict(),
                            "holder_party_id": party,
                            "holder": register.party_name.get(party, ""),
                            "ownership": holding.ownership,
                            "control": holding.control,
                        }
                    )
    return companies, linked


def declared_keys(content: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(registry numbers, normalised names) of the companies the declaration lists."""
    numbers, names = set(), set()
    for section in DECLARED_SECTIONS:
        for row in content.get(section) or []:
            if not isinstance(row, dict):
                continue
            number = _number(row.get("registry_number"))
            if number:
                numbers.add(number)
            for key in ("company", "issuer", "description"):
                if _norm(row.get(key)):
                    names.add(_norm(row.get(key)))
    return numbers, names


def _chains(holder_party: int, company: int, limit: int = 3) -> list[str]:
    return [chain_text(chain=c) for c in chains_between(owner_id=holder_party, subject_id=company, limit=limit)]


def most_recent(items: Iterable[Item]) -> Iterator[tuple[Item, bool]]:
    """Each item with whether it is its declarant's most recent declaration (by period end, then id)."""
    for _person, group in groupby(items, key=lambda i: i.declaration.declarant_id):
        ordered = sorted(group, key=lambda i: (period_end(i.content), i.declaration.pk))
        for index, item in enumerate(ordered):
            yield item, index == len(ordered) - 1


def _earlier(item: Item) -> Judgement:
    return Judgement(
        **subject_of(item), outcome="not_applicable", message=EARLIER_NA, evidence={"reason": "earlier_declaration"}
    )


def _register_na(item: Item, register: Register) -> Judgement | None:
    subject = subject_of(item)
    if register.empty:
        return Judgement(
            **subject, outcome="not_applicable", message=REGISTER_EMPTY_NA, evidence={"reason": "register_empty"}
        )
    return None


def _not_linked(item: Item, members: list[Member]) -> Judgement:
    return Judgement(
        **subject_of(item),
        outcome="not_applicable",
        message=NOT_LINKED_NA,
        params={"family": len(members) - 1},
        evidence={"reason": "not_in_register", "family_checked": [m.as_dict() for m in members]},
    )


@register
class UndeclaredCompany(DeclarationDetector):
    code = "DECL-UNDECLARED-COMPANY"
    reads = ("declarations", "ownership")
    title = _("Company in the ownership register not declared")
    description = _(
        "Looks up the declarant and the family in the beneficial-ownership register and lists every company "
        "they own or control, directly or through chains of companies, arrangements and nominees. Flags the "
        "declarant's most recent declaration when one of these companies is not declared in corporate rights, "
        "beneficial ownership or securities (matched by registry number, else by name)."
    )
    subject_type = SUBJECT
    fields = ("declarant", "family_members", "corporate_rights", "beneficial_ownership", "securities")
    parameters = (
        Parameter(
            "min_share", 0.0, _("smallest effective share in percent that counts (0: any share or control)"), float
        ),
        Parameter(
            "relations",
            ["spouse", "child"],
            _("relatives known in the core tables but not listed in the declaration whose companies count"),
            list,
        ),
        Parameter("weight", 3.0, _("weight of a flag in the declaration's risk score"), float),
    )

    def dataset(self) -> str:
        return "declarations (latest versions) + core.person/familyrelation + ownership graph"

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        register = Register.load(float(params["min_share"]))
        for item, latest in most_recent(iter_latest_items()):
            yield self.judge(item, latest, register, params) if latest else _earlier(item)

    def judge(self, item: Item, latest: bool, register: Register, params: Mapping[str, Any]) -> Judgement:
        members = household(item, register, params["relations"])
        missing = _register_na(item, register)
        if missing is not None:
            return missing
        companies, linked = held_companies(members, register)
        if not linked:
            return _not_linked(item, members)
        numbers, names = declared_keys(item.content)
        undeclared: list[dict[str, Any]] = []
        declared: list[dict[str, Any]] = []
        for company in sorted(companies, key=lambda c: register.party_name.get(c, "")):
            by_number = bool(register.party_numbers.get(company, set()) & numbers)
            by_name = bool(register.party_names.get(company, set()) & names)
            entry: dict[str, Any] = {
                "company_party_id": company,
                "company": register.party_name.get(company, ""),
                "record_id": register.party_record.get(company, ""),
                "identifiers": sorted(register.party_numbers.get(company, set())),
                "holders": companies[company],
            }
            if by_number or by_name:
                declared.append({**entry, "declared_by": "registry_number" if by_number else "name"})
            else:
                undeclared.append(entry)
        subject = subject_of(item)
        evidence: dict[str, Any] = {
            "family_checked": [m.as_dict() for m in members],
            "register_records": linked,
            "declared": declared,
        }
        if not undeclared:
            return Judgement(
                **subject,
                outcome="pass",
                message=UNDECLARED_PASS,
                params={"count": len(declared)},
                score=0.0,
                evidence={**evidence, "undeclared": []},
            )
        texts = []
        for entry in undeclared:
            for holder in entry["holders"]:
                holder["chains"] = _chains(holder["holder_party_id"], entry["company_party_id"])
            first = entry["holders"][0]
            who = "declarant" if first["who"] == "declarant" else first["relation"]
            via = f": {first['chains'][0]}" if first["chains"] else ""
            texts.append(f"{entry['company']} (held by the {who} {first['name']}{via})")
        weight = float(params["weight"])
        return Judgement(
            **subject,
            outcome="flag",
            message=UNDECLARED_FLAG,
            params={"count": len(undeclared), "companies": "; ".join(texts)},
            score=1.0,
            evidence={**evidence, "undeclared": undeclared, "weight": weight},
        )


# --- procurement, loaded once ---------------------------------------------------------------------

AWARD_TABLES = ("parties", "awards", "award_suppliers")


@dataclass
class Awards:
    """Awards by supplier register entity, and every buyer key seen (``id:<number>`` / ``name:<name>``)."""

    by_entity: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    buyer_keys: set[str] = field(default_factory=set)
    count_by_buyer: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def procurement_missing() -> list[str]:
    with warehouse_connection() as warehouse:
        return procurement_tables_missing(warehouse=warehouse, tables=AWARD_TABLES)


def _text(value: Any) -> str:
    return cell_text(value=value)


def _buyer_keys(name: str, identifier: str) -> set[str]:
    keys = set()
    if _number(identifier):
        keys.add(f"id:{_number(identifier)}")
    if _norm(name):
        keys.add(f"name:{_norm(name)}")
    return keys


def awards_load() -> Awards:
    """Awards joined to their suppliers' register entities and their buyers (one warehouse read)."""
    with warehouse_connection() as warehouse:
        parties = procurement_parties(warehouse=warehouse)
        awards = procurement_frame(
            warehouse=warehouse,
            table="awards",
            columns=("ocid", "award_index", "award_id", "status", "date", "value_amount", "value_currency"),
        )
        suppliers = procurement_frame(
            warehouse=warehouse,
            table="award_suppliers",
            columns=("ocid", "award_index", "supplier_id", "supplier_name"),
        )
    party: dict[tuple[str, str], tuple[str, str, str]] = {}
    buyers: dict[str, tuple[str, set[str]]] = {}
    for row in parties.to_dict("records"):
        ocid, pid = _text(row["ocid"]), _text(row["party_id"])
        name, scheme, identifier = _text(row["name"]), _text(row["identifier_scheme"]), _text(row["identifier_id"])
        party[(ocid, pid)] = (name, scheme, identifier)
        roles = row.get("roles")
        if roles is not None and not isinstance(roles, str) and "buyer" in list(roles):
            buyers[ocid] = (name, _buyer_keys(name, identifier))
    award_facts: dict[tuple[str, int], dict[str, Any]] = {}
    for row in awards.to_dict("records"):
        status = _text(row["status"])
        if status in ("cancelled", "unsuccessful"):
            continue
        amount = row["value_amount"]
        award_facts[(_text(row["ocid"]), int(row["award_index"]))] = {
            "award_id": _text(row["award_id"]),
            "date": _text(row["date"])[:10],
            "value": None if _text(amount) == "" else float(amount),
            "currency": _text(row["value_currency"]),
        }
    found = Awards()
    for _buyer, keys in buyers.values():
        found.buyer_keys |= keys
        for key in keys:
            found.count_by_buyer[key] += 1
    index = RegisterIndex.build()
    for row in suppliers.to_dict("records"):
        ocid, award_index = _text(row["ocid"]), int(row["award_index"])
        facts = award_facts.get((ocid, award_index))
        if facts is None or ocid not in buyers:
            continue
        name, scheme, identifier = party.get((ocid, _text(row["supplier_id"])), (_text(row["supplier_name"]), "", ""))
        entity, linked_by = index.find(scheme, identifier, name or _text(row["supplier_name"]))
        if entity is None:
            continue
        buyer_name, buyer_keys = buyers[ocid]
        found.by_entity[entity.pk].append(
            {
                "ocid": ocid,
                **facts,
                "buyer": buyer_name,
                "buyer_keys": sorted(buyer_keys),
                "supplier": name,
                "supplier_linked_by": linked_by,
            }
        )
    return found


def body_keys_load() -> dict[int, tuple[str, set[str]]]:
    """{public body id: (name, buyer keys from its name and identifiers)}."""
    bodies = {pk: (name, _buyer_keys(name, "")) for pk, name in PublicBody.objects.values_list("pk", "name")}
    for body_id, value in (
        Identifier.objects.filter(body__isnull=False).exclude(value="").values_list("body_id", "value")
    ):
        if body_id in bodies:
            bodies[body_id][1].update(_buyer_keys("", value))
    return bodies


@register
class ConflictOfInterestAward(DeclarationDetector):
    code = "DECL-COI-AWARD"
    reads = ("declarations", "ownership", "procurement")
    reads_warehouse = True
    title = _("Contracts from the declarant's body to a family company")
    description = _(
        "Finds the contracts awarded by the declarant's own body (matched to the OCDS buyer by identifier, else "
        "by name) to companies that the declarant or a family member owns or controls in the beneficial-ownership "
        "register, directly or through chains. Flags the declarant's most recent declaration with each award, "
        "the company, who holds it and the chain."
    )
    subject_type = SUBJECT
    fields = ("position.body", "family_members", "awards.suppliers", "buyer", "relationship.interests")
    parameters = (
        Parameter(
            "min_share", 0.0, _("smallest effective share in percent that counts (0: any share or control)"), float
        ),
        Parameter(
            "relations",
            list(RELATIONS),
            _("relatives known in the core tables but not listed in the declaration whose companies count"),
            list,
        ),
        Parameter("weight", 5.0, _("weight of a flag in the declaration's risk score"), float),
    )

    def dataset(self) -> str:
        return (
            "declarations + ownership graph + warehouse: procurement_awards, procurement_award_suppliers, "
            "procurement_parties"
        )

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        try:
            missing = procurement_missing()
        except ConfigurationError as exc:  # the warehouse cannot be opened (locked, unwritable folder …)
            missing = [f"{', '.join(AWARD_TABLES)} (the warehouse cannot be opened: {exc})"]
        register = Register.load(float(params["min_share"])) if not missing else Register()
        awards = awards_load() if not missing else Awards()
        bodies = body_keys_load()
        for item, latest in most_recent(iter_latest_items()):
            if not latest:
                yield _earlier(item)
            elif missing:
                yield Judgement(
                    **subject_of(item),
                    outcome="not_applicable",
                    message=PROCUREMENT_MISSING_NA,
                    params={"tables": ", ".join(missing)},
                    evidence={"reason": "missing_data: procurement tables", "missing_tables": missing},
                )
            else:
                yield self.judge(item, register, awards, bodies, params)

    def judge(
        self,
        item: Item,
        register: Register,
        awards: Awards,
        bodies: Mapping[int, tuple[str, set[str]]],
        params: Mapping[str, Any],
    ) -> Judgement:
        subject = subject_of(item)
        position_body = (item.content.get("position") or {}).get("body") or {}
        body_name = str(position_body.get("name") or item.declaration.body_name or "")
        keys = _buyer_keys(body_name, "")
        if item.declaration.body_id and item.declaration.body_id in bodies:
            name, more = bodies[item.declaration.body_id]
            keys |= more
            body_name = body_name or name
        if not keys:
            return Judgement(**subject, outcome="not_applicable", message=NO_BODY_NA, evidence={"reason": "no_body"})
        if not keys & awards.buyer_keys:
            return Judgement(
                **subject,
                outcome="not_applicable",
                message=BODY_NOT_BUYER_NA,
                params={"body": body_name},
                evidence={"reason": "body_not_a_buyer", "body": body_name, "body_keys": sorted(keys)},
            )
        members = household(item, register, params["relations"])
        missing = _register_na(item, register)
        if missing is not None:
            return missing
        companies, linked = held_companies(members, register)
        if not linked:
            return _not_linked(item, members)
        body_awards = max(awards.count_by_buyer.get(k, 0) for k in keys)
        found: list[dict[str, Any]] = []
        for company in sorted(companies, key=lambda c: register.party_name.get(c, "")):
            mine = [a for a in awards.by_entity.get(company, []) if keys & set(a["buyer_keys"])]
            if not mine:
                continue
            holders = companies[company]
            for holder in holders:
                holder["chains"] = _chains(holder["holder_party_id"], company)
            found.append(
                {
                    "company_party_id": company,
                    "company": register.party_name.get(company, ""),
                    "holders": holders,
                    "awards": sorted(mine, key=lambda a: (a["date"], a["ocid"])),
                }
            )
        evidence: dict[str, Any] = {
            "body": body_name,
            "body_keys": sorted(keys),
            "family_checked": [m.as_dict() for m in members],
            "companies_held": len(companies),
        }
        if not found:
            return Judgement(
                **subject,
                outcome="pass",
                message=COI_PASS,
                params={"awards": body_awards, "body": body_name, "companies": len(companies)},
                score=0.0,
                evidence={**evidence, "conflicts": []},
            )
        count = sum(len(f["awards"]) for f in found)
        totals: dict[str, float] = defaultdict(float)
        for entry in found:
            for award in entry["awards"]:
                if award["value"] is not None:
                    totals[award["currency"]] += award["value"]
        value = ", ".join(f"{amount:.2f} {currency}" for currency, amount in sorted(totals.items())) or "?"
        texts = []
        for entry in found:
            first = entry["holders"][0]
            who = "declarant" if first["who"] == "declarant" else first["relation"]
            via = f" via {first['chains'][0]}" if first["chains"] else ""
            ocids = ", ".join(f"{a['ocid']} ({a['date']})" for a in entry["awards"])
            texts.append(f"{entry['company']}, held by the {who} {first['name']}{via}: {ocids}")
        weight = float(params["weight"])
        return Judgement(
            **subject,
            outcome="flag",
            message=COI_FLAG,
            params={"body": body_name, "count": count, "value": value, "awards": "; ".join(texts)},
            score=1.0,
            evidence={**evidence, "conflicts": found, "total_value": dict(totals), "weight": weight},
        )
