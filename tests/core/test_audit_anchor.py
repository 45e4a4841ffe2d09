"""The audit log's head and tail: the head is sealed with the audit key, anchors written outside the database
record how far the log went, and cutting the tail, rewriting or deleting the head is reported as tampering
while audited writes go on."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from probity.core.audit import AuditAnchor, anchor_file, audit_anchor_write, audit_verify, latest_anchor
from probity.core.models import AuditEntry, AuditHead, Job, Organisation, Schedule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def anchor_folder(settings: Any, tmp_path: Path) -> Path:
    """Anchors go to this test's own folder, never to var/."""
    folder = tmp_path / "anchors"
    settings.PROBITY_AUDIT_ANCHOR_DIR = str(folder)
    return folder


def _entries() -> str:
    return connection.ops.quote_name(AuditEntry._meta.db_table)


def _heads() -> str:
    return connection.ops.quote_name(AuditHead._meta.db_table)


def _write(n: int) -> None:
    for i in range(n):
        Organisation.objects.create(name=f"Company {i}")


def _last() -> AuditEntry:
    last = AuditEntry.objects.order_by("-sequence").first()
    assert last is not None
    return last


def _cut_tail(after: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_entries()} WHERE sequence > %s", [after])


def _delete_head() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_heads()}")


def _reasons() -> str:
    return " ".join(problem.reason for problem in audit_verify().problems)


def test_an_untouched_log_with_an_anchor_verifies() -> None:
    _write(3)
    anchor = audit_anchor_write().anchor
    result = audit_verify()
    assert result.ok, result.problems
    assert result.anchor == anchor


def test_tail_cut_and_head_rewritten_to_the_new_end_is_tampering() -> None:
    _write(5)
    keep = AuditEntry.objects.order_by("sequence")[2]
    _cut_tail(keep.sequence)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_heads()} SET sequence = %s, entry_hash = %s WHERE id = 1", [keep.sequence, keep.entry_hash]
        )
    result = audit_verify()
    assert not result.ok
    assert "head of the chain was rewritten" in _reasons()


def test_forged_head_seal_without_the_key_is_tampering() -> None:
    _write(5)
    keep = AuditEntry.objects.order_by("sequence")[2]
    _cut_tail(keep.sequence)
    forged = hmac.new(b"a guessed key", f"{keep.sequence}|{keep.entry_hash}".encode(), hashlib.sha256).hexdigest()
    AuditHead.objects.filter(id=1).update(sequence=keep.sequence, entry_hash=keep.entry_hash, seal=forged)
    assert "head of the chain was rewritten" in _reasons()


def test_head_deleted_is_tampering_and_audited_writes_go_on() -> None:
    _write(3)
    end = _last().sequence
    _delete_head()
    assert "head of the chain is missing" in _reasons()

    company = Organisation.objects.create(name="Written after the head was deleted")  # must not fail
    company.name = "Changed after it"
    company.save()
    assert AuditEntry.objects.filter(object_type="core.organisation", object_id=str(company.pk)).count() == 2
    resumed = AuditEntry.objects.get(action=AuditEntry.Action.TAMPER_DETECTED)
    assert resumed.sequence == end + 1 and resumed.previous_hash == AuditEntry.objects.get(sequence=end).entry_hash

    result = audit_verify()
    assert not result.ok  # the earlier break is still reported
    assert [p.sequence for p in result.problems] == [resumed.sequence]
    assert "head of the chain was missing" in result.problems[0].reason


def test_all_entries_and_head_deleted_is_tampering_against_the_anchor() -> None:
    _write(3)
    anchor = audit_anchor_write().anchor
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_entries()}")
    _delete_head()
    result = audit_verify()
    assert not result.ok
    assert "every entry was deleted" in _reasons()

    Organisation.objects.create(name="Written after the log was emptied")  # must not fail
    resumed = AuditEntry.objects.get(action=AuditEntry.Action.TAMPER_DETECTED)
    assert resumed.sequence > anchor.sequence
    assert not audit_verify().ok


def test_a_replayed_old_head_after_cutting_the_tail_is_caught_by_the_anchor() -> None:
    """An old but genuine head (seal and all) restored after cutting the tail: only the anchor tells."""
    _write(2)
    old_head = AuditHead.objects.values("sequence", "entry_hash", "seal").get(id=1)
    _write(3)
    audit_anchor_write()
    _cut_tail(old_head["sequence"])
    AuditHead.objects.filter(id=1).update(**old_head)
    assert "entries at the end were deleted" in _reasons()


