"""Set-up and oversight pages of cases: the case-type catalogue, pools of officers, recusals, the allocation
register with its report, and the statistics.

Views parse input, call one service, selector or form helper, and render; a refusal of a service
(``CaseError``) becomes a message on the page, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from probity.cases import manage_forms, selectors, services
from probity.cases.models import Case, CaseType, Draw, OutcomeKind, Pool, PoolMember, Recusal
from probity.cases.names import shown
from probity.core.audit import audit_as
from probity.core.models import AuditEntry, Organisation, Person, PublicBody
from probity.core.roles import ROLE_LABELS
from probity.core.rules import visible_to

PAGE_SIZE = 50
EDIT_TYPES = ("cases.manage_casetype", "cases.change_casetype")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def who(user: Any) -> str:
    """How a page names an account: the full name with the user name, or the user name."""
    if user is None:
        return ""
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else str(user.get_username())


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _may_edit_types(user: Any) -> bool:
    return any(user.has_perm(perm) for perm in EDIT_TYPES)


# --- the case-type catalogue -----------------------------------------------------------------------------------


def _current_version(code: str) -> CaseType | None:
    try:
        return services.case_type_current(code)
    except services.CaseError:
        return None


@login_required
@permission_required("cases.view_casetype", raise_exception=True)
@require_GET
def case_types(request: HttpRequest) -> HttpResponse:
    """Every case type with its versions, their validity and how many cases each holds."""
    versions = CaseType.objects.annotate(n_cases=Count("cases")).order_by("code", "-version")
    groups: dict[str, dict[str, Any]] = {}
    for version in versions:
        group = groups.setdefault(version.code, {"code": version.code, "newest": version, "versions": []})
        group["versions"].append(version)
    for group in groups.values():
        group["current"] = _current_version(group["code"])
    rows = sorted(groups.values(), key=lambda group: shown(group["newest"].name).lower())
    return render(request, "cases/manage_types.html", {"groups": rows, "may_edit": _may_edit_types(request.user)})


def _labels(values: Iterable[str], labels: dict[str, Any]) -> list[str]:
    return [str(labels.get(value, value)) for value in values or ()]


@login_required
@permission_required("cases.view_casetype", raise_exception=True)
@require_GET
def case_type_detail(request: HttpRequest, code: str, version: int | None = None) -> HttpResponse:
    """One version of a type (the newest unless asked), with its statuses, tasks, documents and outcomes."""
    versions = list(CaseType.objects.filter(code=code).annotate(n_cases=Count("cases")).order_by("-version"))
    if not versions:
        raise Http404
    matching = [v for v in versions if version is None or v.version == version]
    if not matching:
        raise Http404
    shown = matching[0]
    outcome_labels = dict(OutcomeKind.choices)
    context = {
        "case_type": shown,
        "versions": versions,
        "newest": versions[0],
        "current": _current_version(code),
        "roles": _labels(shown.roles, dict(ROLE_LABELS)),
        "sources": _labels(shown.sources, dict(Case.Source.choices)),
        "statuses": shown.statuses.order_by("order", "pk"),
        "tasks": shown.task_templates.order_by("order", "pk"),
        "documents": shown.document_types.order_by("name"),
        "outcomes": [
            {"outcome": outcome, "kind": outcome_labels.get(outcome.kind, outcome.kind)}
            for outcome in shown.outcome_types.order_by("name")
        ],
        "may_edit": _may_edit_types(request.user),
    }
    return render(request, "cases/manage_type_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def case_type_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Edits the newest version of a type: its fields and, as formsets, its statuses, task templates,
    document types and outcome types. When cases use that version, saving makes a new version."""
    if not _may_edit_types(request.user):
        raise PermissionDenied
    case_type = CaseType.objects.filter(code=code).order_by("-version").first()
    if case_type is None:
        raise Http404
    used = case_type.cases.count()
    data = request.POST if request.method == "POST" else None
    form = manage_forms.CaseTypeForm(data, case_type=case_type)
    formsets = manage_forms.case_type_formsets(case_type, data)
    errors = False
    if request.method == "POST":
        valid = form.is_valid()
        valid = all([formset.is_valid() for _prefix, _caption, formset in formsets]) and valid
        if valid:
            try:
                saved, changed = manage_forms.case_type_save(
                    case_type=case_type, form=form, formsets=formsets, actor=_user(request)
                )
            except services.CaseError as refusal:
                form.add_error(None, str(refusal))
            else:
                if not changed:
                    messages.info(request, _("Nothing was changed."))
                elif saved.pk != case_type.pk:
                    messages.success(
                        request,
                        ngettext(
                            "Saved as version %(new)s of %(name)s. The %(count)s case opened under version %(old)s "
                            "keeps it; new cases get version %(new)s.",
                            "Saved as version %(new)s of %(name)s. The %(count)s cases opened under version %(old)s "
                            "keep it; new cases get version %(new)s.",
                            used,
                        )
                        % {"new": saved.version, "old": case_type.version, "name": shown(saved.name), "count": used},
                    )
                else:
                    messages.success(request, _("%(name)s was saved.") % {"name": shown(saved.name)})
                return redirect("cases:type_detail", code=code)
        errors = True
    context = {
        "case_type": case_type,
        "form": form,
        "formsets": formsets,
        "used": used,
        "current": _current_version(code),
    }
    return render(request, "cases/manage_type_edit.html", context, status=400 if errors else 200)


