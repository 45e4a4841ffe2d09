"""Web pages of the procurement app: processes (list and page), buyer and supplier profiles, data
coverage, ingest runs and the debarment register. Views parse input, call one selector and render."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from probity.core.jobs import start_links
from probity.procurement import selectors
from probity.procurement.coverage import coverage_load, indicator_coverage

PAGE_SIZE = 50
READ = "core.view_finding"


class ProcessFilterForm(forms.Form):
    flag = forms.ChoiceField(label=_("Flagged by"), required=False)
    buyer = forms.CharField(
        label=_("Buyer"), required=False, max_length=200, help_text=_("identifier or part of the name")
    )
    supplier = forms.CharField(
        label=_("Supplier"), required=False, max_length=200, help_text=_("identifier or part of the name")
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    score_min = forms.FloatField(
        label=_("Lowest score"),
        required=False,
        min_value=0,
        max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    score_max = forms.FloatField(
        label=_("Highest score"),
        required=False,
        min_value=0,
        max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("-score", _("Score, highest first")),
            ("score", _("Score, lowest first")),
            ("-date", _("Date, newest first")),
            ("date", _("Date, oldest first")),
            ("-value", _("Value, largest first")),
            ("value", _("Value, smallest first")),
            ("buyer", _("Buyer")),
            ("ocid", _("OCID")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        flag_field = self.fields["flag"]
        assert isinstance(flag_field, forms.ChoiceField)
        flag_field.choices = [("", _("Any indicator"))] + [(code, title) for code, title in selectors.flag_codes()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("score_min"), cleaned.get("score_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("The lowest score is above the highest score."))
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned

    def filters(self) -> selectors.ProcessFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return selectors.ProcessFilters(
            flag=data.get("flag") or "",
            buyer=data.get("buyer") or "",
            supplier=data.get("supplier") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
            sort=data.get("sort") or selectors.DEFAULT_SORT,
        )


# OCDS codelist values shown in the reader's language (the value itself is shown where unknown).
CODELISTS: dict[str, dict[str, Any]] = {
    "method": {
        "open": pgettext_lazy("procurement method", "open"),
        "selective": pgettext_lazy("procurement method", "selective"),
        "limited": pgettext_lazy("procurement method", "limited"),
        "direct": pgettext_lazy("procurement method", "direct"),
    },
    "category": {
        "goods": pgettext_lazy("procurement category", "goods"),
        "works": pgettext_lazy("procurement category", "works"),
        "services": pgettext_lazy("procurement category", "services"),
    },
    "status": {
        "planning": pgettext_lazy("status", "planning"),
        "planned": pgettext_lazy("status", "planned"),
        "active": pgettext_lazy("status", "active"),
        "cancelled": pgettext_lazy("status", "cancelled"),
        "unsuccessful": pgettext_lazy("status", "unsuccessful"),
        "complete": pgettext_lazy("status", "complete"),
        "withdrawn": pgettext_lazy("status", "withdrawn"),
        "pending": pgettext_lazy("status", "pending"),
        "terminated": pgettext_lazy("status", "terminated"),
        "invited": pgettext_lazy("status", "invited"),
        "valid": pgettext_lazy("status", "valid"),
        "disqualified": pgettext_lazy("status", "disqualified"),
    },
}


def _label(codelist: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    return CODELISTS[codelist].get(str(value), value)


def _label_rows(rows: list[dict[str, Any]], fields: dict[str, str]) -> None:
    """Adds ``<field>_label`` to each row: the codelist value in the reader's language."""
    for row in rows:
        for name, codelist in fields.items():
            row[f"{name}_label"] = _label(codelist, row.get(name))


# Reasons the indicators give for "not applicable" (and sometimes for a pass), in the reader's language.
REASONS = {
    "missing_field": _("Not applicable: a field this indicator needs is missing:"),
    "excluded_procedure": _("Not applicable: this procedure is excluded from this indicator:"),
    "excluded_method": _("Not applicable: this procurement method is excluded from this indicator:"),
    "excluded": _("Not applicable: excluded by the indicator's settings:"),
    "cancelled": _("Not applicable: the process was cancelled."),
    "not_final": _("Not applicable: the awards are not final yet."),
    "too_few_processes": _("Not applicable: too few processes to compare with:"),
    "too_few_bids": _("Not applicable: too few bids to compare:"),
    "no_awards": _("Not applicable: the process has no awards."),
    "no_bids": _("Not applicable: the process has no bids."),
    "insufficient_data": _("Not applicable: too little data to judge:"),
}


