"""Web pages of the core app. Views parse input, call one service or selector, and render."""

from __future__ import annotations

import base64
from typing import Any, cast

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core import selectors, services
from probity.core.audit import audit_record, audit_verify, latest_anchor
from probity.core.detectors import detector_registry
from probity.core.forms import FindingFilterForm, OTPCodeForm, SignInForm, TokenCreateForm, TriageForm
from probity.core.models import APIToken, AuditEntry, DetectorRun, Finding, PublicBody
from probity.core.modules import HookRefused, hook_call, hook_receivers
from probity.core.roles import ADMINISTRATOR, declarant_second_factor_required, needs_second_factor, user_roles
from probity.core.rules import visible_to

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def safe_next(request: HttpRequest, fallback: str, *, from_query: bool = True) -> str:
    """Where to send the user back to: the posted ``next`` (or, with ``from_query``, the query's) when it is a
    page of this site, else ``fallback`` — never another site (an open redirect). Module pages use it too."""
    target = request.POST.get("next") or (request.GET.get("next") if from_query else "") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


class SignInView(LoginView):
    template_name = "core/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        if needs_second_factor(form.get_user()):
            target = self.get_success_url()
            return HttpResponseRedirect(f"{reverse('core:second_factor')}?next={target}")
        return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect(f"{reverse('core:second_factor_setup')}?next={safe_next(request, reverse('core:dashboard'))}")
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in devices:
            allowed, _details = device.verify_is_allowed()
            if allowed and device.verify_token(form.cleaned_data["code"]):
                otp_login(request, device)
                audit_record(
                    action=AuditEntry.Action.SECOND_FACTOR,
                    object_type="auth.user",
                    object_id=str(request.user.pk),
                    object_label=request.user.get_username(),
                )
                return redirect(safe_next(request, reverse("core:dashboard")))
        form.add_error(
            "code",
            _(
                "That code is not valid. Codes change every 30 seconds; "
                "after several wrong codes you must wait before trying again."
            ),
        )
    return render(request, "core/second_factor.html", {"form": form, "next": safe_next(request, "")})


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("core:second_factor")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=_("Authenticator app"), confirmed=False)
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(
                action=AuditEntry.Action.SECOND_FACTOR_ENROLLED,
                object_type="auth.user",
                object_id=str(request.user.pk),
                object_label=request.user.get_username(),
            )
            messages.success(request, _("Your authenticator app is set up."))
            return redirect(safe_next(request, reverse("core:dashboard")))
        form.add_error("code", _("That code does not match. Check the clock of your phone and try the next code."))
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_svg_data": "data:image/svg+xml;base64," + base64.b64encode(qr.svg_inline(scale=5).encode()).decode(),
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
        "next": safe_next(request, ""),
    }
    return render(request, "core/second_factor_setup.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password. Every module that answers the ``password_changed`` hook does its part in
    the same transaction (the reporting channel re-wraps a handler's key under the new password, so that
    their encrypted cases stay readable); a module that cannot refuses, and the password stays as it was."""
    user = cast(User, request.user)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                hook_call(
                    "password_changed",
                    user=user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                )
                form.save()
                audit_record(
                    action=AuditEntry.Action.OTHER,
                    object_type="auth.user",
                    object_id=str(user.pk),
                    object_label=user.get_username(),
                    details={"event": "password_changed"},
                )
        except HookRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("core:dashboard")
    return render(request, "core/password_change.html", {"form": form})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    cards = selectors.dashboard_cards(user=request.user)
    context: dict[str, Any] = {"cards": cards}
    if ADMINISTRATOR in user_roles(request.user):  # the sign-in policy they are responsible for
        context["declarant_second_factor_required"] = declarant_second_factor_required()
    return render(request, "core/dashboard.html", context)


class FindingListFilterForm(FindingFilterForm):
    """The findings list's filters, with "assigned to me"."""

    mine = forms.BooleanField(label=gettext_lazy("Assigned to me"), required=False)


class FindingAssignForm(forms.Form):
    """Who looks into a finding: an active user who may view findings, chosen by user name, or no one."""

    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assignee"),
        queryset=User.objects.none(),
        to_field_name="username",
        required=False,
        empty_label=gettext_lazy("No one"),
        error_messages={
            "invalid_choice": gettext_lazy(
                "%(value)s may not see findings, so cannot be given one: choose someone else."
            )
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = services.finding_assignees()


class FindingNoteForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Write the note before adding it.")},
    )


def _form_error(request: HttpRequest, form: forms.Form) -> None:
    """A refused form's errors as messages on the page it redirects back to."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))


@login_required
@permission_required("core.view_finding", raise_exception=True)
def findings(request: HttpRequest) -> HttpResponse:
    form = FindingListFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    queryset = selectors.findings_latest(
        user=request.user,
        detector_code=filters.get("detector") or None,
        outcome=filters.get("outcome") or None,
        triage=filters.get("triage") or None,
    ).select_related("assignee")
    if filters.get("mine"):
        queryset = queryset.filter(assignee=cast(User, request.user))
    page = _page(request, queryset)
    cases = services.finding_cases([finding.pk for finding in page])
    rows = [(finding, cases.get(finding.pk)) for finding in page]
    return render(request, "core/findings.html", {"form": form, "page": page, "rows": rows})


def _promote_url(finding: Finding) -> str | None:
    """Where a case is opened from this finding, when a module opens cases (it answers ``case_open``) and the
    finding could go into one (flagged, not dismissed)."""
    if finding.outcome != Finding.Outcome.FLAG or finding.triage == Finding.Triage.DISMISSED:
        return None
    if not hook_receivers("case_open"):
        return None
    try:
        return f"{reverse('cases:promote')}?{urlencode({'detector': finding.detector_code})}"
    except NoReverseMatch:
        return None


def evidence_rows(evidence: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A finding's evidence as labelled rows (field path, value) for a table: nested records give paths such as
    ``owners 1 › name``; a list of plain values is one comma-separated value. Never a Python or JSON dump."""
    rows: list[tuple[str, str]] = []
    if isinstance(evidence, dict):
        for key, value in evidence.items():
            rows.extend(evidence_rows(value, f"{prefix} › {key}" if prefix else str(key)))
    elif isinstance(evidence, list):
        if all(not isinstance(item, dict | list) for item in evidence):
            rows.append((prefix, ", ".join("" if item is None else str(item) for item in evidence)))
        else:
            for number, item in enumerate(evidence, 1):
                rows.extend(evidence_rows(item, f"{prefix} {number}" if prefix else str(number)))
    else:
        rows.append((prefix, "" if evidence is None else str(evidence)))
    return rows


@login_required
@permission_required("core.view_finding", raise_exception=True)
@require_http_methods(["GET", "POST"])
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_object_or_404(visible_to(request.user, Finding.objects.select_related("run", "assignee")), pk=pk)
    form = TriageForm(request.POST or None, initial={"decision": finding.triage, "reason": finding.triage_reason})
    if request.method == "POST":
        if not request.user.has_perm("core.triage_finding"):
            return HttpResponse(status=403)
        if form.is_valid():
            services.finding_triage(
                finding=finding,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
                actor=cast(User, request.user),
            )
            messages.success(request, _("Triage saved."))
            return redirect("core:finding", pk=finding.pk)
    detector = detector_registry().get(finding.detector_code)
    case = services.finding_cases([finding.pk]).get(finding.pk)
    context = {
        "finding": finding,
        "evidence": evidence_rows(finding.evidence),
        "form": form,
        "detector": detector,
        "case": case,
        "promote_url": None if case else _promote_url(finding),
        "notes": finding.notes.all(),
        "assign_form": FindingAssignForm(initial={"assignee": finding.assignee}),
        "note_form": FindingNoteForm(),
    }
    return render(request, "core/finding_detail.html", context)


@login_required
@permission_required("core.triage_finding", raise_exception=True)
@require_POST
def finding_assign(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_object_or_404(visible_to(request.user, Finding.objects.all()), pk=pk)
    form = FindingAssignForm(request.POST)
    if not form.is_valid():
        _form_error(request, form)
        return redirect("core:finding", pk=finding.pk)
    assignee = form.cleaned_data["assignee"]
    try:
        services.finding_assign(finding=finding, assignee=assignee, actor=cast(User, request.user))
    except ValueError:
        messages.error(request, _("This person may not see findings, so cannot be given one: choose someone else."))
    else:
        if assignee is None:
            messages.success(request, _("The finding is no longer assigned to anyone."))
        else:
            messages.success(request, _("The finding is now assigned to %(user)s.") % {"user": assignee.get_username()})
    return redirect("core:finding", pk=finding.pk)


@login_required
@permission_required("core.triage_finding", raise_exception=True)
@require_POST
def finding_note(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_object_or_404(visible_to(request.user, Finding.objects.all()), pk=pk)
    form = FindingNoteForm(request.POST)
    if not form.is_valid():
        _form_error(request, form)
        return redirect("core:finding", pk=finding.pk)
    try:
        services.finding_note_add(finding=finding, text=form.cleaned_data["text"], actor=cast(User, request.user))
    except ValueError:
        messages.error(request, _("Write the note before adding it."))
    else:
        messages.success(request, _("Note added."))
    return redirect(f"{reverse('core:finding', args=[finding.pk])}#notes")


def _parameter_text(value: Any) -> Any:
    """A parameter's value as a reader sees it: yes/no in their language, lists joined."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in value)
    return value


@login_required
@permission_required("core.view_detectorrun", raise_exception=True)
def detectors(request: HttpRequest) -> HttpResponse:
    registry = [
        {"code": code, "cls": cls, "parameters": {k: _parameter_text(v) for k, v in cls.resolve_parameters().items()}}
        for code, cls in detector_registry().items()
    ]
    runs = DetectorRun.objects.all()[:20]
    return render(request, "core/detectors.html", {"registry": registry, "runs": runs})


@login_required
@permission_required("core.view_publicbody", raise_exception=True)
def bodies(request: HttpRequest) -> HttpResponse:
    all_bodies = list(PublicBody.objects.order_by("name").values("id", "name", "kind", "parent_id"))
    children: dict[int | None, list[Any]] = {}
    for body in all_bodies:
        children.setdefault(body["parent_id"], []).append(body)
    rows: list[dict[str, Any]] = []
    kinds = dict(PublicBody.Kind.choices)

    def walk(parent_id: int | None, depth: int, seen: set[int]) -> None:
        for body in children.get(parent_id, []):
            if body["id"] in seen:
                continue
            seen.add(body["id"])
            rows.append({**body, "depth": min(depth, 6), "kind_label": kinds.get(body["kind"], "")})
            walk(body["id"], depth + 1, seen)

    walk(None, 0, set())
    return render(request, "core/bodies.html", {"rows": rows})


@login_required
@permission_required("core.view_auditentry", raise_exception=True)
@require_http_methods(["GET", "POST"])
def audit_log(request: HttpRequest) -> HttpResponse:
    verification = None
    if request.method == "POST":
        if not request.user.has_perm("core.verify_auditentry"):
            return HttpResponse(status=403)
        verification = audit_verify()
    queryset = AuditEntry.objects.order_by("-sequence")
    return render(
        request,
        "core/audit.html",
        {"page": _page(request, queryset), "verification": verification, "anchor": latest_anchor()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = TokenCreateForm(request.POST or None)
    new_secret = None
    if request.method == "POST":
        revoke_id = request.POST.get("revoke")
        if revoke_id:
            token = get_object_or_404(APIToken, pk=revoke_id, user=user)
            services.api_token_revoke(token=token, actor=user)
            messages.success(request, _("The token was revoked."))
            return redirect("core:tokens")
        if form.is_valid():
            _token, new_secret = services.api_token_create(user=user, name=form.cleaned_data["name"])
            form = TokenCreateForm()
    user_tokens = APIToken.objects.filter(user=user)
    return render(request, "core/tokens.html", {"form": form, "tokens": user_tokens, "new_secret": new_secret})
