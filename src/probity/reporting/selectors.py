"""Read operations of the reporting channel: what a staff member may list, a report's decrypted timeline,
attachments, deadlines and the overdue list. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from probity.reporting import attachments as store
from probity.reporting import crypto
from probity.reporting.keyring import ReportKeys
from probity.reporting.models import (
    Attachment,
    Channel,
    DisclosureRequest,
    Report,
    ReportAssignment,
    ReportEntry,
    StaffKey,
)


@dataclass
class AttachmentInfo:
    id: int
    name: str
    content_type: str
    size: int
    stripping: str
    has_stripped_copy: bool
    from_reporter: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TimelineItem:
    """One decrypted timeline entry. ``author`` is ``"reporter"``, ``"staff"`` (what the reporter sees)
    or a user name (what staff see). ``body`` is the decrypted JSON: answers, ``{"text"}``, or an event."""

    id: int
    sequence: int
    kind: str
    created_on: date
    author: str
    body: Any
    staff_only: bool
    feedback: bool
    attachments: list[AttachmentInfo] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["created_on"] = self.created_on.isoformat()
        data["attachments"] = [a.as_dict() for a in self.attachments]
        return data


def staff_has_keys(*, user: User) -> bool:
    return StaffKey.objects.filter(user=user).exists()


def reports_for_staff(*, user: User) -> QuerySet[Report]:
    """Reports the user is actively assigned to (none without the ``handle_report`` permission)."""
    if not user.is_active or not user.has_perm("reporting.handle_report"):
        return Report.objects.none()
    return Report.objects.filter(assignments__user=user, assignments__active=True).select_related("channel").distinct()


def report_for_staff(*, user: User, pk: int | str, field_name: str = "pk") -> Report | None:
    """One report the user may open (by primary key or ``field_name="reference"``), else None."""
    return reports_for_staff(user=user).filter(**{field_name: pk}).first()


def reports_overdue(*, user: User | None = None, today: date | None = None) -> QuerySet[Report]:
    """Open reports past a deadline: acknowledgement not given by ``acknowledge_due`` or feedback not
    given by ``feedback_due``. All reports when ``user`` is None (jobs), else the user's."""
    today = today or timezone.localdate()
    base = Report.objects.all() if user is None else reports_for_staff(user=user)
    return (
        base.exclude(status=Report.Status.CLOSED)
        .filter(
            Q(acknowledged_on__isnull=True, acknowledge_due__lt=today)
            | Q(feedback_given_on__isnull=True, feedback_due__lt=today)
        )
        .order_by("acknowledge_due", "pk")
    )


