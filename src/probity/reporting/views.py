"""Web pages of the reporting channel.

Reporters (no account, no JavaScript needed): choose a channel, answer the questionnaire in two steps,
receive the receipt once, sign in with it later to follow the case. Every reporter view scrubs the
request of address and browser first (``middleware.reporter_privacy``).

Staff (case handlers who passed the second factor and unlocked their key for the session): inbox and
overdue list, case timeline and actions, custodian decisions, oral intake, statistics, channels, keys.
Views parse input, call one service or selector, and render.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any, cast
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from nacl.public import PrivateKey

from probity.core.modules import hook_call, hook_receivers
from probity.core.views import safe_next
from probity.reporting import forms, selectors, services
from probity.reporting import statistics as figures
from probity.reporting.attachments import AttachmentRejected, ReportingUploadHandler
from probity.reporting.middleware import reporter_privacy
from probity.reporting.models import Attachment, Channel, Report, ReportEntry
from probity.reporting.receipts import RECEIPT_BITS, RECEIPT_DIGITS

REPORTER_COOKIE = "probity_reporter"
REPORTER_COOKIE_PATH = "/reporting/"
HANDLE = "reporting.handle_report"

EVENT_LABELS = {
    "received": gettext_lazy("The report was received. This is the automatic acknowledgement."),
    "acknowledged": gettext_lazy("A case handler acknowledged the report."),
    "assigned": gettext_lazy("The case was assigned to another handler."),
    "forwarded": gettext_lazy("The report was forwarded to a competent recipient."),
    "closed": gettext_lazy("The case was closed."),
    "identity_given": gettext_lazy("The reporter gave their identity."),
}
AUTHOR_LABELS = {
    "reporter": gettext_lazy("Reporter"),
    "staff": gettext_lazy("Case handler"),
    "system": "",
}
RISK_LEVELS = [("low", gettext_lazy("Low")), ("medium", gettext_lazy("Medium")), ("high", gettext_lazy("High"))]


# --- helpers --------------------------------------------------------------------------------


def _client(request: HttpRequest) -> str:
    return str(getattr(request, "reporting_client_key", ""))


def _today() -> datetime.date:
    return timezone.localdate()


def _use_upload_limits(request: HttpRequest, channel: Channel) -> ReportingUploadHandler:
    """Uploads stay in memory and stop at the channel's limits (set before the body is read)."""
    handler = ReportingUploadHandler(
        request, max_file_bytes=channel.max_attachment_bytes, max_files=channel.max_attachments
    )
    request.upload_handlers = [handler]
    return handler


def _upload_error(handler: ReportingUploadHandler, channel: Channel) -> str | None:
    if handler.rejection is None:
        return None
    return _("The files were refused: send at most %(count)d files of at most %(size)s each.") % {
        "count": channel.max_attachments,
        "size": _megabytes(channel.max_attachment_bytes),
    }


