"""Sign-in hardening (issue 15): the lock-out counts per user name as well as per user name and address, and
an administrator can require the second factor of declarants too."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PER_ADDRESS = settings.AXES_FAILURE_LIMIT
PER_USERNAME = settings.PROBITY_USERNAME_FAILURE_LIMIT


def _sign_in(username: str, password: str = TEST_PASSWORD, *, address: str, client: Client | None = None) -> Any:
    client = client or Client()
    return client.post("/account/sign-in/", {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail_from(username: str, addresses: list[str], tries: int) -> None:
    for address in addresses:
        for _ in range(tries):
            assert _sign_in(username, "wrong password", address=address).status_code in (200, 429)


def _addresses(count: int, prefix: str = "198.51.100") -> list[str]:
    return [f"{prefix}.{n}" for n in range(1, count + 1)]


# --- the lock-out ---------------------------------------------------------------------------------------


@pytest.fixture
def fast_hashing(settings: Any) -> None:
    """The lock-out does not depend on the hash; Argon2id's second per wrong password would make these slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_per_username_limit_is_above_the_per_address_one() -> None:
    assert PER_ADDRESS <= 5 and PER_USERNAME >= 3 * PER_ADDRESS


@pytest.mark.usefixtures("fast_hashing")
def test_guessing_from_many_addresses_locks_the_user_name(make_user: Callable[..., User]) -> None:
    """Each address stays below its own limit; together they reach the user name's, and even the right
    password from yet another address is refused until the cool-off has passed."""
    user = make_user("declarant")
    below = PER_ADDRESS - 1
    count = -(-PER_USERNAME // below)  # enough addresses to reach the user name's limit
    _fail_from(user.username, _addresses(count), below)
    response = _sign_in(user.username, address="203.0.113.9")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Account locked" in page and "Too many failed sign-in attempts" in page
    # Plain: nothing about the user name, the addresses or the counts.
    assert user.username not in page and "198.51.100" not in page and str(PER_USERNAME) not in page


@pytest.mark.usefixtures("fast_hashing")
def test_below_the_username_limit_the_user_still_signs_in(make_user: Callable[..., User]) -> None:
    user = make_user("declarant")
    below = PER_ADDRESS - 1
    _fail_from(user.username, _addresses((PER_USERNAME - 1) // below), below)
    client = Client()
    response = _sign_in(user.username, address="203.0.113.9", client=client)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.usefixtures("fast_hashing")
def test_one_address_alone_cannot_lock_the_user_out_everywhere(make_user: Callable[..., User]) -> None:
    """Failures from an address that is already locked out are not counted, so one attacker's address
    reaches only its own limit, never the user name's."""
    user = make_user("declarant")
    attacker = "192.0.2.66"
    for _ in range(PER_USERNAME * 2):
        _sign_in(user.username, "wrong password", address=attacker)
    assert _sign_in(user.username, address=attacker).status_code == 429
    assert _sign_in(user.username, address="203.0.113.9").status_code == 302


@pytest.mark.usefixtures("fast_hashing")
def test_the_username_lock_applies_to_every_role(make_user: Callable[..., User]) -> None:
    user = make_user("analyst")
    below = PER_ADDRESS - 1
    _fail_from(user.username, _addresses(-(-PER_USERNAME // below), "192.0.2"), below)
    assert _sign_in(user.username, address="203.0.113.9").status_code == 429


# --- the second factor for declarants ------------------------------------------------------------------


def test_declarants_need_no_second_factor_by_default(make_user: Callable[..., User]) -> None:
    assert settings.PROBITY_DECLARANT_SECOND_FACTOR == "optional"
    user = make_user("declarant")
    client = Client()
    assert _sign_in(user.username, address="203.0.113.1", client=client).status_code == 302
    assert client.get("/").status_code == 200


@override_settings(PROBITY_DECLARANT_SECOND_FACTOR="required")
def test_required_policy_makes_declarants_enrol_and_pass_the_second_factor(make_user: Callable[..., User]) -> None:
    user = make_user("declarant")
    client = Client()
    response = _sign_in(user.username, address="203.0.113.1", client=client)
    assert response.status_code == 302 and "/account/second-factor/" in response["Location"]
    assert client.get("/").status_code == 302  # the dashboard stays closed
    assert client.get("/api/v1/me").status_code == 401  # and so does the API through the session
    setup = client.get("/account/second-factor/setup/")
    assert setup.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post("/account/second-factor/setup/", {"code": f"{totp(device.bin_key):06d}"}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200

    # Next time: the code is asked for before any page.
    again = Client()
    _sign_in(user.username, address="203.0.113.1", client=again)
    assert again.get("/").status_code == 302
    device.refresh_from_db()
    device.last_t = -1  # the same code may not be used twice; here the test reuses its time step
    device.save()
    assert again.post("/account/second-factor/", {"code": f"{totp(device.bin_key):06d}"}).status_code == 302
    assert again.get("/").status_code == 200


def test_the_policy_is_read_at_run_time(make_user: Callable[..., User]) -> None:
    """Switching the policy on applies to declarants who are already signed in, at their next page."""
    user = make_user("declarant")
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    with override_settings(PROBITY_DECLARANT_SECOND_FACTOR="required"):
        response = client.get("/")
        assert response.status_code == 302 and "/account/second-factor/" in response["Location"]
    assert client.get("/").status_code == 200


@override_settings(PROBITY_DECLARANT_SECOND_FACTOR="Required ")
def test_an_unexpected_value_at_run_time_fails_closed(make_user: Callable[..., User]) -> None:
    client = Client()
    client.force_login(make_user("declarant"))
    assert client.get("/").status_code == 302


def test_administrators_see_the_policy_on_the_dashboard(verified_client: Callable[..., Client]) -> None:
    page = verified_client("administrator").get("/").content.decode()
    assert "Second factor for declarants" in page and "optional" in page
    assert "PROBITY_DECLARANT_SECOND_FACTOR" in page
    with override_settings(PROBITY_DECLARANT_SECOND_FACTOR="required"):
        assert "required" in verified_client("administrator").get("/").content.decode()
    assert "Second factor for declarants" not in verified_client("analyst").get("/").content.decode()


def test_a_wrong_policy_value_stops_with_one_sentence(tmp_path: Path) -> None:
    environment = {**os.environ, "PROBITY_DECLARANT_SECOND_FACTOR": "sometimes", "PROBITY_VAR_DIR": str(tmp_path)}
    environment.pop("PROBITY_TESTING", None)
    environment.setdefault("PROBITY_SECRET_KEY", "x" * 50)
    result = subprocess.run(
        [sys.executable, "-m", "probity.cli", "check"], capture_output=True, text=True, env=environment, timeout=300
    )
    assert result.returncode == 2
    assert "PROBITY_DECLARANT_SECOND_FACTOR must be optional or required" in result.stderr
    assert "Traceback" not in result.stderr
