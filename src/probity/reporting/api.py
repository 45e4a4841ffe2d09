"""Reporting endpoints of the HTTP API (mounted at ``/api/v1/reporting`` by ``probity.core.api``).

Two kinds of caller:

* **Reporters** need no account (``auth=None``): they get a challenge, file a report (the answer holds
  the receipt, once), then open a session with the receipt (``POST /reporter/session`` → a token sent
  back as the ``X-Reporter-Session`` header) to read the timeline and add messages, files or their
  identity. Wrong receipts are throttled (429 with ``retry_after``). Nothing identifying is logged.
* **Staff** use the API's usual authentication (bearer token, or the browser session after the second
  factor). Reading or acting on a report also needs the staff member's private key: the one unlocked
  in the web session, or the ``X-Reporting-Password`` header, from which the key is re-derived for this
  request only. A report that exists but is not assigned to the caller answers 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from nacl.public import PrivateKey
from ninja import Router, Schema
from ninja.responses import Status

from probity.core.api import ApiError, errors
from probity.reporting import attachments as store
from probity.reporting import selectors, services, statistics
from probity.reporting.crypto import DecryptionError
from probity.reporting.models import Attachment, Channel, DisclosureRequest, Report, ReportEntry
from probity.reporting.receipts import RECEIPT_BITS

router = Router(tags=["reporting"])

REPORTER_HEADER = "X-Reporter-Session"
PASSWORD_HEADER = "X-Reporting-Password"  # noqa: S105  (a header name)


# --- schemas ----------------------------------------------------------------------------------


class ChannelOut(Schema):
    slug: str
    name: str
    description: str
    questionnaire: list[dict[str, Any]]
    max_attachments: int
    max_attachment_bytes: int


class ChallengeOut(Schema):
    token: str
    bits: int
    wait: int


class ReportIn(Schema):
    channel: str
    answers: dict[str, Any]
    identity: dict[str, str] | str | None = None
    challenge: str
    solution: str | None = None


class ReceiptOut(Schema):
    reference: str
    receipt: str
    receipt_bits: float


class SignInIn(Schema):
    receipt: str
    challenge: str | None = None
    solution: str | None = None


class ReporterSessionOut(Schema):
    token: str
    expires_in: int


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    stripping: str
    has_stripped_copy: bool
    from_reporter: bool


class TimelineItemOut(Schema):
    id: int
    sequence: int
    kind: str
    created_on: date
    author: str
    body: Any
    staff_only: bool
    feedback: bool
    attachments: list[AttachmentOut]


class ReporterReportOut(Schema):
    reference: str
    channel: str
    status: str
    received_on: date
    has_identity: bool
    timeline: list[TimelineItemOut]


class MessageIn(Schema):
    text: str
    feedback: bool = False


class IdentityIn(Schema):
    identity: dict[str, str] | str


class CaseOut(Schema):
    reference: str
    channel: str
    intake: str
    status: str
    sub_status: str
    received_on: date
    acknowledge_due: date
    acknowledged_on: date | None
    feedback_due: date
    feedback_given_on: date | None
    closed_on: date | None
    outcome: str
    has_identity: bool
    overdue: bool


class CaseDetailOut(CaseOut):
    timeline: list[TimelineItemOut]
    identity: dict[str, str] | None
    action_taken: str | None
    assignees: list[str]


class NoteIn(Schema):
    text: str
    kind: Literal["note", "risk"] = "note"


class AcknowledgeIn(Schema):
    message: str | None = None


class StatusIn(Schema):
    status: Literal["received", "acknowledged", "triage", "investigation", "forwarded"]
    sub_status: str = ""


class AssignIn(Schema):
    username: str
    keep_own: bool = True


class ForwardIn(Schema):
    username: str


class CloseIn(Schema):
    outcome: str
    action_taken: str = ""
    message: str | None = None


class DisclosureIn(Schema):
    reason: str


class DisclosureOut(Schema):
    id: int
    reference: str
    requested_by: str
    state: str
    requested_on: date
    decided_on: date | None


class KeysIn(Schema):
    password: str


class RecoveryKeyOut(Schema):
    recovery_key: str
    message: str


class OkOut(Schema):
    ok: bool


# --- helpers ------------------------------------------------------------------------------------


def _client(request: HttpRequest) -> str:
    key = getattr(request, "reporting_client_key", None)
    return str(key) if key else request.META.get("REMOTE_ADDR", "")


def _throttled(exc: services.Throttled, request: HttpRequest | None = None) -> ApiError:
    """429; with a challenge, the way in now: solve it (or wait ``wait`` seconds) and send it back."""
    if request is not None:
        request.reporting_retry_after = exc.retry_after  # type: ignore[attr-defined]  # Retry-After header
    details: dict[str, Any] = {"retry_after": exc.retry_after}
    if exc.challenge is not None:
        details["challenge"] = exc.challenge
        return ApiError(
            429,
            "too_many_requests",
            "Too many attempts from here: solve the challenge in 'details' (or wait its 'wait' seconds) and send "
            "it with your next try.",
            details,
        )
    return ApiError(429, "too_many_requests", "Too many attempts; wait before trying again.", details)


def _reporter(request: HttpRequest) -> services.ReporterSession:
    session = services.reporter_session_resume(token=request.headers.get(REPORTER_HEADER))
    if session is None:
        raise ApiError(
            401,
            "not_authenticated",
            f"Open a session with your receipt (POST /reporter/session) and send its token as {REPORTER_HEADER}.",
        )
    return session


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _private_key(request: HttpRequest, user: User) -> PrivateKey:
    password = request.headers.get(PASSWORD_HEADER)
    if password:
        try:
            return services.staff_keys_unlock(user=user, password=password, via="api")
        except services.KeyUnlockLocked as exc:
            request.reporting_retry_after = exc.retry_after  # type: ignore[attr-defined]
            raise ApiError(
                429,
                "key_unlock_locked",
                f"Too many wrong passwords: your reporting key is locked until {exc.until:%Y-%m-%d %H:%M} UTC, "
                "even with the right password.",
                {"retry_after": exc.retry_after, "locked_until": exc.until.isoformat()},
            ) from exc
        except services.KdfBusy as exc:
            request.reporting_retry_after = exc.retry_after  # type: ignore[attr-defined]
            raise ApiError(
                503,
                "busy",
                "The server is busy opening other keys; try again in a few seconds.",
                {"retry_after": exc.retry_after},
            ) from exc
        except DecryptionError as exc:
            raise ApiError(403, "key_locked", "The password does not open your reporting key.") from exc
        except LookupError as exc:
            raise ApiError(409, "no_key_pair", "You have no reporting key pair yet: create one first.") from exc
    if getattr(request, "auth_method", "") == "session" and hasattr(request, "session"):
        key = services.staff_key_from_request(request=request)
        if key is not None:
            return key
    raise ApiError(
        403,
        "key_locked",
        f"Your reporting key is locked: unlock it in the web interface or send the {PASSWORD_HEADER} header.",
    )


def _require_handler(user: User) -> None:
    if not user.has_perm("reporting.handle_report"):
        raise ApiError(403, "permission_denied", "Your role may not handle reports.")


def _case(user: User, reference: str) -> Report:
    _require_handler(user)
    report = selectors.report_for_staff(user=user, pk=reference, field_name="reference")
    if report is None:
        raise ApiError(404, "not_found", f"There is no report {reference} that you may see.")
    return report


def _keys(request: HttpRequest, user: User, report: Report) -> services.ReportKeys:
    key = _private_key(request, user)
    try:
        return services.report_keys_for_staff(report=report, user=user, private_key=key)
    except PermissionDenied as exc:
        raise ApiError(404, "not_found", f"There is no report {report.reference} that you may see.") from exc
    except DecryptionError as exc:
        raise ApiError(403, "key_locked", "Your key does not open this report.") from exc


def _case_out(report: Report) -> dict[str, Any]:
    state = selectors.deadline_state(report=report)
    return {
        "reference": report.reference,
        "channel": report.channel.slug,
        "intake": report.intake,
        "status": report.status,
        "sub_status": report.sub_status,
        "received_on": report.received_on,
        "acknowledge_due": report.acknowledge_due,
        "acknowledged_on": report.acknowledged_on,
        "feedback_due": report.feedback_due,
        "feedback_given_on": report.feedback_given_on,
        "closed_on": report.closed_on,
        "outcome": report.outcome,
        "has_identity": report.has_identity,
        "overdue": "overdue" in (state["acknowledge"], state["feedback"]),
    }


def _stream(info: selectors.AttachmentInfo, chunks: Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    safe = "".join(ch for ch in info.name if ch.isascii() and (ch.isalnum() or ch in "._- ")) or "file"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def _attachment(report: Report, attachment_id: int) -> Attachment:
    attachment = Attachment.objects.filter(report=report, pk=attachment_id).first()
    if attachment is None:
        raise ApiError(404, "not_found", f"There is no attachment {attachment_id} on this report.")
    return attachment


# --- reporters (no account) -----------------------------------------------------------------


@router.get(
    "/channels",
    auth=None,
    response={200: list[ChannelOut], **errors()},
    summary="Channels open for reports, with their questionnaires",
)
def channel_list(request: HttpRequest) -> list[Channel]:
    return list(selectors.channels_open())


@router.post(
    "/challenge",
    auth=None,
    response={200: ChallengeOut, **errors(429)},
    summary="A one-use anti-flood challenge for the next report (hashcash; or wait 5 seconds)",
)
def challenge_new(request: HttpRequest) -> dict[str, Any]:
    try:
        return services.intake_challenge_new(client=_client(request))
    except services.Throttled as exc:
        raise _throttled(exc, request) from exc


@router.post(
    "/reports",
    auth=None,
    response={201: ReceiptOut, **errors(400, 404, 422, 429)},
    summary="File a report; the receipt is in this answer only",
)
def report_file(request: HttpRequest, payload: ReportIn) -> Status[dict[str, Any]]:
    channel = Channel.objects.filter(slug=payload.channel, active=True).first()
    if channel is None:
        raise ApiError(404, "not_found", f"There is no open channel {payload.channel}.")
    try:
        services.intake_guard(client=_client(request), challenge=payload.challenge, solution=payload.solution)
    except services.Throttled as exc:
        raise _throttled(exc, request) from exc
    try:
        report, receipt = services.report_submit(channel=channel, answers=payload.answers, identity=payload.identity)
    except services.AnswersInvalid as exc:
        raise ApiError(
            400,
            "invalid_answers",
            "Some answers are missing or not valid; 'details' names each question.",
            exc.problems,
        ) from exc
    return Status(201, {"reference": report.reference, "receipt": receipt, "receipt_bits": RECEIPT_BITS})


@router.post(
    "/reporter/session",
    auth=None,
    response={201: ReporterSessionOut, **errors(404, 422, 429)},
    summary="Open a reporter session with the receipt (throttled)",
)
def reporter_session(request: HttpRequest, payload: SignInIn) -> Status[dict[str, Any]]:
    try:
        session = services.reporter_sign_in(
            receipt=payload.receipt, client=_client(request), challenge=payload.challenge, solution=payload.solution
        )
    except services.Throttled as exc:
        raise _throttled(exc, request) from exc
    except LookupError as exc:
        raise ApiError(404, "not_found", "No report has this receipt.") from exc
    token = services.reporter_session_open(session=session)
    return Status(201, {"token": token, "expires_in": services.REPORTER_SESSION_SECONDS})


@router.delete("/reporter/session", auth=None, response={200: OkOut, **errors()}, summary="End a reporter session")
def reporter_session_end(request: HttpRequest) -> dict[str, bool]:
    services.reporter_session_close(token=request.headers.get(REPORTER_HEADER))
    return {"ok": True}


@router.get(
    "/reporter/report",
    auth=None,
    response={200: ReporterReportOut, **errors()},
    summary="The reporter's report and conversation",
)
def reporter_report(request: HttpRequest) -> dict[str, Any]:
    session = _reporter(request)
    report = session.report
    timeline = selectors.report_timeline(keys=session.keys, for_reporter=True)
    selectors.report_mark_read_by_reporter(report=report)
    return {
        "reference": report.reference,
        "channel": report.channel.slug,
        "status": report.status,
        "received_on": report.received_on,
        "has_identity": report.has_identity,
        "timeline": [item.as_dict() for item in timeline],
    }


@router.post(
    "/reporter/messages",
    auth=None,
    response={201: TimelineItemOut, **errors(400, 422)},
    summary="The reporter adds a message",
)
def reporter_message(request: HttpRequest, payload: MessageIn) -> Status[dict[str, Any]]:
    session = _reporter(request)
    entry = services.report_message_add(report=session.report, text=payload.text)
    return Status(201, _entry_out(session.keys, entry))


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _receive_upload(request: HttpRequest, channel: Channel) -> UploadedFile:
    """Reads the multipart body through ``ReportingUploadHandler``: in memory only (never a plaintext
    temporary file), stopped at the channel's size limit."""
    handler = store.ReportingUploadHandler(request, max_file_bytes=channel.max_attachment_bytes, max_files=1)
    request.upload_handlers = [handler]
    upload = request.FILES.get("file")
    if handler.rejection is not None:
        status = 413 if "bytes" in handler.rejection else 400
        raise ApiError(status, "attachment_rejected", handler.rejection[0].upper() + handler.rejection[1:] + ".")
    if upload is None:
        raise ApiError(
            422,
            "validation_error",
            "Send the file as the multipart field 'file'.",
            [{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}],
        )
    return upload