def _megabytes(size: int) -> str:
    return _("%(n)d MB") % {"n": max(1, size // (1024 * 1024))}


def _display_receipt(receipt: str) -> str:
    digits = "".join(ch for ch in receipt if ch.isdigit())
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _service_error(exc: Exception) -> str:
    """A service's ValueError, prefixed in the reader's language (details name the question or file)."""
    return _("This could not be saved: %(reason)s") % {"reason": str(exc)}


def _questions_by_id(channel: Channel) -> dict[str, Any]:
    return {forms.question_key(q): q for q in channel.questionnaire or []}


def _answer_text(question: Any, value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_answer_text(question, v) for v in value)
    value = "" if value is None else str(value)
    if question is not None and forms.question_type(question) in ("choice", "multichoice"):
        for choice_value, label in (forms._choice(c) for c in forms.question_attr(question, "choices", []) or []):
            if choice_value == value:
                return label
    return value


def _timeline(items: Iterable[selectors.TimelineItem], report: Report, *, for_reporter: bool) -> list[dict[str, Any]]:
    """Timeline entries as the templates show them: labels translated, answers with their questions."""
    questions = _questions_by_id(report.channel)
    rows = []
    for item in items:
        body = item.body if isinstance(item.body, dict) else {"text": str(item.body)}
        answers: list[tuple[str, str]] = []
        text = ""
        if item.kind == ReportEntry.Kind.ANSWERS:
            source = body
        elif item.kind == ReportEntry.Kind.TRANSCRIPT:
            source = body.get("answers") or {}
            text = str(body.get("text", ""))
        else:
            source = {}
            text = str(body.get("text", ""))
            if "transcript_confirmed" in body:
                verdict = (
                    _("I confirm that the transcript is correct.")
                    if body["transcript_confirmed"]
                    else _("The transcript needs corrections.")
                )
                text = f"{verdict}\n\n{text}" if text else verdict
        for key, value in source.items():
            question = questions.get(key)
            label = forms.question_text(question, "label") if question is not None else key
            answers.append((label or key, _answer_text(question, value)))
        if item.kind == ReportEntry.Kind.EVENT:
            event = str(body.get("event", ""))
            if event == "status":
                status = Report.Status(str(body["status"])).label if body.get("status") in Report.Status.values else ""
                text = _("The status changed to “%(status)s”.") % {"status": status}
            else:
                text = str(EVENT_LABELS.get(event, ""))
        if item.kind == ReportEntry.Kind.RISK:
            level = dict(RISK_LEVELS).get(str(body.get("level", "")), "")
            text = f"{level} · {body.get('text', '')}" if level else str(body.get("text", ""))
        author = AUTHOR_LABELS.get(item.author, item.author)
        if for_reporter and item.author == "reporter":
            author = _("You")
        files = []
        for info in item.attachments:
            file: dict[str, Any] = {
                "name": info.name,
                "size": info.size,
                "stripping_label": Attachment.Stripping(info.stripping).label,
            }
            if not for_reporter:
                url = reverse("reporting:attachment", args=[report.reference, info.id])
                file["url"] = url
                if info.has_stripped_copy:
                    file["stripped_url"] = f"{url}?stripped=1"
            files.append(file)
        rows.append(
            {
                "sequence": item.sequence,
                "kind": item.kind,
                "kind_label": ReportEntry.Kind(item.kind).label,
                "created_on": item.created_on,
                "author": author,
                "text": text,
                "answers": answers,
                "attachments": files,
                "staff_only": item.staff_only,
                "from_staff": item.author not in ("reporter", "system"),
            }
        )
    return rows


# --- reporter pages ---------------------------------------------------------------------------


@reporter_privacy
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "reporting/index.html",
        {
            "channels": selectors.channels_open(),
            "is_staff": user.is_authenticated and user.has_perm(HANDLE),
        },
    )


def _step_two(
    request: HttpRequest,
    channel: Channel,
    first: forms.QuestionnaireStepOneForm,
    form: forms.QuestionnaireStepTwoForm | None = None,
    *,
    challenge_error: str = "",
    ticket: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    answers = first.answers()
    if form is None:
        form = forms.QuestionnaireStepTwoForm(
            questions=channel.questionnaire,
            first_answers=answers,
            max_files=channel.max_attachments,
            max_file_bytes=channel.max_attachment_bytes,
        )
    if ticket is None:
        try:
            ticket = services.intake_challenge_new(client=_client(request))
        except services.Throttled:
            first.add_error(None, _("Too many report forms were opened from here. Please try again later."))
            return render(request, "reporting/report_step1.html", {"channel": channel, "form": first}, status=429)
    hidden = forms.QuestionnaireStepOneForm(
        initial={forms.FIELD_PREFIX + key: value for key, value in answers.items()},
        questions=channel.questionnaire,
        hidden=True,
    )
    return render(
        request,
        "reporting/report_step2.html",
        {
            "channel": channel,
            "form": form,
            "first_form": hidden,
            "ticket": ticket["token"],
            "pow_bits": ticket["bits"],
            "wait_seconds": ticket["wait"],
            "challenge_error": challenge_error,
        },
        status=status,
    )


@reporter_privacy
@csrf_exempt
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, slug: str) -> HttpResponse:
    """The questionnaire: step 1 (questions), step 2 (follow-ups, files, identity), then the receipt."""
    channel = get_object_or_404(Channel, slug=slug, active=True)
    handler = _use_upload_limits(request, channel)
    return _report(request, channel, handler)


@csrf_protect
def _report(request: HttpRequest, channel: Channel, handler: ReportingUploadHandler) -> HttpResponse:
    questions = channel.questionnaire or []
    if request.method == "GET":
        form = forms.QuestionnaireStepOneForm(questions=questions)
        return render(request, "reporting/report_step1.html", {"channel": channel, "form": form})
    step = request.POST.get("step", "1")
    first = forms.QuestionnaireStepOneForm(request.POST, questions=questions)
    if step == "1" or request.POST.get("action") == "back":
        if not first.is_valid():
            return render(request, "reporting/report_step1.html", {"channel": channel, "form": first}, status=400)
        if step != "1":  # "Change my answers": step 1 again, filled in
            return render(request, "reporting/report_step1.html", {"channel": channel, "form": first})
        return _step_two(request, channel, first)
    if not first.is_valid():
        return render(request, "reporting/report_step1.html", {"channel": channel, "form": first}, status=400)
    second = forms.QuestionnaireStepTwoForm(
        request.POST,
        request.FILES,
        questions=questions,
        first_answers=first.answers(),
        max_files=channel.max_attachments,
        max_file_bytes=channel.max_attachment_bytes,
    )
    ticket_token = request.POST.get("ticket", "")
    same_ticket = _reuse_ticket(ticket_token) if ticket_token else None
    upload_error = _upload_error(handler, channel)
    if upload_error:
        second.is_valid()
        second.add_error("attachments", upload_error)
        return _step_two(request, channel, first, second, ticket=same_ticket, status=400)
    if not second.is_valid():
        return _step_two(request, channel, first, second, ticket=same_ticket, status=400)
    try:
        services.intake_guard(
            client=_client(request), challenge=ticket_token, solution=request.POST.get("pow_nonce") or None
        )
    except services.Throttled as exc:
        if exc.retry_after <= services.CHALLENGE_MIN_WAIT:
            message = _("Please wait a few seconds, then send the report again.")
            return _step_two(
                request, channel, first, second, challenge_error=message, ticket=_reuse_ticket(ticket_token), status=429
            )
        if exc.challenge is not None:  # a surge: everyone pays more, nobody is turned away
            message = _(
                "Many reports are arriving at the moment. Your answers are kept: send the form again; "
                "your browser may take a little longer to prepare it."
            )
            return _step_two(request, channel, first, second, challenge_error=message, status=429)
        message = _("Too many reports were sent from here. Please try again later.")
        return _step_two(request, channel, first, second, challenge_error=message, status=429)
    except ValueError:
        message = _("The form had expired or was already sent. Check your answers and send it again.")
        return _step_two(request, channel, first, second, challenge_error=message, status=400)
    try:
        new_report, receipt = services.report_submit(
            channel=channel,
            answers={**first.answers(), **second.answers()},
            attachments=second.uploaded_files(),
            identity=second.identity(),
        )
    except ValueError as exc:  # includes AttachmentRejected
        second.add_error(None, _service_error(exc))
        return _step_two(request, channel, first, second, status=400)
    return render(
        request,
        "reporting/report_done.html",
        {
            "receipt_display": _display_receipt(receipt),
            "digits": RECEIPT_DIGITS,
            "bits": int(RECEIPT_BITS),
            "acknowledge_days": channel.acknowledge_days,
        },
    )


def _reuse_ticket(token: str) -> dict[str, Any]:
    """The same challenge again (it is still valid: it is consumed only when a report passes)."""
    return services.intake_challenge_terms(token)


@reporter_privacy
@require_http_methods(["GET", "POST"])
def receipt_sign_in(request: HttpRequest) -> HttpResponse:
    form = forms.ReceiptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session = services.reporter_sign_in(
                receipt=form.cleaned_data["receipt"],
                client=_client(request),
                challenge=request.POST.get("ticket") or None,
                solution=request.POST.get("pow_nonce") or None,
            )
        except services.Throttled as exc:
            context: dict[str, Any] = {"form": forms.ReceiptForm(), "throttled": True}
            if exc.challenge is not None:
                context.update(
                    ticket=exc.challenge["token"], pow_bits=exc.challenge["bits"], wait_seconds=exc.challenge["wait"]
                )
            return render(request, "reporting/receipt.html", context, status=429)
        except (LookupError, ValueError, services.DecryptionError):
            form.add_error("receipt", _("No report has this receipt. Check the digits and try again."))
        else:
            token = services.reporter_session_open(session=session)
            response = redirect("reporting:reporter_case")
            response.set_cookie(
                REPORTER_COOKIE,
                token,
                httponly=True,
                samesite="Strict",
                path=REPORTER_COOKIE_PATH,
                secure=bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
            )
            return response
    status = 400 if request.method == "POST" else 200
    return render(request, "reporting/receipt.html", {"form": form}, status=status)


def _reporter_session(request: HttpRequest) -> services.ReporterSession | None:
    return services.reporter_session_resume(token=request.COOKIES.get(REPORTER_COOKIE))


def _is_transcript_open(report: Report, items: list[selectors.TimelineItem]) -> bool:
    if report.intake == Report.Intake.WEB:
        return False
    return not any(
        i.kind == ReportEntry.Kind.REPORTER_MESSAGE and isinstance(i.body, dict) and "transcript_confirmed" in i.body
        for i in items
    )


def _reporter_page(
    request: HttpRequest, session: services.ReporterSession, *, status: int = 200, **forms_given: Any
) -> HttpResponse:
    report = session.report
    items = selectors.report_timeline(keys=session.keys, for_reporter=True)
    selectors.report_mark_read_by_reporter(report=report)
    context: dict[str, Any] = {
        "report": report,
        "timeline": _timeline(items, report, for_reporter=True),
        "message_form": forms_given.get("message_form") or forms.MessageForm(),
        "identity_form": forms_given.get("identity_form") or forms.IdentityForm(),
        "transcript_form": None,
    }
    if _is_transcript_open(report, items):
        context["transcript_form"] = forms_given.get("transcript_form") or forms.TranscriptCheckForm()
    return render(request, "reporting/reporter_case.html", context, status=status)


@reporter_privacy
@require_http_methods(["GET"])
def reporter_case(request: HttpRequest) -> HttpResponse:
    session = _reporter_session(request)
    if session is None:
        return redirect("reporting:receipt")
    return _reporter_page(request, session)


@reporter_privacy
@csrf_exempt
@require_POST
def reporter_message(request: HttpRequest) -> HttpResponse:
    session = _reporter_session(request)
    if session is None:
        return redirect("reporting:receipt")
    handler = _use_upload_limits(request, session.report.channel)
    return _reporter_message(request, session, handler)


@csrf_protect
def _reporter_message(
    request: HttpRequest, session: services.ReporterSession, handler: ReportingUploadHandler
) -> HttpResponse:
    form = forms.MessageForm(request.POST, request.FILES)
    upload_error = _upload_error(handler, session.report.channel)
    if upload_error:
        form.is_valid()
        form.add_error("attachments", upload_error)
        return _reporter_page(request, session, message_form=form, status=400)
    if form.is_valid():
        try:
            services.report_message_add(
                report=session.report,
                text=form.cleaned_data["text"],
                attachments=form.cleaned_data.get("attachments") or [],
            )
        except ValueError as exc:
            form.add_error(None, _service_error(exc))
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("reporting:reporter_case")
    return _reporter_page(request, session, message_form=form, status=400)


@reporter_privacy
@require_POST
def reporter_identity(request: HttpRequest) -> HttpResponse:
    session = _reporter_session(request)
    if session is None:
        return redirect("reporting:receipt")
    form = forms.IdentityForm(request.POST)
    if form.is_valid():
        try:
            services.report_identity_add(
                session=session, identity={"name": form.cleaned_data["name"], "contact": form.cleaned_data["contact"]}
            )
        except ValueError as exc:
            form.add_error(None, _service_error(exc))
        else:
            messages.success(request, _("Your identity was added, encrypted."))
            return redirect("reporting:reporter_case")
    return _reporter_page(request, session, identity_form=form, status=400)


@reporter_privacy
@require_POST
def reporter_transcript(request: HttpRequest) -> HttpResponse:
    session = _reporter_session(request)
    if session is None:
        return redirect("reporting:receipt")
    form = forms.TranscriptCheckForm(request.POST)
    if form.is_valid():
        try:
            services.report_transcript_confirm(
                session=session, agreed=form.cleaned_data["agreed"] == "yes", comment=form.cleaned_data["comment"]
            )
        except ValueError as exc:
            form.add_error(None, _service_error(exc))
        else:
            messages.success(request, _("Thank you: your answer about the transcript was sent."))
            return redirect("reporting:reporter_case")
    return _reporter_page(request, session, transcript_form=form, status=400)


@reporter_privacy
@require_POST
def reporter_sign_out(request: HttpRequest) -> HttpResponse:
    services.reporter_session_close(token=request.COOKIES.get(REPORTER_COOKIE))
    response = redirect("reporting:index")
    response.delete_cookie(REPORTER_COOKIE, path=REPORTER_COOKIE_PATH, samesite="Strict")
    response["Clear-Site-Data"] = '"cache", "storage"'
    return response


# --- staff: keys ------------------------------------------------------------------------------


def staff_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in (the core middleware then demands the second factor) with the case-handler permission."""
    return login_required(permission_required(HANDLE, raise_exception=True)(view))


def _is_custodian(user: User) -> bool:
    """Custodians are named per channel (``Channel.custodians``), not by a role."""
    return Channel.objects.filter(custodians=user).exists()


def _staff_key(request: HttpRequest) -> PrivateKey | None:
    return services.staff_key_from_request(request=request)


def _unlock_redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(f"{reverse('reporting:keys')}?next={request.get_full_path()}")


def _key_locked_message(until: datetime.datetime) -> str:
    when = date_format(timezone.localtime(until), "DATETIME_FORMAT")
    return _(
        "Too many wrong passwords were tried for your key, so it is locked until %(when)s, even with the right "
        "password. If these tries were not yours, tell your administrator."
    ) % {"when": when}


def _busy_message() -> str:
    return _("The server is busy opening other keys. Wait a few seconds and try again.")


@login_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    """Create the key pair (the recovery key is shown once) or unlock it for this session."""
    user = request.user
    assert isinstance(user, User)
    if not (user.has_perm(HANDLE) or _is_custodian(user)):
        raise PermissionDenied
    has_key = selectors.staff_has_keys(user=user)
    form = forms.KeyPasswordForm(request.POST or None)
    context: dict[str, Any] = {
        "has_key": has_key,
        "form": form,
        "unlocked": _staff_key(request) is not None,
        "next": safe_next(request, reverse("reporting:inbox")),
    }
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"]
        action = request.POST.get("action")
        if action == "create" and not has_key:
            try:
                recovery_key = services.staff_keys_create(user=user, password=password)
            except ValueError:
                form.add_error("password", _("That is not your password."))
            else:
                private_key = services.staff_keys_unlock(user=user, password=password, via="page")
                response = render(request, "reporting/keys.html", {"recovery_key": recovery_key, "has_key": True})
                services.staff_key_cookie_set(
                    response=response,
                    cookie_value=services.staff_session_store(session=request.session, private_key=private_key),
                )
                response["Cache-Control"] = "no-store"
                return response
        elif action == "unlock" and has_key:
            try:
                private_key = services.staff_keys_unlock(user=user, password=password, via="page")
            except services.KeyUnlockLocked as exc:
                form.add_error(None, _key_locked_message(exc.until))
                return render(request, "reporting/keys.html", context, status=429)
            except services.KdfBusy:
                form.add_error(None, _busy_message())
                return render(request, "reporting/keys.html", context, status=503)
            except (services.DecryptionError, LookupError):
                form.add_error("password", _("That password does not open your key."))
            else:
                response = redirect(context["next"])
                services.staff_key_cookie_set(
                    response=response,
                    cookie_value=services.staff_session_store(session=request.session, private_key=private_key),
                )
                return response
    return render(request, "reporting/keys.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def key_recover(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = forms.KeyRecoveryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"]
        if not user.check_password(password):
            form.add_error("password", _("That is not your password."))
        else:
            try:
                new_recovery_key = services.staff_keys_recover(
                    user=user, recovery_key=form.cleaned_data["recovery_key"], new_password=password
                )
            except services.KdfBusy:
                form.add_error(None, _busy_message())
                return render(request, "reporting/key_recover.html", {"form": form}, status=503)
            except (services.DecryptionError, LookupError, ValueError):
                form.add_error("recovery_key", _("That recovery key does not open your key."))
            else:
                response = render(request, "reporting/keys.html", {"recovery_key": new_recovery_key, "has_key": True})
                response["Cache-Control"] = "no-store"
                return response
    return render(request, "reporting/key_recover.html", {"form": form}, status=400 if form.errors else 200)


# --- staff: cases -----------------------------------------------------------------------------


@staff_view
@require_http_methods(["GET"])
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    today = _today()
    overdue = []
    for report in selectors.reports_overdue(user=user, today=today):
        if report.acknowledged_on is None and report.acknowledge_due < today:
            overdue.append({"report": report, "what": _("Acknowledgement"), "due": report.acknowledge_due})
        if report.feedback_given_on is None and report.feedback_due < today:
            overdue.append({"report": report, "what": _("Feedback to the reporter"), "due": report.feedback_due})
    return render(
        request,
        "reporting/inbox.html",
        {
            "cases": selectors.reports_for_staff(user=user).order_by("-received_on", "-pk"),
            "overdue": overdue,
            "today": today,
            "can_approve": _is_custodian(user),
            "can_see_statistics": user.has_perm("reporting.view_report_statistics"),
            "can_manage": user.has_perm("reporting.manage_channel"),
        },
    )


def _case_forms(report: Report, data: dict[str, Any] | None = None) -> dict[str, Any]:
    recipients = [
        (str(u.pk), u.get_username())
        for u in User.objects.filter(is_active=True).order_by("username")
        if u.has_perm(HANDLE) and selectors.staff_has_keys(user=u)
    ]
    return {
        "reply_form": forms.ReplyForm(),
        "status_form": forms.StatusForm(
            initial={"status": report.status, "sub_status": report.sub_status},
            status_choices=[c for c in Report.Status.choices if c[0] != Report.Status.CLOSED],
            sub_status_choices=Report.SubStatus.choices,
        ),
        "triage_form": forms.TriageNoteForm(risk_choices=RISK_LEVELS),
        "assign_form": forms.RecipientForm(recipients=recipients),
        "disclosure_form": forms.DisclosureRequestForm(),
        "closure_form": forms.ClosureForm(outcome_choices=[c for c in Report.Outcome.choices if c[0]]),
        **(data or {}),
    }


def _case_page(
    request: HttpRequest, report: Report, keys: services.ReportKeys, *, status: int = 200, **given: Any
) -> HttpResponse:
    items = selectors.report_timeline(keys=keys, for_reporter=False)
    context = {
        "report": report,
        "can_open_case": bool(hook_receivers("case_open")),
        "timeline": _timeline(items, report, for_reporter=False),
        "identity": selectors.report_identity(keys=keys),
        "action_taken": selectors.report_action_taken(keys=keys),
        "handlers": [a.user.get_username() for a in selectors.assignees(report=report)],
        "today": _today(),
        **_case_forms(report, given),
    }
    return render(request, "reporting/case.html", context, status=status)


def _open_case(request: HttpRequest, reference: str) -> tuple[Report, services.ReportKeys] | HttpResponse:
    """The report and the keys the signed-in handler holds; 404 for a report they are not assigned to."""
    user = request.user
    assert isinstance(user, User)
    report = selectors.report_for_staff(user=user, pk=reference, field_name="reference")
    if report is None:
        raise Http404
    private_key = _staff_key(request)
    if private_key is None:
        return _unlock_redirect(request)
    try:
        return report, services.report_keys_for_staff(report=report, user=user, private_key=private_key)
    except (PermissionDenied, services.DecryptionError) as exc:
        raise Http404 from exc


@staff_view
@require_http_methods(["GET"])
def case(request: HttpRequest, reference: str) -> HttpResponse:
    opened = _open_case(request, reference)
    if isinstance(opened, HttpResponse):
        return opened
    return _case_page(request, *opened)


@staff_view
@csrf_exempt
@require_POST
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    report = selectors.report_for_staff(user=user, pk=reference, field_name="reference")
    if report is None:
        raise Http404
    handler = _use_upload_limits(request, report.channel)
    return _case_action(request, reference, action, handler)


@csrf_protect
def _case_action(request: HttpRequest, reference: str, action: str, handler: ReportingUploadHandler) -> HttpResponse:
    opened = _open_case(request, reference)
    if isinstance(opened, HttpResponse):
        return opened
    report, keys = opened
    user = request.user
    assert isinstance(user, User)
    done = _("Saved.")
    try:
        if action == "reply":
            form: Any = forms.ReplyForm(request.POST, request.FILES)
            upload_error = _upload_error(handler, report.channel)
            if upload_error:
                form.is_valid()
                form.add_error("attachments", upload_error)
                return _case_page(request, report, keys, reply_form=form, status=400)
            if not form.is_valid():
                return _case_page(request, report, keys, reply_form=form, status=400)
            services.report_message_add(
                report=report,
                text=form.cleaned_data["text"],
                author=user,
                attachments=form.cleaned_data.get("attachments") or [],
                feedback=bool(form.cleaned_data.get("feedback")),
            )
            done = _("Your reply was sent.")
        elif action == "acknowledge":
            services.report_acknowledge(report=report, user=user)
            done = _("The report is acknowledged.")
        elif action == "status":
            form = forms.StatusForm(
                request.POST,
                status_choices=[c for c in Report.Status.choices if c[0] != Report.Status.CLOSED],
                sub_status_choices=Report.SubStatus.choices,
            )
            if not form.is_valid():
                return _case_page(request, report, keys, status_form=form, status=400)
            services.report_status_set(
                report=report, user=user, status=form.cleaned_data["status"], sub_status=form.cleaned_data["sub_status"]
            )
        elif action == "triage":
            form = forms.TriageNoteForm(request.POST, risk_choices=RISK_LEVELS)
            if not form.is_valid():
                return _case_page(request, report, keys, triage_form=form, status=400)
            if form.cleaned_data["note"].strip():
                services.report_note_add(report=report, user=user, text=form.cleaned_data["note"])
            if form.cleaned_data["retaliation_risk"]:
                services.report_note_add(
                    report=report,
                    user=user,
                    kind=ReportEntry.Kind.RISK,
                    text={  # type: ignore[arg-type]
                        "level": form.cleaned_data["retaliation_risk"],
                        "text": form.cleaned_data["retaliation_notes"],
                    },
                )
        elif action == "assign":
            data = _case_forms(report)
            form = forms.RecipientForm(request.POST, recipients=data["assign_form"].fields["recipient"].choices[1:])
            if not form.is_valid():
                return _case_page(request, report, keys, assign_form=form, status=400)
            assignee = get_object_or_404(User, pk=form.cleaned_data["recipient"])
            private_key = _staff_key(request)
            assert private_key is not None
            if request.POST.get("mode") == "forward":
                services.report_forward(report=report, user=user, private_key=private_key, recipient=assignee)
                done = _("The report was forwarded.")
            else:
                services.report_assign(
                    report=report, user=user, private_key=private_key, assignee=assignee, keep_own=False
                )
                messages.success(request, _("The case was reassigned."))
                return redirect("reporting:inbox")
        elif action == "disclosure":
            form = forms.DisclosureRequestForm(request.POST)
            if not form.is_valid():
                return _case_page(request, report, keys, disclosure_form=form, status=400)
            services.identity_disclosure_request(report=report, user=user, reason=form.cleaned_data["reason"])
            done = _("Your request was sent to the custodians.")
        elif action == "open-case":
            references = hook_call(
                "case_open",
                source="report",
                source_key=report.reference,
                case_type="protected-report",
                title=_("Protected report %(reference)s") % {"reference": report.reference},
                actor=user,
                assignee=user,
            )
            if not references:
                raise Http404
            try:
                return redirect("cases:detail", reference=references[0])
            except NoReverseMatch:
                done = _("A case was opened for this report.")
        elif action == "close":
            form = forms.ClosureForm(request.POST, outcome_choices=[c for c in Report.Outcome.choices if c[0]])
            if not form.is_valid():
                return _case_page(request, report, keys, closure_form=form, status=400)
            services.report_close(
                report=report,
                user=user,
                outcome=form.cleaned_data["outcome"],
                action_taken=form.cleaned_data["action_taken"],
            )
            done = _("The case is closed.")
        else:
            raise Http404
    except (ValueError, AttachmentRejected) as exc:
        messages.error(request, _service_error(exc))
        return HttpResponseRedirect(safe_next(request, reverse("reporting:case", args=[report.reference])))
    messages.success(request, done)
    return HttpResponseRedirect(safe_next(request, reverse("reporting:case", args=[report.reference])))


@staff_view
@require_http_methods(["GET"])
def attachment(request: HttpRequest, reference: str, pk: int) -> HttpResponseBase:
    opened = _open_case(request, reference)
    if isinstance(opened, HttpResponse):
        return opened
    report, keys = opened
    item = get_object_or_404(Attachment, pk=pk, report=report)
    try:
        info, stream = selectors.attachment_open(attachment=item, keys=keys, stripped=bool(request.GET.get("stripped")))
    except LookupError as exc:
        raise Http404 from exc
    response = StreamingHttpResponse(stream, content_type="application/octet-stream")
    # Always a download, never shown inline: an uploaded file may be hostile.
    response["Content-Disposition"] = _attachment_disposition(info.name)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _attachment_disposition(name: str) -> str:
    ascii_name = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


# --- staff: custodians, intake, statistics, channels --------------------------------------------


@login_required
@require_http_methods(["GET"])
def disclosures(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not _is_custodian(user):
        raise PermissionDenied
    private_key = _staff_key(request)
    if private_key is None:
        return _unlock_redirect(request)
    items = []
    for item in selectors.disclosure_requests_pending(custodian=user):
        try:
            reason = services.identity_disclosure_reason(request=item, custodian=user, private_key=private_key)
        except (PermissionDenied, services.DecryptionError):
            reason = ""
        form = forms.DisclosureDecisionForm(auto_id=f"d{item.pk}_%s")
        items.append({"request": item, "reason": reason, "form": form})
    return render(request, "reporting/disclosures.html", {"requests": items})


@login_required
@require_POST
def disclosure_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    item = get_object_or_404(selectors.disclosure_requests_pending(custodian=user), pk=pk)
    private_key = _staff_key(request)
    if private_key is None:
        return _unlock_redirect(request)
    form = forms.DisclosureDecisionForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                services.identity_disclosure_approve(request=item, custodian=user, private_key=private_key)
                messages.success(request, _("Approved: the handler can now see the reporter's identity."))
            else:
                services.identity_disclosure_refuse(request=item, custodian=user)
                messages.success(request, _("Refused: the identity stays sealed."))
        except (ValueError, PermissionDenied) as exc:
            messages.error(request, _service_error(exc))
    return redirect("reporting:disclosures")


@staff_view
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    channels = [(c.slug, c.name) for c in selectors.channels_open()]
    form = forms.OralIntakeForm(request.POST or None, channel_choices=channels)
    if request.method == "POST" and form.is_valid():
        channel = get_object_or_404(Channel, slug=form.cleaned_data["channel"], active=True)
        identity = {
            k: v
            for k, v in {
                "name": form.cleaned_data["identity_name"],
                "contact": form.cleaned_data["identity_contact"],
            }.items()
            if v
        }
        try:
            new_report, receipt = services.report_intake_by_staff(
                channel=channel,
                user=user,
                transcript=form.cleaned_data["transcript"],
                intake=form.cleaned_data["kind"],
                identity=identity or None,
            )
        except (ValueError, PermissionDenied) as exc:
            form.add_error(None, _service_error(exc))
        else:
            response = render(
                request, "reporting/intake.html", {"receipt_display": _display_receipt(receipt), "report": new_report}
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "reporting/intake.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@permission_required("reporting.view_report_statistics", raise_exception=True)
@require_http_methods(["GET"])
def statistics(request: HttpRequest) -> HttpResponse:
    try:
        year = int(request.GET.get("year") or _today().year)
    except ValueError:
        year = _today().year
    headings, rows, outcomes = _statistics_table(year)
    return render(
        request, "reporting/statistics.html", {"year": year, "headings": headings, "rows": rows, "outcomes": outcomes}
    )


def _statistics_table(year: int) -> tuple[list[str], list[list[Any]], list[tuple[str, Any]]]:
    """The annual figures from R1's statistics module, as table rows with translated headings."""
    data: dict[str, Any] = figures.annual_statistics(year=year)
    columns = [
        ("received", _("Received")),
        ("acknowledged_on_time", _("Acknowledged on time")),
        ("investigations_opened", _("Investigations opened")),
        ("closed", _("Closed")),
        ("median_days_to_acknowledge", _("Median days to acknowledge")),
        ("median_days_to_close", _("Median days to close")),
    ]
    rows: list[list[Any]] = []
    for channel in data.get("channels", []):
        rows.append(
            [channel.get("name") or channel.get("channel", ""), *(_cell(channel.get(key)) for key, _label in columns)]
        )
    if data.get("total", {}).get("received"):
        rows.append([_("All channels"), *(_cell(data["total"].get(key)) for key, _label in columns)])
    outcome_labels = dict(Report.Outcome.choices)
    outcomes = [
        (str(outcome_labels.get(key, key)), _cell(count))
        for key, count in (data.get("total", {}).get("outcomes") or {}).items()
    ]
    return [_("Channel"), *(str(label) for _key, label in columns)], rows, outcomes


def _cell(value: Any) -> Any:
    return "—" if value is None else value


@login_required
@permission_required("reporting.manage_channel", raise_exception=True)
@require_http_methods(["GET"])
def channels(request: HttpRequest) -> HttpResponse:
    return render(request, "reporting/channels.html", {"channels": Channel.objects.order_by("name")})


def _channel_people() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(everyone with a key pair, the case handlers among them) as choices for a channel's form."""
    people = [u for u in User.objects.filter(is_active=True, reporting_key__isnull=False).order_by("username")]
    return (
        [(str(u.pk), u.get_username()) for u in people],
        [(str(u.pk), u.get_username()) for u in people if u.has_perm(HANDLE)],
    )


@login_required
@permission_required("reporting.manage_channel", raise_exception=True)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Create (no ``slug``) or change a channel: questionnaire, deadlines, recipients and custodians."""
    channel = get_object_or_404(Channel, slug=slug) if slug else None
    people, handlers = _channel_people()
    initial: dict[str, Any] = {"questions": [], "acknowledge_days": 7, "feedback_days": 90, "active": True}
    if channel is not None:
        initial = {
            "name": channel.name,
            "description": channel.description,
            "questions": channel.questionnaire,
            "acknowledge_days": channel.acknowledge_days,
            "feedback_days": channel.feedback_days,
            "active": channel.active,
            "recipients": [str(pk) for pk in channel.recipients.values_list("pk", flat=True)],
            "custodians": [str(pk) for pk in channel.custodians.values_list("pk", flat=True)],
        }
    form = forms.ChannelForm(
        request.POST or None, initial=initial, slug_needed=channel is None, people=people, handlers=handlers
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.channel_save(
                slug=channel.slug if channel else data["slug"],
                name=data["name"],
                actor=cast(User, request.user),
                description=data["description"],
                questionnaire=data["questions"],
                acknowledge_days=data["acknowledge_days"],
                feedback_days=data["feedback_days"],
                active=data["active"],
                recipients=list(User.objects.filter(pk__in=data["recipients"])),
                custodians=list(User.objects.filter(pk__in=data["custodians"])),
            )
        except ValueError as exc:
            form.add_error("questions", _service_error(exc))
        else:
            messages.success(request, _("The channel was saved."))
            return redirect("reporting:channels")
    return render(
        request, "reporting/channel_edit.html", {"channel": channel, "form": form}, status=400 if form.errors else 200
    )
