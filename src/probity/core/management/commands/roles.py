"""probity roles: create the role groups and their permissions, or give a user a role."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import CommandError

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.roles import ALL_ROLES, roles_sync
from probity.core.services import user_create


class Command(SubcommandCommand):
    help = "Manage roles: sync the role groups, list them, create a user with roles, or grant a role."

    def add_subcommands(self, subcommands: Subcommands) -> None:
        subcommands.add("sync", self.sync, help="create the role groups and reset their permissions")
        subcommands.add("list", self.list_roles, help="each role with its members")
        create = subcommands.add("create-user", self.create_user, help="create a user with one or more roles")
        create.add_argument("username")
        create.add_argument("--role", action="append", required=True, choices=ALL_ROLES)
        create.add_argument("--email", default="")
        create.add_argument("--password", help="otherwise read from the PROBITY_NEW_PASSWORD variable or asked")
        grant = subcommands.add("grant", self.grant, help="add a role to an existing user")
        grant.add_argument("username")
        grant.add_argument("role", choices=ALL_ROLES)

    def handle(self, *args: Any, **options: Any) -> None:
        with audit_actor("system:cli"):
            super().handle(*args, **options)

    def sync(self, **options: Any) -> None:
        for role, count in roles_sync().items():
            self.stdout.write(f"{role}: {count} permissions")

    def list_roles(self, **options: Any) -> None:
        for role in ALL_ROLES:
            members = User.objects.filter(groups__name=role).values_list("username", flat=True)
            self.stdout.write(f"{role}: {', '.join(members) or '-'}")

    def create_user(self, *, username: str, role: list[str], email: str, password: str | None, **options: Any) -> None:
        password = password or os.environ.get("PROBITY_NEW_PASSWORD") or getpass.getpass()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"a user named {username!r} already exists")
        try:
            user_create(username=username, password=password, roles=role, email=email)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created {username} with roles {', '.join(role)}")

    def grant(self, *, username: str, role: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user is named {username!r}")
        user.groups.add(Group.objects.get(name=role))
        self.stdout.write(f"{user.username} now has the role {role}")
