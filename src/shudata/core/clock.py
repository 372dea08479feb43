"""Time in one place, so tests can reason about it. Stored and computed: timezone-aware UTC.
Shown to people (pages, exports, reports): the configured zone (``SHUDATA_TIMEZONE``,
Asia/Shanghai by default), always through :func:`local_text`.

>>> local_text(dt.datetime(2026, 12, 6, 16, 30, tzinfo=dt.UTC))
'2026-12-07 00:30'
>>> local_text(dt.datetime(2026, 12, 6, 16, 30), "%H:%M", "Europe/Berlin")  # naive = UTC
'17:30'
>>> local_text(None), local_text(dt.date(2026, 1, 2))
('—', '2026-01-02')
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

DISPLAY_ZONE = "Asia/Shanghai"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ensure_aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; treat them as UTC.

    >>> ensure_aware(dt.datetime(2020, 1, 1)).tzinfo is not None
    True
    """
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@functools.lru_cache(maxsize=16)
def zone(name: str = DISPLAY_ZONE) -> dt.tzinfo:
    """The time zone called ``name`` (IANA, e.g. ``Asia/Shanghai``); ``ZoneInfoNotFoundError`` if unknown."""
    return ZoneInfo(name)


def to_local(value: dt.datetime, tz: str = DISPLAY_ZONE) -> dt.datetime:
    """``value`` (naive = UTC) as wall-clock time in ``tz``."""
    return ensure_aware(value).astimezone(zone(tz))


def local_date(value: dt.datetime, tz: str = DISPLAY_ZONE) -> dt.date:
    """The calendar day ``value`` falls on in ``tz`` (a request filed at 07:00 Beijing time is
    filed that day, not the day before as in UTC)."""
    return to_local(value, tz).date()


def local_text(value: Any, fmt: str = "%Y-%m-%d %H:%M", tz: str = DISPLAY_ZONE) -> str:
    """How a time is shown to people: in ``tz``; ``—`` for none; dates as ISO; ISO strings parsed."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return to_local(value, tz).strftime(fmt)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
