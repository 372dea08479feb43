"""SM3 hash (GB/T 32905) and HMAC-SM3, via OpenSSL through ``hashlib``.

>>> sm3_hex(b"abc")
'66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0'
>>> len(hmac_sm3(b"k" * 16, b"value"))
32
"""

from __future__ import annotations

import hashlib
import hmac


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def sm3_hex(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, "sm3").digest()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, "sm3").hexdigest()


def constant_time_equal(a: bytes | str, b: bytes | str) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)
