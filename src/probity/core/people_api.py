"""The API for managing people, organisations, family ties, positions and public bodies, and for their pages.

The write endpoints and the profile join core's read routers of the same paths (``api.people``,
``api.organisations``, ``api.bodies``), so that ``POST /people`` and ``GET /people`` are one path; the
project mounts the routers from here (``CoreConfig.api_routers``). Every write is audited; merges and splits
answer the audit entry's number, which ``POST /records/undo/{sequence}`` takes to undo them.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from probity.core import people as services
from probity.core.api import (
    ApiError,
    _forbidden,
    _get_visible,
    _user,
    bodies,
    errors,
    organisations,
)
from probity.core.api import (
    people as people_router,
)
from probity.core.audit import audit_record
from probity.core.models import AuditEntry, FamilyRelation, Organisation, Person, Position, PublicBody
from probity.core.profiles import Profile, ftm_neighbourhood, profile_build
from probity.core.schemas import OrganisationOut, PersonOut, PublicBodyOut

people = people_router
__all__ = ["bodies", "organisations", "people"]


class PersonIn(Schema):
    name: str = Field(..., max_length=300)
    birth_date: date | None = None
    gender: Literal["female", "male", "other", ""] = ""
    nationality: str = Field("", max_length=2, description="ISO 3166-1 alpha-2")
    national_id: str = Field("", description="stored only as a keyed hash")
    national_id_issuer: str = Field("", max_length=2)


class PersonPatch(Schema):
    name: str | None = Field(None, max_length=300)
    birth_date: date | None = None
    gender: Literal["female", "male", "other", ""] | None = None
    nationality: str | None = Field(None, max_length=2)
    national_id: str | None = None
    national_id_issuer: str | None = Field(None, max_length=2)


class OrganisationIn(Schema):
    name: str = Field(..., max_length=300)
    kind: str = "company"
    jurisdiction: str = Field("", max_length=2)
    founded: date | None = None
    dissolved: date | None = None
    address: str = ""
    registry_number: str = ""
    registry_issuer: str = Field("", max_length=2)


class OrganisationPatch(Schema):
    name: str | None = Field(None, max_length=300)
    kind: str | None = None
    jurisdiction: str | None = Field(None, max_length=2)
    founded: date | None = None
    dissolved: date | None = None
    address: str | None = None
    registry_number: str | None = None
    registry_issuer: str | None = Field(None, max_length=2)


class PublicBodyIn(Schema):
    name: str = Field(..., max_length=300)
    kind: str = "other"
    parent_id: int | None = None
    country: str = Field("", max_length=2)


class PositionIn(Schema):
    body_id: int
    title: str = Field(..., max_length=300)
    start_date: date | None = None
    end_date: date | None = None
    is_pep: bool = False


class FamilyIn(Schema):
    relative_id: int
    relation: Literal["spouse", "child", "parent", "sibling", "other"]


class MergeIn(Schema):
    merged_id: int = Field(..., description="the record that is merged into this one and removed")


class RecordRef(Schema):
    kind: str = Field(..., description="what the record is, as listed by the split page, e.g. core.position")
    id: int


class SplitIn(Schema):
    name: str = Field(..., max_length=300, description="the name of the new record")
    records: list[RecordRef]


class ChangeOut(Schema):
    sequence: int = Field(..., description="the audit entry that records the change (give it to undo)")
    message: str
    record_id: int


class MessageOut(Schema):
    message: str


class PositionCreatedOut(Schema):
    id: int
    title: str
    body: str


class ImportRejectOut(Schema):
    line: int
    reason: str


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: list[ImportRejectOut]
    message: str


class SectionOut(Schema):
    code: str
    title: str
    columns: list[str]
    rows: list[dict[str, str]] = Field(..., description="each row: column title → cell text")
    note: str


class EventOut(Schema):
    date: date
    event: str


class TieOut(Schema):
    name: str
    relation: str
    kind: str


class ProfileOut(Schema):
    id: int
    name: str
    kind: str
    sections: list[SectionOut]
    timeline: list[EventOut]
    ties: list[TieOut]


def _may(user: User, action: str, model: type[Model]) -> None:
    if not user.has_perm(f"core.{action}_{model._meta.model_name}"):
        raise _forbidden(f"Your role may not {action} {model._meta.verbose_name_plural}.")


def _refused(refusal: services.RecordRefused) -> ApiError:
    return ApiError(409, "conflict", str(refusal))


def _values(payload: Schema, *, partial: bool) -> dict[str, Any]:
    return payload.dict(exclude_unset=partial)


# --- people --------------------------------------------------------------------------------------------


@people.post("/people", response={201: PersonOut, **errors(400, 403, 422)}, summary="Create a person")
def person_create(request: HttpRequest, payload: PersonIn) -> Status[Person]:
    user = _user(request)
    _may(user, "add", Person)
    return Status(201, services.person_save(actor=user, **_values(payload, partial=False)))


@people.patch(
    "/people/{int:person_id}", response={200: PersonOut, **errors(400, 403, 404, 422)}, summary="Change a person"
)
def person_change(request: HttpRequest, person_id: int, payload: PersonPatch) -> Person:
    user = _user(request)
    _may(user, "change", Person)
    person = _get_visible(user, Person.objects.all(), person_id)
    return services.person_save(actor=user, person=person, **_values(payload, partial=True))


@people.post(
    "/people/{int:person_id}/family",
    response={201: MessageOut, **errors(400, 403, 404, 422)},
    summary="Record a family tie of a person",
)
def family_create(request: HttpRequest, person_id: int, payload: FamilyIn) -> Status[dict[str, Any]]:
    user = _user(request)
    _may(user, "add", FamilyRelation)
    person = _get_visible(user, Person.objects.all(), person_id)
    relative = _get_visible(user, Person.objects.all(), payload.relative_id)
    try:
        relation = services.family_relation_add(actor=user, person=person, relative=relative, kind=payload.relation)
    except services.RecordRefused as refusal:
        raise ApiError(400, "bad_request", str(refusal)) from None
    return Status(
        201, {"message": f"{relation.relative.name} is recorded as {relation.kind} of {relation.person.name}."}
    )


@people.post(
    "/people/{int:person_id}/positions",
    response={201: PositionCreatedOut, **errors(400, 403, 404, 422)},
    summary="Record a position held by a person",
)
def position_create(request: HttpRequest, person_id: int, payload: PositionIn) -> Status[dict[str, Any]]:
    user = _user(request)
    _may(user, "add", Position)
    person = _get_visible(user, Person.objects.all(), person_id)
    body = _get_visible(user, PublicBody.objects.all(), payload.body_id)
    values = _values(payload, partial=False)
    values.pop("body_id")
    position = services.position_save(actor=user, holder=person, body=body, **values)
    return Status(201, {"id": position.pk, "title": position.title, "body": body.name})


def _merge(request: HttpRequest, model: type[Person] | type[Organisation], pk: int, merged_id: int) -> dict[str, Any]:
    user = _user(request)
    _may(user, "change", model)
    keep = _get_visible(user, model.objects.all(), pk)
    merged = _get_visible(user, model.objects.all(), merged_id)
    try:
        entry = services.record_merge(actor=user, keep=keep, merged=merged)
    except services.RecordRefused as refusal:
        raise _refused(refusal) from None
    return {"sequence": entry.sequence, "message": services.event_sentence(entry), "record_id": keep.pk}


def _split(request: HttpRequest, model: type[Person] | type[Organisation], pk: int, payload: SplitIn) -> dict[str, Any]:
    user = _user(request)
    _may(user, "change", model)
    source = _get_visible(user, model.objects.all(), pk)
    try:
        created, entry = services.record_split(
            actor=user, source=source, name=payload.name, records=[f"{r.kind}:{r.id}" for r in payload.records]
        )
    except services.RecordRefused as refusal:
        raise _refused(refusal) from None
    return {"sequence": entry.sequence, "message": services.event_sentence(entry), "record_id": created.pk}


@people.post(
    "/people/{int:person_id}/merge",
    response={200: ChangeOut, **errors(403, 404, 409, 422)},
    summary="Merge another person into this one (refused when their national ID numbers differ)",
)
def person_merge(request: HttpRequest, person_id: int, payload: MergeIn) -> dict[str, Any]:
    return _merge(request, Person, person_id, payload.merged_id)


@people.post(
    "/people/{int:person_id}/split",
    response={200: ChangeOut, **errors(403, 404, 409, 422)},
    summary="Split records off a person into a new person",
)
def person_split(request: HttpRequest, person_id: int, payload: SplitIn) -> dict[str, Any]:
    return _split(request, Person, person_id, payload)


@people.post(
    "/records/undo/{int:sequence}",
    response={200: ChangeOut, **errors(403, 404, 409)},
    summary="Undo a merge or split (by the number of its audit entry)",
)
def record_undo(request: HttpRequest, sequence: int) -> dict[str, Any]:
    user = _user(request)
    entry = AuditEntry.objects.filter(sequence=sequence).first()
    model = {"core.person": Person, "core.organisation": Organisation}.get(entry.object_type if entry else "")
    if entry is None or model is None:
        raise ApiError(404, "not_found", f"Audit entry {sequence} is not a merge or split.")
    _may(user, "change", model)
    try:
        undo = services.record_undo(actor=user, sequence=sequence)
    except services.RecordRefused as refusal:
        raise _refused(refusal) from None
    return {"sequence": undo.sequence, "message": services.event_sentence(undo), "record_id": int(entry.object_id)}


@people.post(
    "/people/import",
    response={200: ImportOut, **errors(400, 403, 422)},
    summary="Import people, organisations or family ties (CSV) or FollowTheMoney entities (JSON lines)",
)
def records_import(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008 - ninja's way of declaring an upload
    what: Literal["people", "organisations", "family", "ftm"] = Form(...),  # noqa: B008
) -> dict[str, Any]:
    user = _user(request)
    _may(user, "add", Person)
    _may(user, "add", Organisation)
    try:
        if what == "ftm":
            report = services.records_import_ftm(actor=user, stream=file, source_name=file.name or "")
        else:
            report = services.records_import_csv(actor=user, kind=what, stream=file, source_name=file.name or "")
    except services.RecordRefused as refusal:
        raise ApiError(400, "bad_request", str(refusal)) from None
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": [{"line": line, "reason": reason} for line, reason in report.rejected],
        "message": report.sentence(),
    }


def _profile_out(profile: Profile) -> dict[str, Any]:
    sections = []
    for item in profile.sections:
        columns = [str(c) for c in item.content.columns]
        sections.append(
            {
                "code": item.section.code,
                "title": str(item.section.title),
                "columns": columns,
                "rows": [
                    {column: cell.text for column, cell in zip(columns, row, strict=False)} for row in item.content.rows
                ],
                "note": str(item.content.note),
            }
        )
    return {
        "id": profile.subject.pk,
        "name": profile.subject.name,
        "kind": profile.kind,
        "sections": sections,
        "timeline": [{"date": e.when, "event": e.text} for e in profile.timeline],
        "ties": [{"name": n.name, "relation": n.relation, "kind": n.kind} for n in profile.neighbours],
    }


@people.get(
    "/people/{int:person_id}/profile",
    response={200: ProfileOut, **errors(403, 404)},
    summary="A person across every source: the sections of their page, the timeline and their ties",
)
def person_profile(request: HttpRequest, person_id: int) -> dict[str, Any]:
    user = _user(request)
    return _profile_out(profile_build(subject=_get_visible(user, Person.objects.all(), person_id), user=user))


def _ftm_response(subject: Person | Organisation, user: User) -> HttpResponse:
    entities = ftm_neighbourhood(profile=profile_build(subject=subject, user=user))
    audit_record(
        action=AuditEntry.Action.EXPORT,
        object_type=subject._meta.label_lower,
        object_id=str(subject.pk),
        object_label=str(subject),
        details={"format": "ftm", "entities": len(entities)},
    )
    body = "".join(json.dumps(entity, ensure_ascii=False, sort_keys=True) + "\n" for entity in entities)
    return HttpResponse(body, content_type="application/x-ndjson; charset=utf-8")


@people.get(
    "/people/{int:person_id}/neighbourhood.ftm",
    response={200: None, **errors(403, 404)},
    summary="A person's neighbourhood as FollowTheMoney entities (JSON lines)",
)
def person_ftm(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    return _ftm_response(_get_visible(user, Person.objects.all(), person_id), user)


# --- organisations -----------------------------------------------------------------------------------


@organisations.post(
    "/organisations", response={201: OrganisationOut, **errors(400, 403, 422)}, summary="Create an organisation"
)
def organisation_create(request: HttpRequest, payload: OrganisationIn) -> Status[Organisation]:
    user = _user(request)
    _may(user, "add", Organisation)
    return Status(201, services.organisation_save(actor=user, **_values(payload, partial=False)))


@organisations.patch(
    "/organisations/{int:organisation_id}",
    response={200: OrganisationOut, **errors(400, 403, 404, 422)},
    summary="Change an organisation",
)
def organisation_change(request: HttpRequest, organisation_id: int, payload: OrganisationPatch) -> Organisation:
    user = _user(request)
    _may(user, "change", Organisation)
    organisation = _get_visible(user, Organisation.objects.all(), organisation_id)
    return services.organisation_save(actor=user, organisation=organisation, **_values(payload, partial=True))


@organisations.post(
    "/organisations/{int:organisation_id}/merge",
    response={200: ChangeOut, **errors(403, 404, 409, 422)},
    summary="Merge another organisation into this one (refused when their registry numbers differ)",
)
def organisation_merge(request: HttpRequest, organisation_id: int, payload: MergeIn) -> dict[str, Any]:
    return _merge(request, Organisation, organisation_id, payload.merged_id)


@organisations.post(
    "/organisations/{int:organisation_id}/split",
    response={200: ChangeOut, **errors(403, 404, 409, 422)},
    summary="Split records off an organisation into a new organisation",
)
def organisation_split(request: HttpRequest, organisation_id: int, payload: SplitIn) -> dict[str, Any]:
    return _split(request, Organisation, organisation_id, payload)


@organisations.get(
    "/organisations/{int:organisation_id}/profile",
    response={200: ProfileOut, **errors(403, 404)},
    summary="An organisation across every source: the sections of its page, the timeline and its ties",
)
def organisation_profile(request: HttpRequest, organisation_id: int) -> dict[str, Any]:
    user = _user(request)
    subject = _get_visible(user, Organisation.objects.all(), organisation_id)
    return _profile_out(profile_build(subject=subject, user=user))


@organisations.get(
    "/organisations/{int:organisation_id}/neighbourhood.ftm",
    response={200: None, **errors(403, 404)},
    summary="An organisation's neighbourhood as FollowTheMoney entities (JSON lines)",
)
def organisation_ftm(request: HttpRequest, organisation_id: int) -> HttpResponse:
    user = _user(request)
    return _ftm_response(_get_visible(user, Organisation.objects.all(), organisation_id), user)


# --- public bodies ---------------------------------------------------------------------------------------


def _parent(user: User, parent_id: int | None) -> PublicBody | None:
    return None if parent_id is None else _get_visible(user, PublicBody.objects.all(), parent_id)


@bodies.post("/public-bodies", response={201: PublicBodyOut, **errors(400, 403, 422)}, summary="Create a public body")
def body_create(request: HttpRequest, payload: PublicBodyIn) -> Status[PublicBody]:
    user = _user(request)
    _may(user, "add", PublicBody)
    return Status(
        201,
        services.public_body_save(
            actor=user,
            name=payload.name,
            kind=payload.kind,
            country=payload.country,
            parent=_parent(user, payload.parent_id),
        ),
    )


@bodies.patch(
    "/public-bodies/{int:body_id}",
    response={200: PublicBodyOut, **errors(400, 403, 404, 422)},
    summary="Change a public body",
)
def body_change(request: HttpRequest, body_id: int, payload: PublicBodyIn) -> PublicBody:
    user = _user(request)
    _may(user, "change", PublicBody)
    body = _get_visible(user, PublicBody.objects.all(), body_id)
    return services.public_body_save(
        actor=user,
        body=body,
        name=payload.name,
        kind=payload.kind,
        country=payload.country,
        parent=_parent(user, payload.parent_id),
    )
