"""SM4 block cipher (GB/T 32907) in GCM mode (authenticated), via ``cryptography``.

Ciphertext layout: 12-byte nonce || ciphertext || 16-byte tag.

>>> key = bytes(range(16))
>>> decrypt(key, encrypt(key, "身份证".encode())).decode()
'身份证'
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

NONCE_LEN = 12
TAG_LEN = 16


class DecryptionError(ValueError):
    """Wrong key or tampered ciphertext."""


def encrypt(key: bytes, plaintext: bytes, *, aad: bytes | None = None, nonce: bytes | None = None) -> bytes:
    nonce = nonce or os.urandom(NONCE_LEN)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    ct = enc.update(plaintext) + enc.finalize()
    return nonce + ct + enc.tag


def decrypt(key: bytes, blob: bytes, *, aad: bytes | None = None) -> bytes:
    if len(blob) < NONCE_LEN + TAG_LEN:
        raise DecryptionError("ciphertext too short")
    nonce, ct, tag = blob[:NONCE_LEN], blob[NONCE_LEN:-TAG_LEN], blob[-TAG_LEN:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    try:
        return dec.update(ct) + dec.finalize()
    except InvalidTag as exc:
        raise DecryptionError("SM4 authentication failed (wrong key or tampered data)") from exc


def encrypt_ecb_block_stream(key: bytes, data: bytes) -> bytes:
    """Raw SM4-CTR keystream encryption without authentication (for deterministic tokens).

    Deterministic: the same key and data give the same output (the nonce is derived from
    the data by the caller). Prefer :func:`encrypt` unless determinism is required.
    """
    nonce = b"\x00" * 16
    enc = Cipher(algorithms.SM4(key), modes.CTR(nonce)).encryptor()
    return enc.update(data) + enc.finalize()
