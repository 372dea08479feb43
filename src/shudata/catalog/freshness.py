"""Freshness (时效): is an entry's newest data older than its declared update cycle?

``fresh``: the newest lake version is within the cycle. ``overdue``: it is older.
``no_data``: the lake holds no version yet; such an entry is also *overdue* once it has
been registered for longer than its cycle, but it is shown apart from stale ones.

>>> import datetime as dt
>>> now = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
>>> freshness("每日", dt.datetime(2024, 2, 20, tzinfo=dt.UTC), now - dt.timedelta(days=90), now)
('overdue', True)
>>> freshness("每年", dt.datetime(2024, 2, 20, tzinfo=dt.UTC), now, now)
('fresh', False)
>>> freshness("每月", None, now - dt.timedelta(days=40), now)
('no_data', True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shudata.catalog.schemas import UPDATE_CYCLE_DAYS, UpdateCycle
from shudata.core.clock import ensure_aware
from shudata.lake.models import LakeVersion

CHUNK = 500


class Latest(NamedTuple):
    version: int
    created_at: dt.datetime


def cycle_days(cycle: str) -> int:
    try:
        return UPDATE_CYCLE_DAYS[UpdateCycle(cycle)]
    except ValueError:
        return UPDATE_CYCLE_DAYS[UpdateCycle.MONTHLY]


def freshness(cycle: str, latest_at: dt.datetime | None, created_at: dt.datetime,
              now: dt.datetime) -> tuple[str, bool]:
    """``(status, overdue)`` of one entry at ``now``."""
    limit = dt.timedelta(days=cycle_days(cycle))
    if latest_at is None:
        return "no_data", now - ensure_aware(created_at) > limit
    stale = now - ensure_aware(latest_at) > limit
    return ("overdue" if stale else "fresh"), stale


def latest_versions(session: Session, resource_ids: Iterable[int] | None = None) -> dict[int, Latest]:
    """Newest data version per resource, in one aggregate query over ``lake_version``
    (chunked when ids are given; every resource when ``None``)."""
    stmt = select(LakeVersion.resource_id, func.max(LakeVersion.version), func.max(LakeVersion.created_at))
    if resource_ids is None:
        return _collect(session, stmt.group_by(LakeVersion.resource_id))
    ids = sorted(set(resource_ids))
    out: dict[int, Latest] = {}
    for i in range(0, len(ids), CHUNK):
        part = stmt.where(LakeVersion.resource_id.in_(ids[i:i + CHUNK])).group_by(LakeVersion.resource_id)
        out.update(_collect(session, part))
    return out


def _collect(session: Session, stmt: Select[int, int, dt.datetime]) -> dict[int, Latest]:
    out: dict[int, Latest] = {}
    for rid, version, created in session.execute(stmt):
        when = dt.datetime.fromisoformat(created) if isinstance(created, str) else created
        out[int(rid)] = Latest(int(version), ensure_aware(when))
    return out
