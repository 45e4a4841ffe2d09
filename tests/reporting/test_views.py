"""The reporting pages: a reporter files without an account or JavaScript, comes back with the receipt and
talks with the handler; handlers work their cases; nobody else reads a report; nothing leaks."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from probity.reporting import services
from probity.reporting.models import Channel, DisclosureRequest, Report
from tests.conftest import TEST_PASSWORD
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db

PLANTED_ADDRESS = "203.0.113.77"
PLANTED_BROWSER = "PlantedBrowser/9.9 (Reporter's Laptop)"


def reporter_client() -> Client:
    return Client(
        REMOTE_ADDR=PLANTED_ADDRESS,
        HTTP_USER_AGENT=PLANTED_BROWSER,
        HTTP_X_FORWARDED_FOR=PLANTED_ADDRESS,
        HTTP_REFERER="https://intranet.example/" + PLANTED_ADDRESS,
    )


def ticket_of(html: str) -> str:
    match = re.search(r'name="ticket" value="([^"]+)"', html)
    assert match, "the second step carries a ticket"
    return match.group(1)


def step_one(client: Client, channel: Channel, answers: dict[str, str]) -> Any:
    data = {"step": "1", **{f"q_{key}": value for key, value in answers.items()}}
    return client.post(reverse("reporting:report", args=[channel.slug]), data)


def file_report(
    client: Client,
    channel: Channel,
    answers: dict[str, str],
    *,
    second: dict[str, Any] | None = None,
    files: list[SimpleUploadedFile] | None = None,
    solve: bool = True,
) -> Any:
    """Both steps of the questionnaire, as a browser without JavaScript posts them (plus the proof of work
    a browser with JavaScript adds, unless ``solve`` is False)."""
    response = step_one(client, channel, answers)
    assert response.status_code == 200, response.content.decode()[:2000]
    ticket = ticket_of(response.content.decode())
    data: dict[str, Any] = {
        "step": "2",
        "ticket": ticket,
        "action": "submit",
        **{f"q_{key}": value for key, value in answers.items()},
        **(second or {}),
    }
    if solve:
        data["pow_nonce"] = services.pow_solve(token=ticket, bits=4)
    if files:
        data["attachments"] = files
    return client.post(reverse("reporting:report", args=[channel.slug]), data)


def receipt_in(html: str) -> str:
    match = re.search(r'data-testid="receipt">([\d ]+)<', html)
    assert match, "the confirmation shows the receipt"
    return match.group(1)


def sign_in(client: Client, receipt: str) -> Any:
    return client.post(reverse("reporting:receipt"), {"receipt": receipt})


@pytest.fixture
def staff_client(verified_client: Callable[..., Client]) -> Callable[[Staff], Client]:
    """A case handler's browser: second factor passed, key unlocked for the session with the password."""

    def make(staff: Staff) -> Client:
        client = verified_client(user=staff.user)
        response = client.post(
            reverse("reporting:keys"),
            {"action": "unlock", "password": TEST_PASSWORD, "next": reverse("reporting:inbox")},
        )
        assert response.status_code == 302, response.content.decode()[:1000]
        return client

    return make


# --- the reporter's path -------------------------------------------------------------------------


def test_anonymous_visitor_sees_the_channels_without_signing_in(channel: Channel) -> None:
    response = Client().get(reverse("reporting:index"))
    assert response.status_code == 200
    assert "Procurement" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "same-origin"


