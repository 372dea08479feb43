"""Time in one place, so tests can reason about it. Always timezone-aware UTC."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ensure_aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; treat them as UTC.

    >>> ensure_aware(dt.datetime(2020, 1, 1)).tzinfo is not None
    True
    """
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
