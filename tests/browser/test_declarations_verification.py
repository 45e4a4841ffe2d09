"""The verifier's flow in a real browser (Chromium): take a case, start it, read the side-by-side page with
its highlighted changes and explained findings, confirm a flag, record the outcome and close the case."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.models import Finding, Person
from probity.core.services import detector_run
from probity.declarations.models import VerificationCase
from probity.declarations.services import declaration_submit
from probity.declarations.verification import services as verification
from tests.browser.test_sign_in import _sign_in_with_second_factor
from tests.declarations.conftest import payload  # noqa: F401  (fixture: a valid declaration)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _screenshot(browser_page: Any, name: str) -> None:
    """Set PROBITY_SCREENSHOTS to a folder to look at the pages."""
    if os.environ.get("PROBITY_SCREENSHOTS"):
        browser_page.screenshot(path=os.path.join(os.environ["PROBITY_SCREENSHOTS"], name), full_page=True)


def test_a_verifier_works_a_case_in_the_browser(
    page: Any,  # noqa: F811
    live_server: Any,
    make_user: Any,
    payload: dict[str, Any],  # noqa: F811  (the fixture)
    tmp_path: Any,
) -> None:
    person = Person.objects.create(name="Ana Test")
    before = copy.deepcopy(payload)
    before["external_id"], before["period"]["year"], before["submitted"] = "b-2022", 2022, "2023-03-01"
    declaration_submit(declarant=person, payload=before)
    payload["cash_and_accounts"][0]["amount"]["amount"] = "900000"
    declaration = declaration_submit(declarant=person, payload=payload).declaration
    detector_run(code="DECL-WEALTH")
    case = verification.select_by_risk(top=1).created[0]
    user = make_user("verifier")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    _sign_in_with_second_factor(page, live_server.url, user.username, device)
    page.goto(f"{live_server.url}/declarations/verification/")
    _screenshot(page, "queue.png")
    page.get_by_role("link", name="Queued").click()
    page.get_by_role("button", name="Take this case").click()
    page.get_by_role("button", name="Start the verification").click()
    page.get_by_text("Verification started.").wait_for()

    page.get_by_role("link", name="side by side with the previous declaration").click()
    page.get_by_role("heading", name="Findings explained").wait_for()
    changed = page.locator("#section-cash_and_accounts td.new.cell-changed")
    assert changed.inner_text() == "900000 EUR"
    # Highlighted by the stylesheet (so it loaded under the CSP) and labelled in words.
    assert changed.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 244, 214)"
    assert page.locator("span.change", has_text="changed").first.is_visible()
    assert page.get_by_text("= unexplained amount").is_visible()
    _screenshot(page, "compare.png")

    page.get_by_role("button", name="Confirm").first.click()
    page.get_by_text("Your decision on the finding is saved.").wait_for()
    flag = Finding.objects.get(detector_code="DECL-WEALTH", subject_id=str(declaration.pk))
    assert flag.triage == "confirmed"

    page.goto(f"{live_server.url}/declarations/verification/cases/{case.pk}/")
    page.get_by_label("Outcome").select_option("no_violation")
    page.get_by_label("Close the case").check()
    page.get_by_role("button", name="Record the outcome").click()
    page.get_by_text("The outcome is recorded.").wait_for()
    _screenshot(page, "case.png")
    case = VerificationCase.objects.get(pk=case.pk)
    assert case.status == "completed" and case.outcome == "no_violation"
    assert not [e for e in errors if "Content Security Policy" in e], errors
