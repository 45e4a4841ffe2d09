"""Conflict-of-interest detectors across procurement and the ownership register (issue 4, item 7).

Two detectors read the procurement warehouse tables (through ``probity.procurement.selectors``: award
suppliers, bid tenderers and the parties of each release) and the ownership graph:

OWN-COI-PEP-SUPPLIER — why it signals risk: a supplier whose beneficial owner is a politically
exposed person (an official in a PEP position, a family member of one, a person the register or an
imported PEP list marks as exposed) is where public money most easily meets private interest. The
owner may be hidden behind holding companies or a nominee; the evidence names the chain.

OWN-COI-BIDDER-LINKS — why it signals risk: bidders who compete in the same contracting process but
share an address, a telephone number, a director or senior manager, or an owner are not independent
competitors; it is the classic trace of cover bidding and bid rotation.

An OCDS party is linked to a register entity by its identifier (scheme and id, e.g. ``XD-CR`` and the
company number, as org-id.guide lists them) and, failing that, by its normalised name when exactly one
entity carries it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.apps import apps
from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.detectors import Detector, Judgement, Parameter, register
from probity.core.models import FamilyRelation, Person, Position
from probity.ownership.effective import EffectiveOwnership, effective_ownership
from probity.ownership.graph import MANAGEMENT_TYPES, OwnershipGraph, graph_build, interval_label
from probity.ownership.models import Interest, Party
from probity.ownership.selectors import (
    RegisterIndex,
    cell_text,
    chain_text,
    chains_between,
    name_normalise,
    register_subject_key,
)
from probity.procurement.selectors import (
    compiled_releases_available,
    compiled_releases_iter,
    procurement_frame,
    procurement_parties,
    procurement_tables_missing,
)
from probity.warehouse.services import warehouse_connection

PROCUREMENT_TABLES = ("parties", "award_suppliers", "bid_tenderers")
# Columns a parties table may carry for contact points; read when present (the flattening of
# ``probity.procurement`` does not write contact points yet).
TELEPHONE_COLUMNS = ("contact_point_telephone", "telephone")
PEP_TOPICS = ("role.pep", "role.rca")

MISSING_TABLES = gettext_noop("The procurement tables are missing from the warehouse: %(tables)s.")
PEP_NA = gettext_noop("The supplier %(supplier)s is not found in the ownership register.")
PEP_FLAG = gettext_noop("A beneficial owner of the supplier is politically exposed: %(owners)s")
PEP_PASS = gettext_noop("None of the %(count)d beneficial owners of the supplier is politically exposed.")
LINKS_NA = gettext_noop("Fewer than two different bidders in this process.")
LINKS_FLAG = gettext_noop("Competing bidders are linked: %(links)s")
LINKS_PASS = gettext_noop("The %(count)d bidders share no address, telephone, director or owner.")


def telephone_normalise(text: str | None) -> str:
    """Digits only; fewer than six digits is no usable number."""
    digits = "".join(c for c in str(text or "") if c.isdigit())
    return digits if len(digits) >= 6 else ""


def address_normalise(street: str | None, locality: str | None, postal_code: str | None) -> str:
    """One comparable text for an address; empty when the street is not given (a city alone links nobody)."""
    if not name_normalise(text=street):
        return ""
    return " | ".join(name_normalise(text=part) for part in (street, postal_code, locality))


# --- procurement tables -------------------------------------------------------------------------


def _text(value: Any) -> str:
    return cell_text(value=value)


@dataclass
class ProcurementParty:
    """One party of one release (from ``procurement_parties``)."""

    ocid: str
    party_id: str
    name: str
    scheme: str
    identifier: str
    address: str
    address_text: str
    telephone: str

    @property
    def key(self) -> str:
        """The party across releases: its identifier if it has one, else its name."""
        if self.identifier:
            return f"{self.scheme}-{self.identifier}"
        return self.party_id or self.name


@dataclass
class ProcurementData:
    parties: dict[tuple[str, str], ProcurementParty]  # (ocid, party id) → party
    suppliers: list[tuple[str, str, str]]  # (ocid, supplier id, supplier name)
    tenderers: list[tuple[str, str, str]]  # (ocid, tenderer id, tenderer name)
    buyers: dict[str, str]  # ocid → buyer name
    has_telephones: bool


def procurement_missing_tables() -> list[str]:
    """The procurement tables this module needs that the warehouse does not have."""
    with warehouse_connection() as warehouse:
        return procurement_tables_missing(warehouse=warehouse, tables=PROCUREMENT_TABLES)


def procurement_data() -> ProcurementData:
    """Reads the tenderers, suppliers and parties of every process from the warehouse (Ibis, either engine)."""
    with warehouse_connection() as warehouse:
        frame = procurement_parties(
            warehouse=warehouse, columns=("street_address", "locality", "postal_code", *TELEPHONE_COLUMNS)
        )
        telephone = next((c for c in TELEPHONE_COLUMNS if c in frame.columns), None)
        suppliers = procurement_frame(
            warehouse=warehouse, table="award_suppliers", columns=("ocid", "supplier_id", "supplier_name")
        )
        tenderers = procurement_frame(
            warehouse=warehouse, table="bid_tenderers", columns=("ocid", "tenderer_id", "tenderer_name")
        )
    parties: dict[tuple[str, str], ProcurementParty] = {}
    buyers: dict[str, str] = {}
    for row in frame.to_dict("records"):
        ocid, pid = _text(row["ocid"]), _text(row["party_id"])
        roles = row.get("roles")
        if roles is not None and not isinstance(roles, str) and "buyer" in list(roles):
            buyers[ocid] = _text(row["name"])
        parties[(ocid, pid)] = ProcurementParty(
            ocid=ocid,
            party_id=pid,
            name=_text(row["name"]),
            scheme=_text(row["identifier_scheme"]),
            identifier=_text(row["identifier_id"]),
            address=address_normalise(row["street_address"], row["locality"], row["postal_code"]),
            address_text=", ".join(
                p for p in (_text(row["street_address"]), _text(row["postal_code"]), _text(row["locality"])) if p
            ),
            telephone=telephone_normalise(_text(row[telephone])) if telephone else "",
        )

    def triples(data: Any, a: str, b: str) -> list[tuple[str, str, str]]:
        return [(_text(r["ocid"]), _text(r[a]), _text(r[b])) for r in data.to_dict("records")]

    return ProcurementData(
        parties=parties,
        suppliers=triples(suppliers, "supplier_id", "supplier_name"),
        tenderers=triples(tenderers, "tenderer_id", "tenderer_name"),
        buyers=buyers,
        has_telephones=telephone is not None,
    )


def compiled_telephones(ocids: list[str]) -> dict[tuple[str, str], str] | None:
    """Telephone numbers of the parties of ``ocids`` from the compiled releases the procurement ingest
    stored (``ocds_compiled_release``), normalised to digits; None when there are none to read."""
    with warehouse_connection() as warehouse:
        if not compiled_releases_available(warehouse=warehouse):
            return None
    found: dict[tuple[str, str], str] = {}
    for compiled in compiled_releases_iter(ocids=ocids):
        for party in compiled.get("parties") or []:
            if not isinstance(party, dict):
                continue
            contact = party.get("contactPoint")
            number = telephone_normalise(contact.get("telephone")) if isinstance(contact, dict) else ""
            if number:
                found[(str(compiled.get("ocid", "")), str(party.get("id", "")))] = number
    return found


# --- the register side ----------------------------------------------------------------------------


def person_key(party: Party) -> str:
    """The same human across register records: the linked core person, else the record itself."""
    return f"person:{party.person_id}" if party.person_id else f"party:{party.pk}"


def managers_of(entity_ids: Iterable[int]) -> dict[int, list[tuple[Party, str]]]:
    """Board members, chairs and senior managing officials of each entity, from open relationships."""
    found: dict[int, list[tuple[Party, str]]] = defaultdict(list)
    ids = list(entity_ids)
    for start in range(0, len(ids), 500):
        interests = (
            Interest.objects.filter(
                type__in=MANAGEMENT_TYPES,
                relationship__closed=False,
                relationship__subject_id__in=ids[start : start + 500],
                relationship__interested_party__isnull=False,
                relationship__interested_party__closed=False,
            )
            .select_related("relationship__interested_party")
            .order_by("pk")
        )
        for interest in interests:
            relationship = interest.relationship
            assert relationship.interested_party is not None and relationship.subject_id is not None
            entry = (relationship.interested_party, interest.type)
            if entry not in found[relationship.subject_id]:
                found[relationship.subject_id].append(entry)
    return found


@dataclass
class Owner:
    party: Party
    share: str
    control: bool
    declared: bool
    direct: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "party_id": self.party.pk,
            "name": self.party.name or self.party.record_id,
            "kind": self.party.kind,
            "ownership": self.share,
            "control": self.control,
            "declared_beneficial_owner": self.declared,
            "direct": self.direct,
        }


def owners_at(
    graph: OwnershipGraph,
    effective: EffectiveOwnership,
    parties: Mapping[int, Party],
    subject_id: int,
    threshold: float,
    *,
    direct: bool = True,
) -> list[Owner]:
    """Ultimate owners at the threshold (or in control), declared beneficial owners and, if ``direct``,
    direct holders at the threshold: everyone who can be said to own the subject."""
    if subject_id not in graph.index:
        return []
    node = graph.index[subject_id]
    found: dict[int, Owner] = {}
    for share in effective.owners_of(node):
        party_id = graph.party_ids[share.party]
        is_declared = bool(graph.declared.get((party_id, subject_id), {}).get("beneficial"))
        if party_id == subject_id or party_id not in parties:
            continue
        if share.status(threshold) == "owner" or is_declared:
            found[party_id] = Owner(
                parties[party_id],
                interval_label(share.own_lo, share.own_hi) if share.own_hi else "",
                share.control,
                is_declared,
                False,
            )
    for (owner_id, declared_subject), declared in graph.declared.items():
        wanted = declared_subject == subject_id and declared.get("beneficial")
        if wanted and owner_id not in found and owner_id in parties:
            found[owner_id] = Owner(parties[owner_id], "", False, True, False)
    if direct:
        edges = graph.edges
        for k in np.flatnonzero(edges.subject == node):
            party_id = graph.party_ids[int(edges.owner[k])]
            if party_id in found or party_id not in parties:
                continue
            has_share = not np.isnan(edges.own_lo[k])
            own_lo = float(edges.own_lo[k]) if has_share else 0.0
            own_hi = float(edges.own_hi[k]) if has_share else 0.0
            if bool(edges.control[k]) or own_lo >= threshold - 1e-12:
                label = interval_label(own_lo, own_hi) if own_hi else ""
                found[party_id] = Owner(parties[party_id], label, bool(edges.control[k]), False, True)
    return sorted(found.values(), key=lambda o: (not o.party.is_person, o.party.name))


# --- politically exposed people ---------------------------------------------------------------------


@dataclass
class PepSources:
    """Why a core person or register person counts as politically exposed."""

    holders: dict[int, list[str]]  # core person id → PEP positions held
    relatives: dict[int, list[dict[str, Any]]]  # core person id → PEP officials they are family of
    listed_people: dict[int, list[str]]  # core person id → PEP list entries linked to them
    listed_names: dict[str, list[tuple[str, str]]]  # normalised name → (entry, birth date)
    list_available: bool

    @classmethod
    def build(cls) -> PepSources:
        holders: dict[int, list[str]] = defaultdict(list)
        for holder_id, title, body in Position.objects.filter(is_pep=True, holder__isnull=False).values_list(
            "holder_id", "title", "body__name"
        ):
            holders[holder_id].append(f"{title}, {body}" if body else str(title))
        relatives: dict[int, list[dict[str, Any]]] = defaultdict(list)
        names = {}
        if holders:
            rows = FamilyRelation.objects.filter(person_id__in=list(holders)).values_list(
                "person_id", "relative_id", "kind"
            )
            reverse = FamilyRelation.objects.filter(relative_id__in=list(holders)).values_list(
                "relative_id", "person_id", "kind"
            )
            names = dict(Person.objects.filter(pk__in=list(holders)).values_list("pk", "name"))
            for official, relative, kind in [*rows, *reverse]:
                relatives[relative].append(
                    {"official_person_id": official, "official": names.get(official, ""), "relation": kind}
                )
        listed_people, listed_names, available = _pep_list()
        return cls(dict(holders), dict(relatives), listed_people, listed_names, available)

    def reasons(self, party: Party) -> list[dict[str, Any]]:
        """Every reason a register person is politically exposed (empty: none found)."""
        found: list[dict[str, Any]] = []
        if party.is_pep:
            found.append({"source": "register", "detail": "politicalExposure: isPep"})
        if party.person_id in self.holders:
            for position in self.holders[party.person_id]:
                found.append({"source": "position", "detail": position, "person_id": party.person_id})
        for relation in self.relatives.get(party.person_id or -1, []):
            detail = f"{relation['relation']}: {relation['official']}"
            found.append({"source": "family", "detail": detail, **relation})
        for entry in self.listed_people.get(party.person_id or -1, []):
            found.append({"source": "pep_list", "detail": entry})
        if not any(r["source"] == "pep_list" for r in found):
            year = party.birth_date[:4]
            for name in (party.name, *party.other_names):
                for entry, birth in self.listed_names.get(name_normalise(text=name), []):
                    if not year or not birth or birth[:4] == year:
                        found.append({"source": "pep_list", "detail": entry, "matched_by": "name"})
        return found


def _pep_list() -> tuple[dict[int, list[str]], dict[str, list[tuple[str, str]]], bool]:
    """Politically exposed people from FollowTheMoney lists imported by the entities app, if it is there."""
    if not apps.is_installed("probity.entities"):
        return {}, {}, False
    try:
        entity_model = apps.get_model("entities", "Entity")
    except LookupError:
        return {}, {}, False
    people: dict[int, list[str]] = defaultdict(list)
    names: dict[str, list[tuple[str, str]]] = defaultdict(list)
    try:
        rows = entity_model.objects.filter(schema="Person").values_list(
            "caption", "dataset", "topics", "birth_date", "person_id", "properties"
        )
        for caption, dataset, topics, birth, person_id, properties in rows.iterator():
            if not isinstance(topics, list) or not set(topics) & set(PEP_TOPICS):
                continue
            entry = f"{caption} ({dataset})"
            if person_id:
                people[person_id].append(entry)
            all_names = {caption, *((properties or {}).get("name") or [])}
            for name in all_names:
                if name_normalise(text=name):
                    names[name_normalise(text=name)].append((entry, birth or ""))
    except DatabaseError:
        return {}, {}, False
    return dict(people), dict(names), True


# --- detectors --------------------------------------------------------------------------------------


def _missing_judgement(subject_type: str, missing: list[str]) -> Judgement:
    return Judgement(
        subject_type,
        "warehouse:procurement",
        "not_applicable",
        MISSING_TABLES,
        {"tables": ", ".join(missing)},
        subject_label="procurement tables",
        evidence={"reason": "missing_data: procurement tables", "missing_tables": missing},
    )


THRESHOLD = Parameter(
    "threshold", 25.0, _("beneficial-ownership threshold in percent (25 by default, 10 in some laws)"), float
)
DATASET = Parameter("dataset", "", _("only this register dataset (empty: all)"), str)


@register
class PepSupplier(Detector):
    """OWN-COI-PEP-SUPPLIER: suppliers whose beneficial owner is a politically exposed person."""

    code = "OWN-COI-PEP-SUPPLIER"
    title = _("Supplier owned by a politically exposed person")
    description = _(
        "For every supplier that won an award, finds the company in the ownership register (by identifier, "
        "else by name) and computes its beneficial owners through every chain of companies and nominees, "
        "adding the owners declared as beneficial. Flags the supplier when one of them is politically "
        "exposed: the holder of a position marked politically exposed, a family member of one, a person the "
        "register marks as exposed, or a person on an imported PEP list. Suppliers not in the register are "
        "not applicable."
    )
    subject_type = "organisation"
    # the procurement_* tables, the ownership register, core positions and family ties, imported PEP lists
    reads = ("procurement", "ownership", "core", "entities")
    fields = ("awards.suppliers", "parties.identifier", "relationship.interests", "position.is_pep", "familyrelation")
    parameters = (THRESHOLD, DATASET)

    def dataset(self) -> str:
        return "warehouse: procurement_award_suppliers, procurement_parties + ownership graph + core positions"

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        missing = procurement_missing_tables()
        if missing:
            yield _missing_judgement("organisation", missing)
            return
        data = procurement_data()
        threshold = float(params["threshold"]) / 100
        register_index = RegisterIndex.build(params["dataset"] or None)
        graph = graph_build(dataset=params["dataset"] or None)
        effective = effective_ownership(len(graph.party_ids), graph.edges)
        parties = {p.pk: p for p in Party.objects.filter(pk__in=set(graph.party_ids) | {o for o, _s in graph.declared})}
        peps = PepSources.build()
        awards: dict[str, dict[str, Any]] = {}
        for ocid, supplier_id, supplier_name in data.suppliers:
            party = data.parties.get((ocid, supplier_id))
            key = party.key if party else supplier_id or supplier_name
            entry = awards.setdefault(
                key,
                {
                    "name": (party.name if party else "") or supplier_name,
                    "scheme": party.scheme if party else "",
                    "identifier": party.identifier if party else "",
                    "ocids": [],
                },
            )
            if ocid not in entry["ocids"]:
                entry["ocids"].append(ocid)
        # One judgement per register entity: the same company may appear under several OCDS keys.
        linked: dict[int, tuple[Party, dict[str, Any], str, set[str]]] = {}
        for key in sorted(awards):
            supplier = awards[key]
            entity, linked_by = register_index.find(supplier["scheme"], supplier["identifier"], supplier["name"])
            if entity is None:
                processes = [{"ocid": o, "buyer": data.buyers.get(o, "")} for o in sorted(supplier["ocids"])]
                yield Judgement(
                    "organisation",
                    f"ocds:{key}",
                    "not_applicable",
                    PEP_NA,
                    {"supplier": supplier["name"]},
                    subject_label=supplier["name"],
                    evidence={"reason": "not_in_register", "supplier": supplier, "processes": processes},
                )
                continue
            if entity.pk in linked:
                linked[entity.pk][3].update(supplier["ocids"])
            else:
                linked[entity.pk] = (entity, supplier, linked_by, set(supplier["ocids"]))
        for entity, supplier, linked_by, ocids in linked.values():
            processes = [{"ocid": o, "buyer": data.buyers.get(o, "")} for o in sorted(ocids)]
            parties.setdefault(entity.pk, entity)
            owners = owners_at(graph, effective, parties, entity.pk, threshold, direct=False)
            person_owners = [o for o in owners if o.party.is_person]
            exposed = []
            for owner in person_owners:
                reasons = peps.reasons(owner.party)
                if reasons:
                    exposed.append(
                        {
                            **owner.as_dict(),
                            "pep_reasons": reasons,
                            "chains": chains_between(owner_id=owner.party.pk, subject_id=entity.pk),
                        }
                    )
            evidence: dict[str, Any] = {
                "supplier": {**supplier, "party_id": entity.pk, "linked_by": linked_by},
                "register_entity": {"party_id": entity.pk, "name": entity.name, "record_id": entity.record_id},
                "party_keys": [register_subject_key(party=entity)],
                "processes": processes,
                "owners": [o.as_dict() for o in owners],
                "pep_list_checked": peps.list_available,
                "threshold": float(params["threshold"]),
            }
            if exposed:
                evidence["exposed_owners"] = exposed
                described = []
                for found in exposed:
                    why = ", ".join(r["detail"] for r in found["pep_reasons"])
                    via = chain_text(chain=found["chains"][0]) if found["chains"] else ""
                    described.append(f"{found['name']} ({why})" + (f": {via}" if via else ""))
                yield Judgement(
                    "organisation",
                    register_subject_key(party=entity),
                    "flag",
                    PEP_FLAG,
                    {"owners": "; ".join(described)},
                    subject_label=entity.name,
                    score=1.0,
                    evidence=evidence,
                )
            else:
                yield Judgement(
                    "organisation",
                    register_subject_key(party=entity),
                    "pass",
                    PEP_PASS,
                    {"count": len(person_owners)},
                    subject_label=entity.name,
                    score=0.0,
                    evidence=evidence,
                )


@register
class BidderLinks(Detector):
    """OWN-COI-BIDDER-LINKS: competing bidders that share an address, telephone, director or owner."""

    code = "OWN-COI-BIDDER-LINKS"
    title = _("Competing bidders share an address, telephone, director or owner")
    description = _(
        "For every contracting process with bids from at least two different tenderers, compares each pair of "
        "them: the address and telephone number published for them in the release, and, for tenderers found "
        "in the ownership register, their board members and senior managers (the same record or the same "
        "person) and their owners (ultimate or direct, at the threshold, or in control). Flags the process "
        "with each linked pair and what they share."
    )
    subject_type = "process"
    reads = ("procurement", "ownership")  # procurement_* tables and compiled releases, the ownership register
    fields = ("bids.details.tenderers", "parties.address", "parties.contactPoint.telephone", "relationship.interests")
    parameters = (
        THRESHOLD,
        DATASET,
        Parameter(
            "checks",
            ["address", "telephone", "director", "owner"],
            _("what to compare (comma-separated: address, telephone, director, owner)"),
            list,
        ),
    )

    def dataset(self) -> str:
        return "warehouse: procurement_bid_tenderers, procurement_parties + ownership graph"

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        missing = procurement_missing_tables()
        if missing:
            yield _missing_judgement("process", missing)
            return
        checks = set(params["checks"])
        data = procurement_data()
        threshold = float(params["threshold"]) / 100
        register_index = RegisterIndex.build(params["dataset"] or None)
        bidders: dict[str, dict[str, ProcurementParty]] = defaultdict(dict)
        for ocid, tenderer_id, tenderer_name in data.tenderers:
            party = data.parties.get((ocid, tenderer_id)) or ProcurementParty(
                ocid, tenderer_id, tenderer_name, "", "", "", "", ""
            )
            bidders[ocid].setdefault(party.key, party)
        links: dict[str, tuple[Party | None, str]] = {}
        for ocid_bidders in bidders.values():
            for key, party in ocid_bidders.items():
                if key not in links:
                    links[key] = register_index.find(party.scheme, party.identifier, party.name)
        entity_ids = {entity.pk for entity, _how in links.values() if entity is not None}
        managers = managers_of(entity_ids) if "director" in checks else {}
        owners: dict[int, list[Owner]] = {}
        if "owner" in checks and entity_ids:
            graph = graph_build(dataset=params["dataset"] or None)
            effective = effective_ownership(len(graph.party_ids), graph.edges)
            parties = {p.pk: p for p in Party.objects.filter(pk__in=set(graph.party_ids))}
            for entity_id in entity_ids:
                owners[entity_id] = owners_at(graph, effective, parties, entity_id, threshold)
        not_checked: list[str] = []
        if "telephone" in checks and not data.has_telephones:
            contested = sorted(ocid for ocid, group in bidders.items() if len(group) > 1)
            telephones = compiled_telephones(contested) if contested else {}
            if telephones is None:
                not_checked.append("telephone: neither the procurement tables nor stored compiled releases")
            else:
                for ocid in contested:
                    for bidder in bidders[ocid].values():
                        bidder.telephone = telephones.get((ocid, bidder.party_id), "")
        for ocid in sorted(bidders):
            group = bidders[ocid]
            keys = sorted(group)
            label = f"{ocid} — {data.buyers[ocid]}" if data.buyers.get(ocid) else ocid
            if len(keys) < 2:
                yield Judgement(
                    "process",
                    ocid,
                    "not_applicable",
                    LINKS_NA,
                    {},
                    subject_label=label,
                    evidence={"reason": "fewer_than_two_bidders", "bidders": len(keys)},
                )
                continue
            pairs: list[dict[str, Any]] = []
            for i, first_key in enumerate(keys):
                for second_key in keys[i + 1 :]:
                    shared = self._shared(
                        group[first_key],
                        group[second_key],
                        links[first_key][0],
                        links[second_key][0],
                        checks,
                        managers,
                        owners,
                    )
                    if shared:
                        pairs.append(
                            {
                                "bidders": [self._bidder(group[k], links[k]) for k in (first_key, second_key)],
                                "shared": shared,
                            }
                        )
            party_keys = sorted(
                {register_subject_key(party=entity) for k in keys if (entity := links[k][0]) is not None}
            )
            evidence: dict[str, Any] = {
                "bidders": [self._bidder(group[k], links[k]) for k in keys],
                "party_keys": party_keys,
                "checks": sorted(checks),
            }
            if not_checked:
                evidence["not_checked"] = not_checked
            if pairs:
                evidence["pairs"] = pairs
                text = "; ".join(
                    f"{p['bidders'][0]['name']} ⟷ {p['bidders'][1]['name']}: "
                    + ", ".join(f"{s['what']} {s['value']}" for s in p["shared"])
                    for p in pairs
                )
                yield Judgement(
                    "process",
                    ocid,
                    "flag",
                    LINKS_FLAG,
                    {"links": text},
                    subject_label=label,
                    score=1.0,
                    evidence=evidence,
                )
            else:
                yield Judgement(
                    "process",
                    ocid,
                    "pass",
                    LINKS_PASS,
                    {"count": len(keys)},
                    subject_label=label,
                    score=0.0,
                    evidence=evidence,
                )

    @staticmethod
    def _bidder(party: ProcurementParty, link: tuple[Party | None, str]) -> dict[str, Any]:
        entity, how = link
        return {
            "party_id": party.party_id,
            "name": party.name,
            "identifier": f"{party.scheme}-{party.identifier}" if party.identifier else "",
            "register_party_id": entity.pk if entity else None,
            "linked_by": how,
        }

    @staticmethod
    def _shared(
        first: ProcurementParty,
        second: ProcurementParty,
        first_entity: Party | None,
        second_entity: Party | None,
        checks: set[str],
        managers: Mapping[int, list[tuple[Party, str]]],
        owners: Mapping[int, list[Owner]],
    ) -> list[dict[str, Any]]:
        shared: list[dict[str, Any]] = []
        if "address" in checks and first.address and first.address == second.address:
            shared.append({"what": "address", "value": first.address_text or second.address_text})
        if "telephone" in checks and first.telephone and first.telephone == second.telephone:
            shared.append({"what": "telephone", "value": first.telephone})
        if first_entity is None or second_entity is None or first_entity.pk == second_entity.pk:
            return shared
        if "director" in checks:
            theirs = {person_key(p): (p, role) for p, role in managers.get(second_entity.pk, [])}
            for person, role in managers.get(first_entity.pk, []):
                match = theirs.get(person_key(person))
                if match is not None:
                    shared.append(
                        {
                            "what": "director",
                            "value": person.name or person.record_id,
                            "roles": [role, match[1]],
                            "register_party_ids": sorted({person.pk, match[0].pk}),
                            "person_id": person.person_id,
                        }
                    )
        if "owner" in checks:
            theirs_owned = {
                (person_key(o.party) if o.party.is_person else f"party:{o.party.pk}"): o
                for o in owners.get(second_entity.pk, [])
            }
            for owner in owners.get(first_entity.pk, []):
                key = person_key(owner.party) if owner.party.is_person else f"party:{owner.party.pk}"
                match_owner = theirs_owned.get(key)
                if match_owner is not None:
                    shared.append(
                        {
                            "what": "owner",
                            "value": owner.party.name or owner.party.record_id,
                            "shares": [
                                owner.share or ("control" if owner.control else ""),
                                match_owner.share or ("control" if match_owner.control else ""),
                            ],
                            "chains": [
                                chain_text(chain=c)
                                for entity, holder in ((first_entity, owner), (second_entity, match_owner))
                                for c in chains_between(owner_id=holder.party.pk, subject_id=entity.pk, limit=1)
                            ],
                        }
                    )
        return shared
