"""Filing deadlines, who must file, reminders, and the overdue and non-filer lists.

Who must file a declaration of a type for a year (from ``core.Position``; a deadline set for one
body covers the holders of that body's positions and overrides the deadline for every body):

* ``annual``: everyone who held a position at any time during the year;
* ``entry``: everyone whose position started during the year;
* ``exit``: everyone whose position ended during the year;
* ``post_exit``: everyone whose position ended during the year before.

``send_reminders(today)`` mails each obligated person who has not submitted and has a user account
with an e-mail address: once in each reminder window before the due date (the most recent of the
deadline's ``reminder_days`` that has been reached) and once when overdue. Each mail is recorded as a
``FilingReminder`` first (unique), so a re-run, even a concurrent one, never sends the same reminder
twice. Mails say which declaration is due and when, never anything of its content.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from probity.core.models import Person, Position, PublicBody
from probity.declarations.models import Declaration, FilingDeadline, FilingReminder


class Status:
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"


STATUS_LABELS: dict[str, Any] = {
    Status.NOT_STARTED: _("Not started"),
    Status.DRAFT: _("Draft"),
    Status.SUBMITTED: _("Submitted"),
}


@dataclass
class Obligation:
    """One person's duty to file one declaration, and how far they are with it."""

    person: Person
    deadline: FilingDeadline
    position: Position
    declaration: Declaration | None
    status: str
    submitted_at: datetime | None

    @property
    def due_date(self) -> date:
        return self.deadline.due_date

    @property
    def late(self) -> bool:
        """Submitted after the due date."""
        return self.submitted_at is not None and timezone.localdate(self.submitted_at) > self.due_date

    def overdue(self, today: date) -> bool:
        """Past the due date and not submitted."""
        return self.status != Status.SUBMITTED and today > self.due_date

    @property
    def status_label(self) -> Any:
        return STATUS_LABELS[self.status]


