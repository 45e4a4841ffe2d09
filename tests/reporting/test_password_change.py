"""Changing one's password on the account page re-wraps the reporting key in the same transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from probity.core.models import AuditEntry
from probity.reporting import services
from probity.reporting.crypto import DecryptionError
from tests.conftest import TEST_PASSWORD
from tests.reporting.conftest import Staff

NEW_PASSWORD = "a-much-better-passphrase-2026"


def _change(client: Client, old: str, new: str) -> object:
    return client.post("/account/password/", {"old_password": old, "new_password1": new, "new_password2": new})


@pytest.mark.django_db
def test_password_change_rewraps_the_reporting_key(handler: Staff, verified_client: Callable[..., Client]) -> None:
    client = verified_client(user=handler.user)
    assert client.get("/account/password/").status_code == 200
    response = _change(client, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302  # type: ignore[attr-defined]
    handler.user.refresh_from_db()
    assert handler.user.check_password(NEW_PASSWORD)
    opened = services.staff_keys_unlock(user=handler.user, password=NEW_PASSWORD)
    assert bytes(opened) == bytes(handler.private_key)
    with pytest.raises(DecryptionError):
        services.staff_keys_unlock(user=handler.user, password=TEST_PASSWORD)
    assert AuditEntry.objects.filter(details__event="password_changed", object_id=str(handler.user.pk)).exists()
    # the session survives the change
    assert client.get("/account/password/").status_code == 200


@pytest.mark.django_db
def test_wrong_old_password_changes_nothing(handler: Staff, verified_client: Callable[..., Client]) -> None:
    client = verified_client(user=handler.user)
    response = _change(client, "not-the-password", NEW_PASSWORD)
    assert response.status_code == 200  # type: ignore[attr-defined]
    handler.user.refresh_from_db()
    assert handler.user.check_password(TEST_PASSWORD)
    services.staff_keys_unlock(user=handler.user, password=TEST_PASSWORD)


@pytest.mark.django_db
def test_key_that_no_longer_opens_blocks_the_change(handler: Staff, verified_client: Callable[..., Client]) -> None:
    """If the stored key does not open with the current password, the password is not changed either."""
    services.staff_keys_rewrap(user=handler.user, private_key=handler.private_key, new_password="some-other-secret")
    client = verified_client(user=handler.user)
    response = _change(client, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "reporting key could not be opened" in response.content.decode()  # type: ignore[attr-defined]
    handler.user.refresh_from_db()
    assert handler.user.check_password(TEST_PASSWORD)


@pytest.mark.django_db
def test_user_without_reporting_key_changes_password(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    assert _change(client, TEST_PASSWORD, NEW_PASSWORD).status_code == 302  # type: ignore[attr-defined]
    client.user.refresh_from_db()  # type: ignore[attr-defined]
    assert client.user.check_password(NEW_PASSWORD)  # type: ignore[attr-defined]
