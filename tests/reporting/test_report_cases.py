"""A protected report becomes a case; its handler writes to the reporter from the case page; nobody else reads
the report's content there (issue 17, "Done when")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from probity.cases.models import Case
from probity.core.modules import hook_call
from probity.reporting import services
from probity.reporting.models import Channel
from tests.conftest import TEST_PASSWORD
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db

SECRET = "Kickbacks on the bridge tender, paid in cash by the deputy"


def _open_from_report_page(staff: Client, reference: str) -> Case:
    response = staff.post(reverse("reporting:case_action", args=[reference, "open-case"]))
    assert response.status_code == 302
    case = Case.objects.get(source="report", source_key=reference)
    assert response["Location"] == reverse("cases:detail", args=[case.reference])
    return case


def test_a_report_becomes_a_case_and_its_handler_talks_to_the_reporter_from_the_case_page(
    channel: Channel, handler: Staff, verified_client: Callable[..., Client]
) -> None:
    report, receipt = services.report_submit(channel=channel, answers={"what": SECRET})
    staff = verified_client(user=handler.user)
    staff.post(reverse("reporting:keys"), {"action": "unlock", "password": TEST_PASSWORD})
    report_page = staff.get(reverse("reporting:case", args=[report.reference])).content.decode()
    assert "open-case" in report_page

    case = _open_from_report_page(staff, report.reference)
    assert case.case_type.code == "protected-report"
    assert case.assignee == handler.user
    assert case.acknowledge_by is not None and case.feedback_by is not None
    # opening again goes to the same case
    assert _open_from_report_page(staff, report.reference).pk == case.pk
    assert SECRET not in case.title + case.summary

    page = staff.get(reverse("cases:detail", args=[case.reference]))
    html = page.content.decode()
    assert page.status_code == 200
    assert SECRET in html  # the handler reads the report on the case page
    assert "Write to the reporter" in html

    back = reverse("cases:detail", args=[case.reference])
    sent = staff.post(
        f"{reverse('reporting:case_action', args=[report.reference, 'reply'])}?next={back}",
        {"text": "Thank you; which contract number?"},
    )
    assert sent.status_code == 302 and sent["Location"] == back
    assert "Thank you; which contract number?" in staff.get(back).content.decode()

    # the reporter reads the reply and answers; the handler sees the answer on the case page
    session = services.reporter_sign_in(receipt=receipt, client="192.0.2.10")
    services.report_message_add(report=session.report, text="Contract 2026-17.")
    assert "Contract 2026-17." in staff.get(back).content.decode()


def test_no_other_role_reads_the_report_on_the_case_page(
    channel: Channel,
    handler: Staff,
    make_staff: Callable[..., Staff],
    verified_client: Callable[..., Client],
) -> None:
    report, _receipt = services.report_submit(channel=channel, answers={"what": SECRET})
    reference = hook_call(
        "case_open",
        source="report",
        source_key=report.reference,
        case_type="protected-report",
        title=f"Protected report {report.reference}",
        actor=handler.user,
        assignee=handler.user,
    )[0]
    url = reverse("cases:detail", args=[reference])
    # a handler of another report (same role, keys of their own) does not see the case at all: the type is
    # confidential
    other_handler = verified_client(user=make_staff("case_handler", username="handler-2").user)
    other_handler.post(reverse("reporting:keys"), {"action": "unlock", "password": TEST_PASSWORD})
    assert other_handler.get(url).status_code == 404
    # an administrator and an auditor oversee every case: they see it, never the report's content
    for who in (make_staff("administrator").user, make_staff("auditor").user):
        client = verified_client(user=who)
        client.post(reverse("reporting:keys"), {"action": "unlock", "password": TEST_PASSWORD})
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200
        assert SECRET not in html
        assert "Only the report&#x27;s handlers read its content" in html
    # an analyst does not even see a protected-report case
    analyst = verified_client("analyst")
    assert analyst.get(url).status_code == 404
