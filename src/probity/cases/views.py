"""The work pages of cases: my work, the list of cases, opening a case (by hand or from findings) and the case
page with every action on it. Views parse input, call one service or selector, and render; every form posts and
redirects back with a message, and a ``CaseError`` becomes that message (never an error page).

A case the user may not see is a 404, whether it exists or not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from probity.cases import forms, selectors, services
from probity.cases.models import Case, CaseDocument, CaseOutcome, CaseTask, CaseType, CustodyEvent, StatusType
from probity.cases.names import shown
from probity.cases.services import CaseError
from probity.core import selectors as core_selectors
from probity.core.detectors import detector_registry
from probity.core.models import Finding
from probity.core.modules import case_panels
from probity.core.roles import user_roles
from probity.core.views import safe_next

PAGE_SIZE = 50
QUEUE_SIZE = 100  # rows of each list of "My work"; the rest are on the list of cases
WORK = "cases.work_case"
ADD = "cases.add_case"
ALLOCATE = "cases.allocate_case"
APPROVE = "cases.approve_outcome"
OVERSEE = "cases.view_case"
READ_LIST = "cases.view_casetype"  # as the navigation entry of the list


# --- helpers -----------------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _case(request: HttpRequest, reference: str) -> Case:
    """The case with this reference if the user may see it; a 404 otherwise."""
    case = Case.objects.select_related("case_type", "status", "assignee", "body").filter(reference=reference).first()
    if case is None or not selectors.can_see(request.user, case):
        raise Http404(_("No case has this reference, or you may not see it."))
    return case


def _current_types() -> list[CaseType]:
    """The newest version of each case type valid today, by name."""
    today = timezone.localdate()
    rows = (
        CaseType.objects.filter(valid_from__lte=today)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .order_by("code", "-version")
    )
    current: dict[str, CaseType] = {}
    for case_type in rows:
        current.setdefault(case_type.code, case_type)
    return sorted(current.values(), key=lambda t: shown(t.name))


def _types_for(user: Any) -> list[CaseType]:
    """The current case types a user may open: those their roles work (all for those who oversee cases)."""
    types = _current_types()
    if user.has_perm(OVERSEE):
        return types
    roles = user_roles(user)
    return [t for t in types if roles & set(t.roles or ())]


def _officers(case_type: CaseType) -> QuerySet[User]:
    """Active accounts in a role that may work cases of this type."""
    return (
        User.objects.filter(is_active=True, groups__name__in=list(case_type.roles or ()))
        .distinct()
        .order_by("username")
    )


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 1_000_000))
    except ValueError:
        return 1


@dataclass
class Window:
    """One page of a long list without counting the whole list: one row more than shown says whether there is
    a next page."""

    rows: list[Any]
    number: int
    has_previous: bool
    has_next: bool
    query: str


def _window(request: HttpRequest, queryset: QuerySet[Any], size: int = PAGE_SIZE) -> Window:
    number = _page_number(request)
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    query = request.GET.copy()
    query.pop("page", None)
    return Window(rows[:size], number, number > 1, len(rows) > size, query.urlencode())


def _refused(request: HttpRequest, error: CaseError) -> None:
    messages.error(request, _("This could not be done: %(reason)s") % {"reason": str(error)})


def _form_errors(request: HttpRequest, form: Form) -> None:
    """A form's errors as messages: "Label: what is wrong"."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


def _detail_url(case: Case, anchor: str = "") -> str:
    url = reverse("cases:detail", args=[case.reference])
    return f"{url}#{anchor}" if anchor else url


# --- my work and the list ------------------------------------------------------------------------------------


@login_required
@permission_required(WORK, raise_exception=True)
def my_work(request: HttpRequest) -> HttpResponse:
    """The signed-in officer's queue: their open cases by due date, their open tasks, unassigned cases to take."""
    user = _user(request)
    queue = selectors.my_work(user)
    context = {
        "cases": list(queue["cases"][:QUEUE_SIZE]),
        "tasks": list(queue["tasks"][:QUEUE_SIZE]),
        "unassigned": list(queue["unassigned"][:QUEUE_SIZE]),
        "more": QUEUE_SIZE,
        "today": queue["today"],
        "can_add": user.has_perm(ADD),
    }
    return render(request, "cases/my_work.html", context)


