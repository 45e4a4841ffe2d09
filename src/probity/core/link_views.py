"""The page of links between records and core people and organisations: why each was made, and an analyst's
confirm or reject (``core.links``)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.views.decorators.http import require_POST

from probity.core.jobs import start_links
from probity.core.links import RELINK_JOB, LinkRefused, link_decide, link_reason, rule_sentences, source_labels
from probity.core.models import RecordLink

PAGE_SIZE = 50


def links_filtered(*, state: str = "", rule: str = "", source: str = "") -> QuerySet[RecordLink]:
    """The links with these state, rule and source (empty: any), newest first."""
    queryset = RecordLink.objects.select_related("person", "organisation").order_by("-updated_at", "-pk")
    if state:
        queryset = queryset.filter(state=state)
    if rule:
        queryset = queryset.filter(rule=rule)
    if source:
        queryset = queryset.filter(source=source)
    return queryset


def link_rows(links: Any) -> list[dict[str, Any]]:
    labels = source_labels()
    return [
        {
            "link": link,
            "source": labels.get(link.source, link.source),
            "target": link.person or link.organisation,
            "target_url": reverse("core:person", kwargs={"pk": link.person_id}) if link.person_id else "",
            "reason": link_reason(link),
        }
        for link in links
    ]


@login_required
@permission_required("core.view_recordlink", raise_exception=True)
def links(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    rule = request.GET.get("rule", "")
    source = request.GET.get("source", "")
    states = dict(RecordLink.State.choices)
    rules = rule_sentences()
    sources = source_labels()
    state = state if state in states else ""
    rule = rule if rule in rules else ""
    source = source if source in sources else ""
    page = Paginator(links_filtered(state=state, rule=rule, source=source), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": link_rows(page),
        "state": state,
        "rule": rule,
        "source": source,
        "states": sorted(states.items()),
        "rules": sorted(rules),
        "sources": sorted(sources.items()),
        "may_decide": request.user.has_perm("core.decide_recordlink"),
        "start_links": start_links(user=request.user, codes=[RELINK_JOB]),
    }
    return render(request, "core/links/links.html", context)


@login_required
@require_POST
@permission_required("core.decide_recordlink", raise_exception=True)
def link_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(RecordLink, pk=pk)
    state = request.POST.get("state", "")
    try:
        link_decide(link=link, state=state, actor=cast(User, request.user), note=request.POST.get("note", ""))
    except LinkRefused as refusal:
        messages.error(request, str(refusal))
    else:
        if state == RecordLink.State.CONFIRMED:
            messages.success(request, _g("The link was confirmed; linking will keep it."))
        elif state == RecordLink.State.REJECTED:
            messages.success(request, _g("The link was rejected; linking will never make it again."))
        else:
            messages.success(request, _g("The decision was withdrawn; the rules decide this link again."))
    return redirect("core:links")