def test_a_forged_anchor_line_is_reported() -> None:
    _write(2)
    audit_anchor_write()
    last = _last()
    forged = AuditAnchor.make(entries=last.sequence, sequence=last.sequence, entry_hash=last.entry_hash)
    forged = AuditAnchor(forged.written_at, forged.entries + 5, forged.sequence + 5, forged.hash_prefix, forged.seal)
    with anchor_file().open("a") as handle:
        handle.write(forged.line() + "\n")
    assert "not an anchor written by Probity" in _reasons()


def test_a_truncated_anchor_file_is_tampering_and_a_deleted_one_is_noticed() -> None:
    _write(2)
    first = audit_anchor_write().anchor
    _write(1)
    audit_anchor_write()
    anchor_file().write_text(first.line() + "\n")  # the later anchor removed
    assert "the file was truncated or replaced" in _reasons()
    anchor_file().unlink()
    result = audit_verify()
    assert result.ok  # a restore on a new machine has no anchor file either
    assert any("there is no anchor file" in notice for notice in result.notices)


def test_the_scheduled_job_appends_an_anchor_to_the_anchor_folder(
    anchor_folder: Path, run_jobs: Callable[[], list[Job]]
) -> None:
    from probity.core.scheduler import schedule_fire, schedules_sync

    _write(2)
    schedules_sync()
    schedule = Schedule.objects.get(code="audit-anchor")
    assert schedule.kind == "core.audit_anchor" and schedule.enabled
    for _ in range(2):
        job = schedule_fire(schedule.pk)
        assert job is not None
        run_jobs()
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
    lines = (anchor_folder / "anchors.txt").read_text().splitlines()
    assert len(lines) == 2  # appended, never rewritten
    anchor = latest_anchor()
    assert anchor is not None and anchor.line() == lines[-1]
    assert job is not None and "anchor" in job.summary and anchor.line() in job.summary
    assert audit_verify().ok


def test_cli_prints_an_anchor_line_and_verify_compares_against_it(capsys: pytest.CaptureFixture[str]) -> None:
    _write(3)
    call_command("audit", "anchor")
    out = capsys.readouterr().out
    line = next(text for text in out.splitlines() if text.startswith("probity audit anchor "))
    assert "Keep this line" in out
    anchor_file().unlink()  # the operator's copy is all that is left

    call_command("audit", "verify", "--anchor", line)
    assert "intact" in capsys.readouterr().out

    _cut_tail(2)
    _delete_head()
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify", "--anchor", line)
    assert failure.value.returncode == 1
    err = capsys.readouterr().err
    lines = [text for text in err.splitlines() if text.strip()]
    assert any(text.startswith("The head of the chain is missing") for text in lines), err
    assert any("entries at the end were deleted" in text for text in lines), err
    for text in lines:  # plain sentences: capitalised, ending with a full stop, no reprs
        assert text[0].isupper() and text.rstrip().endswith("."), text
        assert "{" not in text and "AuditProblem" not in text
    assert "tampered with" in str(failure.value)


def test_cli_verify_reads_an_anchor_file_and_refuses_what_is_no_anchor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(2)
    kept = tmp_path / "kept.txt"
    kept.write_text(audit_anchor_write().anchor.line() + "\n")
    call_command("audit", "verify", "--anchor", str(kept))
    assert "matches the anchor" in capsys.readouterr().out
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify", "--anchor", "not an anchor")
    assert failure.value.returncode == 2


def test_the_audit_page_shows_the_latest_anchor(verified_client: Callable[..., Client]) -> None:
    client = verified_client("administrator")
    page = client.get("/audit/").content.decode()
    assert "No anchor has been written yet" in page
    anchor = audit_anchor_write().anchor
    page = client.get("/audit/").content.decode()
    assert anchor.line() in page


def test_the_migration_seals_a_head_written_before_seals_existed() -> None:
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    _write(2)
    AuditHead.objects.filter(id=1).update(seal="")
    migration = importlib.import_module("probity.core.migrations.0004_audit_seal")
    migration.seal_the_head(apps, SimpleNamespace(connection=connection))
    assert audit_verify().ok
    Organisation.objects.create(name="After the upgrade")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.TAMPER_DETECTED).exists()
