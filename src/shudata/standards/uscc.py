"""Unified social credit code (统一社会信用代码, GB 32100-2015) and organisation code (GB 11714).

An 18-character code: registration authority (1), entity type (1), region (6),
organisation code (9, itself with a GB 11714 check character), check character (1)
over the 31-character alphabet without I, O, Z, S, V.

>>> compute_check_char("91510100MA6CB8AG5")
'D'
>>> is_valid_uscc("91510100MA6CB8AG5D")
True
>>> is_valid_uscc("91510100MA6CB8AG5B")
False
>>> org_code_check_char("MA6CB8AG")
'5'
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
REGISTRATION_AUTHORITIES = set("123456789ANY")


def compute_check_char(first17: str) -> str:
    total = sum(VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def complete(first17: str) -> str:
    """Append the check character: ``complete("91510100MA6CB8AG5") == "91510100MA6CB8AG5D"``."""
    return first17 + compute_check_char(first17)


def org_code_check_char(first8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(ORG_ALPHABET.index(c) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    r = 11 - total % 11
    return "X" if r == 10 else ("0" if r == 11 else str(r))


def is_valid_org_code(value: str) -> bool:
    """9-character organisation code (optionally written with a hyphen before the check)."""
    s = value.strip().upper().replace("-", "")
    if len(s) != 9 or any(c not in ORG_ALPHABET for c in s[:8]):
        return False
    return org_code_check_char(s[:8]) == s[8]


def is_valid_uscc(value: str, *, strict_org_code: bool = False) -> bool:
    """True when the 18-character code has a valid check character.

    ``strict_org_code`` also checks the embedded organisation code's own check
    character (true for codes issued from an existing organisation code).
    """
    s = value.strip().upper()
    if len(s) != 18 or any(c not in VALUE for c in s):
        return False
    if s[0] not in REGISTRATION_AUTHORITIES or not s[2:8].isdigit():
        return False
    if compute_check_char(s[:17]) != s[17]:
        return False
    return not strict_org_code or is_valid_org_code(s[8:17])
