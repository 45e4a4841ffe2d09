"""Web pages of the ownership app: search the register, a party's owners, chains and holdings, ingest reports."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from probity.core.jobs import start_links
from probity.ownership import selectors
from probity.ownership.models import IngestBatch, Party

PAGE_SIZE = 50
THRESHOLDS = (25, 10)


def _threshold(request: HttpRequest) -> int:
    try:
        value = int(request.GET.get("threshold", "25"))
    except ValueError:
        return 25
    return value if value in THRESHOLDS else 25


@login_required
@permission_required("ownership.view_party", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    kind = kind if kind in Party.Kind.values else ""
    page = Paginator(selectors.parties_search(q=query, kind=kind), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": query,
        "kind": kind,
        "kinds": Party.Kind.choices,
        "batches": selectors.recent_batches(limit=10),
        "job_links": start_links(user=request.user, codes=("ownership.ingest",)),
    }
    return render(request, "ownership/index.html", context)


@login_required
@permission_required("ownership.view_party", raise_exception=True)
def party_detail(request: HttpRequest, pk: int) -> HttpResponse:
    party = get_object_or_404(Party, pk=pk)
    threshold = _threshold(request)
    view = selectors.ownership_view(party=party, threshold=threshold / 100)
    context = {
        "party": party,
        "threshold": threshold,
        "thresholds": THRESHOLDS,
        "owners": view.owners,
        "chains": view.chain_names(),
        "chains_truncated": view.chains_truncated,
        "graph": view.graph_json(),
        "holdings": selectors.holdings(party=party, threshold=threshold / 100),
        "relationships": selectors.direct_relationships(party=party),
        "conflicts": selectors.party_conflicts(party=party) if request.user.has_perm("core.view_finding") else None,
    }
    return render(request, "ownership/party_detail.html", context)


@login_required
@permission_required("ownership.view_party", raise_exception=True)
def organisation_ownership(request: HttpRequest, organisation_id: int) -> HttpResponse:
    party = Party.objects.filter(organisation_id=organisation_id).order_by("-pk").first()
    if party is None:
        return render(request, "ownership/not_in_register.html", status=404)
    return redirect("ownership:party", pk=party.pk)


@login_required
@permission_required("ownership.view_party", raise_exception=True)
def person_ownership(request: HttpRequest, person_id: int) -> HttpResponse:
    party = Party.objects.filter(person_id=person_id).order_by("-pk").first()
    if party is None:
        return render(request, "ownership/not_in_register.html", status=404)
    return redirect("ownership:party", pk=party.pk)


@login_required
@permission_required("ownership.view_ingestbatch", raise_exception=True)
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(IngestBatch, pk=pk)
    page = Paginator(selectors.batch_issues(batch=batch), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ownership/batch_detail.html", {"batch": batch, "page": page})
