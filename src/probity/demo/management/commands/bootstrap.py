"""probity bootstrap: what `make run` does before serving — migrate, load the demo country, print a login.

On an empty database (no public body, no user) it loads the demo country into the core tables
(``demo load``), writes its files (``demo generate``), reads them into the ownership, procurement,
entities and declarations apps (``demo ingest``), creates the demo accounts, runs every detector and
takes demo findings and a protected report to cases in every state (``probity.demo.cases``), printing each
step with its counts and time. A step that fails is reported and the others still run.
A database that is not empty is only migrated, so running it twice changes nothing.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.audit import audit_actor
from probity.core.detectors import detector_registry
from probity.core.models import DetectorRun, Person, PublicBody
from probity.core.services import user_create
from probity.demo.cases import demo_cases
from probity.demo.management.commands.demo import ingest_step_line
from probity.demo.services import IngestStep, demo_ingest

DEMO_ACCOUNTS = {
    "demo-admin": ["administrator"],
    "demo-analyst": ["analyst"],
    "demo-verifier": ["verifier"],
    "demo-auditor": ["auditor"],
    "demo-declarant": ["declarant"],
    # the case flow (``probity.demo.cases``): a case handler with a reporting key, and officers for the pools
    "demo-handler": ["case_handler"],
    "demo-officer-1": ["analyst"],
    "demo-officer-2": ["analyst", "verifier"],
}
DEMO_DEVICE_NAME = "Probity demo authenticator"
DEMO_REPORT = "demo-report"  # the login file's entry for the receipt of the demo's protected report


def _login_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-login.json"


class Command(BaseCommand):
    help = "Prepare a local installation: migrate, load the demo country if the database is empty, print a login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026, help="demo country seed (default 2026)")
        parser.add_argument("--scale", type=float, default=1.0, help="demo country size (default 1.0)")
        parser.add_argument(
            "--show-login", action="store_true", help="only print the demo login and a current second-factor code"
        )
        parser.add_argument("--no-demo", action="store_true", help="migrate only; load no demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["show_login"]:
            call_command("migrate", interactive=False, verbosity=0)
            empty = not PublicBody.objects.exists() and not User.objects.exists()
            if empty and not options["no_demo"]:
                self._load_demo(options["seed"], options["scale"])
        self._print_login()

    def _step(self, name: str, work: Callable[[], object]) -> bool:
        """Runs one step, prints its time, or its error plainly; never stops the bootstrap."""
        clock = time.perf_counter()
        try:
            work()
        except Exception as exc:  # noqa: BLE001  (reported; the next step still runs)
            self.failed.append(name)
            self.stdout.write(self.style.ERROR(f"  {name}: FAILED after {time.perf_counter() - clock:.1f} s: {exc}"))
            return False
        self.stdout.write(f"  {name}: done ({time.perf_counter() - clock:.1f} s)")
        return True

    def _load_demo(self, seed: int, scale: float) -> None:
        clock = time.perf_counter()
        self.failed: list[str] = []
        self.stdout.write("Empty database: loading the demo country…")
        seed_and_scale = ["--seed", str(seed), "--scale", str(scale)]
        demo_dir = Path(settings.VAR_DIR) / "demo"
        self._step("core tables (demo load)", lambda: call_command("demo", "load", *seed_and_scale))
        # The accounts first: if the long steps below are interrupted, the login still works (finish them
        # with `probity demo ingest` and `probity detectors run --all`; a second bootstrap only migrates).
        self._step("demo accounts", self._create_demo_accounts)
        # The same country in the open formats (OCDS, BODS, FtM, declarations) under var/demo/ …
        generated = self._step(
            "open-format files (demo generate)", lambda: call_command("demo", "generate", *seed_and_scale)
        )
        # … read into the modules through their own services (what `probity demo ingest` does).
        if generated:
            self.stdout.write(f"Reading {demo_dir} into the modules:")
            for step in demo_ingest(demo_dir=demo_dir, on_step=self._write_ingest_step):
                if not step.ok:
                    self.failed.append(step.name)
        self.stdout.write("Running every detector:")
        self._step("detectors", self._run_detectors)
        self._step("cases (demo)", self._create_demo_cases)
        total = time.perf_counter() - clock
        if self.failed:
            self.stdout.write(
                self.style.ERROR(f"Demo loaded in {total:.1f} s, but these steps failed: {', '.join(self.failed)}")
            )
        else:
            self.stdout.write(f"Demo loaded in {total:.1f} s.")

    def _run_detectors(self) -> None:
        """`probity detectors run CODE` for each detector the procurement step has not just run."""
        succeeded = DetectorRun.objects.filter(status=DetectorRun.Status.SUCCEEDED)
        already = set(succeeded.values_list("detector_code", flat=True))  # the database was empty
        for code in detector_registry():
            if code in already:
                continue
            try:
                call_command("detectors", "run", code, verbosity=0)
            except CommandError as exc:  # e.g. its data is missing because a step above failed
                self.failed.append(code)
                self.stdout.write(self.style.ERROR(f"{code}: not run: {exc}"))
        self.stdout.write(
            f"  {len(set(succeeded.values_list('detector_code', flat=True)))} of {len(detector_registry())} "
            f"detectors have run, with {sum(succeeded.values_list('flagged', flat=True))} flags"
        )

    def _write_ingest_step(self, step: IngestStep) -> None:
        line = ingest_step_line(step)
        self.stdout.write(line if step.ok else self.style.ERROR(line))

    def _create_demo_accounts(self) -> None:
        with audit_actor("system:bootstrap"):
            self._write_demo_accounts()

    def _create_demo_cases(self) -> None:
        """Pools, cases in every state and a protected report case (``probity.demo.cases``); the handler's
        reporting recovery key and the demo report's receipt are added to the login file."""
        credentials = self._credentials()
        with audit_actor("system:bootstrap"):
            made = demo_cases(password_for=lambda username: str(credentials[username]["password"]))
        self.stdout.write(f"  {made.sentence()}")
        if made.recovery_key:
            credentials["demo-handler"]["reporting_recovery_key"] = made.recovery_key
        if made.receipt:
            credentials[DEMO_REPORT] = {"receipt": made.receipt}
        self._save_credentials(credentials)

    def _credentials(self) -> dict[str, Any]:
        path = _login_file()
        if not path.exists():
            raise CommandError(f"{path} is missing: the demo accounts step did not run.")
        credentials: dict[str, Any] = json.loads(path.read_text())
        return credentials

    def _save_credentials(self, credentials: dict[str, Any]) -> None:
        path = _login_file()
        path.write_text(json.dumps(credentials, indent=2))
        path.chmod(0o600)

    def _write_demo_accounts(self) -> None:
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
        self._save_credentials(credentials)

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
        others = ", ".join(name for name in credentials if name != "demo-admin" and name != DEMO_REPORT)
        self.stdout.write(f"  other demo accounts ({others}): see {path}")
        if DEMO_REPORT in credentials:
            self.stdout.write(f"  a protected report's receipt, to read it as its reporter: see {path} ({DEMO_REPORT})")
        self.stdout.write("")
