"""API token strings: ``sd_<prefix>_<secret>``; stored as SM3 hashes (high entropy, so no slow hash).

>>> t = new_token()
>>> t.startswith("sd_") and len(t) > 40
True
>>> token_prefix(t) == t.split("_")[1]
True
"""

from __future__ import annotations

import secrets

from shudata.security.crypto.sm3 import sm3_hex


def new_token() -> str:
    return f"sd_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def token_prefix(token: str) -> str:
    parts = token.split("_")
    return parts[1] if len(parts) >= 3 else ""


def hash_token(token: str) -> str:
    return sm3_hex(token.encode())
