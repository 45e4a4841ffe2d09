"""Retention: warnings before deletion, then deletion of the report, its files and keys; audit kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from probity.core.audit import audit_verify
from probity.core.models import AuditEntry
from probity.reporting import attachments as store
from probity.reporting import services
from probity.reporting.models import Attachment, Channel, Report, ReportEntry, ReportKeyGrant
from probity.reporting.retention import retention_due, retention_run
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db


def closed_report(channel: Channel, handler: Staff, outcome: str = Report.Outcome.UNFOUNDED) -> Report:
    report, _receipt = services.report_submit(
        channel=channel,
        answers={"what": "RETENTIONSECRET"},
        attachments=[SimpleUploadedFile("a.txt", b"evidence"), SimpleUploadedFile("b.jpg", b"\xff\xd8\xffnot")],
    )
    services.report_close(report=report, user=handler.user, outcome=outcome, action_taken="none")
    report.refresh_from_db()
    return report


def test_retention_period_follows_the_outcome(channel: Channel, handler: Staff) -> None:
    unfounded = closed_report(channel, handler)
    referred = closed_report(channel, handler, Report.Outcome.REFERRED)
    assert unfounded.delete_after == unfounded.closed_on + timedelta(days=365)  # type: ignore[operator]
    assert referred.delete_after == referred.closed_on + timedelta(days=5 * 365)  # type: ignore[operator]


def test_warning_then_deletion_removes_files_and_keys(channel: Channel, handler: Staff) -> None:
    handler.user.email = "h@example.org"
    handler.user.save()
    report = closed_report(channel, handler)
    names = [
        n
        for pair in Attachment.objects.filter(report=report).values_list("storage_name", "stripped_storage_name")
        for n in pair
        if n
    ]
    assert names and all(store.store_path(n).exists() for n in names)
    assert report.delete_after is not None

    before_warning = report.delete_after - timedelta(days=channel.retention_warning_days + 1)
    assert retention_due(today=before_warning) == ([], [])
    warn_day = report.delete_after - timedelta(days=channel.retention_warning_days)
    dry = retention_run(today=warn_day, dry_run=True)
    assert dry.warned == [report.reference] and not mail.outbox
    result = retention_run(today=warn_day)
    assert result.warned == [report.reference] and result.deleted == []
    assert len(mail.outbox) == 1 and "RETENTIONSECRET" not in mail.outbox[0].body
    assert retention_run(today=warn_day).warned == []  # warned once

    result = retention_run(today=report.delete_after)
    assert result.deleted == [report.reference]
    assert result.files_removed == len(names)
    assert not any(store.store_path(n).exists() for n in names)
    assert list(store.store_dir().iterdir()) == []
    assert not Report.objects.filter(pk=report.pk).exists()
    assert not ReportEntry.objects.filter(report_id=report.pk).exists()
    assert not ReportKeyGrant.objects.filter(report_id=report.pk).exists()
    deleted = AuditEntry.objects.get(details__event="report_deleted")
    assert deleted.object_label == report.reference and deleted.details["reason"] == "retention"
    assert audit_verify().ok


def test_open_reports_are_never_deleted(channel: Channel, handler: Staff) -> None:
    report, _receipt = services.report_submit(channel=channel, answers={"what": "open"})
    far = report.received_on + timedelta(days=20 * 365)
    assert retention_run(today=far).deleted == []
    assert Report.objects.filter(pk=report.pk).exists()


def test_store_delete_overwrites_before_unlinking(monkeypatch: pytest.MonkeyPatch) -> None:
    key = b"k" * 32
    name, _size, _encrypted = store.store_write(key, [b"payload"])
    path = store.store_path(name)
    seen: dict[str, bytes] = {}
    real_unlink = type(path).unlink

    def spy(self: object, *args: object, **kwargs: object) -> None:
        seen["content"] = path.read_bytes()
        real_unlink(self, *args, **kwargs)  # type: ignore[arg-type]

    original = path.read_bytes()
    monkeypatch.setattr(type(path), "unlink", spy)
    assert store.store_delete(name)
    assert seen["content"] != original and len(seen["content"]) == len(original)
    assert not path.exists()
