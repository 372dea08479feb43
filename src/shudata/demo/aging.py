"""DEMO DEVICE ONLY: date a data version back to when its figures were really published.

The demo's monthly entries hold real data that stop in early 2020. Ingesting them today
would stamp their version with today's date and hide that they are stale; this helper
sets the version's ``created_at`` to the publication date instead, so the catalog shows
them as overdue (超期), as a real platform holding those files would.

It is the only place where the demo writes a table directly, it only touches
``lake_version.created_at``, and nothing outside ``shudata.demo`` may call it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.lake.models import LakeVersion


def backdate_for_demo(session: Session, *, resource_id: int, version: int, when: dt.datetime) -> None:
    """Set version ``version`` of resource ``resource_id`` to have been created at ``when``."""
    if when.tzinfo is None:
        raise ValueError("when must be timezone-aware")
    row = session.scalars(select(LakeVersion).where(
        LakeVersion.resource_id == resource_id, LakeVersion.version == version)).one()
    row.created_at = when.astimezone(dt.UTC)
    session.flush()
