"""Selection of declarations for full verification, and the verifier's workflow (issue 5, item 4).

* **Risk queue** (``risk_queue``, ``select_by_risk``): a declaration's risk score is the sum of the
  weights of its open or confirmed flags (``selectors.risk_scores``); the highest are selected for
  verification as ``VerificationCase(reason=risk)``.
* **Verifiable random sample** (``draw_sample``, ``redraw``): the population is the sorted ids of the
  declarations that match the criteria and had a version submitted at the moment of the draw; the
  draw ranks each id by ``HMAC-SHA256(key=seed, message=id)`` and takes the smallest. The seed, the
  population's size and SHA-256, and the selected ids are stored (``SampleDraw``) and written to the
  audit log, so that anyone can draw the same sample again (``ALGORITHM_DESCRIPTION``).
* **Workflow** (``case_assign``, ``case_start``, ``case_finding_decide``, ``case_record_outcome``,
  ``case_close``): queued → assigned → in progress → completed; each step is checked against
  ``TRANSITIONS`` and written to the audit log (``VerificationCase`` is audited; the finding decisions
  go through core's finding triage and add an entry that names the case).

Permissions are checked by the callers (pages, API, CLI) with ``may_select``, ``may_draw``,
``may_assign`` and ``may_work_on``.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from probity.core.audit import audit_actor, audit_record
from probity.core.models import AuditEntry, Finding
from probity.core.roles import VERIFIER, user_roles
from probity.core.services import finding_triage
from probity.declarations import selectors
from probity.declarations.models import Declaration, DeclarationVersion, SampleDraw, VerificationCase

ALGORITHM = "hmac-sha256-rank/1"
ALGORITHM_DESCRIPTION = gettext_noop(
    """\
1. Population: the ids of the declarations that match the recorded criteria (year, type, body) and
   had at least one version submitted on or before the recorded moment `submitted_before`, sorted
   as numbers.
2. Population hash: SHA-256 of the ids written in decimal, joined by a line feed ("\\n", no line
   feed after the last), encoded as ASCII; written as 64 lower-case hex digits.
3. Rank: for each id, HMAC-SHA256 with the key = the seed as ASCII text (its hex digits, lower
   case) and the message = the id in decimal as ASCII; written as lower-case hex.
4. Sample: the N ids with the smallest rank (compared as hex strings; ties, which are practically
   impossible, by the smaller id), in rank order.
"""
)
SEED_PATTERN = re.compile(r"^[0-9a-f]{32,128}$")
CRITERIA_KEYS = ("year", "declaration_type", "body_id")

Status = VerificationCase.Status
Outcome = VerificationCase.Outcome

# Which status may follow which (a re-assignment keeps the status of an assigned case).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.ASSIGNED}),
    Status.ASSIGNED: frozenset({Status.ASSIGNED, Status.IN_PROGRESS}),
    Status.IN_PROGRESS: frozenset({Status.IN_PROGRESS, Status.COMPLETED}),
    Status.COMPLETED: frozenset(),
}


class TransitionError(ValueError):
    """A workflow step that the case's status does not allow (the message says why)."""


# --- permissions -----------------------------------------------------------------------------------


def may_view(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("declarations.view_verificationcase"))


def may_select(user: Any) -> bool:
    """Select declarations for verification by risk (administrators)."""
    return bool(user.has_perm("declarations.add_verificationcase"))


def may_draw(user: Any) -> bool:
    """Draw a random sample (administrators)."""
    return bool(user.has_perm("declarations.add_sampledraw") and user.has_perm("declarations.add_verificationcase"))


def is_verifier(user: Any) -> bool:
    return bool(
        user.is_active and VERIFIER in user_roles(user) and user.has_perm("declarations.change_verificationcase")
    )


def may_assign(user: Any, case: VerificationCase, verifier: Any) -> bool:
    """Administrators assign any verifier; a verifier may take a case that nobody else holds."""
    if user.has_perm("declarations.add_verificationcase"):
        return True
    return bool(
        user.has_perm("declarations.change_verificationcase")
        and verifier.pk == user.pk
        and case.verifier_id in (None, user.pk)
    )