def reports_due_soon(*, user: User | None = None, today: date | None = None, days: int = 2) -> QuerySet[Report]:
    """Open reports whose acknowledgement or feedback falls due within ``days`` (reminders)."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=days)
    base = Report.objects.all() if user is None else reports_for_staff(user=user)
    return base.exclude(status=Report.Status.CLOSED).filter(
        Q(acknowledged_on__isnull=True, acknowledge_due__gte=today, acknowledge_due__lte=horizon)
        | Q(feedback_given_on__isnull=True, feedback_due__gte=today, feedback_due__lte=horizon)
    )


def deadline_state(*, report: Report, today: date | None = None) -> dict[str, Any]:
    """``{"acknowledge": "done"|"due"|"overdue", "feedback": …, "days_left": {...}}`` for the page."""
    today = today or timezone.localdate()

    def state(done: date | None, due: date) -> str:
        if done is not None:
            return "done"
        if report.is_closed:
            return "not_needed"
        return "overdue" if due < today else "due"

    return {
        "acknowledge": state(report.acknowledged_on, report.acknowledge_due),
        "feedback": state(report.feedback_given_on, report.feedback_due),
        "days_left": {
            "acknowledge": (report.acknowledge_due - today).days,
            "feedback": (report.feedback_due - today).days,
        },
    }


def _attachment_info(attachment: Attachment, keys: ReportKeys) -> AttachmentInfo:
    meta = crypto.unseal_json(keys.content, bytes(attachment.meta))
    return AttachmentInfo(
        id=attachment.pk,
        name=str(meta.get("name", "file")),
        content_type=str(meta.get("content_type", "application/octet-stream")),
        size=int(meta.get("size", 0)),
        stripping=attachment.stripping,
        has_stripped_copy=bool(attachment.stripped_storage_name),
        from_reporter=attachment.from_reporter,
    )


def report_timeline(*, keys: ReportKeys, for_reporter: bool) -> list[TimelineItem]:
    """The decrypted timeline. The reporter's view leaves out staff-only entries and names no staff
    member; staff see everything their keys open (staff-only entries need the case key)."""
    report = keys.report
    entries = ReportEntry.objects.filter(report=report).select_related("author").order_by("sequence")
    attachments_by_entry: dict[int | None, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(report=report).order_by("pk"):
        attachments_by_entry.setdefault(attachment.entry_id, []).append(attachment)
    items: list[TimelineItem] = []
    for entry in entries:
        if entry.staff_only and (for_reporter or keys.case is None):
            continue
        key = keys.case if entry.staff_only else keys.content
        assert key is not None
        body = crypto.unseal_json(key, bytes(entry.body))
        if entry.author is None:
            author = "reporter" if entry.kind != ReportEntry.Kind.EVENT else "system"
        else:
            author = "staff" if for_reporter else entry.author.get_username()
        items.append(
            TimelineItem(
                id=entry.pk,
                sequence=entry.sequence,
                kind=entry.kind,
                created_on=entry.created_on,
                author=author,
                body=body,
                staff_only=entry.staff_only,
                feedback=entry.feedback,
                attachments=[_attachment_info(a, keys) for a in attachments_by_entry.get(entry.pk, [])],
            )
        )
    orphans = attachments_by_entry.get(None, [])
    if orphans and items:
        items[0].attachments.extend(_attachment_info(a, keys) for a in orphans)
    return items


def report_mark_read_by_reporter(*, report: Report) -> int:
    """Marks staff messages as read by the reporter (their page shows the unread ones first)."""
    return ReportEntry.objects.filter(report=report, read_by_reporter=False).update(read_by_reporter=True)


def unread_for_reporter(*, report: Report) -> int:
    return ReportEntry.objects.filter(
        report=report, read_by_reporter=False, kind=ReportEntry.Kind.STAFF_MESSAGE
    ).count()


def report_identity(*, keys: ReportKeys) -> dict[str, Any] | None:
    """The reporter's identity when the caller holds the identity key (the reporter, custodians, or a
    handler after an approved disclosure), else None."""
    report = keys.report
    if keys.identity is None or not report.identity:
        return None
    return dict(crypto.unseal_json(keys.identity, bytes(report.identity)))


def report_action_taken(*, keys: ReportKeys) -> str | None:
    report = keys.report
    if keys.case is None or not report.action_taken:
        return None
    return str(crypto.unseal_json(keys.case, bytes(report.action_taken)).get("text", ""))


def attachment_open(
    *, attachment: Attachment, keys: ReportKeys, stripped: bool = False
) -> tuple[AttachmentInfo, Iterator[bytes]]:
    """The attachment's description and a stream of its decrypted bytes (the original, or the stripped
    copy when ``stripped`` and one exists). Raises LookupError when it belongs to another report."""
    if attachment.report_id != keys.report.pk:
        raise LookupError("no such attachment on this report")
    info = _attachment_info(attachment, keys)
    file_key = crypto.unseal(keys.content, bytes(attachment.file_key))
    use_stripped = stripped and bool(attachment.stripped_storage_name)
    name = attachment.stripped_storage_name if use_stripped else attachment.storage_name
    return info, store.store_read(file_key, name)


def disclosure_requests_pending(*, custodian: User) -> QuerySet[DisclosureRequest]:
    """Pending identity-disclosure requests on channels where ``custodian`` is a custodian."""
    return (
        DisclosureRequest.objects.filter(state=DisclosureRequest.State.PENDING, report__channel__custodians=custodian)
        .select_related("report", "requested_by")
        .order_by("requested_on", "pk")
    )


def channels_open() -> QuerySet[Channel]:
    return Channel.objects.filter(active=True).order_by("name")


def channel_readiness(*, channel: Channel) -> list[str]:
    """Problems that would leave new reports unreadable (recipients or custodians without key pairs)."""
    problems = []
    recipients = list(channel.recipients.filter(is_active=True))
    if not recipients:
        problems.append(f"channel {channel.slug}: no recipients — nobody will be able to read new reports")
    for user in recipients:
        if not staff_has_keys(user=user):
            problems.append(f"channel {channel.slug}: recipient {user.get_username()} has no key pair")
        if not user.has_perm("reporting.handle_report"):
            problems.append(f"channel {channel.slug}: recipient {user.get_username()} may not handle reports")
    custodians = list(channel.custodians.filter(is_active=True))
    if not custodians:
        problems.append(f"channel {channel.slug}: no custodian — identities can never be disclosed")
    for user in custodians:
        if not staff_has_keys(user=user):
            problems.append(f"channel {channel.slug}: custodian {user.get_username()} has no key pair")
    return problems


def assignees(*, report: Report) -> QuerySet[ReportAssignment]:
    return ReportAssignment.objects.filter(report=report, active=True).select_related("user").order_by("pk")