def reason_text(reason: str) -> tuple[str, str]:
    """A stored reason (``missing_field: tender.tenderPeriod.endDate``) as a sentence and its technical part."""
    if not reason:
        return "", ""
    kind, _sep, detail = reason.partition(":")
    sentence = REASONS.get(kind.strip())
    if sentence is None:
        return str(_("Reason given by the indicator:")), reason
    return str(sentence), detail.strip()


INGEST_JOBS = ("procurement.ingest", "procurement.detect")


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@permission_required(READ, raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    """The process list: filter by flag, buyer, supplier, date and score; sort; page."""
    form = ProcessFilterForm(request.GET or None)
    number = _page_number(request)
    result = selectors.process_list(filters=form.filters(), offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    _label_rows(result.rows, {"procurement_method": "method"})
    context = {
        "form": form,
        "result": result,
        "query": _query_without_page(request),
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if number < result.page_count else None,
        "job_links": start_links(user=request.user, codes=INGEST_JOBS),
    }
    return render(request, "procurement/process_list.html", context)


@login_required
@permission_required(READ, raise_exception=True)
def process(request: HttpRequest, ocid: str) -> HttpResponse:
    """One process: its key data and each indicator's outcome with the values that triggered it."""
    detail = selectors.process_detail(ocid=ocid)
    if detail is None:
        raise Http404(_("No contracting process has this OCID."))
    _label_rows(
        [detail.process],
        {"procurement_method": "method", "main_procurement_category": "category", "tender_status": "status"},
    )
    for rows in (detail.awards, detail.bids, detail.contracts):
        _label_rows(rows, {"status": "status"})
    for item in detail.outcomes:
        item.reason_text, item.reason_detail = reason_text(item.reason)
        if item.outcome == "not_applicable" and item.reason:
            item.explanation = ""  # the reason, translated above, says it better than "Not applicable: <reason>"
    return render(request, "procurement/process_detail.html", {"detail": detail})


def _chart(years: list[selectors.YearScore]) -> dict[str, Any]:
    """Geometry of a bar chart of scores (0–1) by year, drawn as SVG by the template."""
    width, height, left, bottom, top = 560, 200, 40, 30, 10
    plot_height = height - bottom - top
    points = [item for item in years if item.score is not None]
    bar_gap = 8
    slot = (width - left) / max(1, len(points))
    bars = []
    for index, item in enumerate(points):
        value = max(0.0, min(1.0, float(item.score or 0)))
        bar_height = round(value * plot_height, 1)
        x = round(left + index * slot + bar_gap / 2, 1)
        bars.append(
            {
                "x": x,
                "y": round(top + plot_height - bar_height, 1),
                "width": round(max(4.0, slot - bar_gap), 1),
                "height": bar_height,
                "label_x": round(x + max(4.0, slot - bar_gap) / 2, 1),
                "year": item.year,
                "score": value,
                "processes": item.processes,
            }
        )
    ticks = [{"value": tick, "y": round(top + plot_height - tick * plot_height, 1)} for tick in (0, 0.5, 1)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "axis_y": top + plot_height,
        "label_y": height - 10,
        "bars": bars,
        "ticks": ticks,
    }


def _profile(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    found = selectors.profile(kind=kind, key=key)
    if found is None:
        raise Http404(_("No such buyer or supplier in the procurement data."))
    return render(request, "procurement/profile.html", {"profile": found, "chart": _chart(found.years)})


@login_required
@permission_required(READ, raise_exception=True)
def buyer(request: HttpRequest, key: str) -> HttpResponse:
    return _profile(request, "buyer", key)


@login_required
@permission_required(READ, raise_exception=True)
def supplier(request: HttpRequest, key: str) -> HttpResponse:
    return _profile(request, "supplier", key)


def _parties(request: HttpRequest, kind: str) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    number = _page_number(request)
    rows, total = selectors.party_list(kind=kind, query=query, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "kind": kind,
        "rows": rows,
        "total": total,
        "q": query,
        "number": number,
        "pages": pages,
        "query": _query_without_page(request),
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if number < pages else None,
    }
    return render(request, "procurement/party_list.html", context)


@login_required
@permission_required(READ, raise_exception=True)
def buyers(request: HttpRequest) -> HttpResponse:
    return _parties(request, "buyer")


@login_required
@permission_required(READ, raise_exception=True)
def suppliers(request: HttpRequest) -> HttpResponse:
    return _parties(request, "supplier")


@login_required
@permission_required(READ, raise_exception=True)
def coverage(request: HttpRequest) -> HttpResponse:
    """Which fields each indicator needs and how often the data has them."""
    with selectors._warehouse() as warehouse:
        report = coverage_load(warehouse=warehouse) if warehouse is not None else None
    indicators = indicator_coverage(report) if report is not None else []
    return render(request, "procurement/coverage.html", {"report": report, "indicators": indicators})


@login_required
@permission_required(READ, raise_exception=True)
def ingest(request: HttpRequest) -> HttpResponse:
    """Ingest runs and the records each rejected, with the reason."""
    run_id = request.GET.get("run", "").strip()[:100] or None
    number = _page_number(request)
    runs = selectors.ingest_runs()
    rejections, total = selectors.ingest_rejections(run_id=run_id, offset=(number - 1) * 100, limit=100)
    pages = max(1, -(-total // 100))
    context = {
        "runs": runs,
        "run_columns": selectors.columns_of(rows=runs),
        "rejections": rejections,
        "rejection_columns": selectors.columns_of(rows=rejections),
        "total": total,
        "run_id": run_id,
        "number": number,
        "pages": pages,
        "query": _query_without_page(request),
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if number < pages else None,
        "job_links": start_links(user=request.user, codes=INGEST_JOBS),
    }
    return render(request, "procurement/ingest.html", context)


@login_required
@permission_required("procurement.view_debarment", raise_exception=True)
def debarments(request: HttpRequest) -> HttpResponse:
    """The debarment register; lists are imported in the background (``procurement.debarment_import``)."""
    query = request.GET.get("q", "").strip()[:200]
    current = request.GET.get("current") == "1"
    page = Paginator(selectors.debarment_list(query=query, current_only=current), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "q": query,
        "current": current,
        "today": date.today(),
        "job_links": start_links(user=request.user, codes=("procurement.debarment_import",)),
    }
    return render(request, "procurement/debarments.html", context)


@login_required
@permission_required("procurement.view_codelistmapping", raise_exception=True)
def codelists(request: HttpRequest) -> HttpResponse:
    """A publisher's local names for OCDS codes: listed, added or replaced, and deleted (``services``)."""
    from django.contrib import messages
    from django.contrib.auth.models import User
    from django.core.exceptions import PermissionDenied
    from django.shortcuts import redirect

    from probity.procurement import services
    from probity.procurement.codelists import CODELISTS, FIELD_LABELS
    from probity.procurement.models import CodelistMapping

    if request.method == "POST":
        user = request.user if isinstance(request.user, User) else None
        action = request.POST.get("action")
        field = request.POST.get("field", "")
        local_value = request.POST.get("local_value", "")
        needed = "procurement.delete_codelistmapping" if action == "delete" else "procurement.change_codelistmapping"
        if not request.user.has_perm(needed):
            raise PermissionDenied
        if action == "delete":
            if services.codelist_mapping_delete(field=field, local_value=local_value, actor=user):
                messages.success(request, _("The mapping of “%(value)s” was removed.") % {"value": local_value})
        else:
            code = request.POST.get("code", "")
            try:
                services.codelist_mapping_set(
                    field=field,
                    local_value=local_value,
                    code=code,
                    note=request.POST.get("note", ""),
                    actor=user,
                )
            except ValueError:
                if field not in CODELISTS:
                    messages.error(request, _("Choose one of the listed fields."))
                elif not local_value.strip():
                    messages.error(request, _("Enter the publisher's value as it is written in the data."))
                else:
                    messages.error(
                        request,
                        _("“%(code)s” is not a code of this field; the codes are: %(codes)s.")
                        % {"code": code, "codes": ", ".join(sorted(CODELISTS[field]))},
                    )
            else:
                messages.success(
                    request,
                    _("“%(value)s” is now read as “%(code)s”.") % {"value": local_value.strip(), "code": code.strip()},
                )
        return redirect("procurement:codelists")
    rows = [
        {
            "field": FIELD_LABELS.get(m.field, m.field),
            "key": m.field,
            "local_value": m.local_value,
            "code": m.code,
            "note": m.note,
        }
        for m in CodelistMapping.objects.all()
    ]
    fields = [
        {"key": name, "label": FIELD_LABELS[name], "codes": ", ".join(sorted(codes))}
        for name, codes in CODELISTS.items()
    ]
    context = {
        "rows": rows,
        "fields": fields,
        "can_change": request.user.has_perm("procurement.change_codelistmapping"),
        "can_delete": request.user.has_perm("procurement.delete_codelistmapping"),
    }
    return render(request, "procurement/codelists.html", context)
