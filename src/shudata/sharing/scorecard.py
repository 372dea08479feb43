"""The sharing package's figures for the assessment scorecard (评估考核, ``analysis.scorecard``).

Responsiveness of a provider department: for every sharing request that awaited its answer (the
ones given a deadline — 有条件共享) submitted in the period, the working days from submission to the
decision on this node's calendar (Chinese holidays, make-up workdays and the node's overrides), and
how many went past their deadline (answered late, or still unanswered after it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.core.clock import ensure_aware, utcnow
from shudata.core.config import Settings
from shudata.core.plugins import hookimpl
from shudata.sharing.models import SharingRequest
from shudata.sharing.service import calendar


@hookimpl
def scorecard_measures(session: Session, settings: Settings, start: dt.datetime, end: dt.datetime
                       ) -> Mapping[str, Mapping[int, Any]]:
    cal = calendar(session)
    cutoff = min(end, utcnow())
    days: dict[int, list[int]] = defaultdict(list)
    overdue: dict[int, int] = defaultdict(int)
    requests: dict[int, int] = defaultdict(int)
    stmt = select(SharingRequest).where(SharingRequest.submitted_at >= start, SharingRequest.submitted_at < end,
                                        SharingRequest.due_date.is_not(None))
    for r in session.scalars(stmt):
        dept = r.provider_department_id
        requests[dept] += 1
        submitted = ensure_aware(r.submitted_at).date()
        decided = ensure_aware(r.decided_at).date() if r.decided_at is not None else None
        if decided is not None:
            days[dept].append(cal.working_days_between(submitted, decided))
        due = r.due_date
        if due is not None and ((decided is not None and decided > due)
                                or (decided is None and cutoff.date() > due)):
            overdue[dept] += 1
    return {"sharing_requests": dict(requests), "sharing_answer_days": dict(days),
            "sharing_overdue": dict(overdue)}