def parse_reminder_days(value: Any) -> list[int]:
    """Days before the due date to remind on, most first: from a list or "30,7,1"; ValueError otherwise."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").split(",") if part.strip()]
    try:
        days = sorted({int(str(v).strip()) for v in value}, reverse=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"reminder days {value!r}: write whole numbers of days, like 30,7,1") from exc
    if any(d < 1 or d > 366 for d in days):
        raise ValueError("reminder days must be between 1 and 366 days before the due date")
    return days


def deadline_set(
    *,
    declaration_type: str,
    year: int,
    due_date: date,
    body: PublicBody | None = None,
    reminder_days: Any = None,
) -> tuple[FilingDeadline, bool]:
    """Creates or changes the deadline for a type and year (and body); returns it and whether it is new."""
    if declaration_type not in Declaration.Type.values:
        raise ValueError(f"{declaration_type!r} is not a declaration type ({', '.join(Declaration.Type.values)})")
    if not 1900 <= int(year) <= 2200:
        raise ValueError(f"{year} is not a year a declaration can be for")
    days = parse_reminder_days(reminder_days)
    with transaction.atomic():
        deadline = (
            FilingDeadline.objects.select_for_update()
            .filter(declaration_type=declaration_type, year=year, body=body)
            .first()
        )
        if deadline is None:
            deadline = FilingDeadline.objects.create(
                declaration_type=declaration_type, year=year, body=body, due_date=due_date, reminder_days=days
            )
            return deadline, True
        if deadline.due_date != due_date or deadline.reminder_days != days:
            deadline.due_date = due_date
            deadline.reminder_days = days
            deadline.save()
        return deadline, False


def _positions_for(declaration_type: str, year: int) -> Q:
    if declaration_type == Declaration.Type.ANNUAL:
        return (Q(start_date__isnull=True) | Q(start_date__year__lte=year)) & (
            Q(end_date__isnull=True) | Q(end_date__year__gte=year)
        )
    if declaration_type == Declaration.Type.ENTRY:
        return Q(start_date__year=year)
    if declaration_type == Declaration.Type.EXIT:
        return Q(end_date__year=year)
    return Q(end_date__year=year - 1)  # post-exit: the year after leaving


def deadlines_matching(
    *, declaration_type: str | None = None, year: int | None = None, body: PublicBody | None = None
) -> list[FilingDeadline]:
    queryset = FilingDeadline.objects.select_related("body").order_by("-year", "declaration_type", "body_id")
    if declaration_type:
        queryset = queryset.filter(declaration_type=declaration_type)
    if year:
        queryset = queryset.filter(year=year)
    if body is not None:
        queryset = queryset.filter(Q(body=body) | Q(body__isnull=True))
    return list(queryset)


def obligations(
    *,
    declaration_type: str | None = None,
    year: int | None = None,
    body: PublicBody | None = None,
    person: Person | None = None,
) -> list[Obligation]:
    """Every obligation under the deadlines matching the filters, one per person, type and year."""
    result: dict[tuple[int, str, int], Obligation] = {}
    deadlines = deadlines_matching(declaration_type=declaration_type, year=year, body=body)
    # Body-specific deadlines first: they override the general one for their body's holders.
    deadlines.sort(key=lambda d: d.body_id is None)
    for deadline in deadlines:
        positions = Position.objects.filter(holder__isnull=False).filter(
            _positions_for(deadline.declaration_type, deadline.year)
        )
        if deadline.body_id is not None:
            positions = positions.filter(body_id=deadline.body_id)
        if body is not None:
            positions = positions.filter(body=body)
        if person is not None:
            positions = positions.filter(holder=person)
        for position in positions.select_related("holder", "body", "holder__user").order_by("holder_id", "-pk"):
            assert position.holder is not None
            key = (position.holder.pk, deadline.declaration_type, deadline.year)
            if key not in result:
                result[key] = Obligation(position.holder, deadline, position, None, Status.NOT_STARTED, None)
    if not result:
        return []
    declarations = Declaration.objects.filter(
        declarant_id__in={k[0] for k in result}, year__in={k[2] for k in result}
    ).prefetch_related("versions")
    has_draft = set(
        Declaration.objects.filter(pk__in=[d.pk for d in declarations], draft__isnull=False).values_list(
            "pk", flat=True
        )
    )
    for declaration in declarations:
        obligation = result.get((declaration.declarant_id, declaration.declaration_type, declaration.year))
        if obligation is None:
            continue
        obligation.declaration = declaration
        versions = sorted(declaration.versions.all(), key=lambda v: v.number)
        if versions:
            obligation.status = Status.SUBMITTED
            obligation.submitted_at = versions[0].submitted_at
        elif declaration.pk in has_draft:
            obligation.status = Status.DRAFT
    return sorted(result.values(), key=lambda o: (-o.deadline.year, o.deadline.declaration_type, o.person.name))


def overdue(
    today: date, *, declaration_type: str | None = None, year: int | None = None, body: PublicBody | None = None
) -> list[Obligation]:
    """Obligated, past the due date, not submitted."""
    return [o for o in obligations(declaration_type=declaration_type, year=year, body=body) if o.overdue(today)]


def nonfilers(
    today: date,
    *,
    declaration_type: str | None = None,
    year: int | None = None,
    body: PublicBody | None = None,
    include_late: bool = True,
) -> list[Obligation]:
    """Non-filers (past due, not submitted) and, unless ``include_late`` is false, late filers."""
    return [
        o
        for o in obligations(declaration_type=declaration_type, year=year, body=body)
        if o.overdue(today) or (include_late and o.late)
    ]


CSV_HEADER = (
    "person_id",
    "name",
    "body",
    "position",
    "declaration_type",
    "year",
    "due_date",
    "status",
    "submitted_at",
    "late",
)


def csv_rows(items: Iterable[Obligation]) -> Iterator[list[str]]:
    yield list(CSV_HEADER)
    for o in items:
        yield [
            str(o.person.pk),
            o.person.name,
            o.position.body.name,
            o.position.title,
            o.deadline.declaration_type,
            str(o.deadline.year),
            o.due_date.isoformat(),
            o.status,
            o.submitted_at.isoformat() if o.submitted_at else "",
            "yes" if o.late else "no",
        ]


def _csv_safe(cell: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: quote them."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def to_csv(items: Iterable[Obligation]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in csv_rows(items):
        writer.writerow([_csv_safe(cell) for cell in row])
    return buffer.getvalue()


# --- reminders -----------------------------------------------------------------------------------


@dataclass
class ReminderReport:
    sent: int = 0
    already_sent: int = 0
    no_address: int = 0
    failed: list[str] | None = None


def _window(deadline: FilingDeadline, today: date) -> tuple[str, int] | None:
    """Which reminder is due today for this deadline: (kind, days before), or None."""
    if today > deadline.due_date:
        return FilingReminder.Kind.OVERDUE, 0
    remaining = (deadline.due_date - today).days
    reached = [d for d in deadline.reminder_days or [] if isinstance(d, int) and remaining <= d]
    if not reached:
        return None
    return FilingReminder.Kind.DUE_SOON, min(reached)


def _message(obligation: Obligation, kind: str) -> tuple[str, str]:
    type_label = Declaration.Type(obligation.deadline.declaration_type).label
    year = obligation.deadline.year
    due = obligation.due_date.isoformat()
    link = str(getattr(settings, "PROBITY_BASE_URL", "")).rstrip("/") + reverse("declarations:filing_home")
    if kind == FilingReminder.Kind.OVERDUE:
        subject = gettext("Your %(type)s declaration for %(year)s is overdue") % {"type": type_label, "year": year}
        body = gettext(
            "Your %(type)s declaration for %(year)s was due on %(due)s and has not been submitted. "
            "Please file it now: %(link)s"
        ) % {"type": type_label, "year": year, "due": due, "link": link}
    else:
        subject = gettext("Your %(type)s declaration for %(year)s is due on %(due)s") % {
            "type": type_label,
            "year": year,
            "due": due,
        }
        body = gettext("Your %(type)s declaration for %(year)s is due on %(due)s. You can file it here: %(link)s") % {
            "type": type_label,
            "year": year,
            "due": due,
            "link": link,
        }
    return subject, body


def send_reminders(today: date | None = None, *, progress: Any = None) -> ReminderReport:
    """Sends the reminders that are due on ``today``; never the same reminder twice."""
    today = today or timezone.localdate()
    report = ReminderReport(failed=[])
    for obligation in obligations():
        if progress is not None:
            progress(1)
        if obligation.status == Status.SUBMITTED:
            continue
        window = _window(obligation.deadline, today)
        if window is None:
            continue
        kind, days_before = window
        user = obligation.person.user
        address = user.email if user is not None and user.is_active else ""
        if not address:
            report.no_address += 1
            continue
        try:
            with transaction.atomic():
                FilingReminder.objects.create(
                    person=obligation.person,
                    declaration_type=obligation.deadline.declaration_type,
                    year=obligation.deadline.year,
                    kind=kind,
                    days_before=days_before,
                    sent_at=timezone.now(),
                    channel="email",
                )
                with override(settings.LANGUAGE_CODE):
                    subject, body = _message(obligation, kind)
                # Inside the transaction: if the mail server refuses, the record is rolled back
                # and the next run tries again.
                send_mail(subject, body, None, [address], fail_silently=False)
        except IntegrityError:
            report.already_sent += 1
            continue
        except Exception as exc:  # noqa: BLE001  (reported per person, without the address)
            assert report.failed is not None
            report.failed.append(f"person #{obligation.person.pk}: the mail was not sent ({type(exc).__name__})")
            continue
        report.sent += 1
    return report