def may_work_on(user: Any, case: VerificationCase) -> bool:
    """Only the assigned verifier starts a case, decides on its findings and records its outcome."""
    return bool(user.has_perm("declarations.change_verificationcase") and case.verifier_id == user.pk)


def verifiers() -> QuerySet[User]:
    """Users who may be assigned a case: active, in the verifier role."""
    return User.objects.filter(is_active=True, groups__name=VERIFIER).distinct().order_by("username")


# --- the risk queue --------------------------------------------------------------------------------


def _criteria_filter(queryset: QuerySet[Declaration], criteria: dict[str, Any]) -> QuerySet[Declaration]:
    if criteria.get("year") is not None:
        queryset = queryset.filter(year=int(criteria["year"]))
    if criteria.get("declaration_type"):
        if criteria["declaration_type"] not in Declaration.Type.values:
            raise ValueError(
                f"unknown declaration type {criteria['declaration_type']!r}; "
                f"types are: {', '.join(Declaration.Type.values)}"
            )
        queryset = queryset.filter(declaration_type=criteria["declaration_type"])
    if criteria.get("body_id") is not None:
        queryset = queryset.filter(body_id=int(criteria["body_id"]))
    return queryset


def clean_criteria(criteria: dict[str, Any] | None) -> dict[str, Any]:
    """Only the known criteria, without empty values; year and body as numbers."""
    cleaned: dict[str, Any] = {}
    for key in CRITERIA_KEYS:
        value: Any = (criteria or {}).get(key)
        if value is None or value == "":
            continue
        if key in ("year", "body_id"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{key} must be a whole number, not {value!r}") from None
        cleaned[key] = value
    return cleaned


@dataclass(frozen=True)
class QueueRow:
    declaration: Declaration
    score: float
    case: VerificationCase | None  # the open case, if any


def open_cases(declaration_ids: Iterable[int] | None = None) -> dict[int, VerificationCase]:
    queryset = VerificationCase.objects.exclude(status=Status.COMPLETED).select_related("verifier")
    if declaration_ids is not None:
        queryset = queryset.filter(declaration_id__in=list(declaration_ids))
    return {case.declaration_id: case for case in queryset}


def risk_queue(criteria: dict[str, Any] | None = None, *, case_status: str = "") -> list[QueueRow]:
    """Submitted declarations matching ``criteria``, highest risk score first (then newest, then id).

    ``case_status``: ``none`` keeps declarations without an open case, a case status keeps those whose
    open case has it (``completed``: those with a completed case and no open one).
    """
    criteria = clean_criteria(criteria)
    declarations = list(
        _criteria_filter(
            Declaration.objects.filter(Exists(DeclarationVersion.objects.filter(declaration=OuterRef("pk")))),
            criteria,
        ).select_related("declarant")
    )
    ids = [d.pk for d in declarations]
    scores = selectors.risk_scores(ids)
    cases = open_cases(ids)
    if case_status == "none":
        declarations = [d for d in declarations if d.pk not in cases]
    elif case_status == Status.COMPLETED:
        done = set(
            VerificationCase.objects.filter(declaration_id__in=ids, status=Status.COMPLETED).values_list(
                "declaration_id", flat=True
            )
        )
        declarations = [d for d in declarations if d.pk in done and d.pk not in cases]
    elif case_status:
        if case_status not in Status.values:
            raise ValueError(f"unknown case status {case_status!r}")
        declarations = [d for d in declarations if d.pk in cases and cases[d.pk].status == case_status]
    declarations.sort(key=lambda d: (-scores.get(d.pk, 0.0), -d.year, d.pk))
    return [QueueRow(d, scores.get(d.pk, 0.0), cases.get(d.pk)) for d in declarations]


@dataclass
class SelectionResult:
    created: list[VerificationCase] = field(default_factory=list)
    already_open: list[int] = field(default_factory=list)  # declaration ids that already had an open case


def select_by_risk(
    *,
    actor: str,
    criteria: dict[str, Any] | None = None,
    top: int | None = None,
    min_score: float | None = None,
) -> SelectionResult:
    """Opens a case (reason: risk) for the highest-ranked declarations that have no open case.

    ``top``: the N highest-ranked declarations without an open case; ``min_score``: every one whose
    score is at least X. One of the two is required; both together mean "the top N of those at X or
    more". Declarations with a score of 0 are never selected by risk.
    """
    if top is None and min_score is None:
        raise ValueError("give the number of declarations to select (top) or the lowest risk score (min_score)")
    if top is not None and top < 1:
        raise ValueError("top must be at least 1")
    if min_score is not None and min_score <= 0:
        raise ValueError("min_score must be greater than 0: a declaration without flags is not selected by risk")
    criteria = clean_criteria(criteria)
    rows = [r for r in risk_queue(criteria, case_status="none") if r.score > 0]
    if min_score is not None:
        rows = [r for r in rows if r.score >= min_score]
    if top is not None:
        rows = rows[:top]
    result = SelectionResult()
    with audit_actor(actor), transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():
                    case = VerificationCase.objects.create(
                        declaration=row.declaration, reason=VerificationCase.Reason.RISK, risk_score=row.score
                    )
            except IntegrityError:  # a case was opened meanwhile
                result.already_open.append(row.declaration.pk)
                continue
            result.created.append(case)
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="declarations.verificationcase",
            object_label="risk selection",
            details={
                "event": "verification_selected_by_risk",
                "criteria": criteria,
                "top": top,
                "min_score": min_score,
                "selected": [{"declaration": c.declaration_id, "score": c.risk_score} for c in result.created],
            },
        )
    return result