def _filter_choices() -> tuple[forms.Choices, forms.Choices]:
    types: dict[str, str] = {}
    for code, name in CaseType.objects.order_by("code", "-version").values_list("code", "name"):
        types.setdefault(code, shown(name))
    statuses: dict[str, str] = {}
    for code, name in StatusType.objects.order_by("order", "code").values_list("code", "name"):
        statuses.setdefault(code, shown(name))
    return (
        sorted(types.items(), key=lambda item: item[1]),
        list(statuses.items()),
    )


def _officer_choices() -> forms.Choices:
    officers = User.objects.filter(is_active=True, groups__name__in=sorted(_roles_that_work())).distinct()
    return [(user.get_username(), forms.officer_label(user)) for user in officers.order_by("username")]


def _roles_that_work() -> set[str]:
    roles: set[str] = set()
    for type_roles in CaseType.objects.values_list("roles", flat=True):
        roles |= set(type_roles or ())
    return roles


def cases_filtered(user: Any, filters: dict[str, Any], *, today: date) -> QuerySet[Case]:
    """The cases ``user`` may see that pass ``filters`` (the cleaned ``CaseFilterForm``), newest first."""
    cases = selectors.cases_visible(user)
    state = filters.get("state") or "all"
    if state == "open":
        cases = cases.filter(closed=False)
    elif state == "closed":
        cases = cases.filter(closed=True)
    if filters.get("overdue"):
        cases = cases.filter(closed=False, due_on__lt=today)
    if filters.get("case_type"):
        cases = cases.filter(case_type__code=filters["case_type"])
    if filters.get("status"):
        cases = cases.filter(status__code=filters["status"])
    assignee = filters.get("assignee") or ""
    if assignee == "me":
        cases = cases.filter(assignee=user)
    elif assignee == "none":
        cases = cases.filter(assignee=None)
    elif assignee:
        cases = cases.filter(assignee__username=assignee)
    text = (filters.get("q") or "").strip()
    if text:
        if text.upper().startswith("CASE-"):
            cases = cases.filter(reference__startswith=text.upper())
        else:
            cases = cases.filter(Q(reference=text.upper()) | Q(title__icontains=text))
    # Newest first by the primary key, which follows the order of opening: its index serves every filter, so
    # the first page is read without sorting the matching rows (there is no index on the opening time).
    return cases.order_by("-id")


@login_required
@permission_required(READ_LIST, raise_exception=True)
def case_list(request: HttpRequest) -> HttpResponse:
    """Every case the user may see, 50 a page, filtered; no count of the whole table."""
    types, statuses = _filter_choices()
    form = forms.CaseFilterForm(request.GET or None, types=types, statuses=statuses, officers=_officer_choices())
    filters = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    window = _window(request, cases_filtered(_user(request), filters, today=today))
    context = {
        "form": form,
        "window": window,
        "today": today,
        "filtered": bool(filters and any(filters.values())),
        "can_add": request.user.has_perm(ADD),
    }
    return render(request, "cases/list.html", context)


# --- opening -----------------------------------------------------------------------------------------------


@login_required
@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    types = _types_for(user)
    form = forms.CaseOpenForm(request.POST or None, types=types)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_open(
                case_type=data["case_type"],
                title=data["title"],
                summary=data["summary"],
                body=data["body"],
                priority=data["priority"],
                complexity=data["complexity"],
                actor=user,
            )
        except CaseError as error:
            form.add_error(None, _("This could not be done: %(reason)s") % {"reason": str(error)})
        else:
            messages.success(request, _("Case %(reference)s is open.") % {"reference": case.reference})
            return redirect("cases:detail", case.reference)
    status = 400 if request.method == "POST" else 200
    return render(request, "cases/new.html", {"form": form, "types": types}, status=status)


def _promotable(user: Any, detector: str | None) -> QuerySet[Finding]:
    """Flagged findings of each detector's latest run that the user may see, not in a case, not dismissed."""
    return (
        core_selectors.findings_latest(user=user, detector_code=detector or None, outcome=Finding.Outcome.FLAG)
        .filter(case_link__isnull=True)
        .exclude(triage=Finding.Triage.DISMISSED)
    )


def _posted_ids(request: HttpRequest) -> list[int]:
    return [int(value) for value in request.POST.getlist("findings") if value.isdigit()][:1000]


