"""Receipts (the reporter's only credential) and staff recovery keys.

* A **receipt** is 16 random decimal digits drawn with ``secrets`` — 10^16 possibilities, log2(10^16) ≈
  **53.2 bits** of entropy — shown once, in groups of four. It is never stored: the database keeps
  ``HMAC-SHA256(pepper, digits)`` as the lookup id, and the report's keys wrapped with
  ``Argon2id(digits, per-report salt)``. The pepper (``PROBITY_REPORTING_PEPPER``, else derived from
  ``SECRET_KEY``) is not in the database, so a stolen database alone does not even allow testing guesses
  against the lookup ids; each guess against the wrapped keys costs one Argon2id. Online guessing is
  throttled (services.reporter_sign_in).
* A **recovery key** is 32 characters from a 32-letter alphabet (160 bits), shown once when a staff
  member creates their key pair.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

RECEIPT_DIGITS = 16
RECEIPT_BITS = 53.15  # log2(10**16)
RECOVERY_BITS = 160


def receipt_new() -> str:
    """16 random digits, e.g. ``4821 0937 5512 0046`` (shown in groups of four)."""
    digits = "".join(str(secrets.randbelow(10)) for _ in range(RECEIPT_DIGITS))
    return " ".join(digits[i : i + 4] for i in range(0, RECEIPT_DIGITS, 4))


def receipt_normalise(receipt: str) -> str:
    """Digits only; raises ValueError when the receipt cannot be one of ours."""
    digits = "".join(ch for ch in receipt if ch.isdigit() and ch.isascii())
    if len(digits) != RECEIPT_DIGITS or any(not (ch.isdigit() or ch in " -") for ch in receipt.strip()):
        raise ValueError("a receipt is 16 digits")
    return digits


def pepper() -> bytes:
    """The server secret of receipt lookups: ``PROBITY_REPORTING_PEPPER`` or derived from SECRET_KEY."""
    configured = getattr(settings, "PROBITY_REPORTING_PEPPER", None)
    if configured:
        return str(configured).encode()
    return hashlib.sha256(b"probity-reporting-receipt-lookup:" + settings.SECRET_KEY.encode()).digest()


def receipt_lookup_hash(receipt: str) -> str:
    return hmac.new(pepper(), receipt_normalise(receipt).encode(), hashlib.sha256).hexdigest()


def recovery_key_new() -> str:
    """A recovery key of 32 base-32 characters (160 bits), grouped for reading aloud."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
    raw = "".join(secrets.choice(alphabet) for _ in range(32))
    return "-".join(raw[i : i + 4] for i in range(0, 32, 4))


def recovery_key_normalise(recovery_key: str) -> str:
    return "".join(ch for ch in recovery_key.upper() if ch.isalnum())