def test_reporter_files_without_javascript_gets_receipt_once_and_comes_back(
    channel: Channel, handler: Staff, staff_client: Callable[[Staff], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "CHALLENGE_MIN_WAIT", 0)  # the no-JavaScript path waits; no sleeping here
    client = reporter_client()
    evidence = SimpleUploadedFile("minutes.txt", b"meeting minutes: the tender was split", "text/plain")
    response = file_report(
        client,
        channel,
        {"what": "The road tender was split in two.", "who": "company"},
        second={"identity_name": "", "identity_contact": ""},
        files=[evidence],
        solve=False,
    )
    assert response.status_code == 200, response.content.decode()[:3000]
    html = response.content.decode()
    receipt = receipt_in(html)
    assert len(receipt.replace(" ", "")) == 16
    assert "53 bits" in html
    assert response["Cache-Control"] == "no-store"
    assert Report.objects.count() == 1

    # The receipt is not shown again anywhere.
    assert receipt not in client.get(reverse("reporting:index")).content.decode()

    response = sign_in(client, receipt)
    assert response.status_code == 302 and response["Location"] == reverse("reporting:reporter_case")
    page = client.get(reverse("reporting:reporter_case")).content.decode()
    assert "The road tender was split in two." in page
    assert "minutes.txt" in page

    response = client.post(reverse("reporting:reporter_message"), {"text": "The second half went to the same firm."})
    assert response.status_code == 302

    handler_client = staff_client(handler)
    inbox = handler_client.get(reverse("reporting:inbox")).content.decode()
    report = Report.objects.get()
    assert report.reference in inbox
    case_page = handler_client.get(reverse("reporting:case", args=[report.reference])).content.decode()
    assert "The second half went to the same firm." in case_page
    assert "meeting minutes" not in case_page  # files are downloads, never inline
    response = handler_client.post(
        reverse("reporting:case_action", args=[report.reference, "reply"]),
        {"text": "Thank you. Who signed the second contract?"},
    )
    assert response.status_code == 302
    attachment = report.attachments.get()
    download = handler_client.get(reverse("reporting:attachment", args=[report.reference, attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"meeting minutes: the tender was split"
    assert download["Content-Disposition"].startswith("attachment;")

    page = client.get(reverse("reporting:reporter_case")).content.decode()
    assert "Who signed the second contract?" in page
    assert handler.user.username not in page  # the reporter sees "case handler", not who


def test_conditional_question_is_asked_in_the_second_step_only_when_it_applies(channel: Channel) -> None:
    client = reporter_client()
    html = step_one(client, channel, {"what": "x", "who": "company"}).content.decode()
    assert 'name="q_who_other"' not in html
    html = step_one(client, channel, {"what": "x", "who": "other"}).content.decode()
    assert 'name="q_who_other"' in html and "Who else?" in html
    assert 'name="q_what"' in html and 'type="hidden"' in html  # the first answers travel along


def test_change_my_answers_goes_back_to_the_first_step_filled_in(channel: Channel) -> None:
    client = reporter_client()
    ticket = ticket_of(step_one(client, channel, {"what": "Kickbacks", "who": "official"}).content.decode())
    response = client.post(
        reverse("reporting:report", args=[channel.slug]),
        {"step": "2", "ticket": ticket, "action": "back", "q_what": "Kickbacks", "q_who": "official"},
    )
    html = response.content.decode()
    assert 'name="step" value="1"' in html and 'name="ticket"' not in html
    assert re.search(r'<textarea[^>]*name="q_what"[^>]*>\s*Kickbacks</textarea>', html)
    assert re.search(r'<option value="official" selected>', html)


def test_sending_too_early_without_proof_of_work_asks_to_wait(channel: Channel) -> None:
    client = reporter_client()
    response = file_report(client, channel, {"what": "x"}, solve=False)
    assert response.status_code == 429
    assert "wait a few seconds" in response.content.decode()
    assert Report.objects.count() == 0


def test_a_ticket_cannot_be_used_twice(channel: Channel) -> None:
    client = reporter_client()
    response = step_one(client, channel, {"what": "x"})
    ticket = ticket_of(response.content.decode())
    data = {"step": "2", "ticket": ticket, "q_what": "x", "pow_nonce": services.pow_solve(token=ticket, bits=4)}
    assert client.post(reverse("reporting:report", args=[channel.slug]), data).status_code == 200
    again = client.post(reverse("reporting:report", args=[channel.slug]), data)
    assert again.status_code == 400
    assert Report.objects.count() == 1


def test_missing_required_answer_is_reported_with_a_linked_summary(channel: Channel) -> None:
    response = step_one(reporter_client(), channel, {"what": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error-summary"' in html and 'href="#id_q_what"' in html
    assert 'aria-describedby="id_q_what_errors"' in html and 'aria-invalid="true"' in html


def test_oversized_upload_is_refused_cleanly_and_nothing_is_filed(channel: Channel) -> None:
    big = SimpleUploadedFile("big.bin", b"x" * (channel.max_attachment_bytes + 1), "application/octet-stream")
    response = file_report(reporter_client(), channel, {"what": "x"}, files=[big])
    assert response.status_code == 400
    assert "files were refused" in response.content.decode()
    assert Report.objects.count() == 0


def test_too_many_files_are_refused_cleanly(channel: Channel) -> None:
    files = [SimpleUploadedFile(f"f{i}.txt", b"data", "text/plain") for i in range(channel.max_attachments + 1)]
    response = file_report(reporter_client(), channel, {"what": "x"}, files=files)
    assert response.status_code == 400
    assert Report.objects.count() == 0


def test_wrong_receipts_are_throttled_even_before_the_right_one(channel: Channel) -> None:
    _report, receipt = services.report_submit(channel=channel, answers={"what": "x"})
    client = reporter_client()
    for guess in range(services.SIGN_IN_CLIENT_FAILURES):
        response = sign_in(client, f"{guess:016d}")
        assert response.status_code == 400
        assert "No report has this receipt" in response.content.decode()
    response = sign_in(client, receipt)
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_reporter_gives_identity_later_and_it_stays_sealed_from_the_handler(
    channel: Channel, handler: Staff, staff_client: Callable[[Staff], Client]
) -> None:
    report, receipt = services.report_submit(channel=channel, answers={"what": "x"})
    client = reporter_client()
    sign_in(client, receipt)
    response = client.post(reverse("reporting:reporter_identity"), {"name": "Jane Roe", "contact": "+1 555 0100"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.has_identity
    page = staff_client(handler).get(reverse("reporting:case", args=[report.reference])).content.decode()
    assert "Jane Roe" not in page
    assert "custodian" in page


def test_identity_is_disclosed_only_after_a_custodian_approves(
    channel: Channel, handler: Staff, custodian: Staff, staff_client: Callable[[Staff], Client]
) -> None:
    report, _receipt = services.report_submit(channel=channel, answers={"what": "x"}, identity={"name": "Jane Roe"})
    handler_client = staff_client(handler)
    response = handler_client.post(
        reverse("reporting:case_action", args=[report.reference, "disclosure"]),
        {"reason": "Needed to protect her from transfer."},
    )
    assert response.status_code == 302
    request = DisclosureRequest.objects.get()
    custodian_client = staff_client(custodian)
    page = custodian_client.get(reverse("reporting:disclosures")).content.decode()
    assert "Needed to protect her from transfer." in page
    response = custodian_client.post(reverse("reporting:disclosure_decide", args=[request.pk]), {"decision": "approve"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == DisclosureRequest.State.APPROVED
    assert "Jane Roe" in handler_client.get(reverse("reporting:case", args=[report.reference])).content.decode()


def test_handler_acknowledges_triages_and_closes(
    channel: Channel, handler: Staff, staff_client: Callable[[Staff], Client]
) -> None:
    report, receipt = services.report_submit(channel=channel, answers={"what": "x"})
    client = staff_client(handler)
    act = lambda action, data=None: client.post(  # noqa: E731
        reverse("reporting:case_action", args=[report.reference, action]), data or {}
    )
    assert act("acknowledge").status_code == 302
    assert act("reply", {"text": "We opened an investigation.", "feedback": "on"}).status_code == 302
    assert act("status", {"status": "investigation", "sub_status": "awaiting_information"}).status_code == 302
    assert (
        act(
            "triage",
            {
                "note": "Plausible; same firm won twice.",
                "retaliation_risk": "high",
                "retaliation_notes": "Works in the same unit.",
            },
        ).status_code
        == 302
    )
    assert act("close", {"outcome": "referred", "action_taken": "Sent to the prosecutor."}).status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.CLOSED and report.acknowledged_on and report.investigation_opened_on
    assert report.feedback_given_on is not None
    page = client.get(reverse("reporting:case", args=[report.reference])).content.decode()
    assert "Plausible; same firm won twice." in page and "Sent to the prosecutor." in page
    reporter = reporter_client()
    sign_in(reporter, receipt)
    reporter_page = reporter.get(reverse("reporting:reporter_case")).content.decode()
    assert "Plausible" not in reporter_page and "Works in the same unit" not in reporter_page


def test_oral_report_transcript_can_be_checked_by_the_reporter(
    channel: Channel, handler: Staff, staff_client: Callable[[Staff], Client]
) -> None:
    client = staff_client(handler)
    response = client.post(
        reverse("reporting:intake"),
        {
            "channel": channel.slug,
            "kind": "phone",
            "transcript": "Caller says the inspector took cash.",
            "identity_name": "",
            "identity_contact": "",
        },
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    receipt = receipt_in(response.content.decode())
    reporter = reporter_client()
    sign_in(reporter, receipt)
    page = reporter.get(reverse("reporting:reporter_case")).content.decode()
    assert "Caller says the inspector took cash." in page
    assert 'name="agreed"' in page
    response = reporter.post(reverse("reporting:reporter_transcript"), {"agreed": "no", "comment": "It was a cheque."})
    assert response.status_code == 302
    report = Report.objects.get()
    assert "It was a cheque." in client.get(reverse("reporting:case", args=[report.reference])).content.decode()


def test_reporter_sign_out_ends_the_session(channel: Channel) -> None:
    _report, receipt = services.report_submit(channel=channel, answers={"what": "x"})
    client = reporter_client()
    sign_in(client, receipt)
    assert client.post(reverse("reporting:reporter_sign_out")).status_code == 302
    assert client.get(reverse("reporting:reporter_case"))["Location"] == reverse("reporting:receipt")


# --- staff keys ------------------------------------------------------------------------------


def test_handler_creates_key_sees_recovery_key_once_and_recovers_with_it(
    make_user: Callable[..., Any], verified_client: Callable[..., Client]
) -> None:
    user = make_user("case_handler")
    client = verified_client(user=user)
    response = client.post(reverse("reporting:keys"), {"action": "create", "password": TEST_PASSWORD})
    html = response.content.decode()
    recovery = re.search(r'data-testid="recovery-key">([^<]+)<', html)
    assert recovery, html[:2000]
    assert response["Cache-Control"] == "no-store"
    assert recovery.group(1) not in client.get(reverse("reporting:keys")).content.decode()
    # An administrator resets the password; the recovery key re-opens the key pair.
    user.set_password("a brand new password 77")
    user.save()
    client = verified_client(user=user)
    response = client.post(
        reverse("reporting:key_recover"), {"recovery_key": recovery.group(1), "password": "a brand new password 77"}
    )
    assert response.status_code == 200 and 'data-testid="recovery-key"' in response.content.decode()
    assert services.staff_keys_unlock(user=user, password="a brand new password 77")


def test_case_page_asks_to_unlock_the_key_first(
    channel: Channel, handler: Staff, verified_client: Callable[..., Client]
) -> None:
    report, _receipt = services.report_submit(channel=channel, answers={"what": "x"})
    client = verified_client(user=handler.user)
    response = client.get(reverse("reporting:case", args=[report.reference]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("reporting:keys"))
    wrong = client.post(reverse("reporting:keys"), {"action": "unlock", "password": "not it at all 123"})
    assert wrong.status_code == 400 and "does not open your key" in wrong.content.decode()


# --- access -----------------------------------------------------------------------------------


def test_staff_without_assignment_cannot_read_a_report_through_the_ui(
    channel: Channel,
    make_staff: Callable[..., Staff],
    staff_client: Callable[[Staff], Client],
    verified_client: Callable[..., Client],
    make_user: Callable[..., Any],
) -> None:
    report, _receipt = services.report_submit(
        channel=channel,
        answers={"what": "Secret bribe details"},
        attachments=[SimpleUploadedFile("proof.txt", b"proof", "text/plain")],
    )
    attachment = report.attachments.get()
    outsider = make_staff("case_handler", username="other-handler")
    client = staff_client(outsider)
    assert report.reference not in client.get(reverse("reporting:inbox")).content.decode()
    for url in (
        reverse("reporting:case", args=[report.reference]),
        reverse("reporting:attachment", args=[report.reference, attachment.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Secret bribe" not in response.content
    response = client.post(reverse("reporting:case_action", args=[report.reference, "reply"]), {"text": "hi"})
    assert response.status_code == 404
    admin = verified_client("administrator")
    assert admin.get(reverse("reporting:case", args=[report.reference])).status_code in (403, 404)
    assert Client().get(reverse("reporting:case", args=[report.reference])).status_code == 302  # sign in first


def test_staff_pages_need_the_second_factor(channel: Channel, handler: Staff) -> None:
    client = Client()
    client.force_login(handler.user)
    response = client.get(reverse("reporting:inbox"))
    assert response.status_code == 302 and "/second-factor/" in response["Location"]
    # …while the reporter's pages stay open to anyone who is not signed in.
    for url in (
        reverse("reporting:index"),
        reverse("reporting:report", args=[channel.slug]),
        reverse("reporting:receipt"),
    ):
        assert Client().get(url).status_code == 200


# --- escaping ---------------------------------------------------------------------------------

PAYLOADS = ("<script>alert('x')</script>", "{{ 7*7 }}", "{% debug %}")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_from_reporters_and_staff_is_escaped_on_every_page(
    payload: str,
    channel: Channel,
    handler: Staff,
    custodian: Staff,
    staff_client: Callable[[Staff], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "CHALLENGE_MIN_WAIT", 0)
    reporter = reporter_client()
    name = f"{payload.replace('/', '')}.txt"  # a file name cannot hold a slash
    response = file_report(
        reporter,
        channel,
        {"what": f"what {payload}", "who": "other", "when": "2024-05-01", "amount": "12.50"},
        second={
            "q_who_other": f"who {payload}",
            "identity_name": f"name {payload}",
            "identity_contact": f"contact {payload}",
        },
        files=[SimpleUploadedFile(name, b"file", "text/plain")],
        solve=False,
    )
    assert response.status_code == 200, response.content.decode()[:3000]
    receipt = receipt_in(response.content.decode())
    sign_in(reporter, receipt)
    reporter.post(reverse("reporting:reporter_message"), {"text": f"message {payload}"})
    report = Report.objects.get()
    handler_client = staff_client(handler)
    act = lambda action, data: handler_client.post(  # noqa: E731
        reverse("reporting:case_action", args=[report.reference, action]), data
    )
    act("reply", {"text": f"reply {payload}"})
    act("triage", {"note": f"note {payload}", "retaliation_risk": "low", "retaliation_notes": f"risk {payload}"})
    act("disclosure", {"reason": f"reason {payload}"})
    custodian_client = staff_client(custodian)
    request = DisclosureRequest.objects.get()
    disclosures_page = custodian_client.get(reverse("reporting:disclosures"))
    custodian_client.post(reverse("reporting:disclosure_decide", args=[request.pk]), {"decision": "approve"})

    pages = {
        "disclosures": disclosures_page,
        "reporter case": reporter.get(reverse("reporting:reporter_case")),
        "handler case": handler_client.get(reverse("reporting:case", args=[report.reference])),
        "step 2": step_one(reporter_client(), channel, {"what": f"what {payload}", "who": "other"}),
    }
    act("close", {"outcome": "unfounded", "action_taken": f"action {payload}"})
    pages["closed case"] = handler_client.get(reverse("reporting:case", args=[report.reference]))
    expected = {
        "disclosures": ["reason"],
        "reporter case": ["what", "who", "message", "reply"],
        "handler case": ["what", "who", "message", "reply", "note", "risk", "name", "contact"],
        "step 2": ["what"],
        "closed case": ["action"],
    }
    for page, response in pages.items():
        html = response.content.decode()
        assert "<script>alert" not in html, page
        assert "{'csrf_token'" not in html, page
        escaped = payload.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;")
        for prefix in expected[page]:
            assert f"{prefix} {escaped}" in html, (page, prefix)


# --- nothing about the reporter in any log record ---------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every record any logger emits, at every level, whatever the logging settings say."""
    capture = _Capture()
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved = [(lg, lg.level, lg.propagate, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
        lg.addHandler(capture)
    try:
        yield capture.records
    finally:
        for lg, level, propagate, disabled in saved:
            lg.removeHandler(capture)
            lg.setLevel(level)
            lg.propagate = propagate
            lg.disabled = disabled


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    for value in record.__dict__.values():
        parts.append(repr(value))
        meta = getattr(value, "META", None)
        if isinstance(meta, dict):
            parts.append(repr(meta))
    return "\n".join(parts)


def test_no_address_or_browser_in_any_log_record(
    channel: Channel, every_log_record: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "CHALLENGE_MIN_WAIT", 0)
    client = reporter_client()
    client.get(reverse("reporting:index"))
    client.get(reverse("reporting:report", args=[channel.slug]))
    step_one(client, channel, {"what": ""})  # a 400 is logged by django.request
    response = file_report(
        client, channel, {"what": "x"}, solve=False, files=[SimpleUploadedFile("a.txt", b"a", "text/plain")]
    )
    receipt = receipt_in(response.content.decode())
    sign_in(client, "0000 0000 0000 0000")
    sign_in(client, receipt)
    client.get(reverse("reporting:reporter_case"))
    client.post(reverse("reporting:reporter_message"), {"text": "more"})
    client.get(reverse("reporting:report", args=["no-such-channel"]))  # a 404
    client.post(reverse("reporting:reporter_message"), {"text": "no csrf"}, follow=False)
    assert every_log_record, "the capture sees records (the test can fail)"
    for record in every_log_record:
        text = _record_text(record)
        assert PLANTED_ADDRESS not in text, record.name
        assert "PlantedBrowser" not in text, record.name


# --- channels ---------------------------------------------------------------------------------


def test_administrator_creates_a_channel_with_recipients_and_custodians(
    handler: Staff, custodian: Staff, verified_client: Callable[..., Client]
) -> None:
    admin = verified_client("administrator")
    questions = '[{"id": "what", "kind": "textarea", "label": "What happened?", "required": true}]'
    response = admin.post(
        reverse("reporting:channel_new"),
        {
            "slug": "judiciary",
            "name": "Judiciary",
            "description": "",
            "questions": questions,
            "acknowledge_days": "7",
            "feedback_days": "180",
            "active": "on",
            "recipients": [str(handler.user.pk)],
            "custodians": [str(custodian.user.pk)],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = Channel.objects.get(slug="judiciary")
    assert channel.feedback_days == 180 and list(channel.recipients.all()) == [handler.user]
    assert list(channel.custodians.all()) == [custodian.user]
    bad = admin.post(
        reverse("reporting:channel_edit", args=["judiciary"]),
        {
            "name": "Judiciary",
            "questions": '[{"id": "what", "kind": "essay", "label": "x"}]',
            "acknowledge_days": "7",
            "feedback_days": "180",
        },
    )
    assert bad.status_code == 400 and "unknown kind" in bad.content.decode()
    assert verified_client("case_handler").get(reverse("reporting:channels")).status_code == 403


def test_privacy_middleware_scrubs_reporting_requests_and_leaves_others_alone() -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from probity.reporting.middleware import ReporterPrivacyMiddleware, client_pseudonym

    seen: dict[str, Any] = {}

    def view(request: Any) -> HttpResponse:
        seen.update(request.META)
        seen["key"] = getattr(request, "reporting_client_key", None)
        return HttpResponse("ok")

    middleware = ReporterPrivacyMiddleware(view)
    factory = RequestFactory(
        REMOTE_ADDR=PLANTED_ADDRESS,
        HTTP_USER_AGENT=PLANTED_BROWSER,
        HTTP_X_FORWARDED_FOR=PLANTED_ADDRESS,
        HTTP_REFERER="https://elsewhere.example/x",
    )
    response = middleware(factory.get("/api/v1/reporting/channels"))
    assert seen["REMOTE_ADDR"] == "0.0.0.0" and seen["HTTP_USER_AGENT"] == ""  # noqa: S104
    assert seen["HTTP_X_FORWARDED_FOR"] == "" and seen["HTTP_REFERER"] == ""
    assert seen["key"] == client_pseudonym(PLANTED_ADDRESS) and PLANTED_ADDRESS not in seen["key"]
    assert response["Cache-Control"] == "no-store"
    seen.clear()
    middleware(factory.get("/findings/"))
    assert seen["REMOTE_ADDR"] == PLANTED_ADDRESS and seen["key"] is None
    # The pseudonym changes every day, so yesterday's counters cannot be linked to today's.
    import datetime

    today = datetime.date(2026, 1, 2)
    assert client_pseudonym("10.0.0.1", day=today) != client_pseudonym("10.0.0.1", day=today.replace(day=3))