@login_required
@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def promote(request: HttpRequest) -> HttpResponse:
    """Open a case from findings: choose flagged findings, then open a new case or join them to an open one."""
    user = _user(request)
    types = _types_for(user)
    filter_form = forms.FindingFilterForm(
        request.GET or None, detectors={code: cls.title for code, cls in detector_registry().items()}
    )
    detector = filter_form.cleaned_data.get("detector") if filter_form.is_valid() else None
    if request.method == "POST":
        wanted = _posted_ids(request)
        allowed = list(_promotable(user, None).filter(pk__in=wanted).values_list("pk", flat=True))
        form = forms.PromoteForm(request.POST, types=types, finding_ids=allowed)
        if not wanted:
            messages.error(request, _("Choose at least one finding."))
        elif not form.is_valid():
            _form_errors(request, form)
        else:
            return _promote(request, form, user)
        return HttpResponseRedirect(request.get_full_path())
    form = forms.PromoteForm(types=types, finding_ids=())
    window = _window(request, _promotable(user, detector))
    return render(
        request,
        "cases/promote.html",
        {"filter_form": filter_form, "form": form, "window": window},
    )


def _promote(request: HttpRequest, form: forms.PromoteForm, user: User) -> HttpResponse:
    data = form.cleaned_data
    findings = list(Finding.objects.filter(pk__in=data["findings"]).order_by("-score", "pk"))
    try:
        if data["mode"] == "join":
            case = selectors.cases_visible(user).filter(reference=data["reference"], closed=False).first()
            if case is None:
                messages.error(
                    request,
                    _("No open case you may see has the reference %(reference)s.") % {"reference": data["reference"]},
                )
                return HttpResponseRedirect(request.get_full_path())
            joined = services.case_join_findings(case=case, findings=findings, actor=user)
            messages.success(
                request,
                ngettext(
                    "%(count)d finding joined case %(reference)s.",
                    "%(count)d findings joined case %(reference)s.",
                    joined,
                )
                % {"count": joined, "reference": case.reference},
            )
        else:
            chosen = form.types.get(data.get("case_type") or "")
            case = services.case_from_findings(findings=findings, actor=user, case_type=chosen, title=data["title"])
            messages.success(
                request,
                ngettext(
                    "Case %(reference)s is open with %(count)d finding.",
                    "Case %(reference)s is open with %(count)d findings.",
                    len(findings),
                )
                % {"reference": case.reference, "count": len(findings)},
            )
    except CaseError as error:
        _refused(request, error)
        return HttpResponseRedirect(request.get_full_path())
    return redirect("cases:detail", case.reference)


# --- the case page -----------------------------------------------------------------------------------------


def _may_work(user: Any, case: Case) -> bool:
    """As ``services._require_worker``: the assigned officer, or one who allocates cases."""
    return not case.closed and (case.assignee_id == user.pk or user.has_perm(ALLOCATE))


def _reads_handler_notes(user: Any, case: Case) -> bool:
    return case.assignee_id == user.pk or user.has_perm(ALLOCATE) or user.has_perm(OVERSEE)


def _outcome_details(outcome: CaseOutcome) -> list[tuple[str, str]]:
    details = outcome.details or {}
    return [(str(forms.DETAIL_LABELS.get(key, key)), str(value)) for key, value in details.items()]


