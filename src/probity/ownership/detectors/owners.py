"""Detectors of the ownership register: declared versus computed beneficial owners, data quality, and
officials who own or control companies.

OWN-BO-MISMATCH — why it signals risk: a register records who the declarant *says* the beneficial
owners are; the chain of shareholdings and control recorded beside it says who they *are*. A
declared owner whom no chain can make an owner, an owner the chains reveal but nobody declared, or a
declared share outside what the chains allow, is either a filing error or a concealed owner.

OWN-DATA-QUALITY — why it matters: shares over 100 %, self-ownership, dangling references, codes
outside the codelists, empty or mixed-script names make every computation above them unreliable;
each is kept and reported, so analysts know which results to doubt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.detectors import Detector, Judgement, Parameter, register
from probity.core.models import FamilyRelation, Person, Position
from probity.ownership.effective import effective_ownership
from probity.ownership.graph import graph_build
from probity.ownership.models import IngestIssue, Party, Relationship
from probity.ownership.selectors import beneficial_owners, register_subject_key

MISMATCH_NA = gettext_noop("No beneficial owner is declared for this entity.")
MISMATCH_FLAG = gettext_noop("Declared and computed beneficial owners disagree: %(problems)s")
MISMATCH_PASS = gettext_noop("The %(count)d declared beneficial owners agree with the ownership chains.")
QUALITY_FLAG = gettext_noop("Data-quality problems: %(problems)s")
QUALITY_PASS = gettext_noop("No data-quality problem was found in this record.")


def _subject_type(party: Party) -> str:
    return "person" if party.kind == Party.Kind.PERSON else "organisation"


@register
class BeneficialOwnerMismatch(Detector):
    code = "OWN-BO-MISMATCH"
    title = _("Declared and computed beneficial owners disagree")
    description = _(
        "Compares, for each entity in the ownership register, the people declared as beneficial owners "
        "with the owners computed through every chain of shareholdings, votes and control. Flags a "
        "declared owner whom the chains cannot make an owner at the threshold, a declared share outside "
        "the computed range, and an owner the chains reveal who was not declared. Entities without any "
        "declared owner are not applicable."
    )
    subject_type = "organisation"
    reads = ("ownership",)
    fields = ("relationship.interests.beneficialOwnershipOrControl", "relationship.interests.share")
    parameters = (
        Parameter(
            "threshold", 25.0, _("beneficial-ownership threshold in percent (25 by default, 10 in some laws)"), float
        ),
        Parameter("inclusive", True, _("a share equal to the threshold counts"), bool),
        Parameter("dataset", "", _("only this dataset (empty: all)"), str),
    )

    def dataset(self) -> str:
        return "ownership.relationship + ownership.interest"

    def count_subjects(self) -> int:
        return Party.objects.filter(kind=Party.Kind.ENTITY, closed=False).count()

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        threshold = float(params["threshold"]) / 100
        graph = graph_build(dataset=params["dataset"] or None)
        effective = effective_ownership(len(graph.party_ids), graph.edges)
        subjects = Party.objects.filter(kind=Party.Kind.ENTITY, closed=False)
        if params["dataset"]:
            subjects = subjects.filter(dataset=params["dataset"])
        parties = {p.pk: p for p in Party.objects.filter(pk__in=set(graph.party_ids) | {o for o, _s in graph.declared})}
        unspecified = set(
            Relationship.objects.filter(closed=False, unspecified_reason="noBeneficialOwners").values_list(
                "subject_id", flat=True
            )
        )
        for subject in subjects.iterator():
            parties.setdefault(subject.pk, subject)
            owners = beneficial_owners(
                graph=graph,
                effective=effective,
                subject_id=subject.pk,
                parties=parties,
                threshold=threshold,
                inclusive=bool(params["inclusive"]),
            )
            declared = [o for o in owners if o.declared]
            problems: list[str] = []
            evidence_owners = [o.as_dict() for o in owners if o.status != "below" or o.declared]
            for owner in declared:
                if owner.status in ("below", "not_found"):
                    problems.append(
                        f"{owner.party.name or owner.party.record_id}: declared, not an owner by the chains"
                    )
                for low, high, _kind in owner.declared_shares:
                    if high < owner.share.own_lo - 1e-6 or low > owner.share.own_hi + 1e-6:
                        problems.append(
                            f"{owner.party.name or owner.party.record_id}: declared {low * 100:g} %, "
                            f"computed {owner.ownership_label or '0 %'}"
                        )
            if declared or subject.pk in unspecified:
                for owner in owners:
                    if owner.status == "owner" and owner.party.is_person and not owner.declared:
                        problems.append(
                            f"{owner.party.name or owner.party.record_id}: an owner by the chains, not declared"
                        )
            if not declared and subject.pk not in unspecified:
                yield Judgement(
                    "organisation",
                    register_subject_key(party=subject),
                    "not_applicable",
                    MISMATCH_NA,
                    {},
                    subject_label=subject.name,
                    evidence={"reason": "no_declared_owner", "owners": evidence_owners},
                )
            elif problems:
                yield Judgement(
                    "organisation",
                    register_subject_key(party=subject),
                    "flag",
                    MISMATCH_FLAG,
                    {"problems": "; ".join(problems)},
                    subject_label=subject.name,
                    score=1.0,
                    evidence={
                        "problems": problems,
                        "owners": evidence_owners,
                        "party_id": subject.pk,
                        "organisation_id": subject.organisation_id,
                    },
                )
            else:
                yield Judgement(
                    "organisation",
                    register_subject_key(party=subject),
                    "pass",
                    MISMATCH_PASS,
                    {"count": len(declared)},
                    subject_label=subject.name,
                    score=0.0,
                    evidence={"owners": evidence_owners, "party_id": subject.pk},
                )


@register
class OwnershipDataQuality(Detector):
    code = "OWN-DATA-QUALITY"
    title = _("Beneficial-ownership data quality")
    description = _(
        "Reports, for every entity and person record of the ownership register, the problems found at "
        "ingest or in the graph: shares over 100 % (alone or added up), self-ownership, references to "
        "records that do not exist, persons recorded as owned, codes outside the BODS codelists, empty "
        "names and names mixing scripts. The records are kept; the flag says which results to doubt."
    )
    subject_type = "organisation"
    reads = ("ownership",)
    fields = ("statement", "relationship.interests.share")
    parameters = (Parameter("dataset", "", _("only this dataset (empty: all)"), str),)

    def dataset(self) -> str:
        return "ownership.ingestissue + ownership graph"

    def count_subjects(self) -> int:
        return Party.objects.filter(closed=False).count()

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        dataset = params["dataset"] or None
        problems: dict[tuple[str, str], list[str]] = defaultdict(list)
        issues = IngestIssue.objects.filter(severity=IngestIssue.Severity.WARNING).exclude(record_id="")
        if dataset:
            issues = issues.filter(dataset=dataset)
        subject_of = {
            (r.dataset, r.record_id): r.subject_ref
            for r in Relationship.objects.filter(**({"dataset": dataset} if dataset else {})).only(
                "dataset", "record_id", "subject_ref"
            )
        }
        for issue in issues.order_by("pk").iterator():
            record = subject_of.get((issue.dataset, issue.record_id), issue.record_id)
            text = f"{issue.code}: {issue.message}"
            if text not in problems[(issue.dataset, record)]:
                problems[(issue.dataset, record)].append(text)
        graph = graph_build(dataset=dataset)
        effective = effective_ownership(len(graph.party_ids), graph.edges)
        over = {graph.party_ids[i] for i in effective.overallocated}
        parties = Party.objects.filter(closed=False)
        if dataset:
            parties = parties.filter(dataset=dataset)
        for party in parties.iterator():
            found = list(problems.get((party.dataset, party.record_id), []))
            if party.pk in over:
                found.append("shares_over_100: the recorded shares in this entity add up to more than 100 %")
            subject_type = _subject_type(party)
            if found:
                yield Judgement(
                    subject_type,
                    register_subject_key(party=party),
                    "flag",
                    QUALITY_FLAG,
                    {"problems": "; ".join(found)},
                    subject_label=party.name or party.record_id,
                    score=0.5,
                    evidence={"problems": found, "party_id": party.pk},
                )
            else:
                yield Judgement(
                    subject_type,
                    register_subject_key(party=party),
                    "pass",
                    QUALITY_PASS,
                    {},
                    subject_label=party.name or party.record_id,
                    score=0.0,
                    evidence={"party_id": party.pk},
                )


COI_NA = gettext_noop("Neither the official nor a family member is linked to the ownership register.")
COI_FLAG = gettext_noop("The official or a family member owns or controls %(count)d companies: %(companies)s")
COI_PASS = gettext_noop("The official and the %(family)d family members in the register own or control no company.")


@register
class OfficialOwnsCompany(Detector):
    """OWN-COI-OFFICIAL: companies that an official or a family member owns or controls, directly or through chains.

    Why it signals risk: an official who holds, or whose spouse, child, parent or sibling holds, a
    company, directly, through holding companies or through a nominee, has a private interest in
    every decision that touches it; undeclared, it is the first thing a conflict-of-interest check
    looks for. The official is the subject; the evidence names each company, who in the family holds
    it, the effective share (a range where a share is unknown), and whether they control it.
    """

    code = "OWN-COI-OFFICIAL"
    title = _("Official or family member owns or controls a company")
    description = _(
        "For every holder of a public position, looks up the official and their family (spouse, children, "
        "parents, siblings, other relatives) in the beneficial-ownership register and lists every company "
        "they own or control, directly or through chains of companies, arrangements and nominees. Flags an "
        "official with at least one such company; officials whose family is not in the register are not "
        "applicable."
    )
    subject_type = "person"
    reads = ("ownership", "core")  # the register, and core positions and family ties
    fields = ("position.holder", "familyrelation", "ownership.party.person", "relationship.interests")
    parameters = (
        Parameter(
            "min_share", 0.0, _("smallest effective share in percent that counts (0: any share or control)"), float
        ),
        Parameter("pep_only", False, _("only politically exposed positions"), bool),
    )

    def dataset(self) -> str:
        return "core.position + core.familyrelation + ownership graph"

    def count_subjects(self) -> int:
        return Position.objects.filter(holder__isnull=False).values("holder").distinct().count()

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        positions = Position.objects.filter(holder__isnull=False)
        if params["pep_only"]:
            positions = positions.filter(is_pep=True)
        official_ids = sorted(set(positions.values_list("holder_id", flat=True)))
        family: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for person_id, relative_id, kind in FamilyRelation.objects.filter(person_id__in=official_ids).values_list(
            "person_id", "relative_id", "kind"
        ):
            family[person_id].append((relative_id, kind))
        for person_id, relative_id, kind in FamilyRelation.objects.filter(relative_id__in=official_ids).values_list(
            "person_id", "relative_id", "kind"
        ):
            family[relative_id].append((person_id, kind))
        people: dict[int, list[tuple[int, str]]] = {}
        for official in official_ids:
            people[official] = [(official, "self"), *family.get(official, [])]
        wanted = {pid for members in people.values() for pid, _kind in members}
        parties_of: dict[int, list[Party]] = defaultdict(list)
        for party in Party.objects.filter(person_id__in=wanted, closed=False):
            assert party.person_id is not None
            parties_of[party.person_id].append(party)
        graph = graph_build()
        effective = effective_ownership(len(graph.party_ids), graph.edges)
        names = dict(Person.objects.filter(pk__in=official_ids).values_list("pk", "name"))
        minimum = float(params["min_share"]) / 100
        party_names = dict(Party.objects.filter(pk__in=graph.party_ids).values_list("pk", "name"))
        party_kinds = dict(Party.objects.filter(pk__in=graph.party_ids).values_list("pk", "kind"))
        for official in official_ids:
            members = people[official]
            linked = [(party, kind) for pid, kind in members for party in parties_of.get(pid, [])]
            label = names.get(official, "")
            if not linked:
                yield Judgement(
                    "person",
                    str(official),
                    "not_applicable",
                    COI_NA,
                    {},
                    subject_label=label,
                    evidence={"reason": "not_in_register", "family_checked": len(members)},
                )
                continue
            holdings: list[dict[str, Any]] = []
            for party, kind in linked:
                if party.pk not in graph.index:
                    continue
                for node, share in effective.holdings_of(graph.index[party.pk]).items():
                    company = graph.party_ids[node]
                    if party_kinds.get(company) != Party.Kind.ENTITY:
                        continue
                    if not (share.control or share.manage or share.own_hi > minimum or share.vote_hi > minimum):
                        continue
                    if minimum and not (share.control or share.own_hi >= minimum or share.vote_hi >= minimum):
                        continue
                    holdings.append(
                        {
                            "company_party_id": company,
                            "company": party_names.get(company, ""),
                            "holder_party_id": party.pk,
                            "holder": party.name,
                            "relation": kind,
                            "ownership": {"min": share.own_lo, "max": share.own_hi, "unknown": share.unknown},
                            "control": share.control,
                            "manages": share.manage,
                        }
                    )
            if holdings:
                companies = sorted({h["company"] for h in holdings})
                yield Judgement(
                    "person",
                    str(official),
                    "flag",
                    COI_FLAG,
                    {"count": len(companies), "companies": "; ".join(companies)},
                    subject_label=label,
                    score=1.0,
                    evidence={"holdings": holdings},
                )
            else:
                yield Judgement(
                    "person",
                    str(official),
                    "pass",
                    COI_PASS,
                    {"family": len(linked)},
                    subject_label=label,
                    score=0.0,
                    evidence={"linked_parties": [p.pk for p, _k in linked]},
                )
