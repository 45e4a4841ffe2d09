"""probity reporting: the protected reporting channel's batch jobs and set-up.

    probity reporting channels list
    probity reporting channels setup SLUG --name NAME [--recipient USER ...] [--custodian USER ...]
                                     [--acknowledge-days 7] [--feedback-days 90] [--questionnaire FILE.json]
                                     [--retention-days FILE.json] [--max-files N] [--max-file-bytes N] [--closed]
    probity reporting channels check            # recipients/custodians without key pairs (exit 1 if any)
    probity reporting keys create USERNAME      # prints the recovery key once (password asked, or stdin)
    probity reporting keys recover USERNAME     # recovery key + new password; prints a new recovery key
    probity reporting deadlines [--today DATE]  # the overdue list and what falls due within two days
    probity reporting reminders                 # e-mails each handler a count-only daily summary
    probity reporting retention [--dry-run] [--today DATE]
    probity reporting statistics [--year YEAR] [--json]
    probity reporting export REFERENCE --user USERNAME --output DIR

Exit codes: 0 done, 1 data problem (unknown report, wrong password, channel not ready), 2 usage or
configuration. Passwords and recovery keys are read with a hidden prompt, or one per line from standard
input with ``--stdin`` (for scripts); they never appear in arguments or logs.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.reporting import selectors, services, statistics
from probity.reporting.crypto import DecryptionError
from probity.reporting.models import Attachment, Channel, Report
from probity.reporting.notifications import daily_summary
from probity.reporting.retention import retention_due, retention_run

ACTOR = "system:cli"


def _usage(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _usage(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(SubcommandCommand):
    help = (
        "The protected reporting channel: channels setup/list/check, keys create/recover, deadlines, "
        "reminders, retention, statistics, export of a case. Exit codes: 0 ok, 1 data problem, 2 usage."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        channels = subcommands.group("channels", help="list, set up or check intake channels")
        channels.add("list", self.channels_list, help="list channels with their deadlines and recipients")
        setup = channels.add("setup", self.channels_setup, help="create or change a channel")
        setup.add_argument("slug")
        setup.add_argument("--name", required=True)
        setup.add_argument("--description")
        setup.add_argument("--jurisdiction")
        setup.add_argument("--recipient", action="append", metavar="USER", help="a case handler (repeatable)")
        setup.add_argument("--custodian", action="append", metavar="USER", help="an identity custodian (repeatable)")
        setup.add_argument("--acknowledge-days", type=int)
        setup.add_argument("--feedback-days", type=int)
        setup.add_argument("--retention-warning-days", type=int)
        setup.add_argument("--questionnaire", type=Path, metavar="FILE.json")
        setup.add_argument(
            "--retention-days", type=Path, metavar="FILE.json", help='e.g. {"default": 1825, "unfounded": 365}'
        )
        setup.add_argument("--max-files", type=int)
        setup.add_argument("--max-file-bytes", type=int)
        setup.add_argument("--closed", action="store_true", help="stop accepting reports")
        channels.add("check", self.channels_check, help="recipients and custodians without key pairs (exit 1 if any)")

        keys = subcommands.group("keys", help="create a staff key pair, or recover it with the recovery key")
        for name, handler, text in (
            ("create", self.keys_create, "create the user's key pair; prints the recovery key once"),
            ("recover", self.keys_recover, "open the key with the recovery key and set a new password"),
        ):
            parser_ = keys.add(name, handler, help=text)
            parser_.add_argument("username")
            parser_.add_argument("--stdin", action="store_true", help="read secrets from standard input, one per line")
            if name == "create":
                parser_.add_argument("--replace", action="store_true", help="discard an existing key pair")

        deadlines = subcommands.add(
            "deadlines", self.deadlines, help="the overdue list and what falls due within two days"
        )
        deadlines.add_argument("--today", type=_day)
        subcommands.add("reminders", self.reminders, help="e-mail each handler a summary with counts only")
        retention = subcommands.add(
            "retention", self.retention, help="warn about and delete closed reports past retention"
        )
        retention.add_argument("--dry-run", action="store_true")
        retention.add_argument("--today", type=_day)
        stats = subcommands.add("statistics", self.statistics, help="annual statistics (small counts shown as <3)")
        stats.add_argument("--year", type=int, default=None)
        stats.add_argument("--json", action="store_true")
        export = subcommands.add("export", self.export, help="decrypt one case to a folder (audited)")
        export.add_argument("reference")
        export.add_argument("--user", required=True, help="an assigned handler, whose password is asked")
        export.add_argument("--output", type=Path, required=True, help="a new or empty folder")
        export.add_argument("--stdin", action="store_true")

    # --- helpers ---------------------------------------------------------------------------

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"there is no user {username!r}")
        return user

    def _secret(self, prompt: str, use_stdin: bool) -> str:
        if use_stdin:
            line = sys.stdin.readline()
            if not line:
                raise _usage(f"standard input ended before the {prompt.rstrip(': ').lower()}")
            return line.rstrip("\n")
        return getpass.getpass(prompt)

    # --- channels --------------------------------------------------------------------------

    def channels_list(self, **options: Any) -> None:
        for channel in Channel.objects.order_by("slug"):
            recipient_names = ", ".join(u.get_username() for u in channel.recipients.all()) or "-"
            custodian_names = ", ".join(u.get_username() for u in channel.custodians.all()) or "-"
            self.stdout.write(
                f"{channel.slug}\t{channel.name}\t{'open' if channel.active else 'closed'}\t"
                f"ack {channel.acknowledge_days}d\tfeedback {channel.feedback_days}d\t"
                f"recipients: {recipient_names}\tcustodians: {custodian_names}"
            )

    def channels_check(self, **options: Any) -> None:
        problems = [p for c in Channel.objects.filter(active=True) for p in selectors.channel_readiness(channel=c)]
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) found")
        self.stdout.write("every open channel has recipients and custodians with key pairs")

    def channels_setup(
        self,
        *,
        slug: str,
        name: str,
        description: str | None,
        jurisdiction: str | None,
        recipient: list[str] | None,
        custodian: list[str] | None,
        acknowledge_days: int | None,
        feedback_days: int | None,
        retention_warning_days: int | None,
        questionnaire: Path | None,
        retention_days: Path | None,
        max_files: int | None,
        max_file_bytes: int | None,
        closed: bool,
        **options: Any,
    ) -> None:
        questions = retention_table = None
        try:
            if questionnaire is not None:
                questions = json.loads(questionnaire.read_text(encoding="utf-8"))
            if retention_days is not None:
                retention_table = json.loads(retention_days.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise _usage(f"cannot read the JSON file: {exc}") from exc
        recipients = [self._user(u) for u in recipient] if recipient else None
        custodians = [self._user(u) for u in custodian] if custodian else None
        try:
            with audit_actor(ACTOR):
                channel = services.channel_save(
                    slug=slug,
                    name=name,
                    description=description,
                    jurisdiction=jurisdiction,
                    questionnaire=questions,
                    acknowledge_days=acknowledge_days,
                    feedback_days=feedback_days,
                    retention_days=retention_table,
                    retention_warning_days=retention_warning_days,
                    max_attachments=max_files,
                    max_attachment_bytes=max_file_bytes,
                    recipients=recipients,
                    custodians=custodians,
                    active=False if closed else None,
                )
        except Exception as exc:
            if exc.__class__.__name__ == "ValidationError" or isinstance(exc, ValueError):
                raise CommandError(f"channel {slug}: {exc}") from exc
            raise
        self.stdout.write(f"channel {channel.slug} saved")
        for problem in selectors.channel_readiness(channel=channel):
            self.stderr.write(f"warning: {problem}")

    # --- keys ------------------------------------------------------------------------------

    def keys_create(self, *, username: str, stdin: bool, replace: bool, **options: Any) -> None:
        user = self._user(username)
        password = self._secret("Account password: ", stdin)
        try:
            recovery = services.staff_keys_create(user=user, password=password, replace=replace)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write("Recovery key — write it down now, it is not shown again:")
        self.stdout.write(recovery)

    def keys_recover(self, *, username: str, stdin: bool, **options: Any) -> None:
        user = self._user(username)
        recovery_key = self._secret("Recovery key: ", stdin)
        new_password = self._secret("New password: ", stdin)
        try:
            with transaction.atomic():
                new_recovery = services.staff_keys_recover(
                    user=user, recovery_key=recovery_key, new_password=new_password
                )
                user.set_password(new_password)
                user.save(update_fields=["password"])
        except DecryptionError as exc:
            raise CommandError("the recovery key does not open this user's key") from exc
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write("Password changed. New recovery key — the old one no longer works:")
        self.stdout.write(new_recovery)

    # --- deadlines, reminders, retention, statistics ----------------------------------------

    def deadlines(self, *, today: date | None, **options: Any) -> None:
        today = today or timezone.localdate()
        overdue = list(selectors.reports_overdue(today=today).select_related("channel"))
        soon = list(selectors.reports_due_soon(today=today).select_related("channel"))
        self.stdout.write(f"overdue: {len(overdue)}")
        for report in overdue:
            state = selectors.deadline_state(report=report, today=today)
            late = [name for name in ("acknowledge", "feedback") if state[name] == "overdue"]
            self.stdout.write(f"  {report.reference}\t{report.channel.slug}\t{', '.join(late)} overdue")
        self.stdout.write(f"due within two days: {len(soon)}")
        for report in soon:
            self.stdout.write(f"  {report.reference}\t{report.channel.slug}")

    def reminders(self, **options: Any) -> None:
        self.stdout.write(f"summaries sent: {daily_summary()}")

    def retention(self, *, dry_run: bool, today: date | None, **options: Any) -> None:
        _warn, to_delete = retention_due(today=today)
        with (
            tqdm(total=len(to_delete), desc="deleting", unit="report", disable=not to_delete, file=sys.stderr) as bar,
            audit_actor(ACTOR),
        ):
            result = retention_run(today=today, dry_run=dry_run, progress=bar.update)
        prefix = "would " if dry_run else ""
        for reference in result.warned:
            self.stdout.write(f"{prefix}warn: {reference}")
        for reference in result.deleted:
            self.stdout.write(f"{prefix}delete: {reference}")
        self.stdout.write(
            f"{prefix}warned {len(result.warned)}, {prefix}deleted {len(result.deleted)}, "
            f"files removed {result.files_removed}"
        )

    def statistics(self, *, year: int | None, **options: Any) -> None:
        figures = statistics.annual_statistics(year=year or timezone.localdate().year)
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2, ensure_ascii=False))
            return
        self.stdout.write(
            f"year {figures['year']} (counts below {figures['suppressed_below']} shown as {statistics.SUPPRESSED})"
        )
        columns = (
            "received",
            "acknowledged_on_time",
            "investigations_opened",
            "closed",
            "median_days_to_acknowledge",
            "median_days_to_close",
        )
        self.stdout.write("channel\t" + "\t".join(columns))
        for row in [*figures["channels"], {"channel": "total", **figures["total"]}]:
            self.stdout.write(row["channel"] + "\t" + "\t".join(str(row.get(c, "-")) for c in columns))

    # --- export ----------------------------------------------------------------------------

    def export(self, *, reference: str, user: str, output: Path, stdin: bool, **options: Any) -> None:
        handler = self._user(user)
        report = Report.objects.filter(reference=reference).first()
        if report is None:
            raise CommandError(f"there is no report {reference}")
        if output.exists() and any(output.iterdir()):
            raise _usage(f"{output} is not empty")
        password = self._secret(f"Password of {handler.get_username()}: ", stdin)
        try:
            private_key = services.staff_keys_unlock(user=handler, password=password, via="cli")
            keys = services.report_keys_for_staff(report=report, user=handler, private_key=private_key)
            case_file = services.report_export(report=report, user=handler, private_key=private_key)
        except services.Throttled as exc:  # the key is locked after wrong passwords, or the server is busy
            raise CommandError(str(exc)) from exc
        except DecryptionError as exc:
            raise CommandError("the password does not open this user's key") from exc
        except (LookupError, PermissionError) as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            if exc.__class__.__name__ == "PermissionDenied":
                raise CommandError(f"{handler.get_username()} is not assigned to {reference}") from exc
            raise
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
        files_dir = output / "files"
        files_dir.mkdir(exist_ok=True, mode=0o700)
        attachments = list(Attachment.objects.filter(report=report).order_by("pk"))
        for attachment in tqdm(attachments, desc="files", unit="file", file=sys.stderr, disable=not attachments):
            info, chunks = selectors.attachment_open(attachment=attachment, keys=keys)
            target = files_dir / f"{attachment.pk}-{info.name}"
            with open(target, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        (output / "case.json").write_text(json.dumps(case_file, indent=2, ensure_ascii=False), encoding="utf-8")
        self.stdout.write(f"exported {reference} to {output} ({len(attachments)} file(s)); keep it protected")