@login_required
@require_http_methods(["GET"])
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    case = _case(request, reference)
    case_type = case.case_type
    today = timezone.localdate()
    events = case.events.all()
    if not _reads_handler_notes(user, case):
        events = events.exclude(handlers_only=True)
    outcomes = list(case.outcomes.select_related("outcome_type", "proposed_by", "approved_by"))
    pending = next((o for o in outcomes if o.decided_at is None), None)
    may_work = _may_work(user, case)
    officers = _officers(case_type)
    statuses = case_type.statuses.filter(final=False).exclude(pk=case.status_id)
    related = list(selectors.related_cases(case, user=user)[:20])
    # What the module the case came from shows (a protected report: only to its handlers); never read here.
    panels = [
        html
        for panel in case_panels(case.source)
        if case.source_key and (html := panel.render(request, case.source_key))
    ]
    context: dict[str, Any] = {
        "case": case,
        "source_panels": [mark_safe(html) for html in panels],  # noqa: S308 — rendered by the source module's templates
        "case_type": case_type,
        "today": today,
        "events": list(events),
        "tasks": list(case.tasks.select_related("assignee")),
        "documents": list(
            case.documents.select_related("document_type").prefetch_related(
                Prefetch("custody", queryset=CustodyEvent.objects.order_by("at", "id"))
            )
        ),
        "parties": list(case.parties.select_related("person", "organisation")),
        "related": related,
        "findings": [link.finding for link in case.finding_links.select_related("finding").order_by("added_at", "pk")],
        "outcomes": [(o, _outcome_details(o)) for o in outcomes],
        "pending": pending,
        "draws": list(case.draws.select_related("chosen", "pool")[:20]),
        "may_work": may_work,
        "may_allocate": not case.closed and user.has_perm(ALLOCATE),
        "may_take": not case.closed and case.assignee_id is None and user.has_perm(WORK),
        "may_decide": pending is not None and pending.proposed_by_id != user.pk and user.has_perm(APPROVE),
        "is_proposer": pending is not None and pending.proposed_by_id == user.pk,
        "may_propose": may_work and pending is None,
        "reads_handler_notes": _reads_handler_notes(user, case),
        "draw_form": forms.DrawForm(),
        "assign_form": forms.AssignForm(officers=officers),
        "status_form": forms.StatusForm(statuses=statuses),
        "note_form": forms.NoteForm(),
        "task_form": forms.TaskForm(officers=officers),
        "document_form": forms.DocumentForm(document_types=case_type.document_types.all()),
        "outcome_form": forms.OutcomeForm(outcome_types=case_type.outcome_types.all()),
        "decision_form": forms.DecisionForm(),
    }
    return render(request, "cases/detail.html", context)