@router.post(
    "/reporter/attachments",
    auth=None,
    response={201: AttachmentOut, **errors(400, 413, 422)},
    summary="The reporter adds a file (limits of the channel apply)",
    openapi_extra=UPLOAD_BODY,
)
def reporter_attachment(request: HttpRequest) -> Status[dict[str, Any]]:
    session = _reporter(request)
    upload = _receive_upload(request, session.report.channel)
    attachment = _store_upload(session.report, upload, from_reporter=True)
    return Status(201, selectors._attachment_info(attachment, session.keys).as_dict())


@router.get(
    "/reporter/attachments/{int:attachment_id}",
    auth=None,
    response={200: None, **errors(404)},
    summary="Download one of the report's files (decrypted)",
)
def reporter_attachment_get(request: HttpRequest, attachment_id: int, stripped: bool = False) -> StreamingHttpResponse:
    session = _reporter(request)
    info, chunks = selectors.attachment_open(
        attachment=_attachment(session.report, attachment_id), keys=session.keys, stripped=stripped
    )
    return _stream(info, chunks)


@router.post(
    "/reporter/identity",
    auth=None,
    response={200: OkOut, **errors(400, 422)},
    summary="The reporter gives their identity (later)",
)
def reporter_identity(request: HttpRequest, payload: IdentityIn) -> dict[str, bool]:
    services.report_identity_add(session=_reporter(request), identity=payload.identity)
    return {"ok": True}


