"""probity audit: verify the hash-chained audit log, anchor it outside the database, or show its latest
entries."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _g
from tqdm import tqdm

from probity.core.audit import anchor_file, anchors_parse, audit_actor, audit_anchor_write, audit_record, audit_verify
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.models import AuditEntry


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


class Command(SubcommandCommand):
    help = (
        "Verify the audit log's hash chain (audit verify), anchor it outside the database (audit anchor) "
        "or show its latest entries (audit tail)."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        verify = subcommands.add(
            "verify",
            self.verify,
            help="recompute every entry's seal and compare with the latest anchor; exit 1 and name each break",
        )
        verify.add_argument(
            "--anchor",
            metavar="LINE_OR_FILE",
            help="an anchor line kept elsewhere (as printed by 'audit anchor'), or a file of them; "
            "default: the anchor file",
        )
        subcommands.add(
            "anchor",
            self.anchor,
            help="append an anchor of the log to the anchor file and print it, to be kept elsewhere",
        )
        tail = subcommands.add("tail", self.tail, help="print the latest entries")
        tail.add_argument("-n", type=int, default=20, help="how many entries (default 20)")

    def tail(self, *, n: int, **options: Any) -> None:
        for entry in reversed(list(AuditEntry.objects.order_by("-sequence")[:n])):
            self.stdout.write(
                f"{entry.sequence:>8} {entry.recorded_at:%Y-%m-%d %H:%M:%S} {entry.actor:<20} "
                f"{entry.action:<16} {entry.object_type} {entry.object_id} {entry.object_label}"
            )

    def anchor(self, **options: Any) -> int | None:
        with audit_actor("system:cli"):
            written = audit_anchor_write()
        anchor = written.anchor
        if written.tampering:
            self.stderr.write(_sentence(written.tampering))
        self.stdout.write(
            _g("Anchor appended to %(file)s: %(n)s entries up to entry %(seq)s.")
            % {"file": anchor_file(), "n": anchor.entries, "seq": anchor.sequence}
        )
        self.stdout.write(
            _g(
                "Keep this line somewhere else (on paper, on another machine); "
                "'probity audit verify --anchor \"LINE\"' checks the log against it:"
            )
        )
        self.stdout.write(anchor.line())
        return 1 if written.tampering else None

    def _anchor_text(self, given: str) -> str:
        path = Path(given)
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else given
        except OSError as exc:
            raise CommandError(
                _g("The anchor file %(file)s cannot be read: %(why)s") % {"file": given, "why": exc.strerror},
                returncode=2,
            ) from None
        anchors, bad = anchors_parse(text)
        if not anchors and not any(line.lstrip().startswith("probity audit anchor") for line in text.splitlines()):
            raise CommandError(
                _g(
                    "“%(given)s” is neither an anchor line (as printed by 'probity audit anchor') nor a file of "
                    "anchor lines."
                )
                % {"given": given[:200]},
                returncode=2,
            )
        return text

    def verify(self, *, anchor: str | None = None, **options: Any) -> None:
        anchor_text = self._anchor_text(anchor) if anchor is not None else None
        total = AuditEntry.objects.count()
        with tqdm(
            total=total,
            unit="entry",
            desc="verifying",
            disable=total < 1000 or options["verbosity"] < 1,
            file=sys.stderr,
        ) as bar:
            result = audit_verify(progress=bar.update, anchor_text=anchor_text)
        for notice in result.notices:
            self.stderr.write(_sentence(notice))
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    _g("The check found the audit log intact: %(n)s entries checked, up to entry %(last)s.")
                    % {"n": result.entries_checked, "last": result.last_sequence}
                )
            )
            if result.anchor is not None:
                self.stdout.write(
                    _g("It matches %(anchor)s (%(n)s entries up to entry %(seq)s).")
                    % {"anchor": result.anchor.name(), "n": result.anchor.entries, "seq": result.anchor.sequence}
                )
            else:
                self.stdout.write(
                    _g(
                        "There is no anchor to compare it with yet: 'probity audit anchor' writes one (the "
                        "audit-anchor schedule does so every hour)."
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
            self.stderr.write(_sentence(problem.reason))
        first = next((p.sequence for p in result.problems if p.sequence), 0)
        values = {"n": len(result.problems), "checked": result.entries_checked, "seq": first}
        if first:
            message = _g(
                "The audit log has been tampered with: %(n)s problem(s) found in %(checked)s entries; "
                "the first at entry %(seq)s."
            )
        else:
            message = _g("The audit log has been tampered with: %(n)s problem(s) found in %(checked)s entries.")
        raise CommandError(message % values)