# --- pools of officers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberState:
    member: PoolMember
    name: str
    drawable: bool
    why_not: str


def member_states(pool: Pool, *, today: date | None = None) -> list[MemberState]:
    """Each member of the pool and whether a draw today could pick them (recusals depend on the case and are
    not counted here)."""
    today = today or timezone.localdate()
    out = []
    for member in pool.members.select_related("officer").order_by("officer__username"):
        why_not = ""
        if not member.officer.is_active:
            why_not = _("the account is disabled")
        elif member.absent_until and member.absent_until >= today:
            why_not = _("absent until %(day)s") % {"day": member.absent_until.isoformat()}
            if member.absence_reason:
                why_not = f"{why_not}: {member.absence_reason}"
        elif member.weight <= 0:
            why_not = _("their share of draws is 0")
        out.append(MemberState(member, who(member.officer), not why_not, why_not))
    return out


def pool_warning(pool: Pool, states: list[MemberState]) -> str:
    """A sentence when a pool cannot make a real draw: no drawable officer, or only one."""
    drawable = [state for state in states if state.drawable]
    if not drawable:
        return _(
            "No officer in the pool %(pool)s can be drawn: every draw for it is refused until officers are added "
            "or an absence ends."
        ) % {"pool": pool.name}
    if len(drawable) == 1:
        return _(
            "Only one officer in the pool %(pool)s can be drawn (%(name)s): a draw would have no choice, so it is "
            "refused and cases must be assigned by hand with a reason. Add officers to the pool."
        ) % {"pool": pool.name, "name": drawable[0].name}
    return ""


def _type_names() -> dict[str, str]:
    return dict(manage_forms.case_type_code_choices())


@login_required
@permission_required("cases.view_pool", raise_exception=True)
@require_http_methods(["GET", "POST"])
def pools(request: HttpRequest) -> HttpResponse:
    """The pools by case type and body, each with a warning when it cannot make a real draw; a new pool."""
    may_add = request.user.has_perm("cases.add_pool")
    form = manage_forms.PoolForm(request.POST if request.method == "POST" else None, initial={"active": True})
    if request.method == "POST":
        if not may_add:
            raise PermissionDenied
        if form.is_valid():
            with transaction.atomic(), audit_as(_user(request)):
                pool = form.save()
            messages.success(request, _("The pool %(pool)s was created. Add its officers below.") % {"pool": pool.name})
            return redirect("cases:pool_detail", pk=pool.pk)
    names = _type_names()
    rows = []
    for pool in Pool.objects.select_related("body").order_by("case_type_code", "body__name", "name"):
        states = member_states(pool)
        rows.append(
            {
                "pool": pool,
                "type_name": names.get(pool.case_type_code, pool.case_type_code),
                "members": len(states),
                "drawable": sum(1 for state in states if state.drawable),
                "warning": pool_warning(pool, states) if pool.active else "",
            }
        )
    context = {"rows": rows, "form": form, "may_add": may_add}
    return render(request, "cases/manage_pools.html", context, status=400 if form.errors else 200)