def _store_upload(report: Report, file: UploadedFile, *, from_reporter: bool) -> Attachment:
    if report.is_closed:
        raise ApiError(400, "bad_request", "The report is closed.")
    try:
        entry = None
        return services.attachment_add(report=report, upload=file, entry=entry, from_reporter=from_reporter)
    except store.AttachmentRejected as exc:
        status = 413 if "at most" in str(exc) and "bytes" in str(exc) else 400
        raise ApiError(status, "attachment_rejected", str(exc)[:1].upper() + str(exc)[1:] + ".") from exc


def _entry_out(keys: services.ReportKeys, entry: ReportEntry) -> dict[str, Any]:
    for item in selectors.report_timeline(keys=keys, for_reporter=entry.author is None):
        if item.id == entry.pk:
            return item.as_dict()
    raise ApiError(404, "not_found", "The entry is not visible.")


# --- staff --------------------------------------------------------------------------------------


@router.post(
    "/keys",
    response={201: RecoveryKeyOut, **errors(400, 403, 422)},
    summary="Create your reporting key pair (the recovery key is in this answer only)",
)
def keys_create(request: HttpRequest, payload: KeysIn) -> Status[dict[str, str]]:
    user = _user(request)
    if not (user.has_perm("reporting.handle_report") or user.has_perm("reporting.manage_channel")):
        raise ApiError(403, "permission_denied", "Your role does not use reporting keys.")
    recovery = services.staff_keys_create(user=user, password=payload.password)
    return Status(201, {"recovery_key": recovery, "message": "Write the recovery key down now; it is not shown again."})


