"""Verification pages: the ranked queue (select by risk, draw a random sample), the random samples
with their re-draw check, a verification case and its workflow, and the verifier's side-by-side page
(a declaration beside the declarant's previous one, changes highlighted, each finding explained).

Who may do what is decided by the ``may_*`` functions of ``verification.services`` (the API asks the
same ones); a declarant has none of the view permissions and gets 403.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from probity.core.models import AuditEntry, Finding, PublicBody
from probity.core.services import finding_triage
from probity.declarations import selectors as declaration_selectors
from probity.declarations.jobs import verification_status
from probity.declarations.models import Declaration, SampleDraw, VerificationCase
from probity.declarations.services import may_see_findings
from probity.declarations.verification import compare as side_by_side
from probity.declarations.verification import sampling, selectors, services
from probity.declarations.views import acting_user, allowed_by

PAGE_SIZE = 50
POPULATION_SHOWN = 10_000  # ids listed on the sample page; larger populations: API or CLI

STATUS_FILTER_CHOICES = [
    ("", _("Any")),
    ("none", _("Not selected")),
    *VerificationCase.Status.choices,
]


class QueueFilterForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1900, max_value=2200)
    declaration_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("Any")), *Declaration.Type.choices]
    )
    body = forms.ModelChoiceField(
        label=_("Body"), required=False, queryset=PublicBody.objects.none(), empty_label=_("Any")
    )
    status = forms.ChoiceField(label=_("Verification"), required=False, choices=STATUS_FILTER_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["body"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = PublicBody.objects.filter(declarations__isnull=False).distinct().order_by("name")

    def criteria(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        body = data.get("body")
        return selectors.clean_criteria(
            criteria={
                "year": data.get("year"),
                "declaration_type": data.get("declaration_type"),
                "body_id": body and body.pk,
            }
        )


class SelectRiskForm(forms.Form):
    top = forms.IntegerField(label=_("Select the top N"), required=False, min_value=1, max_value=100_000)
    min_score = forms.FloatField(label=_("or every one with a risk score of at least"), required=False, min_value=0.01)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("top") is None and data.get("min_score") is None:
            raise forms.ValidationError(_("Give the number of declarations to select or the lowest risk score."))
        return data


class DrawSampleForm(forms.Form):
    size = forms.IntegerField(label=_("Sample size"), min_value=1, max_value=100_000)
    seed = forms.CharField(
        label=_("Seed (hexadecimal, optional)"),
        required=False,
        max_length=128,
        help_text=_("32 to 128 hexadecimal digits; left empty, a random seed is drawn and recorded."),
    )

    def clean_seed(self) -> str:
        seed = self.cleaned_data["seed"].strip().lower()
        if seed and not sampling.SEED_PATTERN.match(seed):
            raise forms.ValidationError(_("The seed must be 32 to 128 hexadecimal digits (0-9, a-f)."))
        return str(seed)


class AssignForm(forms.Form):
    verifier = forms.ModelChoiceField(label=_("Verifier"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["verifier"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = selectors.verifiers()


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[c for c in VerificationCase.Outcome.choices if c[0]])
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    referred_to = forms.CharField(label=_("Referred to (for a referral)"), required=False, max_length=300)
    sanction = forms.CharField(label=_("Sanction (for a sanction)"), required=False, max_length=300)
    close = forms.BooleanField(label=_("Close the case"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") == VerificationCase.Outcome.REFERRAL and not (data.get("referred_to") or "").strip():
            self.add_error("referred_to", _("A referral needs the authority it is referred to."))
        if data.get("outcome") == VerificationCase.Outcome.SANCTION and not (data.get("sanction") or "").strip():
            self.add_error("sanction", _("Say which sanction was imposed."))
        return data


class DecisionForm(forms.Form):
    finding = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        choices=[(Finding.Triage.CONFIRMED, _("Confirm")), (Finding.Triage.DISMISSED, _("Dismiss"))]
    )
    reason = forms.CharField(label=_("Reason (required to dismiss)"), required=False, max_length=5000)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == Finding.Triage.DISMISSED and not (data.get("reason") or "").strip():
            self.add_error("reason", _("A dismissal needs a reason."))
        return data


def _error(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, gettext("Not done: %(reason)s") % {"reason": str(exc)})


# --- the queue ---------------------------------------------------------------------------------------


@login_required
@allowed_by(services.may_view)
@require_http_methods(["GET", "POST"])
def queue(request: HttpRequest) -> HttpResponse:
    filters = QueueFilterForm(request.GET or None)
    criteria = filters.criteria()
    status = filters.cleaned_data.get("status", "") if filters.is_valid() else ""
    user = acting_user(request)
    can_select, can_draw = services.may_select(user=user), services.may_draw(user=user)
    select_form = SelectRiskForm(prefix="risk")
    draw_form = DrawSampleForm(prefix="sample")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "select":
            if not can_select:
                raise PermissionDenied
            select_form = SelectRiskForm(request.POST, prefix="risk")
            if select_form.is_valid():
                try:
                    result = services.select_by_risk(
                        actor=user,
                        criteria=criteria,
                        top=select_form.cleaned_data["top"],
                        min_score=select_form.cleaned_data["min_score"],
                    )
                except ValueError as exc:
                    _error(request, exc)
                else:
                    messages.success(
                        request,
                        gettext("%(count)s declaration(s) selected for verification by risk score.")
                        % {"count": len(result.created)},
                    )
                    return HttpResponseRedirect(request.get_full_path())
        elif action == "draw":
            if not can_draw:
                raise PermissionDenied
            draw_form = DrawSampleForm(request.POST, prefix="sample")
            if draw_form.is_valid():
                try:
                    sample = services.draw_sample(
                        size=draw_form.cleaned_data["size"],
                        seed=draw_form.cleaned_data["seed"] or None,
                        criteria=criteria,
                        actor=user,
                    )
                except ValueError as exc:
                    _error(request, exc)
                else:
                    messages.success(request, gettext("The random sample was drawn and recorded."))
                    return redirect("declarations:verification_sample", sample_id=sample.sample.pk)
        else:
            return HttpResponse(status=400)
    try:
        rows = selectors.risk_queue(criteria=criteria, case_status=status)
    except ValueError:
        rows = []
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "declarations/verification/queue.html",
        {
            "filters": filters,
            "page": page,
            "total": len(rows),
            "select_form": select_form if can_select else None,
            "draw_form": draw_form if can_draw else None,
        },
    )


# --- samples -----------------------------------------------------------------------------------------


@login_required
@allowed_by(services.may_see_samples)
def samples(request: HttpRequest) -> HttpResponse:
    page = Paginator(SampleDraw.objects.order_by("-drawn_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "declarations/verification/samples.html", {"page": page})


@login_required
@allowed_by(services.may_see_samples)
def sample(request: HttpRequest, sample_id: int) -> HttpResponse:
    draw = get_object_or_404(SampleDraw, pk=sample_id)
    check = None
    problem = ""
    if request.GET.get("check"):
        try:
            check = selectors.redraw(sample=draw)
        except ValueError as exc:
            problem = str(exc)
    cases = {c.declaration_id: c for c in draw.cases.all()}
    selected = [{"id": i, "case": cases.get(i)} for i in draw.selected]
    return render(
        request,
        "declarations/verification/sample.html",
        {
            "sample": draw,
            "selected": selected,
            "criteria": json.dumps(draw.criteria, sort_keys=True),
            "check": check,
            "show_population": check is not None and len(check.population) <= POPULATION_SHOWN,
            "problem": problem,
            "algorithm": gettext(sampling.ALGORITHM_DESCRIPTION),
        },
    )


# --- cases -------------------------------------------------------------------------------------------


@login_required
@allowed_by(services.may_view)
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, case_id: int) -> HttpResponse:
    item = get_object_or_404(VerificationCase.objects.select_related("declaration__declarant", "verifier"), pk=case_id)
    user = acting_user(request)
    assign_form = AssignForm(prefix="assign")
    outcome_form = OutcomeForm(
        prefix="outcome",
        initial={
            "outcome": item.outcome or None,
            "notes": item.outcome_notes,
            "referred_to": item.referred_to,
            "sanction": item.sanction,
        },
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "assign":
                assign_form = AssignForm(request.POST, prefix="assign")
                if assign_form.is_valid():
                    verifier = assign_form.cleaned_data["verifier"]
                    if not services.may_assign(user=user, case=item, verifier=verifier):
                        raise PermissionDenied
                    services.case_assign(case=item, verifier=verifier, actor=user)
                    messages.success(request, gettext("The case is assigned."))
                    return redirect("declarations:verification_case", case_id=item.pk)
            elif action == "take":
                if not services.may_assign(user=user, case=item, verifier=user):
                    raise PermissionDenied
                services.case_assign(case=item, verifier=user, actor=user)
                messages.success(request, gettext("The case is assigned to you."))
                return redirect("declarations:verification_case", case_id=item.pk)
            elif action == "start":
                if not services.may_work_on(user=user, case=item):
                    raise PermissionDenied
                services.case_start(case=item, actor=user)
                messages.success(request, gettext("Verification started."))
                return redirect("declarations:verification_case", case_id=item.pk)
            elif action == "outcome":
                if not services.may_work_on(user=user, case=item):
                    raise PermissionDenied
                outcome_form = OutcomeForm(request.POST, prefix="outcome")
                if outcome_form.is_valid():
                    data = outcome_form.cleaned_data
                    services.case_record_outcome(
                        case=item,
                        outcome=data["outcome"],
                        notes=data["notes"],
                        referred_to=data["referred_to"],
                        sanction=data["sanction"],
                        close=data["close"],
                        actor=user,
                    )
                    messages.success(request, gettext("The outcome is recorded."))
                    return redirect("declarations:verification_case", case_id=item.pk)
            elif action == "close":
                if not services.may_work_on(user=user, case=item):
                    raise PermissionDenied
                services.case_close(case=item, actor=user)
                messages.success(request, gettext("The case is closed."))
                return redirect("declarations:verification_case", case_id=item.pk)
            elif action == "decide":
                return _decide(
                    request, item.declaration, back=reverse("declarations:verification_case", args=[item.pk])
                )
            else:
                return HttpResponse(status=400)
        except ValueError as exc:
            _error(request, exc)
            return redirect("declarations:verification_case", case_id=item.pk)
    works_on = services.may_work_on(user=user, case=item)
    findings = selectors.case_findings(case=item) if may_see_findings(user=user) else []
    open_status = item.status != VerificationCase.Status.COMPLETED
    return render(
        request,
        "declarations/verification/case.html",
        {
            "case": item,
            "findings": [_finding_view(f) for f in findings],
            "verification": verification_status(declaration_id=item.declaration_id, user=user),
            "assign_form": assign_form if open_status and services.may_assign_any(user=user) else None,
            "can_take": open_status and item.verifier_id is None and services.is_verifier(user=user),
            "can_start": works_on and item.status == VerificationCase.Status.ASSIGNED,
            "can_decide": works_on
            and item.status == VerificationCase.Status.IN_PROGRESS
            and services.may_decide_findings(user=user),
            "outcome_form": outcome_form if works_on and item.status == VerificationCase.Status.IN_PROGRESS else None,
            "can_close": works_on and item.status == VerificationCase.Status.IN_PROGRESS and bool(item.outcome),
            "decision_form": DecisionForm(),
            "history": _history(item) if services.may_see_case_history(user=user) else None,
        },
    )


def _history(item: VerificationCase) -> list[AuditEntry]:
    """The case's audit entries: who changed what, when (for administrators and auditors)."""
    return list(
        AuditEntry.objects.filter(object_type="declarations.verificationcase", object_id=str(item.pk)).order_by(
            "sequence"
        )
    )


