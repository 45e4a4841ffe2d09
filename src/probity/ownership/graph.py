"""The ownership graph: which stored relationships become edges, with which shares, and the chains behind them.

Rules (docs/reference/ownership.md explains why):

* Only open records count: a closed party or relationship, or an interest whose ``endDate`` has
  passed, is history.
* An *indirect* interest on a relationship that lists its ``componentRecords`` is a declared summary
  of a chain whose links are also in the data: it is kept as the *declared* value and not added as
  an edge (that would count the chain twice). An indirect interest without components is the only
  trace of that chain and is an edge.
* Economic share: ``shareholding`` first, else another economic interest (rights to profit, to surplus
  assets, beneficiary of an arrangement); an interest of unknown or unpublished type, or an economic
  interest without a share, is ``[0, 100 %]`` and marked unknown.
* Votes: ``votingRights``, else the shareholding (one share, one vote).
* Control: appointment of the board, other influence or control, control through articles or the
  legal framework, settlor, trustee, protector,
  nominator, and a voting majority (lower bound over 50 %). A beneficiary of a trust or other
  arrangement counts here too: the beneficial-ownership rules for trusts name every settlor,
  trustee, protector and beneficiary, whatever their share.
* Management: a board seat (member or chair) or senior managing official is not control; where
  nobody owns or controls an entity at the threshold, those who manage it (directly or through a
  chain of control) are its beneficial owners of last resort, as the FATF standard says.
* A nominee holds for somebody else: the ``nominee`` interest gives neither ownership nor control;
  the ``nominator`` of a nomination arrangement takes all of it.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.db.models import Q
from django.utils.translation import gettext

from probity.ownership.effective import EXCLUSIVE_EPSILON, EdgeArrays
from probity.ownership.models import Party, Relationship

ECONOMIC_TYPES = (
    "shareholding",
    "rightsToProfitOrIncome",
    "rightsToSurplusAssetsOnDissolution",
    "rightToProfitOrIncomeFromAssets",
    "beneficiaryOfLegalArrangement",
    "enjoymentAndUseOfAssets",
)
UNKNOWN_TYPES = ("", "unknownInterest", "unpublishedInterest")
CONTROL_TYPES = frozenset(
    {
        "appointmentOfBoard",
        "otherInfluenceOrControl",
        "controlViaCompanyRulesOrArticles",
        "controlByLegalFramework",
        "settlor",
        "trustee",
        "protector",
        "nominator",
        "beneficiaryOfLegalArrangement",  # a role that makes a beneficial owner of a trust whatever the share
    }
)
MANAGEMENT_TYPES = frozenset({"boardMember", "boardChair", "seniorManagingOfficial"})
NO_INTEREST_TYPES = frozenset({"nominee"})
MAX_CHAINS = 200


def share_interval(interest: Any) -> tuple[float, float] | None:
    """An interest's share as a fraction interval, or None when no share was given."""
    if interest.share_exact is not None:
        value = min(max(interest.share_exact / 100, 0.0), 1.0)
        return value, value
    if interest.share_minimum is None and interest.share_maximum is None:
        return None
    lo = (interest.share_minimum or 0.0) / 100
    hi = (interest.share_maximum if interest.share_maximum is not None else 100.0) / 100
    if interest.minimum_exclusive and interest.share_minimum is not None:
        lo += EXCLUSIVE_EPSILON
    if interest.maximum_exclusive and interest.share_maximum is not None:
        hi -= EXCLUSIVE_EPSILON
    lo, hi = min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)
    return (lo, hi) if lo <= hi else (hi, lo)


def _is_current(interest: Any, today: date) -> bool:
    return not interest.end_date or interest.end_date[:10] >= today.isoformat()


def counted_interests(interests: Iterable[Any], has_components: bool, today: date | None = None) -> list[Any]:
    """The interests that describe a direct link (see the module docstring)."""
    today = today or date.today()
    return [
        i for i in interests if _is_current(i, today) and not (i.direct_or_indirect == "indirect" and has_components)
    ]


@dataclass(frozen=True)
class EdgeValues:
    own: tuple[float, float] | None
    own_unknown: bool
    vote: tuple[float, float] | None
    control: bool
    manage: bool = False


def _summed(intervals: list[tuple[float, float]]) -> tuple[float, float]:
    return min(sum(i[0] for i in intervals), 1.0), min(sum(i[1] for i in intervals), 1.0)


