"""Key management helpers: data keys wrapped under the platform master key (SM4-GCM).

>>> master = bytes(16)
>>> dk = new_data_key()
>>> unwrap_key(master, wrap_key(master, dk, key_id="k1"), key_id="k1") == dk
True
"""

from __future__ import annotations

import os

from shudata.security.crypto import sm4


def new_data_key() -> bytes:
    return os.urandom(16)


def wrap_key(master: bytes, data_key: bytes, *, key_id: str) -> bytes:
    return sm4.encrypt(master, data_key, aad=key_id.encode())


def unwrap_key(master: bytes, wrapped: bytes, *, key_id: str) -> bytes:
    return sm4.decrypt(master, wrapped, aad=key_id.encode())