def _pool_member(pool: Pool, request: HttpRequest) -> PoolMember:
    try:
        pk = int(request.POST.get("member", ""))
    except ValueError:
        raise Http404 from None
    return get_object_or_404(PoolMember.objects.select_related("officer"), pool=pool, pk=pk)


@login_required
@permission_required("cases.view_pool", raise_exception=True)
@require_http_methods(["GET", "POST"])
def pool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One pool: its officers, their shares and absences; add, change or remove an officer (audited)."""
    pool = get_object_or_404(Pool.objects.select_related("body"), pk=pk)
    may_change = request.user.has_perm("cases.change_pool")
    actor = _user(request)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    pool_form = manage_forms.PoolForm(request.POST if action == "pool" else None, instance=pool, prefix="pool")
    add_form = manage_forms.PoolMemberAddForm(request.POST if action == "add" else None, pool=pool, prefix="add")
    failed_member: tuple[int, Any] | None = None
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if action == "pool" and pool_form.is_valid():
            with transaction.atomic(), audit_as(actor):
                pool_form.save()
            messages.success(request, _("The pool %(pool)s was saved.") % {"pool": pool.name})
            return redirect("cases:pool_detail", pk=pool.pk)
        if action == "add" and add_form.is_valid():
            officer = add_form.cleaned_data["officer"]
            with transaction.atomic(), audit_as(actor):
                PoolMember.objects.create(pool=pool, officer=officer, weight=add_form.cleaned_data["weight"])
            messages.success(request, _("%(name)s was added to the pool.") % {"name": who(officer)})
            return redirect("cases:pool_detail", pk=pool.pk)
        if action == "member":
            member = _pool_member(pool, request)
            member_form = manage_forms.PoolMemberForm(request.POST, instance=member, prefix=f"m{member.pk}")
            if member_form.is_valid():
                with transaction.atomic(), audit_as(actor):
                    member_form.save()
                messages.success(
                    request, _("The share and absence of %(name)s were saved.") % {"name": who(member.officer)}
                )
                return redirect("cases:pool_detail", pk=pool.pk)
            failed_member = (member.pk, member_form)
        if action == "remove":
            member = _pool_member(pool, request)
            name = who(member.officer)
            with transaction.atomic(), audit_as(actor):
                member.delete()
            messages.success(request, _("%(name)s was removed from the pool.") % {"name": name})
            return redirect("cases:pool_detail", pk=pool.pk)
        if action not in ("pool", "add", "member", "remove"):
            messages.error(request, _("That action is not known."))
            return redirect("cases:pool_detail", pk=pool.pk)
    states = member_states(pool)
    members = []
    for state in states:
        if failed_member and failed_member[0] == state.member.pk:
            form = failed_member[1]
        else:
            form = manage_forms.PoolMemberForm(instance=state.member, prefix=f"m{state.member.pk}")
        members.append({"state": state, "form": form})
    context = {
        "pool": pool,
        "type_name": _type_names().get(pool.case_type_code, pool.case_type_code),
        "members": members,
        "warning": pool_warning(pool, states),
        "drawable": sum(1 for state in states if state.drawable),
        "may_change": may_change,
        "pool_form": pool_form,
        "add_form": add_form,
    }
    invalid = request.method == "POST"
    return render(request, "cases/manage_pool_detail.html", context, status=400 if invalid else 200)


# --- recusals ---------------------------------------------------------------------------------------------------

RECUSAL_MODELS: dict[str, type[Model]] = {"person": Person, "organisation": Organisation, "body": PublicBody}
SEARCH_LIMIT = 20


def _search(user: Any, what: str, query: str) -> QuerySet[Any]:
    """Names that match ``query`` among the records ``user`` may see; someone who may not browse people or
    organisations finds them only by their full name (enough to declare a conflict, not to browse)."""
    model = RECUSAL_MODELS[what]
    term = query.strip()
    if len(term) < 2:
        return model._default_manager.none()
    visible = visible_to(user, model._default_manager.all())
    if user.has_perm(f"core.view_{model._meta.model_name}"):
        found = visible.filter(name__icontains=term)
    else:
        found = visible.filter(name__icontains=term) | model._default_manager.filter(name__iexact=term)
    return found.distinct().order_by("name", "pk")


def _recusal_label(recusal: Recusal) -> tuple[str, str]:
    if recusal.person_id:
        return str(_("Person")), str(recusal.person)
    if recusal.organisation_id:
        return str(_("Organisation")), str(recusal.organisation)
    return str(_("Public body")), str(recusal.body)


@login_required
@require_http_methods(["GET", "POST"])
def recusals(request: HttpRequest) -> HttpResponse:
    """An officer declares a conflict with a person, organisation or public body, and withdraws their own;
    administrators and auditors see every declaration."""
    user = _user(request)
    may_declare = user.has_perm("cases.work_case")
    sees_all = user.has_perm("cases.view_case") or user.has_perm("cases.audit_allocation")
    if not (may_declare or sees_all):
        raise PermissionDenied
    what = request.GET.get("what") or request.POST.get("what") or "person"
    if what not in RECUSAL_MODELS:
        what = "person"
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()
    form = manage_forms.RecusalForm(
        request.POST if request.POST.get("action") == "declare" else None, initial={"what": what, "q": query}
    )
    if request.method == "POST":
        if not may_declare:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "withdraw":
            recusal = get_object_or_404(Recusal, pk=_int(request.POST.get("recusal")), officer=user)
            try:
                services.recusal_withdraw(recusal=recusal, actor=user)
            except services.CaseError as refusal:
                messages.error(request, str(refusal))
            else:
                _kind, name = _recusal_label(recusal)
                messages.success(request, _("Your conflict with %(name)s was withdrawn.") % {"name": name})
            return redirect("cases:recusals")
        if action == "declare" and form.is_valid():
            what = form.cleaned_data["what"]
            target = _search(user, what, form.cleaned_data["q"]).filter(pk=form.cleaned_data["target"]).first()
            if target is None:
                form.add_error("target", _("Choose whom the conflict is with from the names found."))
            else:
                try:
                    services.recusal_declare(
                        officer=user, reason=form.cleaned_data["reason"], actor=user, **{what: target}
                    )
                except services.CaseError as refusal:
                    form.add_error(None, str(refusal))
                else:
                    messages.success(
                        request,
                        _("Your conflict with %(name)s was recorded: no draw touching it will pick you.")
                        % {"name": target},
                    )
                    return redirect("cases:recusals")
    found = list(_search(user, what, query)[:SEARCH_LIMIT]) if may_declare and query else []
    listed = Recusal.objects.select_related("officer", "person", "organisation", "body").order_by(
        "withdrawn_at", "-declared_at", "-pk"
    )
    if not sees_all:
        listed = listed.filter(officer=user)
    page = _page(request, listed)
    rows = []
    for recusal in page:
        kind, name = _recusal_label(recusal)
        rows.append({"recusal": recusal, "kind": kind, "name": name, "officer": who(recusal.officer)})
    context = {
        "form": form,
        "what": what,
        "what_choices": manage_forms.RecusalForm.WHAT,
        "q": query,
        "found": found,
        "searched": bool(query),
        "may_declare": may_declare,
        "sees_all": sees_all,
        "page": page,
        "rows": rows,
        "user_pk": user.pk,
    }
    return render(request, "cases/manage_recusals.html", context, status=400 if form.errors else 200)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


# --- the allocation register ---------------------------------------------------------------------------------


def _draw_row(draw: Draw) -> dict[str, Any]:
    inputs = draw.inputs if isinstance(draw.inputs, dict) else {}
    listed = inputs.get("eligible")
    eligible: list[Any] = listed if isinstance(listed, list) else []
    excluded = []
    for row in inputs.get("excluded") or []:
        if isinstance(row, dict):
            excluded.append({"name": str(row.get("name", "")), "reason": str(row.get("reason", ""))})
    return {
        "draw": draw,
        "random": draw.method == Draw.Method.RANDOM,
        "eligible": len(eligible) if draw.method == Draw.Method.RANDOM else None,
        "excluded": excluded,
        "chosen": who(draw.chosen),
        "pool": draw.pool.name if draw.pool else "",
    }


def _verify(draws: Iterable[Draw], user: Any) -> dict[str, Any]:
    checks = services.draws_verify(draws, actor=user)
    failed = [check for check in checks if not check.ok]
    if not checks:
        summary = _("There is no random draw to re-run.")
    elif not failed:
        summary = ngettext(
            "%(count)s draw was re-run and picks the same officer.",
            "All %(count)s draws were re-run and each picks the same officer.",
            len(checks),
        ) % {"count": len(checks)}
    else:
        summary = ngettext(
            "%(failed)s of %(count)s re-run draw does not match its record.",
            "%(failed)s of %(count)s re-run draws do not match their record.",
            len(checks),
        ) % {"failed": len(failed), "count": len(checks)}
    return {
        "ok": not failed,
        "summary": summary,
        "rows": [
            {"reference": check.draw.case.reference, "ok": check.ok, "sentence": check.sentence}
            for check in (failed if len(checks) > 1 else checks)
        ],
    }


@login_required
@permission_required("cases.audit_allocation", raise_exception=True)
@require_http_methods(["GET", "POST"])
def allocation_register(request: HttpRequest) -> HttpResponse:
    """Every draw, newest first, with what lets anyone re-run it; re-runs; the allocation report (who
    allocated by hand how often) and the refused draws."""
    user = _user(request)
    verification = None
    if request.method == "POST":
        randoms = Draw.objects.filter(method=Draw.Method.RANDOM).select_related("case").order_by("drawn_at", "pk")
        if request.POST.get("action") == "rerun":
            draw = get_object_or_404(randoms, pk=_int(request.POST.get("draw")))
            verification = _verify([draw], user)
        elif request.POST.get("action") == "rerun_all":
            verification = _verify(randoms.iterator(chunk_size=2000), user)
        else:
            messages.error(request, _("That action is not known."))
            return redirect("cases:allocation")
    period = manage_forms.SinceForm(request.GET or None)
    since = period.cleaned_data.get("since") if period.is_valid() else None
    draws = Draw.objects.select_related("case", "pool", "chosen").order_by("-drawn_at", "-pk")
    if since:
        draws = draws.filter(drawn_at__date__gte=since)
    page = _page(request, draws)
    report = [
        {**row, "manual_percent": round(100 * row["manual_share"], 1)}
        for row in services.allocation_report(since=since)
    ]
    refused_entries = AuditEntry.objects.filter(action="draw_refused").order_by("-sequence")
    if since:
        refused_entries = refused_entries.filter(recorded_at__date__gte=since)
    refused = [
        {
            "entry": entry,
            "reference": entry.object_label,
            "pool": str((entry.details or {}).get("pool", "")),
            "reason": str((entry.details or {}).get("reason", "")),
        }
        for entry in refused_entries[:100]
    ]
    context = {
        "page": page,
        "rows": [_draw_row(draw) for draw in page],
        "verification": verification,
        "report": report,
        "refused": refused,
        "refused_total": refused_entries.count(),
        "period": period,
    }
    return render(request, "cases/manage_allocation.html", context)


# --- statistics ---------------------------------------------------------------------------------------------------


@login_required
@permission_required("cases.view_case_statistics", raise_exception=True)
@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    """Counts of cases by type, body, status and outcome, time to close and deadline compliance."""
    period = manage_forms.PeriodForm(request.GET or None)
    since = until = None
    if period.is_valid():
        since, until = period.cleaned_data.get("since"), period.cleaned_data.get("until")
    figures = selectors.statistics(since=since, until=until)
    kinds = dict(OutcomeKind.choices)
    share = figures.get("closed_on_time_share")
    context = {
        "period": period,
        "figures": figures,
        "on_time_percent": None if share is None else round(100 * share, 1),
        "by_type": [(shown(row["case_type__name"]), row["n"]) for row in figures["by_type"]],
        "by_body": [(row["body__name"] or _("No body named"), row["n"]) for row in figures["by_body"]],
        "by_status": [(shown(row["status__name"]), row["n"]) for row in figures["by_status"]],
        "by_outcome": [(kinds.get(row["kind"], row["kind"]), row["n"]) for row in figures["by_outcome"] if row["kind"]],
    }
    return render(request, "cases/manage_statistics.html", context, status=400 if period.errors else 200)