def edge_values(interests: list[Any]) -> EdgeValues | None:
    """What one relationship contributes to the graph, from its counted interests; None if nothing."""
    if not interests:
        return None
    own: tuple[float, float] | None = None
    own_unknown = False
    vote: tuple[float, float] | None = None
    control = False
    types = {i.type or "" for i in interests}
    if types <= NO_INTEREST_TYPES:
        return None
    by_type: dict[str, list[Any]] = defaultdict(list)
    for interest in interests:
        by_type[interest.type or ""].append(interest)
    for kind in ECONOMIC_TYPES:
        if kind in by_type:
            shares = [share_interval(i) for i in by_type[kind]]
            if any(s is None for s in shares):
                own, own_unknown = (0.0, 1.0), True
            else:
                own = _summed([s for s in shares if s is not None])
            break
    if own is None and "nominator" in by_type:
        own = (1.0, 1.0)  # the nominator takes what the nomination holds
    if types & set(UNKNOWN_TYPES):
        if own is None:
            own, own_unknown = (0.0, 1.0), True
        if "votingRights" not in by_type and "shareholding" not in by_type:
            vote = (0.0, 1.0)
    if "votingRights" in by_type:
        shares = [share_interval(i) for i in by_type["votingRights"]]
        vote = (0.0, 1.0) if any(s is None for s in shares) else _summed([s for s in shares if s is not None])
    elif "shareholding" in by_type or "nominator" in by_type:
        vote = own
    if vote is not None and vote[0] > 0.5:
        control = True
    control = control or bool(types & CONTROL_TYPES)
    manage = bool(types & MANAGEMENT_TYPES)
    if own is None and vote is None and not control and not manage:
        return None
    return EdgeValues(own=own, own_unknown=own_unknown, vote=vote, control=control, manage=manage)


@dataclass
class OwnershipGraph:
    """The graph as arrays for ``effective_ownership``, with the party behind each node index."""

    party_ids: list[int]
    index: dict[int, int]
    edges: EdgeArrays
    is_person: list[bool]
    declared: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    edge_relationships: dict[tuple[int, int], list[int]] = field(default_factory=dict)


def _relationships(party_ids: set[int] | None, dataset: str | None) -> list[Relationship]:
    queryset = Relationship.objects.filter(
        closed=False,
        subject__isnull=False,
        interested_party__isnull=False,
        subject__closed=False,
        interested_party__closed=False,
    ).select_related("subject", "interested_party")
    if dataset:
        queryset = queryset.filter(dataset=dataset)
    if party_ids is not None:
        queryset = queryset.filter(subject_id__in=party_ids)
    return list(queryset.prefetch_related("interests"))


def graph_build(*, dataset: str | None = None, party_ids: set[int] | None = None) -> OwnershipGraph:
    """The graph of all open relationships (of one dataset, or into the given subject parties)."""
    relationships = _relationships(party_ids, dataset)
    nodes: dict[int, Party] = {}
    for rel in relationships:
        assert rel.subject is not None and rel.interested_party is not None
        nodes[rel.subject.pk] = rel.subject
        nodes[rel.interested_party.pk] = rel.interested_party
    if party_ids is not None:
        for party in Party.objects.filter(pk__in=party_ids - set(nodes)):
            nodes[party.pk] = party
    ordered = sorted(nodes)
    index = {pk: i for i, pk in enumerate(ordered)}
    rows: list[tuple[int, int, float, float, bool, float, float, bool]] = []
    manage: list[bool] = []
    declared: dict[tuple[int, int], dict[str, Any]] = {}
    edge_relationships: dict[tuple[int, int], list[int]] = defaultdict(list)
    today = date.today()
    for rel in relationships:
        subject, owner = rel.subject, rel.interested_party
        assert subject is not None and owner is not None
        if subject.kind != Party.Kind.ENTITY or subject.pk == owner.pk:
            continue  # reported as data-quality issues; no edge can be built from them
        interests = list(rel.interests.all())
        for interest in interests:
            if interest.beneficial_ownership_or_control is not None and _is_current(interest, today):
                entry = declared.setdefault((owner.pk, subject.pk), {"beneficial": False, "shares": []})
                entry["beneficial"] = entry["beneficial"] or bool(interest.beneficial_ownership_or_control)
                interval = share_interval(interest)
                if interval is not None and interest.type in ("shareholding", ""):
                    entry["shares"].append([interval[0], interval[1], interest.direct_or_indirect])
        values = edge_values(counted_interests(interests, bool(rel.component_records), today))
        if values is None:
            continue
        nan = math.nan
        rows.append(
            (
                index[owner.pk],
                index[subject.pk],
                values.own[0] if values.own else nan,
                values.own[1] if values.own else nan,
                values.own_unknown,
                values.vote[0] if values.vote else nan,
                values.vote[1] if values.vote else nan,
                values.control,
            )
        )
        manage.append(values.manage)
        edge_relationships[(owner.pk, subject.pk)].append(rel.pk)
    edges = EdgeArrays.from_lists(rows)
    edges.manage = np.asarray(manage, dtype=np.bool_)
    return OwnershipGraph(
        party_ids=ordered,
        index=index,
        edges=edges,
        is_person=[nodes[pk].kind == Party.Kind.PERSON for pk in ordered],
        declared=declared,
        edge_relationships=dict(edge_relationships),
    )


