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
from probity.entities import batch, screening, selectors, services, watchlists
from probity.entities.models import Entity, MatchCandidate, ScreeningBatch, Watchlist

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


# --- screening, batches and watchlists ------------------------------------------------------------

KIND_CHOICES = [
    ("", gettext_lazy("Any person or organisation")),
    ("person", gettext_lazy("Person")),
    ("company", gettext_lazy("Company")),
    ("organisation", gettext_lazy("Organisation")),
    ("vessel", gettext_lazy("Vessel")),
]
CSV_HELP = gettext_lazy(
    "A CSV file (UTF-8) whose first line names the columns: “name”, and optionally “kind”, “birth_date”, "
    "“country”, “identifier”, “reference”. Broken rows are listed with their line; the others are screened."
)


def _dataset_choices() -> list[tuple[str, str]]:
    choices = [("default", str(gettext_lazy("Every list")))]
    choices += [(row["dataset"], row["dataset"]) for row in selectors.dataset_counts()]
    return choices


class ScreenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name, in any script"), max_length=batch.MAX_NAME, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=KIND_CHOICES, required=False)
    birth_date = forms.CharField(
        label=gettext_lazy("Date of birth"),
        required=False,
        max_length=10,
        help_text=gettext_lazy("YYYY-MM-DD, YYYY-MM or YYYY"),
    )
    country = forms.CharField(
        label=gettext_lazy("Country"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Its name or two-letter code"),
    )
    identifier = forms.CharField(
        label=gettext_lazy("Identifier"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("A registration, tax, passport or similar number"),
    )
    dataset = forms.ChoiceField(label=gettext_lazy("Lists"), choices=_dataset_choices, required=False)
    threshold = forms.FloatField(
        label=gettext_lazy("Match threshold"),
        min_value=0,
        max_value=1,
        required=False,
        help_text=gettext_lazy("Between 0 and 1; a score at or above it is a match (default %(default)s).")
        % {"default": screening.DEFAULT_THRESHOLD},
    )

    def screening_row(self) -> batch.ScreeningRow:
        """The row to screen; adds the reason to the form and raises ``ValueError`` when it cannot be."""
        data = self.cleaned_data
        try:
            return batch.row_check(
                line=1,
                name=data.get("name") or "",
                kind=data.get("kind") or "",
                birth_date=data.get("birth_date") or "",
                country=data.get("country") or "",
                identifier=data.get("identifier") or "",
            )
        except ValueError as exc:
            self.add_error(None, str(exc))
            raise


class BatchForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file of names"), help_text=CSV_HELP)
    dataset = forms.ChoiceField(label=gettext_lazy("Lists"), choices=_dataset_choices, required=False)
    threshold = forms.FloatField(
        label=gettext_lazy("Match threshold"),
        min_value=0,
        max_value=1,
        required=False,
        initial=screening.DEFAULT_THRESHOLD,
    )


def _threshold(value: float | None) -> float:
    return screening.DEFAULT_THRESHOLD if value is None else float(value)


@login_required
@permission_required("entities.view_entity", raise_exception=True)
def screening_page(request: HttpRequest) -> HttpResponse:
    """One name answered with a labelled table of matches and the reasons for each score; or a CSV
    upload, screened at once when small and in the background when large."""
    user = cast(User, request.user)
    form = ScreenForm(request.GET if "name" in request.GET or "identifier" in request.GET else None)
    upload = BatchForm()
    result = None
    threshold = screening.DEFAULT_THRESHOLD
    if request.method == "POST":
        upload = BatchForm(request.POST, request.FILES)
        if upload.is_valid():
            file = upload.cleaned_data["file"]
            if file.size and file.size > MAX_UPLOAD_BYTES:
                upload.add_error("file", _("The file is larger than 50 MB; split it or use the command line."))
            else:
                try:
                    record = batch.batch_create(
                        actor=user,
                        file_name=file.name or "upload.csv",
                        content=b"".join(file.chunks()),
                        dataset=upload.cleaned_data.get("dataset") or "default",
                        threshold=_threshold(upload.cleaned_data.get("threshold")),
                    )
                except (batch.BatchFileError, JobRefused) as exc:
                    upload.add_error("file", str(exc))
                else:
                    return redirect("entities:screening_batch", pk=record.pk)
    elif form.is_bound and form.is_valid():
        threshold = _threshold(form.cleaned_data.get("threshold"))
        try:
            row = form.screening_row()
            result = batch.screen_row(
                row=row, dataset=form.cleaned_data.get("dataset") or "default", threshold=threshold, limit=10
            )
        except (ValueError, screening.QueryError) as exc:
            if isinstance(exc, screening.QueryError):
                form.add_error(None, str(exc))
    return render(
        request,
        "entities/screening.html",
        {
            "form": form,
            "upload": upload,
            "result": result,
            "threshold": threshold,
            "batches": ScreeningBatch.objects.filter(requested_by=user)[:10],
            "inline_rows": batch.INLINE_ROWS,
        },
    )


MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _own_batch(request: HttpRequest, pk: int) -> ScreeningBatch:
    record = get_object_or_404(ScreeningBatch, pk=pk)
    if not batch.batch_visible(user=cast(User, request.user), batch=record):
        raise Http404(_("There is no screening batch with this number among yours."))
    return record


@login_required
@permission_required("entities.view_entity", raise_exception=True)
def screening_batch(request: HttpRequest, pk: int) -> HttpResponse:
    record = _own_batch(request, pk)
    return render(
        request,
        "entities/screening_batch.html",
        {
            "batch": record,
            "summary": batch.batch_summary(record),
            "job_link": job_url(record.job) if record.job else "",
        },
    )


@login_required
@permission_required("entities.view_entity", raise_exception=True)
def screening_result(request: HttpRequest, pk: int, fmt: str) -> FileResponse:
    record = _own_batch(request, pk)
    try:
        path = batch.batch_file(batch=record, fmt=fmt)
    except FileNotFoundError:
        raise Http404(_("This batch has no result file of this kind (yet).")) from None
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=batch.batch_download_name(batch=record, fmt=fmt),
        content_type=batch.CONTENT_TYPES[fmt],
    )


class WatchlistForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the watchlist"), max_length=200)
    dataset = forms.ChoiceField(label=gettext_lazy("Lists"), choices=_dataset_choices, required=False)
    threshold = forms.FloatField(
        label=gettext_lazy("Match threshold"),
        min_value=0,
        max_value=1,
        required=False,
        initial=screening.DEFAULT_THRESHOLD,
    )


class WatchlistNamesForm(forms.Form):
    names = forms.CharField(
        label=gettext_lazy("Names to watch, one a line"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=200_000,
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=KIND_CHOICES, required=False)
    file = forms.FileField(label=gettext_lazy("Or a CSV file of names"), help_text=CSV_HELP, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not (cleaned.get("names") or "").strip() and not cleaned.get("file"):
            raise forms.ValidationError(_("Write at least one name, or choose a CSV file."))
        return cleaned


def _add_names(request: HttpRequest, watchlist: Watchlist, form: WatchlistNamesForm) -> bool:
    """Adds what the form holds; tells the person what was added and which lines were refused."""
    data = form.cleaned_data
    problems: list[str] = []
    try:
        if data.get("file"):
            report, problems = watchlists.watchlist_upload(
                watchlist=watchlist, content=b"".join(data["file"].chunks()), file_name=data["file"].name
            )
        else:
            rows = []
            for number, text in enumerate((data.get("names") or "").splitlines(), start=1):
                if not text.strip():
                    continue
                try:
                    rows.append(batch.row_check(line=number, name=text, kind=data.get("kind") or ""))
                except ValueError as exc:
                    problems.append(_("Line %(line)s: %(reason)s") % {"line": number, "reason": exc})
            report = watchlists.watchlist_add(watchlist=watchlist, rows=rows)
    except ValueError as exc:
        form.add_error(None, str(exc))
        return False
    messages.success(
        request,
        _("%(names)s name(s) screened: %(matches)s match(es).") % {"names": report.names, "matches": report.matches},
    )
    for problem in problems[:20]:
        messages.warning(request, problem)
    if len(problems) > 20:
        messages.warning(request, _("… and %(n)s more refused lines.") % {"n": len(problems) - 20})
    return True


@login_required
@permission_required(watchlists.VIEW_PERMISSION, raise_exception=True)
def watchlist_index(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = WatchlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = watchlists.watchlist_create(
                actor=user,
                name=form.cleaned_data["name"],
                dataset=form.cleaned_data.get("dataset") or "default",
                threshold=_threshold(form.cleaned_data.get("threshold")),
            )
        except ValueError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, _("The watchlist was created; add the names to watch."))
            return redirect("entities:watchlist", pk=record.pk)
    rows = [
        {
            "watchlist": w,
            "names": w.entries.count(),
            "new": watchlists.new_hits(user=user).filter(entry__watchlist=w).count(),
        }
        for w in watchlists.watchlists_of(user=user)
    ]
    return render(request, "entities/watchlists.html", {"form": form, "rows": rows})


@login_required
@permission_required(watchlists.VIEW_PERMISSION, raise_exception=True)
def watchlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    record = get_object_or_404(watchlists.watchlists_of(user=user), pk=pk)
    names_form = WatchlistNamesForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "add":
            names_form = WatchlistNamesForm(request.POST, request.FILES)
            if names_form.is_valid() and _add_names(request, record, names_form):
                return redirect("entities:watchlist", pk=record.pk)
        elif action == "screen":
            report = watchlists.watchlist_screen(watchlist=record, notify=False)
            messages.success(
                request,
                _("%(names)s name(s) screened: %(matches)s match(es), %(new)s new.")
                % {"names": report.names, "matches": report.matches, "new": report.new},
            )
            return redirect("entities:watchlist", pk=record.pk)
        elif action == "seen":
            watchlists.hits_mark_seen(watchlist=record)
            messages.success(request, _("The new matches are marked as seen."))
            return redirect("entities:watchlist", pk=record.pk)
        elif action == "delete":
            watchlists.watchlist_delete(watchlist=record)
            messages.success(request, _("The watchlist was deleted."))
            return redirect("entities:watchlists")
    hits = [
        {"hit": hit, "explanation": batch.explain(hit.features, hit.score, record.threshold)}
        for hit in watchlists.watchlist_hits(watchlist=record)
    ]
    return render(
        request,
        "entities/watchlist.html",
        {
            "watchlist": record,
            "entries": record.entries.all()[:1000],
            "entry_count": record.entries.count(),
            "hits": hits,
            "new_count": watchlists.new_hits(user=user).filter(entry__watchlist=record).count(),
            "names_form": names_form,
        },
    )


@login_required
@permission_required("entities.view_entity", raise_exception=True)
def entity_by_ftm_id(request: HttpRequest, ftm_id: str) -> HttpResponse:
    """An entity's page by its FtM id (the reconciliation service's ``view`` address)."""
    entity = get_object_or_404(Entity, ftm_id=ftm_id)
    return redirect("entities:entity", pk=entity.pk)