# --- the verifiable random sample -----------------------------------------------------------------


def population_hash(ids: Sequence[int]) -> str:
    """SHA-256 of the sorted ids in decimal joined by line feeds (ASCII)."""
    return hashlib.sha256("\n".join(str(i) for i in sorted(ids)).encode("ascii")).hexdigest()


def rank(seed: str, declaration_id: int) -> str:
    """HMAC-SHA256(key = seed as ASCII, message = id in decimal as ASCII), lower-case hex."""
    return hmac.new(seed.encode("ascii"), str(declaration_id).encode("ascii"), hashlib.sha256).hexdigest()


PROGRESS_STEP = 10_000


def draw(seed: str, population: Sequence[int], size: int, progress: Callable[[int], object] | None = None) -> list[int]:
    """The ``size`` ids of ``population`` with the smallest rank, in rank order (same as ``rank``,
    with the keyed HMAC state computed once and copied per id). ``progress(n)``: n more ids ranked."""
    keyed = hmac.new(seed.encode("ascii"), digestmod=hashlib.sha256)
    done = 0

    def key(declaration_id: int) -> tuple[str, int]:
        nonlocal done
        mac = keyed.copy()
        mac.update(str(declaration_id).encode("ascii"))
        done += 1
        if progress is not None and done % PROGRESS_STEP == 0:
            progress(PROGRESS_STEP)
        return mac.hexdigest(), declaration_id

    selected = heapq.nsmallest(size, population, key=key)
    if progress is not None and done % PROGRESS_STEP:
        progress(done % PROGRESS_STEP)
    return selected


def clean_seed(seed: str | None) -> str:
    if seed is None or seed == "":
        return secrets.token_hex(32)
    text = seed.strip().lower()
    if not SEED_PATTERN.match(text):
        raise ValueError("the seed must be 32 to 128 hexadecimal digits (0-9, a-f); leave it empty to draw one")
    return text


def population(criteria: dict[str, Any], submitted_before: datetime) -> list[int]:
    """Ids (sorted) of the declarations matching ``criteria`` with a version submitted by then."""
    submitted = DeclarationVersion.objects.filter(declaration=OuterRef("pk"), submitted_at__lte=submitted_before)
    queryset = _criteria_filter(Declaration.objects.filter(Exists(submitted)), criteria)
    return sorted(queryset.values_list("pk", flat=True))


@dataclass
class SampleResult:
    sample: SampleDraw
    created: list[VerificationCase]
    already_open: list[int]


