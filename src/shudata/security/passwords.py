"""Password hashing with argon2id.

>>> h = hash_password("s3cret-密码")
>>> verify_password(h, "s3cret-密码"), verify_password(h, "wrong")
(True, False)
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults


def use_fast_hashing_for_tests() -> None:
    """Cheap argon2id parameters for the test suite only (hashes stay real argon2id)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_strength(password: str) -> str | None:
    """A reason the password is too weak, or None."""
    if len(password) < 8:
        return "密码至少 8 位 / at least 8 characters"
    if password.isdigit() or password.isalpha():
        return "密码须同时包含字母和数字或符号 / mix letters with digits or symbols"
    return None
