"""Request and response shapes of the cases API (``/api/v1/cases/…``), as ninja schemas.

A case is addressed by its reference (``CASE-2026-000001``), a person acting on it by user name, and a task
or document by its number within the case (1, 2, … in the order they were added). Findings, people,
organisations and public bodies are addressed by the ids the rest of the API gives them
(``/api/v1/findings/{id}``, ``/api/v1/people/{id}`` …). Every field is written for the people who write API
clients; nothing here carries a document's content or a protected report's content.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

# --- cases ---------------------------------------------------------------------------------------------------


class CaseOut(Schema):
    """A case as lists show it."""

    reference: str = Field(..., description="e.g. CASE-2026-000001")
    title: str
    type: str = Field(..., description="the case type's code, e.g. procurement-review")
    type_name: str
    type_version: int = Field(..., description="the version of the case type the case was opened under")
    status: str = Field(..., description="the status's code within its case type")
    status_name: str
    closed: bool
    priority: Literal["low", "normal", "high"]
    complexity: int = Field(..., description="1 (simple) to 5")
    source: Literal["finding", "declaration", "report", "screening", "manual"]
    source_label: str
    body: str | None = Field(None, description="the public body's name, if the case concerns one")
    assignee: str | None = Field(None, description="the assigned officer's user name; null when unassigned")
    assignee_name: str | None = Field(None, description="the assigned officer's full name")
    opened_by: str
    opened_at: datetime
    due_on: date | None
    acknowledge_by: date | None
    feedback_by: date | None
    closed_at: datetime | None
    overdue: bool = Field(..., description="open and past its due date")


class CaseListOut(Schema):
    items: list[CaseOut]
    next_cursor: str | None = Field(None, description="pass it as 'cursor' to get the next page; null on the last page")


class TimelineOut(Schema):
    at: datetime
    actor: str = Field(..., description="user name, or system:<what> when the system acted")
    kind: str = Field(..., description="opened, status, assigned, taken, task, note, document, outcome, …")
    kind_label: str
    text: str
    handlers_only: bool = Field(
        ..., description="a note only the case's officer, those who allocate and those who oversee cases read"
    )


class TaskOut(Schema):
    number: int = Field(..., description="the task's number within the case")
    title: str
    assignee: str | None
    due_on: date | None
    done: bool
    done_at: datetime | None
    done_by: str
    overdue: bool


class QueueTaskOut(TaskOut):
    case: str = Field(..., description="the case's reference")


class MyWorkOut(Schema):
    cases: list[CaseOut] = Field(..., description="your open cases, soonest due first")
    tasks: list[QueueTaskOut] = Field(..., description="your open tasks, soonest due first")
    unassigned: list[CaseOut] = Field(..., description="unassigned open cases of the types you work")


class CustodyOut(Schema):
    at: datetime
    actor: str
    action: Literal["added", "viewed", "exported", "verified", "mismatch"]
    action_label: str


class DocumentOut(Schema):
    number: int = Field(..., description="the document's number within the case; download at .../documents/{n}")
    name: str
    document_type: str | None = Field(None, description="the document type's code")
    document_type_name: str | None = None
    content_type: str
    size: int = Field(..., description="bytes")
    sha256: str = Field(..., description="SHA-256 of the content, checked on every download")
    added_by: str
    added_at: datetime
    custody: list[CustodyOut] = Field(..., description="who added, viewed, exported or checked it, oldest first")


class PartyOut(Schema):
    kind: Literal["person", "organisation"]
    id: int = Field(..., description="the id of /api/v1/people/{id} or /api/v1/organisations/{id}")
    name: str
    role: str


class CaseFindingOut(Schema):
    id: int = Field(..., description="the id of /api/v1/findings/{id}")
    detector: str
    subject_type: str
    subject: str = Field(..., description="the subject's name, or its key when it has none")
    outcome: str
    score: float | None
    explanation: str
    added_by: str
    added_at: datetime


class OutcomeOut(Schema):
    outcome: str = Field(..., description="the outcome type's code")
    name: str
    kind: str = Field(..., description="no_violation, administrative, disciplinary, fine, referral, debarment, …")
    kind_label: str
    details: dict[str, str] = Field(..., description="the outcome's fields, e.g. amount for a fine")
    reasoning: str
    state: Literal["pending", "approved", "rejected"]
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str


class EligibleOut(Schema):
    officer: str = Field(..., description="user name")
    share: float
    load: float
    weight: float


class ExcludedOut(Schema):
    officer: str
    reason: str


class DrawOut(Schema):
    case: str = Field(..., description="the case's reference")
    method: Literal["random", "manual"]
    method_label: str
    pool: str | None = Field(None, description="the pool's name")
    chosen: str | None = Field(None, description="the officer drawn or assigned (user name)")
    chosen_name: str | None = None
    reason: str = Field(..., description="why a manual assignment was made")
    drawn_by: str
    drawn_at: datetime
    algorithm: str
    seed: str
    inputs_hash: str = Field(..., description="SHA-256 of the canonical JSON of 'inputs'")
    eligible: list[EligibleOut]
    excluded: list[ExcludedOut]
    inputs: dict[str, Any] = Field(
        ...,
        description="the draw's inputs exactly as recorded (officers by account number, as the algorithm hashes "
        "them), so that anyone can re-run it",
    )


class DrawListOut(Schema):
    items: list[DrawOut]
    next_cursor: str | None = None


class RelatedOut(Schema):
    reference: str
    title: str
    status_name: str


class CaseDetailOut(CaseOut):
    summary: str
    source_key: str = Field(..., description="the report or declaration the case came from, if any")
    retain_until: date | None
    timeline: list[TimelineOut]
    tasks: list[TaskOut]
    documents: list[DocumentOut]
    parties: list[PartyOut]
    findings: list[CaseFindingOut]
    outcomes: list[OutcomeOut]
    draws: list[DrawOut]
    related: list[RelatedOut] = Field(..., description="cases you may see that share a person or organisation")


class CaseIn(Schema):
    type: str = Field(..., description="the case type's code; the current version is used")
    title: str = Field(..., max_length=300)
    summary: str = ""
    body_id: int | None = Field(None, description="the public body the case concerns")
    priority: Literal["low", "normal", "high"] = "normal"
    complexity: int = Field(1, ge=1, le=5)
    person_ids: list[int] = Field(default_factory=list, description="people the case concerns")
    organisation_ids: list[int] = Field(default_factory=list, description="organisations the case concerns")


class PromoteIn(Schema):
    finding_ids: list[int] = Field(..., min_length=1)
    type: str | None = Field(None, description="the case type's code; chosen from the findings when left out")
    title: str = Field("", max_length=300)


class JoinIn(Schema):
    finding_ids: list[int] = Field(..., min_length=1)


class JoinOut(Schema):
    joined: int
    message: str


class DrawIn(Schema):
    allow_single: bool = Field(False, description="draw even when only one officer can be drawn")
    reason: str = Field("", description="why a case that has an officer is drawn again (required then)")


class AssignIn(Schema):
    username: str
    reason: str


class StatusIn(Schema):
    status: str = Field(..., description="a status code of the case's type (final ones need an approved outcome)")
    reason: str


class NoteIn(Schema):
    text: str
    handlers_only: bool = True


class TaskIn(Schema):
    title: str = Field(..., max_length=200)
    assignee: str | None = Field(None, description="user name")
    due_on: date | None = None


class OutcomeIn(Schema):
    outcome: str = Field(..., description="an outcome type's code of the case's type")
    reasoning: str
    details: dict[str, str] = Field(default_factory=dict, description="e.g. {'amount': '5000'} for a fine")


class DecisionIn(Schema):
    reason: str = ""


# --- allocation ----------------------------------------------------------------------------------------------


class VerifyDrawsIn(Schema):
    cases: list[str] = Field(default_factory=list, description="case references whose random draws to re-run")
    all: bool = Field(False, description="re-run every recorded random draw")


class DrawProblemOut(Schema):
    case: str
    drawn_at: datetime
    sentence: str


class VerifyDrawsOut(Schema):
    checked: int
    failed: int
    problems: list[DrawProblemOut]
    message: str


class AllocatorOut(Schema):
    allocated_by: str
    random: int = Field(..., description="random draws")
    manual: int = Field(..., description="manual assignments")
    total: int
    manual_share: float = Field(..., description="0 to 1")


class PoolStateOut(Schema):
    pool: str
    case_type: str
    body: str | None
    officers: int
    available: int = Field(..., description="officers not absent and with an active account")
    warning: str = Field(..., description="a sentence when fewer than two officers can be drawn; empty otherwise")


class AllocationReportOut(Schema):
    allocators: list[AllocatorOut]
    pools: list[PoolStateOut]


class RecusalOut(Schema):
    id: int = Field(..., description="give it to withdraw the recusal")
    officer: str
    person: str | None
    person_id: int | None
    organisation: str | None
    organisation_id: int | None
    body: str | None
    body_id: int | None
    reason: str
    declared_at: datetime
    withdrawn_at: datetime | None


class RecusalIn(Schema):
    reason: str
    officer: str | None = Field(None, description="user name; yourself when left out (others: allocators only)")
    person_id: int | None = None
    organisation_id: int | None = None
    body_id: int | None = None


# --- catalogue and statistics --------------------------------------------------------------------------------


class StatusTypeOut(Schema):
    code: str
    name: str
    final: bool


class TaskTemplateOut(Schema):
    title: str
    due_days: int


class DocumentTypeOut(Schema):
    code: str
    name: str


class OutcomeFieldOut(Schema):
    name: str
    label: str


class OutcomeTypeOut(Schema):
    code: str
    name: str
    kind: str
    retention_years: int
    fields: list[OutcomeFieldOut] = Field(..., description="what 'details' must give when proposing it")


class CaseTypeVersionOut(Schema):
    version: int
    name: str
    description: str
    valid_from: date
    valid_until: date | None
    current: bool = Field(..., description="the version new cases are opened under")
    lead_time_days: int
    acknowledge_days: int | None
    feedback_days: int | None
    remind_days: int
    roles: list[str]
    sources: list[str]
    cases: int = Field(..., description="cases opened under this version")
    statuses: list[StatusTypeOut]
    tasks: list[TaskTemplateOut]
    document_types: list[DocumentTypeOut]
    outcome_types: list[OutcomeTypeOut]


class CaseTypeOut(Schema):
    code: str
    name: str
    current_version: int | None
    versions: list[CaseTypeVersionOut] = Field(..., description="newest first")


class CountOut(Schema):
    key: str = Field(..., description="a code, or the name when there is no code")
    label: str
    cases: int


class StatisticsOut(Schema):
    opened: int
    open: int
    closed: int
    overdue: int
    mean_days_to_close: float | None
    closed_on_time_share: float | None = Field(None, description="0 to 1; null before any case closed")
    by_type: list[CountOut]
    by_body: list[CountOut]
    by_status: list[CountOut]
    by_outcome: list[CountOut]
