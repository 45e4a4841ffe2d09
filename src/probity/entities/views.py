"""Web pages of the entities app: search, the entity page (names in all scripts, identifiers, relations,
match candidates with their explanation and confirm/reject buttons), and the list of open candidates."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from probity.core.audit import audit_record
from probity.core.jobs import JobRefused, job_enqueue, job_url, start_links
from probity.core.models import AuditEntry, Job
from probity.entities import selectors, services
from probity.entities.models import Entity, MatchCandidate

PAGE_SIZE = 50

FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "birth": gettext_lazy("Date of birth"),
    "country": gettext_lazy("Country"),
    "identifier": gettext_lazy("Identifier"),
    "address": gettext_lazy("Address"),
}
LEVEL_LABELS = {
    "missing": gettext_lazy("missing on one side"),
    "same name": gettext_lazy("same name"),
    "same sounds in any order": gettext_lazy("same sounds, any order"),
    "two or more tokens agree": gettext_lazy("two or more parts agree"),
    "same name with a given name as its initial": gettext_lazy("same name, a given name as its initial"),
    "similar spelling": gettext_lazy("similar spelling"),
    "one token sounds alike": gettext_lazy("one part sounds alike"),
    "different": gettext_lazy("different"),
    "same date": gettext_lazy("same date"),
    "same month, day unknown on one side": gettext_lazy("same month (day unknown on one side)"),
    "same month": gettext_lazy("same month"),
    "same year": gettext_lazy("same year"),
    "same year, another month": gettext_lazy("same year, another month"),
    "a country in common": gettext_lazy("a country in common"),
    "an identifier in common": gettext_lazy("an identifier in common"),
    "same address": gettext_lazy("same address"),
    "same postcode, similar street": gettext_lazy("same postcode, similar street"),
    "same postcode or city only": gettext_lazy("same postcode or city only"),
}
NAME_KIND_LABELS = {
    "name": gettext_lazy("Name"),
    "alias": gettext_lazy("Alias"),
    "weakAlias": gettext_lazy("Weak alias"),
    "previousName": gettext_lazy("Previous name"),
    "transliteration": gettext_lazy("Transliteration"),
}
RELATION_LABELS = {
    "Ownership": gettext_lazy("Ownership"),
    "Family": gettext_lazy("Family"),
    "Directorship": gettext_lazy("Directorship"),
    "Sanction": gettext_lazy("Sanction"),
    "Occupancy": gettext_lazy("Position held"),
    "Representation": gettext_lazy("Representation"),
    "Membership": gettext_lazy("Membership"),
    "Associate": gettext_lazy("Associate"),
    "Employment": gettext_lazy("Employment"),
    "Address": gettext_lazy("Address"),
    "Payment": gettext_lazy("Payment"),
    "ContractAward": gettext_lazy("Contract award"),
    "Passport": gettext_lazy("Identity document"),
    "UnknownLink": gettext_lazy("Other link"),
}


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name, in any script"), required=False, max_length=300)
    dataset = forms.CharField(label=gettext_lazy("Dataset"), required=False, max_length=100)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("confirmed", gettext_lazy("Confirm: the same")), ("rejected", gettext_lazy("Reject: not the same"))],
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=2000)


def _explanation_rows(explanation: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for field_name, detail in explanation.items():
        level = str(detail.get("level", ""))
        weight = float(detail.get("weight", 0.0))
        rows.append(
            {
                "field": FIELD_LABELS.get(field_name, field_name),
                "level": LEVEL_LABELS.get(level, level),
                "weight": weight,
                "agrees": weight > 0,
            }
        )
    return rows


@login_required
@permission_required("entities.view_entity", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    q = dataset = ""
    if form.is_valid():
        q = form.cleaned_data["q"]
        dataset = form.cleaned_data["dataset"]
    queryset = selectors.entity_search(q=q, dataset=dataset)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    open_candidates = MatchCandidate.objects.filter(status=MatchCandidate.Status.OPEN).count()
    return render(
        request,
        "entities/index.html",
        {
            "form": form,
            "page": page,
            "datasets": selectors.dataset_counts(),
            "open_candidates": open_candidates,
            "can_export": request.user.has_perm(services.EXPORT_PERMISSION),
            "job_links": start_links(
                user=request.user, codes=("entities.import_ftm", "entities.sync_core", "entities.link")
            ),
        },
    )


@login_required
@permission_required("entities.view_entity", raise_exception=True)
def entity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entity = get_object_or_404(Entity, pk=pk)
    page = selectors.entity_page(entity=entity)
    candidates = [
        {
            "candidate": candidate,
            "other": selectors.candidate_other(candidate=candidate, entity=entity),
            "rows": _explanation_rows(candidate.explanation),
        }
        for candidate in page.candidates
    ]
    relations = [{"label": RELATION_LABELS.get(r.schema, r.schema), "relation": r} for r in page.relations]
    names = [{"name": n, "kind": NAME_KIND_LABELS.get(n.kind, n.kind)} for n in page.names]
    return render(
        request,
        "entities/entity_detail.html",
        {
            "entity": entity,
            "page": page,
            "names": names,
            "candidates": candidates,
            "relations": relations,
            "decision_form": DecisionForm(),
            "can_decide": request.user.has_perm("entities.decide_matchcandidate"),
        },
    )


@login_required
@permission_required(services.EXPORT_PERMISSION, raise_exception=True)
@require_POST
def ftm_export(request: HttpRequest) -> HttpResponse:
    """Starts the FtM export (people, organisations, positions, family, ownership, contracts) in the
    background and shows its job, whose result offers the file (``export_file``)."""
    try:
        job = job_enqueue(kind="entities.export_ftm", actor=cast(User, request.user), trigger=Job.Trigger.PAGE)
    except JobRefused as exc:
        messages.error(request, str(exc))
        return redirect("entities:index")
    messages.success(request, _("The export was queued; its file is offered here when it has finished."))
    return redirect(job_url(job))


@login_required
@permission_required(services.EXPORT_PERMISSION, raise_exception=True)
def export_file(request: HttpRequest, name: str) -> FileResponse:
    """Serves a finished FtM export (written by the job ``entities.export_ftm``); each download is audited."""
    try:
        path = services.export_file(name=name)
    except FileNotFoundError:
        raise Http404(_("There is no export with this name.")) from None
    audit_record(
        action=AuditEntry.Action.EXPORT,
        actor=cast(User, request.user).get_username(),
        object_type="entities.ftm",
        object_label="FollowTheMoney export download",
        details={"file": path.name},
    )
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=path.name, content_type="application/x-ndjson; charset=utf-8"
    )


@login_required
@permission_required("entities.view_matchcandidate", raise_exception=True)
def candidates(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", MatchCandidate.Status.OPEN)
    if status not in MatchCandidate.Status.values:
        status = MatchCandidate.Status.OPEN
    queryset = (
        MatchCandidate.objects.filter(status=status).select_related("left", "right").order_by("-probability", "pk")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"candidate": c, "rows": _explanation_rows(c.explanation)} for c in page]
    return render(
        request,
        "entities/candidates.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": MatchCandidate.Status.choices,
        },
    )


@login_required
@permission_required("entities.decide_matchcandidate", raise_exception=True)
@require_POST
def candidate_decide(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = get_object_or_404(MatchCandidate, pk=pk)
    back = request.POST.get("entity")
    target = int(back) if back and back.isdigit() else candidate.left_id
    form = DecisionForm(request.POST)
    if candidate.status != MatchCandidate.Status.OPEN:
        messages.error(request, _("This pair was already decided."))
    elif not form.is_valid():
        messages.error(request, _("Choose confirm or reject."))
    else:
        try:
            services.match_decide(
                candidate=candidate,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
                actor=cast(User, request.user),
            )
        except ValueError:
            messages.error(request, _("A rejection needs a reason."))
        else:
            messages.success(request, _("Decision saved."))
    return redirect("entities:entity", pk=target)
