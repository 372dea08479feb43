"""SM2 signatures (GB/T 32918) with SM3 digest and the default user id, via ``gmssl``.

>>> kp = generate_keypair()
>>> sig = sign(kp.private_hex, kp.public_hex, b"message")
>>> verify(kp.public_hex, b"message", sig)
True
>>> verify(kp.public_hex, b"tampered", sig)
False
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from gmssl import sm2 as _sm2

from shudata.security.crypto import sm2_verify

# SM2 recommended curve (GB/T 32918.5)
_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


@dataclass(frozen=True)
class KeyPair:
    private_hex: str  # 64 hex digits
    public_hex: str  # 128 hex digits (x || y), uncompressed without the 04 prefix


def _crypt(private_hex: str | None, public_hex: str) -> _sm2.CryptSM2:
    """A gmssl context. gmssl's constructor takes a key that starts with ``04`` for the
    uncompressed-point prefix and ``lstrip``s it, which corrupts the one key in 256 whose x
    coordinate starts with ``04`` (signatures made or checked with it then fail); our keys
    never carry the prefix, so the key is set after construction, unchanged."""
    c = _sm2.CryptSM2(private_key=private_hex, public_key="")
    c.public_key = public_hex
    return c


def public_from_private(private_hex: str) -> str:
    c = _crypt(private_hex, "")
    return str(c._kg(int(private_hex, 16), _sm2.default_ecc_table["g"]))


def generate_keypair() -> KeyPair:
    d = secrets.randbelow(_N - 2) + 1
    private_hex = f"{d:064x}"
    return KeyPair(private_hex=private_hex, public_hex=public_from_private(private_hex))


def sign(private_hex: str, public_hex: str, message: bytes) -> str:
    """Hex signature (r || s) over SM3(Z || message)."""
    c = _crypt(private_hex, public_hex)
    return str(c.sign_with_sm3(message, secrets.token_hex(32)))


def verify(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """Verified in Python integers (:mod:`~shudata.security.crypto.sm2_verify`, several times
    faster than gmssl's; ``verify_gmssl`` is the reference its test compares with)."""
    return sm2_verify.verify(public_hex, message, signature_hex)


def verify_gmssl(public_hex: str, message: bytes, signature_hex: str) -> bool:
    try:
        return bool(_crypt(None, public_hex).verify_with_sm3(signature_hex, message))
    except Exception:  # malformed signature or key
        return False