@router.get("/cases", response={200: list[CaseOut], **errors(403)}, summary="Reports assigned to you")
def case_list(request: HttpRequest, overdue: bool = False) -> list[dict[str, Any]]:
    user = _user(request)
    _require_handler(user)
    queryset = selectors.reports_overdue(user=user) if overdue else selectors.reports_for_staff(user=user)
    return [_case_out(report) for report in queryset.select_related("channel")]


@router.get(
    "/cases/{reference}",
    response={200: CaseDetailOut, **errors(403, 404, 409, 429, 503)},
    summary="One report assigned to you, decrypted (needs your unlocked key)",
)
def case_detail(request: HttpRequest, reference: str) -> dict[str, Any]:
    user = _user(request)
    report = _case(user, reference)
    keys = _keys(request, user, report)
    return {
        **_case_out(report),
        "timeline": [item.as_dict() for item in selectors.report_timeline(keys=keys, for_reporter=False)],
        "identity": selectors.report_identity(keys=keys),
        "action_taken": selectors.report_action_taken(keys=keys),
        "assignees": [a.user.get_username() for a in selectors.assignees(report=report)],
    }


@router.get(
    "/cases/{reference}/attachments/{int:attachment_id}",
    response={200: None, **errors(403, 404, 429, 503)},
    summary="Download a file of a report assigned to you (decrypted)",
)
def case_attachment(
    request: HttpRequest, reference: str, attachment_id: int, stripped: bool = False
) -> StreamingHttpResponse:
    user = _user(request)
    report = _case(user, reference)
    keys = _keys(request, user, report)
    attachment = _attachment(report, attachment_id)
    info, chunks = selectors.attachment_open(attachment=attachment, keys=keys, stripped=stripped)
    return _stream(info, chunks)


