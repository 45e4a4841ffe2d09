"""Request and response shapes of the core HTTP API (``/api/v1/``), as ninja schemas.

Every schema here is part of the published OpenAPI document, so field descriptions are written for
the people who write API clients. Schemas never carry secrets: token hashes, national identity
numbers and identifier hashes have no field at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.utils import timezone
from ninja import Field, Schema

# --- errors ---------------------------------------------------------------------------------


class ErrorBody(Schema):
    code: str = Field(..., description="stable snake_case code, e.g. not_found, permission_denied")
    message: str = Field(..., description="a plain sentence for the person reading the client's log")
    details: Any | None = Field(None, description="more about the error, e.g. which fields were wrong")


class ErrorOut(Schema):
    """The body of every error response of the API."""

    error: ErrorBody


# --- the caller -----------------------------------------------------------------------------


class MeOut(Schema):
    username: str
    name: str = Field(..., description="full name, or the user name when none is recorded")
    roles: list[str]
    permissions: list[str] = Field(..., description="'app_label.codename' of every permission the user holds")
    person_id: int | None = Field(None, description="the person record linked to this account, if any")
    authenticated_by: Literal["token", "session"]


# --- public bodies, positions, people, organisations ---------------------------------------


class PublicBodyOut(Schema):
    id: int
    name: str
    kind: str
    country: str
    parent_id: int | None


class PublicBodyDetailOut(PublicBodyOut):
    children_ids: list[int] = Field(..., description="bodies directly under this one that you may see")


class PersonRef(Schema):
    id: int
    name: str


class PositionOut(Schema):
    id: int
    title: str
    body_id: int
    body_name: str
    holder: PersonRef | None = Field(None, description="null when there is no holder or you may not see them")
    start_date: date | None
    end_date: date | None
    is_pep: bool

    @staticmethod
    def resolve_body_name(obj: Any) -> str:
        return obj["body_name"] if isinstance(obj, dict) else obj.body.name

    @staticmethod
    def resolve_holder(obj: Any, context: Any) -> dict[str, Any] | None:
        """The holder, only for callers who may see that person (a public office is not a licence
        to read the person record behind it)."""
        if isinstance(obj, dict):
            return obj.get("holder")
        holder = obj.holder
        if holder is None:
            return None
        user = getattr(context.get("request"), "auth", None) if context else None
        if user is None:
            return None
        if not (user.has_perm("core.view_person") or user.has_perm("core.view_person", holder)):
            return None
        return {"id": holder.pk, "name": holder.name}


class AlternativeNameOut(Schema):
    name: str
    script: str = Field(..., description="ISO 15924 script code, e.g. Latn, Cyrl, Hans; empty when unknown")


class IdentifierOut(Schema):
    scheme: str
    issuer: str
    value: str | None = Field(None, description="null for schemes stored only as a keyed hash (national ID)")
    hashed: bool = Field(..., description="true when the number is stored only as a keyed hash, never shown")


class FamilyRelationOut(Schema):
    person: PersonRef
    relation: str = Field(..., description="spouse, child, parent, sibling or other")
    direction: Literal["relative", "relative_of"] = Field(
        ...,
        description="'relative': the person is this person's <relation>; "
        "'relative_of': this person is the other person's <relation>",
    )


class PersonOut(Schema):
    id: int
    name: str
    birth_date: date | None
    gender: str
    nationality: str


class PersonDetailOut(PersonOut):
    alternative_names: list[AlternativeNameOut]
    identifiers: list[IdentifierOut]
    positions: list[PositionOut]
    family: list[FamilyRelationOut]


class OrganisationOut(Schema):
    id: int
    name: str
    kind: str
    jurisdiction: str
    founded: date | None
    dissolved: date | None


class OrganisationDetailOut(OrganisationOut):
    address: str
    alternative_names: list[AlternativeNameOut]
    identifiers: list[IdentifierOut]


# --- detectors and findings ----------------------------------------------------------------


class DetectorParameterOut(Schema):
    name: str
    default: Any
    kind: str = Field(..., description="str, int, float, bool or list (a list may be sent comma-separated)")
    description: str


class DetectorOut(Schema):
    code: str
    title: str
    description: str
    subject_type: str
    fields: list[str] = Field(..., description="the data fields the detector reads")
    parameters: list[DetectorParameterOut]


class DetectorRunIn(Schema):
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="values that replace the defaults; unknown names are refused"
    )


class DetectorRunOut(Schema):
    id: int
    detector_code: str
    status: str = Field(..., description="running, succeeded or failed")
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    dataset: str
    parameters: dict[str, Any]
    subjects_checked: int
    flagged: int
    passed: int
    not_applicable: int
    error: str
    started_by: str


class FindingOut(Schema):
    id: int
    run_id: int
    detector_code: str
    subject_type: str
    subject_id: str
    subject_label: str
    outcome: str = Field(..., description="flag, pass or not_applicable")
    score: float | None = Field(None, description="0 (no risk) to 1 (highest)")
    evidence: dict[str, Any]
    explanation: str = Field(..., description="in the installation's default language")
    message_id: str = Field("", description="untranslated message behind the explanation, for client-side translation")
    message_params: dict[str, Any] = Field(default_factory=dict, description="values for the message's placeholders")
    triage: str = Field(..., description="open, confirmed or dismissed")
    triage_reason: str
    created_at: datetime


class TriageIn(Schema):
    decision: Literal["confirmed", "dismissed", "open"]
    reason: str = Field("", max_length=5000, description="required when dismissing")


# --- audit log ------------------------------------------------------------------------------


class AuditProblemOut(Schema):
    sequence: int
    reason: str


class AuditVerificationOut(Schema):
    entries_checked: int
    head_hash: str
    ok: bool
    problems: list[AuditProblemOut]


# --- API tokens ------------------------------------------------------------------------------


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(..., description="first characters of the token, to recognise it")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool = Field(..., description="false once revoked or expired")

    @staticmethod
    def resolve_active(obj: Any) -> bool:
        if isinstance(obj, dict):
            return bool(obj["active"])
        return obj.revoked_at is None and (obj.expires_at is None or obj.expires_at > timezone.now())


class TokenCreateIn(Schema):
    name: str = Field(..., min_length=1, max_length=100, description="what the token is for, e.g. 'nightly export'")
    expires_days: int | None = Field(None, ge=1, le=3650, description="days until the token stops working")


class TokenCreatedOut(TokenOut):
    secret: str = Field(..., description="the token itself; shown in this response only and never again")
