"""A person signs in with password and authenticator code, switches to Chinese, and sees the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.models import Organisation, PublicBody
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _sign_in_with_second_factor(page: Any, base_url: str, username: str, device: TOTPDevice) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/second-factor/**")
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{base_url}/")


def test_staff_signs_in_with_second_factor_switches_to_chinese_and_sees_dashboard(
    page: Any, live_server: Any, make_user: Any
) -> None:
    user = make_user("administrator")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    ministry = PublicBody.objects.create(name="Ministry of Roads", kind="ministry")
    PublicBody.objects.create(name="Roads Agency", kind="agency", parent=ministry)
    Organisation.objects.create(name="Acme Roads LLC")

    _sign_in_with_second_factor(page, live_server.url, user.username, device)
    assert page.get_by_role("heading", name="Dashboard").is_visible()

    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="仪表板").is_visible()
    public_bodies_card = page.locator(".card", has_text="公共机构")
    assert public_bodies_card.locator(".count").inner_text() == "2"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-zh-hans.png"), full_page=True)

    # Right-to-left: Arabic flips the page direction.
    page.get_by_label("语言").select_option("ar")
    page.get_by_role("button", name="切换语言").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.screenshot(path=str(SCREENSHOTS / "dashboard-ar.png"), full_page=True)


def test_wrong_code_keeps_the_dashboard_closed(page: Any, live_server: Any, make_user: Any) -> None:
    user = make_user("analyst")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(f"{live_server.url}/account/sign-in/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/second-factor/**")
    wrong = (totp(device.bin_key) + 1) % 1_000_000
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{wrong:06d}")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("alert").inner_text().startswith("That code is not valid")
    page.goto(f"{live_server.url}/findings/")
    assert "/account/second-factor/" in page.url