def draw_sample(
    *,
    size: int,
    actor: str,
    criteria: dict[str, Any] | None = None,
    seed: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> SampleResult:
    """Draws a verifiable random sample, records it and opens a case (reason: random) for each one
    selected that has no open case. The audit entry carries the seed and the result."""
    if size < 1:
        raise ValueError("the sample size must be at least 1")
    criteria = clean_criteria(criteria)
    seed = clean_seed(seed)
    now = timezone.now()
    criteria["submitted_before"] = now.isoformat()
    ids = population(criteria, now)
    if size > len(ids):
        raise ValueError(
            f"the sample size {size} is larger than the population: {len(ids)} declaration(s) match the criteria"
        )
    selected = draw(seed, ids, size, progress)
    digest = population_hash(ids)
    created: list[VerificationCase] = []
    already_open: list[int] = []
    with audit_actor(actor), transaction.atomic():
        sample = SampleDraw.objects.create(
            drawn_at=now,
            drawn_by=actor,
            seed=seed,
            algorithm=ALGORITHM,
            criteria=criteria,
            population_size=len(ids),
            population_hash=digest,
            size=size,
            selected=selected,
        )
        busy = open_cases(selected)
        for declaration_id in selected:
            if declaration_id in busy:
                already_open.append(declaration_id)
                continue
            created.append(
                VerificationCase.objects.create(
                    declaration_id=declaration_id,
                    reason=VerificationCase.Reason.RANDOM,
                    sample=sample,
                    risk_score=selectors.risk_scores([declaration_id]).get(declaration_id, 0.0),
                )
            )
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="declarations.sampledraw",
            object_id=str(sample.pk),
            object_label=str(sample),
            details={
                "event": "sample_drawn",
                "algorithm": ALGORITHM,
                "seed": seed,
                "criteria": criteria,
                "population_size": len(ids),
                "population_hash": digest,
                "size": size,
                "selected": selected,
                "cases_opened": [c.declaration_id for c in created],
                "already_open": already_open,
            },
        )
    return SampleResult(sample, created, already_open)


@dataclass(frozen=True)
class RedrawCheck:
    """The result of drawing a recorded sample again from its seed and its population."""

    population: list[int]
    population_hash: str
    population_matches: bool
    selected: list[int]
    selected_matches: bool

    @property
    def ok(self) -> bool:
        return self.population_matches and self.selected_matches


def sample_population(sample: SampleDraw) -> list[int]:
    """The sample's population as the database holds it today (recomputed from its criteria)."""
    criteria = dict(sample.criteria or {})
    moment = parse_datetime(str(criteria.pop("submitted_before", ""))) or sample.drawn_at
    return population(clean_criteria(criteria), moment)


def redraw(sample: SampleDraw, progress: Callable[[int], object] | None = None) -> RedrawCheck:
    """Recomputes the population from the recorded criteria, checks its hash, and draws again."""
    if sample.algorithm != ALGORITHM:
        raise ValueError(f"sample {sample.pk} was drawn with {sample.algorithm!r}, which this version cannot re-draw")
    ids = sample_population(sample)
    digest = population_hash(ids)
    again = draw(sample.seed, ids, sample.size, progress)
    return RedrawCheck(
        population=ids,
        population_hash=digest,
        population_matches=hmac.compare_digest(digest, sample.population_hash),
        selected=again,
        selected_matches=again == list(sample.selected),
    )


# --- the workflow ----------------------------------------------------------------------------------


def _move(case: VerificationCase, to: str) -> None:
    if to not in TRANSITIONS[case.status]:
        raise TransitionError(
            f"verification case {case.pk} is {case.get_status_display()}; it cannot become {Status(to).label}"
        )
    case.status = to