# --- findings explained, and decisions on them -------------------------------------------------------

WEALTH_TERMS = (
    ("net_worth_before", _("Net worth at the previous declaration")),
    ("net_worth_after", _("Net worth now")),
    ("net_worth_change", _("Change in net worth")),
    ("expenditure", _("plus declared expenditure")),
    ("lawful_income", _("minus lawful income")),
    ("other_lawful_inflows", _("minus other lawful inflows (gifts, prizes, inheritances, sales)")),
    ("other_outflows", _("plus other outflows (assets sold or given away at their previous value, gifts of money)")),
    ("revaluations", _("minus revaluations of assets held in both years")),
    ("unexplained", _("= unexplained amount")),
)


def _finding_view(finding: Finding) -> dict[str, Any]:
    evidence = finding.evidence or {}
    terms = [(label, evidence[key]) for key, label in WEALTH_TERMS if key in evidence]
    return {
        "finding": finding,
        "explanation": finding.localized_explanation,
        "weight": evidence.get("weight"),
        "currency": evidence.get("currency", ""),
        "terms": terms,
        "arithmetic": evidence.get("arithmetic", ""),
        "thresholds": evidence.get("thresholds"),
        "issues": evidence.get("issues") or [],
        "is_flag": finding.outcome == Finding.Outcome.FLAG,
    }


