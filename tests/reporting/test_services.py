"""The reporting services end to end: intake, reporter sign-in, conversation, case handling, disclosure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from probity.core.models import AuditEntry
from probity.reporting import selectors, services
from probity.reporting.crypto import DecryptionError
from probity.reporting.models import Channel, DisclosureRequest, Report, ReportKeyGrant
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db


def submit(channel: Channel, **kwargs: object) -> tuple[Report, str]:
    answers = kwargs.pop("answers", {"what": "Bid rigging at the road agency", "who": "company"})
    return services.report_submit(channel=channel, answers=answers, **kwargs)  # type: ignore[arg-type]


def test_receipt_is_16_digits_and_not_stored(channel: Channel) -> None:
    report, receipt = submit(channel)
    digits = receipt.replace(" ", "")
    assert len(digits) == 16 and digits.isdigit()
    assert digits not in str(Report.objects.filter(pk=report.pk).values().first())
    assert report.received_on == report.acknowledge_due - timedelta(days=7)
    assert report.feedback_due == report.received_on + timedelta(days=90)


def test_answers_are_checked_against_the_questionnaire(channel: Channel) -> None:
    with pytest.raises(ValueError, match="what: an answer is required"):
        submit(channel, answers={"who": "company"})
    with pytest.raises(ValueError, match="who: is not one of the choices"):
        submit(channel, answers={"what": "x", "who": "mayor"})
    with pytest.raises(ValueError, match="when: is not a valid date"):
        submit(channel, answers={"what": "x", "when": "yesterday"})
    with pytest.raises(ValueError, match="bogus: not a question"):
        submit(channel, answers={"what": "x", "bogus": "y"})
    clean = services.answers_validate(channel=channel, answers={"what": "x", "who": "company", "who_other": "z"})
    assert "who_other" not in clean  # a conditional question that is not shown is dropped


def test_reporter_and_handler_converse(channel: Channel, handler: Staff) -> None:
    report, receipt = submit(channel, identity={"name": "Jane Roe"})
    session = services.reporter_sign_in(receipt=receipt, client="10.0.0.1")
    assert session.report == report
    token = services.reporter_session_open(session=session)
    resumed = services.reporter_session_resume(token=token)
    assert resumed is not None and resumed.report == report
    services.report_message_add(report=report, text="More: the tender was split in two.")

    keys = services.report_keys_for_staff(report=report, user=handler.user, private_key=handler.private_key)
    timeline = selectors.report_timeline(keys=keys, for_reporter=False)
    assert timeline[0].body["what"] == "Bid rigging at the road agency"
    assert any(item.body.get("text") == "More: the tender was split in two." for item in timeline)
    assert selectors.report_identity(keys=keys) is None  # the handler does not hold the identity key

    services.report_acknowledge(report=report, user=handler.user, message="Thank you; we are looking into it.")
    services.report_note_add(report=report, user=handler.user, text="Triage: credible, priority high")
    reporter_view = selectors.report_timeline(keys=resumed.keys, for_reporter=True)
    texts = [item.body.get("text") for item in reporter_view]
    assert "Thank you; we are looking into it." in texts
    assert "Triage: credible, priority high" not in texts  # staff-only
    assert all(item.author in {"reporter", "staff", "system"} for item in reporter_view)
    assert selectors.report_identity(keys=resumed.keys) == {"name": "Jane Roe"}

    services.reporter_session_close(token=token)
    assert services.reporter_session_resume(token=token) is None
    assert services.reporter_session_resume(token=token.split(".")[0] + ".AAAA") is None


def test_wrong_receipts_are_throttled(channel: Channel) -> None:
    _report, receipt = submit(channel)
    for guess in range(services.SIGN_IN_CLIENT_FAILURES):
        with pytest.raises(LookupError):
            services.reporter_sign_in(receipt=f"{guess:016d}", client="192.0.2.7")
    with pytest.raises(services.Throttled) as caught:
        services.reporter_sign_in(receipt=receipt, client="192.0.2.7")  # even the right one, now
    assert caught.value.retry_after > 0
    # another client is not blocked by this one's failures
    assert services.reporter_sign_in(receipt=receipt, client="192.0.2.8").report is not None


def test_global_guessing_is_throttled(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "SIGN_IN_GLOBAL_FAILURES", 3)
    for n in range(3):
        with pytest.raises(LookupError):
            services.reporter_sign_in(receipt=f"{n:016d}", client=f"198.51.100.{n}")
    with pytest.raises(services.Throttled):
        services.reporter_sign_in(receipt="1" * 16, client="198.51.100.200")


def test_flood_control_needs_a_fresh_solved_challenge(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="expired"):
        services.intake_guard(client="203.0.113.1", challenge=None)
    challenge = services.intake_challenge_new()
    with pytest.raises(services.Throttled):  # no solution and too young
        services.intake_guard(client="203.0.113.1", challenge=challenge["token"])
    solution = services.pow_solve(token=challenge["token"], bits=challenge["bits"])
    services.intake_guard(client="203.0.113.1", challenge=challenge["token"], solution=solution)
    with pytest.raises(ValueError, match="already sent"):  # one use only
        services.intake_guard(client="203.0.113.1", challenge=challenge["token"], solution=solution)
    monkeypatch.setattr(services, "CHALLENGE_CLIENT_LIMIT", 2)
    services.intake_challenge_new(client="203.0.113.9")
    services.intake_challenge_new(client="203.0.113.9")
    with pytest.raises(services.Throttled):
        services.intake_challenge_new(client="203.0.113.9")
    monkeypatch.setattr(services, "SUBMIT_CLIENT_LIMIT", 1)
    challenge = services.intake_challenge_new()
    with pytest.raises(services.Throttled):
        services.intake_guard(
            client="203.0.113.1",
            challenge=challenge["token"],
            solution=services.pow_solve(token=challenge["token"], bits=challenge["bits"]),
        )


def test_staff_without_assignment_cannot_open_a_report(channel: Channel, make_staff: Callable[..., Staff]) -> None:
    report, _receipt = submit(channel)
    other = make_staff("case_handler")
    with pytest.raises(PermissionDenied):
        services.report_keys_for_staff(report=report, user=other.user, private_key=other.private_key)
    assert not selectors.reports_for_staff(user=other.user).exists()
    with pytest.raises(PermissionDenied):
        services.report_message_add(report=report, text="hello", author=other.user)


def test_reassignment_and_forwarding_do_not_expose_identity(
    channel: Channel, handler: Staff, make_staff: Callable[..., Staff]
) -> None:
    report, _receipt = submit(channel, identity="Jane Roe, jane@example.org")
    colleague = make_staff("case_handler")
    services.report_assign(
        report=report, user=handler.user, private_key=handler.private_key, assignee=colleague.user, keep_own=False
    )
    with pytest.raises(PermissionDenied):
        services.report_keys_for_staff(report=report, user=handler.user, private_key=handler.private_key)
    keys = services.report_keys_for_staff(report=report, user=colleague.user, private_key=colleague.private_key)
    assert keys.case is not None and keys.identity is None

    authority = make_staff("case_handler")
    services.report_forward(
        report=report, user=colleague.user, private_key=colleague.private_key, recipient=authority.user
    )
    forwarded = services.report_keys_for_staff(report=report, user=authority.user, private_key=authority.private_key)
    assert forwarded.case is None and forwarded.identity is None
    report.refresh_from_db()
    assert report.status == Report.Status.FORWARDED


def test_identity_disclosure_needs_a_custodian(channel: Channel, handler: Staff, custodian: Staff) -> None:
    report, _receipt = submit(channel, identity={"name": "Jane Roe"})
    request = services.identity_disclosure_request(report=report, user=handler.user, reason="witness protection")
    assert (
        services.identity_disclosure_reason(
            request=request, custodian=custodian.user, private_key=custodian.private_key
        )
        == "witness protection"
    )
    with pytest.raises(PermissionDenied):
        services.identity_disclosure_approve(request=request, custodian=handler.user, private_key=handler.private_key)
    services.identity_disclosure_approve(request=request, custodian=custodian.user, private_key=custodian.private_key)
    keys = services.report_keys_for_staff(report=report, user=handler.user, private_key=handler.private_key)
    assert selectors.report_identity(keys=keys) == {"name": "Jane Roe"}
    request.refresh_from_db()
    assert request.state == DisclosureRequest.State.APPROVED
    entry = AuditEntry.objects.filter(details__event="identity_disclosed").get()
    assert entry.actor == custodian.user.username
    assert "Jane" not in str(AuditEntry.objects.values_list("details", "object_label"))


def test_identity_given_later(channel: Channel) -> None:
    report, receipt = submit(channel)
    session = services.reporter_sign_in(receipt=receipt)
    services.report_identity_add(session=session, identity={"name": "Later Given"})
    again = services.reporter_sign_in(receipt=receipt)
    assert selectors.report_identity(keys=again.keys) == {"name": "Later Given"}


def test_closure_record(channel: Channel, handler: Staff) -> None:
    report, receipt = submit(channel)
    services.report_status_set(report=report, user=handler.user, status=Report.Status.INVESTIGATION)
    services.report_close(
        report=report,
        user=handler.user,
        outcome=Report.Outcome.REFERRED,
        action_taken="Referred to the prosecutor",
        message="Your report led to a referral.",
    )
    report.refresh_from_db()
    assert report.status == Report.Status.CLOSED and report.closed_by == handler.user
    assert report.investigation_opened_on and report.acknowledged_on and report.feedback_given_on
    assert report.delete_after == report.closed_on + timedelta(days=5 * 365)
    keys = services.report_keys_for_staff(report=report, user=handler.user, private_key=handler.private_key)
    assert selectors.report_action_taken(keys=keys) == "Referred to the prosecutor"
    with pytest.raises(ValueError, match="closed"):
        services.report_message_add(report=report, text="one more thing")
    export = services.report_export(report=report, user=handler.user, private_key=handler.private_key)
    assert export["outcome"] == "referred" and export["action_taken"] == "Referred to the prosecutor"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_oral_intake_transcript_is_readable_with_the_receipt(channel: Channel, handler: Staff) -> None:
    report, receipt = services.report_intake_by_staff(
        channel=channel, user=handler.user, transcript="Caller says the inspector asked for cash.", intake="phone"
    )
    assert report.intake == Report.Intake.PHONE
    session = services.reporter_sign_in(receipt=receipt)
    timeline = selectors.report_timeline(keys=session.keys, for_reporter=True)
    assert timeline[0].kind == "transcript"
    assert timeline[0].body["text"] == "Caller says the inspector asked for cash."


def test_keys_survive_a_password_change(channel: Channel, handler: Staff) -> None:
    report, _receipt = submit(channel)
    new_password = "a brand new passphrase 77"
    assert services.staff_password_change(
        user=handler.user, old_password="correct horse battery staple 42", new_password=new_password
    )
    with pytest.raises(DecryptionError):
        services.staff_keys_unlock(user=handler.user, password="correct horse battery staple 42")
    key = services.staff_keys_unlock(user=handler.user, password=new_password)
    keys = services.report_keys_for_staff(report=report, user=handler.user, private_key=key)
    assert selectors.report_timeline(keys=keys, for_reporter=False)[0].body["what"]


def test_recovery_key_works_and_is_rotated(channel: Channel, handler: Staff) -> None:
    report, _receipt = submit(channel)
    with pytest.raises(DecryptionError):
        services.staff_keys_recover(user=handler.user, recovery_key="AAAA-BBBB", new_password="whatever it is 1")
    new_recovery = services.staff_keys_recover(
        user=handler.user, recovery_key=handler.recovery_key.lower(), new_password="forgot it, new one 9"
    )
    assert new_recovery != handler.recovery_key
    key = services.staff_keys_unlock(user=handler.user, password="forgot it, new one 9")
    assert services.report_keys_for_staff(report=report, user=handler.user, private_key=key).content
    with pytest.raises(DecryptionError):
        services.staff_keys_recover(user=handler.user, recovery_key=handler.recovery_key, new_password="again 123456")


def test_session_key_needs_both_halves(handler: Staff) -> None:
    session: dict[str, str] = {}
    cookie = services.staff_session_store(session=session, private_key=handler.private_key)
    assert bytes(handler.private_key).hex() not in str(session)
    opened = services.staff_session_key(session=session, cookie_value=cookie)
    assert opened is not None and bytes(opened) == bytes(handler.private_key)
    assert services.staff_session_key(session=session, cookie_value=None) is None
    assert services.staff_session_key(session={}, cookie_value=cookie) is None
    other: dict[str, str] = {}
    services.staff_session_store(session=other, private_key=handler.private_key)
    assert services.staff_session_key(session=other, cookie_value=cookie) is None


def test_recipient_without_keys_gets_no_grant(channel: Channel, make_user: Callable[..., object]) -> None:
    newcomer = make_user("case_handler")
    channel.recipients.add(newcomer)  # type: ignore[arg-type]
    report, _receipt = submit(channel)
    assert not ReportKeyGrant.objects.filter(report=report, user=newcomer).exists()
    assert any("has no key pair" in p for p in selectors.channel_readiness(channel=channel))


def test_overdue_list(channel: Channel, handler: Staff) -> None:
    report, _receipt = submit(channel)
    later = report.received_on + timedelta(days=8)
    assert list(selectors.reports_overdue(user=handler.user, today=later)) == [report]
    assert selectors.deadline_state(report=report, today=later)["acknowledge"] == "overdue"
    services.report_acknowledge(report=report, user=handler.user)
    assert list(selectors.reports_overdue(user=handler.user, today=later)) == []
    assert list(selectors.reports_overdue(user=handler.user, today=report.received_on + timedelta(days=91))) == [report]


def test_notifications_carry_no_content(
    channel: Channel, handler: Staff, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    from probity.reporting.notifications import daily_summary

    handler.user.email = "handler@example.org"
    handler.user.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        report, receipt = services.report_submit(channel=channel, answers={"what": "PLANTED-NOTIFY-SECRET"})
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.report_message_add(report=report, text="PLANTED-NOTIFY-MESSAGE")
    assert daily_summary() == 1
    assert len(mail.outbox) == 3
    assert report.reference in mail.outbox[0].subject
    for message in mail.outbox:
        assert "PLANTED" not in message.subject + message.body
        assert receipt.replace(" ", "") not in message.body.replace(" ", "")
