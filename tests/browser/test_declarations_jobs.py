"""A declaration filed in the browser is verified in the background: the verifier first reads "Verification
is queued", a worker drains the queue (as ``probity jobs worker --batch`` does) and, without anyone running
a command, the verifier reloads the page and sees the findings and the risk score."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.db import connections
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.models import Job
from probity.declarations.models import DeclarationVersion
from tests.browser.test_declarations_filing import _file_declaration, _sign_in
from tests.browser.test_declarations_filing import declarant as declarant  # noqa: F401  (the fixture)
from tests.browser.test_sign_in import _sign_in_with_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _drain_in_a_worker_thread() -> None:
    """The worker in its own thread with its own database connection, as a separate process would be."""
    from probity.core.worker import run_worker

    failures: list[BaseException] = []

    def work() -> None:
        try:
            run_worker(batch=True, startup_delay=False, interval=0)
        except BaseException as exc:  # noqa: BLE001  (reported in the test's thread)
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name="probity-test-worker")
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the worker did not drain the queue within two minutes"
    assert not failures, failures


def test_a_filed_declaration_gets_findings_and_a_risk_score_without_a_command(
    browser: Any,
    page: Any,
    live_server: Any,
    declarant: Any,  # noqa: F811  (the fixture)
    make_user: Any,
) -> None:
    _sign_in(page, live_server.url, declarant.username)
    _file_declaration(page, live_server.url, "en")
    declaration = DeclarationVersion.objects.get().declaration
    job = Job.objects.get(kind="declarations.verify")
    assert job.status == Job.Status.QUEUED and job.trigger == Job.Trigger.EVENT

    verifier = make_user("verifier")
    device = TOTPDevice.objects.create(user=verifier, name="phone", confirmed=True)
    context = browser.new_context(locale="en-GB")
    staff = context.new_page()
    staff.set_default_timeout(15_000)
    try:
        _sign_in_with_second_factor(staff, live_server.url, verifier.username, device)
        staff.goto(f"{live_server.url}/declarations/{declaration.pk}/")
        status = staff.get_by_test_id("verification-status")
        assert status.inner_text().startswith("Verification is queued; findings will appear here within a minute.")
        assert staff.get_by_test_id("risk-score").inner_text().strip() == "not judged yet"
        assert staff.get_by_text("have not judged").count() == 0

        _drain_in_a_worker_thread()
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error

        staff.reload()
        assert staff.get_by_test_id("verification-status").count() == 0
        assert re.fullmatch(r"\d+\.\d", staff.get_by_test_id("risk-score").inner_text().strip())
        findings = staff.locator("h2:has-text('Findings') + ul > li")
        assert findings.count() >= 5
        assert "DECL-WEALTH" in staff.content() and "DECL-ARITHMETIC" in staff.content()

        staff.goto(f"{live_server.url}/declarations/verification/")
        staff.get_by_role("link", name="Ana Test").wait_for()
        assert staff.get_by_role("cell", name="not judged yet", exact=True).count() == 0
    finally:
        context.close()
