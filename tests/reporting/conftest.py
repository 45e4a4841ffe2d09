"""Fixtures of the reporting tests: fast Argon2id, a private file store, a channel with a handler and a
custodian who have key pairs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from nacl.public import PrivateKey

from probity.reporting import services
from probity.reporting.models import Channel
from tests.conftest import TEST_PASSWORD


@pytest.fixture(autouse=True)
def _fast_kdf_and_private_store(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.PROBITY_REPORTING_KDF = "min"
    settings.PROBITY_REPORTING_RECEIPT_KDF = "min"
    settings.PROBITY_REPORTING_STORE = str(tmp_path / "reporting-store")
    settings.PROBITY_REPORTING_POW_BITS = 4
    cache.clear()
    yield
    cache.clear()


@dataclass
class Staff:
    user: User
    private_key: PrivateKey
    recovery_key: str


@pytest.fixture
def make_staff(make_user: Callable[..., User]) -> Callable[..., Staff]:
    def make(*roles: str, username: str | None = None) -> Staff:
        user = make_user(*(roles or ("case_handler",)), username=username)
        recovery = services.staff_keys_create(user=user, password=TEST_PASSWORD)
        return Staff(user, services.staff_keys_unlock(user=user, password=TEST_PASSWORD), recovery)

    return make


@pytest.fixture
def handler(make_staff: Callable[..., Staff]) -> Staff:
    return make_staff("case_handler", username="handler-1")


@pytest.fixture
def custodian(make_staff: Callable[..., Staff]) -> Staff:
    return make_staff("administrator", username="custodian-1")


QUESTIONNAIRE: list[dict[str, Any]] = [
    {"id": "what", "kind": "textarea", "label": "What happened?", "required": True},
    {"id": "when", "kind": "date", "label": "When?", "required": False},
    {"id": "who", "kind": "choice", "label": "Who?", "choices": ["official", "company", "other"]},
    {"id": "who_other", "kind": "text", "label": "Who else?", "show_if": {"question": "who", "equals": "other"}},
    {"id": "amount", "kind": "amount", "label": "Amount"},
    {"id": "evidence", "kind": "file", "label": "Evidence"},
]


@pytest.fixture
def channel(handler: Staff, custodian: Staff) -> Channel:
    return services.channel_save(
        slug="procurement",
        name="Procurement",
        actor=custodian.user,
        questionnaire=QUESTIONNAIRE,
        recipients=[handler.user],
        custodians=[custodian.user],
        max_attachments=3,
        max_attachment_bytes=200_000,
    )
