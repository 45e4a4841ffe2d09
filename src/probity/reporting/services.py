"""Write operations of the reporting channel. Every function is keyword-only; views, the API and the CLI
call these and nothing lower.

Keys in short (details in docs/reference/reporting.md and crypto.py):

* a **staff member** unlocks their X25519 private key with their password (``staff_keys_unlock``);
  for the web session it is kept wrapped in the server-side session, the wrapping key in a signed
  cookie (``staff_session_store`` / ``staff_session_key``);
* a **report** has three key pairs — content, case, identity — whose private halves are sealed to the
  people who may read them (``ReportKeyGrant``) and, for content and identity, wrapped with a key derived
  from the reporter's receipt;
* a **reporter** signs in with the receipt (``reporter_sign_in``, throttled) and gets a
  ``ReporterSession`` holding the unwrapped content and identity keys, kept between requests in the
  database (``ReporterSessionState``), wrapped with a key that lives in the reporter's cookie
  (``reporter_session_open``/``…_resume``).

Flood control (``ReportingThrottle``, ``UsedChallenge``) lives in the database too, so every worker shares it
and a restart does not reset it; rows are keyed by keyed HMACs (never an address) and pruned by the
``reporting.prune`` job (``reporting_state_prune``):

* **receipts** — a client (a keyed HMAC of its address, the key derived from the pepper and the day) gets
  ``SIGN_IN_CLIENT_FAILURES`` wrong receipts free; after that every try needs a solved proof of work whose
  difficulty doubles with each further failure (or, without JavaScript, a wait that doubles). Many failures
  from everywhere ask everyone for the base proof of work. The right receipt is never refused outright:
  the attacker slows himself.
* **challenges** are signed, not stored (``intake_challenge_new``); only a spent one is remembered, until it
  would have expired; a client gets at most ``CHALLENGE_CLIENT_LIMIT`` an hour.
* **staff key passwords** — ``staff_keys_unlock`` counts wrong passwords per staff member (whatever the
  address), locks the key after ``KEY_UNLOCK_FAILURES`` (the right password is refused too, until a time it
  names), audits every try, and runs at most ``KDF_CONCURRENCY`` Argon2id derivations at once per process.

Errors: ``ValueError`` (bad input, shown to the user), ``PermissionDenied`` (no right), ``Throttled``
(too many attempts; ``retry_after`` seconds), ``crypto.DecryptionError`` (wrong password or receipt).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from nacl.public import PrivateKey

from probity.core.audit import actor_name, audit_as, audit_record
from probity.core.models import AuditEntry
from probity.core.modules import HookRefused
from probity.reporting import attachments as store
from probity.reporting import crypto, receipts
from probity.reporting.crypto import DecryptionError
from probity.reporting.keyring import ReporterSession, ReportKeys
from probity.reporting.models import (
    Attachment,
    Channel,
    DisclosureRequest,
    Report,
    ReportAssignment,
    ReportEntry,
    ReporterSessionState,
    ReportingThrottle,
    ReportKeyGrant,
    StaffKey,
    UsedChallenge,
)
from probity.reporting.notifications import notify_disclosure_request, notify_new_report, notify_reporter_message
from probity.reporting.selectors import report_timeline

__all__ = [
    "AnswersInvalid",
    "DecryptionError",
    "Throttled",
    "KeyUnlockLocked",
    "KdfBusy",
    "ReporterSession",
    "ReportKeys",
    "UploadLike",
    "client_fingerprint",
    "intake_challenge_new",
    "intake_guard",
    "staff_keys_create",
    "staff_keys_unlock",
    "staff_keys_rewrap",
    "staff_password_change",
    "staff_keys_recover",
    "staff_session_store",
    "staff_session_key",
    "staff_session_clear",
    "staff_key_from_request",
    "staff_key_cookie_set",
    "STAFF_KEY_COOKIE",
    "channel_save",
    "questionnaire_validate",
    "answers_validate",
    "report_submit",
    "report_intake_by_staff",
    "reporter_sign_in",
    "reporter_session_open",
    "reporter_session_resume",
    "reporter_session_close",
    "report_keys_for_staff",
    "report_message_add",
    "report_identity_add",
    "report_transcript_confirm",
    "report_note_add",
    "report_acknowledge",
    "report_status_set",
    "report_assign",
    "report_forward",
    "report_unassign",
    "identity_disclosure_request",
    "identity_disclosure_approve",
    "identity_disclosure_refuse",
    "report_close",
    "report_delete",
    "report_export",
    "attachment_add",
    "reporting_state_prune",
]

STAFF_KEY_COOKIE = "probity_reporting_key"
STAFF_KEY_COOKIE_SALT = "probity.reporting.staff-key"
STAFF_SESSION_FIELD = "reporting_wrapped_key"
REPORTER_SESSION_SECONDS = 30 * 60

# Throttling of receipt guesses: per client (keyed hash of the address) a few free failures, then a proof of
# work that doubles with each failure; many failures overall ask everyone for the base proof of work.
SIGN_IN_CLIENT_FAILURES = 5
SIGN_IN_CLIENT_WINDOW = 60 * 60  # sliding: a client's failures are forgotten an hour after the last one
SIGN_IN_GLOBAL_FAILURES = 200
SIGN_IN_GLOBAL_WINDOW = 60 * 60
SIGN_IN_POW_MAX_EXTRA_BITS = 6  # at most 64 times the base work (or wait)
# Flood control of submissions.
SUBMIT_CLIENT_LIMIT = 10
SUBMIT_CLIENT_WINDOW = 60 * 60
SUBMIT_GLOBAL_LIMIT = 600
SUBMIT_GLOBAL_WINDOW = 60 * 60
CHALLENGE_SECONDS = 60 * 60
CHALLENGE_CLIENT_LIMIT = 200
CHALLENGE_MIN_WAIT = 5  # seconds a challenge must be old when submitted without a proof of work
CHALLENGE_SALT = "probity.reporting.challenge"
# Staff key passwords: per staff member, whatever the address.
KEY_UNLOCK_FAILURES = 5
KEY_UNLOCK_LOCK_SECONDS = 15 * 60  # the first lock; each further failure doubles it
KEY_UNLOCK_LOCK_MAX_SECONDS = 24 * 60 * 60
KEY_UNLOCK_MEMORY_SECONDS = 24 * 60 * 60  # failures are forgotten a day after the last one
# Argon2id derivations of staff keys (256 MiB each by default) running at once in this process.
KDF_CONCURRENCY = max(1, int(getattr(settings, "PROBITY_REPORTING_KDF_CONCURRENCY", 2)))
KDF_SLOTS = threading.BoundedSemaphore(KDF_CONCURRENCY)
KDF_WAIT_SECONDS = 2.0
KDF_RETRY_SECONDS = 5


class Throttled(Exception):
    """Too many attempts from this client (or overall); try again after ``retry_after`` seconds.

    ``challenge`` (``{"token", "bits", "wait"}``), when set, is a way in now: solve it (or wait ``wait``
    seconds) and send it with the next try."""

    def __init__(
        self,
        retry_after: int,
        message: str = "too many attempts; please wait and try again",
        *,
        challenge: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.challenge = challenge


class KeyUnlockLocked(Throttled):
    """Too many wrong passwords for this staff member's key: refused, even the right one, until ``until``."""

    def __init__(self, until: datetime) -> None:
        retry_after = max(1, int((until - timezone.now()).total_seconds()))
        super().__init__(retry_after, f"the reporting key is locked until {until:%Y-%m-%d %H:%M} UTC")
        self.until = until


class KdfBusy(Throttled):
    """Other keys are being opened right now (each needs much memory); try again in a few seconds."""

    def __init__(self) -> None:
        super().__init__(KDF_RETRY_SECONDS, "the server is busy opening other keys; try again in a few seconds")


class AnswersInvalid(ValueError):
    """The answers do not fit the questionnaire; ``problems`` maps each question id to its reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{qid}: {reason}" for qid, reason in problems.items()))
        self.problems = problems


class UploadLike(Protocol):
    """What ``attachments`` items must offer: Django's ``UploadedFile`` does."""

    name: str | None

    def chunks(self, chunk_size: int | None = ...) -> Iterable[bytes]: ...


def _today() -> date:
    return timezone.localdate()


def _event(report: Report | None, event: str, *, actor: User, details: dict[str, Any] | None = None) -> None:
    """An audit entry for a staff action on a report: the reference and the event, never content."""
    audit_record(
        action=AuditEntry.Action.OTHER,
        actor=actor_name(actor),
        object_type="reporting.report",
        object_id=str(report.pk) if report is not None else "",
        object_label=report.reference if report is not None else "",
        details={"event": event, **(details or {})},
    )


# --- flood control, held in the database (shared by every worker, kept across restarts) ------------