@login_required
@require_POST
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """Every form of the case page posts here; the answer is a redirect back with a message."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(_("There is no such action on a case."))
    user = _user(request)
    case = _case(request, reference)
    try:
        anchor = handler(request, case, user)
    except CaseError as error:
        _refused(request, error)
        anchor = ""
    return HttpResponseRedirect(safe_next(request, _detail_url(case, anchor or ""), from_query=False))


def _require(user: User, *perms: str) -> None:
    if not any(user.has_perm(perm) for perm in perms):
        raise PermissionDenied


def _still_open(case: Case) -> None:
    """A closed case takes no more notes, tasks or documents."""
    if case.closed:
        raise CaseError(_("Case %(reference)s is closed.") % {"reference": case.reference})


def _do_draw(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, ALLOCATE)
    form = forms.DrawForm(request.POST)
    allow_single = bool(form.is_valid() and form.cleaned_data["allow_single"])
    draw = services.case_draw(case=case, actor=user, allow_single=allow_single)
    assert draw.chosen is not None
    messages.success(
        request,
        _("%(officer)s was drawn for case %(reference)s.")
        % {"officer": forms.officer_label(draw.chosen), "reference": case.reference},
    )
    return "allocation"


def _do_assign(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, ALLOCATE)
    form = forms.AssignForm(request.POST, officers=_officers(case.case_type))
    if not form.is_valid():
        _form_errors(request, form)
        return "allocation"
    officer = form.cleaned_data["officer"]
    services.case_assign(case=case, officer=officer, reason=form.cleaned_data["reason"], actor=user)
    messages.success(
        request,
        _("Case %(reference)s is assigned to %(officer)s.")
        % {"reference": case.reference, "officer": forms.officer_label(officer)},
    )
    return "allocation"


def _do_take(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, WORK)
    services.case_take(case=case, actor=user)
    messages.success(request, _("You took case %(reference)s.") % {"reference": case.reference})
    return ""


def _do_status(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, WORK, ALLOCATE)
    form = forms.StatusForm(request.POST, statuses=case.case_type.statuses.all())
    if not form.is_valid():
        _form_errors(request, form)
        return "actions"
    status = form.cleaned_data["status"]
    services.case_status(case=case, status=status, reason=form.cleaned_data["reason"], actor=user)
    messages.success(request, _("The status is now “%(status)s”.") % {"status": shown(status.name)})
    return "timeline"


def _do_note(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, WORK, ALLOCATE)
    _still_open(case)
    form = forms.NoteForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return "actions"
    services.case_note(
        case=case, text=form.cleaned_data["text"], actor=user, handlers_only=form.cleaned_data["handlers_only"]
    )
    messages.success(request, _("The note is added to the timeline."))
    return "timeline"


def _do_task(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, WORK, ALLOCATE)
    _still_open(case)
    form = forms.TaskForm(request.POST, officers=_officers(case.case_type))
    if not form.is_valid():
        _form_errors(request, form)
        return "tasks"
    data = form.cleaned_data
    services.task_add(case=case, title=data["title"], assignee=data["assignee"], due_on=data["due_on"], actor=user)
    messages.success(request, _("The task is added."))
    return "tasks"


def _do_document(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, WORK, ALLOCATE)
    _still_open(case)
    form = forms.DocumentForm(request.POST, request.FILES, document_types=case.case_type.document_types.all())
    if not form.is_valid():
        _form_errors(request, form)
        return "documents"
    upload = form.cleaned_data["file"]
    document = services.document_add(
        case=case,
        name=upload.name or "document",
        content=upload,
        content_type=upload.content_type or "",
        document_type=form.cleaned_data["document_type"],
        actor=user,
    )
    messages.success(
        request,
        _("%(name)s is added; its SHA-256 is %(sha)s.") % {"name": document.name, "sha": document.sha256},
    )
    return "documents"


def _do_outcome(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, WORK, ALLOCATE)
    form = forms.OutcomeForm(request.POST, outcome_types=case.case_type.outcome_types.all())
    if not form.is_valid():
        _form_errors(request, form)
        return "outcome"
    services.outcome_propose(
        case=case,
        outcome_type=form.cleaned_data["outcome_type"],
        reasoning=form.cleaned_data["reasoning"],
        details=form.details(),
        actor=user,
    )
    messages.success(request, _("The outcome is proposed; another officer must approve it before the case closes."))
    return "outcome"


def _pending(case: Case) -> CaseOutcome:
    pending = case.outcomes.filter(decided_at=None).select_related("outcome_type", "case").first()
    if pending is None:
        raise CaseError(_("Case %(reference)s has no outcome waiting for a decision.") % {"reference": case.reference})
    return pending


def _do_approve(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, APPROVE)
    form = forms.DecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.outcome_approve(outcome=_pending(case), actor=user, reason=reason)
    messages.success(
        request, _("The outcome is approved and case %(reference)s is closed.") % {"reference": case.reference}
    )
    return "outcome"


def _do_reject(request: HttpRequest, case: Case, user: User) -> str:
    _require(user, APPROVE)
    form = forms.DecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.outcome_reject(outcome=_pending(case), actor=user, reason=reason)
    messages.success(request, _("The outcome is sent back to the case's officer."))
    return "outcome"


ACTIONS: dict[str, Callable[[HttpRequest, Case, User], str]] = {
    "draw": _do_draw,
    "assign": _do_assign,
    "take": _do_take,
    "status": _do_status,
    "note": _do_note,
    "task": _do_task,
    "document": _do_document,
    "outcome": _do_outcome,
    "approve": _do_approve,
    "reject": _do_reject,
}


@login_required
@require_POST
def task_done(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, reference)
    task = CaseTask.objects.select_related("case").filter(case=case, pk=pk).first()
    if task is None:
        raise Http404(_("This case has no such task."))
    try:
        if case.closed:
            raise CaseError(_("Case %(reference)s is closed.") % {"reference": case.reference})
        services.task_done(task=task, actor=user)
    except CaseError as error:
        _refused(request, error)
    else:
        messages.success(request, _("The task “%(title)s” is done.") % {"title": shown(task.title)})
    return HttpResponseRedirect(_detail_url(case, "tasks"))


SAFE_INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain"})


@login_required
@require_http_methods(["GET"])
def document_download(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """The document's bytes after checking its SHA-256: opened in the browser when it is a kind a browser shows
    safely (viewed), otherwise, or with ``?export=1``, saved as a file (exported); the access goes in its custody
    log. A file that no longer matches is reported on the case page, not served."""
    user = _user(request)
    case = _case(request, reference)
    document = CaseDocument.objects.select_related("case").filter(case=case, pk=pk).first()
    if document is None:
        raise Http404(_("This case has no such document."))
    inline = document.content_type in SAFE_INLINE_TYPES and request.GET.get("export") != "1"
    try:
        data = services.document_open(document=document, actor=user, export=not inline)
    except CaseError as error:
        _refused(request, error)
        return HttpResponseRedirect(_detail_url(case, "documents"))
    response = HttpResponse(data, content_type=document.content_type if inline else "application/octet-stream")
    response["Content-Disposition"] = _disposition("inline" if inline else "attachment", document.name)
    response["Cache-Control"] = "no-store"
    return response


def _disposition(kind: str, name: str) -> str:
    ascii_name = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
