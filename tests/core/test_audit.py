"""The audit log: every sensitive change is sealed in a chain, and tampering is found and named."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from probity.core.audit import audit_verify
from probity.core.models import AuditEntry, Identifier, Organisation, Person

pytestmark = pytest.mark.django_db


def _table() -> str:
    return connection.ops.quote_name(AuditEntry._meta.db_table)


def test_creating_changing_and_deleting_a_sensitive_record_is_logged() -> None:
    company = Organisation.objects.create(name="Acme Roads LLC")
    company.name = "Acme Roads and Bridges LLC"
    company.save()
    pk = company.pk
    company.delete()
    entries = list(AuditEntry.objects.filter(object_type="core.organisation", object_id=str(pk)))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert entries[1].details["fields"]["name"] == {"from": "Acme Roads LLC", "to": "Acme Roads and Bridges LLC"}


def test_untouched_log_verifies() -> None:
    for n in range(5):
        Organisation.objects.create(name=f"Company {n}")
    result = audit_verify()
    assert result.ok, result.problems
    assert result.entries_checked == AuditEntry.objects.count() >= 5


def test_edited_entry_is_named_by_verify() -> None:
    for n in range(4):
        Organisation.objects.create(name=f"Company {n}")
    target = AuditEntry.objects.order_by("sequence")[2]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table()} SET actor = %s WHERE sequence = %s", ["someone-else", target.sequence])
    result = audit_verify()
    assert not result.ok
    assert [p.sequence for p in result.problems] == [target.sequence]
    assert "changed" in result.problems[0].reason


def test_deleted_entry_is_reported_where_the_gap_is() -> None:
    for n in range(4):
        Organisation.objects.create(name=f"Company {n}")
    target = AuditEntry.objects.order_by("sequence")[1]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE sequence = %s", [target.sequence])
    result = audit_verify()
    assert not result.ok
    assert any(str(target.sequence) in p.reason and "missing" in p.reason for p in result.problems)


def test_truncated_tail_is_reported() -> None:
    for n in range(3):
        Organisation.objects.create(name=f"Company {n}")
    last = AuditEntry.objects.order_by("-sequence").first()
    assert last is not None
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE sequence = %s", [last.sequence])
    result = audit_verify()
    assert not result.ok
    assert "deleted" in result.problems[-1].reason


def test_resealed_entry_without_the_key_is_still_detected() -> None:
    """Recomputing a plain SHA-256 over an edited entry does not fool verify: the seal is keyed."""
    import hashlib

    Organisation.objects.create(name="Company")
    entry = AuditEntry.objects.order_by("sequence").first()
    assert entry is not None
    forged = hashlib.sha256(b"forged").hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table()} SET entry_hash = %s WHERE sequence = %s", [forged, entry.sequence])
    assert not audit_verify().ok


def test_entries_cannot_be_changed_or_deleted_through_the_application() -> None:
    Organisation.objects.create(name="Company")
    entry = AuditEntry.objects.first()
    assert entry is not None
    entry.actor = "someone-else"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


def test_cli_verify_passes_then_fails_naming_the_edited_entry(capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(3):
        Organisation.objects.create(name=f"Company {n}")
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    target = AuditEntry.objects.order_by("sequence")[1]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table()} SET object_label = %s WHERE sequence = %s", ["x", target.sequence])
    with pytest.raises(CommandError, match=f"first at entry {target.sequence}"):
        call_command("audit", "verify")
    assert f"Entry {target.sequence} was changed after it was written" in capsys.readouterr().err


def test_national_id_and_passwords_never_enter_the_log(make_user) -> None:  # type: ignore[no-untyped-def]
    person = Person.objects.create(name="Jane Official")
    Identifier.objects.create(scheme="national_id", issuer="XD", value="8101-2345-6789", person=person)
    make_user("analyst", password="a-very-secret-passphrase-99")
    dump = " ".join(str(e.details) + e.object_label for e in AuditEntry.objects.all())
    assert "8101" not in dump
    assert "a-very-secret-passphrase-99" not in dump
    assert "argon2" not in dump
    identifier = Identifier.objects.get(person=person)
    assert identifier.value == ""  # not stored in clear either
    assert identifier.value_hash == Identifier.hash_value("national_id", "XD", "810123456789")


def test_sign_in_and_failed_sign_in_are_logged(make_user, client) -> None:  # type: ignore[no-untyped-def]
    user = make_user("declarant", password="correct horse battery staple 42")
    client.post("/account/sign-in/", {"username": user.username, "password": "wrong password"})
    client.post("/account/sign-in/", {"username": user.username, "password": "correct horse battery staple 42"})
    actions = list(AuditEntry.objects.filter(object_type="auth.user").values_list("action", flat=True))
    assert "sign_in_failed" in actions and "sign_in" in actions
    assert audit_verify().ok
