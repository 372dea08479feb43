"""Format validators: mobile and landline numbers, e-mail, postal codes, dates.

The regular expressions are shared with the SQL compiler, so the Python functions are the
reference the compiled rules are tested against. Patterns use only the RE2/Java common
subset so that DuckDB and Spark agree.

>>> is_mobile("13800138000"), is_mobile("12800138000")
(True, False)
>>> is_landline("028-85123456"), is_landline("85123456")
(True, False)
>>> is_email("a.b@gov.cn"), is_email("a@b")
(True, False)
>>> is_postal_code("610041"), is_postal_code("61004")
(True, False)
>>> is_iso_date("2020-02-29"), is_iso_date("2019-02-29")
(True, False)
"""

from __future__ import annotations

import datetime as dt
import re

MOBILE_RE = r"^(\+?86)?1[3-9][0-9]{9}$"
MOBILE_SPACED_RE = r"^ *(\+? *8 *6)? *1 *[3-9]( *[0-9]){9} *$"  # MOBILE_RE with spaces anywhere
LANDLINE_RE = r"^0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(-[0-9]{1,6})?$"
EMAIL_RE = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
POSTAL_RE = r"^[0-9]{6}$"
ISO_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
ISO_TIMESTAMP_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?$"
RESIDENT_ID_RE = r"^[0-9]{17}[0-9Xx]$"
RESIDENT_ID15_RE = r"^[0-9]{15}$"
USCC_RE = r"^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$"
ORG_CODE_RE = r"^[0-9A-Z]{8}-?[0-9X]$"
BANK_CARD_RE = r"^[0-9]{12,19}$"


def _match(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern.strip("^$"), value.strip()) is not None


def is_mobile(value: str) -> bool:
    """Mainland mobile number, optionally with +86."""
    return _match(MOBILE_RE, value.replace(" ", ""))


def is_landline(value: str) -> bool:
    """Landline with area code: ``028-85123456`` or ``02885123456`` (optional extension)."""
    return _match(LANDLINE_RE, value.replace(" ", ""))


def is_email(value: str) -> bool:
    return _match(EMAIL_RE, value)


def is_postal_code(value: str) -> bool:
    return _match(POSTAL_RE, value)


def is_iso_date(value: str) -> bool:
    """``YYYY-MM-DD`` naming a real calendar day."""
    if not _match(ISO_DATE_RE, value):
        return False
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True