def _decide(request: HttpRequest, declaration: Declaration, *, back: str) -> HttpResponse:
    """Confirms or dismisses a finding of ``declaration``: through its case when the user works on one
    in progress, otherwise with core's finding triage directly."""
    user = acting_user(request)
    if not services.may_decide_findings(user=user):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return HttpResponseRedirect(back)
    finding = (
        declaration_selectors.latest_findings(declaration_ids=[declaration.pk])
        .filter(pk=form.cleaned_data["finding"])
        .first()
    )
    if finding is None:
        raise Http404
    data = form.cleaned_data
    open_case = VerificationCase.objects.filter(
        declaration=declaration, status=VerificationCase.Status.IN_PROGRESS, verifier_id=user.pk
    ).first()
    try:
        if open_case is not None:
            services.case_finding_decide(
                case=open_case, finding=finding, decision=data["decision"], reason=data["reason"], actor=user
            )
        else:
            finding_triage(finding=finding, decision=data["decision"], reason=data["reason"], actor=user)
    except ValueError as exc:
        _error(request, exc)
    else:
        messages.success(request, gettext("Your decision on the finding is saved."))
    return HttpResponseRedirect(back)


# --- the side-by-side page ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A declared value as a reader sees it: money with its currency, "not provided" with the reason."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "amount" in value and "currency" in value:
            return f"{value['amount']} {value['currency']}"
        if "not_provided" in value:
            text = gettext("not provided (%(reason)s)") % {"reason": value["not_provided"]}
            return f"{text}: {value['note']}" if value.get("note") else text
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return str(value)


