"""probity bootstrap: what `make run` does before serving — migrate, load the demo country, print a login."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.audit import audit_actor
from probity.core.models import Person, PublicBody
from probity.core.services import user_create

DEMO_ACCOUNTS = {
    "demo-admin": ["administrator"],
    "demo-analyst": ["analyst"],
    "demo-verifier": ["verifier"],
    "demo-auditor": ["auditor"],
    "demo-declarant": ["declarant"],
}
DEMO_DEVICE_NAME = "Probity demo authenticator"


def _login_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-login.json"


class Command(BaseCommand):
    help = "Prepare a local installation: migrate, load the demo country if the database is empty, print a login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026, help="demo country seed (default 2026)")
        parser.add_argument("--scale", type=float, default=1.0, help="demo country size (default 1.0)")
        parser.add_argument("--show-login", action="store_true",
                            help="only print the demo login and a current second-factor code")
        parser.add_argument("--no-demo", action="store_true", help="migrate only; load no demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["show_login"]:
            call_command("migrate", interactive=False, verbosity=0)
            empty = not PublicBody.objects.exists() and not User.objects.exists()
            if empty and not options["no_demo"]:
                self.stdout.write("Empty database: loading the demo country…")
                seed_and_scale = ["--seed", str(options["seed"]), "--scale", str(options["scale"])]
                call_command("demo", "load", *seed_and_scale)
                # The same country in the open formats (OCDS, BODS, FtM, declarations) under var/demo/.
                call_command("demo", "generate", *seed_and_scale)
                with audit_actor("system:bootstrap"):
                    self._create_demo_accounts()
                call_command("detectors", "run", "--all", verbosity=0)
        self._print_login()

    def _create_demo_accounts(self) -> None:
        credentials: dict[str, Any] = {}
        for username, roles in DEMO_ACCOUNTS.items():
            password = secrets.token_urlsafe(12)
            user = user_create(username=username, password=password, roles=roles)
            device = TOTPDevice.objects.create(user=user, name=DEMO_DEVICE_NAME, confirmed=True)
            credentials[username] = {
                "password": password,
                "totp_key": base64.b32encode(device.bin_key).decode().rstrip("="),
            }
        # The demo declarant is one of the demo officials, so "sees only their own" can be tried out.
        official = Person.objects.filter(positions__isnull=False).order_by("source_key", "pk").first()
        if official is not None:
            official.user = User.objects.get(username="demo-declarant")
            official.save(update_fields=["user"])
        path = _login_file()
        path.write_text(json.dumps(credentials, indent=2))
        path.chmod(0o600)

    def _print_login(self) -> None:
        path = _login_file()
        if not path.exists():
            self.stdout.write("No demo login on this installation (the database was not empty at first start).")
            return
        credentials = json.loads(path.read_text())
        admin = credentials["demo-admin"]
        device = TOTPDevice.objects.filter(user__username="demo-admin", name=DEMO_DEVICE_NAME).first()
        code = f"{totp(device.bin_key):06d}" if device else "(device missing)"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Probity is starting on http://127.0.0.1:8000/"))
        self.stdout.write(f"  demo administrator: demo-admin / {admin['password']}")
        self.stdout.write(f"  second factor: add the key {admin['totp_key']} to an authenticator app,")
        self.stdout.write(f"    or use the current code {code} (new code: .venv/bin/probity bootstrap --show-login)")
        others = ", ".join(name for name in credentials if name != "demo-admin")
        self.stdout.write(f"  other demo accounts ({others}): see {path}")
        self.stdout.write("")
