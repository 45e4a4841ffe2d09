"""A reporter files in the browser, comes back with the receipt, and exchanges messages with a case handler
who signed in with a second factor; the same path works with JavaScript switched off."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.reporting import services
from probity.reporting.models import Channel, Report
from tests.browser.test_sign_in import _sign_in_with_second_factor
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTIONNAIRE = [
    {"id": "what", "kind": "textarea", "label": "What happened?", "required": True},
    {"id": "who", "kind": "choice", "label": "Who was involved?", "choices": ["official", "company", "other"]},
    {"id": "who_other", "kind": "text", "label": "Who else?", "show_if": {"question": "who", "equals": "other"}},
]


@pytest.fixture(autouse=True)
def _fast_reporting(settings: Any, tmp_path: Path) -> Any:
    settings.PROBITY_REPORTING_KDF = "min"
    settings.PROBITY_REPORTING_STORE = str(tmp_path / "store")
    settings.PROBITY_REPORTING_POW_BITS = 8
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def handler_and_channel(make_user: Any) -> tuple[Any, TOTPDevice, Channel]:
    user = make_user("case_handler")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    services.staff_keys_create(user=user, password=TEST_PASSWORD)
    channel = services.channel_save(
        slug="procurement", name="Public procurement", questionnaire=QUESTIONNAIRE, recipients=[user]
    )
    return user, device, channel


def _file_report(page: Any, base_url: str, *, javascript: bool) -> str:
    page.goto(f"{base_url}/reporting/")
    page.get_by_role("link", name="Public procurement").click()
    page.get_by_label("What happened?").fill("The school meals contract was awarded without a tender.")
    page.get_by_label("Who was involved?").select_option("other")
    page.get_by_role("button", name="Continue").click()
    # The conditional question appears in the second step, because of the first step's answer.
    page.get_by_label("Who else?").fill("A cousin of the mayor")
    page.get_by_label("Files (optional)").set_input_files(
        files=[{"name": "invoice.txt", "mimeType": "text/plain", "buffer": b"invoice 2024-17, 48,000"}]
    )
    if javascript:
        # The page's script solves the small proof of work, so the report may go at once.
        page.wait_for_function("document.getElementById('pow-nonce').value !== ''")
    page.get_by_role("button", name="Send the report").click()
    page.get_by_role("heading", name="Your report has been received").wait_for()
    receipt = page.get_by_test_id("receipt").inner_text().strip()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt), receipt
    return receipt


def _sign_in_with_receipt(page: Any, base_url: str, receipt: str) -> None:
    page.goto(f"{base_url}/reporting/receipt/")
    page.get_by_role("textbox", name="Your receipt").fill(receipt)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your report", exact=True).wait_for()


def test_reporter_and_handler_exchange_messages_in_the_browser(
    browser: Any, page: Any, live_server: Any, handler_and_channel: tuple[Any, TOTPDevice, Channel]
) -> None:
    user, device, _channel = handler_and_channel
    receipt = _file_report(page, live_server.url, javascript=True)
    assert Report.objects.count() == 1
    report = Report.objects.get()

    # The reporter comes back another day, in a fresh browser, with only the receipt.
    reporter = browser.new_context(locale="en-GB").new_page()
    reporter.set_default_timeout(15_000)
    _sign_in_with_receipt(reporter, live_server.url, receipt)
    assert reporter.get_by_text("The school meals contract was awarded without a tender.").is_visible()
    reporter.get_by_role("textbox", name="Message").fill("The contract number is SM-2024-17.")
    reporter.get_by_role("button", name="Send", exact=True).click()
    reporter.get_by_text("Your message was sent.").wait_for()

    # The case handler signs in with password and authenticator code, unlocks their key, reads and replies.
    staff = browser.new_context(locale="en-GB").new_page()
    staff.set_default_timeout(15_000)
    _sign_in_with_second_factor(staff, live_server.url, user.username, device)
    staff.goto(f"{live_server.url}/reporting/cases/")
    staff.get_by_role("link", name=report.reference).click()
    # Reports are encrypted: the case page first asks for the password that unlocks the handler's key.
    staff.get_by_role("textbox", name="Your password").fill(TEST_PASSWORD)
    staff.get_by_role("button", name="Unlock").click()
    staff.get_by_role("heading", name=f"Case {report.reference}").wait_for()
    assert staff.get_by_text("The contract number is SM-2024-17.").is_visible()
    assert staff.get_by_text("A cousin of the mayor").is_visible()
    staff.get_by_role("button", name="Acknowledge receipt").click()
    staff.get_by_text("The report is acknowledged.").wait_for()
    staff.locator("#id_text").fill("Thank you. Did anyone else bid?")
    staff.get_by_role("button", name="Send the reply").click()
    staff.get_by_text("Your reply was sent.").wait_for()

    reporter.reload()
    assert reporter.get_by_text("Thank you. Did anyone else bid?").is_visible()
    assert reporter.get_by_test_id("status").inner_text().startswith("Acknowledged")
    assert user.username not in reporter.content()
    reporter.get_by_role("textbox", name="Message").fill("Nobody else was invited.")
    reporter.get_by_role("button", name="Send", exact=True).click()
    reporter.get_by_text("Your message was sent.").wait_for()
    staff.reload()
    assert staff.get_by_text("Nobody else was invited.").is_visible()


def test_reporter_path_works_with_javascript_switched_off(
    browser: Any,
    live_server: Any,
    handler_and_channel: tuple[Any, TOTPDevice, Channel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without JavaScript the server asks only that some seconds pass; the test does not sleep.
    monkeypatch.setattr(services, "CHALLENGE_MIN_WAIT", 0)
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    receipt = _file_report(page, live_server.url, javascript=False)
    _sign_in_with_receipt(page, live_server.url, receipt)
    assert page.get_by_text("invoice.txt").is_visible()
    page.get_by_role("textbox", name="Your name").fill("Li Wei")
    page.get_by_role("button", name="Give my name").click()
    page.get_by_text("Your identity was added, encrypted.").wait_for()
    assert Report.objects.get().has_identity
    page.get_by_role("button", name="Leave (sign out)").click()
    page.goto(f"{live_server.url}/reporting/my-report/")
    assert "/reporting/receipt/" in page.url
    context.close()