@router.post(
    "/cases/{reference}/messages",
    response={201: OkOut, **errors(400, 403, 404, 422)},
    summary="Send a message to the reporter (feedback=true counts as the statutory feedback)",
)
def case_message(request: HttpRequest, reference: str, payload: MessageIn) -> Status[dict[str, bool]]:
    user = _user(request)
    report = _case(user, reference)
    services.report_message_add(report=report, text=payload.text, author=user, feedback=payload.feedback)
    return Status(201, {"ok": True})


@router.post(
    "/cases/{reference}/notes",
    response={201: OkOut, **errors(400, 403, 404, 422)},
    summary="Add a triage note or retaliation-risk assessment (never shown to the reporter)",
)
def case_note(request: HttpRequest, reference: str, payload: NoteIn) -> Status[dict[str, bool]]:
    user = _user(request)
    report = _case(user, reference)
    services.report_note_add(report=report, user=user, text=payload.text, kind=payload.kind)
    return Status(201, {"ok": True})


@router.post(
    "/cases/{reference}/acknowledge",
    response={200: CaseOut, **errors(400, 403, 404, 422)},
    summary="Acknowledge the report",
)
def case_acknowledge(request: HttpRequest, reference: str, payload: AcknowledgeIn | None = None) -> dict[str, Any]:
    user = _user(request)
    report = _case(user, reference)
    services.report_acknowledge(report=report, user=user, message=payload.message if payload else None)
    return _case_out(report)


@router.post(
    "/cases/{reference}/status",
    response={200: CaseOut, **errors(400, 403, 404, 422)},
    summary="Set the status and sub-status",
)
def case_status(request: HttpRequest, reference: str, payload: StatusIn) -> dict[str, Any]:
    user = _user(request)
    report = _case(user, reference)
    services.report_status_set(report=report, user=user, status=payload.status, sub_status=payload.sub_status)
    return _case_out(report)


def _handler_named(username: str) -> User:
    other = User.objects.filter(username=username, is_active=True).first()
    if other is None:
        raise ApiError(400, "bad_request", f"There is no active user {username}.")
    return other