def _state_secret(purpose: str) -> bytes:
    """A key for the keyed hashes of flood control, derived from the pepper (never stored)."""
    return hashlib.sha256(f"probity-reporting-{purpose}:".encode() + receipts.pepper()).digest()


def client_fingerprint(*, address: str) -> str:
    """An unlinkable-after-a-day tag of a client address (keyed HMAC; the key is derived from the pepper and
    the day, so it is not in the database), for rate limits only."""
    key = _state_secret(f"client:{_today().isoformat()}")
    return hmac.new(key, (address or "-").encode(), hashlib.sha256).hexdigest()[:32]


def _throttle_key(kind: str, subject: str) -> str:
    return hmac.new(_state_secret("throttle"), f"{kind}:{subject}".encode(), hashlib.sha256).hexdigest()


def _throttle_row(kind: str, subject: str) -> ReportingThrottle | None:
    """The live counter of ``kind`` for ``subject``, or None (never counted, or expired)."""
    return ReportingThrottle.objects.filter(key=_throttle_key(kind, subject), expires_at__gt=timezone.now()).first()


def _peek(kind: str, subject: str = "all") -> int:
    row = _throttle_row(kind, subject)
    return row.count if row is not None else 0


def _hit(
    kind: str,
    subject: str,
    window: int,
    *,
    sliding: bool = False,
    lock: Callable[[int], int] | None = None,
) -> ReportingThrottle:
    """Counts one more for ``subject``; the count ends ``window`` seconds after the first (or, ``sliding``,
    the latest) one. ``lock(count)`` gives the seconds to lock for (0: none). Atomic across workers."""
    key = _throttle_key(kind, subject)
    now = timezone.now()
    with transaction.atomic():
        row = ReportingThrottle.objects.select_for_update().filter(key=key).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = ReportingThrottle.objects.create(key=key, kind=kind, count=0, expires_at=now)
            except IntegrityError:
                row = ReportingThrottle.objects.select_for_update().get(key=key)
        if row.expires_at <= now:
            row.count = 0
            row.locked_until = None
        row.count += 1
        if sliding or row.count == 1:
            row.expires_at = now + timedelta(seconds=window)
        locked_for = lock(row.count) if lock is not None else 0
        if locked_for:
            row.locked_until = now + timedelta(seconds=locked_for)
            row.expires_at = max(row.expires_at, row.locked_until)
        row.save(update_fields=["count", "expires_at", "locked_until"])
    return row


def _forget(kind: str, subject: str) -> None:
    ReportingThrottle.objects.filter(key=_throttle_key(kind, subject)).delete()


