"""The audit log service: the one place that writes and verifies the hash-chained audit trail.

* ``audit_record`` appends an entry. Every sensitive model (subclasses of ``models.Audited``)
  reaches it through ``connect_hooks`` for creates, changes and deletes, whoever makes them (web
  view, API, admin, CLI); sign-ins reach it through Django's authentication signals.
* ``audit_verify`` recomputes the chain and names the first entry that was edited, deleted or
  inserted out of order.

Each entry's hash is an HMAC-SHA256 (keyed with ``settings.AUDIT_KEY``) over its canonical JSON and
the previous entry's hash, so someone who can write to the database but does not hold the key
cannot re-seal an edited chain.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from probity.core.models import Audited, AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"

_actor: contextvars.ContextVar[str] = contextvars.ContextVar("probity_audit_actor", default="system")


@contextmanager
def audit_actor(name: str) -> Iterator[None]:
    """Everything written inside the block is attributed to ``name`` (a user name or ``system:job``)."""
    token = _actor.set(name)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> str:
    return _actor.get()


def actor_name(actor: AbstractBaseUser | None) -> str:
    """How the audit log names who acts: the user's name, or (``None``, the system acting) the current
    ``audit_actor`` such as ``system:cli``."""
    return actor.get_username() if actor is not None else current_actor()


@contextmanager
def audit_as(actor: AbstractBaseUser | None) -> Iterator[None]:
    """``audit_actor`` for a service's acting user; ``None`` keeps the current (system) actor."""
    with audit_actor(actor_name(actor)):
        yield


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


SEALED_FIELDS = (
    "sequence",
    "recorded_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "details",
    "previous_hash",
)