@router.post(
    "/cases/{reference}/assign",
    response={200: CaseOut, **errors(400, 403, 404, 422)},
    summary="Share with (or reassign to) another handler; the identity stays sealed",
)
def case_assign(request: HttpRequest, reference: str, payload: AssignIn) -> dict[str, Any]:
    user = _user(request)
    report = _case(user, reference)
    keys_owner = _private_key(request, user)
    services.report_assign(
        report=report,
        user=user,
        private_key=keys_owner,
        assignee=_handler_named(payload.username),
        keep_own=payload.keep_own,
    )
    return _case_out(report)


@router.post(
    "/cases/{reference}/forward",
    response={200: CaseOut, **errors(400, 403, 404, 422)},
    summary="Forward to another recipient: content only, no case file, no identity",
)
def case_forward(request: HttpRequest, reference: str, payload: ForwardIn) -> dict[str, Any]:
    user = _user(request)
    report = _case(user, reference)
    services.report_forward(
        report=report, user=user, private_key=_private_key(request, user), recipient=_handler_named(payload.username)
    )
    return _case_out(report)


@router.post(
    "/cases/{reference}/close",
    response={200: CaseOut, **errors(400, 403, 404, 422)},
    summary="Close with the closure record (outcome, action taken)",
)
def case_close(request: HttpRequest, reference: str, payload: CloseIn) -> dict[str, Any]:
    user = _user(request)
    report = _case(user, reference)
    services.report_close(
        report=report, user=user, outcome=payload.outcome, action_taken=payload.action_taken, message=payload.message
    )
    return _case_out(report)


@router.post(
    "/cases/{reference}/disclosure-requests",
    response={201: DisclosureOut, **errors(400, 403, 404, 422)},
    summary="Ask the channel's custodians for the reporter's identity",
)
def disclosure_request(request: HttpRequest, reference: str, payload: DisclosureIn) -> Status[dict[str, Any]]:
    user = _user(request)
    report = _case(user, reference)
    created = services.identity_disclosure_request(report=report, user=user, reason=payload.reason)
    return Status(201, _disclosure_out(created))


def _disclosure_out(request: DisclosureRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "reference": request.report.reference,
        "requested_by": request.requested_by.get_username(),
        "state": request.state,
        "requested_on": request.requested_on,
        "decided_on": request.decided_on,
    }


@router.get(
    "/disclosure-requests",
    response={200: list[DisclosureOut], **errors()},
    summary="Pending identity-disclosure requests on channels you are custodian of",
)
def disclosure_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_disclosure_out(r) for r in selectors.disclosure_requests_pending(custodian=_user(request))]


def _pending(user: User, request_id: int) -> DisclosureRequest:
    found = selectors.disclosure_requests_pending(custodian=user).filter(pk=request_id).first()
    if found is None:
        raise ApiError(404, "not_found", f"There is no pending request {request_id} for you to decide.")
    return found


@router.post(
    "/disclosure-requests/{int:request_id}/approve",
    response={200: DisclosureOut, **errors(400, 403, 404)},
    summary="Approve: the identity key is sealed to the requesting handler (audited)",
)
def disclosure_approve(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    pending = _pending(user, request_id)
    decided = services.identity_disclosure_approve(
        request=pending, custodian=user, private_key=_private_key(request, user)
    )
    return _disclosure_out(decided)


@router.post(
    "/disclosure-requests/{int:request_id}/refuse",
    response={200: DisclosureOut, **errors(400, 403, 404)},
    summary="Refuse a disclosure request",
)
def disclosure_refuse(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    return _disclosure_out(services.identity_disclosure_refuse(request=_pending(user, request_id), custodian=user))


@router.get(
    "/statistics",
    response={200: dict[str, Any], **errors(403)},
    summary="Annual statistics (counts below 3 shown as '<3')",
)
def statistics_annual(request: HttpRequest, year: int | None = None) -> dict[str, Any]:
    user = _user(request)
    if not user.has_perm("reporting.view_report_statistics"):
        raise ApiError(403, "permission_denied", "Your role may not see reporting statistics.")
    return statistics.annual_statistics(year=year or timezone.localdate().year)
