"""Shared fixtures: users in each role, and browser clients that have passed the second factor."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.services import user_create

SHARED_DATA = Path(
    os.environ.get("PROBITY_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)

TEST_PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def shared_data() -> Path:
    """The reference data folder (../shared/data); tests that need it are skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA.resolve()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(*roles: str, username: str | None = None, password: str = TEST_PASSWORD) -> User:
        name = username or f"{'-'.join(roles) or 'plain'}-{next(counter)}"
        return user_create(username=name, password=password, roles=list(roles))

    return make


def attach_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


@pytest.fixture
def verified_client(make_user: Callable[..., User]) -> Callable[..., Client]:
    """A test client signed in as a new user with ``roles`` who has passed the second factor."""

    def make(*roles: str, user: User | None = None) -> Client:
        user = user or make_user(*roles)
        device = attach_totp(user)
        client = Client()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture(autouse=True)
def _default_language_after_each_test() -> Iterator[None]:
    """A test that switches the language must not leave the next test (or text it stores) in that language."""
    yield
    translation.deactivate()