def entry_digest(fields: Mapping[str, Any]) -> str:
    """The seal of one entry: HMAC-SHA256 over its sealed fields (which include the previous seal)."""
    sealed = {name: fields[name] for name in SEALED_FIELDS}
    sealed["recorded_at"] = fields["recorded_at"].astimezone(UTC).isoformat(timespec="microseconds")
    sealed["details"] = _canonical(fields["details"])
    payload = json.dumps(
        sealed,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(settings.AUDIT_KEY.encode(), payload.encode(), hashlib.sha256).hexdigest()


def audit_record(
    *,
    action: str,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Appends one entry to the chain. Runs in its own atomic block holding the chain's head lock."""
    details = _canonical(details or {})
    with transaction.atomic():
        AuditHead.objects.get_or_create(id=1)
        head = AuditHead.objects.select_for_update().get(id=1)
        sequence = head.sequence + 1
        recorded_at = timezone.now()
        fields = {
            "sequence": sequence,
            "recorded_at": recorded_at,
            "actor": (actor or current_actor())[:150],
            "action": action,
            "object_type": object_type[:100],
            "object_id": str(object_id)[:64],
            "object_label": object_label[:200],
            "details": details,
            "previous_hash": head.entry_hash,
        }
        entry_hash = entry_digest(fields)
        entry = AuditEntry.objects.create(entry_hash=entry_hash, **fields)
        head.sequence = sequence
        head.entry_hash = entry_hash
        head.save(update_fields=["sequence", "entry_hash"])
    return entry


@dataclass
class AuditProblem:
    sequence: int
    reason: str


@dataclass
class AuditVerification:
    entries_checked: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify(*, batch_size: int = 2000, progress: Any = None) -> AuditVerification:
    """Recomputes every entry's hash and the links between entries; reports each break by sequence."""
    result = AuditVerification()
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    queryset = AuditEntry.objects.order_by("sequence").values(*SEALED_FIELDS, "entry_hash")
    for row in queryset.iterator(chunk_size=batch_size):
        sequence = row["sequence"]
        if sequence != expected_sequence:
            missing = (
                f"{expected_sequence}" if sequence == expected_sequence + 1 else (f"{expected_sequence}–{sequence - 1}")
            )
            result.problems.append(
                AuditProblem(sequence, f"entries {missing} are missing (deleted) before entry {sequence}")
            )
        if row["previous_hash"] != previous_hash:
            result.problems.append(AuditProblem(sequence, f"entry {sequence} does not link to the entry before it"))
        recomputed = entry_digest(row)
        if not hmac.compare_digest(recomputed, row["entry_hash"]):
            result.problems.append(
                AuditProblem(sequence, f"entry {sequence} was changed after it was written (hash mismatch)")
            )
        previous_hash = row["entry_hash"]
        expected_sequence = sequence + 1
        result.entries_checked += 1
        if progress is not None:
            progress(1)
    head = AuditHead.objects.filter(id=1).first()
    if head is not None:
        if head.sequence != expected_sequence - 1:
            result.problems.append(
                AuditProblem(
                    head.sequence,
                    f"the log ends at entry {expected_sequence - 1} but entry {head.sequence} was written: "
                    "entries at the end were deleted",
                )
            )
        elif head.entry_hash != previous_hash:
            result.problems.append(
                AuditProblem(head.sequence, f"entry {head.sequence} does not match the recorded head of the chain")
            )
    result.head_hash = previous_hash
    return result


# --- hooks: every Audited model, every sign-in ---------------------------------------------------


def _changes(
    instance: models.Model, created: bool, *, redacted: frozenset[str], ignored: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Field values of a new object, or old/new pairs of the fields that changed; redacted ones masked."""
    loaded: dict[str, Any] = getattr(instance, "_audit_loaded", {})
    changes: dict[str, Any] = {}
    for model_field in instance._meta.concrete_fields:
        name = model_field.attname
        if name in ignored:
            continue
        new = getattr(instance, name)
        if created:
            if new in (None, "", {}, []):
                continue
            changes[name] = REDACTED if model_field.name in redacted else new
        elif name in loaded and loaded[name] != new:
            if model_field.name in redacted:
                changes[name] = REDACTED
            else:
                changes[name] = {"from": loaded[name], "to": new}
    return changes


def _label(instance: models.Model) -> str:
    try:
        return str(instance)[:200]
    except Exception:  # a label is a courtesy; never let it block the audit entry
        return ""


def _on_save(sender: type[models.Model], instance: Audited, created: bool, raw: bool = False, **_: Any) -> None:
    if raw:  # fixtures loading
        return
    changes = _changes(instance, created, redacted=type(instance).audit_redacted_fields)
    if not created and not changes:
        return
    audit_record(
        action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_label=_label(instance),
        details={"fields": changes},
    )
    instance._audit_loaded = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _on_delete(sender: type[models.Model], instance: Audited, **_: Any) -> None:
    audit_record(
        action=AuditEntry.Action.DELETE,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_label=_label(instance),
    )


def _on_signed_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    audit_record(
        action=AuditEntry.Action.SIGN_IN,
        actor=user.get_username(),
        object_type="auth.user",
        object_id=str(user.pk),
        object_label=user.get_username(),
    )


def _on_signed_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None:
        audit_record(
            action=AuditEntry.Action.SIGN_OUT,
            actor=user.get_username(),
            object_type="auth.user",
            object_id=str(user.pk),
            object_label=user.get_username(),
        )


def _on_sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    # Django already replaces the password in ``credentials``; only the user name is kept.
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action=AuditEntry.Action.SIGN_IN_FAILED,
        actor=f"anonymous:{username}",
        object_type="auth.user",
        object_label=username,
    )


USER_IGNORED_FIELDS = frozenset({"last_login"})
USER_REDACTED_FIELDS = frozenset({"password"})


def _on_user_pre_save(sender: Any, instance: Any, raw: bool = False, **_: Any) -> None:
    if raw or instance.pk is None:
        return
    instance._audit_loaded = sender.objects.filter(pk=instance.pk).values().first() or {}


def _on_user_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **_: Any) -> None:
    """User accounts are sensitive (they carry roles); their password hash never enters the log."""
    if raw:
        return
    changes = _changes(instance, created, redacted=USER_REDACTED_FIELDS, ignored=USER_IGNORED_FIELDS)
    if changes:
        audit_record(
            action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
            object_type="auth.user",
            object_id=str(instance.pk),
            object_label=instance.get_username(),
            details={"fields": changes},
        )


def _on_user_groups_changed(sender: Any, instance: Any, action: str, pk_set: Any, model: Any, **_: Any) -> None:
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    from django.contrib.auth.models import Group, User

    if isinstance(instance, User):
        names = sorted(Group.objects.filter(pk__in=pk_set or []).values_list("name", flat=True))
        label = instance.get_username()
        audit_record(
            action=AuditEntry.Action.UPDATE,
            object_type="auth.user",
            object_id=str(instance.pk),
            object_label=label,
            details={"roles": {action.removeprefix("post_"): names}},
        )


def connect_hooks() -> None:
    from django.apps import apps
    from django.contrib.auth import signals as auth_signals
    from django.contrib.auth.models import User
    from django.db.models.signals import m2m_changed, pre_save

    pre_save.connect(_on_user_pre_save, sender=User, dispatch_uid="audit-user-pre-save")
    post_save.connect(_on_user_saved, sender=User, dispatch_uid="audit-user-save")
    post_delete.connect(_on_delete, sender=User, dispatch_uid="audit-user-delete")
    m2m_changed.connect(_on_user_groups_changed, sender=User.groups.through, dispatch_uid="audit-user-groups")

    for model in apps.get_models():
        if issubclass(model, Audited):
            post_save.connect(_on_save, sender=model, dispatch_uid=f"audit-save-{model._meta.label_lower}")
            post_delete.connect(_on_delete, sender=model, dispatch_uid=f"audit-delete-{model._meta.label_lower}")
    auth_signals.user_logged_in.connect(_on_signed_in, dispatch_uid="audit-signed-in")
    auth_signals.user_logged_out.connect(_on_signed_out, dispatch_uid="audit-signed-out")
    auth_signals.user_login_failed.connect(_on_sign_in_failed, dispatch_uid="audit-sign-in-failed")
