"""``/api/v1``: one router per capability, assembled here."""

from __future__ import annotations

from fastapi import APIRouter

from shudata.web.api import analysis
from shudata.web.api.v1 import (
    admin,
    audit,
    auth,
    catalog,
    dashboards,
    federation,
    health,
    lake,
    market,
    market_delivery,
    market_records,
    market_uploads,
    portal,
    privacy,
    quality,
    query,
    scorecard,
    sharing,
)

api_router = APIRouter()
for module in (health, auth, admin, audit, catalog, lake, query, quality, privacy, federation, sharing, portal,
               market, market_delivery, market_records, market_uploads, dashboards, scorecard):
    api_router.include_router(module.router)
api_router.include_router(analysis.router)  # the indicator system and early warning (issue 18)
