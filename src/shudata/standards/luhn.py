"""Luhn (ISO/IEC 7812) check used by bank card numbers.

>>> is_valid_luhn("6222020200112233445")
False
>>> luhn_check_digit("622202020011223344")
'6'
>>> is_valid_luhn("6222020200112233446")
True
"""

from __future__ import annotations


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_luhn(value: str) -> bool:
    s = value.strip().replace(" ", "")
    return len(s) >= 2 and s.isdigit() and luhn_check_digit(s[:-1]) == s[-1]
