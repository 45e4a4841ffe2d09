"""The audit log service: the one place that writes and verifies the hash-chained audit trail.

* ``audit_record`` appends an entry. Every sensitive model (subclasses of ``models.Audited``)
  reaches it through ``connect_hooks`` for creates, changes and deletes, whoever makes them (web
  view, API, admin, CLI); sign-ins reach it through Django's authentication signals.
* ``audit_verify`` recomputes the chain and names the first entry that was edited, deleted or
  inserted out of order; checks the head's seal; and checks the log against the latest anchor.
* ``audit_anchor_write`` appends an anchor (entries, last sequence and hash, time, sealed) to a file
  outside the database (``PROBITY_AUDIT_ANCHOR_DIR``), on a schedule (job kind ``core.audit_anchor``);
  its one-line form can be kept elsewhere and given to ``probity audit verify --anchor``.

The head row is sealed too (``head_seal``): cutting the tail and rewriting or deleting the head is
found. A write that finds the head missing, forged or not at the end of the log records the tampering
in an entry of its own (``_resume``) and goes on after it; verify keeps reporting that entry.

Each entry's hash is an HMAC-SHA256 (keyed with ``settings.AUDIT_KEY``) over its canonical JSON and
the previous entry's hash, so someone who can write to the database but does not hold the key
cannot re-seal an edited chain.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _g

from probity.core.models import Audited, AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"
logger = logging.getLogger("probity.audit")

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


def _mac(message: str) -> str:
    return hmac.new(settings.AUDIT_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def head_seal(sequence: int, entry_hash: str) -> str:
    """The head's seal: HMAC-SHA256 (audit key) over its sequence and hash (same formula in migration 0004)."""
    return _mac(f"probity-audit-head|{sequence}|{entry_hash}")


def _head_sealed(head: AuditHead) -> bool:
    return bool(head.seal) and hmac.compare_digest(head.seal, head_seal(head.sequence, head.entry_hash))


def _head_is_new(head: AuditHead) -> bool:
    """A head row created just now (by ``get_or_create``): no seal yet, at the genesis."""
    return head.seal == "" and head.sequence == 0 and head.entry_hash == GENESIS_HASH


# --- anchors: checkpoints of the chain kept outside the database ----------------------------------

ANCHOR_FILE_NAME = "anchors.txt"
ANCHOR_PREFIX = "probity audit anchor"
_ANCHOR_LINE = re.compile(
    r"probity audit anchor (?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ): (?P<entries>\d+) entries up to entry "
    r"(?P<sequence>\d+), last hash (?P<hash>[0-9a-f]{16}), seal (?P<seal>[0-9a-f]{16})"
)


