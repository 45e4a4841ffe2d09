"""The API of links between records and core people and organisations (``/api/v1/links``): why each link was
made, and an analyst's confirm or reject, as on the Links page (``core.links``)."""

from datetime import datetime
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from probity.core.api import MAX_PAGE, ApiError, _require, _user, errors
from probity.core.link_views import links_filtered
from probity.core.links import LinkRefused, link_decide, link_reason, source_labels
from probity.core.models import RecordLink

router = Router(tags=["links"])

StateFilter = Literal["automatic", "confirmed", "rejected"]


class LinkOut(Schema):
    id: int
    source: str = Field(..., description="the kind of record, e.g. ownership.party")
    source_name: str = Field(..., description="the kind of record in words")
    record: str = Field(..., description="the record's key in its source")
    record_name: str
    person_id: int | None
    organisation_id: int | None
    linked_to: str = Field(..., description="the name of the person or organisation")
    rule: str
    reason: str = Field(..., description="why the link was made, as a sentence")
    state: StateFilter
    decided_by: str
    decided_at: datetime | None
    updated_at: datetime


class DecisionIn(Schema):
    state: StateFilter = Field(..., description="confirmed, rejected, or automatic to withdraw a decision")
    note: str = Field("", max_length=500)


def link_out(link: RecordLink) -> dict[str, object]:
    target = link.person if link.person_id else link.organisation
    return {
        "id": link.pk,
        "source": link.source,
        "source_name": source_labels().get(link.source, link.source),
        "record": link.source_key,
        "record_name": link.source_label,
        "person_id": link.person_id,
        "organisation_id": link.organisation_id,
        "linked_to": str(target) if target is not None else "",
        "rule": link.rule,
        "reason": link_reason(link),
        "state": link.state,
        "decided_by": link.decided_by,
        "decided_at": link.decided_at,
        "updated_at": link.updated_at,
    }


@router.get("/links", response={200: list[LinkOut], **errors(403, 422)}, summary="Links between records, newest first")
@paginate(LimitOffsetPagination, max_limit=MAX_PAGE)
def link_list(
    request: HttpRequest,
    state: StateFilter | None = None,
    rule: str | None = None,
    source: str | None = None,
    person: int | None = None,
) -> list[dict[str, object]] | QuerySet[RecordLink]:
    _require(_user(request), "core.view_recordlink", "Your role may not see links between records.")
    queryset = links_filtered(state=state or "", rule=rule or "", source=source or "")
    if person is not None:
        queryset = queryset.filter(person_id=person)
    return _Rows(queryset)  # type: ignore[return-value]


class _Rows:
    """A queryset that hands out each link as ``LinkOut`` (the reason is a sentence, made per row)."""

    def __init__(self, queryset: QuerySet[RecordLink]) -> None:
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, object]]:
        return [link_out(link) for link in self.queryset[index]]


@router.get("/links/{int:link_id}", response={200: LinkOut, **errors(403, 404)}, summary="One link and its reason")
def link_detail(request: HttpRequest, link_id: int) -> dict[str, object]:
    _require(_user(request), "core.view_recordlink", "Your role may not see links between records.")
    return link_out(_link(link_id))


def _link(link_id: int) -> RecordLink:
    link = RecordLink.objects.select_related("person", "organisation").filter(pk=link_id).first()
    if link is None:
        raise ApiError(404, "not_found", f"There is no link {link_id}.")
    return link


@router.post(
    "/links/{int:link_id}/decision",
    response={200: LinkOut, **errors(400, 403, 404, 422)},
    summary="Confirm or reject a link (audited); linking keeps the decision",
)
def link_decision(request: HttpRequest, link_id: int, payload: DecisionIn) -> dict[str, object]:
    user = _user(request)
    _require(user, "core.decide_recordlink", "Your role may not confirm or reject links.")
    link = _link(link_id)
    try:
        link = link_decide(link=link, state=payload.state, actor=user, note=payload.note)
    except LinkRefused as refusal:
        raise ApiError(400, "bad_request", str(refusal)) from None
    return link_out(link)
