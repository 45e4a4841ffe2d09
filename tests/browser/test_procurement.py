"""An analyst opens the process list, filters by a red flag, opens the process and reads why it was flagged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.config import WarehouseSetting
from tests.conftest import TEST_PASSWORD
from tests.procurement.test_views import procurement_warehouse  # noqa: F401  (the shared warehouse fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analyst_filters_by_flag_and_reads_the_explanation(
    page: Any,
    live_server: Any,
    make_user: Any,
    settings: Any,
    procurement_warehouse: Path,  # noqa: F811
) -> None:
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(procurement_warehouse))
    user = make_user("analyst")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/procurement/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/second-factor/**")
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/procurement/")

    assert page.get_by_role("heading", name="Contracting processes").is_visible()
    assert page.locator("caption").inner_text() == "3 contracting processes"
    page.get_by_label("Flagged by").select_option("P-NONOPEN")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**flag=P-NONOPEN**")
    assert page.locator("caption").inner_text() == "1 contracting process"

    page.get_by_role("link", name="ocds-xd-000-001").click()
    page.wait_for_url("**/procurement/processes/ocds-xd-000-001/")
    flag = page.locator("#indicator-P-NONOPEN")
    assert flag.get_by_role("heading").inner_text().endswith("Flag")
    assert flag.locator(".explanation").inner_text() == "Procured by a non-open method: direct (direct)."
    assert "direct" in flag.locator(".evidence-list").inner_text()

    page.locator(".facts").get_by_role("link", name="道路部").click()  # the buyer's profile, with its chart
    page.wait_for_url("**/procurement/buyers/XD-GOV-ROADS/")
    assert page.get_by_role("img", name="Risk score by year").is_visible()
    assert not problems, problems  # nothing was blocked by the Content-Security-Policy