CHANGE_LABELS = {
    side_by_side.SAME: _("unchanged"),
    side_by_side.ADDED: _("added"),
    side_by_side.REMOVED: _("removed"),
    side_by_side.CHANGED: _("changed"),
}


def _row_title(row: side_by_side.RowDiff) -> str:
    """What the row is, from its values: kind, what identifies it, and whose it is."""
    values = {c.key: c.new if c.new is not None else c.old for c in row.cells}
    parts = [str(values[key]) for key in ("kind", "relation") if isinstance(values.get(key), str)]
    for key in (*side_by_side.IDENTITY_FIELDS, "name", "title"):
        if isinstance(values.get(key), str) and values[key].strip():
            parts.append(values[key])
            break
    title = " — ".join(parts)
    owner = values.get("owner")
    if isinstance(owner, str):
        title = f"{title} ({owner})" if title else owner
    return title


def _section_view(section: side_by_side.SectionDiff, *, only_changes: bool = False) -> dict[str, Any]:
    rows = []
    for row in section.rows:
        if only_changes and row.kind == side_by_side.SAME:
            continue
        rows.append(
            {
                "kind": row.kind,
                "title": _row_title(row),
                "label": CHANGE_LABELS[row.kind],
                "cells": [
                    {
                        "key": c.key,
                        "old": _text(c.old),
                        "new": _text(c.new),
                        "kind": c.kind,
                        "label": CHANGE_LABELS[c.kind],
                    }
                    for c in row.cells
                ],
            }
        )
    return {"name": section.name, "rows": rows, "counts": section.counts, "issues": section.issues}


@login_required
@allowed_by(services.may_compare)
@require_http_methods(["GET", "POST"])
def compare(request: HttpRequest, declaration_id: int) -> HttpResponse:
    declaration = get_object_or_404(
        declaration_selectors.declarations_visible(user=request.user).select_related("declarant"), pk=declaration_id
    )
    here = reverse("declarations:declaration_compare", args=[declaration.pk])
    if request.method == "POST":
        if request.POST.get("action") != "decide":
            return HttpResponse(status=400)
        return _decide(request, declaration, back=here)
    version = declaration.latest_version()
    if version is None:
        raise Http404
    only_changes = request.GET.get("changes") == "1"
    previous = selectors.previous_declaration(declaration=declaration)
    previous_version = previous.latest_version() if previous is not None else None
    findings = list(declaration_selectors.latest_findings(declaration_ids=[declaration.pk]))
    findings.sort(key=lambda f: (f.outcome != Finding.Outcome.FLAG, f.detector_code))
    sections = side_by_side.compare_contents(previous_version.content if previous_version else None, version.content)
    side_by_side.attach_issues(sections, [f for f in findings if f.outcome == Finding.Outcome.FLAG])
    cases = list(declaration.verification_cases.select_related("verifier").order_by("-created_at"))
    return render(
        request,
        "declarations/verification/compare.html",
        {
            "declaration": declaration,
            "version": version,
            "previous": previous,
            "previous_version": previous_version,
            "sections": [v for v in (_section_view(s, only_changes=only_changes) for s in sections) if v["rows"]],
            "only_changes": only_changes,
            "findings": [_finding_view(f) for f in findings],
            "verification": verification_status(declaration_id=declaration.pk, user=request.user),
            "score": declaration_selectors.risk_scores(declaration_ids=[declaration.pk]).get(declaration.pk, 0.0),
            "cases": cases,
            "can_decide": services.may_decide_findings(user=request.user),
            "decision_form": DecisionForm(),
        },
    )
