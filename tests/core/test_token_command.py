"""`probity token`: an administrator creates, lists and revokes API tokens from the console."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from probity.core import services
from probity.core.models import APIToken, AuditEntry

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_created_token_is_printed_once_and_works_against_the_api(make_user: Callable[..., User]) -> None:
    analyst = make_user("analyst", username="nightly-bot")
    out, err = run("create", "nightly-bot", "--name", "nightly export")

    secret = out.strip()
    assert secret.startswith("prb_") and "\n" not in secret  # alone on stdout, so scripts can capture it
    assert "not shown again" in err
    assert secret not in err
    token = APIToken.objects.get(user=analyst)
    assert token.name == "nightly export" and token.expires_at is None
    assert secret not in token.token_hash

    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.json()["username"] == "nightly-bot"
    entries = AuditEntry.objects.filter(object_type="core.apitoken", action="create")
    assert entries.filter(actor="system:cli").exists()


def test_a_token_can_be_given_an_expiry_in_days(make_user: Callable[..., User]) -> None:
    make_user("analyst", username="temp")
    run("create", "temp", "--name", "one week", "--expires-days", "7")
    expires_at = APIToken.objects.get().expires_at
    assert expires_at is not None
    assert timedelta(days=6, hours=23) < expires_at - timezone.now() <= timedelta(days=7)


@pytest.mark.parametrize("days", ["0", "-1", "seven", "99999"])
def test_a_nonsensical_expiry_is_refused(make_user: Callable[..., User], days: str) -> None:
    make_user("analyst", username="temp")
    with pytest.raises(CommandError):
        run("create", "temp", "--name", "x", "--expires-days", days)
    assert not APIToken.objects.exists()


def test_creating_a_token_for_an_unknown_or_deactivated_user_fails_with_a_reason(
    make_user: Callable[..., User],
) -> None:
    with pytest.raises(CommandError, match="no user 'ghost'") as unknown:
        run("create", "ghost", "--name", "x")
    assert unknown.value.returncode == 1
    gone = make_user("analyst", username="gone")
    gone.is_active = False
    gone.save()
    with pytest.raises(CommandError, match="deactivated"):
        run("create", "gone", "--name", "x")
    with pytest.raises(CommandError):
        run("create", "gone")  # --name is required
    assert not APIToken.objects.exists()


def test_the_list_shows_each_token_with_its_status_but_never_a_secret(make_user: Callable[..., User]) -> None:
    alice, bob = make_user("analyst", username="alice"), make_user("auditor", username="bob")
    _active, active_secret = services.api_token_create(user=alice, name="laptop")
    revoked, revoked_secret = services.api_token_create(user=alice, name="old laptop")
    services.api_token_revoke(token=revoked, actor=alice)
    services.api_token_create(user=bob, name="reports", expires_at=timezone.now() - timedelta(days=1))

    out, _err = run("list")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "USER", "NAME", "PREFIX", "CREATED", "EXPIRES", "LAST", "USED", "STATUS"]
    assert len(lines) == 4
    assert active_secret not in out and revoked_secret not in out
    assert active_secret[:10] in out  # the prefix, to recognise it
    names = ("laptop", "old laptop", "reports")
    by_name = {name: line for name in names for line in lines if f"  {name}  " in line}
    assert by_name["laptop"].endswith("active")
    assert by_name["old laptop"].endswith("revoked")
    assert by_name["reports"].endswith("expired")

    only_bob, _err = run("list", "bob")
    assert "reports" in only_bob and "laptop" not in only_bob
    assert run("list", make_user("declarant", username="carol").username)[0].strip() == "carol has no tokens."


def test_a_revoked_token_stops_working_and_revoking_twice_is_harmless(make_user: Callable[..., User]) -> None:
    token, secret = services.api_token_create(user=make_user("analyst"), name="ci")
    headers = {"Authorization": f"Bearer {secret}"}
    assert Client().get("/api/v1/me", headers=headers).status_code == 200

    out, _err = run("revoke", str(token.pk))
    assert out.startswith(f"Revoked token {token.pk} 'ci'")
    assert Client().get("/api/v1/me", headers=headers).status_code == 401
    entries = AuditEntry.objects.filter(object_type="core.apitoken", action="update")
    assert entries.filter(actor="system:cli").exists()

    again, _err = run("revoke", str(token.pk))
    assert "already revoked" in again


def test_revoking_an_unknown_token_fails_with_a_reason(db: None) -> None:
    with pytest.raises(CommandError, match="no token with the id 4242"):
        run("revoke", "4242")
    with pytest.raises(CommandError):
        run("revoke", "not-a-number")


def test_the_first_line_of_help_summarises_the_command() -> None:
    from probity.core.management.commands.token import Command

    first = Command.help.splitlines()[0]
    assert first.startswith("Create, list and revoke API tokens")
