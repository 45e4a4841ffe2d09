"""The reporting cryptography: key derivation, wrapping, sealing, receipts."""

from __future__ import annotations

import pytest
from django.test import override_settings

from probity.reporting import crypto, receipts


def test_wrap_and_seal_round_trip() -> None:
    params = crypto.new_kdf_params()
    key = crypto.derive_key("a password", params)
    assert crypto.unwrap(key, crypto.wrap(key, b"secret")) == b"secret"
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap(crypto.derive_key("another", params), crypto.wrap(key, b"secret"))
    pair = crypto.new_key_pair()
    sealed = crypto.seal(crypto.public_bytes(pair), b"hello")
    assert b"hello" not in sealed
    assert crypto.unseal(pair, sealed) == b"hello"
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(crypto.new_key_pair(), sealed)
    assert crypto.unseal_json(pair, crypto.seal_json(pair.public_key, {"a": "é"})) == {"a": "é"}


def test_kdf_limits_are_recorded_and_configurable() -> None:
    with override_settings(PROBITY_REPORTING_KDF=None, PROBITY_REPORTING_RECEIPT_KDF=None):
        assert crypto.new_kdf_params().memlimit == crypto.KDF_LIMITS["moderate"][1]
        assert crypto.new_kdf_params("receipt").memlimit == crypto.KDF_LIMITS["interactive"][1]
    with override_settings(PROBITY_REPORTING_KDF="bogus"), pytest.raises(ValueError, match="must be one of"):
        crypto.new_kdf_params()


def test_receipts() -> None:
    receipt = receipts.receipt_new()
    assert len(receipt) == 19 and receipt.count(" ") == 3
    digits = receipts.receipt_normalise(receipt)
    assert receipts.receipt_normalise(digits[:8] + "-" + digits[8:]) == digits
    for bad in ("123", "1234 5678 9012 345x", "１２３４５６７８９０１２３４５６"):
        with pytest.raises(ValueError):
            receipts.receipt_normalise(bad)
    assert receipts.receipt_lookup_hash(receipt) == receipts.receipt_lookup_hash(digits)
    assert digits not in receipts.receipt_lookup_hash(receipt)
    assert len({receipts.receipt_new() for _ in range(50)}) == 50
    assert receipts.RECEIPT_BITS > 53


def test_pepper_changes_the_lookup() -> None:
    receipt = "1234 5678 9012 3456"
    first = receipts.receipt_lookup_hash(receipt)
    with override_settings(PROBITY_REPORTING_PEPPER="another pepper"):
        assert receipts.receipt_lookup_hash(receipt) != first


def test_recovery_keys() -> None:
    key = receipts.recovery_key_new()
    assert len(receipts.recovery_key_normalise(key)) == 32
    assert receipts.recovery_key_normalise(key.lower()) == receipts.recovery_key_normalise(key)


def test_session_wrap() -> None:
    pair = crypto.new_key_pair()
    cookie_key, wrapped = crypto.session_wrap(pair)
    assert bytes(pair) not in wrapped
    assert bytes(crypto.session_unwrap(cookie_key, wrapped)) == bytes(pair)
    with pytest.raises(crypto.DecryptionError):
        crypto.session_unwrap(crypto.new_file_key(), wrapped)
