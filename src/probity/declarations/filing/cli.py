"""``probity declarations`` subcommands for e-filing: deadlines, reminders and non-filers.

    probity declarations deadlines set --type annual --year 2024 --due 2025-04-01 [--body ID] [--reminders 30,7,1]
    probity declarations deadlines list [--year 2024]
    probity declarations remind [--today 2025-03-25]
    probity declarations nonfilers --type annual --year 2024 [--body ID] [--today DATE] [--csv] [--overdue-only]

Exit codes: 0 done, 1 done but some reminders failed, 2 usage or data error.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from django.utils import timezone
from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.models import PublicBody
from probity.declarations import deadlines as service
from probity.declarations.models import FilingDeadline


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


TYPES = ("entry", "annual", "exit", "post_exit")


class FilingCommands(SubcommandCommand):
    """The e-filing part of the ``probity declarations`` command."""

    def add_filing_subcommands(self, subcommands: Subcommands) -> None:
        deadlines = subcommands.group("deadlines", help="set or list filing deadlines")
        set_ = deadlines.add(
            "set", self.deadlines_set, help="create or change the deadline of a type and year (and body)"
        )
        set_.add_argument("--type", dest="declaration_type", required=True, choices=TYPES)
        set_.add_argument("--year", type=int, required=True)
        set_.add_argument("--due", type=_date, required=True, help="due date, YYYY-MM-DD")
        set_.add_argument("--body", type=int, help="id of the public body (default: every body)")
        set_.add_argument(
            "--reminders", default="30,7,1", help="days before the due date, comma-separated (default 30,7,1)"
        )
        list_ = deadlines.add(
            "list", self.deadlines_list, help="list the deadlines with how many are obligated, filed and overdue"
        )
        list_.add_argument("--year", type=int)
        list_.add_argument("--today", type=_date, help="the day to count overdue from (default today)")

        remind = subcommands.add(
            "remind", self.remind, help="send the filing reminders that are due (never the same one twice)"
        )
        remind.add_argument("--today", type=_date, help="the day to act as (default today)")

        nonfilers = subcommands.add(
            "nonfilers", self.nonfilers, help="list the non-filers (past due, not submitted) and late filers"
        )
        nonfilers.add_argument("--type", dest="declaration_type", choices=TYPES)
        nonfilers.add_argument("--year", type=int)
        nonfilers.add_argument("--body", type=int, help="id of the public body")
        nonfilers.add_argument("--today", type=_date, help="the day to count overdue from (default today)")
        nonfilers.add_argument("--csv", action="store_true", help="write CSV to standard output")
        nonfilers.add_argument("--overdue-only", action="store_true", help="leave out those who filed late")

    def _body(self, body_id: int | None) -> PublicBody | None:
        if body_id is None:
            return None
        body = PublicBody.objects.filter(pk=body_id).first()
        if body is None:
            self.stderr.write(f"--body {body_id}: there is no public body with this id")
        return body

    def deadlines_set(self, **options: Any) -> int:
        body = self._body(options.get("body"))
        if options.get("body") is not None and body is None:
            return 2
        try:
            with audit_actor("system:declarations-deadlines"):
                deadline, created = service.deadline_set(
                    declaration_type=options["declaration_type"],
                    year=options["year"],
                    due_date=options["due"],
                    body=body,
                    reminder_days=options["reminders"],
                )
        except ValueError as exc:
            self.stderr.write(str(exc))
            return 2
        where = deadline.body.name if deadline.body else "every body"
        self.stdout.write(
            f"{'set' if created else 'changed'}: {deadline.declaration_type} {deadline.year} ({where}) due "
            f"{deadline.due_date.isoformat()}, reminders {deadline.reminder_days or 'none'} days before"
        )
        return 0

    def deadlines_list(self, **options: Any) -> int:
        today = options.get("today") or timezone.localdate()
        queryset = FilingDeadline.objects.select_related("body").order_by("-year", "declaration_type", "pk")
        if options.get("year"):
            queryset = queryset.filter(year=options["year"])
        self.stdout.write("id\ttype\tyear\tbody\tdue\treminders\tobligated\tsubmitted\toverdue")
        for deadline in queryset:
            mine = [
                o
                for o in service.obligations(
                    declaration_type=deadline.declaration_type, year=deadline.year, body=deadline.body
                )
                if o.deadline.pk == deadline.pk
            ]
            self.stdout.write(
                "\t".join(
                    [
                        str(deadline.pk),
                        deadline.declaration_type,
                        str(deadline.year),
                        deadline.body.name if deadline.body else "(every body)",
                        deadline.due_date.isoformat(),
                        ",".join(map(str, deadline.reminder_days or [])) or "-",
                        str(len(mine)),
                        str(sum(1 for o in mine if o.status == service.Status.SUBMITTED)),
                        str(sum(1 for o in mine if o.overdue(today))),
                    ]
                )
            )
        return 0

    def remind(self, **options: Any) -> int:
        with (
            tqdm(desc="obligations", unit=" people", file=sys.stderr, disable=None) as bar,
            audit_actor("system:declarations-remind"),
        ):
            report = service.send_reminders(options.get("today"), progress=bar.update)
        for failure in report.failed or []:
            self.stderr.write(failure)
        self.stdout.write(
            f"{report.sent} reminders sent, {report.already_sent} already sent before, "
            f"{report.no_address} people without an e-mail address, {len(report.failed or [])} failed"
        )
        return 1 if report.failed else 0

    def nonfilers(self, **options: Any) -> int:
        body = self._body(options.get("body"))
        if options.get("body") is not None and body is None:
            return 2
        today = options.get("today") or timezone.localdate()
        items = service.nonfilers(
            today,
            declaration_type=options.get("declaration_type"),
            year=options.get("year"),
            body=body,
            include_late=not options.get("overdue_only"),
        )
        if options.get("csv"):
            self.stdout.write(service.to_csv(items), ending="")
            return 0
        for o in items:
            state = f"filed late on {o.submitted_at.date().isoformat()}" if o.late and o.submitted_at else "not filed"
            self.stdout.write(
                f"{o.person.pk}\t{o.person.name}\t{o.position.body.name}\t{o.deadline.declaration_type} "
                f"{o.deadline.year}\tdue {o.due_date.isoformat()}\t{state}"
            )
        self.stderr.write(f"{len(items)} non-filers and late filers as of {today.isoformat()}")
        return 0