def reporting_state_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Deletes expired counters, reporter sessions and spent challenges (the ``reporting.prune`` job)."""
    now = now or timezone.now()
    throttles, _ = ReportingThrottle.objects.filter(expires_at__lte=now).delete()
    sessions, _ = ReporterSessionState.objects.filter(expires_at__lte=now).delete()
    challenges, _ = UsedChallenge.objects.filter(expires_at__lte=now).delete()
    return {"throttles": throttles, "sessions": sessions, "challenges": challenges}


def _pow_bits() -> int:
    return int(getattr(settings, "PROBITY_REPORTING_POW_BITS", 16))


def _challenge_issue(*, purpose: str, bits: int, wait: int, client: str) -> dict[str, Any]:
    """A signed challenge (nothing is stored); ``client`` gets at most ``CHALLENGE_CLIENT_LIMIT`` an hour."""
    if client and _hit("challenge", client_fingerprint(address=client), SUBMIT_CLIENT_WINDOW).count > (
        CHALLENGE_CLIENT_LIMIT
    ):
        raise Throttled(SUBMIT_CLIENT_WINDOW)
    payload = {"p": purpose, "b": bits, "w": wait, "t": round(timezone.now().timestamp(), 3)}
    payload["n"] = secrets.token_urlsafe(9)
    token = signing.dumps(payload, salt=CHALLENGE_SALT)
    return {"token": token, "bits": bits, "wait": wait}


def _challenge_read(token: str, *, purpose: str) -> dict[str, Any]:
    """The payload of a challenge we issued for ``purpose``; ValueError for a forged, altered or old one."""
    try:
        payload = signing.loads(token, salt=CHALLENGE_SALT, max_age=CHALLENGE_SECONDS)
    except signing.BadSignature as exc:
        raise ValueError("the form has expired or was already sent; please reload it") from exc
    if not isinstance(payload, dict) or payload.get("p") != purpose:
        raise ValueError("the form has expired or was already sent; please reload it")
    return payload


def _challenge_solved(token: str, solution: str, bits: int) -> bool:
    return _leading_zero_bits(hashlib.sha256(f"{token}:{solution}".encode()).digest()) >= bits


def _challenge_spend(token: str, payload: Mapping[str, Any]) -> None:
    """Marks a challenge used; ValueError if it already was (by this or any other worker)."""
    expires = datetime.fromtimestamp(float(payload["t"]) + CHALLENGE_SECONDS, tz=timezone.get_current_timezone())
    try:
        with transaction.atomic():
            UsedChallenge.objects.create(digest=hashlib.sha256(token.encode()).hexdigest(), expires_at=expires)
    except IntegrityError as exc:
        raise ValueError("the form has expired or was already sent; please reload it") from exc


def intake_challenge_new(*, bits: int | None = None, client: str = "") -> dict[str, Any]:
    """A one-use challenge for a report form: ``{"token", "bits", "wait"}``.

    A client with JavaScript finds a ``solution`` such that SHA-256(token + ":" + solution) starts with
    ``bits`` zero bits (hashcash); a client without JavaScript may submit without a solution once the
    challenge is ``CHALLENGE_MIN_WAIT`` seconds old (a cost in time, not CPU). ``PROBITY_REPORTING_POW_BITS``
    sets ``bits`` (default 16). The token is signed, not stored, so a flood of challenges fills nothing;
    with ``client`` (the raw address or its pseudonym) one client may get at most ``CHALLENGE_CLIENT_LIMIT``
    challenges an hour (``Throttled`` beyond).
    """
    surge = _submit_surge()
    wanted = (bits if bits is not None else _pow_bits()) + surge
    return _challenge_issue(purpose="report", bits=wanted, wait=CHALLENGE_MIN_WAIT * 2**surge, client=client)


def intake_challenge_terms(token: str) -> dict[str, Any]:
    """``{"token", "bits", "wait"}`` of a report challenge we issued (to show the same one again); a token
    that is not one of ours gets the base terms, and ``intake_guard`` will refuse it."""
    try:
        payload = _challenge_read(token, purpose="report")
    except ValueError:
        return {"token": token, "bits": _pow_bits(), "wait": CHALLENGE_MIN_WAIT}
    return {"token": token, "bits": int(payload["b"]), "wait": int(payload["w"])}


def _submit_surge() -> int:
    """Extra proof-of-work bits while everyone together sends more than ``SUBMIT_GLOBAL_LIMIT`` reports an
    hour: one more bit (twice the work, or twice the wait) for each further limit's worth, at most
    ``SIGN_IN_POW_MAX_EXTRA_BITS``. A flood makes every sender pay more; it never shuts the channel."""
    total = _peek("submit-all")
    if total < SUBMIT_GLOBAL_LIMIT:
        return 0
    return min(SIGN_IN_POW_MAX_EXTRA_BITS, 1 + (total - SUBMIT_GLOBAL_LIMIT) // SUBMIT_GLOBAL_LIMIT)


def _leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        bits += 8 - byte.bit_length()
        break
    return bits


def pow_solve(*, token: str, bits: int) -> str:
    """Finds a solution to a challenge (what the reporter's browser script does; used in tests and tools)."""
    counter = 0
    while True:
        candidate = str(counter)
        if _leading_zero_bits(hashlib.sha256(f"{token}:{candidate}".encode()).digest()) >= bits:
            return candidate
        counter += 1


def intake_guard(*, client: str, challenge: str | None, solution: str | None = None) -> None:
    """Flood control before a submission: a valid one-use challenge and the rate limits.

    ``client`` is the raw client address (or its pseudonym): it is only used as a keyed hash. Raises
    ``ValueError`` for a missing, forged, used or unsolved challenge and ``Throttled`` when this client sent
    too much. Everyone together is never refused: while more than ``SUBMIT_GLOBAL_LIMIT`` reports an hour
    arrive, challenges cost more (``_submit_surge``), and one issued before the surge is answered with
    ``Throttled`` carrying a new, dearer one.
    """
    if not challenge:
        raise ValueError("the form has expired; please reload it")
    payload = _challenge_read(challenge, purpose="report")
    surge = _submit_surge()
    if surge and int(payload["b"]) < _pow_bits() + surge:
        fresh = _challenge_issue(
            purpose="report", bits=_pow_bits() + surge, wait=CHALLENGE_MIN_WAIT * 2**surge, client=client
        )
        raise Throttled(int(fresh["wait"]), "many reports are arriving; send the form again", challenge=fresh)
    if solution:
        if not _challenge_solved(challenge, solution, int(payload["b"])):
            raise ValueError("the anti-flood check failed; please reload the form")
    elif timezone.now().timestamp() - float(payload["t"]) < max(float(payload["w"]), CHALLENGE_MIN_WAIT):
        raise Throttled(CHALLENGE_MIN_WAIT, "please wait a few seconds before sending the form")
    tag = client_fingerprint(address=client)
    if _peek("submit", tag) >= SUBMIT_CLIENT_LIMIT:
        raise Throttled(SUBMIT_CLIENT_WINDOW)
    _challenge_spend(challenge, payload)
    _hit("submit", tag, SUBMIT_CLIENT_WINDOW)
    _hit("submit-all", "all", SUBMIT_GLOBAL_WINDOW)


# --- staff keys ---------------------------------------------------------------------------------


def _wrap_for(secret: str, private_key: PrivateKey) -> tuple[bytes, crypto.KdfParams]:
    params = crypto.new_kdf_params()
    return crypto.wrap(crypto.derive_key(secret, params), bytes(private_key)), params


def _unwrap_with(secret: str, wrapped: bytes, salt: bytes, opslimit: int, memlimit: int) -> PrivateKey:
    """Opens a wrapped staff key; at most ``KDF_CONCURRENCY`` derivations at once (``KdfBusy`` when the
    server is busy for longer than ``KDF_WAIT_SECONDS``)."""
    if not KDF_SLOTS.acquire(timeout=KDF_WAIT_SECONDS):
        raise KdfBusy
    try:
        key = crypto.derive_key(secret, crypto.KdfParams(bytes(salt), opslimit, memlimit))
    finally:
        KDF_SLOTS.release()
    return PrivateKey(crypto.unwrap(key, bytes(wrapped)))


def staff_keys_create(*, user: User, password: str, replace: bool = False) -> str:
    """Creates the user's key pair; returns the recovery key, to be shown once and never stored.

    The password must be the user's current account password (checked). ``replace`` discards an
    existing key pair — reports sealed to the old key become unreadable to this user.
    """
    if not user.check_password(password):
        raise ValueError("the password is not this user's password")
    if StaffKey.objects.filter(user=user).exists() and not replace:
        raise ValueError("this user already has a key pair")
    private_key = crypto.new_key_pair()
    recovery_key = receipts.recovery_key_new()
    password_wrapped, password_params = _wrap_for(password, private_key)
    recovery_wrapped, recovery_params = _wrap_for(receipts.recovery_key_normalise(recovery_key), private_key)
    with transaction.atomic(), audit_as(user):
        StaffKey.objects.filter(user=user).delete()
        ReportKeyGrant.objects.filter(user=user).delete()  # sealed to the discarded key: useless now
        StaffKey.objects.create(
            user=user,
            public_key=crypto.public_bytes(private_key),
            password_wrapped=password_wrapped,
            password_salt=password_params.salt,
            password_opslimit=password_params.opslimit,
            password_memlimit=password_params.memlimit,
            recovery_wrapped=recovery_wrapped,
            recovery_salt=recovery_params.salt,
            recovery_opslimit=recovery_params.opslimit,
            recovery_memlimit=recovery_params.memlimit,
        )
    return recovery_key


def _key_lock_seconds(failures: int) -> int:
    if failures < KEY_UNLOCK_FAILURES:
        return 0
    doublings = min(failures - KEY_UNLOCK_FAILURES, 16)
    return int(min(KEY_UNLOCK_LOCK_SECONDS * 2**doublings, KEY_UNLOCK_LOCK_MAX_SECONDS))


def _key_unlock_audit(user: User, outcome: str, via: str) -> None:
    """One audit entry per try to open a staff key: who, how and the outcome — never the password or address."""
    audit_record(
        action=AuditEntry.Action.OTHER,
        actor=actor_name(user),
        object_type="reporting.staff_key",
        object_id=str(user.pk),
        object_label=user.get_username(),
        details={"event": "key_unlock", "outcome": outcome, "via": via},
    )


def _open_staff_key(staff_key: StaffKey, password: str) -> PrivateKey:
    return _unwrap_with(
        password,
        staff_key.password_wrapped,
        staff_key.password_salt,
        staff_key.password_opslimit,
        staff_key.password_memlimit,
    )


def staff_keys_unlock(*, user: User, password: str, via: str = "service") -> PrivateKey:
    """The user's private key, opened with their password. Raises LookupError (no key pair),
    ``DecryptionError`` (wrong password), ``KeyUnlockLocked`` (after ``KEY_UNLOCK_FAILURES`` wrong passwords,
    whatever the address: even the right one is refused until the time it names; each further failure
    doubles the lock) or ``KdfBusy`` (too many keys being opened at once). Every try is audited with
    ``via`` ("page", "api", "cli"), never the password."""
    staff_key = StaffKey.objects.filter(user=user).first()
    if staff_key is None:
        raise LookupError("this user has no reporting key pair")
    subject = str(user.pk)
    row = _throttle_row("key-unlock", subject)
    if row is not None and row.locked_until is not None and row.locked_until > timezone.now():
        _key_unlock_audit(user, "locked", via)
        raise KeyUnlockLocked(row.locked_until)
    try:
        private_key = _open_staff_key(staff_key, password)
    except KdfBusy:
        _key_unlock_audit(user, "busy", via)
        raise
    except DecryptionError:
        _hit("key-unlock", subject, KEY_UNLOCK_MEMORY_SECONDS, sliding=True, lock=_key_lock_seconds)
        _key_unlock_audit(user, "wrong_password", via)
        raise
    if row is not None:
        _forget("key-unlock", subject)
    _key_unlock_audit(user, "success", via)
    return private_key


def staff_keys_rewrap(*, user: User, private_key: PrivateKey, new_password: str) -> None:
    """Wraps an already unlocked private key under a new password (e.g. from the session key)."""
    staff_key = StaffKey.objects.get(user=user)
    if crypto.public_bytes(private_key) != bytes(staff_key.public_key):
        raise ValueError("this private key is not the user's")
    wrapped, params = _wrap_for(new_password, private_key)
    with audit_as(user):
        staff_key.password_wrapped = wrapped
        staff_key.password_salt = params.salt
        staff_key.password_opslimit = params.opslimit
        staff_key.password_memlimit = params.memlimit
        staff_key.save()


def staff_password_change(*, user: User, old_password: str, new_password: str) -> bool:
    """Re-wraps the private key when the user changes their password; returns False if they have no key.

    The reporting module's answer to core's ``password_changed`` hook (``ReportingConfig.hooks``), called
    in the transaction that changes the password — *with the old password*, before or after
    ``user.set_password(new_password)``. Raises ``HookRefused`` (with the sentence for the user) if the
    old password does not open the key: the password must not change then, or the key would be lost.
    """
    staff_key = StaffKey.objects.filter(user=user).first()
    if staff_key is None:
        return False
    try:
        # The old password was checked by the password change itself: no key-unlock throttle here.
        private_key = _open_staff_key(staff_key, old_password)
    except KdfBusy as exc:
        raise HookRefused(
            gettext("The server is busy opening other keys, so the password was not changed. Try again in a minute.")
        ) from exc
    except DecryptionError as exc:
        raise HookRefused(
            gettext(
                "Your reporting key could not be opened with your current password, so the password was not "
                "changed. Ask a key custodian to restore your key with your recovery key first."
            )
        ) from exc
    staff_keys_rewrap(user=user, private_key=private_key, new_password=new_password)
    return True


def staff_keys_recover(*, user: User, recovery_key: str, new_password: str) -> str:
    """Opens the private key with the recovery key after a forgotten password, wraps it under
    ``new_password`` and returns a **new** recovery key (the used one is retired). The caller sets the
    account password to ``new_password`` too. Raises ``DecryptionError`` for a wrong recovery key."""
    staff_key = StaffKey.objects.filter(user=user).first()
    if staff_key is None:
        raise LookupError("this user has no reporting key pair")
    private_key = _unwrap_with(
        receipts.recovery_key_normalise(recovery_key),
        staff_key.recovery_wrapped,
        staff_key.recovery_salt,
        staff_key.recovery_opslimit,
        staff_key.recovery_memlimit,
    )
    new_recovery_key = receipts.recovery_key_new()
    recovery_wrapped, recovery_params = _wrap_for(receipts.recovery_key_normalise(new_recovery_key), private_key)
    password_wrapped, password_params = _wrap_for(new_password, private_key)
    with audit_as(user):
        staff_key.password_wrapped = password_wrapped
        staff_key.password_salt = password_params.salt
        staff_key.password_opslimit = password_params.opslimit
        staff_key.password_memlimit = password_params.memlimit
        staff_key.recovery_wrapped = recovery_wrapped
        staff_key.recovery_salt = recovery_params.salt
        staff_key.recovery_opslimit = recovery_params.opslimit
        staff_key.recovery_memlimit = recovery_params.memlimit
        staff_key.save()
    return new_recovery_key


def staff_session_store(*, session: Any, private_key: PrivateKey) -> str:
    """Keeps the unlocked key for this session: wrapped in ``session`` (server side), the wrapping key
    returned as the value of the ``STAFF_KEY_COOKIE`` cookie (set it with ``staff_key_cookie_set``)."""
    cookie_key, wrapped = crypto.session_wrap(private_key)
    session[STAFF_SESSION_FIELD] = base64.b64encode(wrapped).decode()
    return base64.urlsafe_b64encode(cookie_key).decode()


def staff_session_key(*, session: Any, cookie_value: str | None) -> PrivateKey | None:
    """The unlocked key of this session, or None (never unlocked, other browser, or session ended)."""
    wrapped = session.get(STAFF_SESSION_FIELD)
    if not wrapped or not cookie_value:
        return None
    try:
        return crypto.session_unwrap(base64.urlsafe_b64decode(cookie_value), base64.b64decode(wrapped))
    except (DecryptionError, ValueError, TypeError):
        return None


def staff_session_clear(*, session: Any) -> None:
    session.pop(STAFF_SESSION_FIELD, None)


def staff_key_cookie_set(*, response: HttpResponse, cookie_value: str) -> None:
    """Sets the signed, HttpOnly, SameSite=Strict, session-lifetime cookie with the wrapping key."""
    response.set_signed_cookie(
        STAFF_KEY_COOKIE,
        cookie_value,
        salt=STAFF_KEY_COOKIE_SALT,
        httponly=True,
        samesite="Strict",
        secure=bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
        path="/",
    )


def staff_key_from_request(*, request: HttpRequest) -> PrivateKey | None:
    """The unlocked private key of the signed-in staff member for this request, or None."""
    cookie_value = request.get_signed_cookie(STAFF_KEY_COOKIE, default=None, salt=STAFF_KEY_COOKIE_SALT)
    return staff_session_key(session=request.session, cookie_value=cookie_value)


# --- channels -----------------------------------------------------------------------------------

QUESTION_KINDS = {"text", "textarea", "choice", "multichoice", "date", "amount", "file"}


def questionnaire_validate(*, questionnaire: Any) -> list[dict[str, Any]]:
    """Checks a questionnaire's shape; raises ValueError naming the question and the problem."""
    if not isinstance(questionnaire, list):
        raise ValueError("a questionnaire is a list of questions")
    seen: set[str] = set()
    for index, question in enumerate(questionnaire, start=1):
        if not isinstance(question, dict):
            raise ValueError(f"question {index} is not an object")
        qid = question.get("id")
        if not isinstance(qid, str) or not qid.isidentifier():
            raise ValueError(f"question {index} needs an 'id' made of letters, digits and _")
        if qid in seen:
            raise ValueError(f"question {qid!r} appears twice")
        seen.add(qid)
        if question.get("kind") not in QUESTION_KINDS:
            raise ValueError(f"question {qid!r} has the unknown kind {question.get('kind')!r}")
        if not isinstance(question.get("label"), str) or not question["label"].strip():
            raise ValueError(f"question {qid!r} needs a label")
        if question["kind"] in {"choice", "multichoice"}:
            choices = question.get("choices")
            if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
                raise ValueError(f"question {qid!r} needs a list of choices")
        show_if = question.get("show_if")
        if show_if is not None and (not isinstance(show_if, dict) or show_if.get("question") not in seen - {qid}):
            raise ValueError(f"question {qid!r}: 'show_if' must name an earlier question")
    return questionnaire


def _question_shown(question: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    show_if = question.get("show_if")
    if not show_if:
        return True
    given = answers.get(show_if["question"])
    wanted = show_if.get("equals")
    return given == wanted or (isinstance(given, list) and wanted in given)


def answers_validate(*, channel: Channel, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers cleaned against the channel's questionnaire; raises ValueError with one line per problem
    (``"question_id: reason"``; ``AnswersInvalid.problems`` has them as a dict). Unknown keys are refused;
    hidden conditional questions are dropped."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    questions = {q["id"]: q for q in channel.questionnaire}
    for key in answers:
        if key not in questions:
            problems[str(key)] = "not a question of this channel"
    for qid, question in questions.items():
        if question["kind"] == "file":
            continue  # files come as attachments
        if not _question_shown(question, clean):
            continue
        value = answers.get(qid)
        if value in (None, "", []):
            if question.get("required"):
                problems[qid] = "an answer is required"
            continue
        kind = question["kind"]
        try:
            if kind in {"text", "textarea"}:
                if not isinstance(value, str):
                    raise ValueError("must be text")
                if len(value) > 50_000:
                    raise ValueError("is too long (50,000 characters at most)")
                clean[qid] = value.strip()
            elif kind == "choice":
                if value not in question["choices"]:
                    raise ValueError("is not one of the choices")
                clean[qid] = value
            elif kind == "multichoice":
                values = value if isinstance(value, list) else [value]
                if any(v not in question["choices"] for v in values):
                    raise ValueError("is not one of the choices")
                clean[qid] = values
            elif kind == "date":
                clean[qid] = date.fromisoformat(str(value)).isoformat()
            elif kind == "amount":
                amount = Decimal(str(value).replace(",", "").strip())
                if not amount.is_finite() or amount < 0:
                    raise ValueError("must be a positive amount")
                clean[qid] = str(amount)
        except (ValueError, InvalidOperation, TypeError) as exc:
            reason = (
                str(exc)
                if isinstance(exc, ValueError) and str(exc).startswith(("must", "is"))
                else ("is not a valid date (YYYY-MM-DD)" if kind == "date" else "is not valid")
            )
            problems[qid] = reason
    if problems:
        raise AnswersInvalid(problems)
    return clean


def channel_save(
    *,
    slug: str,
    name: str,
    actor: User | None = None,
    description: str | None = None,
    jurisdiction: str | None = None,
    questionnaire: list[dict[str, Any]] | None = None,
    acknowledge_days: int | None = None,
    feedback_days: int | None = None,
    retention_days: dict[str, int] | None = None,
    retention_warning_days: int | None = None,
    max_attachments: int | None = None,
    max_attachment_bytes: int | None = None,
    recipients: Sequence[User] | None = None,
    custodians: Sequence[User] | None = None,
    active: bool | None = None,
) -> Channel:
    """Creates or updates the channel ``slug``; arguments left at None keep their current value. ``actor``
    None: the system sets it up, under the current ``audit_actor`` (the CLI's ``system:cli``)."""
    if questionnaire is not None:
        questionnaire_validate(questionnaire=questionnaire)
    if retention_days is not None and (
        not isinstance(retention_days, dict) or not all(isinstance(v, int) and v >= 0 for v in retention_days.values())
    ):
        raise ValueError("retention days are a mapping of outcome to a number of days")
    with transaction.atomic(), audit_as(actor):
        channel = Channel.objects.filter(slug=slug).first() or Channel(slug=slug)
        channel.name = name
        for attribute, value in (
            ("description", description),
            ("jurisdiction", jurisdiction),
            ("questionnaire", questionnaire),
            ("acknowledge_days", acknowledge_days),
            ("feedback_days", feedback_days),
            ("retention_days", retention_days),
            ("retention_warning_days", retention_warning_days),
            ("max_attachments", max_attachments),
            ("max_attachment_bytes", max_attachment_bytes),
            ("active", active),
        ):
            if value is not None:
                setattr(channel, attribute, value)
        channel.full_clean(exclude=["recipients", "custodians"])
        channel.save()
        for relation, users in (("recipients", recipients), ("custodians", custodians)):
            if users is not None:
                getattr(channel, relation).set(users)
                audit_record(
                    action=AuditEntry.Action.UPDATE,
                    actor=actor_name(actor),
                    object_type="reporting.channel",
                    object_id=str(channel.pk),
                    object_label=channel.slug,
                    details={relation: sorted(u.get_username() for u in users)},
                )
    return channel


# --- intake ---------------------------------------------------------------------------------


def _reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        reference = "R-" + "".join(secrets.choice(alphabet) for _ in range(8))
        if not Report.objects.filter(reference=reference).exists():
            return reference


def _next_sequence(report: Report) -> int:
    current = ReportEntry.objects.filter(report=report).aggregate(top=Max("sequence"))["top"]
    return (current or 0) + 1


def _add_entry(
    report: Report,
    *,
    kind: str,
    body: Any,
    author: User | None = None,
    staff_only: bool = False,
    feedback: bool = False,
) -> ReportEntry:
    public_key = bytes(report.case_public_key if staff_only else report.content_public_key)
    return ReportEntry.objects.create(
        report=report,
        sequence=_next_sequence(report),
        kind=kind,
        author=author,
        created_on=_today(),
        body=crypto.seal_json(public_key, body),
        staff_only=staff_only,
        feedback=feedback,
        read_by_reporter=author is None,
    )


def _grant(report: Report, user: User, purpose: str, private_key: PrivateKey) -> bool:
    staff_key = StaffKey.objects.filter(user=user).first()
    if staff_key is None:
        return False
    ReportKeyGrant.objects.update_or_create(
        report=report,
        user=user,
        purpose=purpose,
        defaults={
            "sealed_key": crypto.seal_private_key(bytes(staff_key.public_key), private_key),
            "granted_on": _today(),
        },
    )
    return True


def attachment_add(
    *,
    report: Report,
    upload: UploadLike,
    entry: ReportEntry | None = None,
    from_reporter: bool = True,
    strip: bool = True,
) -> Attachment:
    """Stores one file encrypted (and a metadata-stripped copy of images and PDFs when ``strip``).

    Raises ``attachments.AttachmentRejected`` (a ValueError) for an empty, oversized or unreadable file or
    when the report already has the channel's maximum number of files.
    """
    channel = report.channel
    if Attachment.objects.filter(report=report, from_reporter=from_reporter).count() >= channel.max_attachments:
        raise store.AttachmentRejected(f"at most {channel.max_attachments} files may be attached")
    name = store.clean_name(str(upload.name or "file"))
    declared = getattr(upload, "size", None)
    if declared is not None and declared > channel.max_attachment_bytes:
        raise store.AttachmentRejected(f"{name}: a file may be at most {channel.max_attachment_bytes} bytes")
    buffer = bytearray()
    limit = channel.max_attachment_bytes
    try:
        for chunk in upload.chunks():
            buffer += chunk
            if len(buffer) > limit:
                raise store.AttachmentRejected(f"{name}: a file may be at most {limit} bytes")
    except store.AttachmentRejected:
        raise
    except Exception as exc:  # a broken stream  # noqa: BLE001
        raise store.AttachmentRejected(f"{name}: the file could not be read") from exc
    if not buffer:
        raise store.AttachmentRejected(f"{name}: the file is empty")
    data = bytes(buffer)
    content_type = store.sniff(data[:16])
    file_key = crypto.new_file_key()
    storage_name, size, encrypted_size = store.store_write(file_key, [data])
    stripped_name = ""
    stripping = Attachment.Stripping.NOT_SUPPORTED
    if strip:
        result = store.strip_metadata(data, content_type)
        stripping = Attachment.Stripping(result.status)
        if result.data is not None:
            stripped_name, _size, _encrypted = store.store_write(file_key, [result.data])
    content_key = bytes(report.content_public_key)
    try:
        return Attachment.objects.create(
            report=report,
            entry=entry,
            storage_name=storage_name,
            stripped_storage_name=stripped_name,
            stripping=stripping,
            file_key=crypto.seal(content_key, file_key),
            meta=crypto.seal_json(content_key, {"name": name, "content_type": content_type, "size": size}),
            encrypted_size=encrypted_size,
            created_on=_today(),
            from_reporter=from_reporter,
        )
    except BaseException:
        store.store_delete(storage_name)
        store.store_delete(stripped_name)
        raise


def _check_attachments(channel: Channel, uploads: Sequence[UploadLike]) -> None:
    if len(uploads) > channel.max_attachments:
        raise store.AttachmentRejected(f"at most {channel.max_attachments} files may be attached")
    for upload in uploads:
        size = getattr(upload, "size", None)
        if size is not None and size > channel.max_attachment_bytes:
            raise store.AttachmentRejected(
                f"{store.clean_name(str(upload.name or 'file'))}: a file may be at most "
                f"{channel.max_attachment_bytes} bytes"
            )


def _identity_clean(identity: Mapping[str, Any] | str | None) -> dict[str, Any] | None:
    if identity is None:
        return None
    if isinstance(identity, str):
        identity = {"text": identity}
    clean = {str(k): str(v).strip() for k, v in identity.items() if v not in (None, "")}
    if any(len(v) > 5000 for v in clean.values()):
        raise ValueError("identity: a field is too long")
    return clean or None


def report_submit(
    *,
    channel: Channel,
    answers: Mapping[str, Any],
    attachments: Sequence[UploadLike] = (),
    identity: Mapping[str, Any] | str | None = None,
    intake: str = Report.Intake.WEB,
    transcript: str | None = None,
    staff: User | None = None,
) -> tuple[Report, str]:
    """Files a report; returns it with the **receipt** (16 digits), which is shown once and never stored.

    ``answers`` are checked against the channel's questionnaire (ValueError naming each question);
    ``identity`` is optional (a mapping such as ``{"name", "contact"}`` or free text). The report's keys
    are sealed to the channel's recipients and its identity key to the channel's custodians (those with
    a key pair). An automatic acknowledgement is added to the timeline and recipients get an e-mail
    without content. No IP address, user agent or time of day is stored; dates are days.
    """
    if not channel.active:
        raise ValueError("this channel does not accept reports")
    attachments = list(attachments)
    _check_attachments(channel, attachments)
    clean_answers = answers_validate(channel=channel, answers=answers) if transcript is None else dict(answers)
    clean_identity = _identity_clean(identity)
    receipt = receipts.receipt_new()
    content_key, case_key, identity_key = crypto.new_key_pair(), crypto.new_key_pair(), crypto.new_key_pair()
    params = crypto.new_kdf_params("receipt")
    receipt_key = crypto.derive_key(receipts.receipt_normalise(receipt), params)
    today = _today()
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reference=_reference(),
                channel=channel,
                intake=intake,
                received_on=today,
                acknowledge_due=today + timedelta(days=channel.acknowledge_days),
                feedback_due=today + timedelta(days=channel.feedback_days),
                lookup_hash=receipts.receipt_lookup_hash(receipt),
                receipt_salt=params.salt,
                receipt_opslimit=params.opslimit,
                receipt_memlimit=params.memlimit,
                content_public_key=crypto.public_bytes(content_key),
                case_public_key=crypto.public_bytes(case_key),
                identity_public_key=crypto.public_bytes(identity_key),
                receipt_wrapped_content_key=crypto.wrap(receipt_key, bytes(content_key)),
                receipt_wrapped_identity_key=crypto.wrap(receipt_key, bytes(identity_key)),
                identity=(
                    crypto.seal_json(crypto.public_bytes(identity_key), clean_identity) if clean_identity else None
                ),
                has_identity=bool(clean_identity),
            )
            if transcript is not None:
                entry = _add_entry(
                    report,
                    kind=ReportEntry.Kind.TRANSCRIPT,
                    body={"text": transcript, "answers": clean_answers},
                    author=staff,
                )
            else:
                entry = _add_entry(report, kind=ReportEntry.Kind.ANSWERS, body=clean_answers)
            for upload in attachments:
                stored.append(attachment_add(report=report, upload=upload, entry=entry, from_reporter=staff is None))
            _add_entry(report, kind=ReportEntry.Kind.EVENT, body={"event": "received"}, author=None)
            recipients = list(channel.recipients.filter(is_active=True))
            if staff is not None and staff not in recipients:
                recipients.append(staff)
            for user in recipients:
                if _grant(report, user, ReportKeyGrant.Purpose.CONTENT, content_key):
                    _grant(report, user, ReportKeyGrant.Purpose.CASE, case_key)
                    ReportAssignment.objects.get_or_create(report=report, user=user, defaults={"assigned_on": today})
            for custodian in channel.custodians.filter(is_active=True):
                _grant(report, custodian, ReportKeyGrant.Purpose.IDENTITY, identity_key)
            if staff is not None:
                _event(report, "intake_by_staff", actor=staff, details={"intake": intake})
    except BaseException:
        for attachment in stored:
            store.store_delete(attachment.storage_name)
            store.store_delete(attachment.stripped_storage_name)
        raise
    transaction.on_commit(lambda: notify_new_report(report))
    return report, receipt


def report_intake_by_staff(
    *,
    channel: Channel,
    user: User,
    transcript: str,
    intake: str = Report.Intake.PHONE,
    answers: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | str | None = None,
    attachments: Sequence[UploadLike] = (),
) -> tuple[Report, str]:
    """A handler records an oral or phone report: the typed ``transcript`` becomes the first entry, the
    handler is assigned, and the returned receipt is given to the reporter, who can read the transcript
    with it and answer through the channel."""
    if not user.has_perm("reporting.handle_report"):
        raise PermissionDenied("your role may not take reports")
    if not StaffKey.objects.filter(user=user).exists():
        raise ValueError("create your reporting key pair first")
    if intake not in (Report.Intake.ORAL, Report.Intake.PHONE, Report.Intake.POST):
        raise ValueError("intake by staff is oral, phone or post")
    if not transcript.strip():
        raise ValueError("the transcript is empty")
    return report_submit(
        channel=channel,
        answers=answers or {},
        attachments=attachments,
        identity=identity,
        intake=intake,
        transcript=transcript.strip(),
        staff=user,
    )


# --- reporter sessions ----------------------------------------------------------------------


def _sign_in_requirement(tag: str) -> tuple[int, int] | None:
    """The proof of work (bits) or wait (seconds) this client must pay for its next try, or None (free)."""
    failures = _peek("signin", tag)
    if failures >= SIGN_IN_CLIENT_FAILURES:
        extra = min(failures - SIGN_IN_CLIENT_FAILURES, SIGN_IN_POW_MAX_EXTRA_BITS)
        return _pow_bits() + extra, CHALLENGE_MIN_WAIT * 2**extra
    if _peek("signin-all") >= SIGN_IN_GLOBAL_FAILURES:
        return _pow_bits(), CHALLENGE_MIN_WAIT
    return None


def _sign_in_pay(*, client: str, tag: str, challenge: str | None, solution: str | None) -> None:
    """Checks the proof of work (or the wait) this client owes; ``Throttled`` with a fresh challenge if not paid."""
    need = _sign_in_requirement(tag)
    if need is None:
        return
    bits, wait = need
    if challenge:
        try:
            payload = _challenge_read(challenge, purpose="receipt")
        except ValueError:
            payload = None
        if payload is not None and int(payload["b"]) >= bits:
            age = timezone.now().timestamp() - float(payload["t"])
            paid = (
                _challenge_solved(challenge, solution, int(payload["b"]))
                if solution
                else age >= max(int(payload["w"]), wait)
            )
            if paid:
                try:
                    _challenge_spend(challenge, payload)
                except ValueError:
                    pass
                else:
                    return
    fresh = _challenge_issue(purpose="receipt", bits=bits, wait=wait, client=client)
    raise Throttled(wait, "too many attempts; solve the new challenge or wait, then try again", challenge=fresh)


def reporter_sign_in(
    *, receipt: str, client: str = "", challenge: str | None = None, solution: str | None = None
) -> ReporterSession:
    """Opens a report with its receipt. ``client`` is the raw client address (or its pseudonym), only used as
    a keyed hash. Raises ``LookupError`` ("no report has this receipt") for a wrong receipt.

    A client gets ``SIGN_IN_CLIENT_FAILURES`` wrong receipts free (an hour after its last failure, it starts
    again); after that every try, right or wrong, raises ``Throttled`` carrying a ``challenge`` unless it
    brings one solved (``challenge`` and ``solution``; or, without a solution, one at least ``wait`` seconds
    old) — each further failure doubles the work. After ``SIGN_IN_GLOBAL_FAILURES`` failures from everyone in
    an hour, every client pays the base work: never a refusal of the right receipt.
    Does not call ``authenticate()``: nothing is logged about the reporter."""
    tag = client_fingerprint(address=client)
    _sign_in_pay(client=client, tag=tag, challenge=challenge, solution=solution)
    try:
        lookup = receipts.receipt_lookup_hash(receipt)
    except ValueError:
        lookup = ""
    report = Report.objects.select_related("channel").filter(lookup_hash=lookup).first() if lookup else None
    if report is None:
        _hit("signin", tag, SIGN_IN_CLIENT_WINDOW, sliding=True)
        _hit("signin-all", "all", SIGN_IN_GLOBAL_WINDOW)
        raise LookupError("no report has this receipt")
    params = crypto.KdfParams(bytes(report.receipt_salt), report.receipt_opslimit, report.receipt_memlimit)
    receipt_key = crypto.derive_key(receipts.receipt_normalise(receipt), params)
    content = PrivateKey(crypto.unwrap(receipt_key, bytes(report.receipt_wrapped_content_key)))
    identity = PrivateKey(crypto.unwrap(receipt_key, bytes(report.receipt_wrapped_identity_key)))
    return ReporterSession(report=report, keys=ReportKeys(report=report, content=content, identity=identity))


def _session_hash(session_id: str) -> str:
    return hmac.new(_state_secret("reporter-session"), session_id.encode(), hashlib.sha256).hexdigest()


def reporter_session_open(*, session: ReporterSession) -> str:
    """Keeps a signed-in reporter for ``REPORTER_SESSION_SECONDS``: returns a token for a cookie (or the
    ``X-Reporter-Session`` header of the API). The database holds a keyed hash of the session id and the
    report and its keys wrapped; the token holds the wrapping key, so neither alone opens anything (nor says
    which report it is)."""
    session_id = secrets.token_urlsafe(18)
    cookie_key = crypto.new_file_key()
    payload = json.dumps(
        {
            "report": session.report.pk,
            "content": base64.b64encode(bytes(session.keys.content)).decode(),
            "identity": base64.b64encode(bytes(session.keys.identity or b"")).decode(),
        }
    ).encode()
    ReporterSessionState.objects.create(
        session_hash=_session_hash(session_id),
        wrapped=crypto.wrap(cookie_key, payload),
        expires_at=timezone.now() + timedelta(seconds=REPORTER_SESSION_SECONDS),
    )
    session.token = f"{session_id}.{base64.urlsafe_b64encode(cookie_key).decode()}"
    return session.token


def reporter_session_resume(*, token: str | None) -> ReporterSession | None:
    """The reporter behind a session token, or None (expired, signed out, or forged); renews its lifetime."""
    if not token or "." not in token:
        return None
    session_id, _, key_text = token.partition(".")
    now = timezone.now()
    stored = ReporterSessionState.objects.filter(session_hash=_session_hash(session_id), expires_at__gt=now).first()
    if stored is None:
        return None
    try:
        payload = json.loads(crypto.unwrap(base64.urlsafe_b64decode(key_text), bytes(stored.wrapped)))
    except (DecryptionError, ValueError, TypeError):
        return None
    report = Report.objects.select_related("channel").filter(pk=payload["report"]).first()
    if report is None:
        stored.delete()
        return None
    renewed = now + timedelta(seconds=REPORTER_SESSION_SECONDS)
    if renewed - stored.expires_at > timedelta(minutes=1):  # one write a minute at most
        ReporterSessionState.objects.filter(pk=stored.pk).update(expires_at=renewed)
    identity_bytes = base64.b64decode(payload["identity"])
    keys = ReportKeys(
        report=report,
        content=PrivateKey(base64.b64decode(payload["content"])),
        identity=PrivateKey(identity_bytes) if identity_bytes else None,
    )
    return ReporterSession(report=report, keys=keys, token=token)


def reporter_session_close(*, token: str | None) -> None:
    if token and "." in token:
        ReporterSessionState.objects.filter(session_hash=_session_hash(token.partition(".")[0])).delete()


# --- staff access ---------------------------------------------------------------------------


def _assignment(report: Report, user: User) -> ReportAssignment | None:
    return ReportAssignment.objects.filter(report=report, user=user, active=True).first()


def report_keys_for_staff(*, report: Report, user: User, private_key: PrivateKey) -> ReportKeys:
    """The report keys this staff member holds. Raises ``PermissionDenied`` unless they may handle reports,
    are actively assigned and hold a content grant (custodians reach identity through the disclosure
    services, not here)."""
    if not user.has_perm("reporting.handle_report") or _assignment(report, user) is None:
        raise PermissionDenied("you are not assigned to this report")
    grants = {g.purpose: g for g in ReportKeyGrant.objects.filter(report=report, user=user)}
    if ReportKeyGrant.Purpose.CONTENT not in grants:
        raise PermissionDenied("this report's key was not shared with you")

    def open_grant(purpose: str) -> PrivateKey | None:
        grant = grants.get(purpose)
        return crypto.unseal_private_key(private_key, bytes(grant.sealed_key)) if grant else None

    content = open_grant(ReportKeyGrant.Purpose.CONTENT)
    assert content is not None
    return ReportKeys(
        report=report,
        content=content,
        case=open_grant(ReportKeyGrant.Purpose.CASE),
        identity=open_grant(ReportKeyGrant.Purpose.IDENTITY),
    )


def _require_handler(report: Report, user: User) -> None:
    if not user.has_perm("reporting.handle_report") or _assignment(report, user) is None:
        raise PermissionDenied("you are not assigned to this report")


def _require_open(report: Report) -> None:
    if report.is_closed:
        raise ValueError("the report is closed")


# --- conversation -----------------------------------------------------------------------------


def report_message_add(
    *,
    report: Report,
    text: str,
    attachments: Sequence[UploadLike] = (),
    author: User | None = None,
    feedback: bool = False,
) -> ReportEntry:
    """Adds a message to the conversation: from the reporter when ``author`` is None (the caller has a
    ``ReporterSession`` for this report), else from an assigned handler. ``feedback=True`` marks a staff
    message as the statutory feedback (sets ``feedback_given_on``). Messages are sealed to the content key."""
    text = (text or "").strip()
    attachments = list(attachments)
    if not text and not attachments:
        raise ValueError("the message is empty")
    if len(text) > 50_000:
        raise ValueError("the message is too long (50,000 characters at most)")
    if author is not None:
        _require_handler(report, author)
    if report.is_closed and author is None:
        raise ValueError("the report is closed; messages can no longer be added")
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            kind = ReportEntry.Kind.REPORTER_MESSAGE if author is None else ReportEntry.Kind.STAFF_MESSAGE
            entry = _add_entry(report, kind=kind, body={"text": text}, author=author, feedback=feedback)
            for upload in attachments:
                stored.append(attachment_add(report=report, upload=upload, entry=entry, from_reporter=author is None))
            if author is not None:
                if feedback and report.feedback_given_on is None:
                    report.feedback_given_on = _today()
                    report.save(update_fields=["feedback_given_on"])
                _event(report, "message_sent" if not feedback else "feedback_given", actor=author)
    except BaseException:
        for attachment in stored:
            store.store_delete(attachment.storage_name)
            store.store_delete(attachment.stripped_storage_name)
        raise
    if author is None:
        transaction.on_commit(lambda: notify_reporter_message(report))
    return entry


def report_identity_add(*, session: ReporterSession, identity: Mapping[str, Any] | str) -> Report:
    """The reporter gives (or replaces) their identity later; sealed to the report's identity key."""
    clean = _identity_clean(identity)
    if not clean:
        raise ValueError("the identity is empty")
    report = session.report
    report.identity = crypto.seal_json(bytes(report.identity_public_key), clean)
    report.has_identity = True
    report.save(update_fields=["identity", "has_identity"])
    _add_entry(report, kind=ReportEntry.Kind.EVENT, body={"event": "identity_given"})
    return report


def report_transcript_confirm(*, session: ReporterSession, agreed: bool, comment: str = "") -> ReportEntry:
    """The reporter checks the transcript of their oral/phone report: agrees, or gives corrections.
    Recorded as a reporter message ``{"text": comment, "transcript_confirmed": agreed}``."""
    report = session.report
    if not ReportEntry.objects.filter(report=report, kind=ReportEntry.Kind.TRANSCRIPT).exists():
        raise ValueError("this report has no transcript")
    if not agreed and not comment.strip():
        raise ValueError("please say what is wrong in the transcript")
    entry = _add_entry(
        report,
        kind=ReportEntry.Kind.REPORTER_MESSAGE,
        body={"text": comment.strip(), "transcript_confirmed": bool(agreed)},
    )
    transaction.on_commit(lambda: notify_reporter_message(report))
    return entry


def report_note_add(*, report: Report, user: User, text: str, kind: str = ReportEntry.Kind.NOTE) -> ReportEntry:
    """A triage note (``kind="note"``) or retaliation-risk assessment (``kind="risk"``; ``text`` may be a
    JSON-able dict such as ``{"level": "high", "text": …}``), sealed to the case key: never shown to the
    reporter."""
    if kind not in (ReportEntry.Kind.NOTE, ReportEntry.Kind.RISK):
        raise ValueError("a note is a triage note or a risk assessment")
    _require_handler(report, user)
    body: Any = text if isinstance(text, dict) else {"text": str(text).strip()}
    if isinstance(body, dict) and not any(str(v).strip() for v in body.values()):
        raise ValueError("the note is empty")
    entry = _add_entry(report, kind=kind, body=body, author=user, staff_only=True)
    _event(report, "note_added" if kind == ReportEntry.Kind.NOTE else "risk_assessed", actor=user)
    return entry


# --- case handling ------------------------------------------------------------------------------


def report_acknowledge(*, report: Report, user: User, message: str | None = None) -> Report:
    """The handler's acknowledgement (due within the channel's ``acknowledge_days``); an optional message
    to the reporter goes with it."""
    _require_handler(report, user)
    _require_open(report)
    with transaction.atomic():
        if report.acknowledged_on is None:
            report.acknowledged_on = _today()
        if report.status == Report.Status.RECEIVED:
            report.status = Report.Status.ACKNOWLEDGED
        report.save(update_fields=["acknowledged_on", "status"])
        _add_entry(report, kind=ReportEntry.Kind.EVENT, body={"event": "acknowledged"}, author=user)
        if message and message.strip():
            report_message_add(report=report, text=message, author=user)
        _event(
            report, "acknowledged", actor=user, details={"on_time": report.acknowledged_on <= report.acknowledge_due}
        )
    return report


def report_status_set(*, report: Report, user: User, status: str, sub_status: str = "") -> Report:
    """Moves the report to ``status`` (not ``closed``: use ``report_close``) with an optional sub-status."""
    _require_handler(report, user)
    _require_open(report)
    if status not in Report.Status.values or status == Report.Status.CLOSED:
        raise ValueError(f"{status!r} is not a status that can be set here")
    if sub_status not in Report.SubStatus.values:
        raise ValueError(f"{sub_status!r} is not a sub-status")
    with transaction.atomic():
        previous = report.status
        report.status = status
        report.sub_status = sub_status
        fields = ["status", "sub_status"]
        if status == Report.Status.INVESTIGATION and report.investigation_opened_on is None:
            report.investigation_opened_on = _today()
            fields.append("investigation_opened_on")
        if status != Report.Status.RECEIVED and report.acknowledged_on is None:
            report.acknowledged_on = _today()
            fields.append("acknowledged_on")
        report.save(update_fields=fields)
        _add_entry(
            report,
            kind=ReportEntry.Kind.EVENT,
            body={"event": "status", "status": status, "sub_status": sub_status},
            author=user,
        )
        _event(report, "status_changed", actor=user, details={"from": previous, "to": status, "sub_status": sub_status})
    return report


def report_assign(
    *, report: Report, user: User, private_key: PrivateKey, assignee: User, keep_own: bool = True
) -> ReportAssignment:
    """Shares the report with another handler (content and case keys resealed to them, never the identity
    key). ``keep_own=False`` is a reassignment: the caller's assignment and grants end."""
    keys = report_keys_for_staff(report=report, user=user, private_key=private_key)
    if not assignee.has_perm("reporting.handle_report"):
        raise ValueError(f"{assignee.get_username()} may not handle reports")
    if not StaffKey.objects.filter(user=assignee).exists():
        raise ValueError(f"{assignee.get_username()} has no reporting key pair yet")
    with transaction.atomic():
        _grant(report, assignee, ReportKeyGrant.Purpose.CONTENT, keys.content)
        if keys.case is not None:
            _grant(report, assignee, ReportKeyGrant.Purpose.CASE, keys.case)
        assignment, _created = ReportAssignment.objects.update_or_create(
            report=report,
            user=assignee,
            defaults={"active": True, "role": ReportAssignment.Role.HANDLER, "assigned_on": _today()},
        )
        if not keep_own and assignee != user:
            report_unassign(report=report, user=user, actor=user)
        _add_entry(
            report,
            kind=ReportEntry.Kind.EVENT,
            body={"event": "assigned", "to": assignee.get_username()},
            author=user,
            staff_only=True,
        )
        _event(report, "assigned" if keep_own else "reassigned", actor=user, details={"to": assignee.get_username()})
    return assignment


def report_unassign(*, report: Report, user: User, actor: User) -> None:
    """Ends ``user``'s assignment and deletes their key grants (content, case and identity)."""
    with transaction.atomic():
        ReportAssignment.objects.filter(report=report, user=user).update(active=False)
        ReportKeyGrant.objects.filter(report=report, user=user).delete()
        _event(report, "unassigned", actor=actor, details={"user": user.get_username()})


def report_forward(*, report: Report, user: User, private_key: PrivateKey, recipient: User) -> ReportAssignment:
    """Forwards the report to another recipient (e.g. a competent authority's handler): only the content
    key is sealed to them — neither the case file nor the identity — and the status becomes *forwarded*."""
    keys = report_keys_for_staff(report=report, user=user, private_key=private_key)
    if not recipient.has_perm("reporting.handle_report"):
        raise ValueError(f"{recipient.get_username()} may not handle reports")
    if not StaffKey.objects.filter(user=recipient).exists():
        raise ValueError(f"{recipient.get_username()} has no reporting key pair yet")
    with transaction.atomic():
        _grant(report, recipient, ReportKeyGrant.Purpose.CONTENT, keys.content)
        assignment, _created = ReportAssignment.objects.update_or_create(
            report=report,
            user=recipient,
            defaults={"active": True, "role": ReportAssignment.Role.FORWARDED, "assigned_on": _today()},
        )
        report.status = Report.Status.FORWARDED
        report.save(update_fields=["status"])
        _add_entry(report, kind=ReportEntry.Kind.EVENT, body={"event": "forwarded"}, author=user)
        _event(report, "forwarded", actor=user, details={"to": recipient.get_username()})
    return assignment


def identity_disclosure_request(*, report: Report, user: User, reason: str) -> DisclosureRequest:
    """A handler asks to learn the reporter's identity; ``reason`` is sealed to the identity key (so only
    custodians read it). Custodians of the channel are told by e-mail (no content)."""
    _require_handler(report, user)
    if not report.has_identity:
        raise ValueError("the reporter has not given their identity")
    if not reason.strip():
        raise ValueError("a disclosure request needs a reason")
    pending = DisclosureRequest.objects.filter(report=report, requested_by=user, state=DisclosureRequest.State.PENDING)
    if pending.exists():
        raise ValueError("you already have a pending request for this report")
    with audit_as(user):
        request = DisclosureRequest.objects.create(
            report=report,
            requested_by=user,
            requested_on=_today(),
            reason=crypto.seal_json(bytes(report.identity_public_key), {"text": reason.strip()}),
        )
    transaction.on_commit(lambda: notify_disclosure_request(request))
    return request


def _custodian_identity_key(report: Report, custodian: User, private_key: PrivateKey) -> PrivateKey:
    if not report.channel.custodians.filter(pk=custodian.pk).exists():
        raise PermissionDenied("you are not a custodian of this channel")
    grant = ReportKeyGrant.objects.filter(
        report=report, user=custodian, purpose=ReportKeyGrant.Purpose.IDENTITY
    ).first()
    if grant is None:
        raise PermissionDenied("this report's identity key was not sealed to you")
    return crypto.unseal_private_key(private_key, bytes(grant.sealed_key))


def identity_disclosure_reason(*, request: DisclosureRequest, custodian: User, private_key: PrivateKey) -> str:
    """The reason of a request, for the custodian deciding it."""
    identity_key = _custodian_identity_key(request.report, custodian, private_key)
    return str(crypto.unseal_json(identity_key, bytes(request.reason)).get("text", ""))


def identity_disclosure_approve(
    *, request: DisclosureRequest, custodian: User, private_key: PrivateKey
) -> DisclosureRequest:
    """A custodian approves: the identity key is sealed to the requesting handler (audited)."""
    if request.state != DisclosureRequest.State.PENDING:
        raise ValueError("this request was already decided")
    if custodian == request.requested_by:
        raise PermissionDenied("a custodian may not approve their own request")
    report = request.report
    identity_key = _custodian_identity_key(report, custodian, private_key)
    if _assignment(report, request.requested_by) is None:
        raise ValueError("the requester is no longer assigned to this report")
    with transaction.atomic(), audit_as(custodian):
        if not _grant(report, request.requested_by, ReportKeyGrant.Purpose.IDENTITY, identity_key):
            raise ValueError("the requester has no reporting key pair")
        request.state = DisclosureRequest.State.APPROVED
        request.decided_by = custodian
        request.decided_on = _today()
        request.save()
        _event(
            report,
            "identity_disclosed",
            actor=custodian,
            details={"to": request.requested_by.get_username(), "request": request.pk},
        )
    return request


def identity_disclosure_refuse(*, request: DisclosureRequest, custodian: User) -> DisclosureRequest:
    if request.state != DisclosureRequest.State.PENDING:
        raise ValueError("this request was already decided")
    if not request.report.channel.custodians.filter(pk=custodian.pk).exists():
        raise PermissionDenied("you are not a custodian of this channel")
    with audit_as(custodian):
        request.state = DisclosureRequest.State.REFUSED
        request.decided_by = custodian
        request.decided_on = _today()
        request.save()
    return request


def retention_date(*, report: Report) -> date | None:
    """When a closed report is due for deletion, from its channel's retention for its outcome."""
    if report.closed_on is None:
        return None
    table = report.channel.retention_days or {}
    days = table.get(report.outcome, table.get("default", 5 * 365))
    return report.closed_on + timedelta(days=int(days))


def report_close(
    *, report: Report, user: User, outcome: str, action_taken: str = "", message: str | None = None
) -> Report:
    """Closes the report with its closure record: who, when (the day), the outcome, and the action taken
    (sealed to the case key). An optional final message goes to the reporter. Sets ``delete_after``."""
    _require_handler(report, user)
    _require_open(report)
    if outcome not in Report.Outcome.values or not outcome:
        choices = ", ".join(v for v in Report.Outcome.values if v)
        raise ValueError(f"{outcome!r} is not an outcome; use one of {choices}")
    with transaction.atomic():
        if message and message.strip():
            report_message_add(report=report, text=message, author=user, feedback=True)
            report.refresh_from_db()
        report.status = Report.Status.CLOSED
        report.sub_status = Report.SubStatus.NONE
        report.outcome = outcome
        report.closed_on = _today()
        report.closed_by = user
        report.action_taken = crypto.seal_json(bytes(report.case_public_key), {"text": action_taken.strip()})
        if report.acknowledged_on is None:
            report.acknowledged_on = report.closed_on
        report.delete_after = retention_date(report=report)
        report.save()
        _add_entry(report, kind=ReportEntry.Kind.EVENT, body={"event": "closed", "outcome": outcome}, author=user)
        _event(report, "closed", actor=user, details={"outcome": outcome})
    return report


def report_delete(*, report: Report, actor: User | None = None, reason: str = "retention") -> dict[str, int]:
    """Deletes the report for good: its store files are overwritten and removed, then its rows — entries,
    attachments, key grants, assignments, disclosure requests — and the report itself. An audit entry
    keeps the reference, channel and reason, nothing more. Returns counts. ``actor`` None: the system
    deletes (retention), under the current ``audit_actor``."""
    names = [
        n
        for pair in Attachment.objects.filter(report=report).values_list("storage_name", "stripped_storage_name")
        for n in pair
        if n
    ]
    counts = {
        "files": 0,
        "entries": ReportEntry.objects.filter(report=report).count(),
        "attachments": Attachment.objects.filter(report=report).count(),
        "grants": ReportKeyGrant.objects.filter(report=report).count(),
    }
    reference, channel_slug, pk = report.reference, report.channel.slug, report.pk
    with transaction.atomic(), audit_as(actor):
        ReportKeyGrant.objects.filter(report=report).delete()
        Attachment.objects.filter(report=report).delete()
        ReportEntry.objects.filter(report=report).delete()
        ReportAssignment.objects.filter(report=report).delete()
        for request in DisclosureRequest.objects.filter(report=report):
            request.delete()
        report.delete()
        audit_record(
            action=AuditEntry.Action.DELETE,
            actor=actor_name(actor),
            object_type="reporting.report",
            object_id=str(pk),
            object_label=reference,
            details={"event": "report_deleted", "channel": channel_slug, "reason": reason},
        )
    for name in names:
        counts["files"] += int(store.store_delete(name))
    return counts


def report_export(*, report: Report, user: User, private_key: PrivateKey) -> dict[str, Any]:
    """The decrypted case file of one report (for a prosecutor or a court): metadata, timeline with
    notes, closure and attachment list. Only an assigned handler; the export is audited. The identity is
    included only when the handler holds it (after an approved disclosure)."""
    keys = report_keys_for_staff(report=report, user=user, private_key=private_key)
    timeline = report_timeline(keys=keys, for_reporter=False)
    identity = None
    if keys.identity is not None and report.identity:
        identity = crypto.unseal_json(keys.identity, bytes(report.identity))
    action_taken = None
    if report.action_taken and keys.case is not None:
        action_taken = crypto.unseal_json(keys.case, bytes(report.action_taken)).get("text")
    data = {
        "reference": report.reference,
        "channel": report.channel.slug,
        "intake": report.intake,
        "status": report.status,
        "sub_status": report.sub_status,
        "received_on": report.received_on.isoformat(),
        "acknowledge_due": report.acknowledge_due.isoformat(),
        "acknowledged_on": report.acknowledged_on.isoformat() if report.acknowledged_on else None,
        "feedback_due": report.feedback_due.isoformat(),
        "feedback_given_on": report.feedback_given_on.isoformat() if report.feedback_given_on else None,
        "closed_on": report.closed_on.isoformat() if report.closed_on else None,
        "closed_by": report.closed_by.get_username() if report.closed_by else None,
        "outcome": report.outcome,
        "action_taken": action_taken,
        "identity": identity,
        "timeline": [item.as_dict() for item in timeline],
    }
    audit_record(
        action=AuditEntry.Action.EXPORT,
        actor=actor_name(user),
        object_type="reporting.report",
        object_id=str(report.pk),
        object_label=report.reference,
        details={"event": "report_exported", "identity_included": identity is not None},
    )
    return data
