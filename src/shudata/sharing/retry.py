"""Exponential back-off shared by the federation outbox and push deliveries.

>>> [backoff(n).total_seconds() for n in (1, 2, 3)]
[5.0, 10.0, 20.0]
>>> backoff(30).total_seconds()
3600.0
"""

from __future__ import annotations

import datetime as dt

MAX_BACKOFF = dt.timedelta(hours=1)


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after ``attempts`` failed tries (5 s, 10 s, 20 s … at most 1 h)."""
    return min(dt.timedelta(seconds=5 * 2 ** min(max(attempts - 1, 0), 20)), MAX_BACKOFF)
