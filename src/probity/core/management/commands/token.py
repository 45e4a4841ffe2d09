"""probity token: create, list and revoke API tokens for machine clients of /api/v1/.

``probity token create USERNAME --name NAME [--expires-days N]`` prints the token on standard output,
alone on its line, so a script can capture it (``TOKEN=$(probity token create ci --name nightly)``);
the notice that it is not shown again goes to standard error. Only the token's SHA-256 is stored.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.utils import timezone

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.models import APIToken
from probity.core.services import api_token_create, api_token_revoke

ACTOR = "system:cli"
MAX_EXPIRY_DAYS = 3650


def _positive_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_EXPIRY_DAYS} days, not {days}")
    return days


def _status(token: APIToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return "expired"
    return "active"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(SubcommandCommand):
    help = (
        "Create, list and revoke API tokens for machine clients of /api/v1/.\n"
        "token create USERNAME --name NAME [--expires-days N] | token list [USERNAME] | token revoke ID.\n"
        "A new token is printed once and never shown again; only its hash is stored."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        create = subcommands.add("create", self.create, help="create a token for a user and print it once")
        create.add_argument("username", help="the user the token acts as")
        create.add_argument("--name", required=True, help="what the token is for, e.g. 'nightly export'")
        create.add_argument(
            "--expires-days",
            type=_positive_days,
            default=None,
            metavar="N",
            help=f"the token stops working after N days (1–{MAX_EXPIRY_DAYS}); default: never",
        )
        listing = subcommands.add(
            "list", self.list_tokens, help="list tokens (never their secrets), of one user or of everyone"
        )
        listing.add_argument("username", nargs="?", help="only this user's tokens")
        revoke = subcommands.add("revoke", self.revoke, help="revoke a token by its id (see 'token list')")
        revoke.add_argument("id", type=int, help="the token's id")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"there is no user {username!r}; 'probity roles list' shows users by role")
        return user

    def create(self, *, username: str, name: str, expires_days: int | None, **options: Any) -> None:
        user = self._user(username)
        if not user.is_active:
            raise CommandError(f"the user {username!r} is deactivated; a token for it would not work")
        if not name.strip():
            raise CommandError("--name must say what the token is for")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        with audit_actor(ACTOR):
            token, secret = api_token_create(user=user, name=name.strip(), expires_at=expires_at)
        expiry = f"expires {_when(expires_at)} UTC" if expires_at else "does not expire"
        self.stderr.write(
            f"Created token {token.pk} '{token.name}' for {username} ({expiry}).\n"
            "Copy it now: it is not shown again and cannot be recovered, only revoked."
        )
        self.stdout.write(secret)

    def list_tokens(self, *, username: str | None, **options: Any) -> None:
        tokens = APIToken.objects.select_related("user").order_by("user__username", "-created_at", "-pk")
        if username:
            tokens = tokens.filter(user=self._user(username))
        rows = [
            (
                str(t.pk),
                t.user.get_username(),
                t.name,
                f"{t.prefix}…",
                _when(t.created_at),
                _when(t.expires_at),
                _when(t.last_used_at),
                _status(t),
            )
            for t in tokens
        ]
        if not rows:
            self.stdout.write("No tokens." if not username else f"{username} has no tokens.")
            return
        header = ("ID", "USER", "NAME", "PREFIX", "CREATED", "EXPIRES", "LAST USED", "STATUS")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())

    def revoke(self, *, id: int, **options: Any) -> None:
        token_id = id
        token = APIToken.objects.select_related("user").filter(pk=token_id).first()
        if token is None:
            raise CommandError(f"there is no token with the id {token_id}; 'probity token list' shows them")
        if token.revoked_at is not None:
            self.stdout.write(f"Token {token.pk} '{token.name}' was already revoked on {_when(token.revoked_at)} UTC.")
            return
        with audit_actor(ACTOR):
            api_token_revoke(token=token, actor=None)
        self.stdout.write(f"Revoked token {token.pk} '{token.name}' of {token.user.get_username()}.")
