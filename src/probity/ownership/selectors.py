"""Reads of the ownership app: parties, their ultimate beneficial owners, and the chains behind them.

Other modules read the register through this module: ``RegisterIndex`` links a record (an OCDS party, a
declared company) to the register's entities by identifier or normalised name (``name_normalise``),
``chains_between`` and ``chain_text`` show how a person holds a company, ``register_subject_key`` names
a register record in findings.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from probity.core.detectors import detector_registry
from probity.core.models import Finding
from probity.ownership.effective import EffectiveOwnership, OwnerShare, effective_ownership
from probity.ownership.graph import (
    ChainLink,
    OwnershipGraph,
    chains,
    downstream_party_ids,
    graph_build,
    interval_label,
    upstream_party_ids,
)
from probity.ownership.models import IngestBatch, IngestIssue, Party, Relationship

DEFAULT_THRESHOLD = 0.25
STATUS_LABELS = {
    "owner": _("Beneficial owner"),
    "possible": _("Possible owner (a share on the way is not known)"),
    "manager": _("Beneficial owner of last resort: manages the entity, as nobody owns or controls it"),
    "below": _("Below the threshold"),
    "not_found": _("Declared, but no chain makes them an owner"),
}


@dataclass
class BeneficialOwner:
    """An ultimate party of a subject with its computed shares, status and what was declared."""

    party: Party
    share: OwnerShare
    status: str  # owner / possible / manager / below / not_found
    declared: bool | None
    declared_shares: list[list[Any]] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def ownership_label(self) -> str:
        if self.share.own_hi <= 0:
            return ""
        label = interval_label(self.share.own_lo, self.share.own_hi)
        return label

    @property
    def voting_label(self) -> str:
        if self.share.vote_hi <= 0:
            return ""
        return interval_label(self.share.vote_lo, self.share.vote_hi)

    def as_dict(self) -> dict[str, Any]:
        return {
            "party_id": self.party.pk,
            "record_id": self.party.record_id,
            "name": self.party.name,
            "kind": self.party.kind,
            "is_pep": self.party.is_pep,
            "person_id": self.party.person_id,
            "organisation_id": self.party.organisation_id,
            "ownership": {"min": self.share.own_lo, "max": self.share.own_hi, "unknown": self.share.unknown},
            "voting": {"min": self.share.vote_lo, "max": self.share.vote_hi},
            "control": self.share.control,
            "manages": self.share.manage,
            "status": self.status,
            "declared_beneficial_owner": self.declared,
            "declared_shares": [{"min": s[0], "max": s[1], "direct_or_indirect": s[2]} for s in self.declared_shares],
        }


def parties_search(*, q: str = "", kind: str = "", dataset: str = "") -> QuerySet[Party]:
    queryset = Party.objects.all()
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(record_id__iexact=q) | Q(other_names__icontains=q))
    if kind:
        queryset = queryset.filter(kind=kind)
    if dataset:
        queryset = queryset.filter(dataset=dataset)
    return queryset.order_by("name", "pk")


@dataclass
class OwnershipView:
    """What the party page and the API show about one party."""

    party: Party
    graph: OwnershipGraph
    effective: EffectiveOwnership
    owners: list[BeneficialOwner]
    chains: list[list[ChainLink]]
    chains_truncated: bool
    parties: dict[int, Party]

    def chain_names(self) -> list[list[dict[str, Any]]]:
        shown = []
        for chain in self.chains:
            steps: list[dict[str, Any]] = []
            for link in chain:
                steps.append({"party": self.parties[link.owner_id], "label": link.label})
            steps.append({"party": self.parties[chain[-1].subject_id], "label": ""})
            shown.append(steps)
        return shown

    def graph_json(self) -> dict[str, Any]:
        """Nodes and edges for the interactive graph (read by ownership/graph.js)."""
        ids = {self.party.pk} | {link.owner_id for chain in self.chains for link in chain}
        ids |= {link.subject_id for chain in self.chains for link in chain}
        seen_edges = set()
        edges = []
        for chain in self.chains:
            for link in chain:
                key = (link.owner_id, link.subject_id)
                if key not in seen_edges:
                    seen_edges.add(key)
                    edges.append({"from": link.owner_id, "to": link.subject_id, "label": link.label})
        owner_status = {o.party.pk: o.status for o in self.owners}
        nodes = [
            {
                "id": pk,
                "name": self.parties[pk].name or self.parties[pk].record_id,
                "kind": self.parties[pk].kind,
                "subject": pk == self.party.pk,
                "status": owner_status.get(pk, ""),
                "pep": self.parties[pk].is_pep,
            }
            for pk in sorted(ids)
            if pk in self.parties
        ]
        return {"nodes": nodes, "edges": edges}


def beneficial_owners(
    *,
    graph: OwnershipGraph,
    effective: EffectiveOwnership,
    subject_id: int,
    parties: dict[int, Party],
    threshold: float = DEFAULT_THRESHOLD,
    inclusive: bool = True,
) -> list[BeneficialOwner]:
    """The ultimate parties of a subject with status at the threshold, plus declared owners not found."""
    found: list[BeneficialOwner] = []
    if subject_id not in graph.index:
        return found
    node = graph.index[subject_id]
    listed = set()
    for share in effective.owners_of(node):
        party_id = graph.party_ids[share.party]
        if party_id == subject_id:
            continue
        declared = graph.declared.get((party_id, subject_id), {})
        found.append(
            BeneficialOwner(
                party=parties[party_id],
                share=share,
                status=share.status(threshold, inclusive),
                declared=declared.get("beneficial"),
                declared_shares=declared.get("shares", []),
            )
        )
        listed.add(party_id)
    for (owner_id, declared_subject), declared in graph.declared.items():
        if declared_subject == subject_id and owner_id not in listed and declared.get("beneficial"):
            empty = OwnerShare(graph.index.get(owner_id, -1), 0.0, 0.0, 0.0, 0.0, False, False)
            found.append(
                BeneficialOwner(
                    party=parties[owner_id],
                    share=empty,
                    status="not_found",
                    declared=True,
                    declared_shares=declared.get("shares", []),
                )
            )
    if not any(o.status == "owner" for o in found):
        for owner in found:
            if owner.share.manage and owner.status == "below":
                owner.status = "manager"
    order = {"owner": 0, "manager": 1, "possible": 2, "not_found": 3, "below": 4}
    found.sort(key=lambda o: (order[o.status], not o.party.is_person, -o.share.own_hi, o.party.name))
    return found


def ownership_view(*, party: Party, threshold: float = DEFAULT_THRESHOLD, inclusive: bool = True) -> OwnershipView:
    """The owners of a party through every chain, computed on the part of the graph above it."""
    ids = upstream_party_ids(party.pk)
    graph = graph_build(party_ids=ids)
    effective = effective_ownership(len(graph.party_ids), graph.edges)
    declared_ids = {owner for owner, _subject in graph.declared}
    parties = {p.pk: p for p in Party.objects.filter(pk__in=set(graph.party_ids) | declared_ids | {party.pk})}
    owners = beneficial_owners(
        graph=graph, effective=effective, subject_id=party.pk, parties=parties, threshold=threshold, inclusive=inclusive
    )
    found, truncated = chains(graph, party.pk)
    return OwnershipView(party, graph, effective, owners, found, truncated, parties)


def holdings(*, party: Party, threshold: float = DEFAULT_THRESHOLD) -> list[dict[str, Any]]:
    """What a party owns or controls, directly or through chains, with its effective share in each."""
    below = downstream_party_ids(party.pk)
    ids: set[int] = set()
    for subject in below:
        ids |= upstream_party_ids(subject, limit=5000) if len(below) < 50 else {subject}
    ids |= below
    graph = graph_build(party_ids=ids)
    if party.pk not in graph.index:
        return []
    effective = effective_ownership(len(graph.party_ids), graph.edges)
    parties = {p.pk: p for p in Party.objects.filter(pk__in=below)}
    found = []
    for subject_id in sorted(below - {party.pk}):
        if subject_id not in graph.index:
            continue
        for share in effective.owners_of(graph.index[subject_id]):
            if graph.party_ids[share.party] == party.pk:
                found.append(
                    {
                        "party": parties[subject_id],
                        "share": share,
                        "status": share.status(threshold),
                        "ownership": interval_label(share.own_lo, share.own_hi) if share.own_hi else "",
                    }
                )
    return found


def direct_relationships(*, party: Party) -> QuerySet[Relationship]:
    return (
        Relationship.objects.filter(Q(subject=party) | Q(interested_party=party))
        .select_related("subject", "interested_party")
        .prefetch_related("interests")
        .order_by("closed", "record_id")
    )


def recent_batches(*, limit: int = 20) -> QuerySet[IngestBatch]:
    return IngestBatch.objects.order_by("-started_at")[:limit]


def batch_issues(*, batch: IngestBatch) -> QuerySet[IngestIssue]:
    return batch.issues.order_by("position", "pk")


CONFLICT_CODES = ("OWN-COI-OFFICIAL", "OWN-COI-PEP-SUPPLIER", "OWN-COI-BIDDER-LINKS")


@dataclass
class ConflictFinding:
    """A flagged conflict-of-interest finding that concerns a party, with the lines that explain it."""

    finding: Any
    title: str
    lines: list[str]


def _conflict_lines(code: str, evidence: dict[str, Any], party: Party) -> list[str] | None:
    """The chains and links of one finding's evidence, or None when the finding is not about ``party``."""
    key = register_subject_key(party=party)
    if code == "OWN-COI-PEP-SUPPLIER":
        exposed = evidence.get("exposed_owners", [])
        in_chain = any(step.get("party_id") == party.pk for o in exposed for c in o["chains"] for step in c)
        if key not in evidence.get("party_keys", []) and not in_chain:
            return None
        lines = []
        for owner in exposed:
            why = ", ".join(r.get("detail", "") for r in owner.get("pep_reasons", []))
            lines.append(f"{owner.get('name', '')}: {why}")
            lines += [chain_text(chain=chain) for chain in owner.get("chains", [])]
        return lines
    if code == "OWN-COI-BIDDER-LINKS":
        lines = []
        for pair in evidence.get("pairs", []):
            ids = {b.get("register_party_id") for b in pair["bidders"]}
            ids |= {i for s in pair["shared"] for i in s.get("register_party_ids", [])}
            if party.pk not in ids:
                continue
            names = " / ".join(b.get("name", "") for b in pair["bidders"])
            for shared in pair["shared"]:
                lines.append(f"{names}: {shared['what']} {shared['value']}")
                lines += list(shared.get("chains", []))
        return lines or None
    holdings = [
        h for h in evidence.get("holdings", []) if party.pk in (h.get("holder_party_id"), h.get("company_party_id"))
    ]
    if not holdings:
        return None
    return [
        f"{h['holder']} ({h['relation']}) → {h['company']}: "
        + interval_label(h["ownership"]["min"], h["ownership"]["max"])
        + (", control" if h.get("control") else "")
        for h in holdings
    ]


