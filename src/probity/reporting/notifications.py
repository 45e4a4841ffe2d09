"""E-mails to staff. They never carry report content, reporter data or the channel's answers: only a
reference, a link, or counts. Sent through Django's e-mail backend (``EMAIL_BACKEND``)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from probity.reporting.models import DisclosureRequest, Report, ReportAssignment, ReportEntry
from probity.reporting.selectors import reports_due_soon, reports_overdue

logger = logging.getLogger("probity.reporting")


def _link(report: Report | None = None) -> str:
    base = str(getattr(settings, "PROBITY_BASE_URL", "")).rstrip("/")
    path = "/reporting/"
    if report is not None:
        for name in ("reporting:case", "reporting:staff_report", "reporting:report_detail"):
            try:
                path = reverse(name, args=[report.reference])
                break
            except NoReverseMatch:
                continue
    return base + path


def _send(users: list[User], subject: str, body: str) -> int:
    addresses = sorted({u.email for u in users if u.email and u.is_active})
    if not addresses:
        return 0
    sent = 0
    for address in addresses:  # one message each: recipients do not learn who else handles reports
        try:
            sent += send_mail(subject, body, None, [address], fail_silently=False)
        except Exception:  # a mail server outage must not lose a report  # noqa: BLE001
            logger.warning("reporting notification could not be sent")
    return sent


def _handlers(report: Report) -> list[User]:
    return [a.user for a in ReportAssignment.objects.filter(report=report, active=True).select_related("user")]


def notify_new_report(report: Report) -> int:
    """Tells the assigned recipients that a report arrived: its reference and a link, nothing else."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("New report %(reference)s") % {"reference": report.reference}
        body = _("A new report was received. Sign in to read it: %(link)s") % {"link": _link(report)}
    return _send(_handlers(report), subject, body)


def notify_reporter_message(report: Report) -> int:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("New message on report %(reference)s") % {"reference": report.reference}
        body = _("The reporter added a message. Sign in to read it: %(link)s") % {"link": _link(report)}
    return _send(_handlers(report), subject, body)


def notify_disclosure_request(request: DisclosureRequest) -> int:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Identity disclosure request on report %(reference)s") % {"reference": request.report.reference}
        body = _("A handler asks to learn a reporter's identity. Sign in to decide: %(link)s") % {"link": _link()}
    return _send(list(request.report.channel.custodians.all()), subject, body)


def daily_summary(*, today: date | None = None) -> int:
    """One e-mail per handler with counts only: open reports, overdue ones, unanswered reporter
    messages. Returns the number of e-mails sent."""
    today = today or timezone.localdate()
    per_user: dict[int, Counter[str]] = {}
    users: dict[int, User] = {}
    assignments = ReportAssignment.objects.filter(active=True).exclude(report__status=Report.Status.CLOSED)
    overdue = set(reports_overdue(today=today).values_list("pk", flat=True))
    due_soon = set(reports_due_soon(today=today).values_list("pk", flat=True))
    waiting = set(
        ReportEntry.objects.filter(kind=ReportEntry.Kind.REPORTER_MESSAGE).values_list("report_id", flat=True)
    )
    for assignment in assignments.select_related("user"):
        counts = per_user.setdefault(assignment.user_id, Counter())
        users[assignment.user_id] = assignment.user
        counts["open"] += 1
        counts["overdue"] += assignment.report_id in overdue
        counts["due_soon"] += assignment.report_id in due_soon
        counts["with_messages"] += assignment.report_id in waiting
    sent = 0
    for user_id, counts in per_user.items():
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Reporting channel: daily summary")
            body = _(
                "Open reports assigned to you: %(open)d\nOverdue: %(overdue)d\nDue within two days: %(due_soon)d\n"
                "Sign in to see them: %(link)s"
            ) % {"open": counts["open"], "overdue": counts["overdue"], "due_soon": counts["due_soon"], "link": _link()}
        sent += _send([users[user_id]], subject, body)
    return sent


def notify_retention_warning(report: Report) -> int:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Report %(reference)s will be deleted") % {"reference": report.reference}
        body = _("Report %(reference)s will be deleted on %(date)s under the retention rules. %(link)s") % {
            "reference": report.reference,
            "date": report.delete_after,
            "link": _link(report),
        }
    recipients = _handlers(report) or list(report.channel.recipients.all())
    return _send(recipients + list(report.channel.custodians.all()), subject, body)