def case_assign(*, case: VerificationCase, verifier: User, actor: str) -> VerificationCase:
    """Assigns (or re-assigns) a case to a user in the verifier role."""
    if not is_verifier(verifier):
        raise ValueError(f"{verifier.get_username()} is not an active verifier and cannot be assigned a case")
    with audit_actor(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        _move(case, Status.IN_PROGRESS if case.status == Status.IN_PROGRESS else Status.ASSIGNED)
        case.verifier = verifier
        case.assigned_at = timezone.now()
        case.save(update_fields=["status", "verifier", "assigned_at"])
    return case


def case_start(*, case: VerificationCase, actor: str) -> VerificationCase:
    with audit_actor(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        if case.status == Status.ASSIGNED:
            _move(case, Status.IN_PROGRESS)
        else:
            raise TransitionError(
                f"verification case {case.pk} is {case.get_status_display()}; only an assigned case can be started"
            )
        case.save(update_fields=["status"])
    return case


def case_findings(case: VerificationCase) -> list[Finding]:
    """The latest findings about the case's declaration (flags first)."""
    findings = list(selectors.latest_findings([case.declaration_id]))
    findings.sort(key=lambda f: (f.outcome != Finding.Outcome.FLAG, f.detector_code))
    return findings


def case_finding_decide(*, case: VerificationCase, finding: Finding, decision: str, reason: str, actor: str) -> Finding:
    """Confirms or dismisses one finding of the case's declaration through core's finding triage."""
    if case.status != Status.IN_PROGRESS:
        raise TransitionError(
            f"verification case {case.pk} is {case.get_status_display()}; start it before deciding on findings"
        )
    if finding.subject_type != Finding.SubjectType.DECLARATION or finding.subject_id != str(case.declaration_id):
        raise ValueError(f"finding {finding.pk} is not about the declaration of verification case {case.pk}")
    with audit_actor(actor), transaction.atomic():
        finding = finding_triage(finding=finding, decision=decision, reason=reason, actor=actor)
        audit_record(
            action=AuditEntry.Action.OTHER,
            object_type="declarations.verificationcase",
            object_id=str(case.pk),
            object_label=str(case),
            details={
                "event": "verification_finding_decided",
                "finding": finding.pk,
                "detector": finding.detector_code,
                "decision": decision,
            },
        )
    return finding


def case_record_outcome(
    *,
    case: VerificationCase,
    outcome: str,
    actor: str,
    notes: str = "",
    referred_to: str = "",
    sanction: str = "",
    close: bool = False,
) -> VerificationCase:
    """Records the outcome of a case in progress (and closes it when ``close``).

    A referral names the authority (``referred_to``); a sanction says what it is (``sanction``).
    """
    if outcome not in Outcome.values or outcome == Outcome.NONE:
        raise ValueError(f"unknown outcome {outcome!r}; outcomes are: {', '.join(v for v in Outcome.values if v)}")
    referred_to, sanction = referred_to.strip(), sanction.strip()
    if outcome == Outcome.REFERRAL and not referred_to:
        raise ValueError("a referral needs the authority it is referred to (referred_to)")
    if outcome == Outcome.SANCTION and not sanction:
        raise ValueError("a sanction outcome needs the sanction imposed (sanction)")
    with audit_actor(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        if case.status != Status.IN_PROGRESS:
            raise TransitionError(
                f"verification case {case.pk} is {case.get_status_display()}; "
                "an outcome is recorded on a case in progress"
            )
        case.outcome = outcome
        case.outcome_notes = notes.strip()
        case.referred_to = referred_to
        case.sanction = sanction
        fields = ["outcome", "outcome_notes", "referred_to", "sanction"]
        if close:
            _move(case, Status.COMPLETED)
            case.closed_at = timezone.now()
            fields += ["status", "closed_at"]
        case.save(update_fields=fields)
    return case


def case_close(*, case: VerificationCase, actor: str) -> VerificationCase:
    """Completes a case in progress whose outcome is recorded."""
    with audit_actor(actor), transaction.atomic():
        case = VerificationCase.objects.select_for_update().get(pk=case.pk)
        if case.status == Status.IN_PROGRESS and not case.outcome:
            raise TransitionError(f"verification case {case.pk} has no outcome yet; record the outcome first")
        _move(case, Status.COMPLETED)
        case.closed_at = timezone.now()
        case.save(update_fields=["status", "closed_at"])
    return case


# --- the verifier's side-by-side view --------------------------------------------------------------

HEADER_SECTIONS = ("declarant", "position", "period")
# Fields that identify a row across years, most specific first; rows match on owner, kind and the first.
IDENTITY_FIELDS = (
    "registry_number",
    "registration",
    "account_number",
    "company",
    "make_model",
    "issuer",
    "institution",
    "source",
    "creditor",
    "organisation",
    "counterparty",
    "location",
    "description",
)
SAME, ADDED, REMOVED, CHANGED = "same", "added", "removed", "changed"


@dataclass(frozen=True)
class CellDiff:
    key: str
    old: Any
    new: Any
    kind: str


@dataclass(frozen=True)
class RowDiff:
    kind: str
    cells: list[CellDiff]


@dataclass
class SectionDiff:
    name: str
    rows: list[RowDiff]
    issues: list[tuple[str, str]] = field(default_factory=list)  # (detector code, issue) about this section

    @property
    def counts(self) -> dict[str, int]:
        counts = {SAME: 0, ADDED: 0, REMOVED: 0, CHANGED: 0}
        for row in self.rows:
            counts[row.kind] += 1
        return counts


def previous_declaration(declaration: Declaration) -> Declaration | None:
    """The declarant's declaration just before this one (by period end, then id), if it has a version."""
    from datetime import date

    def key(d: Declaration) -> tuple[date, int]:
        return (d.period_end or date(d.year, 12, 31), d.pk)

    earlier = [
        d
        for d in Declaration.objects.filter(declarant_id=declaration.declarant_id)
        .exclude(pk=declaration.pk)
        .filter(Exists(DeclarationVersion.objects.filter(declaration=OuterRef("pk"))))
        if key(d) < key(declaration)
    ]
    return max(earlier, key=key) if earlier else None


def _row_key(row: dict[str, Any]) -> tuple[str, str, str]:
    identity = ""
    for name in IDENTITY_FIELDS:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            identity = f"{name}={value.strip().casefold()}"
            break
    return (str(row.get("owner", row.get("id", ""))), str(row.get("kind", row.get("relation", ""))), identity)


def _cells(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[CellDiff]:
    old, new = old or {}, new or {}
    cells = []
    for key in list(dict.fromkeys([*new, *old])):
        before, after = old.get(key), new.get(key)
        if key not in old:
            kind = ADDED
        elif key not in new:
            kind = REMOVED
        else:
            kind = SAME if before == after else CHANGED
        cells.append(CellDiff(key, before, after, kind))
    return cells


def match_rows(old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]]) -> list[RowDiff]:
    """Pairs rows of one section across two declarations: first on owner, kind and identity, then on
    owner and kind in order; what is left was added or removed."""
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    unmatched_old = list(range(len(old_rows)))
    new_partner: dict[int, int] = {}
    for rule in (lambda r: _row_key(r), lambda r: _row_key(r)[:2]):
        for j, row in enumerate(new_rows):
            if j in new_partner:
                continue
            for i in unmatched_old:
                if rule(old_rows[i]) == rule(row):
                    new_partner[j] = i
                    unmatched_old.remove(i)
                    break
    for j, row in enumerate(new_rows):
        pairs.append((old_rows[new_partner[j]] if j in new_partner else None, row))
    pairs.extend((old_rows[i], None) for i in unmatched_old)
    result = []
    for old, new in pairs:
        cells = _cells(old, new)
        if old is None:
            kind = ADDED
        elif new is None:
            kind = REMOVED
        else:
            kind = SAME if all(c.kind == SAME for c in cells) else CHANGED
        result.append(RowDiff(kind, cells))
    return result


def compare_contents(old: dict[str, Any] | None, new: dict[str, Any]) -> list[SectionDiff]:
    """Section by section: the header parts, family members and every row section that either has."""
    from probity.declarations.schema import ROW_SECTIONS

    old = old or {}
    sections: list[SectionDiff] = []
    for name in HEADER_SECTIONS:
        if old.get(name) or new.get(name):
            before, after = old.get(name), new.get(name)
            sections.append(SectionDiff(name, match_rows([before] if before else [], [after] if after else [])))
    for name in ("family_members", *ROW_SECTIONS):
        if old.get(name) or new.get(name):
            sections.append(SectionDiff(name, match_rows(list(old.get(name) or []), list(new.get(name) or []))))
    return sections


def attach_issues(sections: list[SectionDiff], findings: Iterable[Finding]) -> None:
    """Puts each finding's listed issues beside the sections they name."""
    for finding in findings:
        for issue in (finding.evidence or {}).get("issues") or []:
            for section in sections:
                if re.search(rf"(?<![a-z_]){re.escape(section.name)}(?![a-z_])", str(issue)):
                    section.issues.append((finding.detector_code, str(issue)))
