"""A finding becomes a closed case in a real browser (Chromium): the head of unit promotes a flagged finding and
draws an officer from the pool; the drawn officer finds the case in their work, adds a task and a document and
proposes an outcome; the pool's other officer approves it (four eyes). The timeline shows every step."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.cases.models import Case, CaseEvent, Pool, PoolMember
from probity.core.models import Finding, Organisation
from tests.browser.test_sign_in import _sign_in_with_second_factor
from tests.cases.conftest import case_files, make_finding, organisation  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _screenshot(page: Any, name: str) -> None:
    """Set PROBITY_SCREENSHOTS to a folder to look at the pages."""
    if os.environ.get("PROBITY_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["PROBITY_SCREENSHOTS"], name), full_page=True)


def _switch_user(page: Any, base_url: str, user: User) -> None:
    page.get_by_role("button", name="Sign out").click()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    _sign_in_with_second_factor(page, base_url, user.username, device)


def test_a_finding_is_taken_to_a_closed_case(
    page: Any,
    live_server: Any,
    make_user: Callable[..., User],
    make_finding: Callable[..., Finding],  # noqa: F811  (the fixture)
    organisation: Organisation,  # noqa: F811  (the fixture)
    tmp_path: Path,
) -> None:
    finding = make_finding(subject=organisation, detector_code="R018")
    head = make_user("administrator", "analyst", username="head-of-unit")  # opens cases and draws officers
    officers = [make_user("analyst", username=name) for name in ("officer-amal", "officer-bea")]
    pool = Pool.objects.create(name="Procurement reviewers", case_type_code="procurement-review")
    for officer in officers:
        PoolMember.objects.create(pool=pool, officer=officer)
    evidence = tmp_path / "tender-file.pdf"
    evidence.write_bytes(b"%PDF-1.4 the tender file")
    base = live_server.url
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    # The head of unit promotes the finding and draws an officer.
    _sign_in_with_second_factor(page, base, head.username, TOTPDevice.objects.create(user=head, confirmed=True))
    page.goto(f"{base}/cases/all/")
    page.get_by_role("link", name="Open a case from findings").click()
    page.get_by_label(organisation.name).check()
    page.get_by_role("button", name="Open a new case").click()
    page.get_by_text("is open with 1 finding.").wait_for()
    case = Case.objects.get(finding_links__finding=finding)
    assert page.get_by_role("heading", level=1).inner_text().startswith(case.reference)
    page.get_by_role("button", name="Draw an officer").click()
    page.get_by_text(f"was drawn for case {case.reference}.").wait_for()
    case.refresh_from_db()
    drawn = case.assignee
    assert drawn in officers
    second = next(officer for officer in officers if officer != drawn)

    # The drawn officer finds it in their work, adds a task and a document, and proposes an outcome.
    _switch_user(page, base, drawn)
    page.goto(f"{base}/cases/")
    page.locator("#my-cases").get_by_role("link", name=case.reference).click()
    page.get_by_label("Task", exact=True).fill("Ask the buyer for the evaluation report")
    page.get_by_role("button", name="Add the task").click()
    page.get_by_text("The task is added.").wait_for()
    page.get_by_label("File", exact=True).set_input_files(str(evidence))
    page.get_by_label("Kind of document").select_option(label="Tender file")
    page.get_by_role("button", name="Add the document").click()
    page.get_by_text("tender-file.pdf is added; its SHA-256 is").wait_for()
    page.get_by_label("Outcome", exact=True).select_option(label="Fine")
    page.get_by_label("Reasoning").fill("The single bid was 40% above the estimate.")
    page.get_by_label("Amount of the fine").fill("25000")
    page.get_by_role("button", name="Propose the outcome").click()
    page.get_by_text("You proposed this outcome: another officer must approve it").wait_for()
    _screenshot(page, "case-proposed.png")

    # The pool's other officer approves it: the case closes.
    _switch_user(page, base, second)
    page.goto(f"{base}/cases/{case.reference}/")
    page.get_by_role("button", name="Approve and close the case").click()
    page.get_by_text(f"The outcome is approved and case {case.reference} is closed.").wait_for()
    _screenshot(page, "case-closed.png")

    case.refresh_from_db()
    assert case.closed and case.status.final
    assert "closed" in page.get_by_test_id("status").inner_text()
    timeline = page.locator("#timeline li").all_inner_texts()
    steps = [
        ("Opened", "Opened as Procurement red-flag review"),
        ("Finding joined", "R018"),
        ("Officer assigned", f"Drawn at random from Procurement reviewers: {drawn.username}"),
        ("Task", "Ask the buyer for the evaluation report"),
        ("Document", "Document added: tender-file.pdf"),
        ("Outcome proposed", "Proposed: Fine."),
        ("Outcome approved", f"Approved by {second.username}: Fine."),
        ("Closed", "Closed: Fine."),
    ]
    position = -1
    for kind, text in steps:
        found = next((i for i, line in enumerate(timeline) if kind in line and text in line), None)
        assert found is not None and found > position, (kind, text, timeline)
        position = found
    assert len(timeline) == case.events.exclude(handlers_only=True).count()
    assert case.events.filter(kind=CaseEvent.Kind.CLOSED).count() == 1
    assert not [e for e in errors if "Content Security Policy" in e], errors
