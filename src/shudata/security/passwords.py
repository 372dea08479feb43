"""Password hashing with argon2id, and the password policy.

The policy follows the practice for GB/T 39786-2021 level 3 (身份鉴别: 口令复杂度): a minimum
length (``SHUDATA_PASSWORD_MIN_LENGTH``, default 10, never below 8), at least three of the
four character classes (upper case, lower case, digits, other symbols), not only blanks,
not a handful of characters repeated, not containing the user name, and not a common
password — neither as typed nor once the usual dressing is taken off (case, l33t digits and
symbols, digits or symbols added at the ends). The list of common passwords ships with the
package (``data/common-passwords.txt``, see its PROVENANCE.md); it is never fetched.

>>> h = hash_password("s3cret-密码")
>>> verify_password(h, "s3cret-密码"), verify_password(h, "wrong")
(True, False)
>>> [password_problem(p) is None for p in ("password1", "aaaaaaa1", "        1", "Passw0rd!", "Shudata@platform1")]
[False, False, False, False, True]
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shudata.security.names import username_key

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults
MIN_LENGTH_FLOOR = 8
DEFAULT_MIN_LENGTH = 10  # the default of SHUDATA_PASSWORD_MIN_LENGTH
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_DRESSING = re.compile(r"^[\W\d_]+|[\W\d_]+$")


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


_DUMMY_HASH: list[str] = []


def burn_verify(password: str) -> None:
    """Spend the time of one verification (for unknown accounts, so that timing does not tell
    which names exist)."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not-a-real-password-only-for-timing"))
    verify_password(_DUMMY_HASH[0], password)


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    text = resources.files("shudata.security").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _classes(password: str) -> int:
    return sum((any(c.isupper() for c in password), any(c.islower() for c in password),
                any(c.isdigit() for c in password), any(not c.isalnum() and not c.isspace() for c in password)))


def is_common(password: str) -> bool:
    """Whether the password is a common one, as typed or under light dressing.

    >>> is_common("P@ssw0rd"), is_common("Qwerty123!"), is_common("Woaini1314"), is_common("Tianfu-Data-7")
    (True, True, True, False)
    """
    common = common_passwords()
    plain = password.strip().lower()
    candidates = {plain, plain.translate(_LEET), _DRESSING.sub("", plain), _DRESSING.sub("", plain.translate(_LEET)),
                  _DRESSING.sub("", plain).translate(_LEET)}
    return any(c in common for c in candidates if c)


def password_problem(password: str, *, username: str | None = None,
                     min_length: int = DEFAULT_MIN_LENGTH) -> tuple[str, str] | None:
    """Why ``password`` breaks the policy, as (zh-CN, en), or ``None`` when it is acceptable."""
    length = max(min_length, MIN_LENGTH_FLOOR)
    stripped = password.strip()
    if not stripped:
        return "密码不能全是空白字符", "the password cannot be all blanks"
    if len(stripped) < length:
        return f"密码至少 {length} 位（不计首尾空白）", f"at least {length} characters (blanks at the ends not counted)"
    if _classes(password) < 3:
        return ("密码须包含大写字母、小写字母、数字、符号四类中的至少三类",
                "use at least three of: upper-case letters, lower-case letters, digits, symbols")
    if len(set(stripped)) < 5:
        return "密码不能由少数几个字符重复组成", "the password cannot repeat a few characters"
    key = username_key(username) if username else ""
    if len(key) >= 4 and key in password.casefold():  # shorter names turn up by chance
        return "密码不能包含用户名", "the password cannot contain the user name"
    if is_common(password):
        return ("密码过于常见（在常用密码表中，或仅在常用密码上加了数字、符号或替换字母）",
                "the password is too common (on the list of common passwords, or one of them with digits, symbols "
                "or look-alike letters added)")
    return None