def upstream_party_ids(party_id: int, limit: int = 20000) -> set[int]:
    """The party and everyone who owns or controls it through any chain (cycles end the walk)."""
    seen = {party_id}
    queue = deque([party_id])
    while queue and len(seen) < limit:
        batch = [queue.popleft() for _ in range(min(len(queue), 500))]
        owners = Relationship.objects.filter(
            subject_id__in=batch, closed=False, interested_party__isnull=False
        ).values_list("interested_party_id", flat=True)
        for owner in owners:
            if owner is not None and owner not in seen:
                seen.add(owner)
                queue.append(owner)
    return seen


def downstream_party_ids(party_id: int, limit: int = 20000) -> set[int]:
    """Everything the party owns or controls, directly or through chains."""
    seen = {party_id}
    queue = deque([party_id])
    while queue and len(seen) < limit:
        batch = [queue.popleft() for _ in range(min(len(queue), 500))]
        held = Relationship.objects.filter(
            interested_party_id__in=batch, closed=False, subject__isnull=False
        ).values_list("subject_id", flat=True)
        for subject in held:
            if subject is not None and subject not in seen:
                seen.add(subject)
                queue.append(subject)
    return seen


@dataclass
class ChainLink:
    owner_id: int
    subject_id: int
    label: str
    relationship_ids: list[int]


def chains(graph: OwnershipGraph, subject_id: int, max_depth: int = 12) -> tuple[list[list[ChainLink]], bool]:
    """Every chain of edges from an ultimate party down to ``subject_id`` (no party twice in a chain).

    Returns the chains (owner first) and whether the list was cut at ``MAX_CHAINS``. A chain that
    meets a party already on it stops there: that is where a cycle closes.
    """
    into: dict[int, list[tuple[int, str]]] = defaultdict(list)
    edges = graph.edges
    for k in range(len(edges)):
        owner = graph.party_ids[int(edges.owner[k])]
        subject = graph.party_ids[int(edges.subject[k])]
        into[subject].append((owner, edge_label(edges, k)))
    found: list[list[ChainLink]] = []
    truncated = False

    def walk(node: int, path: list[ChainLink], on_path: set[int]) -> None:
        nonlocal truncated
        if len(found) >= MAX_CHAINS:
            truncated = True
            return
        owners = into.get(node, [])
        ended = not owners or len(path) >= max_depth
        if ended and path:
            found.append(list(reversed(path)))
            return
        for owner, label in owners:
            link = ChainLink(owner, node, label, graph.edge_relationships.get((owner, node), []))
            if owner in on_path:
                found.append(list(reversed([*path, link])))
                continue
            walk(owner, [*path, link], on_path | {owner})

    walk(subject_id, [], {subject_id})
    return found, truncated


def percent(value: float) -> str:
    return f"{value * 100:.4g} %"


def interval_label(lo: float, hi: float) -> str:
    if abs(hi - lo) < 1e-6:
        return percent(lo)
    return f"{percent(lo)} – {percent(hi)}"


def edge_label(edges: EdgeArrays, k: int) -> str:
    parts = []
    if not np.isnan(edges.own_lo[k]):
        parts.append("?" if edges.own_unknown[k] else interval_label(float(edges.own_lo[k]), float(edges.own_hi[k])))
    if edges.control[k]:
        parts.append(gettext("control"))
    elif edges.manage is not None and edges.manage[k]:
        parts.append(gettext("board or management"))
    return ", ".join(parts)


def dataset_filter(dataset: str | None) -> Q:
    return Q(dataset=dataset) if dataset else Q()
