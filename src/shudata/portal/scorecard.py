"""The portal's figures for the assessment scorecard (评估考核, ``analysis.scorecard``).

Openness of a provider department: its entries published on the open portal at the period's end
(first published before it, not withdrawn then), and the downloads and API calls of its datasets
during the period (the portal's daily counters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.plugins import hookimpl
from shudata.portal.models import PortalDataset, PortalUsage


@hookimpl
def scorecard_measures(session: Session, settings: Settings, start: dt.datetime, end: dt.datetime
                       ) -> Mapping[str, Mapping[int, Any]]:
    dept = CatalogResource.provider_department_id
    published = select(dept, func.count()).join(PortalDataset, PortalDataset.resource_id == CatalogResource.id).where(
        PortalDataset.status == "published", PortalDataset.first_published_at < end).group_by(dept)
    usage = (select(dept, PortalUsage.kind, func.sum(PortalUsage.count))
             .join(PortalUsage, PortalUsage.resource_id == CatalogResource.id)
             .where(PortalUsage.day >= start.date(), PortalUsage.day < end.date(),
                    PortalUsage.kind.in_(("download", "api"))).group_by(dept, PortalUsage.kind))
    downloads: dict[int, int] = {}
    api_calls: dict[int, int] = {}
    for d, kind, n in session.execute(usage):
        (downloads if kind == "download" else api_calls)[int(d)] = int(n or 0)
    return {"open_datasets": {int(d): int(n) for d, n in session.execute(published)},
            "open_downloads": downloads, "open_api_calls": api_calls}
