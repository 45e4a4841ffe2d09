"""The reporting channel's cryptography, all from PyNaCl (libsodium). Nothing here touches the database.

* **Key derivation** — Argon2id (``nacl.pwhash.argon2id.kdf``) from a password, a recovery key or a
  receipt, with a random 16-byte salt; the ops/mem limits are stored next to the salt so they can be
  raised later without breaking old records. ``PROBITY_REPORTING_KDF`` chooses the limits for new staff
  keys (default ``moderate``: 3 passes, 256 MiB) and ``PROBITY_REPORTING_RECEIPT_KDF`` those of receipts
  (default ``interactive``: 2 passes, 64 MiB, paid by every submission and sign-in); ``sensitive``
  (1 GiB) is available, ``min`` is for tests only.
* **Wrapping** — ``SecretBox`` (XSalsa20-Poly1305) with the derived key.
* **Sealing** — ``SealedBox`` (X25519 + XSalsa20-Poly1305, anonymous sender) to a public key.
* **Files** — a random SecretBox key per file, the file cut into 64 KiB chunks each boxed with a nonce
  made of a random 16-byte prefix and an 8-byte chunk counter; the last chunk is marked so a truncated
  file is detected.
* **Receipts and recovery keys** — see ``receipts.py``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from django.conf import settings
from nacl.public import PrivateKey, PublicKey, SealedBox

SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES
KEY_BYTES = nacl.secret.SecretBox.KEY_SIZE
CHUNK_BYTES = 64 * 1024
FILE_MAGIC = b"PRBF1"

KDF_LIMITS = {
    "sensitive": (nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE, nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE),
    "moderate": (nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE),
    "interactive": (nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE),
    "min": (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN),
}


class DecryptionError(Exception):
    """A key or ciphertext does not open: wrong password/receipt, or tampered data."""


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    opslimit: int
    memlimit: int


KDF_SETTINGS = {
    # staff passwords and recovery keys: unlocked once per session, so the stronger limits
    "staff": ("PROBITY_REPORTING_KDF", "moderate"),
    # receipts: every submission and reporter sign-in pays it, under load; the pepper and the throttle
    # protect receipts too
    "receipt": ("PROBITY_REPORTING_RECEIPT_KDF", "interactive"),
}


def kdf_limits(purpose: str = "staff") -> tuple[int, int]:
    setting, default = KDF_SETTINGS[purpose]
    name = getattr(settings, setting, None) or default
    if name not in KDF_LIMITS:
        raise ValueError(f"{setting} must be one of {', '.join(KDF_LIMITS)}, not {name!r}")
    return KDF_LIMITS[name]


def new_kdf_params(purpose: str = "staff") -> KdfParams:
    opslimit, memlimit = kdf_limits(purpose)
    return KdfParams(salt=nacl.utils.random(SALT_BYTES), opslimit=opslimit, memlimit=memlimit)


def derive_key(secret: str | bytes, params: KdfParams) -> bytes:
    """Argon2id: a 32-byte SecretBox key from a password, recovery key or receipt."""
    data = secret.encode() if isinstance(secret, str) else secret
    return nacl.pwhash.argon2id.kdf(KEY_BYTES, data, params.salt, opslimit=params.opslimit, memlimit=params.memlimit)


def wrap(key: bytes, plaintext: bytes) -> bytes:
    return bytes(nacl.secret.SecretBox(key).encrypt(plaintext))


def unwrap(key: bytes, ciphertext: bytes) -> bytes:
    try:
        return nacl.secret.SecretBox(key).decrypt(bytes(ciphertext))
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("the key does not open this data") from exc


def new_key_pair() -> PrivateKey:
    return PrivateKey.generate()


def public_bytes(private_key: PrivateKey) -> bytes:
    return bytes(private_key.public_key)


def seal(public_key: bytes | PublicKey, plaintext: bytes) -> bytes:
    key = public_key if isinstance(public_key, PublicKey) else PublicKey(bytes(public_key))
    return bytes(SealedBox(key).encrypt(plaintext))


def unseal(private_key: PrivateKey, ciphertext: bytes) -> bytes:
    try:
        return SealedBox(private_key).decrypt(bytes(ciphertext))
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("the private key does not open this data") from exc


def seal_json(public_key: bytes | PublicKey, value: Any) -> bytes:
    return seal(public_key, json.dumps(value, ensure_ascii=False, sort_keys=True).encode())


def unseal_json(private_key: PrivateKey, ciphertext: bytes) -> Any:
    return json.loads(unseal(private_key, ciphertext).decode())


def seal_private_key(public_key: bytes | PublicKey, private_key: PrivateKey) -> bytes:
    return seal(public_key, bytes(private_key))


def unseal_private_key(private_key: PrivateKey, ciphertext: bytes) -> PrivateKey:
    return PrivateKey(unseal(private_key, ciphertext))


# --- files ----------------------------------------------------------------------------------


def _chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    # 16-byte random prefix + 7-byte counter + 1 byte "last chunk" flag = 24 bytes
    return prefix + struct.pack(">Q", counter)[1:] + (b"\x01" if last else b"\x00")


def encrypt_stream(key: bytes, chunks: Iterable[bytes], out: BinaryIO) -> int:
    """Writes the encrypted form of ``chunks`` to ``out``; returns the plaintext size.

    Layout: magic, 16-byte nonce prefix, then records of (4-byte length, box without nonce).
    """
    box = nacl.secret.SecretBox(key)
    prefix = nacl.utils.random(16)
    out.write(FILE_MAGIC + prefix)
    size = 0
    counter = 0
    pending: bytes | None = None
    buffer = b""

    def emit(data: bytes, last: bool) -> None:
        nonlocal counter
        encrypted = box.encrypt(data, _chunk_nonce(prefix, counter, last)).ciphertext
        out.write(struct.pack(">I", len(encrypted)) + encrypted)
        counter += 1

    for chunk in chunks:
        size += len(chunk)
        buffer += chunk
        while len(buffer) >= CHUNK_BYTES:
            if pending is not None:
                emit(pending, last=False)
            pending, buffer = buffer[:CHUNK_BYTES], buffer[CHUNK_BYTES:]
    if buffer:
        if pending is not None:
            emit(pending, last=False)
        pending = buffer
    emit(pending or b"", last=True)
    return size


def decrypt_stream(key: bytes, source: BinaryIO) -> Iterator[bytes]:
    """Yields the plaintext chunks; raises DecryptionError on a wrong key, tampering or truncation."""
    box = nacl.secret.SecretBox(key)
    header = source.read(len(FILE_MAGIC) + 16)
    if not header.startswith(FILE_MAGIC) or len(header) != len(FILE_MAGIC) + 16:
        raise DecryptionError("not an encrypted reporting file")
    prefix = header[len(FILE_MAGIC) :]
    counter = 0
    while True:
        length_bytes = source.read(4)
        if len(length_bytes) != 4:
            raise DecryptionError("the encrypted file is truncated")
        (length,) = struct.unpack(">I", length_bytes)
        if length > CHUNK_BYTES + nacl.secret.SecretBox.MACBYTES:
            raise DecryptionError("the encrypted file is damaged")
        encrypted = source.read(length)
        if len(encrypted) != length:
            raise DecryptionError("the encrypted file is truncated")
        for last in (False, True):
            try:
                plain = box.decrypt(encrypted, _chunk_nonce(prefix, counter, last))
            except nacl.exceptions.CryptoError:
                continue
            yield plain
            break
        else:
            raise DecryptionError("the key does not open this file, or it was altered")
        counter += 1
        if last:
            if source.read(1):
                raise DecryptionError("the encrypted file has data after its end")
            return


def new_file_key() -> bytes:
    return nacl.utils.random(KEY_BYTES)


# --- the unlocked key in a staff session ----------------------------------------------------


def session_wrap(private_key: PrivateKey) -> tuple[bytes, bytes]:
    """(cookie key, wrapped key): the wrapped key goes to the server-side session, the key to a cookie."""
    cookie_key = nacl.utils.random(KEY_BYTES)
    return cookie_key, wrap(cookie_key, bytes(private_key))


def session_unwrap(cookie_key: bytes, wrapped: bytes) -> PrivateKey:
    return PrivateKey(unwrap(cookie_key, wrapped))
