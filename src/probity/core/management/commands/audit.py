"""probity audit: verify the hash-chained audit log, or show its latest entries."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from probity.core.audit import audit_actor, audit_record, audit_verify
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.models import AuditEntry


class Command(SubcommandCommand):
    help = "Verify the audit log's hash chain (audit verify) or show its latest entries (audit tail)."

    def add_subcommands(self, subcommands: Subcommands) -> None:
        subcommands.add("verify", self.verify, help="recompute every entry's seal; exit 1 and name each broken entry")
        tail = subcommands.add("tail", self.tail, help="print the latest entries")
        tail.add_argument("-n", type=int, default=20, help="how many entries (default 20)")

    def tail(self, *, n: int, **options: Any) -> None:
        for entry in reversed(list(AuditEntry.objects.order_by("-sequence")[:n])):
            self.stdout.write(
                f"{entry.sequence:>8} {entry.recorded_at:%Y-%m-%d %H:%M:%S} {entry.actor:<20} "
                f"{entry.action:<16} {entry.object_type} {entry.object_id} {entry.object_label}"
            )

    def verify(self, **options: Any) -> None:
        total = AuditEntry.objects.count()
        with tqdm(
            total=total,
            unit="entry",
            desc="verifying",
            disable=total < 1000 or options["verbosity"] < 1,
            file=sys.stderr,
        ) as bar:
            result = audit_verify(progress=bar.update)
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit log intact: {result.entries_checked} entries checked; head {result.head_hash[:16]}…"
                )
            )
            with audit_actor("system:cli"):
                audit_record(
                    action=AuditEntry.Action.OTHER,
                    object_type="core.auditentry",
                    object_label="audit verify",
                    details={"entries_checked": result.entries_checked},
                )
            return
        for problem in result.problems:
            self.stderr.write(f"entry {problem.sequence}: {problem.reason}")
        raise CommandError(
            f"audit log tampered: {len(result.problems)} problem(s) in {result.entries_checked} entries; "
            f"first at entry {result.problems[0].sequence}"
        )
