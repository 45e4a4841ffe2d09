"""The case types Probity ships: created by a migration when missing, then edited by administrators (each edit
of a type that cases use makes a new version)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext_noop as N_

from probity.cases.models import OutcomeKind


@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    description: str
    sources: tuple[str, ...]
    roles: tuple[str, ...]
    lead_time_days: int
    statuses: tuple[tuple[str, str, bool], ...]  # (code, name, final)
    tasks: tuple[tuple[str, int], ...]  # (title, due after days)
    documents: tuple[tuple[str, str], ...]  # (code, name)
    outcomes: tuple[tuple[str, str, str, int], ...]  # (code, kind, name, retention years)
    acknowledge_days: int | None = None
    feedback_days: int | None = None
    confidential: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


_STATUSES = (
    ("new", N_("New"), False),
    ("assessment", N_("Assessment"), False),
    ("investigation", N_("Investigation"), False),
    ("decision", N_("Decision"), False),
    ("closed", N_("Closed"), True),
)
_COMMON_OUTCOMES = (
    ("no-violation", OutcomeKind.NO_VIOLATION, N_("No violation found"), 5),
    ("administrative", OutcomeKind.ADMINISTRATIVE, N_("Administrative measure"), 10),
    ("disciplinary", OutcomeKind.DISCIPLINARY, N_("Disciplinary proceedings"), 10),
    ("fine", OutcomeKind.FINE, N_("Fine"), 10),
    ("referral", OutcomeKind.REFERRAL, N_("Referral to prosecution"), 20),
)
_DOCUMENTS = (
    ("evidence", N_("Evidence")),
    ("correspondence", N_("Correspondence")),
    ("decision", N_("Decision")),
)
_STAFF = ("analyst", "verifier", "case_handler")

SHIPPED: tuple[TypeSpec, ...] = (
    TypeSpec(
        code="declaration-verification",
        name=N_("Declaration verification"),
        description=N_("Full verification of an asset and interest declaration selected by risk, sample or report."),
        sources=("declaration", "finding", "manual"),
        roles=("verifier", "case_handler"),
        lead_time_days=60,
        statuses=_STATUSES,
        tasks=((N_("Compare with registers and earlier declarations"), 14), (N_("Ask the declarant to explain"), 30)),
        documents=(*_DOCUMENTS, ("explanation", N_("Declarant's explanation"))),
        outcomes=(
            *_COMMON_OUTCOMES,
            ("recovery", OutcomeKind.RECOVERY, N_("Recovery of unexplained assets"), 20),
        ),
    ),
    TypeSpec(
        code="procurement-review",
        name=N_("Procurement red-flag review"),
        description=N_("Review of a tender or contract flagged by the procurement indicators."),
        sources=("finding", "manual"),
        roles=_STAFF,
        lead_time_days=90,
        statuses=_STATUSES,
        tasks=((N_("Obtain the tender file"), 14), (N_("Check the bidders' ownership"), 21)),
        documents=(*_DOCUMENTS, ("tender-file", N_("Tender file"))),
        outcomes=(
            *_COMMON_OUTCOMES,
            ("debarment", OutcomeKind.DEBARMENT, N_("Debarment of the supplier"), 20),
            ("recovery", OutcomeKind.RECOVERY, N_("Recovery of assets"), 20),
        ),
    ),
    TypeSpec(
        code="conflict-of-interest",
        name=N_("Conflict-of-interest inquiry"),
        description=N_("Inquiry into an official's private interest in a public decision."),
        sources=("finding", "declaration", "screening", "manual"),
        roles=_STAFF,
        lead_time_days=90,
        statuses=_STATUSES,
        tasks=((N_("Identify the decisions concerned"), 14), (N_("Hear the official"), 30)),
        documents=_DOCUMENTS,
        outcomes=_COMMON_OUTCOMES,
    ),
    TypeSpec(
        code="protected-report",
        name=N_("Protected report"),
        description=N_(
            "A report from the protected channel: acknowledged within 7 days, feedback to the reporter within "
            "3 months (EU Directive 2019/1937)."
        ),
        sources=("report",),
        roles=("case_handler",),
        lead_time_days=90,
        acknowledge_days=7,
        feedback_days=90,
        confidential=True,
        statuses=(
            ("received", N_("Received"), False),
            ("acknowledged", N_("Acknowledged"), False),
            ("investigation", N_("Investigation"), False),
            ("feedback", N_("Feedback given"), False),
            ("closed", N_("Closed"), True),
        ),
        tasks=((N_("Acknowledge receipt to the reporter"), 7), (N_("Assess the retaliation risk"), 7)),
        documents=_DOCUMENTS,
        outcomes=(
            *_COMMON_OUTCOMES,
            ("debarment", OutcomeKind.DEBARMENT, N_("Debarment of the supplier"), 20),
        ),
    ),
    TypeSpec(
        code="screening-review",
        name=N_("Screening hit review"),
        description=N_("Review of a name that matched a sanctions, debarment or politically exposed persons list."),
        sources=("screening", "finding", "manual"),
        roles=_STAFF,
        lead_time_days=30,
        statuses=(
            ("new", N_("New"), False),
            ("review", N_("Review"), False),
            ("closed", N_("Closed"), True),
        ),
        tasks=((N_("Confirm the identity of the match"), 7),),
        documents=_DOCUMENTS,
        outcomes=(
            ("false-match", OutcomeKind.NO_VIOLATION, N_("Not the same party"), 2),
            ("confirmed", OutcomeKind.ADMINISTRATIVE, N_("Match confirmed; measures taken"), 10),
            ("debarment", OutcomeKind.DEBARMENT, N_("Debarment of the supplier"), 20),
            ("referral", OutcomeKind.REFERRAL, N_("Referral to prosecution"), 20),
        ),
    ),
)


def catalogue_install(apps: Any = None, valid_from: date | None = None) -> int:
    """Creates the shipped case types that are missing (by code); returns how many. ``apps`` is a migration's
    app registry (or None for the live models)."""
    if apps is None:
        from django.apps import apps as live

        apps = live
    CaseType = apps.get_model("cases", "CaseType")
    created = 0
    for spec in SHIPPED:
        if CaseType.objects.filter(code=spec.code).exists():
            continue
        known = {f.name for f in CaseType._meta.get_fields()}  # a migration's model may predate a field
        extra = {"confidential": spec.confidential} if "confidential" in known else {}
        case_type = CaseType.objects.create(
            **extra,
            code=spec.code,
            version=1,
            name=spec.name,
            description=spec.description,
            valid_from=valid_from or date(2026, 1, 1),
            lead_time_days=spec.lead_time_days,
            acknowledge_days=spec.acknowledge_days,
            feedback_days=spec.feedback_days,
            roles=list(spec.roles),
            sources=list(spec.sources),
        )
        for order, (code, name, final) in enumerate(spec.statuses):
            case_type.statuses.create(order=order, code=code, name=name, final=final)
        for order, (title, due) in enumerate(spec.tasks):
            case_type.task_templates.create(order=order, title=title, due_days=due)
        for code, name in spec.documents:
            case_type.document_types.create(code=code, name=name)
        for code, kind, name, years in spec.outcomes:
            case_type.outcome_types.create(code=code, kind=str(kind), name=name, retention_years=years)
        created += 1
    return created