def _anchor_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AuditAnchor:
    """A checkpoint of the chain: how many entries, the last one's sequence and (the start of) its hash,
    when, sealed with the audit key. Its one-line form is meant to be kept elsewhere (paper, another
    machine): it holds no secret, and cannot be forged without the key."""

    written_at: datetime
    entries: int
    sequence: int
    hash_prefix: str
    seal: str

    @staticmethod
    def seal_of(written_at: datetime, entries: int, sequence: int, hash_prefix: str) -> str:
        return _mac(f"probity-audit-anchor|{_anchor_time(written_at)}|{entries}|{sequence}|{hash_prefix}")[:16]

    @classmethod
    def make(cls, *, entries: int, sequence: int, entry_hash: str, written_at: datetime | None = None) -> AuditAnchor:
        moment = (written_at or timezone.now()).astimezone(UTC).replace(microsecond=0)
        prefix = entry_hash[:16]
        return cls(moment, entries, sequence, prefix, cls.seal_of(moment, entries, sequence, prefix))

    @classmethod
    def parse(cls, text: str) -> AuditAnchor | None:
        match = _ANCHOR_LINE.search(text)
        if match is None:
            return None
        moment = datetime.strptime(match["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return cls(moment, int(match["entries"]), int(match["sequence"]), match["hash"], match["seal"])

    @property
    def genuine(self) -> bool:
        expected = self.seal_of(self.written_at, self.entries, self.sequence, self.hash_prefix)
        return hmac.compare_digest(self.seal, expected)

    def matches(self, entry_hash: str) -> bool:
        return hmac.compare_digest(entry_hash[:16], self.hash_prefix)

    def line(self) -> str:
        return (
            f"{ANCHOR_PREFIX} {_anchor_time(self.written_at)}: {self.entries} entries up to entry {self.sequence}, "
            f"last hash {self.hash_prefix}, seal {self.seal}"
        )

    def name(self) -> str:
        """How sentences refer to it: "the anchor of 2026-12-07 03:05 UTC"."""
        return _g("the anchor of %(when)s") % {"when": self.written_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def anchor_dir() -> Path:
    """Where anchors are appended: ``PROBITY_AUDIT_ANCHOR_DIR``, or ``VAR_DIR/audit-anchors``."""
    configured = getattr(settings, "PROBITY_AUDIT_ANCHOR_DIR", "")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "audit-anchors"


def anchor_file() -> Path:
    return anchor_dir() / ANCHOR_FILE_NAME


def anchors_parse(text: str) -> tuple[list[AuditAnchor], list[str]]:
    """The genuine anchors in ``text`` (an anchor file, or one line an operator kept), and a sentence for
    every other non-empty line: not an anchor, or one whose seal does not match (forged or altered)."""
    anchors: list[AuditAnchor] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        anchor = AuditAnchor.parse(raw)
        if anchor is not None and anchor.genuine:
            anchors.append(anchor)
        else:
            problems.append(
                _g(
                    "Line %(line)s of the anchors is not an anchor written by Probity with this installation's "
                    "audit key: it was forged or altered."
                )
                % {"line": number}
            )
    return anchors, problems


def _strongest(anchors: list[AuditAnchor]) -> AuditAnchor | None:
    """The latest anchor: the one that reaches furthest (an old line appended again changes nothing)."""
    return max(anchors, key=lambda a: (a.sequence, a.written_at), default=None)


def latest_anchor() -> AuditAnchor | None:
    """The latest genuine anchor of the anchor file, or ``None`` (no file, unreadable, none genuine)."""
    try:
        text = anchor_file().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return _strongest(anchors_parse(text)[0])


def _last_entry() -> tuple[int, str]:
    last = AuditEntry.objects.order_by("-sequence").values_list("sequence", "entry_hash").first()
    return (last[0], last[1]) if last else (0, GENESIS_HASH)


def _locked_head() -> AuditHead:
    """The head row, locked; a missing one is created unsealed (``_head_is_new``) and so noticed."""
    AuditHead.objects.get_or_create(id=1)
    return AuditHead.objects.select_for_update().get(id=1)


def _head_break(head: AuditHead, last: tuple[int, str]) -> str | None:
    """Why the locked head cannot be trusted to extend the chain, or ``None``."""
    if _head_is_new(head):
        if last == (0, GENESIS_HASH) and latest_anchor() is None:
            return None  # a new installation
        return "head_missing"
    if not _head_sealed(head):
        return "head_forged"
    if (head.sequence, head.entry_hash) != last:
        return "head_mismatch"
    return None


def _append(head: AuditHead, fields: dict[str, Any]) -> AuditEntry:
    """Writes one entry after the locked ``head`` and moves the head (sealed) to it."""
    fields = {**fields, "sequence": head.sequence + 1, "previous_hash": head.entry_hash}
    entry_hash = entry_digest(fields)
    entry = AuditEntry.objects.create(entry_hash=entry_hash, **fields)
    head.sequence = entry.sequence
    head.entry_hash = entry_hash
    head.seal = head_seal(entry.sequence, entry_hash)
    head.save()
    return entry


def _resume(head: AuditHead, *, last: tuple[int, str], found: str, anchor: AuditAnchor | None = None) -> AuditEntry:
    """Records that tampering was found, as an entry linked to the last entry still in the log, numbered
    after everything the log is known to have held (so the gap stays visible), and makes it the head."""
    anchor = anchor or latest_anchor()
    known = [last[0]]
    if not _head_is_new(head) and _head_sealed(head):
        known.append(head.sequence)
    if anchor is not None:
        known.append(anchor.sequence)
    details: dict[str, Any] = {
        "found": found,
        "log_ended_at": last[0],
        "head_sequence": None if _head_is_new(head) else head.sequence,
        "anchor_sequence": anchor.sequence if anchor else None,
        "anchor_written_at": _anchor_time(anchor.written_at) if anchor else None,
    }
    head.sequence, head.entry_hash = max(known), last[1]
    entry = _append(
        head,
        {
            "recorded_at": timezone.now(),
            "actor": "system:audit",
            "action": AuditEntry.Action.TAMPER_DETECTED,
            "object_type": "core.auditentry",
            "object_id": "",
            "object_label": "audit log",
            "details": details,
        },
    )
    logger.error("audit log: tampering found (%s); the log continues at entry %s", found, entry.sequence)
    return entry


def audit_record(
    *,
    action: str,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Appends one entry to the chain. Runs in its own atomic block holding the chain's head lock.

    A head that is missing, not sealed with the audit key, or not at the end of the log is tampering: an
    entry recording it is written first (``_resume``), and the write goes on after it."""
    details = _canonical(details or {})
    with transaction.atomic():
        head = _locked_head()
        last = _last_entry()
        found = _head_break(head, last)
        if found is not None:
            _resume(head, last=last, found=found)
        return _append(
            head,
            {
                "recorded_at": timezone.now(),
                "actor": (actor or current_actor())[:150],
                "action": action,
                "object_type": object_type[:100],
                "object_id": str(object_id)[:64],
                "object_label": object_label[:200],
                "details": details,
            },
        )


@dataclass
class AnchorWritten:
    anchor: AuditAnchor
    tampering: str | None = None  # a sentence when the log no longer matched the previous anchor


def _anchor_break(anchor: AuditAnchor) -> bool:
    """Whether the log no longer holds what ``anchor`` recorded."""
    if anchor.sequence == 0:
        return False
    at = AuditEntry.objects.filter(sequence=anchor.sequence).values_list("entry_hash", flat=True).first()
    if at is None or not anchor.matches(at):
        return True
    return AuditEntry.objects.filter(sequence__lte=anchor.sequence).count() < anchor.entries


def audit_anchor_write() -> AnchorWritten:
    """Appends an anchor of the log as it is now to the anchor file, and records that it did in the log.

    If the log no longer matches the previous anchor (or its head is broken), that is recorded in the log
    first, so the new anchor never hides it."""
    previous = latest_anchor()
    tampering = None
    with transaction.atomic():
        head = _locked_head()
        last = _last_entry()
        found = _head_break(head, last)
        if found is None and previous is not None and _anchor_break(previous):
            found = "anchor_mismatch"
        if found is not None:
            entry = _resume(head, last=last, found=found, anchor=previous)
            tampering = _tamper_sentence(entry.sequence, entry.details)
            last = (entry.sequence, entry.entry_hash)
        entries = AuditEntry.objects.count()
    anchor = AuditAnchor.make(entries=entries, sequence=last[0], entry_hash=last[1])
    folder = anchor_dir()
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / ANCHOR_FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, (anchor.line() + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    audit_record(
        action=AuditEntry.Action.ANCHOR,
        object_type="core.auditentry",
        object_label="audit anchor",
        details={
            "anchor_sequence": anchor.sequence,
            "entries": anchor.entries,
            "hash": anchor.hash_prefix,
            "written_at": _anchor_time(anchor.written_at),
        },
    )
    return AnchorWritten(anchor, tampering)


# --- verification ----------------------------------------------------------------------------------


def _tamper_sentence(sequence: int, details: Mapping[str, Any]) -> str:
    found = details.get("found")
    if found == "head_missing":
        what = _g("the head of the chain was missing")
    elif found == "head_forged":
        what = _g("the head of the chain had been rewritten without the audit key")
    elif found == "anchor_mismatch":
        what = _g("the log no longer held what the anchor up to entry %(anchor)s recorded") % {
            "anchor": details.get("anchor_sequence")
        }
    else:
        what = _g("the head of the chain (entry %(head)s) was not at the end of the log") % {
            "head": details.get("head_sequence")
        }
    ended = details.get("log_ended_at") or 0
    after = (
        _g("The log went on after entry %(last)s, the last one left.") % {"last": ended}
        if ended
        else _g("No entry was left; the log started again.")
    )
    return _g("Entry %(seq)s records that tampering was found when it was written: %(what)s. %(after)s") % {
        "seq": sequence,
        "what": what,
        "after": after,
    }


@dataclass
class AuditProblem:
    sequence: int
    reason: str


@dataclass
class AuditVerification:
    entries_checked: int = 0
    head_hash: str = GENESIS_HASH
    last_sequence: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    anchor: AuditAnchor | None = None
    # Sentences that do not prove tampering but need a look (the anchor file is absent).
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify(*, batch_size: int = 2000, progress: Any = None, anchor_text: str | None = None) -> AuditVerification:
    """Recomputes every entry's hash and the links between entries; checks the head's seal and that the log
    still holds what the latest anchor recorded; reports each break by sequence, in sentences.

    ``anchor_text`` is an anchor line (or a file's text) an operator kept; without it, the anchor file."""
    result = AuditVerification()
    from_file = anchor_text is None
    if anchor_text is None:
        try:
            anchor_text = anchor_file().read_text(encoding="utf-8", errors="replace")
        except OSError:
            anchor_text = None
    anchors, bad_lines = anchors_parse(anchor_text or "")
    anchor = result.anchor = _strongest(anchors)
    result.problems.extend(AuditProblem(0, sentence) for sentence in bad_lines)

    previous_hash = GENESIS_HASH
    expected_sequence = 1
    covered = 0  # entries up to the anchor's
    anchored_hash: str | None = None
    recorded_anchor: dict[str, Any] | None = None
    queryset = AuditEntry.objects.order_by("sequence").values(*SEALED_FIELDS, "entry_hash")
    for row in queryset.iterator(chunk_size=batch_size):
        sequence = row["sequence"]
        if sequence == expected_sequence + 1:
            result.problems.append(
                AuditProblem(
                    sequence,
                    _g("Entry %(missing)s is missing before entry %(seq)s: it was deleted.")
                    % {"missing": expected_sequence, "seq": sequence},
                )
            )
        elif sequence != expected_sequence:
            result.problems.append(
                AuditProblem(
                    sequence,
                    _g("Entries %(first)s to %(last)s are missing before entry %(seq)s: they were deleted.")
                    % {"first": expected_sequence, "last": sequence - 1, "seq": sequence},
                )
            )
        if row["previous_hash"] != previous_hash:
            result.problems.append(
                AuditProblem(sequence, _g("Entry %(seq)s does not link to the entry before it.") % {"seq": sequence})
            )
        recomputed = entry_digest(row)
        if not hmac.compare_digest(recomputed, row["entry_hash"]):
            result.problems.append(
                AuditProblem(
                    sequence,
                    _g("Entry %(seq)s was changed after it was written: its seal does not match.") % {"seq": sequence},
                )
            )
        if row["action"] == AuditEntry.Action.TAMPER_DETECTED:
            result.problems.append(AuditProblem(sequence, _tamper_sentence(sequence, row["details"] or {})))
        elif row["action"] == AuditEntry.Action.ANCHOR:
            recorded_anchor = row
        if anchor is not None and sequence <= anchor.sequence:
            covered += 1
            if sequence == anchor.sequence:
                anchored_hash = row["entry_hash"]
        previous_hash = row["entry_hash"]
        expected_sequence = sequence + 1
        result.entries_checked += 1
        if progress is not None:
            progress(1)
    last_sequence = result.last_sequence = expected_sequence - 1
    result.head_hash = previous_hash
    _check_head(result, last_sequence, previous_hash)
    if anchor is not None:
        _check_anchor(result, anchor, last_sequence, covered, anchored_hash)
    if from_file and recorded_anchor is not None:
        recorded = int((recorded_anchor["details"] or {}).get("anchor_sequence") or 0)
        sentence_values = {
            "seq": recorded_anchor["sequence"],
            "anchor": recorded,
            "file": str(anchor_file()),
        }
        if anchor is None and not bad_lines and not anchor_file().exists():
            result.notices.append(
                _g(
                    "Entry %(seq)s records an anchor up to entry %(anchor)s, but there is no anchor file at "
                    "%(file)s. Unless it was moved on purpose (a restore, a new folder), it was deleted: "
                    "compare with an anchor line kept elsewhere (probity audit verify --anchor)."
                )
                % sentence_values
            )
        elif anchor is None or anchor.sequence < recorded:
            result.problems.append(
                AuditProblem(
                    recorded_anchor["sequence"],
                    _g(
                        "Entry %(seq)s records an anchor up to entry %(anchor)s, but the anchor file %(file)s has "
                        "no such anchor: the file was truncated or replaced."
                    )
                    % sentence_values,
                )
            )
    return result


def _check_head(result: AuditVerification, last_sequence: int, last_hash: str) -> None:
    head = AuditHead.objects.filter(id=1).first()
    if head is None or _head_is_new(head):
        if result.entries_checked:
            result.problems.append(
                AuditProblem(
                    last_sequence,
                    _g(
                        "The head of the chain is missing: it was deleted from the database, so entries at the end "
                        "may have been cut."
                    ),
                )
            )
    elif not _head_sealed(head):
        result.problems.append(
            AuditProblem(
                head.sequence,
                _g("The head of the chain was rewritten without the audit key: its seal does not match."),
            )
        )
    elif head.sequence > last_sequence:
        result.problems.append(
            AuditProblem(
                head.sequence,
                _g("The log ends at entry %(last)s but entry %(head)s was written: entries at the end were deleted.")
                % {"last": last_sequence, "head": head.sequence},
            )
        )
    elif head.sequence < last_sequence:
        result.problems.append(
            AuditProblem(
                head.sequence,
                _g(
                    "The head of the chain is at entry %(head)s but the log goes on to entry %(last)s: the head was "
                    "put back to an earlier state."
                )
                % {"last": last_sequence, "head": head.sequence},
            )
        )
    elif head.entry_hash != last_hash:
        result.problems.append(
            AuditProblem(
                head.sequence,
                _g("Entry %(seq)s does not match the recorded head of the chain.") % {"seq": head.sequence},
            )
        )


def _check_anchor(
    result: AuditVerification, anchor: AuditAnchor, last_sequence: int, covered: int, anchored_hash: str | None
) -> None:
    values = {"anchor": anchor.name(), "n": anchor.entries, "seq": anchor.sequence, "last": last_sequence}
    if anchor.sequence > last_sequence:
        if result.entries_checked == 0:
            reason = _g(
                "The log is empty, but %(anchor)s records %(n)s entries up to entry %(seq)s: every entry was deleted."
            )
        else:
            reason = _g(
                "The log ends at entry %(last)s, but %(anchor)s records entries up to entry %(seq)s: entries at the "
                "end were deleted."
            )
    elif anchor.sequence and anchored_hash is None:
        reason = _g("Entry %(seq)s, the last one %(anchor)s records, is missing: it was deleted.")
    elif anchored_hash is not None and not anchor.matches(anchored_hash):
        reason = _g("Entry %(seq)s does not match %(anchor)s: the log up to it was rewritten.")
    elif covered < anchor.entries:
        values["k"] = anchor.entries - covered
        reason = _g("%(k)s of the %(n)s entries that %(anchor)s records are missing: they were deleted.")
    else:
        return
    result.problems.append(AuditProblem(anchor.sequence, reason % values))


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
