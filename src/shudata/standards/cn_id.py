"""Chinese resident identity numbers (GB 11643-1999): ISO 7064 MOD 11-2 check digit.

>>> compute_check_char("11010519491231002")
'X'
>>> is_valid_resident_id("11010519491231002X")
True
>>> is_valid_resident_id("110105194912310021")
False
>>> upgrade_15_to_18("110105491231002")
'11010519491231002X'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shudata.standards.regions import is_known_county_code

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def compute_check_char(first17: str) -> str:
    """Check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _birth(digits8: str) -> dt.date | None:
    try:
        return dt.date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        return None


@dataclass(frozen=True)
class ResidentId:
    """A parsed, valid 18-digit resident ID."""

    number: str
    region_code: str
    birth_date: dt.date
    sequence: str

    @property
    def sex(self) -> str:
        """'男' for odd sequence digit, '女' for even (GB 11643)."""
        return "男" if int(self.sequence[2]) % 2 else "女"


def parse_resident_id(value: str, *, check_region: bool = True) -> ResidentId | None:
    """Parse an 18-digit ID; None when the format, date, check digit or region is wrong.

    ``check_region`` verifies the first six digits against the historical GB/T 2260 table.
    """
    s = value.strip().upper()
    if len(s) != 18 or not s[:17].isdigit() or s[17] not in "0123456789X":
        return None
    birth = _birth(s[6:14])
    if birth is None or birth.year < 1880 or birth > dt.date.today():
        return None
    if compute_check_char(s[:17]) != s[17]:
        return None
    if check_region and not is_known_county_code(s[:6]):
        return None
    return ResidentId(number=s, region_code=s[:6], birth_date=birth, sequence=s[14:17])


def is_valid_resident_id(value: str, *, check_region: bool = True) -> bool:
    return parse_resident_id(value, check_region=check_region) is not None


def is_valid_legacy_15(value: str) -> bool:
    """Legacy 15-digit ID (before 1999): 6 region + YYMMDD + 3 sequence, no check digit."""
    s = value.strip()
    return len(s) == 15 and s.isdigit() and _birth("19" + s[6:12]) is not None


def upgrade_15_to_18(value: str) -> str:
    """Convert a legacy 15-digit ID to the 18-digit form (century 19, new check digit)."""
    if not is_valid_legacy_15(value):
        raise ValueError(f"not a valid 15-digit resident ID: {value!r}")
    first17 = value[:6] + "19" + value[6:]
    return first17 + compute_check_char(first17)
