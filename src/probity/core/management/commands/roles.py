"""probity roles: create the role groups and their permissions, or give a user a role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from probity.core.audit import audit_actor
from probity.core.roles import ALL_ROLES, roles_sync
from probity.core.services import user_create


class Command(BaseCommand):
    help = "Manage roles: sync the role groups, list them, create a user with roles, or grant a role."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{sync,list,create-user,grant}")
        sub.add_parser("sync", help="create the role groups and reset their permissions")
        sub.add_parser("list", help="each role with its members")
        create = sub.add_parser("create-user", help="create a user with one or more roles")
        create.add_argument("username")
        create.add_argument("--role", action="append", required=True, choices=ALL_ROLES)
        create.add_argument("--email", default="")
        create.add_argument("--password", help="otherwise read from the PROBITY_NEW_PASSWORD variable or asked")
        grant = sub.add_parser("grant", help="add a role to an existing user")
        grant.add_argument("username")
        grant.add_argument("role", choices=ALL_ROLES)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        with audit_actor("system:cli"):
            if action == "sync":
                for role, count in roles_sync().items():
                    self.stdout.write(f"{role}: {count} permissions")
            elif action == "list":
                for role in ALL_ROLES:
                    members = User.objects.filter(groups__name=role).values_list("username", flat=True)
                    self.stdout.write(f"{role}: {', '.join(members) or '-'}")
            elif action == "create-user":
                import getpass
                import os

                password = options["password"] or os.environ.get("PROBITY_NEW_PASSWORD") or getpass.getpass()
                if User.objects.filter(username=options["username"]).exists():
                    raise CommandError(f"a user named {options['username']!r} already exists")
                try:
                    user_create(username=options["username"], password=password, roles=options["role"],
                                email=options["email"])
                except ValueError as exc:
                    raise CommandError(str(exc)) from exc
                self.stdout.write(f"created {options['username']} with roles {', '.join(options['role'])}")
            elif action == "grant":
                user = User.objects.filter(username=options["username"]).first()
                if user is None:
                    raise CommandError(f"no user is named {options['username']!r}")
                user.groups.add(Group.objects.get(name=options["role"]))
                self.stdout.write(f"{user.username} now has the role {options['role']}")