def party_conflicts(*, party: Party) -> list[ConflictFinding]:
    """Flags of the latest run of each conflict-of-interest detector that concern this party."""
    registry = detector_registry()
    found: list[ConflictFinding] = []
    for code in CONFLICT_CODES:
        latest = Finding.objects.filter(detector_code=code).order_by("-run_id").values_list("run_id", flat=True).first()
        if latest is None:
            continue
        flags = Finding.objects.filter(run_id=latest, outcome=Finding.Outcome.FLAG)
        for finding in flags.order_by("subject_label", "pk")[:5000]:
            evidence = dict(finding.evidence or {})
            if code == "OWN-COI-OFFICIAL" and party.person_id and finding.subject_id == str(party.person_id):
                # The official themself: every holding of the family concerns them.
                evidence["holdings"] = [{**h, "holder_party_id": party.pk} for h in evidence.get("holdings", [])]
            lines = _conflict_lines(code, evidence, party)
            if lines is not None:
                found.append(ConflictFinding(finding, str(registry[code].title) if code in registry else code, lines))
    return found


# --- linking other records to the register --------------------------------------------------------


def register_subject_key(*, party: Party) -> str:
    """The subject id of a register record in findings: ``bods:<dataset>:<record id>``."""
    return f"bods:{party.dataset}:{party.record_id}"


_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]")


def name_normalise(*, text: str | None) -> str:
    """Case, accents, punctuation and spacing removed: ``"Alpha  Trade, Ltd."`` → ``"alpha trade ltd"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", stripped)).strip()


def cell_text(*, value: Any) -> str:
    """A cell of a frame read from the warehouse as text: ``""`` for a missing value (None, NaN, NaT)."""
    if value is None:
        return ""
    try:
        import pandas as pd  # a third of a second: imported by the first frame, not at start-up

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


@dataclass
class RegisterIndex:
    """Open entity records of the register by identifier and by normalised name: how other records (an
    OCDS party, a declared company) are linked to the register's entities."""

    by_identifier: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    by_name: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    parties: dict[int, Party] = field(default_factory=dict)

    @classmethod
    def build(cls, dataset: str | None = None) -> RegisterIndex:
        index = cls()
        entities = Party.objects.filter(kind=Party.Kind.ENTITY, closed=False)
        if dataset:
            entities = entities.filter(dataset=dataset)
        for party in entities.iterator():
            index.parties[party.pk] = party
            for identifier in party.identifiers:
                value = str(identifier.get("id", "")).strip()
                if value:
                    index.by_identifier[(str(identifier.get("scheme", "")).upper(), value)].add(party.pk)
            for name in (party.name, *party.other_names):
                if name_normalise(text=name):
                    index.by_name[name_normalise(text=name)].add(party.pk)
        return index

    def find(self, scheme: str, identifier: str, name: str) -> tuple[Party | None, str]:
        """The register entity of an OCDS party and how it was found (``identifier`` / ``name`` / "")."""
        if identifier:
            found = self.by_identifier.get((scheme.upper(), identifier.strip()), set())
            if len(found) == 1:
                return self.parties[next(iter(found))], "identifier"
        found = self.by_name.get(name_normalise(text=name), set())
        if len(found) == 1:
            return self.parties[next(iter(found))], "name"
        return None, ""


def chains_between(*, owner_id: int, subject_id: int, limit: int = 5) -> list[list[dict[str, Any]]]:
    """The chains from ``owner_id`` down to ``subject_id``: who, through which companies, with which shares."""
    graph = graph_build(party_ids=upstream_party_ids(subject_id))
    found, _truncated = chains(graph, subject_id)
    ids = {link.owner_id for chain in found for link in chain} | {subject_id}
    names = {p.pk: p.name or p.record_id for p in Party.objects.filter(pk__in=ids)}
    shown = []
    for chain in found:
        if chain[0].owner_id != owner_id:
            continue
        shown.append(
            [{"party_id": link.owner_id, "name": names.get(link.owner_id, ""), "holds": link.label} for link in chain]
            + [{"party_id": subject_id, "name": names.get(subject_id, ""), "holds": ""}]
        )
        if len(shown) >= limit:
            break
    return shown


def chain_text(*, chain: list[dict[str, Any]]) -> str:
    """``A —60 %→ B —100 %→ C``."""
    parts = [chain[0]["name"]]
    for step, following in zip(chain, chain[1:], strict=False):
        parts.append(f"—{step['holds']}→ {following['name']}")
    return " ".join(parts)
